"""One fit, start to finish (the ``train`` extra): the VCF's windows read, the run staged and
resumable under a fingerprint of its input and options (:mod:`popgen_hub.resume`), the
adversarial loop (:mod:`popgen_hub.gan.fit`) and the outputs (:mod:`popgen_hub.gan.export`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..resume import resumable_output, run_options
from . import FIT_RECORD, FitSettings, demographic_model
from .export import write_outputs
from .fit import CHECKPOINT, Gan, run_fit
from .windows import discriminator_encoder, read_real_windows


def fit_demography(vcf: str | Path, out_dir: str | Path, settings: FitSettings, *,
                   region: str | None = None, samples: str | Path | None = None,
                   population: str | None = None, command: str = "", resume: bool = False,
                   clean: bool = False, model_name: str | None = None,
                   on_iteration: Callable[[dict[str, Any]], None] | None = None
                   ) -> dict[str, Any]:
    """Fit ``settings.demography`` to the VCF's windows; write ``out_dir`` (fit.json,
    trajectory.png, the discriminator's training run and its exported model folder) and
    return the fit record. ``model_name``: the exported discriminator's name (default
    ``exchangeable_cnn.gan_<demography>``)."""
    settings.check()
    model = demographic_model(settings.demography)
    real = read_real_windows(vcf, discriminator_encoder(), window_bp=settings.window_bp,
                             region=region, samples=samples, population=population,
                             individuals=settings.individuals, seed=settings.seed)
    key, options = run_options([vcf, *([samples] if samples else [])],
                               command="fit-demography", settings=asdict(settings),
                               region=region, population=population)
    with resumable_output(out_dir, key, record=FIT_RECORD, what="demography fit",
                          resume=resume, clean=clean, command=command, options=options
                          ) as (staging, existing):
        if existing is not None:
            return existing
        gan = Gan(model, real, settings)
        state = run_fit(gan, staging.path(CHECKPOINT), on_iteration)
        record = write_outputs(staging, gan, real, state, vcf=vcf, key=key, command=command,
                               model_name=model_name or f"exchangeable_cnn.gan_{model.name}",
                               context={"region": region, "samples": str(samples) if samples
                                        else None, "population": population})
        staging.publish_all()
    return record
