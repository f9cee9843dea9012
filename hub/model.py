"""What :func:`popgen_hub.load` returns: an onnxruntime session with its contract, which can
also score and scan inputs."""

from __future__ import annotations

import os
from typing import Any

from .result import ScanResult
from .runtime import OnnxModel
from .scan import scan_vcf
from .scoring import score_input


class Model(OnnxModel):
    """A loaded model: ``predict`` encoded windows, ``score`` an input in memory, ``scan`` it
    into tracks."""

    def scan(self, vcf: str | os.PathLike, out_dir: str | os.PathLike, **options: Any
             ) -> ScanResult:
        """Scan a VCF and write tracks; see :func:`popgen_hub.scan.scan_vcf` for options."""
        return scan_vcf(self, vcf, out_dir, **options)

    def score(self, path: str | os.PathLike, **options: Any) -> ScanResult:
        """Score an input in memory, writing nothing; see
        :func:`popgen_hub.scoring.score_input` for options."""
        return score_input(self, path, **options)
