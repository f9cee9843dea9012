"""``popgen-hub serve``: scan folders, input files and on-demand scores for genome browsers.

A Starlette app run by uvicorn (the ``serve`` extra), bound to 127.0.0.1 unless told otherwise:

- ``/files/<i>/<path>``: the files of the i-th scan folder, and ``/inputs/<name>``: the input
  files (a VCF/BCF and its index, BAM/CRAM files, their indexes, the reference), with HTTP
  Range requests (Starlette's ``FileResponse``: 206 with Content-Range, several ranges as
  multipart/byteranges, 416 beyond the end, 400 for a malformed header), which igv.js and
  JBrowse need. A path is resolved, symbolic links included, and refused unless it lies
  inside its folder: nothing else on the machine can be read.
- ``/api/models``: the models it can score, with labels, window and step.
- ``/api/scores?model=NAME&chr=C&start=S&end=E`` (0-based half-open): ``{"features": [{"chr",
  "start", "end", "value", "values": {label: p}, "p_value", "flag"}]}`` for every window whose
  bin (the central ``step`` bp of the window, as in the BigWig) overlaps the region; ``start``
  and ``end`` are the bin's, ``window_start`` and ``window_end`` the window's; ``value`` is
  the primary score, P(labels[1]) (the sweep-at-window probability of a sweep model), or a
  regression's value.
  Regions up to :data:`MAX_WINDOWS` windows are scored on demand from the served input by the
  scan's own code (:func:`popgen_hub.scoring.prepare` and :func:`popgen_hub.scoring.score`):
  the windows, probabilities and flags of a default scan of the whole contig (the model's
  window and step, seed 0), cached by model sha256, input and region; ``p_value`` is against
  the model's stored null, its ties broken by draws of its own (so within one step of the
  null, 1 / (n + 1), of the scan's); q-values need a whole scan and are not given. Larger
  regions are answered from a served scan folder's window table of that model (with its
  q-values; ``"source"`` says which), else refused with 400.
- ``/``: an igv.js page (:mod:`popgen_hub.browsers.igvjs`) with the input's variants, the
  served scans' tracks (scores on 0-1, statistics autoscaled, flagged windows) and an
  on-demand track per model; ``/chrom.sizes``: its reference.
- ``/jbrowse/config.json``: the same for JBrowse 2 (absolute URLs, for a JBrowse 2 web app
  served by this server as one of its folders: no CORS headers are sent, so an app of another
  origin cannot read it), its on-demand tracks read through popgen-hub's plugin, served at
  ``/static/jbrowse/popgen-hub-plugin.js``.

Errors are JSON ``{"error": "..."}`` with a 4xx status, one line naming what to change.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Collection
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ..contract import ModelContract
from ..errors import PopgenHubError
from ..readers import Reader, open_reader
from ..readers.base import input_identity
from ..readers.samples import SampleTable
from ..result import CHROM_SIZES, REPORT, window_table_file
from ..runtime import OnnxModel, model_sha256
from ..writers import read_scans
from ..writers.folder import scanned_tracks
from ..writers.igv import igv_tracks
from ..writers.jbrowse import (
    PLUGIN_FILE,
    assembly_config,
    jbrowse_config,
    model_tracks,
    on_demand_track,
    plugin_definition,
)
from ..writers.report import DRAW
from .igvjs import IGV_SCRIPT, Page, igv_script, scores_track
from .scores import ScanTable, Scorer

log = logging.getLogger("popgen_hub")

SERVE_EXTRA_HINT = "serve needs the serve extra: pip install 'popgen-hub[serve]'"
#: the most windows scored on demand for one request
MAX_WINDOWS = 300
CACHED_REGIONS = 256
FIRST_VIEW = 1_000_000  # bp the page shows first


def require_serve_extra() -> None:
    """Starlette and uvicorn, or a one-line error naming the extra."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise PopgenHubError(SERVE_EXTRA_HINT) from None


