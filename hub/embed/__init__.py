"""``popgen-hub embed``: each sample's place in a low-dimensional map of the genotypes it
carries, from a pretrained variational autoencoder (ONNX, no torch) or one fitted to the data
(``--fit``, popvae's recipe: :mod:`popgen_hub.models.vae`, the ``train`` extra).

Why principal-axis scores go in, not genotypes: see :mod:`popgen_hub.encoders.pca_scores`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..encoders.pca_scores import MIN_SAMPLES, MIN_SNPS, Gram, PcaScores
from ..errors import PopgenHubError, few
from ..files import staged_outputs
from ..genotypes import GenotypeBlock, Region
from ..readers import open_reader
from ..readers.base import Reader, SampleSelection, haplotype_columns, input_name
from ..readers.samples import SampleTable

DEFAULT_MODEL = "vae.embed_hsap"
TABLE, FIGURE = "embedding.tsv", "embedding.png"


@dataclass
class ReadGenotypes:
    """What one streamed pass over the input gave: the Gram matrix and, for ``--fit``, a
    uniform random subset of at most ``max_snps`` SNPs (samples, SNPs) as popvae reads them:
    ALT dosage / ploidy, 0, 0.5, 1 for diploids, a missing call the site's mean."""

    samples: list[str]
    gram: Gram
    subset: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    subset_sites: list[tuple[str, int]] = field(default_factory=list)


def selection_of(reader: Reader, table: SampleTable | None) -> SampleSelection:
    """Every individual of the input, or those the sample table names (all of them must be
    in the input), read as unphased genotypes."""
    if "genotypes" not in reader.kinds:
        raise PopgenHubError(f"embed reads genotype calls (GT) and {input_name(reader)} gives "
                             f"{', '.join(reader.kinds)}; call genotypes first (a VCF/BCF)")
    present = set(reader.samples)
    if table is not None:
        absent = [s for s in table.samples if s not in present]
        if absent:
            raise PopgenHubError(f"--samples {table.name} names {len(absent)} sample(s) that "
                                 f"{input_name(reader)} lacks ({few(absent, 3)}); remove them "
                                 f"from the table")
    wanted = set(table.samples) if table is not None else present
    odd = [f"{sample} ({ploidy})" for sample, ploidy in zip(reader.samples, reader.ploidies,
                                                             strict=True)
           if sample in wanted and ploidy != 2]
    if odd:
        raise PopgenHubError(f"{input_name(reader)}: embed reads diploid individuals and "
                             f"{len(odd)} have another ploidy ({few(odd, 3)}); leave them out "
                             f"with --samples")
    columns = tuple(c for c in haplotype_columns(reader) if c[0] in wanted)
    selection = SampleSelection(columns, phased=False, kind="genotypes")
    if len(selection.samples) < MIN_SAMPLES:
        raise PopgenHubError(f"{input_name(reader)} has {len(selection.samples)} sample(s)"
                             f"{' of ' + table.name if table else ''}; embed needs at least "
                             f"{MIN_SAMPLES} individuals")
    return selection


def read_genotypes(reader: Reader, regions: Sequence[Region], selection: SampleSelection,
                   encoder: PcaScores, *, max_snps: int = 0, seed: int = 0) -> ReadGenotypes:
    """One pass over ``regions``, block by block (module doc); ``max_snps`` > 0 keeps a
    seeded uniform subset of that many SNPs for ``--fit`` (a random key per SNP, the
    smallest keys kept)."""
    gram, rng = Gram(encoder), np.random.default_rng(seed)
    keys, kept, sites = np.zeros(0), np.zeros((len(selection.samples), 0), np.float32), []
    stats = reader.new_stats()
    for region in regions:
        for block in reader.blocks(region, selection, stats=stats):
            gram.add(block)
            if max_snps <= 0 or not block.n_sites:
                continue
            dosages, index = _dosages(block, encoder)
            where = [(region.contig, int(p)) for p in block.positions[index]]
            keys = np.concatenate([keys, rng.random(len(where))])
            kept = np.concatenate([kept, dosages], axis=1)
            sites += where
            if len(keys) > 2 * max_snps:  # amortised: trim to the smallest keys
                keys, kept, sites = _smallest(keys, kept, sites, max_snps)
    if max_snps > 0:
        keys, kept, sites = _smallest(keys, kept, sites, max_snps)
        order = sorted(range(len(sites)), key=sites.__getitem__)  # back in genome order
        kept, sites = kept[:, order], [sites[i] for i in order]
    if gram.n_snps < MIN_SNPS:
        where = ", ".join(map(str, regions))
        raise PopgenHubError(f"{input_name(reader)} has {gram.n_snps} SNPs with minor-allele "
                             f"frequency >= {encoder.min_maf} in {where}; embed needs at least "
                             f"{MIN_SNPS}: give a longer --region (a few Mb) or more samples")
    return ReadGenotypes(selection.samples, gram, kept, sites)


def _dosages(block: GenotypeBlock, encoder: PcaScores) -> tuple[np.ndarray, np.ndarray]:
    """popvae's input of ``block``'s sites that the encoder keeps: (samples, kept) dosages
    over ploidy with missing calls at the site's mean (its ALT frequency), and the kept
    sites' indices."""
    keep, p, called = encoder.kept_sites(block)
    ploidy = np.asarray(block.samples.ploidy, dtype=np.float32)
    filled = np.where(called[keep], block.values[keep] / ploidy, p[keep, None])
    return filled.T.astype(np.float32), np.flatnonzero(keep)


