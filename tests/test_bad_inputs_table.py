"""Bad input, command by command, as a table: each row is a command line built from files made
here (or hand-written in tests/data/bad/, or Debian's htslib-test data), the exit code it must
give and what its message must name.

Every row must: exit with its code (1: our checks refuse the input; 2: argparse refuses the
command line); print exactly one stderr line ``popgen-hub COMMAND: error: ...`` (htslib's own
``[E::...]``/``[W::...]`` lines before it aside; for exit 2, after argparse's usage) containing
each of the row's substrings; print no traceback; and leave the folder it ran in (which holds
its ``-o``) exactly as it was. Exit 3 (a bug, with a crash log) fails a row like any other.

The rows run as subprocesses, a few at a time, as soon as the first one is asked for.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam
import pytest

from conftest import BUNDLED_MODEL, ROOT, example_vcf_lines

BAD = ROOT / "tests" / "data" / "bad"
EXAMPLE_VCF = ROOT / "tests" / "data" / "example_sweep.vcf.gz"
TEMPORAL_VCF = ROOT / "tests" / "data" / "temporal_loci.vcf.gz"
TEMPORAL_MODEL = "temporal_balsel.hsap_eur"
MODEL_DIR = ROOT / "hub" / "pretrained" / BUNDLED_MODEL
HTSLIB_TEST = Path("/usr/share/htslib-test/test")  # Debian's htslib-test (`make test`)
HTSLIB = re.compile(r"^\[[EW]::\w+\] ")
PARALLEL = min(4, os.cpu_count() or 1)  # rows at once (most fail in start-up, in a second)
ROW_TIMEOUT = 300


@dataclass(frozen=True)
class Row:
    """``args`` may name ``{in}`` (the inputs made once for all rows), ``{bad}``
    (tests/data/bad), ``{htslib}`` (htslib-test's files, bgzipped and indexed into {in}/htslib),
    ``{tmp}`` (the row's own folder, its working directory) and ``{out}`` ({tmp}/out).
    ``files``: what to create in {tmp} first (a name ending in / is a folder)."""

    id: str
    args: tuple[str, ...]
    code: int
    names: tuple[str, ...]
    files: dict[str, str] = field(default_factory=dict)
    needs_htslib_test: bool = False

    @property
    def command(self) -> str:
        return self.args[0] if self.args and not self.args[0].startswith("-") else ""


def row(id: str, args: list[str], code: int, *names: str, files: dict[str, str] | None = None,
        htslib: bool = False) -> Row:
    return Row(id, tuple(args), code, names, files or {}, htslib)


def scan(*extra: str, vcf: str = "{in}/good.vcf.gz", model: str = BUNDLED_MODEL) -> list[str]:
    return ["scan", "--vcf", vcf, "--model", model, "-o", "{out}", "-q", *extra]


def temporal_scan(table: str, *extra: str) -> list[str]:
    return scan("--samples", table, *extra, vcf=str(TEMPORAL_VCF), model=TEMPORAL_MODEL)


def train(*extra: str, data: str = "{in}/dataset") -> list[str]:
    return ["train", "imagene_cnn", "--data", data, "--epochs", "1", "-o", "{out}", "-q",
            *extra]


def import_ms(bad: str, *extra: str) -> list[str]:
    return ["import", "ms", "--class", "neutral={in}/good.ms", "--class", f"sweep={bad}",
            "--length", "50000", "-o", "{out}", "-q", *extra]


def evaluate(data: str, *extra: str) -> list[str]:
    return ["evaluate", BUNDLED_MODEL, data, "-q", *extra]


def push(model: str, *extra: str) -> list[str]:
    return ["push", model, "--repo", "my-lab/model", "--dry-run", "-q", *extra]


def simulate(*extra: str) -> list[str]:
    return ["simulate", "imagene_sweep", "-q", *extra]


EXISTING_FILE = {"existing": "a file, not a folder\n"}

SCAN_ROWS = [
    # the VCF
    row("scan-format-without-gt", scan(vcf="{in}/no_gt.vcf.gz"), 1, "no_gt.vcf.gz"),
    row("scan-gt-missing-from-some-records", scan(vcf="{in}/gt_then_dp.vcf.gz"), 1,
        "gt_then_dp.vcf.gz"),
    row("scan-corrupt-bgzf-block", scan(vcf="{in}/corrupt_block.vcf.gz"), 1,
        "corrupt_block.vcf.gz"),
    row("scan-index-of-another-file", scan(vcf="{in}/other_index.vcf.gz"), 1,
        "other_index.vcf.gz"),
    row("scan-index-of-another-smaller-file", scan(vcf="{in}/small_index.vcf.gz"), 1,
        "small_index.vcf.gz"),
    row("scan-contig-shorter-than-its-records", scan(vcf="{in}/short_contig.vcf.gz"), 1,
        "short_contig.vcf.gz", "chr1"),
    row("scan-gzip-not-bgzip", scan(vcf="{in}/gzip.vcf.gz"), 1, "gzip.vcf.gz", "bgzip"),
    row("scan-unphased", scan(vcf="{in}/unphased.vcf.gz"), 1, "unphased.vcf.gz", "phase"),
    row("scan-allele-2-of-one-alt", scan(vcf="{in}/allele_2.vcf.gz"), 1, "allele_2.vcf.gz"),
    row("scan-triploid-call-midway", scan(vcf="{in}/triploid.vcf.gz"), 1, "triploid.vcf.gz"),
    row("scan-duplicate-sample-names", scan(vcf="{in}/duplicate_samples.vcf.gz"), 1,
        "duplicate_samples.vcf.gz"),
    row("scan-sample-name-not-utf8", scan(vcf="{in}/latin1_sample.vcf.gz"), 1,
        "latin1_sample.vcf.gz"),
    row("scan-too-few-haplotypes", scan(vcf="{in}/six_samples.vcf.gz"), 1, "six_samples.vcf.gz",
        "128"),
    row("scan-binary-file", scan(vcf="{bad}/binary.bin"), 1, "binary.bin"),
    row("scan-empty-file", scan(vcf="{in}/empty.vcf.gz"), 1, "empty.vcf.gz"),
    row("scan-vcf-is-a-folder", scan(vcf="{tmp}/folder.vcf.gz"), 1, "folder.vcf.gz",
        files={"folder.vcf.gz/": ""}),
    # regions
    row("scan-region-lone-comma", scan("--region", "chr1:,"), 1, "chr1:,"),
    row("scan-region-no-contig", scan("--region", ":100-200"), 1, ":100-200"),
    row("scan-region-without-records", scan("--region", "chr2", vcf="{in}/two_contigs.vcf.gz"),
        1, "chr2"),
    # options
    row("scan-window-size-0", scan("--window-size", "0"), 1, "--window-size"),
    row("scan-step-0", scan("--step", "0"), 1, "--step"),
    row("scan-batch-size-0", scan("--batch-size", "0"), 1, "--batch-size"),
    row("scan-workers-0", scan("--workers", "0"), 1, "--workers"),
    row("scan-threads-negative", scan("--threads", "-2"), 1, "--threads"),
    row("scan-seed-negative", scan("--seed", "-1"), 1, "--seed"),
    row("scan-window-size-not-a-number", scan("--window-size", "80kb"), 2,
        "--window-size"),
    row("scan-no-output", ["scan", "--vcf", "{in}/good.vcf.gz", "--model", BUNDLED_MODEL], 2,
        "-o"),
    row("scan-output-is-a-file", [*scan(), "-o", "{tmp}/existing"], 1, "existing",
        files=EXISTING_FILE),
    row("scan-unknown-writer", scan("--writer", "nope_writer"), 1, "nope_writer"),
    row("scan-wrong-pinned-sha256", scan("--sha256", "0" * 64), 1, "sha256"),
    # the model
    row("scan-model-dir-missing", scan(model="local-dir:{tmp}/no_model"), 1, "no_model"),
    row("scan-model-config-truncated", scan(model="local-dir:{in}/model_truncated_config"), 1,
        "config.json"),
    row("scan-model-onnx-tampered", scan(model="local-dir:{in}/model_tampered_onnx"), 1,
        "model.onnx"),
    row("scan-onnx-metadata-not-json", scan(model="{in}/metadata_not_json.onnx"), 1,
        "metadata_not_json.onnx"),
    row("scan-onnx-metadata-missing", scan(model="{in}/no_metadata.onnx"), 1,
        "no_metadata.onnx"),
    row("scan-onnx-not-onnx", scan(model="{in}/garbage.onnx"), 1, "garbage.onnx"),
    # sample tables (the temporal model)
    row("scan-samples-nan-age", temporal_scan("{bad}/samples_nan_age.tsv"), 1,
        "samples_nan_age.tsv", "line 3"),
    row("scan-samples-negative-age", temporal_scan("{bad}/samples_negative_age.tsv"), 1,
        "samples_negative_age.tsv", "line 3"),
    row("scan-samples-duplicate", temporal_scan("{bad}/samples_duplicate.tsv"), 1,
        "samples_duplicate.tsv", "line 3"),
    row("scan-samples-utf8-bom-then-duplicate",
        temporal_scan("{bad}/samples_utf8_bom_duplicate.tsv"), 1,
        "samples_utf8_bom_duplicate.tsv", "line 3"),
    row("scan-samples-utf16-bom", temporal_scan("{bad}/samples_utf16_bom.tsv"), 1,
        "samples_utf16_bom.tsv"),
    row("scan-samples-no-age-column", temporal_scan("{bad}/samples_no_age_column.tsv"), 1,
        "samples_no_age_column.tsv", "age_years"),
    row("scan-samples-missing-field", temporal_scan("{bad}/samples_missing_field.tsv"), 1,
        "samples_missing_field.tsv", "line 2"),
    row("scan-samples-missing-file", temporal_scan("{tmp}/ages.tsv"), 1, "ages.tsv"),
    row("scan-samples-unknown-sample", temporal_scan("{in}/samples_unknown.tsv"), 1,
        "samples_unknown.tsv", "nobody"),
    row("scan-samples-column-not-there",
        temporal_scan(str(ROOT / "tests/data/temporal_loci.samples.tsv"), "--sample-column",
                      "GenID"), 1, "GenID"),
    row("scan-samples-for-a-present-day-model",
        scan("--samples", str(ROOT / "tests/data/temporal_loci.samples.tsv")), 1,
        "--samples"),
    row("scan-temporal-model-without-samples", scan(vcf=str(TEMPORAL_VCF), model=TEMPORAL_MODEL),
        1, "--samples"),
]

HTSLIB_ROWS = [
    row(f"scan-htslib-test-{name}", scan(vcf=f"{{htslib}}/{name}"), 1, name, htslib=True)
    for name in ("formatcols.vcf.gz", "formatmissing.vcf.gz", "noroundtrip.vcf.gz",
                 "vcf_meta_meta.vcf.gz", "index.vcf.gz", "longrefs_index.vcf.gz",
                 "test-vcf-hdr-in.vcf.gz", "emptyfile.vcf.gz", "bgziptest.txt.gz",
                 "colons.bam", "vcf_file.bcf", "good_with_htslib_index.vcf.gz", "auxf.fa")
]

INFO_ROWS = [
    row("info-unknown-model", ["info", "imagene_cnn.nope"], 1, "imagene_cnn.nope"),
    row("info-model-dir-missing", ["info", "local-dir:{tmp}/nothing"], 1, "nothing"),
    row("info-config-truncated", ["info", "local-dir:{in}/model_truncated_config"], 1,
        "config.json"),
    row("info-config-not-an-object", ["info", "local-dir:{in}/model_config_list"], 1,
        "config.json"),
    row("info-config-n-haplotypes-a-word", ["info", "local-dir:{in}/model_n_haplotypes_word"],
        1, "n_haplotypes"),
    row("info-config-encoder-n-rows-null", ["info", "local-dir:{in}/model_n_rows_null"], 1,
        "n_rows"),
    row("info-config-labels-not-a-list", ["info", "local-dir:{in}/model_labels_string"], 1,
        "labels"),
    row("info-config-format-3", ["info", "local-dir:{in}/model_format_3"], 1, "config.json",
        "format"),
    row("info-onnx-not-onnx", ["info", "{in}/garbage.onnx"], 1, "garbage.onnx"),
    row("info-onnx-metadata-not-json", ["info", "{in}/metadata_not_json.onnx"], 1,
        "metadata_not_json.onnx"),
    row("info-hub-name-without-repo", ["info", "hf-hub:noslash"], 1, "hf-hub:noslash"),
]

EVALUATE_ROWS = [
    row("evaluate-data-missing", evaluate("{tmp}/nowhere"), 1, "nowhere"),
    row("evaluate-shard-truncated", evaluate("{in}/dataset_truncated_shard"), 1,
        "shard-000001.npz"),
    row("evaluate-shard-missing", evaluate("{in}/dataset_missing_shard"), 1,
        "dataset_missing_shard"),
    row("evaluate-manifest-truncated", evaluate("{in}/dataset_truncated_manifest"), 1,
        "manifest.json"),
    row("evaluate-manifest-without-n", evaluate("{in}/dataset_manifest_without_n"), 1,
        "manifest.json"),
    row("evaluate-ms-positions-not-numeric", evaluate("{in}/ms_folder_bad"), 1,
        "ms_positions_not_numeric.ms"),
    row("evaluate-length-0", evaluate("{in}/ms_folder_good", "--length", "0"), 1, "--length"),
    row("evaluate-length-nan", evaluate("{in}/ms_folder_good", "--length", "nan"), 1,
        "--length"),
    row("evaluate-class-folder-missing",
        evaluate("{in}/ms_folder_good", "--class", "neutral=neutral", "--class",
                 "sweep=nowhere"), 1, "nowhere"),
    row("evaluate-json-into-a-folder",
        evaluate("{in}/dataset", "--json", "{tmp}/a_folder"), 1, "a_folder",
        files={"a_folder/": ""}),
]

IMPORT_ROWS = [
    row("import-ms-positions-not-numeric", import_ms("{bad}/ms_positions_not_numeric.ms"), 1,
        "ms_positions_not_numeric.ms", "line 6"),
    row("import-ms-positions-nan", import_ms("{bad}/ms_positions_nan.ms"), 1,
        "ms_positions_nan.ms", "line 6"),
    row("import-ms-positions-beyond-the-locus",
        import_ms("{bad}/ms_positions_beyond_the_locus.ms"), 1,
        "ms_positions_beyond_the_locus.ms", "line 6"),
    row("import-ms-haplotype-not-01", import_ms("{bad}/ms_haplotype_not_01.ms"), 1,
        "ms_haplotype_not_01.ms", "line 8"),
    row("import-ms-segsites-mismatch", import_ms("{bad}/ms_segsites_mismatch.ms"), 1,
        "ms_segsites_mismatch.ms", "line 6"),
    row("import-ms-binary-file", import_ms("{in}/binary.ms"), 1, "binary.ms"),
    row("import-trees-not-a-tree-sequence",
        ["import", "trees", "--class", "neutral={in}/binary.trees", "--class",
         "sweep={in}/binary.trees", "--length", "50000", "-o", "{out}", "-q"], 1,
        "binary.trees"),
    row("import-length-0", import_ms("{in}/good.ms", "--length", "0"), 1, "--length"),
    row("import-length-nan", import_ms("{in}/good.ms", "--length", "nan"), 1, "--length"),
    row("import-shard-size-0", import_ms("{in}/good.ms", "--shard-size", "0"), 1,
        "--shard-size"),
    row("import-class-without-path",
        ["import", "ms", "--class", "neutral", "--class", "sweep={in}/good.ms", "--length",
         "50000", "-o", "{out}"], 1, "--class"),
    row("import-encoder-n-rows-word", import_ms("{in}/good.ms", "--encoder", "n_rows=many"), 1,
        "n_rows"),
    row("import-output-is-a-file", [*import_ms("{in}/good.ms"), "-o", "{tmp}/existing"], 1,
        "existing", files=EXISTING_FILE),
    row("import-length-not-a-number", import_ms("{in}/good.ms", "--length", "50kb"), 2,
        "--length"),
]

SIMULATE_ROWS = [
    row("simulate-vcf-length-0", simulate("--vcf", "{tmp}/sim.vcf.gz", "--length", "0"), 1,
        "--length"),
    row("simulate-vcf-sweep-beyond-the-end",
        simulate("--vcf", "{tmp}/sim.vcf.gz", "--length", "100000", "--sweep-at", "500000"), 1,
        "--sweep-at"),
    row("simulate-vcf-end-frequency-above-1",
        simulate("--vcf", "{tmp}/sim.vcf.gz", "--length", "100000", "--end-frequency", "1.5"),
        1, "--end-frequency"),
    row("simulate-param-not-numeric", simulate("--param", "selection_strength=strong", "--n",
                                               "2", "-o", "{out}"), 1, "selection_strength"),
    row("simulate-param-unknown", simulate("--param", "nope=1", "--n", "2", "-o", "{out}"), 1,
        "nope"),
    row("simulate-unknown-scenario", ["simulate", "no_such_scenario", "-o", "{out}"], 1,
        "no_such_scenario"),
    row("simulate-n-0", simulate("--n", "0", "-o", "{out}"), 1, "--n"),
    row("simulate-shard-size-0", simulate("--n", "2", "--shard-size", "0", "-o", "{out}"), 1,
        "--shard-size"),
    row("simulate-workers-0", simulate("--n", "2", "--workers", "0", "-o", "{out}"), 1,
        "--workers"),
    row("simulate-output-is-a-file", simulate("--n", "2", "-o", "{tmp}/existing"), 1,
        "existing", files=EXISTING_FILE),
]

TRAIN_ROWS = [
    row("train-batch-size-0", train("--batch-size", "0"), 1, "--batch-size"),
    row("train-learning-rate-nan", train("--learning-rate", "nan"), 1, "--learning-rate"),
    row("train-epochs-0", train("--epochs", "0"), 1, "--epochs"),
    row("train-threads-0", train("--threads", "0"), 1, "--threads"),
    row("train-validation-fraction-above-1", train("--validation-fraction", "1.5"), 1,
        "--validation-fraction"),
    row("train-shard-truncated", train(data="{in}/dataset_truncated_shard"), 1,
        "shard-000001.npz"),
    row("train-manifest-truncated", train(data="{in}/dataset_truncated_manifest"), 1,
        "manifest.json"),
    row("train-output-is-a-file", [*train(), "-o", "{tmp}/existing"], 1, "existing",
        files=EXISTING_FILE),
    row("train-learning-rate-not-a-number", train("--learning-rate", "fast"), 2,
        "--learning-rate"),
]

EXPORT_ROWS = [
    row("export-corrupt-model-pt", ["export", "{in}/run_corrupt_weights", "--name",
                                    "imagene_cnn.x", "-o", "{out}"], 1, "model.pt"),
    row("export-run-json-truncated", ["export", "{in}/run_truncated_record", "--name",
                                      "imagene_cnn.x", "-o", "{out}"], 1, "run.json"),
    row("export-not-a-run", ["export", "{tmp}", "--name", "imagene_cnn.x", "-o", "{out}"], 1,
        "run.json"),
    row("export-card-malformed", ["export", "{in}/run_corrupt_weights", "--name",
                                  "imagene_cnn.x", "--card", "{bad}/card_malformed.yaml",
                                  "-o", "{out}"], 1, "card_malformed.yaml"),
]

PUSH_ROWS = [
    row("push-dry-run-without-output", push(BUNDLED_MODEL), 1, "-o"),
    row("push-dry-run-bare-onnx", push(str(MODEL_DIR / "model.onnx"), "-o", "{out}"), 1,
        "model.onnx"),
    row("push-dry-run-config-truncated",
        push("local-dir:{in}/model_truncated_config", "-o", "{out}"), 1, "config.json"),
    row("push-dry-run-no-test-data", push("local-dir:{in}/model_no_test_data", "-o", "{out}"),
        1, "test_data_set_0"),
    row("push-dry-run-card-malformed",
        push(BUNDLED_MODEL, "--card", "{bad}/card_malformed.yaml", "-o", "{out}"), 1,
        "card_malformed.yaml"),
    row("push-dry-run-card-missing", push(BUNDLED_MODEL, "--card", "{tmp}/card.yaml", "-o",
                                          "{out}"), 1, "card.yaml"),
    row("push-dry-run-output-is-a-file", push(BUNDLED_MODEL, "-o", "{tmp}/existing"), 1,
        "existing", files=EXISTING_FILE),
]

OTHER_ROWS = [
    row("list-unknown-option", ["list", "--nope"], 2, "--nope"),
    row("list-two-patterns", ["list", "imagene*", "temporal*"], 2, "temporal*"),
    row("unknown-command", ["scna", "--vcf", "x.vcf.gz"], 2, "scna"),
]

ROWS = (SCAN_ROWS + HTSLIB_ROWS + INFO_ROWS + EVALUATE_ROWS + IMPORT_ROWS + SIMULATE_ROWS
        + TRAIN_ROWS + EXPORT_ROWS + PUSH_ROWS + OTHER_ROWS)


# ------------------------------------------------------------------------- the inputs
def write_indexed(path: Path, text: str | bytes, csi: bool = False) -> Path:
    """bgzip a VCF text to ``path`` (.vcf.gz) and index it."""
    plain = path.with_suffix("")
    plain.write_bytes(text.encode() if isinstance(text, str) else text)
    pysam.tabix_index(str(plain), preset="vcf", force=True, csi=csi)
    return path


def edit_records(lines: list[str], edit, every: int = 1) -> str:
    """The VCF with ``edit(fields, index)`` applied to every ``every``-th record."""
    out, index = [], 0
    for line in lines:
        if not line.startswith("#"):
            if index % every == 0:
                line = "\t".join(edit(line.split("\t"), index))
            index += 1
        out.append(line)
    return "\n".join(out) + "\n"


def make_vcfs(folder: Path) -> None:
    lines = example_vcf_lines(600)  # 64 samples, chr1:50-~160,000
    text = "\n".join(lines) + "\n"
    header, records = [x for x in lines if x.startswith("#")], [
        x for x in lines if not x.startswith("#")]
    write_indexed(folder / "good.vcf.gz", text)
    dp_header = header[:-1] + ['##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">',
                               header[-1]]

    def no_gt(fields, _):
        fields[8], fields[9:] = "DP", ["12"] * len(fields[9:])
        return fields

    write_indexed(folder / "no_gt.vcf.gz", edit_records(dp_header + records, no_gt))
    write_indexed(folder / "gt_then_dp.vcf.gz",
                  edit_records(dp_header + records, lambda f, i: no_gt(f, i) if i >= 300 else f))
    write_indexed(folder / "unphased.vcf.gz", edit_records(
        lines, lambda f, i: [*f[:9], *(g.replace("|", "/") for g in f[9:])] if i >= 300 else f))

    def at(k, column, value):
        def edit(fields, i):
            if i == k:
                fields[column] = value
            return fields
        return edit

    write_indexed(folder / "allele_2.vcf.gz", edit_records(lines, at(400, 12, "2|0")))
    write_indexed(folder / "triploid.vcf.gz", edit_records(lines, at(400, 12, "0|1|1")))
    write_indexed(folder / "bad_genotype.vcf.gz", edit_records(lines, at(400, 12, "0|X")))
    write_indexed(folder / "short_record.vcf.gz",
                  edit_records(lines, lambda f, i: f[:20] if i == 400 else f))
    chrom = header[-1].split("\t")
    write_indexed(folder / "duplicate_samples.vcf.gz", "\n".join(
        header[:-1] + ["\t".join([*chrom[:10], chrom[9], *chrom[11:]])] + records) + "\n")
    latin1 = "\n".join(header[:-1] + ["\t".join([*chrom[:9], "Ana\xefs", *chrom[10:]])]
                       + records) + "\n"
    write_indexed(folder / "latin1_sample.vcf.gz", latin1.encode("latin-1"))
    write_indexed(folder / "short_contig.vcf.gz",
                  text.replace("##contig=<ID=chr1,length=2000000>",
                               "##contig=<ID=chr1,length=50000>"))
    write_indexed(folder / "two_contigs.vcf.gz",
                  text.replace("##contig=<ID=chr1,length=2000000>",
                               "##contig=<ID=chr1,length=2000000>\n"
                               "##contig=<ID=chr2,length=1000000>"))
    six = "\n".join(header[:-1] + ["\t".join(chrom[:15])]
                    + ["\t".join(r.split("\t")[:15]) for r in records]) + "\n"
    write_indexed(folder / "six_samples.vcf.gz", six)
    (folder / "plain.vcf").write_text(text)
    (folder / "gzip.vcf.gz").write_bytes(gzip.compress(text.encode()))
    shutil.copy(folder / "good.vcf.gz.tbi", folder / "gzip.vcf.gz.tbi")
    good = (folder / "good.vcf.gz").read_bytes()
    (folder / "truncated.vcf.gz").write_bytes(good[:len(good) // 2])
    shutil.copy(folder / "good.vcf.gz.tbi", folder / "truncated.vcf.gz.tbi")
    middle = len(good) // 2  # inside a BGZF block's deflate data: the index is right
    (folder / "corrupt_block.vcf.gz").write_bytes(
        good[:middle] + bytes(b ^ 0x5A for b in good[middle:middle + 64]) + good[middle + 64:])
    shutil.copy(folder / "good.vcf.gz.tbi", folder / "corrupt_block.vcf.gz.tbi")
    shutil.copy(folder / "unphased.vcf.gz", folder / "other_index.vcf.gz")
    shutil.copy(folder / "two_contigs.vcf.gz.tbi", folder / "other_index.vcf.gz.tbi")
    shutil.copy(folder / "good.vcf.gz", folder / "small_index.vcf.gz")
    shutil.copy(folder / "six_samples.vcf.gz.tbi", folder / "small_index.vcf.gz.tbi")
    (folder / "empty.vcf.gz").write_bytes(b"")


def make_models(folder: Path) -> None:
    """Model folders with an edited config.json beside the bundled model.onnx (linked), and
    .onnx files whose metadata is broken."""
    import onnx

    config = json.loads((MODEL_DIR / "config.json").read_text())

    def model_dir(name: str, text: str | None, onnx_bytes: bytes | None = None,
                  test_data: bool = True) -> None:
        target = folder / name
        target.mkdir()
        (target / "config.json").write_text(json.dumps(config) if text is None else text)
        if onnx_bytes is None:
            os.symlink(MODEL_DIR / "model.onnx", target / "model.onnx")
        else:
            (target / "model.onnx").write_bytes(onnx_bytes)
        if test_data:
            os.symlink(MODEL_DIR / "test_data_set_0", target / "test_data_set_0")
        os.symlink(MODEL_DIR / "README.md", target / "README.md")

    def edited(change) -> str:
        data = json.loads(json.dumps(config))
        change(data)
        return json.dumps(data)

    model_dir("model_truncated_config", (BAD / "config_truncated.json").read_text())
    model_dir("model_config_list", (BAD / "config_not_an_object.json").read_text())
    model_dir("model_n_haplotypes_word",
              edited(lambda d: d["input"].update(n_haplotypes="many")))
    model_dir("model_n_rows_null", edited(lambda d: d["encoder"].update(n_rows=None)))
    model_dir("model_labels_string", edited(lambda d: d.update(labels="neutral,sweep")))
    model_dir("model_format_3", edited(lambda d: d.update(format_version=3)))
    onnx_bytes = (MODEL_DIR / "model.onnx").read_bytes()
    model_dir("model_tampered_onnx", None, onnx_bytes[:-10] + b"\0" * 10)
    model_dir("model_no_test_data", None, test_data=False)
    proto = onnx.load_from_string(onnx_bytes)
    for prop in proto.metadata_props:
        if prop.key == "popgen_hub.contract":
            prop.value = prop.value[:200]
    (folder / "metadata_not_json.onnx").write_bytes(proto.SerializeToString())
    del proto.metadata_props[:]
    (folder / "no_metadata.onnx").write_bytes(proto.SerializeToString())
    (folder / "garbage.onnx").write_bytes((BAD / "binary.bin").read_bytes())


def format_ms(rng: np.random.Generator, n_haplotypes: int, n_replicates: int,
              n_sites: int = 30) -> str:
    lines = [f"ms {n_haplotypes} {n_replicates} -t 10", "1 2 3", ""]
    for _ in range(n_replicates):
        positions = np.sort(rng.random(n_sites))
        lines += ["//", f"segsites: {n_sites}",
                  "positions: " + " ".join(f"{p:.4f}" for p in positions)]
        lines += ["".join(map(str, row)) for row in rng.integers(0, 2, (n_haplotypes, n_sites))]
        lines.append("")
    return "\n".join(lines) + "\n"


def make_datasets(folder: Path) -> None:
    """A dataset of 2 x 20 replicates of 128 haplotypes (3 shards) and damaged copies."""
    from popgen_hub.simulate.importers import import_dataset

    rng = np.random.default_rng(1)
    for label in ("neutral", "sweep"):
        (folder / f"{label}.ms").write_text(format_ms(rng, 128, 20))
    dataset = import_dataset("ms", {label: [folder / f"{label}.ms"]
                                    for label in ("neutral", "sweep")},
                             folder / "dataset", length=80_000.0, shard_size=16, progress=False)
    for name in ("truncated_shard", "missing_shard", "truncated_manifest",
                 "manifest_without_n"):
        shutil.copytree(dataset, folder / f"dataset_{name}")
    shard = folder / "dataset_truncated_shard" / "shard-000001.npz"
    shard.write_bytes(shard.read_bytes()[:shard.stat().st_size // 2])
    (folder / "dataset_missing_shard" / "shard-000001.npz").unlink()
    manifest = folder / "dataset_truncated_manifest" / "manifest.json"
    manifest.write_text(manifest.read_text()[:100])
    manifest = folder / "dataset_manifest_without_n" / "manifest.json"
    data = json.loads(manifest.read_text())
    del data["n"]
    manifest.write_text(json.dumps(data))
    (folder / "good.ms").write_text(format_ms(rng, 4, 3, n_sites=3))
    (folder / "binary.ms").write_bytes((BAD / "binary.bin").read_bytes())
    (folder / "binary.trees").write_bytes((BAD / "binary.bin").read_bytes())
    for name, bad in (("ms_folder_good", None), ("ms_folder_bad", "ms_positions_not_numeric")):
        for label in ("neutral", "sweep"):
            (folder / name / label).mkdir(parents=True)
            (folder / name / label / "rep_1.ms").write_text(format_ms(rng, 128, 2))
        if bad:
            shutil.copy(BAD / f"{bad}.ms", folder / name / "sweep" / f"{bad}.ms")


def make_runs(folder: Path) -> None:
    """Training runs as `train` leaves them, with damaged model.pt or run.json."""
    config = json.loads((MODEL_DIR / "config.json").read_text())
    training = config["training"]
    record = {"architecture": "imagene_cnn", "labels": config["labels"],
              "model_config": {"n_rows": 128, "n_cols": 128, "n_classes": 2},
              "encoder": config["encoder"], "settings": training["settings"],
              "best_epoch": training["best_epoch"], "command": training["command"],
              "metrics": config["metrics"], "history": [],
              "data": {k: v for k, v in training.items()
                       if k not in ("settings", "best_epoch", "command")}}
    for name in ("run_corrupt_weights", "run_truncated_record"):
        run = folder / name
        run.mkdir()
        (run / "run.json").write_text(json.dumps(record, indent=2))
        (run / "model.pt").write_bytes(b"PK\x03\x04 not a torch checkpoint")
        for figure in ("training_curve.png", "confusion_matrix.png"):
            shutil.copy(MODEL_DIR / figure, run / figure)
    (folder / "run_truncated_record" / "run.json").write_text(json.dumps(record)[:150])


def make_htslib_inputs(folder: Path) -> None:
    """htslib-test's malformed and odd files, bgzipped and indexed where tabix can."""
    folder.mkdir()
    for source, name in (("formatcols.vcf", None), ("formatmissing.vcf", None),
                         ("noroundtrip.vcf", None), ("vcf_meta_meta.vcf", None),
                         ("index.vcf", None), ("longrefs/index.vcf", "longrefs_index.vcf"),
                         ("tabix/large_chr.vcf", None), ("test-vcf-hdr-in.vcf", None),
                         ("emptyfile", "emptyfile.vcf")):
        target = folder / ((name or Path(source).name) + ".gz")
        plain = target.with_suffix("")
        shutil.copy(HTSLIB_TEST / source, plain)
        pysam.tabix_compress(str(plain), str(target), force=True)
        plain.unlink()
        try:
            pysam.tabix_index(str(target), preset="vcf", force=True,
                              csi=source.startswith("longrefs"))
        except OSError:
            pass  # not indexable: the scan must say so
    for source in ("bgziptest.txt.gz", "colons.bam", "colons.bam.bai", "range.bam",
                   "range.bam.bai", "tabix/vcf_file.bcf", "auxf.fa", "auxf.fa.fai"):
        shutil.copy(HTSLIB_TEST / source, folder / Path(source).name)
    shutil.copy(folder.parent / "good.vcf.gz", folder / "good_with_htslib_index.vcf.gz")
    shutil.copy(HTSLIB_TEST / "index.vcf.gz.tbi", folder / "good_with_htslib_index.vcf.gz.tbi")


@pytest.fixture(scope="session")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bad_inputs")
    make_vcfs(folder)
    make_models(folder)
    make_datasets(folder)
    make_runs(folder)
    lines = (ROOT / "tests/data/temporal_loci.samples.tsv").read_text().splitlines()
    (folder / "samples_unknown.tsv").write_text("\n".join([*lines, "nobody\t2000"]) + "\n")
    if HTSLIB_TEST.is_dir():
        make_htslib_inputs(folder / "htslib")
    return folder


# ------------------------------------------------------------------------- running the rows
def snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` with a digest of its content (folders: "dir")."""
    found = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink() or not path.is_dir():
            found[key] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() \
                else "other"
        else:
            found[key] = "dir"
    return found


def expand(text: str, places: dict[str, str]) -> str:
    for name, value in places.items():
        text = text.replace("{" + name + "}", value)
    return text


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    before: dict[str, str]
    after: dict[str, str]
    argv: list[str]
    seconds: float = 0.0


def run_row(row: Row, inputs: Path, folder: Path, env: dict[str, str]) -> Outcome:
    places = {"in": str(inputs), "bad": str(BAD), "htslib": str(inputs / "htslib"),
              "tmp": str(folder), "out": str(folder / "out")}
    for name, content in row.files.items():
        path = folder / name
        if name.endswith("/"):
            path.mkdir(parents=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    argv = [expand(arg, places) for arg in row.args]
    before = snapshot(folder)
    start = time.monotonic()
    try:
        result = subprocess.run([sys.executable, "-m", "popgen_hub", *argv], cwd=folder,
                                env=env, capture_output=True, text=True, timeout=ROW_TIMEOUT)
        code, stdout, stderr = result.returncode, result.stdout, result.stderr
    except subprocess.TimeoutExpired as exc:
        code, stdout = -999, str(exc.stdout or "")
        stderr = f"(killed after {ROW_TIMEOUT} s)\n{exc.stderr or ''}"
    return Outcome(code, stdout, stderr, before, snapshot(folder), argv,
                   time.monotonic() - start)


def row_env(base: Path) -> dict[str, str]:
    """No network, and the caches (crash logs among them) outside the rows' folders."""
    return {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(base / "hf"),
            "XDG_CACHE_HOME": str(base / "cache"), "MPLCONFIGDIR": str(base / "mpl"),
            "PYTHONDONTWRITEBYTECODE": "1"}


def runnable(row: Row) -> bool:
    return not row.needs_htslib_test or HTSLIB_TEST.is_dir()


@dataclass
class Runs:
    futures: dict[str, Future]
    inputs_before: dict[str, str]


@pytest.fixture(scope="session")
def outcomes(request, inputs, tmp_path_factory) -> Runs:
    """Start every selected row at once, PARALLEL at a time; each test waits for its own."""
    selected = [item.callspec.params["row"] for item in request.session.items
                if getattr(item, "originalname", "") == "test_bad_input_row"
                and hasattr(item, "callspec")]
    base = tmp_path_factory.mktemp("rows")
    env = row_env(base)
    runs = Runs({}, snapshot(inputs))
    pool = ThreadPoolExecutor(PARALLEL)
    for each in selected:
        if runnable(each):
            (base / each.id).mkdir()
            runs.futures[each.id] = pool.submit(run_row, each, inputs, base / each.id, env)
    request.addfinalizer(lambda: pool.shutdown(cancel_futures=True))
    return runs


def report(outcome: Outcome) -> str:
    return (f"popgen-hub {' '.join(outcome.argv)}\nexit {outcome.returncode} after "
            f"{outcome.seconds:.1f} s\n"
            f"stderr:\n{outcome.stderr.strip()}\nstdout:\n{outcome.stdout.strip()[-800:]}")


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_bad_input_row(row, outcomes):
    if not runnable(row):
        pytest.skip(f"needs Debian's htslib-test ({HTSLIB_TEST}; `make test` installs it)")
    outcome = outcomes.futures[row.id].result()
    shown = report(outcome)
    assert "Traceback" not in outcome.stderr, shown
    assert outcome.returncode == row.code, shown
    lines = [line for line in outcome.stderr.splitlines() if line.strip()
             and not HTSLIB.match(line)]
    prefixes = [f"popgen-hub {row.command}: error: "] if row.command in COMMANDS else []
    if row.code == 2:  # argparse: usage lines, then the error, from the command's parser or
        # (an unrecognised argument, an unknown command) from the main one
        lines = [line for line in lines if not line.startswith(("usage:", " "))]
        prefixes.append("popgen-hub: error: ")
    assert len(lines) == 1 and lines[0].startswith(tuple(prefixes)), shown
    for name in row.names:
        assert name in lines[0], f"the message does not name {name!r}:\n{shown}"
    assert outcome.after == outcome.before, \
        f"left behind: {sorted(set(outcome.after) ^ set(outcome.before))}\n{shown}"


COMMANDS = {"scan", "info", "evaluate", "import", "simulate", "train", "export", "push", "list",
            "compare", "plugins"}


def test_the_table_covers_every_command_and_class():
    assert len(ROWS) >= 60 and len({r.id for r in ROWS}) == len(ROWS)
    assert {r.command for r in ROWS} >= {"scan", "info", "evaluate", "import", "simulate",
                                         "train", "export", "push", "list"}


def test_no_row_wrote_into_its_inputs(inputs, outcomes):
    """Rows share the inputs folder: none may add or change a file there (e.g. an index)."""
    for future in outcomes.futures.values():
        future.result()
    after = snapshot(inputs)
    changed = sorted(k for k in set(after) | set(outcomes.inputs_before)
                     if after.get(k) != outcomes.inputs_before.get(k))
    assert not changed, f"changed in the inputs: {changed}"


# ------------------------------------------------------------------------- controls
@pytest.mark.parametrize("args", [
    scan(),
    scan("--region", "chr1:1-160000", vcf="{in}/two_contigs.vcf.gz"),
    temporal_scan(str(ROOT / "tests/data/temporal_loci.samples.tsv")),
    ["info", "local-dir:{in}/model_no_test_data"],
    evaluate("{in}/dataset"),
    evaluate("{in}/ms_folder_good"),
    import_ms("{in}/good.ms"),
], ids=["scan", "scan-region", "scan-temporal", "info", "evaluate", "evaluate-ms", "import"])
def test_the_good_inputs_the_rows_damage_work(inputs, tmp_path, args):
    """The rows fail for the reason they name, not because their starting point is bad."""
    outcome = run_row(Row("control", tuple(args), 0, ()), inputs, tmp_path,
                      row_env(tmp_path.parent))
    assert outcome.returncode == 0, report(outcome)
