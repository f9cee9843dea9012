"""Plain (uncompressed) VCF: compressed and indexed into a temporary folder, then read."""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from pathlib import Path

import pysam

from popgen_hub.errors import PopgenHubError
from popgen_hub.readers import VcfReader


class PlainVcfReader(VcfReader):
    name = "plain_vcf"
    suffixes = (".vcf",)

    def __init__(self, path: str | os.PathLike) -> None:
        source = Path(path)
        if not source.is_file():
            raise PopgenHubError(f"{source}: no such file")
        folder = tempfile.mkdtemp(prefix="popgen-hub-plain-vcf-")
        weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
        compressed = Path(folder) / (source.name + ".gz")
        try:
            pysam.tabix_compress(str(source), str(compressed))
            pysam.tabix_index(str(compressed), preset="vcf")
        except OSError as exc:
            raise PopgenHubError(f"{source}: cannot compress and index it ({exc}); is it "
                                 f"a sorted VCF?") from None
        super().__init__(compressed)
        self.source = source

    def fingerprint_inputs(self) -> list[Path]:
        """The plain VCF (its compressed copy is new each time)."""
        return [self.source]
