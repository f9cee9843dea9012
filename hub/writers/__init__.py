"""Writers turn scan results into files: BigWig tracks, a window table, genome-browser files.

See :mod:`popgen_hub.writers.base` for the protocol.
"""

from .base import WRITERS, Writer
from .flags import write_flagged
from .folder import SCANS, read_scans, record_scan
from .igv import IgvBatch, render_snapshot, snapshot_tools
from .igv_session import write_igv_session
from .jbrowse import write_jbrowse
from .report import write_report
from .tracks import write_bigwigs, write_chrom_sizes, write_window_table
from .ucsc import write_ucsc_hub

#: every scan writes these, in this order (report.html last: it shows the others' files),
#: then the IGV batch script
BUILTIN_WRITERS = ("bigwig", "window_table", "flagged", "chrom_sizes", "igv_session",
                   "ucsc_hub", "jbrowse", "report")

__all__ = ["BUILTIN_WRITERS", "SCANS", "WRITERS", "IgvBatch", "Writer", "read_scans",
           "record_scan", "render_snapshot", "snapshot_tools", "write_bigwigs",
           "write_chrom_sizes", "write_flagged", "write_igv_session", "write_jbrowse",
           "write_report", "write_ucsc_hub", "write_window_table"]
