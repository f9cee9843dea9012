"""The exchangeable network (issue 13, item 3): the genotype-matrix encoders, a network that
reads any number of individuals in any order, and its way from simulation to a scan of
unphased genotypes."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from conftest import run_cli
from popgen_hub.datasets import encode_dataset, iter_replicates
from popgen_hub.encoders import GenotypeMatrixEncoder, LikelihoodMatrixEncoder
from popgen_hub.errors import PopgenHubError
from popgen_hub.genotypes import GenotypeBlock, Samples

N_SITES = 32  # the tiny model's columns
# (individuals, sites): 100 has 4 ALT of 12; 200 is ALT-major (the minor allele is REF) with
# individual 4 missing; 300 is monomorphic; 400 a singleton
GENOTYPES = np.array([[0, 2, 0, 1], [1, 2, 0, 0], [2, 1, 0, 0], [0, 2, 0, 0], [0, -1, 0, 0],
                      [1, 2, 0, 0]], dtype=np.int8)
POSITIONS = np.array([100, 200, 300, 400])


def hand_block() -> GenotypeBlock:
    samples = Samples([f"ind{i}" for i in range(6)], [2] * 6)
    return GenotypeBlock(POSITIONS, GENOTYPES.T, "genotypes", samples)


def test_the_genotype_matrix_of_a_hand_made_window():
    encoded = GenotypeMatrixEncoder(n_sites=4).encode(hand_block(), (0, 800))
    tensor = encoded.inputs["genotype_matrix"]
    assert tensor.shape == (6, 3, 4) and encoded.n_sites == 3  # 300 is not informative
    # columns: 100, 200, 400 (column n_sites // 2 = 2 holds the first site at or after the
    # middle, 400), then one empty column; 200 counts copies of REF, its minor allele
    assert tensor[:, 0].tolist() == [[0, 0, 0.5, 0], [0.5, 0, 0, 0], [1, 0.5, 0, 0],
                                     [0, 0, 0, 0], [0, 0, 0, 0], [0.5, 0, 0, 0]]
    called = np.ones((6, 4))
    called[:, 3] = 0
    called[4, 1] = 0
    assert np.array_equal(tensor[:, 1], called)
    # bp from the previous informative site (the window start for the first) x 4 / 800
    assert np.allclose(tensor[:, 2], [[0.5, 0.5, 1.0, 0.0]] * 6)
    alt = GenotypeMatrixEncoder(n_sites=4, polarise="alt").encode(hand_block(), (0, 800))
    assert alt.inputs["genotype_matrix"][:, 0, 1].tolist() == [1, 1, 0.5, 1, 0, 1]
    # the same calls as haplotypes, each individual's two consecutive: the same matrix
    haplotypes = np.repeat(np.minimum(GENOTYPES, 1), 2, axis=0)
    haplotypes[1::2] = np.where(GENOTYPES == 2, 1, np.where(GENOTYPES < 0, -1, 0))
    as_haplotypes = GenotypeBlock.from_haplotypes(haplotypes, POSITIONS)
    again = GenotypeMatrixEncoder(n_sites=4).encode(as_haplotypes, (0, 800))
    assert np.array_equal(again.inputs["genotype_matrix"], tensor)


def test_more_sites_than_columns_keep_the_run_around_the_middle():
    positions = np.arange(10) * 100
    genotypes = np.tile([[1], [0], [0], [0], [0]], 10).astype(np.int8)  # all informative
    block = GenotypeBlock(positions, genotypes.T, "genotypes", Samples.anonymous(5, 2))
    tensor = GenotypeMatrixEncoder(n_sites=4).encode(block, (0, 1000)).inputs["genotype_matrix"]
    # middle 500: sites 300, 400 | 500, 600; the gap of 300 is from 200 (not kept), 100 bp
    assert tensor[:, 1].min() == 1 and np.allclose(tensor[0, 2], 100 * 4 / 1000)
    shifted = GenotypeMatrixEncoder(n_sites=4).encode(block, (0, 200))  # middle 100: 0..300
    assert np.allclose(shifted.inputs["genotype_matrix"][0, 2], [0, 2, 2, 2])


def test_the_likelihood_matrix_gives_each_genotype_its_probability():
    phred = np.where(np.arange(3) == GENOTYPES.T[..., None], 0.0, 60.0).astype(np.float32)
    phred[1, 4] = 0.0  # individual 4 at 200: no information, as its missing call
    samples = Samples([f"ind{i}" for i in range(6)], [2] * 6)
    block = GenotypeBlock(POSITIONS, phred, "likelihoods", samples, likelihood_scale="phred")
    encoder = LikelihoodMatrixEncoder(n_sites=4)
    tensor = encoder.encode(block, (0, 800)).inputs["genotype_matrix"]
    assert tensor.shape == (6, 6, 4) and encoder.shapes["genotype_matrix"] == (None, 6, 4)
    genotypes = encoder.encode(hand_block(), (0, 800)).inputs["genotype_matrix"]
    assert np.allclose(tensor, genotypes, atol=1e-5)  # sharp likelihoods: the genotypes
    # individual 1 (0/1 at 100, 2/2 at 200 = no minor allele, 0/0 at 400): p0, p1, p2
    assert np.allclose(tensor[1, 3:, :3].T, [[0, 1, 0], [1, 0, 0], [1, 0, 0]], atol=1e-5)
    assert np.allclose(tensor[4, 3:, 1], 1 / 3)  # equal when missing


# ------------------------------------------------------------------------- training
def test_a_training_replicate_is_a_random_number_of_individuals_the_pooling_leaves_out():
    from popgen_hub.models.exchangeable import ExchangeableCNN

    rng = np.random.default_rng(1)
    genotypes = (rng.random((40, 30)) < 0.3).astype(np.int8) + (rng.random((40, 30)) < 0.3)
    block = GenotypeBlock(np.arange(40) * 50, genotypes, "genotypes", Samples.anonymous(30, 2))
    encoder = GenotypeMatrixEncoder(n_sites=16)
    sizes = []
    for _ in range(40):
        rows = ExchangeableCNN.training_window(encoder, block, (0, 2000), rng).inputs[
            "genotype_matrix"]
        k = int((rows[:, 1].max(axis=1) > 0).sum())
        assert rows.shape == (30, 3, 16) and not rows[k:].any()  # zero rows after the k drawn
        sizes.append(k)
    assert min(sizes) >= 5 and max(sizes) <= 30 and len(set(sizes)) > 5
    torch.manual_seed(0)
    network = ExchangeableCNN(n_sites=16).eval()
    with torch.no_grad():
        padded = network(torch.from_numpy(rows[None]))
        alone = network(torch.from_numpy(rows[None, :k]))
    assert torch.allclose(padded, alone, atol=1e-6)  # zero rows change nothing


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """simulate -> train (1 epoch) -> export, as the README shows: 60 sweep/neutral replicates
    of 64 diploids (128 haplotypes), 20 kb."""
    base = tmp_path_factory.mktemp("exchangeable")
    data, run, model = base / "data", base / "run", base / "model"
    run_cli("simulate", "imagene_sweep", "--param", "n_haplotypes=128", "--param",
            "length=20000", "--n", "60", "--seed", "1", "-q", "-o", data)
    run_cli("train", "exchangeable_cnn", "--data", data, "--encoder", f"n_sites={N_SITES}",
            "--epochs", "1", "--no-calibrate", "--threads", "1", "--seed", "2", "-q", "-o", run)
    run_cli("export", run, "--name", "exchangeable_cnn.test", "-o", model)
    import popgen_hub

    return data, run, popgen_hub.load(f"local-dir:{model}", device="cpu")


@pytest.fixture(scope="module")
def windows(exported):
    """The dataset's replicates encoded whole (64 individuals each), as a scan would."""
    data, _, model = exported
    inputs, _ = encode_dataset(data, model.encoder, progress=False)
    return inputs["genotype_matrix"]