class Hub:
    """What a server serves: scan folders, an input with its files, models to score it."""

    def __init__(self, folders: list[Path], source: str | Reader | None,
                 models: list[OnnxModel], table: SampleTable | None = None,
                 optional: Collection[str] = ()) -> None:
        """``optional``: models that are left out, with a warning, when they cannot score the
        input (those found only in a scan folder's manifest: their scans are still served)."""
        self.folders = [Path(folder).resolve() for folder in folders]
        for folder in self.folders:
            if not folder.is_dir():
                raise PopgenHubError(f"{folder} is not a folder; give scan output folders "
                                     f"(popgen-hub scan -o OUTDIR)")
        self.reader = None if source is None else open_reader(source)
        self.inputs: dict[str, Path] = {}
        # the input's contigs and first view, read once here: requests are answered in
        # several threads, and the reader is not thread-safe
        self.input_sizes: dict[str, int] = {}
        self.input_view: str | None = None
        if self.reader is not None:
            for path in input_identity(self.reader)[0]:
                self.inputs.setdefault(Path(path).name, Path(path).resolve())
            for contig in self.reader.contigs_with_records():
                region = self.reader.contig_region(contig)
                self.input_sizes[contig] = self.reader.contig_lengths.get(contig) or region.end
                self.input_view = self.input_view or (
                    f"{contig}:{region.start + 1}-{min(region.end, region.start + FIRST_VIEW)}")
        self.scorers = {}
        for model in models:
            try:
                self.scorers[model.contract.name] = Scorer(model, self.reader, table)
            except PopgenHubError as exc:
                if model.contract.name not in optional:
                    raise
                log.warning("warning: %s is not scored on demand (%s); its scan is served",
                            model.contract.name, exc)
        self.scans = {model: ScanTable(folder / window_table_file(model))
                      for folder in reversed(self.folders) for model in read_scans(folder)}
        self.cache: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
        self.lock = threading.Lock()  # one scoring at a time: the reader is not thread-safe

    # ------------------------------------------------------------------ models and scores
    def models(self) -> list[dict[str, Any]]:
        answer = []
        for name, scorer in self.scorers.items():
            contract = scorer.model.contract
            answer.append({"name": name, "labels": contract.labels,
                           "primary": contract.track_labels[0],
                           "track_labels": contract.track_labels,
                           "window_bp": scorer.window, "step_bp": scorer.step,
                           "data_kind": contract.input.data_kind,
                           "revision": contract.revision,
                           "sha256": model_sha256(scorer.model.path, contract),
                           "on_demand": self.reader is not None,
                           "max_region_bp": MAX_WINDOWS * scorer.step,
                           "scan": name in self.scans})
        # the models of served scans that are not scored on demand: their window tables
        answer += [{"name": name, "on_demand": False, "scan": True}
                   for name in self.scans if name not in self.scorers]
        return answer

    def scores(self, model: str, contig: str, start: int, end: int) -> dict[str, Any]:
        """The features of ``model`` overlapping ``[start, end)`` of ``contig``; PopgenHubError
        (a 400) or LookupError (a 404) for what the request cannot have."""
        scorer = self.scorers.get(model)
        if scorer is None and model not in self.scans:
            raise LookupError(f"unknown model {model!r}; this server has: "
                              f"{', '.join(sorted({*self.scorers, *self.scans})) or 'none'}")
        if start < 0 or end <= start:
            raise PopgenHubError(f"region {contig}:{start}-{end} is reversed or empty: give "
                                 f"0 <= start < end (0-based, half-open)")
        if scorer is not None and self.reader is not None:
            limit = MAX_WINDOWS * scorer.step
            if end - start <= limit:
                return self._on_demand(scorer, contig, start, end)
        else:
            limit = 0
        if model in self.scans:
            return self.scans[model].features(contig, start, end)
        raise PopgenHubError(
            f"region of {end - start:,} bp is larger than the {limit:,} bp {model} scores on "
            f"demand; zoom in, or serve a scan folder of it (popgen-hub scan, then "
            f"popgen-hub serve OUTDIR)" if limit else
            f"no input to score {model} on: start serve with --vcf FILE (or --bam-list), or "
            f"with a scan folder of it")

    def _on_demand(self, scorer: Scorer, contig: str, start: int, end: int) -> dict[str, Any]:
        key = (scorer.key, contig, start, end)
        with self.lock:
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
            answer = {"source": "on demand", "features": scorer.features(contig, start, end)}
            self.cache[key] = answer
            if len(self.cache) > CACHED_REGIONS:
                self.cache.popitem(last=False)
        return answer

    # ------------------------------------------------------------------ files and the page
    def file(self, index: int, relative: str) -> Path:
        """The file ``relative`` of the index-th folder; LookupError unless it is a file
        inside that folder (after resolving ``..`` and symbolic links)."""
        if not 0 <= index < len(self.folders):
            raise LookupError(f"no served folder {index}")
        folder = self.folders[index]
        try:
            path = (folder / relative).resolve()
            found = path.is_relative_to(folder) and path.is_file()
        except (ValueError, OSError):  # a NUL byte, a name too long
            found = False
        if not found:
            raise LookupError(f"no file {relative!r} in served folder {index}")
        return path

    def chrom_sizes(self) -> dict[str, int]:
        """The served scans' contigs, then the input's (lengths from its header, else past
        its last record)."""
        sizes: dict[str, int] = {}
        for folder in self.folders:
            path = folder / CHROM_SIZES
            if path.is_file():
                for number, line in enumerate(path.read_text().splitlines(), start=1):
                    contig, _, length = line.partition("\t")
                    if not length.isdigit():
                        raise PopgenHubError(f"{path} line {number} is not CONTIG<tab>LENGTH: "
                                             f"scan into {folder} again")
                    sizes.setdefault(contig, int(length))
        return {**sizes, **{c: n for c, n in self.input_sizes.items() if c not in sizes}}

    def page(self) -> str:
        tracks = []
        for name in self.inputs:  # igv.js reads bgzipped VCF, not BCF
            index = next((i for i in (f"{name}.tbi", f"{name}.csi") if i in self.inputs), None)
            if name.endswith(".vcf.gz") and index:
                tracks.append({"type": "variant", "format": "vcf",
                               "url": f"inputs/{quote(name)}",
                               "indexURL": f"inputs/{quote(index)}", "name": name,
                               "visibilityWindow": 200_000})
        for i, folder in enumerate(self.folders):  # named as in IGV desktop
            tracks += [DRAW[track.kind](f"files/{i}/{track.file}", f"{track.name} "
                                        f"({folder.name})")
                       for track in igv_tracks(scanned_tracks(folder))]
        if self.reader is not None:
            tracks += [scores_track(f"api/scores?model={quote(name, safe='')}",
                                    f"{primary} {name}, on demand", MAX_WINDOWS * scorer.step,
                                    probability=probability)
                       for name, scorer in self.scorers.items()
                       for primary, probability in [_primary(scorer.model.contract)]]
        return Page(title="popgen-hub serve", tracks=tracks, locus=self._first_view(),
                    facts={"models": ", ".join(self.scorers) or "none",
                           "scan folders": ", ".join(map(str, self.folders)) or "none",
                           "input": ", ".join(self.inputs) or "none"},
                    reference={"id": "served", "name": "served contigs",
                               "format": "chromsizes", "url": "chrom.sizes"},
                    script=f"static/{IGV_SCRIPT}").html()

    def jbrowse(self, base: str) -> dict[str, Any]:
        """A JBrowse 2 configuration of what is served at ``base`` (the server's URL): the
        scan folders' tracks, an on-demand track per model through popgen-hub's plugin."""
        assembly = "served"
        tracks = []
        for i, folder in enumerate(self.folders):
            for entry in scanned_tracks(folder):
                tracks += model_tracks(entry, assembly, f"{base}files/{i}/", id_prefix=f"{i}.",
                                       name_suffix=f" ({folder.name})")
        if self.reader is not None:
            for name, scorer in self.scorers.items():
                primary, probability = _primary(scorer.model.contract)
                tracks.append(on_demand_track(f"{name}.on_demand", f"{primary} {name}, on "
                                              f"demand", assembly, base_url=base, model=name,
                                              probability=probability))
        locus = self._first_view()
        return jbrowse_config(assembly_config(assembly, f"{base}chrom.sizes"), tracks,
                              location=locus,
                              plugins=[plugin_definition(f"{base}static/jbrowse/"
                                                         f"{PLUGIN_FILE.name}")])

    def _first_view(self) -> str | None:
        """Up to :data:`FIRST_VIEW` bp from the input's first record, else from the start of
        the first served contig."""
        if self.input_view:
            return self.input_view
        sizes = self.chrom_sizes()
        first = next(iter(sizes), None)
        return None if first is None else f"{first}:1-{min(sizes[first], FIRST_VIEW)}"


