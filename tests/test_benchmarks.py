"""Every script in benchmarks/ still runs: each with --smoke (tiny inputs, the same code path),
in a fresh interpreter, and prints its figures. Benchmarks measure; nothing here times them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import popgen_hub
from conftest import ROOT, needs, shared
from popgen_hub.ood import BY_HISTORY
from popgen_hub.registry import get_contract
from popgen_hub.simulate.histories import ANCESTRY_GROUPS

BENCHMARKS = ROOT / "benchmarks"
NUMBER = r"([0-9][0-9,]*(?:\.[0-9]+)?)"


def run_benchmark(script: str, *args: str | Path) -> str:
    result = subprocess.run([sys.executable, str(BENCHMARKS / script), "--smoke", *map(str, args)],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, f"{script} --smoke failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def table_rows(text: str, first_cell: str) -> list[list[str]]:
    """The cells of the Markdown table rows whose first cell starts with ``first_cell``."""
    return [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in text.splitlines() if re.match(rf"\|\s*{re.escape(first_cell)}", line)]


def number(text: str) -> float:
    return float(text.rstrip("x").replace(",", ""))


def test_every_benchmark_is_tested():
    assert sorted(p.name for p in BENCHMARKS.glob("*.py")) == [
        "auto_choice.py", "bam.py", "calibration.py", "embed.py", "fit_demography.py",
        "known_sweep.py", "recombination.py", "sample_depth.py", "scan.py", "simulate.py",
        "sweep_approximation.py", "temporal_diagnostics.py", "zoo.py"]


def test_fit_demography_benchmark_smoke():
    out = run_benchmark("fit_demography.py")
    header = table_rows(out, "set")[0]
    assert header[:3] == ["set", "seed", "windows"], out
    assert header[-2:] == ["held-out accuracy", "seconds"], out
    row = table_rows(out, "bottleneck")[-1]
    assert number(row[2]) >= 20 and 0 <= number(row[-2]) <= 1 and number(row[-1]) > 0, row
    assert "median relative error over 1 fits" in out


def test_recombination_smoke(tmp_path):
    out = run_benchmark("recombination.py", "-o", tmp_path)
    scales = ("windows", "250 kb", "1 Mb")
    header = table_rows(out, "case")[0]
    assert header == ["case", "set", "haplotypes", "chromosomes", "windows",
                      *(f"{s} r / rho" for s in scales), *(f"{s} RMSE" for s in scales)], out
    row = dict(zip(header, table_rows(out, "HomSap/OutOfAfrica_4J17/CEU")[0], strict=True))
    assert (row["set"], row["haplotypes"], row["chromosomes"]) == ("training", "64", "1"), row
    assert number(row["windows"]) > 0, row
    assert all(cell == "n/a" or -1 <= float(cell) <= 1
               for cell in row["windows r / rho"].split(" / ")), row
    report = json.loads((tmp_path / "recombination.json").read_text())
    rates = sorted(report["maps"][0]["rate"])  # the map has cold regions and hotspots
    assert rates[0] == 1e-10 and rates[-1] >= 10 * rates[len(rates) // 2], rates
    bins, window = report["chromosomes"][0]["bins"], report["window_bp"]
    windows = list(zip(bins["windows"]["start"], bins["windows"]["true"], strict=True))
    checked = 0
    for start, true in zip(bins["250 kb"]["start"], bins["250 kb"]["true"], strict=True):
        inside = [t for s, t in windows if start <= s < start + 250_000]
        if len(inside) * window == 250_000:  # a bin's truth is the mean of its windows'
            assert sum(inside) / len(inside) == pytest.approx(true), (start, inside, true)
            checked += 1
    assert checked or 250_000 % window, bins
    assert (tmp_path / "matrix.md").read_text() in out
    assert (tmp_path / "maps.png").stat().st_size and (tmp_path / "scatter.png").stat().st_size


def test_bam_benchmark_smoke(tmp_path):
    needs("bcftools")
    out = run_benchmark("bam.py", "--out", tmp_path)
    header = table_rows(out, "individuals")[0]
    assert header == ["individuals", "region bp", "seconds", "CPU seconds",
                      "s per individual-Mb", "SNPs", "recall", "precision", "peak MiB"], out
    row = dict(zip(header, table_rows(out, "3 ")[0], strict=True))
    assert number(row["seconds"]) > 0 and number(row["SNPs"]) > 0, row
    stages = table_rows(out, "per-read") + table_rows(out, "SNP test")
    assert len(stages) == 2 and all(0 <= number(r[1].rstrip(" %")) <= 100 for r in stages)
    ways = {row[0] for row in table_rows(out, "bulk") + table_rows(out, "pysam")
            + table_rows(out, "bcftools")}
    assert len(ways) == 4, out
    report = json.loads((tmp_path / "bam.json").read_text())
    assert report["snps"] == number(row["SNPs"]) and report["seconds_per_individual_mb"] > 0


@pytest.mark.slow
def test_scan_benchmark_smoke(tmp_path):
    needs("bcftools")
    pytest.importorskip("distributed")  # its dask2 rows
    out = run_benchmark("scan.py", "--out", tmp_path)
    snps = re.search(rf"seed 1, {NUMBER} biallelic SNPs", out)
    assert snps and number(snps.group(1)) > 0, out
    header = table_rows(out, "input")[0]
    stages = ["read s", "encode s", "statistics s", "infer s", "write s"]
    assert header == ["input", "Mb", "haplotypes", "workers", "decode s", "scan s",
                      "scan / decode", "windows", "windows/s", "SNPs/s", "peak MiB (scan proc)",
                      "peak MiB (all procs)", *stages]
    rows = [dict(zip(header, row, strict=True))
            for fmt in ("VCF.gz", "BCF") for row in table_rows(out, fmt)]
    assert [(r["input"], r["Mb"], r["haplotypes"], r["workers"]) for r in rows] == [
        (fmt, "0.3", "128", workers) for fmt in ("VCF.gz", "BCF")
        for workers in ("1", "2", "dask2")], out
    for row in rows:
        for column in header[4:-len(stages)]:
            assert number(row[column]) > 0, (column, row)
        # seconds by stage: each may round to 0.000 on this tiny input, not all of them
        assert all(number(row[s]) >= 0 for s in stages) and number(row["read s"]) > 0, row
        # windows/s is windows over the scan time, as printed (to the table's rounding)
        rate = number(row["windows"]) / number(row["scan s"])
        assert number(row["windows/s"]) == pytest.approx(rate, rel=0.05), row
    report = json.loads((tmp_path / "scan.json").read_text())
    assert report["inputs"][0]["snps"] == number(snps.group(1)) and len(report["runs"]) == 6
    assert all(run["scored_windows"] == run["windows"] > 0 for run in report["runs"])


def test_simulate_benchmark_smoke(tmp_path):
    out = run_benchmark("simulate.py", "--out", tmp_path)
    stages = {row[0]: row for row in table_rows(out, "neutral") + table_rows(out, "sweep")}
    assert sorted(stages) == ["neutral", "sweep"], out
    for row in stages.values():
        assert all(number(cell) > 0 for cell in row[1:4]), row  # ms per replicate, by stage
    whole = table_rows(out, "1 worker") + table_rows(out, "2 workers")
    assert len(whole) == 2, out
    for row in whole:
        assert number(row[1]) > 0 and number(row[2]) > 0, row  # seconds, replicates/s
    assert re.search(rf"2 workers / 1 worker: {NUMBER}x", out), out
    report = json.loads((tmp_path / "simulate_imagene_sweep.json").read_text())
    assert report["n"] == 4 and set(report["whole_run_seconds"]) == {"1", "2"}


def test_calibration_smoke(tmp_path):
    out = run_benchmark("calibration.py", "--site-jitter", "5000", "-o", tmp_path)
    header = table_rows(out, "case")[0]
    assert header == ["case", "set", "windows", "share P>0.5", "share q<0.05", "max P",
                      "share flagged", "share P>0.65"], out
    rows = {row[0]: row for row in table_rows(out, "HomSap") + table_rows(out, "bottleneck")
            + table_rows(out, "r=1e-9")}
    assert sorted(rows) == ["HomSap/OutOfAfrica_3G09/CEU", "bottleneck", "r=1e-9"], out
    for row in rows.values():
        assert row[1] in ("training", "held-out") and number(row[2]) > 0, row
        assert 0 <= number(row[5]) <= 1, row  # max P
    power = table_rows(out, "1000 | 0 | 128")
    # the power and the localisation row of the one sweep in each of the smoke's two histories
    assert [row[3] for row in power] == ["marth2004_eur_1epoch", "bottleneck"] * 2, out
    assert all(0 <= number(cell.split(" %")[0]) <= 100 for row in power[:2]
               for cell in row[-2:]), out  # power at P > 0.65: at the site, any window
    assert out.startswith("Command: `python benchmarks/calibration.py --smoke"), out
    report = json.loads((tmp_path / "calibration.json").read_text())
    assert len(report["chromosomes"]) == 5 and report["recombination_rate"] == 1e-8
    # each sweep's site drawn within 5 kb of the centre, off the windows' centres
    sites = [c["site"] for c in report["chromosomes"] if c["site"] is not None]
    assert len(sites) == 2 and all(0 < abs(site - 150_000) <= 5_000 for site in sites), sites
    # the least threshold: the worst case's; at or below a case's, at most 1 % is above it
    summary = report["summary"]["imagene_cnn.sweep_hsap_eur"]
    needed = {m["case"]: m["threshold_needed"] for m in summary["matrix"]}
    least = summary["least_threshold"]
    assert least["value"] == max(needed.values()) == needed[least["case"]], needed
    assert f"P > {least['value']:.3f} (set by {least['case']})." in out
    # CEU calls 13 % at 0.5 and the cold region none: both directions are checked
    above = [m for m in summary["matrix"] if m["share_p_above"] > 0.01]
    below = [m for m in summary["matrix"] if m["threshold_needed"] <= 0.65]
    assert above and below, summary["matrix"]
    assert all(m["threshold_needed"] >= 0.5 for m in above), above
    assert all(m["share_p_above_at"][0] <= 0.01 for m in below), below
    assert (tmp_path / "matrix.md").read_text() in out
    assert (tmp_path / "fp_heatmap.png").stat().st_size and (tmp_path / "power.png").stat().st_size


@pytest.mark.parametrize("flag, value", [("--smoothing", "-1"), ("--site-jitter", "-3"),
                                         ("--site-jitter", "150000"), ("--replicates", "0")])
def test_calibration_refuses_a_bad_span_in_one_line(flag, value, tmp_path):
    result = subprocess.run([sys.executable, str(BENCHMARKS / "calibration.py"), "--smoke", flag,
                             value, "-o", str(tmp_path)], capture_output=True, text=True,
                            timeout=300, cwd=ROOT)
    assert result.returncode != 0 and result.stderr.startswith(f"{flag} {value}: give a number")
    assert len(result.stderr.splitlines()) == 1 and not any(tmp_path.iterdir()), result.stderr


def test_calibration_neutral_only_smoke(tmp_path):
    """The mode exporters/decision_threshold.py runs: no sweeps, the least threshold, and the
    thresholds measured recorded in calibration.json."""
    out = run_benchmark("calibration.py", "--neutral-only", "-o", tmp_path)
    assert "no sweeps (--neutral-only)" in out and "power" not in out, out
    assert "Least threshold at which every neutral case" in out, out
    report = json.loads((tmp_path / "calibration.json").read_text())
    assert len(report["chromosomes"]) == 3 and report["thresholds"] == [0.65]
    assert not report["summary"]["imagene_cnn.sweep_hsap_eur"]["sweeps"]
    assert not (tmp_path / "power.png").exists() and (tmp_path / "fp_heatmap.png").stat().st_size


def test_calibration_scans_the_likelihood_model_on_sequenced_calls_smoke(tmp_path):
    """--depth: the likelihood model scans each chromosome as sequenced at that mean depth (a
    VCF of PL), beside the genotype model on the calls themselves; it needs --depth, which
    needs it (each refused in one line, before any run)."""
    models = ["exchangeable_cnn_gl.sweep_hsap_likelihoods", "exchangeable_cnn.sweep_hsap_genotypes"]
    out = run_benchmark("calibration.py", *models, "--depth", "2", "--neutral-only",
                        "-o", tmp_path)
    assert (f"{models[0]} scanned each chromosome as sequenced at mean depth 2x per individual"
            in out), out
    report = json.loads((tmp_path / "calibration.json").read_text())
    assert report["depth"] == 2 and len(report["chromosomes"]) == 3
    for model in models:
        rows = report["summary"][model]["matrix"]
        assert len(rows) == 3 and all(row["windows"] > 0 and 0 <= row["max_p"] <= 1
                                      for row in rows), rows
    for options, message in (
            ([models[0]], f"--depth D: {models[0]} reads genotype likelihoods; give the mean "
                          f"read depth"),
            ([models[0], "--depth", "0"], "--depth 0: give a mean read depth above 0"),
            (["--depth", "2"], "--depth 2: no model named reads genotype likelihoods")):
        result = subprocess.run([sys.executable, str(BENCHMARKS / "calibration.py"), "--smoke",
                                 *options, "-o", str(tmp_path / "refused")],
                                capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert result.returncode != 0 and result.stderr.startswith(message), result.stderr
        assert len(result.stderr.splitlines()) == 1 and not (tmp_path / "refused").exists()


def test_calibration_consensus_and_smoothing_smoke(tmp_path):
    """--consensus: a window is called only where every model calls it, so no case has more
    windows above 0.5, or a higher P, under the consensus than under either model (on the
    smoke's 3G09 CEU the European CNN calls 13 %, the general one none). --smoothing: each
    model's P averaged over its neighbours, on the same windows, never above its highest."""
    models = ["imagene_cnn.sweep_hsap_eur", "imagene_cnn.sweep_hsap_general"]
    run_benchmark("calibration.py", *models, "--consensus", "--smoothing", "50000",
                  "--neutral-only", "-o", tmp_path)
    summary = json.loads((tmp_path / "calibration.json").read_text())["summary"]
    for model in models:
        smoothed = summary[f"{model}, mean P within 50 kb"]["matrix"]
        for row, own in zip(smoothed, summary[model]["matrix"], strict=True):
            assert row["windows"] == own["windows"] and row["q_below"] is None, (row, own)
            assert 0 < row["max_p"] <= own["max_p"] + 1e-9, (row, own)
        assert any(row["max_p"] < own["max_p"] - 0.01
                   for row, own in zip(smoothed, summary[model]["matrix"], strict=True))
    consensus = summary[f"consensus of {models[0]} and {models[1]}"]["matrix"]
    for i, row in enumerate(consensus):
        members = [summary[model]["matrix"][i] for model in models]
        assert row["windows"] == members[0]["windows"] == members[1]["windows"], members
        assert row["p_above"] <= min(member["p_above"] for member in members), (row, members)
        assert 0 < row["max_p"] <= min(member["max_p"] for member in members), (row, members)
        assert row["q_below"] is None
    assert max(row["p_above"] for row in summary[models[0]]["matrix"]) > 0


def test_decision_threshold_exporter_rounds_up_and_states_both_seeds():
    """exporters/decision_threshold.py's threshold and the source it stores, from the runs'
    summaries (the one-seed figures are the general CNN's): measured on several seeds, each
    case's share is pooled over all their windows, and the worst on one seed named too."""
    sys.path.insert(0, str(ROOT / "exporters"))
    try:
        from decision_threshold import rounded_up, source_text
    finally:
        sys.path.remove(str(ROOT / "exporters"))
    assert [rounded_up(v) for v in (0.551, 0.56, 0.665, 0.07)] == [0.56, 0.56, 0.67, 0.07]
    name, case = "m.x", "HomSap/A/B"
    chosen = {"replicates": 5, "length_bp": 5_000_000, "haplotypes": 128, "summary": {name: {
        "least_threshold": {"value": 0.551, "case": case, "share": 0.01}}}}

    def report(seed: int, shares: list[tuple[float, float]]) -> dict:
        return {"seed": seed, "replicates": 5, "thresholds": [0.5, 0.56], "summary": {name: {
            "matrix": [{"case": c, "windows": 1000, "share_p_above_at": list(at)}
                       for c, at in zip((case, "HomSap/C/D"), shares, strict=True)]}}}

    seed2 = report(2, [(0.02, 0.004), (0.03, 0.015)])
    assert source_text(name, chosen, [seed2], 0.56) == (
        "the least P at which each of 2 neutral histories and rate cases of "
        "benchmarks/calibration.py --seed 1 (5 chromosomes of 5 Mb x 128 haplotypes each) has "
        "at most 1 % of its windows above it, 0.551 (HomSap/A/B), rounded up; on the "
        "chromosomes of --seed 2 the worst case is 1.50 % (HomSap/C/D)")
    # a model of individuals reads the haplotypes as individuals; one at other than the default
    assert source_text(name, chosen, [seed2], 0.56, individuals=True).startswith(
        "the least P at which each of 2 neutral histories and rate cases of "
        "benchmarks/calibration.py --seed 1 (5 chromosomes of 5 Mb x 64 individuals (128 "
        "haplotypes) each)")
    assert source_text(name, {**chosen, "haplotypes": 200}, [seed2], 0.56,
                       individuals=True).startswith(
        "the least P at which each of 2 neutral histories and rate cases of "
        "benchmarks/calibration.py --seed 1 --haplotypes 200 (5 chromosomes of 5 Mb x 100 "
        "individuals (200 haplotypes) each)")
    assert source_text(name, chosen, [seed2], 0.56, smoothing=50_000).startswith(
        "the least mean P within 50 kb at which each of 2 neutral histories and rate cases of "
        "benchmarks/calibration.py --seed 1 --smoothing 50000 (5 chromosomes")
    # A/B: 4 + 12 + 8 of 3,000 windows; C/D: 15 + 3 + 0; the worst on one seed C/D on seed 2
    three = [seed2, report(5, [(0.0, 0.012), (0.0, 0.003)]), report(6, [(0.0, 0.008), (0, 0)])]
    assert source_text(name, chosen, three, 0.56).endswith(
        "rounded up; on the chromosomes of --seed 2, 5 and 6 together (15 per case) the worst "
        "case is 0.80 % (HomSap/A/B), on one seed's 1.50 % (HomSap/C/D, --seed 2)")


def test_decision_threshold_exporter_refuses_what_it_cannot_use(tmp_path):
    """--replicates must be at least 1, --measure-seeds fresh seeds, and a run kept for --reuse
    must have as many chromosomes per case as asked, of its folder's seed (here a seed-3 run
    kept as seed 1's) and of as many haplotypes (here 200, where 128 are asked): each refused in
    one line, before any run or rewrite."""
    model = "stats_fc_genome.sweep_hsap_general"
    kept, wider = tmp_path / "seed1", tmp_path / "wider" / "seed1"
    for folder, seed, haplotypes in ((kept, 3, 128), (wider, 1, 200)):
        folder.mkdir(parents=True)
        (folder / "calibration.json").write_text(json.dumps(
            {"seed": seed, "replicates": 5, "haplotypes": haplotypes, "thresholds": [],
             "summary": {model: {}}}))
    for options, message in (  # a run for the first would go to tmp_path / "fresh"
            (["--replicates", "0", "--work", str(tmp_path / "fresh")],
             "decision_threshold.py: --replicates 0: give at least 1"),
            (["--measure-seeds", "2", "1", "--work", str(tmp_path / "fresh")],
             "decision_threshold.py: --measure-seeds [2, 1]: give distinct seeds other than 1"),
            (["--replicates", "15", "--reuse", "--work", str(tmp_path)],
             f"{kept / 'calibration.json'} does not measure {model} at [] with 15 chromosomes"),
            (["--haplotypes", "200", "--work", str(tmp_path / "fresh")],
             f"decision_threshold.py: --haplotypes 200: only a model of individuals, with an "
             f"even number of haplotypes (two each); {model} reads haplotypes"),
            (["--reuse", "--work", str(tmp_path)],
             f"{kept / 'calibration.json'} does not measure {model} at [] with 5 chromosomes per "
             f"case of seed 1"),
            (["--reuse", "--work", str(tmp_path / "wider")],
             f"{wider / 'calibration.json'} does not measure {model} at [] with 5 chromosomes "
             f"per case of seed 1 of 128 haplotypes")):
        result = subprocess.run([sys.executable, str(ROOT / "exporters" / "decision_threshold.py"),
                                 model, *options], capture_output=True, text=True, timeout=120,
                                cwd=ROOT)
        assert result.returncode != 0 and result.stderr.startswith(message), result.stderr
        assert len(result.stderr.splitlines()) == 1, result.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == [
        "calibration.json", "calibration.json", "seed1", "seed1", "wider"]


@pytest.mark.real_data
def test_auto_choice_smoke(tmp_path):
    """Two populations' neutral chromosomes: each gets auto's choice over the bundled models and
    its nearest population by D and H12, and the summary counts them."""
    out = run_benchmark("auto_choice.py", "-o", tmp_path)
    rows = table_rows(out, "HomSap/")
    assert [row[:2] for row in rows] == [["HomSap/OutOfAfrica_3G09/YRI", "african"],
                                         ["HomSap/OutOfAfrica_3G09/CEU", "european"]], out
    report = json.loads((tmp_path / "auto_choice.json").read_text())
    for row, result in zip(rows, report["results"], strict=True):
        assert row[2] == result["chosen"] and result["chosen"] in popgen_hub.list_models()
        # what it matched through: a training history of the chosen model, or its pool
        histories = get_contract(row[2]).references.get(BY_HISTORY, {}).get("histories", {})
        assert row[3] == result["through"] and (row[3] == "pooled" or row[3] in histories)
        assert 1 <= int(row[4]) <= len(result["distances"]) and row[6].startswith("HomSap/")
        nearest_group = next((group for group, populations in ANCESTRY_GROUPS.items()
                              if row[6].split("/")[2] in populations), "")
        assert row[7] == ("yes" if nearest_group == row[1] else "no"), row
    right = sum(row[7] == "yes" for row in rows)
    assert f"in the chromosome's ancestry group: {right} of 2" in out


def test_known_sweep_smoke(tmp_path):
    """LCT in CEU (../shared/data; skipped without it) and two simulated neutral loci of its
    size in each of an African and an East Asian history, scored by the general CNN: the
    region's row with its p-value against the stored null and its calls, one row per case,
    each locus scored, and the region's P(neutral) low, as test_real_data's."""
    vcf = shared("real/lct_ceu_grch38/LCT.CEU.GRCh38.vcf.gz")
    out = run_benchmark("known_sweep.py", "--vcf", vcf, "-o", tmp_path)
    region_row, *rows = table_rows(out, "imagene_cnn.sweep_hsap_general")
    report = json.loads((tmp_path / "known_sweep.json").read_text())
    (region,) = report["region"]
    neutral, sweep, p = region["imagene_cnn.sweep_hsap_general"]
    assert neutral < 0.05 and 0 < p < 1, region
    assert region_row[1:4] == [f"{neutral:.4f}-{neutral:.4f}", f"{sweep:.3f}-{sweep:.3f}",
                               f"{p:.4f}-{p:.4f}"], out
    stored = popgen_hub.load("imagene_cnn.sweep_hsap_general").contract.decision_threshold()
    assert region_row[4] == (f"{int(sweep > 0.5)} / {int(sweep > stored.value)} / "
                             f"{int(p < 0.05)} of 1"), out
    assert [row[1] for row in rows] == ["HomSap/OutOfAfrica_3G09/YRI",
                                        "HomSap/OutOfAfrica_3G09/CHB"], out
    assert all(re.fullmatch(r"[0-2] of 2", cell) for row in rows for cell in row[2:4]), out
    assert all(re.fullmatch(r"[0-2] / [0-2] / [0-2] of 2", row[4]) for row in rows), out
    assert len(report["loci"]) == 4 and (tmp_path / "known_sweep.png").stat().st_size > 0
    for locus in report["loci"]:
        neutral, sweep, p = locus["scores"]["imagene_cnn.sweep_hsap_general"]
        assert 0 <= neutral and 0 <= sweep and neutral + sweep <= 1 + 1e-6, locus
        assert 0 < p <= 1, locus


@pytest.mark.parametrize("options, message", [
    (["--region", "2:135891047-135811083"],
     "known_sweep.py: region '2:135891047-135811083' is empty: its end is not after its start"),
    (["--region", "2"], "--region 2: give CONTIG:START-END"),
    (["--region", "2:135811083-136091047"], "imagene_cnn.sweep_hsap_general scores 8 windows"),
    (["relernn_gru.recomb_hsap", "--region", "2:135811083-135851082"],
     "relernn_gru.recomb_hsap has labels")])
def test_known_sweep_refuses_a_region_or_model_it_cannot_use(options, message, tmp_path):
    """One line naming the option, before any locus is simulated or anything written."""
    vcf = shared("real/lct_ceu_grch38/LCT.CEU.GRCh38.vcf.gz")
    result = subprocess.run([sys.executable, str(BENCHMARKS / "known_sweep.py"), *options,
                             "--vcf", str(vcf), "-o", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode != 0 and result.stderr.startswith(message), result.stderr
    assert len(result.stderr.splitlines()) == 1 and not (tmp_path / "out").exists()


def test_sample_depth_smoke(tmp_path):
    pytest.importorskip("torch")  # the smoke trains its own tiny model
    out = run_benchmark("sample_depth.py", "--workers", "2", "-o", tmp_path)
    assert out.startswith("### exchangeable_cnn_gl.smoke: held-out figures"), out
    assert "only its 30 test-split replicates" in out, out
    assert table_rows(out, "individuals")[0] == ["individuals", "1x", "4x"], out
    shares = [cell for row in table_rows(out, "5 ") + table_rows(out, "10 ") for cell in row[1:]]
    assert len(shares) == 6 * 2 * 2, out  # 6 figures (no nulls) x 2 sizes x 2 depths
    assert all(0 <= number(cell.split(" %")[0]) <= 100 for cell in shares), out
    report = json.loads((tmp_path / "sample_depth.json").read_text())
    assert [(c["individuals"], c["column"]) for c in report["cells"]] == [
        (5, "1x"), (5, "4x"), (10, "1x"), (10, "4x")]
    assert report["replicates_per_class"] == {"neutral": 4, "sweep": 4, "linked": 4}
    for cell in report["cells"]:
        assert sorted(cell["figures"]) == sorted(report["figures"])
        for figure in cell["figures"].values():
            assert all(0 <= figure[k] <= 1 for k in ("share", "low", "high")), figure
            assert figure["low"] <= figure["share"] <= figure["high"], figure
    assert (tmp_path / "sample_depth.md").read_text() in out
    assert (tmp_path / "sample_depth.png").stat().st_size


def test_sweep_approximation_smoke(tmp_path):
    out = run_benchmark("sweep_approximation.py", "-o", tmp_path)
    rows = table_rows(out, "ooa_eur") + table_rows(out, "bottleneck")
    assert {(row[0], row[1]) for row in rows} == {
        (case, kind) for case in ("ooa_eur", "bottleneck")
        for kind in ("neutral", "done", "ongoing")}, out
    report = json.loads((tmp_path / "approximation.json").read_text())
    assert len(report["results"]) == 2 * (4 + 2 + 2)
    assert all(r["n"] == 2 and r["cpu_seconds"] >= 0 for r in report["results"])
    assert (tmp_path / "approximation.md").read_text() in out


@pytest.mark.slow
def test_temporal_diagnostics_smoke():
    out = run_benchmark("temporal_diagnostics.py")
    for name in ("hsap_eur", "review_data"):
        assert f"{name}/data: the selected allele per time point" in out, out
    frequencies = re.findall(r"^\s+(\w+): mean \[([^\]]*)\], carried", out, re.MULTILINE)
    assert [label for label, _ in frequencies] == 2 * [
        "neutral", "weak_overdominance", "moderate_overdominance"], out
    for _, values in frequencies:
        assert len(values.split()) == 5 and all(0 <= float(v) <= 1 for v in values.split())
    accuracies = re.findall(r"(\d+) central sites x 5 time points: held-out accuracy (\S+) / "
                            r"(\S+) / (\S+) \(seeds 1, 2, 3\)", out)
    assert [int(a[0]) for a in accuracies] == 2 * [3, 9, 17, 33], out
    assert all(0 <= float(value) <= 1 for row in accuracies for value in row[1:])


def test_decision_power_exporter_counts_the_site_windows_called_at_the_threshold():
    """exporters/decision_power.py's figure, from a run's summary: each planted sweep whose
    site's window is above the model's threshold (its column of the thresholds measured)."""
    sys.path.insert(0, str(ROOT / "exporters"))
    try:
        from decision_power import found_of
    finally:
        sys.path.remove(str(ROOT / "exporters"))

    def runs(*hits: tuple[bool, bool]) -> list[dict]:
        return [{"hit_at": list(at)} for at in hits]

    report = {"thresholds": [0.45, 0.67], "summary": {"m.x": {"sweeps": [
        {"runs": runs((True, True), (True, False), (False, False))},
        {"runs": runs((True, False), (True, True))}]}}}
    assert found_of(report, "m.x", 0.45) == (4, 5)
    assert found_of(report, "m.x", 0.67) == (2, 5)


def test_decision_power_exporter_refuses_what_it_cannot_measure(tmp_path):
    """A model without a stored threshold, one that is not bundled, a kept run of another
    seed, --haplotypes for a model of haplotypes or at a number of individuals the model of
    individuals stores no threshold for, and a kept run of other haplotypes than asked: each
    refused in one line, before any run or rewrite."""
    model, genotypes = "stats_fc_genome.sweep_hsap_general", "exchangeable_cnn.sweep_hsap_genotypes"
    (tmp_path / "calibration.json").write_text(json.dumps(
        {"seed": 2, "thresholds": [0.45], "summary": {model: {}}}))
    at20 = get_contract(genotypes).decision_threshold(20).value
    (tmp_path / "individuals20").mkdir()  # a kept run of 128 haplotypes where 40 are asked
    (tmp_path / "individuals20" / "calibration.json").write_text(json.dumps(
        {"seed": 8, "haplotypes": 128, "thresholds": [at20], "summary": {genotypes: {}}}))
    for options, message in (
            ([model, "--haplotypes", "40", "--work", str(tmp_path / "fresh")],
             f"decision_power.py: --haplotypes 40: only models of individuals read the sweeps "
             f"as a number of individuals; {model} reads haplotypes (128)"),
            ([genotypes, "--haplotypes", "41", "--work", str(tmp_path / "fresh")],
             "decision_power.py: --haplotypes 41: give an even number of haplotypes, two per "
             "individual"),
            ([genotypes, "--haplotypes", "60", "--work", str(tmp_path / "fresh")],
             f"decision_power.py: {genotypes} stores no threshold chosen at 30 individuals; "
             f"choose one first (exporters/decision_threshold.py {genotypes} --haplotypes 60)"),
            ([genotypes, "--haplotypes", "40", "--reuse", "--work", str(tmp_path)],
             f"{tmp_path / 'individuals20' / 'calibration.json'} does not measure "
             f"['{genotypes}'] at [{at20}] on seed 8 with 40 haplotypes"),
            (["imagene_cnn.sweep_hsap_eur", "--work", str(tmp_path / "fresh")],
             "decision_power.py: imagene_cnn.sweep_hsap_eur stores no decision threshold"),
            (["no_such.model", "--work", str(tmp_path / "fresh")],
             "decision_power.py: no_such.model is not a bundled model with a card source"),
            ([model, "--reuse", "--work", str(tmp_path)],
             f"{tmp_path / 'calibration.json'} does not measure ['{model}'] at [0.45] on "
             f"seed 8")):
        result = subprocess.run([sys.executable, str(ROOT / "exporters" / "decision_power.py"),
                                 *options], capture_output=True, text=True, timeout=120,
                                cwd=ROOT)
        assert result.returncode != 0 and result.stderr.startswith(message), result.stderr
        assert len(result.stderr.splitlines()) == 1, result.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == [
        "calibration.json", "calibration.json", "individuals20"]
