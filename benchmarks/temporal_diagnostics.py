"""Diagnostics behind docs/temporal_balancing.md, on the datasets `make temporal` builds.

1. The selected allele's frequency in each time point's sample, per class (the site at the
   locus centre: 25 kb in the review's files, 25,000.01-25,000.99 bp in ours), which is how the
   two strengths of `temporal_balancing` were read off the review's replicates.
2. A logistic regression on the allele frequencies of the central sites per time point, as the
   temporal_stack encoder lays them out, on the train + validation / test partitions of seeds
   1-3 (the splits `train --repeats` uses): the reference the network must beat.

    python benchmarks/temporal_diagnostics.py [build/temporal_balsel]
    python benchmarks/temporal_diagnostics.py --smoke   # a tiny simulated dataset, seconds

``--smoke`` simulates six replicates of `temporal_balancing` (population scaled down 40x, so
its figures mean nothing) into a temporary folder and runs both diagnostics on it, once under
each dataset name: the same code path, to check that the script still works.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from popgen_hub.datasets import iter_replicates, load_manifest
from popgen_hub.training.loop import split_indices
from popgen_hub.training.train import dataset_inputs


def selected_allele_frequencies(data: Path) -> None:
    manifest = load_manifest(data)
    points = manifest["time_points"]
    bounds = np.cumsum([0] + [p["n_haplotypes"] for p in points])
    by_class: dict[int, list[list[float]]] = {}
    for label, block in iter_replicates(data):
        site = np.flatnonzero((block.positions >= 25_000) & (block.positions < 25_001))
        by_class.setdefault(label, []).append(
            [block.values[site[0], a:b].mean() if len(site) else 0.0
             for a, b in zip(bounds[:-1], bounds[1:], strict=True)])
    print(f"  ages (years): {[p['age_years'] for p in points]}")
    for label, rows in sorted(by_class.items()):
        rows = np.array(rows)
        print(f"  {manifest['labels'][label]:>24}: mean {rows.mean(0).round(2)}, "
              f"carried by the sample in {(rows > 0).mean(0).round(2)} of {len(rows)}")


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3):
    """Multinomial logistic regression (LBFGS); returns a function giving predicted classes."""
    inputs, targets = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    weights = torch.zeros(x.shape[1], int(y.max()) + 1, requires_grad=True)
    bias = torch.zeros(int(y.max()) + 1, requires_grad=True)
    optimiser = torch.optim.LBFGS([weights, bias], max_iter=300)

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        value = torch.nn.functional.cross_entropy(inputs @ weights + bias, targets)
        value = value + l2 * weights.pow(2).sum()
        value.backward()
        return value

    optimiser.step(loss)
    return lambda new: (torch.tensor(new, dtype=torch.float32) @ weights + bias).argmax(1).numpy()


def logistic_on_central_frequencies(data: Path, widths=(1, 4, 8, 16), seeds=(1, 2, 3)) -> None:
    _, inputs, labels, _ = dataset_inputs("temporal_balsel", data, progress=False)
    middle = inputs["present"].shape[-1] // 2
    for width in widths:
        columns = slice(middle - width, middle + width + 1)
        features = np.concatenate([inputs["present"].mean(2)[:, 0, columns],
                                   inputs["ancient"].mean(2)[:, :, columns].reshape(
                                       len(labels), -1)], axis=1)
        accuracies = []
        for seed in seeds:
            split = split_indices(len(labels), seed)
            train = np.concatenate([split["train"], split["validation"]])
            scale = features[train].std(0) + 1e-9
            x = (features - features[train].mean(0)) / scale
            predict = fit_logistic(x[train], labels[train])
            accuracies.append(float((predict(x[split["test"]]) == labels[split["test"]]).mean()))
        print(f"  {2 * width + 1:>2} central sites x 5 time points: held-out accuracy "
              f"{' / '.join(f'{a:.3f}' for a in accuracies)} (seeds {', '.join(map(str, seeds))})")


def smoke_datasets(work: Path) -> None:
    """A six-replicate dataset standing in for both of `make temporal`'s."""
    from popgen_hub.simulate.dataset import simulate_dataset

    simulate_dataset("temporal_balancing", work / "hsap_eur" / "data", n=6, seed=5, workers=1,
                     scenario_params={"scaling": 40.0}, progress=False)
    (work / "review_data").symlink_to(work / "hsap_eur", target_is_directory=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", nargs="?", type=Path, default=Path("build/temporal_balsel"),
                        help="the folder `make temporal` wrote (NAME/data for both datasets)")
    parser.add_argument("--smoke", action="store_true",
                        help="run on a tiny simulated dataset instead (checks the script works)")
    args = parser.parse_args()
    if args.smoke:
        with tempfile.TemporaryDirectory() as tmp:
            smoke_datasets(Path(tmp))
            diagnose(Path(tmp))
    else:
        diagnose(args.work)


def diagnose(work: Path) -> None:
    torch.manual_seed(0)
    for name in ("hsap_eur", "review_data"):
        data = work / name / "data"
        print(f"{data}: the selected allele per time point")
        selected_allele_frequencies(data)
        print(f"{data}: logistic regression on the central sites' frequencies")
        logistic_on_central_frequencies(data)


if __name__ == "__main__":
    main()
