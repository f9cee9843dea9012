"""The house: the genotype data model, contract format 2, registries, scoring apart from
writing, datasets of every data kind, and the rules the code keeps (no import cycle, small
modules and functions)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

import popgen_hub
from conftest import BUNDLED_MODEL, ROOT
from popgen_hub.contract import FORMAT_VERSION, ModelContract
from popgen_hub.datasets import pack_blocks, unpack_blocks
from popgen_hub.errors import PopgenHubError
from popgen_hub.genotypes import GenotypeBlock, Samples, concatenate

EXAMPLE_VCF = ROOT / "hub" / "data" / "example_sweep.vcf.gz"


# ------------------------------------------------------------------------- the data model
def diploid_blocks(seed: int = 0, n_sites: int = 50, n_samples: int = 6):
    """The same data as haplotypes, genotypes and sharp likelihoods (phred 0 / 60)."""
    rng = np.random.default_rng(seed)
    haplotypes = (rng.random((2 * n_samples, n_sites)) < 0.3).astype(np.int8)
    positions = np.sort(rng.choice(10_000, n_sites, replace=False))
    samples = Samples([f"ind{i}" for i in range(n_samples)], [2] * n_samples)
    as_haplotypes = GenotypeBlock.from_haplotypes(haplotypes, positions, samples)
    genotypes = haplotypes[0::2] + haplotypes[1::2]  # (samples, sites)
    as_genotypes = GenotypeBlock(positions, genotypes.T.astype(np.int8), "genotypes", samples)
    phred = np.where(np.arange(3) == genotypes.T[..., None], 0.0, 60.0).astype(np.float32)
    as_likelihoods = GenotypeBlock(positions, phred, "likelihoods", samples,
                                   likelihood_scale="phred")
    return as_haplotypes, as_genotypes, as_likelihoods


def test_every_kind_gives_the_same_allele_counts():
    haplotypes, genotypes, likelihoods = diploid_blocks()
    alt, called = haplotypes.alt_counts()
    for other in (genotypes, likelihoods):
        other_alt, other_called = other.alt_counts()
        assert np.allclose(other_alt, alt, atol=1e-4) and np.array_equal(other_called, called)
    assert haplotypes.haplotype_sample.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_missing_calls_are_not_counted_and_bad_blocks_are_refused():
    block = GenotypeBlock.from_haplotypes(np.array([[0, 1, -1], [1, -1, -1]], dtype=np.int8))
    alt, called = block.alt_counts()
    assert alt.tolist() == [1, 1, 0] and called.tolist() == [2, 1, 0]
    two = Samples(["a", "b"], [2, 2])  # b: PL 0,0,0 and all-NaN carry no information
    phred = np.array([[[0, 60, 60], [0, 0, 0]], [[60, 0, 60], [np.nan] * 3]], np.float32)
    alt, called = GenotypeBlock(np.arange(2), phred, "likelihoods", two,
                                likelihood_scale="phred").alt_counts()
    assert np.allclose(alt, [0, 1], atol=1e-5) and called.tolist() == [2, 2]
    samples = Samples(["a"], [2])
    with pytest.raises(ValueError, match="not one of"):
        GenotypeBlock(np.arange(2), np.zeros((2, 1), np.int8), "dosages", samples)
    with pytest.raises(ValueError, match="positions for"):
        GenotypeBlock(np.arange(3), np.zeros((2, 1), np.int8), "genotypes", samples)
    with pytest.raises(ValueError, match="likelihood_scale"):
        GenotypeBlock(np.arange(2), np.zeros((2, 1, 3)), "likelihoods", samples)
    with pytest.raises(ValueError, match="haplotype_sample"):
        GenotypeBlock(np.arange(2), np.zeros((2, 2), np.int8), "haplotypes", samples)


def test_blocks_concatenate_and_select_columns():
    block, genotypes, _ = diploid_blocks()
    halves = [block.take_sites(slice(0, 20)), block.take_sites(slice(20, None))]
    whole = concatenate(halves)
    assert np.array_equal(whole.values, block.values)
    assert np.array_equal(whole.positions, block.positions)
    picked = block.take_columns([3, 0])
    assert picked.values.tolist() == block.values[:, [3, 0]].tolist()
    assert picked.haplotype_sample.tolist() == [1, 0]
    assert genotypes.take_columns([2]).samples.names == ("ind2",)
    assert concatenate([], like=block).n_sites == 0


@pytest.mark.parametrize("kind", [0, 1, 2])
def test_datasets_store_every_kind_and_give_it_back(kind):
    blocks = [diploid_blocks(seed)[kind] for seed in range(3)]
    arrays = pack_blocks(blocks)
    assert str(arrays["data_kind"]) == blocks[0].kind
    back = list(unpack_blocks(arrays, blocks[0].samples))
    assert len(back) == 3
    for original, copy in zip(blocks, back, strict=True):
        assert copy.kind == original.kind
        assert np.array_equal(copy.positions, original.positions)
        assert np.array_equal(copy.values, original.values)
        assert copy.likelihood_scale == original.likelihood_scale


def test_a_dataset_of_an_earlier_version_loads_as_haplotypes():
    """Earlier shards: bit-packed haplotypes without a data kind."""
    haplotypes = np.array([[0, 1, 1], [1, 0, 1]], dtype=np.uint8)  # (haplotypes, sites)
    old = {"haplotypes_packed": np.packbits(haplotypes.T, axis=1),
           "site_offsets": np.array([0, 3]), "positions": np.array([5.0, 9.0, 12.0]),
           "n_haplotypes": np.int64(2)}
    (block,) = unpack_blocks(old)
    assert block.kind == "haplotypes" and block.values.T.tolist() == haplotypes.tolist()


# ------------------------------------------------------------------------- contract format 2
def test_format_1_contracts_load_with_the_defaults_that_describe_them():
    # the bundled model's contract as exported in format 1 (calibrate made it format 2)
    path = ROOT / "tests" / "data" / "contract_format1.json"
    raw = json.loads(path.read_text())
    assert raw.get("format_version", 1) == 1 and "data_kind" not in raw["input"]
    contract = ModelContract.from_json_file(path)
    assert contract.format_version == FORMAT_VERSION == 2
    assert contract.input.data_kind == "haplotypes" and contract.output_kind == "classes"
    assert contract.input.sample_size == [128, None] and contract.input.ploidy == [1, 2]
    assert contract.references == {}
    again = ModelContract.from_dict(json.loads(contract.to_json()))
    assert again == contract


@pytest.mark.parametrize("change, message", [
    ({"output_kind": "ranking"}, "output_kind 'ranking'"),
    ({"input": {"data_kind": "reads"}}, "data_kind 'reads'"),
    ({"format_version": 3}, "newer than this popgen-hub"),
    ({"input": {"n_windows": 3}}, "not a valid popgen-hub contract"),
])
def test_contracts_that_cannot_be_honoured_are_refused(change, message):
    data = popgen_hub.load(BUNDLED_MODEL).contract.to_dict()
    for key, value in change.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    with pytest.raises(PopgenHubError, match=message):
        ModelContract.from_dict(data)


def test_a_regression_output_needs_no_two_labels():
    data = popgen_hub.load(BUNDLED_MODEL).contract.to_dict()
    contract = ModelContract.from_dict({**data, "output_kind": "regression",
                                        "labels": ["log10_rho"],
                                        "references": {"null": [0.1, 0.2]}})
    assert contract.output_kind == "regression" and contract.references["null"] == [0.1, 0.2]


# ------------------------------------------------------------------------- registries
def test_built_ins_register_beside_their_definitions():
    from popgen_hub.encoders import ENCODERS, Encoder
    from popgen_hub.readers import READERS, Reader, open_reader
    from popgen_hub.writers import BUILTIN_WRITERS, WRITERS

    assert {"haplotype_image", "temporal_stack"} <= set(ENCODERS.builtins)
    assert all(isinstance(ENCODERS.get(name)(), Encoder) for name in ENCODERS.builtins)
    assert set(BUILTIN_WRITERS) <= set(WRITERS.builtins)
    assert "vcf" in READERS.builtins
    reader = open_reader(EXAMPLE_VCF)
    assert isinstance(reader, Reader) and reader.kinds == ("haplotypes", "genotypes",
                                                           "likelihoods")
    with pytest.raises(PopgenHubError, match="unknown encoder 'nope'; known encoders: "):
        ENCODERS.get("nope")


def test_encoders_declare_what_they_read():
    from popgen_hub.encoders import HaplotypeImageEncoder, TemporalStackEncoder, rows_for

    image, stack = HaplotypeImageEncoder(n_rows=16, n_cols=8), TemporalStackEncoder()
    assert image.shapes == {"haplotype_image": (1, 16, 8)}
    assert set(stack.shapes) == {"present", "ancient"}
    assert [g.name for g in stack.sample_groups] == [
        "present-day", "500-1500", "1500-3000", "3000-6000", "6000-12000"]
    points = [{"age_years": 0.0, "n_haplotypes": 6}, {"age_years": 900.0, "n_haplotypes": 4}]
    assert rows_for(image, points).tolist() == list(range(6))  # ancient rows are not its


# ------------------------------------------------------------------------- scoring, writing
def test_scoring_writes_nothing_and_equals_the_scan(tmp_path, monkeypatch):
    from popgen_hub.writers import WRITERS

    model = popgen_hub.load(BUNDLED_MODEL)
    monkeypatch.chdir(tmp_path)
    scored = model.score(EXAMPLE_VCF, region="chr1:1-600000", progress=False)
    assert list(tmp_path.iterdir()) == [] and scored.outputs == {}
    seen = {}

    def probe(result, staging):  # a writer sees the final names of what came before it
        seen.update(result.outputs)
        staging.path("probe.txt").write_text(str(len(result.windows)))

    WRITERS.register("probe")(probe)
    try:
        scanned = model.scan(EXAMPLE_VCF, tmp_path / "out", region="chr1:1-600000",
                             writers=["probe"], progress=False)
    finally:
        del WRITERS.builtins["probe"]
    assert np.array_equal(scanned.windows, scored.windows)
    track = f"{BUNDLED_MODEL}.sweep.bw"
    assert seen[track] == (tmp_path / "out" / track).resolve() and seen[track].is_file()
    assert (tmp_path / "out" / "probe.txt").read_text() == str(len(scored.windows))
    assert scanned.outputs["probe.txt"] == (tmp_path / "out" / "probe.txt").resolve()


# ------------------------------------------------------------------------- rules of the house
def _modules() -> dict[str, Path]:
    root = ROOT / "hub"
    names = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        names[".".join(["popgen_hub", *(parts[:-1] if parts[-1] == "__init__" else parts)])] = path
    return names


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The popgen_hub modules ``module`` imports, lazily or not (``from . import x`` counts
    as importing x when x is a module, else the package)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] \
                if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                name = f"{target}.{alias.name}"
                found.add(name if name in known else target)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name in known and name != module}


def test_no_module_of_the_package_imports_one_that_imports_it_back():
    modules = _modules()
    graph = {m: _imports(m, p, set(modules)) for m, p in modules.items()}

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            current = todo.pop()
            for nxt in graph[current] - seen:
                if nxt == goal:
                    return True
                seen.add(nxt)
                todo.append(nxt)
        return False

    cycles = sorted(f"{a} <-> {b}" for a in graph for b in graph[a] if reaches(b, a))
    assert cycles == []


def test_modules_and_functions_stay_small():
    too_big = []
    for path in (ROOT / "hub").rglob("*.py"):
        source = path.read_text()
        if len(source.splitlines()) > 400:
            too_big.append(f"{path.name}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and \
                    node.end_lineno - node.lineno >= 80:
                too_big.append(f"{path.name}:{node.name}: {node.end_lineno - node.lineno + 1}")
    assert too_big == []
