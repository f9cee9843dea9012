"""Model cards: YAML front matter built with huggingface_hub's ModelCardData, body from a template.

The human-written parts (description, intended use, limitations, tags) live in
``cards/<model>.yaml``; the measured parts (test metrics, training regime, input contract)
come from the model's contract, so a card can never claim a number that was not measured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ..contract import HAPLOTYPE_RULES, ModelContract, figure_text
from ..encoders import ancient_bins_text, build_encoder, input_shapes
from ..errors import PopgenHubError
from ..version import __version__

TEMPLATE = Path(__file__).with_name("card_template.md")
REQUIRED_KEYS = ("description", "intended_use", "limitations", "tags", "task_name")


def read_card_source(path: str | Path) -> dict[str, Any]:
    import yaml

    path = Path(path)
    try:
        source = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise PopgenHubError(f"cannot read model-card source {path}: "
                             f"{' '.join(str(exc).split())}") from None
    missing = [k for k in REQUIRED_KEYS if not isinstance(source, dict) or k not in source]
    if missing:
        raise PopgenHubError(f"model-card source {path} lacks {', '.join(missing)}")
    # a measured section kept in its own file (e.g. benchmarks/calibration.py's matrix.md)
    extra = source.get("off_distribution_file")
    if extra and (path.parent / extra).is_file():
        source["off_distribution"] = (path.parent / extra).read_text()
    return source


def render_card(contract: ModelContract, source: dict[str, Any], *,
                hub_id: str | None = None) -> ModelCard:
    """The model card of ``contract``, with its measured held-out metrics in model-index.

    ``hub_id`` (``org/repo``) is where the card will be published: its examples then load
    the model from there.
    """
    if contract.output_kind == "embedding":
        return ModelCard(embedding_card(contract, source, f"hf-hub:{hub_id}" if hub_id else None))
    if contract.output_kind == "regression":
        return ModelCard(regression_card(contract, source,
                                         f"hf-hub:{hub_id}" if hub_id else None))
    test = contract.metrics.get("test")
    if not test:
        raise PopgenHubError(f"{contract.name} has no held-out test metrics to put on its card")
    training = contract.training
    encoder = build_encoder(contract.encoder)
    shapes = input_shapes(encoder, contract.input.names)
    repeats = contract.metrics.get("repeats")
    dataset_name = (f"{training['scenario']} held-out test set ({test['n']} simulated "
                    f"replicates, {training['parameters'].get('demography', '')})")
    card_data = ModelCardData(
        model_name=contract.name,
        license=contract.license.lower(),
        library_name="popgen-hub",
        tags=list(source["tags"]),
        metrics=["accuracy"],
        pipeline_tag="image-classification",
        eval_results=[EvalResult(
            task_type="image-classification", task_name=source["task_name"],
            dataset_type="simulated", dataset_name=dataset_name,
            metric_type="accuracy", metric_value=round(test["accuracy"], 4),
            metric_name="held-out test accuracy")],
    )
    return ModelCard.from_template(
        card_data, template_path=str(TEMPLATE), contract=contract, source=source, test=test,
        training=training, confusion_rows=[
            (label, list(zip(shares, counts, strict=True))) for label, shares, counts in zip(
                test["labels"], test["confusion_matrix_normalised"], test["confusion_matrix"],
                strict=True)],
        haplotype_rule=HAPLOTYPE_RULES[contract.input.haplotype_rule],
        input_shapes=shapes, time_bins=ancient_bins_text(encoder),
        missing_rule=encoder.missing_rule, repeats=repeats, zip=zip,
        repeat_rows=list(zip(test["labels"], repeats["mean_normalised"],
                             repeats["sd_normalised"], strict=True)) if repeats else [],
        model_id=f"hf-hub:{hub_id}" if hub_id else contract.name,
        version=__version__)


def regression_card(contract: ModelContract, source: dict[str, Any],
                    model_id: str | None = None) -> str:
    """The model card (README.md) of a regression model: the words of its card source, the
    held-out figures measured into its contract (``metrics.test``: :func:`~popgen_hub.
    evaluate.regression_metrics`) in model-index and by true value, and the figures off the
    training distribution (``off_distribution``)."""
    model_id = model_id or contract.name
    test, training = contract.metrics["test"], contract.training
    scale = "log10 " if test["log10"] else ""
    label, spec = contract.labels[0], contract.input
    card_data = ModelCardData(
        model_name=contract.name, license=contract.license.lower(),
        library_name="popgen-hub", tags=list(source["tags"]), metrics=["pearsonr", "rmse"],
        eval_results=[EvalResult(
            task_type="tabular-regression", task_name=source["task_name"],
            dataset_type="simulated",
            dataset_name=f"{training['scenario']} held-out test set ({test['n']} simulated "
                         f"windows)", metric_type=metric, metric_value=round(test[key], 4),
            metric_name=f"held-out {name} ({scale}values)")
            for metric, key, name in (("pearsonr", "pearson", "Pearson r"),
                                      ("rmse", "rmse", "RMSE"))
            if test[key] is not None])  # no correlation without spread
    rows = "\n".join(f"| {b['low']:.3g}-{b['high']:.3g} | {b['n']} | {b['mean_true']:.3g} | "
                     f"{b['median_predicted']:.3g} ({b['p10_predicted']:.3g}-"
                     f"{b['p90_predicted']:.3g}) | {b['rmse']:.3f} |"
                     for b in test["by_true_value"])
    settings = training["settings"]
    encoder = build_encoder(contract.encoder)
    return (
        f"---\n{card_data.to_yaml()}\n---\n\n# {contract.name}\n\n"
        f"{source['description'].strip()}\n\n## Use it\n\n```bash\npip install popgen-hub\n"
        f"popgen-hub scan --vcf my.vcf.gz --model {model_id} -o scan_out\n# -> scan_out/"
        f"{contract.name}.{label}.bw (a BigWig of {label}) and the window table scan_out/"
        f"{contract.name}.windows.tsv\n```\n\n```python\nimport popgen_hub\nmodel = "
        f"popgen_hub.load(\"{model_id}\")  # model.scan(vcf, out_dir), model.predict(inputs)\n"
        f"```\n\n## Intended use\n\n"
        f"{source['intended_use'].strip()}\n\n## Input and output\n\n"
        f"Windows of {spec.window_bp:,} bp of {spec.n_haplotypes} phased haplotypes (a seeded "
        f"random subset of larger samples; fewer are refused), encoded by `{encoder.name}` "
        f"({', '.join(f'{k}={v}' for k, v in contract.encoder.items() if k != 'name')}): "
        f"{encoder.missing_rule}. Output `{contract.output_name}`: {label}, learnt on a "
        f"{scale}scale by mean squared error.\n\n## Training\n\n"
        f"{training['n_train']:,} simulated windows of `{training['scenario']}` "
        f"({training['n_validation']:,} validation, {training['n_test']:,} test; "
        f"{training['split']}); {settings['epochs']} epochs of {settings['optimizer']}, "
        f"learning rate {settings['learning_rate']:g} ({settings['schedule']}), batch "
        f"{settings['batch_size']}; kept epoch {training['best_epoch']}. Simulator: "
        f"{training['simulator']}.\n\nReproduce with:\n\n```bash\n"
        f"{source.get('reproduce', '').strip()}\n```\n\n"
        f"## Held-out test figures\n\nOn {test['n']:,} test windows: Pearson r "
        f"{figure_text(test['pearson'])}, Spearman {figure_text(test['spearman'])} "
        f"({scale}values); RMSE "
        f"{test['rmse']:.3f}, mean absolute error {test['mae']:.3f}, bias {test['bias']:+.3f} "
        f"({scale}units). By true value (equal numbers of windows):\n\n"
        f"| true {label} | windows | mean true | median predicted (10-90 %) | RMSE ({scale}"
        f"units) |\n|---|---|---|---|---|\n{rows}\n\n"
        f"{source.get('off_distribution', '').strip()}\n\n"
        f"ONNX opset {contract.weights['onnx_opset']}, outputs match torch within "
        f"{contract.weights['parity_max_abs_diff_vs_torch']:.0e} (absolute below 1, relative "
        f"above).\n\n"
        f"## Limitations\n\n{source['limitations'].strip()}\n\n## Citation\n\n"
        + "".join(f"- {c}\n" for c in contract.citations))


def embedding_card(contract: ModelContract, source: dict[str, Any], model_id: str | None = None
                   ) -> str:
    """The model card (README.md) of an embedding model: the words of its card source
    (``cards/NAME.yaml``), the figures measured into its contract (``metrics.held_out``);
    ``model_id`` is the name users load it by (default: the bundled name)."""
    model_id = model_id or contract.name
    rows = "\n".join(
        f"| {name} ({', '.join(f['populations'])}, {f['n_per_population']} diploids each, "
        f"{f['length_bp'] / 1e6:g} Mb) | {f['mean']:.3f} ± {f['sd']:.3f} | "
        f"{', '.join(f'{a:.3f}' for a in f['accuracy'])} |"
        for name, f in contract.metrics["held_out"].items())
    training, tags = contract.training, "".join(f"- {t}\n" for t in source.get("tags", []))
    return (f"---\nlicense: {contract.license.lower()}\nlibrary_name: popgen-hub\ntags:\n"
            f"{tags}---\n\n# {contract.name}\n\n{source['description'].strip()}\n\n"
            f"## Use it\n\n```bash\npip install popgen-hub\npopgen-hub embed --vcf my.vcf.gz "
            f"--samples panel.tsv --region 1:1-5000000 --model {model_id} -o embed_out\n"
            f"# -> embed_out/embedding.tsv (sample, population, z1, z2, z1_sd, z2_sd), "
            f"embed_out/embedding.png\n```\n\n```python\nimport popgen_hub\nmodel = "
            f"popgen_hub.load(\"{model_id}\")  # model.predict(principal-axis scores)\n```\n\n"
            f"## Intended use\n\n{source.get('intended_use', '').strip()}\n\n"
            f"## Input\n\nEach sample's scores on the region's first "
            f"{contract.encoder['n_axes']} principal axes (encoder `{contract.encoder['name']}`"
            f", sites with minor-allele frequency >= {contract.encoder['min_maf']}; see "
            f"`popgen_hub.embed`). Output `{contract.output_name}`: "
            f"{', '.join(contract.labels)} (latent means, then standard deviations).\n\n"
            f"## Training\n\n{training['n_datasets']} simulated datasets "
            f"({training['n_train_datasets']} training, {training['n_validation_datasets']} "
            f"validation for early stopping; best epoch {training['best_epoch']} of "
            f"{training['epochs']}), seed {training['seed']}: {training['regime']}; HomSap "
            f"models: {', '.join(training['models'])}.\n\nReproduce with:\n\n```bash\n"
            f"{source.get('reproduce', '').strip()}\n```\n\n"
            f"## Held-out check\n\nPopulation of each sample recovered by a 5-nearest-neighbour "
            f"vote in the latent space (leave-one-out), on data of models never trained on, "
            f"three simulation seeds:\n\n| data | accuracy (mean ± sd) | per seed |\n|---|---|"
            f"---|\n{rows}\n\nONNX opset {contract.weights['onnx_opset']}, outputs match torch "
            f"within {contract.weights['parity_max_abs_diff_vs_torch']:.0e}.\n\n"
            f"## Limitations\n\n{source.get('limitations', '').strip()}\n\n## Citation\n\n"
            + "".join(f"- {c}\n" for c in contract.citations))