def test_the_contract_takes_unphased_genotypes_of_5_to_64_diploids(exported, capsys):
    from popgen_hub.cli import main

    _, _, model = exported
    spec = model.contract.input
    assert (spec.data_kind, spec.sample_size, spec.ploidy, spec.phased) == (
        "genotypes", [5, 64], [2, 2], False)
    assert model.contract.weights["parity_max_abs_diff_vs_torch"] < 1e-5
    dims = onnx.load(str(model.path)).graph.input[0].type.tensor_type.shape.dim
    assert [bool(d.dim_param) for d in dims] == [True, True, False, False]  # batch, individuals
    assert [d.dim_value for d in dims[2:]] == [3, N_SITES]
    assert main(["info", f"local-dir:{model.path.parent}"]) == 0
    assert ("input: unphased genotypes of 5 to 64 individuals (ploidy 2), 20,000 bp windows; "
            f"tensors 'genotype_matrix' (batch, any, 3, {N_SITES})") in capsys.readouterr().out


def test_the_onnx_model_ignores_the_order_of_individuals(exported, windows):
    _, _, model = exported
    x = windows[:8]
    probabilities = model.predict(x)
    order = np.random.default_rng(3).permutation(x.shape[1])
    assert np.abs(model.predict(x[:, order]) - probabilities).max() < 1e-6
    # but not the individuals themselves: half of them give other scores
    assert np.abs(model.predict(x[:, ::2]) - probabilities).max() > 1e-4


