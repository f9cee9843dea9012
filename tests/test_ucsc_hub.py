"""The UCSC track hub a scan writes (hub.txt, useOneFile on), read back by an independent
implementation of UCSC's settings: PyPI ``trackhub``, whose track objects check every setting
against UCSC's trackDb specification for the track's type and render it again. trackhub 1.0
builds hubs but parses none, so the stanzas are split here (blank-line separated `key value`
lines) and every setting goes through trackhub's checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import BUNDLED_MODEL, ROOT, run_cli, shared, threshold_line
from popgen_hub.writers.ucsc import (
    ASSEMBLIES,
    UNKNOWN_ASSEMBLY,
    recognised_assembly,
    ucsc_assembly,
)

trackhub = pytest.importorskip("trackhub", reason="trackhub (a dev dependency) reads the hub")

EXAMPLE_VCF = ROOT / "hub" / "data" / "example_sweep.vcf.gz"
THREE_CLASSES = "imagene_cnn.sweep_hsap_general"  # neutral/sweep/linked: a composite track


@pytest.fixture(scope="module")
def scan_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scan")
    for model in (BUNDLED_MODEL, THREE_CLASSES):
        run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", model, "-q", "-o", folder)
    return folder


def stanzas(text: str) -> list[dict[str, str]]:
    """hub.txt's stanzas: ``key value`` lines, separated by blank lines; comments skipped."""
    blocks = re.split(r"\n\s*\n", text.strip())
    return [dict(line.strip().split(" ", 1) for line in block.splitlines()
                 if not line.strip().startswith("#")) for block in blocks
            if any(not line.strip().startswith("#") for line in block.splitlines())]


def rebuilt(stanza: dict[str, str], composite: bool) -> trackhub.BaseTrack:
    """The stanza as a trackhub track: trackhub refuses settings UCSC does not define for
    the track's type and values not in their documented format."""
    settings = dict(stanza)
    name, tracktype = settings.pop("track"), settings.pop("type")
    if "parent" in settings:  # trackhub names the composite it is added to
        settings["parent"] = settings["parent"].split(" ", 1)[1]
    kind = trackhub.CompositeTrack if composite else trackhub.Track
    track = kind(name=name, tracktype=tracktype, short_label=settings.pop("shortLabel"),
                 long_label=settings.pop("longLabel"))
    track.add_params(**settings)
    return track


@pytest.mark.filterwarnings("error")  # trackhub warns of labels UCSC would truncate
def test_hub_is_read_back_by_trackhub(scan_folder):
    hub_file = scan_folder / "hub.txt"
    text = hub_file.read_text()
    hub_stanza, genome_stanza, *track_stanzas = stanzas(text)
    assert hub_stanza["useOneFile"] == "on"  # one file: the hub, genome and track stanzas
    assert genome_stanza == {"genome": UNKNOWN_ASSEMBLY}  # simulated contigs: no assembly
    assert f"# {UNKNOWN_ASSEMBLY}:" in text  # and the file says what to write there

    hub = trackhub.Hub(hub=hub_stanza["hub"], short_label=hub_stanza["shortLabel"],
                       long_label=hub_stanza["longLabel"], email=hub_stanza["email"])
    genomes = trackhub.GenomesFile()
    genome = trackhub.Genome(genome_stanza["genome"])
    trackdb = trackhub.TrackDb()
    hub.add_genomes_file(genomes)
    genomes.add_genome(genome)
    genome.add_trackdb(trackdb)
    composites: dict[str, trackhub.CompositeTrack] = {}
    for stanza in track_stanzas:
        track = rebuilt(stanza, composite=stanza.get("compositeTrack") == "on")
        if "parent" in stanza:
            parent, on = stanza["parent"].split()
            assert on == "on"
            composites[parent].add_tracks(track)
        else:
            trackdb.add_tracks(track)
        if isinstance(track, trackhub.CompositeTrack):
            composites[track.name] = track
        # trackhub renders the same settings again (the order is its own)
        assert set(str(track).splitlines()) == {f"{k} {v}" for k, v in stanza.items()}
    assert hub.validate()

    names = [stanza["track"] for stanza in track_stanzas]
    assert len(set(names)) == len(names)
    assert list(composites) == ["imagene_cnn_sweep_hsap_general"]
    assert len(composites["imagene_cnn_sweep_hsap_general"].subtracks) == 2

    import pyBigWig

    contigs = dict(line.split("\t") for line in (scan_folder / "scan.chrom.sizes")
                   .read_text().splitlines())
    files = [stanza["bigDataUrl"] for stanza in track_stanzas if "bigDataUrl" in stanza]
    assert sorted(files) == sorted(p.name for p in scan_folder.glob("*.bw"))
    for stanza in (s for s in track_stanzas if "bigDataUrl" in s):
        assert "/" not in stanza["bigDataUrl"]  # relative to hub.txt
        bigwig = pyBigWig.open(str(scan_folder / stanza["bigDataUrl"]))
        assert {c: str(n) for c, n in bigwig.chroms().items()} == contigs
        assert bigwig.header()["maxVal"] <= 1
        bigwig.close()
        assert (stanza["type"], stanza["viewLimits"], stanza["autoScale"]) == (
            "bigWig 0 1", "0:1", "off")
        assert (stanza["yLineMark"], stanza["yLineOnOff"]) == (
            threshold_line(stanza["bigDataUrl"]), "on")
    # the general model stores a measured threshold for P(sweep); the line is drawn there
    marks = {stanza["bigDataUrl"]: stanza["yLineMark"] for stanza in track_stanzas
             if "bigDataUrl" in stanza}
    assert marks[f"{THREE_CLASSES}.sweep.bw"] != "0.5" == marks[f"{THREE_CLASSES}.linked.bw"]


