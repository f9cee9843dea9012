"""Training and export for ``popgen-hub embed`` (the ``train`` extra; nothing in the inference
path imports this module): the bundled encoder ``vae.embed_hsap`` (:func:`train_bundled`, run
by ``exporters/vae.embed_hsap.sh``), the simulated data it is trained and checked on, and the
ONNX export of a VAE fitted by ``embed --fit`` (:func:`export_fitted`).

The bundled encoder reads each sample's principal-axis scores
(:class:`~popgen_hub.encoders.PcaScores`, so that it reads any dataset's SNPs) and is
trained with a Gaussian reconstruction on simulated human-like datasets (:func:`simulated`:
stdpopsim HomSap models, populations, sample sizes and lengths drawn at random; the models of
:data:`~popgen_hub.simulate.histories.HELD_OUT_MODELS` never).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..encoders.pca_scores import MIN_SAMPLES, MIN_SNPS, PcaScores
from ..errors import PopgenHubError
from ..genotypes import GenotypeBlock, Samples
from ..models.vae import EmbeddingHead, Vae, embed_with, fit

log = logging.getLogger("popgen_hub")
#: the bundled model's training models: multi-population present-day HomSap histories
TRAINING_MODELS = ("OutOfAfricaExtendedNeandertalAdmixturePulse_3I21", "OutOfAfrica_2T12",
                   "Africa_1T12", "OutOfAfricaArchaicAdmixture_5R19", "Zigzag_1S14",
                   "AncientEurasia_9K19", "PapuansOutOfAfrica_10J19", "AshkSub_7G19",
                   "OutOfAfrica_4J17")
MUTATION_RATE = 1.29e-8  # stdpopsim HomSap's genome-wide mean
#: the bundled model's reconstruction noise: below the structure axes' spread (0.2-0.4 in
#: scores of human-like data), so that the 2-D latent keeps them rather than collapsing
NOISE_SD = 0.1
REGIME = ("a model drawn at random, 1 to 4 of its present-day populations, 8 to 50 diploids "
          "each, 1 to 4 Mb (log-uniform), recombination rate 0.5 to 2 x 1e-8, mutation rate "
          "1.29e-8")


def export_fitted(vae: Vae, example: np.ndarray, path: Path) -> float:
    """The encoder of a fitted VAE as a plain ONNX file (input ``genotypes`` (batch, SNPs),
    output ``embedding``: means then standard deviations); returns the largest difference
    between onnxruntime and torch on ``example``."""
    import onnxruntime as ort

    from ..training.export import OPSET, PARITY_TOLERANCE

    head = EmbeddingHead(vae).eval()
    tensor = torch.from_numpy(np.ascontiguousarray(example, np.float32))
    with torch.no_grad():
        expected = head(tensor).numpy()
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # as training.export does
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(head, (tensor[:1],), dynamo=True, external_data=False,
                                    input_names=["genotypes"], output_names=["embedding"],
                                    dynamic_shapes=(({0: torch.export.Dim("batch", min=1)},),),
                                    opset_version=OPSET, verbose=False)
    program.save(str(path))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = float(np.abs(session.run(["embedding"], {"genotypes": tensor.numpy()})[0]
                         - expected).max())
    if worst > PARITY_TOLERANCE:
        raise PopgenHubError(f"the fitted encoder's ONNX export differs from torch by "
                             f"{worst:.2e} (tolerance {PARITY_TOLERANCE:.0e}); not saved")
    return worst

# ---------------------------------------------------------------- simulated training data
def simulate_populations(model: str | Any, populations: Sequence[str], n: Sequence[int], *,
                         length: float, seed: int, recombination_rate: float = 1e-8
                         ) -> tuple[Any, list[str]]:
    """A tree sequence of ``n[i]`` diploids of each of ``populations`` under ``model`` (a
    HomSap model id of stdpopsim, or an ``msprime.Demography``), and each individual's
    population, in the tree sequence's order."""
    import msprime

    demography = model
    if isinstance(model, str):
        import stdpopsim

        demography = stdpopsim.get_species("HomSap").get_demographic_model(model).model
    ts = msprime.sim_ancestry(samples=dict(zip(populations, n, strict=True)),
                              demography=demography, sequence_length=int(length),
                              recombination_rate=recombination_rate, random_seed=seed)
    ts = msprime.sim_mutations(ts, rate=MUTATION_RATE, random_seed=seed + 1)
    origin = [ts.population(i.population).metadata["name"] for i in ts.individuals()]
    return ts, origin


