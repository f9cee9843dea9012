r"""Serve scan folders and an input to genome browsers, on this machine (127.0.0.1) by default:
the folders' files and the input's with HTTP Range support, /api/models, and
/api/scores?model=NAME&chr=C&start=S&end=E (0-based half-open) scored on demand for the
region a browser shows; / is an igv.js page of it all, and each scan folder's report.html
opens at /files/<i>/report.html. Needs the serve extra: pip install 'popgen-hub[serve]'.

examples:
  popgen-hub serve lct_scan   # a finished scan: http://127.0.0.1:8000/files/0/report.html
  popgen-hub serve --vcf LCT.vcf.gz --model imagene_cnn.sweep_hsap_eur   # no scan first
  popgen-hub serve chr2_scan --vcf 1kg_chr2.vcf.gz --samples panel.tsv --population YRI \
    --model imagene_cnn.sweep_hsap_general --port 8080
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from ..errors import PopgenHubError
from . import common

NAME, HELP = "serve", "serve scans and on-demand scores to igv.js, JBrowse 2 and other browsers"
log = logging.getLogger("popgen_hub")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("folders", nargs="*", metavar="OUTDIR", help="scan output folders to serve")
    common.add_input_options(p, required=False)  # a scan folder alone is served as it is
    p.add_argument("--model", action="append", metavar="NAME", help=common.MODEL_HELP
                   + " or a .onnx file, scored on demand (repeatable; default: the models "
                   "of the scan folders)")
    common.add_sample_table(p)
    common.add_device(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "%(default)s: this machine only; 0.0.0.0 opens it to the network)")
    p.add_argument("--port", type=int, default=8000, help="port (default %(default)s)")


def run(args: argparse.Namespace) -> None:
    from ..browsers.server import Hub, require_serve_extra, serve
    from ..scoring import sample_table
    from ..writers import read_scans

    require_serve_extra()
    if args.region:
        raise PopgenHubError("--region is for scan: serve scores the region a browser shows")
    if not 0 < args.port < 65536:
        raise PopgenHubError(f"--port {args.port}: must be 1-65535")
    table = sample_table(args.samples, args.sample_column, args.age_column, args.population,
                         args.population_column)
    given = args.vcf or args.bam or args.bam_list
    source = common.scan_input(args, table) if given else None
    if not (args.folders or source):
        raise PopgenHubError("nothing to serve: give scan folders (OUTDIR) or an input "
                             "(--vcf FILE, --bam-list FILE) with --model NAME")
    # without an input, scan folders are served as they are: no model is loaded
    scanned = [m for folder in args.folders for m in read_scans(Path(folder))] if source else []
    names = args.model or scanned
    if source is not None and not names:
        raise PopgenHubError("name the models to score the input with: --model NAME")
    serve(Hub(args.folders, source, _models(names, args), table,
              optional=() if args.model else scanned), args.host, args.port)


def _models(names: list[str], args: argparse.Namespace) -> list[Any]:
    """The models named; those only found in a scan folder's manifest (not --model) that do
    not load are left out with a warning: their finished scans are still served."""
    from ..registry import load

    models = []
    for name in dict.fromkeys(names):
        try:
            models.append(load(name, device=args.device))
        except PopgenHubError as exc:
            if args.model:
                raise
            log.warning("warning: %s is not scored on demand (%s); its scan is served", name,
                        exc)
    return models
