"""Genomic intervals: 0-based half-open inside, samtools-style text outside.

Text is ``contig``, ``contig:start-end``, ``contig:start`` (to the contig's end) or
``contig:-end``: 1-based inclusive positions, commas allowed. A contig name may hold ``:``
itself (``Mme_chr24:2558528-4558528``, as some assemblies name scaffolds): the whole text is the
contig when it names one; otherwise the range follows the LAST ``:``; ``{contig}:start-end``
says which part is the name, as in samtools.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import PopgenHubError

_RANGE = re.compile(r"^(?P<start>\d[\d,]*)?(?:-(?P<end>\d[\d,]*)?)?$")
_EXAMPLE = "write it as chr2:135000000-136000000 (a contig whose name holds ':' as {name}:1-1000)"


@dataclass(frozen=True)
class Region:
    """A genomic interval, 0-based half-open."""

    contig: str
    start: int
    end: int

    def __str__(self) -> str:  # samtools/htslib style: 1-based, inclusive
        return f"{braced(self.contig)}:{self.start + 1}-{self.end}"


def braced(contig: str) -> str:
    """A contig name as htslib region text: ``{name}`` when it holds ``:``, so that the range
    after it is never mistaken for part of the name."""
    return f"{{{contig}}}" if ":" in contig else contig


def parse_region(text: str, is_contig: Callable[[str], bool] | None = None
                 ) -> tuple[str, int | None, int | None]:
    """Parse region text into (contig, start, end), 0-based half-open; a missing start or end
    is None. ``is_contig`` tells whether a name is a contig of the input: text that is one
    whole is taken as the contig (see the module's rules)."""
    stripped = text.strip()
    if not stripped:
        raise PopgenHubError(f"the region is empty; {_EXAMPLE}")
    if any(c.isspace() for c in stripped):
        raise PopgenHubError(f"region {text!r} contains a space; {_EXAMPLE}")
    contig, positions = _split(text, stripped, is_contig)
    if not contig:
        raise PopgenHubError(f"region {text!r} has no contig name; {_EXAMPLE}")
    if positions is None:
        return contig, None, None
    match = _RANGE.match(positions)
    if not match or not (match["start"] or match["end"]):
        raise PopgenHubError(f"cannot parse region {text!r}: {positions!r} after the contig is "
                             f"not START-END; {_EXAMPLE}")
    start = int(match["start"].replace(",", "")) - 1 if match["start"] else None
    end = int(match["end"].replace(",", "")) if match["end"] else None
    if (start is not None and start < 0) or end == 0:
        raise PopgenHubError(f"region {text!r}: positions are 1-based, the first base is 1")
    if start is not None and end is not None and end <= start:
        raise PopgenHubError(f"region {text!r} is empty: its end is not after its start")
    return contig, start, end


def _split(text: str, stripped: str, is_contig: Callable[[str], bool] | None
           ) -> tuple[str, str | None]:
    """(contig, the text of its positions or None)."""
    if stripped.startswith("{"):
        name, close, rest = stripped[1:].partition("}")
        if not close or (rest and not rest.startswith(":")):
            raise PopgenHubError(f"cannot parse region {text!r}: write a braced contig as "
                                 f"{{name}} or {{name}}:start-end")
        return name, rest[1:] if rest else None
    name, colon, positions = stripped.rpartition(":")
    if not colon:
        return stripped, None
    if is_contig is not None and is_contig(stripped):
        if name and is_contig(name) and _RANGE.match(positions):
            raise PopgenHubError(
                f"region {text!r} is ambiguous: {stripped} and {name} are both contigs; write "
                f"{{{stripped}}} for the first, {{{name}}}:{positions} for a range of the second")
        return stripped, None
    return name, positions
