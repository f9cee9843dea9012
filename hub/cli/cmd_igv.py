r"""Show a scan folder's tracks in a running IGV desktop, through its batch port: every track
of OUTDIR's igv_session.xml (scores on 0-1, statistics of scan --stats autoscaled, flagged-window
BEDs), then the top window.

IGV listens only once its port is enabled (View > Preferences > Advanced > Enable port;
60151 by default). The tracks are added to what IGV shows: --new clears its session first.
--genome switches IGV's genome first (alone: to OUTDIR's chrom.sizes, needed when IGV's genome
lacks the scan's contigs); IGV drops its tracks when it changes genome, and offline IGV 2.16
waits on a message box (it cannot fetch its genome list) until it is closed, unless its prefs
have SHOW_GENOME_SERVER_WARNING=false. IGV opens the files
itself, by the paths they have here: run IGV on this machine or on a shared file system.

examples:
  popgen-hub igv lct_scan
  popgen-hub igv sim_scan --new --genome   # a fresh view on the scan's own contigs
  popgen-hub igv lct_scan --genome hg38 --port 60152
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import PopgenHubError

NAME, HELP = "igv", "send a scan folder's tracks to a running IGV desktop"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..browsers.igv_live import DEFAULT_PORT, SESSION_GENOME

    p.add_argument("folder", metavar="OUTDIR", help="a folder popgen-hub scan wrote")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help="IGV's batch port (default %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="IGV's host (default %(default)s)")
    p.add_argument("--new", action="store_true",
                   help="clear IGV's session first (default: add to what it shows)")
    p.add_argument("--genome", nargs="?", const=SESSION_GENOME, metavar="GENOME",
                   help="load this genome first (an IGV id such as hg38, or a FASTA/chrom.sizes "
                        "path); alone: OUTDIR's chrom.sizes")


def run(args: argparse.Namespace) -> None:
    from ..browsers.igv_live import send_session

    folder = Path(args.folder)
    if not folder.is_dir():
        raise PopgenHubError(f"{folder} is not a folder: give the -o folder of a scan")
    if not 0 < args.port < 65536:
        raise PopgenHubError(f"--port {args.port}: give a port number from 1 to 65535")
    commands = send_session(folder, host=args.host, port=args.port, new=args.new,
                            genome=args.genome)
    loaded = sum(command.startswith("load ") for command in commands)
    print(f"IGV at {args.host}:{args.port} shows {loaded} tracks of {folder}, at "
          f"{commands[-1].removeprefix('goto ')}")