def test_torch_and_onnx_agree_for_5_20_and_61_individuals(exported, windows):
    from popgen_hub.models import build_model

    _, run, model = exported
    record = json.loads((run / "run.json").read_text())
    network = build_model(record["architecture"], **record["model_config"])
    network.load_state_dict(torch.load(run / "model.pt", weights_only=True))
    network.eval()
    for n in (5, 20, 61):
        x = windows[:, :n]
        with torch.no_grad():
            expected = torch.softmax(network(torch.from_numpy(x)), dim=1).numpy()
        got = model.predict(x)
        assert got.shape == (len(x), 2) and np.abs(got - expected).max() < 1e-5


def test_the_encoder_reads_a_datasets_haplotypes_paired_into_diploids(exported):
    data, _, model = exported
    _, block = next(iter_replicates(data))
    assert block.kind == "haplotypes" and block.values.shape[1] == 128
    encoded = model.encoder.encode(block, (0, 20_000)).inputs["genotype_matrix"]
    assert encoded.shape == (64, 3, N_SITES) and set(np.unique(encoded[:, 0])) <= {0, 0.5, 1}


def test_a_scan_reads_5_20_61_individuals_subsamples_70_and_refuses_4(exported, simulate_vcf,
                                                                      tmp_path):
    """An unphased scan of a VCF of 70 diploids: the reader gives the genotype model its
    individuals' genotypes (phase dropped); sample tables pick 4, 5, 20 and 61 of them."""
    _, _, model = exported
    vcf = simulate_vcf(length=200_000, sweep_at=100_000, n_haplotypes=140)
    from popgen_hub.readers import open_reader

    names = open_reader(vcf).samples
    assert len(names) == 70
    scores = {}
    for n in (5, 20, 61):
        table = tmp_path / f"{n}.tsv"
        table.write_text("sample\n" + "\n".join(names[:n]) + "\n")
        result = model.score(vcf, samples=table, progress=False)
        scored = result.scored()
        assert result.n_individuals == n and len(scored) > 20
        scores[n] = dict(zip(scored["start"], scored["probabilities"][:, 1], strict=True))
        assert all(0 < score < 1 for score in scores[n].values())
    both = sorted(set(scores[5]) & set(scores[61]))
    # the individuals read make the score
    assert len(both) > 20 and not np.allclose([scores[5][start] for start in both],
                                              [scores[61][start] for start in both])
    whole = [model.score(vcf, seed=seed, progress=False) for seed in (0, 0, 1)]
    assert all(result.n_individuals == 64 for result in whole)  # a seeded subset of the maximum
    assert whole[0].haplotypes == whole[1].haplotypes != whole[2].haplotypes
    table = tmp_path / "4.tsv"
    table.write_text("sample\n" + "\n".join(names[:4]) + "\n")
    with pytest.raises(PopgenHubError, match="at least 5"):
        model.score(vcf, samples=table, progress=False)
