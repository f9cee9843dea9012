"""Genomic intervals: 0-based half-open inside, samtools-style text outside."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import PopgenHubError

_REGION = re.compile(r"^(?P<contig>[^:]+)(?::(?P<start>[\d,]+)?(?:-(?P<end>[\d,]+)?)?)?$")


@dataclass(frozen=True)
class Region:
    """A genomic interval, 0-based half-open."""

    contig: str
    start: int
    end: int

    def __str__(self) -> str:  # samtools/htslib style: 1-based, inclusive
        return f"{self.contig}:{self.start + 1}-{self.end}"


def parse_region(text: str) -> tuple[str, int | None, int | None]:
    """Parse ``chr:start-end`` (1-based inclusive, commas allowed) into 0-based half-open."""
    match = _REGION.match(text.strip())
    if not match:
        raise PopgenHubError(f"cannot parse region {text!r}; write it as chr2:135000000-136000000")
    start = int(match["start"].replace(",", "")) - 1 if match["start"] else None
    end = int(match["end"].replace(",", "")) if match["end"] else None
    if start is not None and start < 0:
        raise PopgenHubError(f"region {text!r}: positions are 1-based, the first base is 1")
    if start is not None and end is not None and end <= start:
        raise PopgenHubError(f"region {text!r} is empty: its end is not after its start")
    return match["contig"], start, end
