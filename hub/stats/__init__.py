"""Population-genetic summary statistics of a :class:`~popgen_hub.genotypes.GenotypeBlock` of
any data kind, vectorised with numpy (docs/statistics.md has the formulas and rules).

==================================== ===========================================================
:func:`site_frequency_spectrum`      unfolded or folded SFS; missing data projected
:func:`diversity`                    π, θW, segregating sites, Tajima's D (:class:`Diversity`)
:func:`garud_h`                      H1, H12, H123, H2/H1 (:class:`GarudH`); genotypes: G-stats
:func:`ld_decay`                     mean r² by distance bin (:class:`LDDecay`)
:func:`window_statistics`            the scalar statistics of one window, as a dict
:func:`windowed`                     the same for many windows: a structured array
==================================== ===========================================================

Windows are half-open and 0-based, ``[start, end)``, like the block's positions; single-window
functions default to the block's first site and one past its last. π and θW are totals over a
window's sites; ``*_per_bp`` divide by the window's length.

Example::

    import numpy as np
    from popgen_hub.genotypes import GenotypeBlock
    from popgen_hub.stats import diversity, windowed

    block = GenotypeBlock.from_haplotypes(haplotypes, positions)
    print(diversity(block, 0, 100_000).tajimas_d)
    table = windowed(block, np.arange(0, 20_000_000, 10_000), 10_000)
    table["pi_per_bp"], table["h12"]
"""

from .diversity import DIVERSITY_FIELDS, Diversity, diversity, harmonic, tajimas_d_from
from .homozygosity import GarudH, garud_h
from .ld import DEFAULT_LD_BINS, LDDecay, ld_decay, site_pairs
from .sfs import fold_spectrum, projection_matrix, site_frequency_spectrum
from .sites import SiteCounts, site_counts
from .windows import DTYPE, FIELDS, window_statistics, windowed

__all__ = ["DEFAULT_LD_BINS", "DIVERSITY_FIELDS", "DTYPE", "FIELDS", "Diversity", "GarudH",
           "LDDecay", "SiteCounts", "diversity", "fold_spectrum", "garud_h", "harmonic",
           "ld_decay", "projection_matrix", "site_counts", "site_frequency_spectrum",
           "site_pairs", "tajimas_d_from", "window_statistics", "windowed"]
