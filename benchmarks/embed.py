"""How well ``popgen-hub embed`` recovers populations: the check of issue 16, item 3.

For each held-out history (stdpopsim HomSap OutOfAfrica_3G09: YRI, CEU, CHB, never used in
training; ``island_3``: three demes exchanging migrants, a history unlike any trained on; see
:func:`popgen_hub.embed.train.held_out_data`) and each seed, N diploids per population over L bp
are simulated, written as an indexed VCF and read back through the package's reader (htslib),
as ``embed`` reads a user's file. Each sample is then embedded by the pretrained encoder
(onnxruntime) and by a VAE fitted to the data (``--fit``: popvae's recipe, torch), and a
5-nearest-neighbour vote in the 2-D latent space (leave-one-out) predicts its population.
Figures: the share of samples whose population is recovered, mean ± sd over the seeds, each
seed's, and the seconds each method took (reading included). Measures; asserts nothing.

    python benchmarks/embed.py [--model vae.embed_hsap] [--seeds 1 2 3] [--n 30] [--length 3e6]
    python benchmarks/embed.py --smoke   # one seed, 12 diploids per population, 1 Mb
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import popgen_hub
from popgen_hub.embed import (
    DEFAULT_MODEL,
    check_embedding_model,
    embed_pretrained,
    knn_accuracy,
    open_input,
    read_genotypes,
)
from popgen_hub.embed.train import HELD_OUT, held_out_data
from popgen_hub.models.vae import embed_with, fit_popvae
from popgen_hub.simulate.genome import write_indexed_vcf


def one_dataset(scenario: str, seed: int, n: int, length: float, folder: Path,
                model: popgen_hub.Model,
                smoke: bool) -> dict[str, tuple[float, float]]:
    """(accuracy, seconds) of each method on one simulated dataset."""
    ts, origin = held_out_data(scenario, seed, n=n, length=length)
    vcf = write_indexed_vcf(ts, folder / f"{scenario}_{seed}.vcf.gz", contig="1")
    figures = {}
    started = time.perf_counter()
    reader, regions, selection = open_input(vcf, None, None)
    read = read_genotypes(reader, regions, selection, model.encoder)
    embedding = embed_pretrained(model, read, {})
    figures["pretrained"] = (knn_accuracy(embedding.mean, origin),
                             time.perf_counter() - started)
    started = time.perf_counter()
    reader, regions, selection = open_input(vcf, None, None)
    read = read_genotypes(reader, regions, selection, model.encoder, max_snps=10_000, seed=seed)
    fitted = fit_popvae(read.subset, seed=seed, **({"max_epochs": 20} if smoke else {}))
    mean, _ = embed_with(fitted.vae, read.subset)
    figures["fit"] = (knn_accuracy(mean, origin), time.perf_counter() - started)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--n", type=int, default=30, help="diploids per population")
    parser.add_argument("--length", type=float, default=3e6, help="bp simulated")
    parser.add_argument("--smoke", action="store_true", help="one seed, 12 diploids, 1 Mb")
    args = parser.parse_args()
    if args.smoke:
        args.seeds, args.n, args.length = [1], 12, 1e6
    model = check_embedding_model(popgen_hub.load(args.model, device="cpu"), args.model)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for scenario, pops in HELD_OUT.items():
            per_seed = [one_dataset(scenario, seed, args.n, args.length, Path(tmp), model,
                                    args.smoke) for seed in args.seeds]
            for method in ("pretrained", "fit"):
                accuracy = np.array([figures[method][0] for figures in per_seed])
                seconds = np.mean([figures[method][1] for figures in per_seed])
                sd = accuracy.std(ddof=1) if len(accuracy) > 1 else float("nan")
                rows.append(f"| {scenario} ({'/'.join(pops)}) | {method} | "
                            f"{accuracy.mean():.3f} ± {sd:.3f} | "
                            f"{', '.join(f'{a:.3f}' for a in accuracy)} | {seconds:.1f} |")
    print(f"5-NN leave-one-out recovery of the population, {args.n} diploids per population, "
          f"{args.length / 1e6:g} Mb, seeds {', '.join(map(str, args.seeds))}; model "
          f"{model.contract.name}\n")
    print("| data | method | accuracy (mean ± sd) | per seed | seconds per dataset |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