def genotype_block(ts: Any) -> GenotypeBlock:
    """Unphased diploid genotypes of a tree sequence's biallelic sites."""
    haplotypes = ts.genotype_matrix().astype(np.int8)
    biallelic = haplotypes.max(axis=1) <= 1
    positions = ts.tables.sites.position[biallelic].astype(np.int64)
    return GenotypeBlock.from_haplotypes(haplotypes[biallelic].T, positions, Samples.anonymous(
        haplotypes.shape[1] // 2, 2)).unphased()


def simulated(n_datasets: int, seed: int, encoder: PcaScores) -> list[np.ndarray]:
    """Principal-axis scores (one (samples, n_axes) array per dataset) of datasets drawn as
    :data:`REGIME` says, from :data:`TRAINING_MODELS`."""
    from ..simulate.histories import PRESENT_DAY

    rng = np.random.default_rng(seed)
    scores = []
    for i in range(n_datasets):
        model = str(rng.choice(TRAINING_MODELS))
        pops = list(PRESENT_DAY[model])
        chosen = [str(p) for p in rng.choice(pops, size=rng.integers(1, min(4, len(pops)) + 1),
                                              replace=False)]
        sizes = [int(rng.integers(8, 51)) for _ in chosen]
        ts, _ = simulate_populations(model, chosen, sizes, seed=int(rng.integers(1, 2**31)),
                                     length=float(np.exp(rng.uniform(np.log(1e6), np.log(4e6)))),
                                     recombination_rate=float(rng.uniform(0.5e-8, 2e-8)))
        scores.append(encoder.encode(genotype_block(ts)).inputs["pc_scores"])
        log.info("dataset %d/%d: %s %s %s -> %d SNPs", i + 1, n_datasets, model, chosen, sizes,
                 ts.num_sites)
    return scores


# ---------------------------------------------------------------- held-out checks
#: held-out data the issue's check names, and a history no training dataset resembles
HELD_OUT = {"OutOfAfrica_3G09": ("YRI", "CEU", "CHB"), "island_3": ("A", "B", "C")}


def held_out_data(scenario: str, seed: int, *, n: int = 30, length: float = 3e6
                  ) -> tuple[Any, list[str]]:
    """``n`` diploids of each population of ``scenario``: stdpopsim HomSap OutOfAfrica_3G09
    (YRI, CEU, CHB; never trained on), or ``island_3``, three demes of 10,000 exchanging
    migrants at m = 1e-4 per generation (4Nm = 4, F_ST about 0.1), a stationary structure
    unlike the tree-like human histories of training."""
    import msprime

    pops = HELD_OUT[scenario]
    model: Any = scenario
    if scenario == "island_3":
        model = msprime.Demography.island_model([10_000] * 3, migration_rate=1e-4)
        for population, name in zip(model.populations, pops, strict=True):
            population.name = name
    return simulate_populations(model, pops, [n] * len(pops), length=length, seed=seed)


def train_bundled(out_dir: str | Path, *, n_datasets: int = 300, seed: int = 1,
                  card: str | Path | None = None, threads: int = 1) -> dict[str, Any]:
    """Simulate, train and export ``vae.embed_hsap`` into ``out_dir`` (config.json,
    model.onnx, test_data_set_0, README.md from ``card``); returns its contract as a dict.
    Datasets are split 80/20 into training and validation (early stopping); each enters
    twice, as the sign convention gives it and with every axis's sign drawn at random, so
    that the map does not lean on the convention where a split is balanced."""
    from ..contract import InputSpec, ModelContract
    from ..embed import knn_accuracy
    from ..files import ModelFolder, staged_outputs
    from ..publish.card import embedding_card
    from ..publish.test_data import write_test_data
    from ..runtime import sha256_of
    from ..training.export import OPSET, check_parity, export_onnx

    encoder = PcaScores()
    rng = np.random.default_rng(seed)
    datasets = simulated(n_datasets, seed, encoder)
    cut = int(0.8 * len(datasets))

    def rows(part: list[np.ndarray]) -> np.ndarray:
        flips = [d * rng.choice([-1.0, 1.0], size=d.shape[1]) for d in part]
        return np.concatenate(part + flips).astype(np.float32)

    fitted = fit(rows(datasets[:cut]), rows(datasets[cut:]), noise_sd=NOISE_SD, seed=seed,
                 max_epochs=400, patience=30, batch_size=256, threads=threads)
    heldout = {}
    for scenario, pops in HELD_OUT.items():
        accuracies = []
        for check_seed in (1, 2, 3):
            ts, origin = held_out_data(scenario, check_seed)
            mean, _ = embed_with(fitted.vae, encoder.encode(genotype_block(ts)).inputs[
                "pc_scores"])
            accuracies.append(knn_accuracy(mean, origin))
        heldout[scenario] = {"populations": list(pops), "n_per_population": 30,
                             "length_bp": 3_000_000, "knn": "5-NN leave-one-out",
                             "seeds": [1, 2, 3], "accuracy": accuracies,
                             "mean": float(np.mean(accuracies)),
                             "sd": float(np.std(accuracies, ddof=1))}
    source = _card_source(card)
    labels = [f"z{i + 1}" for i in range(fitted.vae.latent)]
    contract = ModelContract(
        name="vae.embed_hsap", architecture="vae", description=source["description"].strip(),
        input=InputSpec(tensor_name="pc_scores", n_haplotypes=2 * MIN_SAMPLES, window_bp=1_000_000,
                        min_sites=MIN_SNPS, data_kind="genotypes", sample_size=[MIN_SAMPLES, None],
                        ploidy=[2, 2]),
        encoder=encoder.to_config(), labels=labels + [f"{z}_sd" for z in labels],
        output_name="embedding", output_kind="embedding",
        training={"simulator": "msprime via stdpopsim HomSap", "models": list(TRAINING_MODELS),
                  "n_datasets": n_datasets, "n_train_datasets": cut,
                  "n_validation_datasets": n_datasets - cut, "seed": seed,
                  "model_config": fitted.vae.config, "best_epoch": fitted.best_epoch,
                  "epochs": fitted.epochs, "validation_loss": fitted.validation_loss,
                  "regime": REGIME},
        metrics={"held_out": heldout},
        citations=["Battey CJ, Coffing GC, Kern AD (2021) Visualizing population structure "
                   "with variational autoencoders. G3 11:jkaa036",
                   "Patterson N, Price AL, Reich D (2006) Population structure and "
                   "eigenanalysis. PLoS Genetics 2:e190"])
    head = EmbeddingHead(fitted.vae).eval()
    parity = np.concatenate(datasets[cut:])[:64]
    with torch.no_grad():
        expected = head(torch.from_numpy(parity)).numpy()
    with staged_outputs(out_dir) as staging:
        onnx_path = staging.path(ModelFolder.weights)
        export_onnx(head, contract, {"pc_scores": parity[:1]}, onnx_path)
        worst = check_parity(onnx_path, contract, {"pc_scores": parity}, expected)
        final = ModelContract.from_dict({**contract.to_dict(), "weights": {
            "filename": ModelFolder.weights, "sha256": sha256_of(onnx_path),
            "onnx_opset": OPSET, "parity_max_abs_diff_vs_torch": worst}})
        staging.path(ModelFolder.config).write_text(final.to_json() + "\n")
        write_test_data(staging.path(ModelFolder.test_data), {"pc_scores": parity[:8]},
                        expected[:8], output_name="embedding")
        staging.path(ModelFolder.card).write_text(embedding_card(final, source))
    return final.to_dict()


def _card_source(path: str | Path | None) -> dict[str, Any]:
    if path is None:
        return {"description": "A variational autoencoder of samples' principal-axis scores."}
    from ..publish.card import read_card_source

    return read_card_source(path)