def test_assembly_from_the_headers_lengths():
    hg38 = ASSEMBLIES["hg38"]
    assert recognised_assembly({"chr2": hg38["2"], "chrX": hg38["X"]}) == "hg38"
    assert recognised_assembly({"2": ASSEMBLIES["hg19"]["2"]}) == "hg19"
    assert recognised_assembly({"chr2": hg38["2"], "chr3": 1_000}) is None
    assert recognised_assembly({"chr2": hg38["2"], "chrM": 16_569, "chrUn_x": 5}) == "hg38"
    assert recognised_assembly({"scaffold_1": hg38["2"]}) is None
    assert recognised_assembly({"chr1": 2_000_000}) is None
    assert recognised_assembly({}) is None


def test_a_human_vcf_names_its_assembly(tmp_path):
    """A VCF whose header gives GRCh38's chr1 length gets `genome hg38`."""
    pysam = pytest.importorskip("pysam")
    source = pysam.VariantFile(str(EXAMPLE_VCF))
    header = source.header.copy()
    vcf = tmp_path / "hg38.vcf.gz"
    text = str(header).replace("##contig=<ID=chr1,length=2000000>",
                               f"##contig=<ID=chr1,length={ASSEMBLIES['hg38']['1']}>")
    assert text != str(header), "the example's contig line changed: update this test"
    body = "".join(str(record) for record in source)
    plain = tmp_path / "hg38.vcf"
    plain.write_text(text + body)
    pysam.tabix_compress(str(plain), str(vcf))
    pysam.tabix_index(str(vcf), preset="vcf")
    run_cli("scan", "--vcf", vcf, "--model", BUNDLED_MODEL, "-q", "-o", tmp_path / "out")
    assert stanzas((tmp_path / "out" / "hub.txt").read_text())[1] == {"genome": "hg38"}


def test_every_big_data_url_is_served_with_byte_ranges(scan_folder):
    """`popgen-hub serve` answers the byte ranges UCSC asks of each bigDataUrl, resolved
    against the URL of hub.txt as UCSC resolves it."""
    pytest.importorskip("uvicorn", reason="the serve extra serves the hub")
    from urllib.parse import urljoin

    import httpx

    from live_server import serving
    from popgen_hub.browsers.server import Hub

    with serving(Hub([scan_folder], None, [])) as base:
        hub_url = f"{base}/files/0/hub.txt"
        served = httpx.get(hub_url)
        assert served.status_code == 200
        assert served.text == (scan_folder / "hub.txt").read_text()
        urls = [s["bigDataUrl"] for s in stanzas(served.text) if "bigDataUrl" in s]
        assert len(urls) == 3
        for url in urls:
            data = (scan_folder / url).read_bytes()
            size = len(data)
            # the header, the middle, the end: a range past it is cut at the last byte
            for first, last in ((0, 99), (size // 2, size // 2 + 99), (size - 64, size + 999)):
                answer = httpx.get(urljoin(hub_url, url),
                                   headers={"Range": f"bytes={first}-{last}"})
                last = min(last, size - 1)
                assert answer.status_code == 206
                assert answer.headers["content-range"] == f"bytes {first}-{last}/{size}"
                assert answer.content == data[first:last + 1]


def test_a_named_assembly_wins(tmp_path):
    """The LCT VCF's header gives GRCh37 lengths for GRCh38 positions: a name the user gives
    (the scan's --genome hg38) is what the hub must say."""
    import popgen_hub
    from popgen_hub.files import Staging
    from popgen_hub.writers.ucsc import write_ucsc_hub

    vcf = shared("real/lct_ceu_grch38/LCT.CEU.GRCh38.vcf.gz")
    result = popgen_hub.load(BUNDLED_MODEL, device="cpu").scan(vcf, tmp_path / "lct")
    assert stanzas((tmp_path / "lct" / "hub.txt").read_text())[1] == {"genome": "hg19"}
    staging = Staging(tmp_path / "lct", tmp_path)
    write_ucsc_hub(result, staging, assembly="hg38")
    assert stanzas((tmp_path / "hub.txt").read_text())[1] == {"genome": "hg38"}


def test_scan_genome_names_the_hubs_assembly(tmp_path):
    """`scan --genome hg38` names IGV's genome and the hub's assembly; a genome file (IGV
    takes one, UCSC does not) leaves the hub to the contigs' lengths."""
    sizes = tmp_path / "example.chrom.sizes"
    sizes.write_text("chr1\t2000000\n")
    for genome, assembly in (("hg38", "hg38"), (sizes, UNKNOWN_ASSEMBLY)):
        out = tmp_path / f"scan_{Path(genome).stem}"
        run_cli("scan", "--vcf", EXAMPLE_VCF, "--model", BUNDLED_MODEL, "--region",
                "chr1:1-300000", "--genome", genome, "-q", "-o", out)
        assert stanzas((out / "hub.txt").read_text())[1] == {"genome": assembly}
        assert (out / "igv_batch.txt").read_text().splitlines()[1] == f"genome {genome}"
    assert ucsc_assembly("GCF_000001405.40") == "GCF_000001405.40"  # GenArk accessions too
    assert ucsc_assembly("GRCh38.fa.gz") is ucsc_assembly("ref/hg38") is ucsc_assembly(None)
    assert ucsc_assembly("GRCh38.fa.gz") is None
