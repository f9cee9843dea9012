"""Windows along a region, and the sites of each, streamed from a reader's blocks.

Windows are ``window`` bp long and start every ``step`` bp from the region start (for a whole
contig, from its first record rounded down to a multiple of ``step``); the last window is the
first that reaches the region's end.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import numpy as np

from ..genotypes import GenotypeBlock, Region, concatenate


def window_starts(region: Region, window: int, step: int) -> range:
    """Starts of the windows of a region: every ``step`` bp from its start, up to and including
    the first window that reaches its end."""
    count = 1 + max(0, math.ceil((region.end - region.start - window) / step))
    return range(region.start, region.start + count * step, step)


def split_starts(starts: range, parts: int) -> list[range]:
    """``starts`` cut into at most ``parts`` runs of consecutive windows."""
    per = math.ceil(len(starts) / max(1, min(parts, len(starts))))
    return [starts[i:i + per] for i in range(0, len(starts), per)]


def window_bin(start: int, window: int, step: int) -> tuple[int, int]:
    """The central ``step`` bp of a window: consecutive windows' bins tile the region."""
    bin_start = start + (window - step) // 2
    return bin_start, bin_start + step


def iter_windows(blocks: Iterable[GenotypeBlock], starts: range, window: int
                 ) -> Iterator[tuple[int, GenotypeBlock | None]]:
    """Yield ``(start, sites)`` for each window start (None while no block has come);
    ``blocks`` must hold the sites of ``[starts[0], starts[-1] + window)``.

    Streams: only the sites of the windows in progress are held in memory.
    """
    blocks = iter(blocks)
    held: GenotypeBlock | None = None
    more = True
    for start in starts:
        end = start + window
        while more and (held is None or held.n_sites == 0 or held.positions[-1] < end):
            block = next(blocks, None)
            if block is None:
                more = False
            else:
                held = block if held is None else concatenate([held, block])
        if held is None:
            yield start, None
            continue
        first, stop = np.searchsorted(held.positions, start), np.searchsorted(held.positions, end)
        yield start, held.take_sites(slice(first, stop))
        held = held.take_sites(slice(first, None))
