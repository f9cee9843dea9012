"""Writers turn scan results into files: BigWig tracks, a window table, genome-browser files.

These always run; plugins (group ``popgen_hub.writers``) add writers that ``scan --writer NAME``
runs after them, as ``write(result: ScanResult, staging: Staging)`` writing to
``staging.path(file_name)``.
"""

from .igv import render_snapshot, write_igv_batch
from .tracks import write_bigwigs, write_chrom_sizes, write_window_table

__all__ = ["render_snapshot", "write_bigwigs", "write_chrom_sizes", "write_igv_batch",
           "write_window_table"]