def _primary(contract: ModelContract) -> tuple[str, bool]:
    """The name of a model's primary score, and whether it is a probability: P(class), or a
    regression's value (drawn autoscaled)."""
    label = contract.track_labels[0]
    classes = contract.output_kind == "classes"
    return (f"P({label})" if classes else label), classes


def create_app(hub: Hub) -> Any:
    """The Starlette application serving ``hub``."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse
    from starlette.routing import Route

    def error(status: int, message: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status)

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(hub.page())

    async def models(request: Request) -> JSONResponse:
        return JSONResponse({"models": hub.models()})

    async def scores(request: Request) -> JSONResponse:
        query = request.query_params
        missing = [name for name in ("model", "chr", "start", "end") if name not in query]
        if missing:
            return error(400, f"missing query parameter {missing[0]!r}: ask "
                              f"/api/scores?model=NAME&chr=CONTIG&start=S&end=E")
        try:
            start, end = int(query["start"]), int(query["end"])
        except ValueError:
            return error(400, f"start {query['start']!r} and end {query['end']!r} must be "
                              f"whole numbers (0-based, half-open)")
        try:
            answer = await run_in_threadpool(hub.scores, query["model"], query["chr"], start,
                                             end)
        except LookupError as exc:
            return error(404, str(exc.args[0]))
        except PopgenHubError as exc:
            return error(400, str(exc))
        return JSONResponse(answer)

    async def folder_file(request: Request) -> Any:
        try:
            path = hub.file(request.path_params["index"], request.path_params["path"])
        except LookupError as exc:
            return error(404, str(exc.args[0]))
        return FileResponse(path)

    async def input_file(request: Request) -> Any:
        path = hub.inputs.get(request.path_params["name"])
        if path is None:
            return error(404, f"no input file {request.path_params['name']!r}; served: "
                              f"{', '.join(hub.inputs) or 'none'}")
        return FileResponse(path)

    async def chrom_sizes(request: Request) -> PlainTextResponse:
        return PlainTextResponse("".join(f"{c}\t{n}\n" for c, n in hub.chrom_sizes().items()))

    async def script(request: Request) -> FileResponse:
        return FileResponse(igv_script(), media_type="text/javascript")

    async def plugin(request: Request) -> FileResponse:
        return FileResponse(PLUGIN_FILE, media_type="text/javascript")

    async def jbrowse(request: Request) -> JSONResponse:
        return JSONResponse(hub.jbrowse(str(request.base_url)))

    async def broken(request: Request, exc: Exception) -> JSONResponse:
        # what the served folders hold (a damaged chrom.sizes or manifest), in one line
        return error(500, str(exc))

    return Starlette(exception_handlers={PopgenHubError: broken}, routes=[
        Route("/", page), Route("/api/models", models), Route("/api/scores", scores),
        Route("/chrom.sizes", chrom_sizes), Route(f"/static/{IGV_SCRIPT}", script),
        Route(f"/static/jbrowse/{PLUGIN_FILE.name}", plugin),
        Route("/jbrowse/config.json", jbrowse),
        Route("/files/{index:int}/{path:path}", folder_file),
        Route("/inputs/{name}", input_file),
    ])


def serve(hub: Hub, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve ``hub`` until interrupted."""
    import uvicorn

    base = f"http://{host}:{port}/"
    lines = [f"serving on {base} (Ctrl-C stops): igv.js {base}, JBrowse 2 configuration "
             f"{base}jbrowse/config.json"]
    lines += [f"  {folder}: {base}files/{i}/{REPORT}" for i, folder in enumerate(hub.folders)
              if (folder / REPORT).is_file()]
    log.info("\n".join(lines))
    uvicorn.run(create_app(hub), host=host, port=port, log_level="warning")


__all__ = ["MAX_WINDOWS", "Hub", "create_app", "require_serve_extra", "serve"]