def _smallest(keys: np.ndarray, kept: np.ndarray, sites: list, n: int
              ) -> tuple[np.ndarray, np.ndarray, list]:
    if len(keys) <= n:
        return keys, kept, sites
    index = np.sort(np.argpartition(keys, n)[:n])
    return keys[index], kept[:, index], [sites[i] for i in index]


@dataclass(frozen=True)
class Embedding:
    """Per-sample latent means and standard deviations, and how they were made."""

    samples: list[str]
    mean: np.ndarray
    sd: np.ndarray
    header: dict[str, str]
    populations: dict[str, str] | None = None


def embed_pretrained(model: Any, read: ReadGenotypes, header: dict[str, str]) -> Embedding:
    """The pretrained encoder (an :class:`~popgen_hub.runtime.OnnxModel` of output kind
    embedding) on the samples' principal-axis scores."""
    output = model.predict(read.gram.scores())
    k = output.shape[1] // 2
    return Embedding(read.samples, output[:, :k], output[:, k:], header)


def check_embedding_model(model: Any, name: str) -> Any:
    """``model`` (loaded as ``name``), if its output is an embedding of ``pca_scores``
    inputs (the bundled one, or another exported the same way)."""
    if model.contract.output_kind != "embedding" or model.contract.encoder["name"] != (
            PcaScores.name):
        raise PopgenHubError(f"--model {name} gives {model.contract.output_kind} from "
                             f"{model.contract.encoder['name']} inputs; embed needs an "
                             f"embedding model of {PcaScores.name} (e.g. {DEFAULT_MODEL})")
    return model


def write_embedding(embedding: Embedding, out_dir: str | os.PathLike, command: str = ""
                    ) -> list[Path]:
    """``embedding.tsv`` and ``embedding.png`` (matplotlib, the ``explain`` extra) in
    ``out_dir``, published together; returns their final paths."""
    import matplotlib

    matplotlib.use("Agg")
    with staged_outputs(out_dir, command) as staging:
        _write_table(embedding, staging.path(TABLE))
        _figure(embedding, staging.path(FIGURE))
        return [staging.final(name) for name in staging.names]


def _write_table(embedding: Embedding, path: Path) -> None:
    k = embedding.mean.shape[1]
    columns = ["sample", *(["population"] if embedding.populations else []),
               *(f"z{i + 1}" for i in range(k)), *(f"z{i + 1}_sd" for i in range(k))]
    lines = [f"# {key}: {value}" for key, value in embedding.header.items()]
    lines.append("\t".join(columns))
    for i, sample in enumerate(embedding.samples):
        population = [embedding.populations[sample]] if embedding.populations else []
        values = [f"{v:.6g}" for v in (*embedding.mean[i], *embedding.sd[i])]
        lines.append("\t".join([sample, *population, *values]))
    path.write_text("\n".join(lines) + "\n")


def _figure(embedding: Embedding, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5), constrained_layout=True)
    z = embedding.mean
    y = z[:, 1] if z.shape[1] > 1 else np.zeros(len(z))
    labels = ([embedding.populations[s] for s in embedding.samples] if embedding.populations
              else ["samples"] * len(z))
    for name in dict.fromkeys(labels):
        rows = np.array([label == name for label in labels])
        ax.scatter(z[rows, 0], y[rows], s=14, alpha=0.8, label=name)
    if embedding.populations:
        ax.legend(title="population", fontsize=8, markerscale=1.5)
    ax.set_xlabel("z1")
    ax.set_ylabel("z2" if z.shape[1] > 1 else "")
    ax.set_title(embedding.header.get("method", "embedding"), fontsize=9)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def open_input(vcf: str | os.PathLike, table: SampleTable | None, region: str | None
               ) -> tuple[Reader, list[Region], SampleSelection]:
    """The reader, regions and samples ``embed`` reads."""
    from ..scoring import scan_regions

    reader = open_reader(vcf)
    selection = selection_of(reader, table)
    return reader, scan_regions(reader, region, 1), selection


def knn_votes(points: np.ndarray, labels: Sequence[str], k: int = 5) -> np.ndarray:
    """Each point's label by the leave-one-out vote of its ``k`` nearest neighbours
    (Euclidean; a tie goes to the label of the nearest voter among the tied)."""
    points = np.asarray(points, dtype=np.float64)
    labels = np.asarray(labels)
    squares = (points**2).sum(axis=1)  # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b: (n, n), not (n, n, d)
    distance = squares[:, None] + squares[None, :] - 2 * points @ points.T
    np.fill_diagonal(distance, np.inf)
    k = min(k, len(points) - 1)
    nearest = np.argpartition(distance, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(distance, nearest, axis=1).argsort(axis=1, kind="stable")
    votes = []
    for voters in np.take_along_axis(nearest, order, axis=1):
        names, counts = np.unique(labels[voters], return_counts=True)
        tied = set(names[counts == counts.max()])
        votes.append(next(labels[j] for j in voters if labels[j] in tied))
    return np.array(votes)


def knn_accuracy(points: np.ndarray, labels: Sequence[str], k: int = 5) -> float:
    """Leave-one-out accuracy of the ``k``-nearest-neighbour vote (:func:`knn_votes`) at
    recovering each point's label."""
    return float((knn_votes(points, labels, k) == np.asarray(labels)).mean())
