"""IGV desktop: batch scripts for users, and headless rendering of them to PNG.

Rendering runs the Debian ``igv`` package's jar (or ``$IGV_JAR``) under ``xvfb-run``, with a
private home directory and a preferences file whose default genome is a local chrom.sizes, so
IGV never tries to download hg19.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import PopgenHubError
from ..files import Staging
from ..result import CHROM_SIZES, IGV_BATCH, SNAPSHOT, ScanResult
from .folder import ModelTracks, folder_tracks

#: The batch script shows the top window with this much on either side (clipped to the scan).
VIEW_MARGIN = 1_000_000
SNAPSHOT_PANEL_HEIGHT = 3000  # pixels: IGV draws the tracks it has, up to this
IGV_JAR = Path(os.environ.get("IGV_JAR", "/usr/share/java/igv.jar"))
TRACK_HEIGHT = 160
#: IGV's own colour of numeric tracks for the probabilities (set, so that every IGV draws it
#: the same), green for the classic statistics
TRACK_COLOUR, STATISTIC_COLOUR = "0,0,178", "0,128,0"
#: How IGV draws a track: a probability on 0-1, a classic statistic autoscaled, the
#: flagged-window BED as features, or a regression's value autoscaled in the scores' colour.
SCORE, STATISTIC, FLAGGED, VALUE = "score", "statistic", "flagged", "value"


def track_name(model: str, label: str) -> str:
    """IGV track name; no spaces, because batch commands address tracks by name."""
    return f"P({label})_{model}"


@dataclass(frozen=True)
class IgvTrack:
    """A track of the batch script and the session: its IGV name, its file (relative to the
    folder, or absolute), and how it is drawn (:data:`SCORE`, :data:`STATISTIC` or
    :data:`FLAGGED`)."""

    name: str
    file: str
    kind: str

    def commands(self, path: Path | str) -> list[str]:
        """The batch commands that load the track from ``path`` and draw it."""
        lines = [f"load {path} name={self.name}"]
        if self.kind == SCORE:
            lines.append(f"setDataRange 0,1 {self.name}")
        elif self.kind in (STATISTIC, VALUE):
            colour = STATISTIC_COLOUR if self.kind == STATISTIC else TRACK_COLOUR
            lines += [f"setDataRange auto {self.name}", f"setColor {colour} {self.name}"]
        if self.kind != FLAGGED:
            lines.append(f"setTrackHeight {TRACK_HEIGHT} {self.name}")
        return lines


def igv_tracks(models: list[ModelTracks]) -> list[IgvTrack]:
    """Each model's probabilities, flagged windows and statistics, in the order of
    ``models`` (see :func:`~popgen_hub.writers.folder.folder_tracks`)."""
    tracks = []
    for entry in models:
        tracks += [IgvTrack(track_name(entry.model, label), file, SCORE)
                   for label, file in entry.scores.items()]
        tracks += [IgvTrack(f"{label}_{entry.model}", file, VALUE)
                   for label, file in entry.values.items()]
        if entry.flagged:
            tracks.append(IgvTrack(f"flagged_{entry.model}", entry.flagged, FLAGGED))
        tracks += [IgvTrack(column, file, STATISTIC)
                   for column, file in entry.statistics.items()]
    return tracks


def top_locus(result: ScanResult) -> str:
    """The top window of ``result`` with :data:`VIEW_MARGIN` on either side, clipped to the
    scanned part of its contig, 1-based as IGV's loci are (the batch script's view)."""
    top = result.top_window()
    same_contig = result.windows[result.windows["contig"] == top["contig"]]
    start = max(int(top["start"]) - VIEW_MARGIN, int(same_contig["start"].min()))
    end = min(int(top["end"]) + VIEW_MARGIN, int(same_contig["end"].max()))
    # Not braced() as in --region: IGV takes "{name}" for a name and cannot find it. IGV desktop
    # (2.3 to 2.16 at least) splits a locus at its LAST ':' and, when no contig has the name
    # before it, tries the whole text as a name: "Mme_chr24:2558528-4558528:1-80000" goes to
    # 1-80000 of contig Mme_chr24:2558528-4558528 (tested with IGV 2.16 in test_colon_contigs).
    return f"{result.contigs[top['contig']]}:{start + 1}-{end}"


def write_igv_batch(result: ScanResult, path: Path, *, genome: str, tracks: list[IgvTrack],
                    where: Callable[[str], Path]) -> None:
    """An IGV desktop batch script (Tools > Run Batch Script, or ``igv -b``) that loads the
    tracks (each file from ``where(file)``), probabilities on a 0-1 scale, statistics
    autoscaled, and goes to the top-scoring window of ``result``.

    ``genome`` is an IGV genome id (``hg38``) or a path to a FASTA or ``.chrom.sizes`` file.
    """
    lines = ["new", f"genome {genome}"]
    for track in tracks:
        lines += track.commands(where(track.file))
    lines.append(f"goto {top_locus(result)}")
    path.write_text("\n".join(lines) + "\n")


def snapshot_tools() -> tuple[str, str]:
    """Paths of java and xvfb-run, or an error saying what to install."""
    java, xvfb_run = shutil.which("java"), shutil.which("xvfb-run")
    if not (java and xvfb_run and IGV_JAR.is_file()):
        raise PopgenHubError(
            "rendering a snapshot needs IGV desktop, Java and Xvfb (Debian/Ubuntu: "
            "`apt-get install igv xvfb`; or set IGV_JAR to igv.jar)")
    return java, xvfb_run


def render_snapshot(batch: Path, png: Path, *, genome: Path, timeout: float = 180) -> Path:
    """Run ``batch`` in IGV desktop on a virtual display and save what it shows as ``png``."""
    java, xvfb_run = snapshot_tools()
    png = Path(png).resolve()
    with tempfile.TemporaryDirectory(prefix="popgen-hub-igv-") as tmp:
        tmp_dir = Path(tmp)
        prefs = tmp_dir / "prefs.properties"
        prefs.write_text(f"DEFAULT_GENOME_KEY={Path(genome).resolve()}\n")
        script = tmp_dir / "batch.txt"
        # maxPanelHeight: the whole data panel, not the part a 900-pixel screen scrolls to
        script.write_text(Path(batch).read_text() + f"snapshotDirectory {tmp_dir}\n"
                          f"maxPanelHeight {SNAPSHOT_PANEL_HEIGHT}\nsnapshot snapshot.png\n"
                          f"exit\n")
        command = [xvfb_run, "-a", "-s", "-screen 0 1400x900x24", java, "-Xmx2g",
                   f"-Duser.home={tmp_dir}", "-cp", str(IGV_JAR), "org.broad.igv.ui.Main",
                   "-o", str(prefs), "-b", str(script)]
        try:
            run = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PopgenHubError(f"IGV did not finish within {timeout:.0f} s") from None
        shot = tmp_dir / "snapshot.png"
        if not shot.is_file():
            tail = "\n".join((run.stdout + run.stderr).strip().splitlines()[-5:])
            raise PopgenHubError(f"IGV wrote no snapshot (exit code {run.returncode}): {tail}")
        png.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(shot), png)
    return png


@dataclass(frozen=True)
class IgvBatch:
    """The writer of the IGV batch script (and, with ``snapshot``, of IGV's rendering of it).

    ``genome`` goes into the script (``hg38``, a FASTA or chrom.sizes path); by default the
    chrom.sizes written beside the tracks, which works offline.
    """

    genome: str | None = None
    snapshot: bool = False

    def __call__(self, result: ScanResult, staging: Staging) -> None:
        tracks = igv_tracks(folder_tracks(result, staging))  # every model's in the folder
        write_igv_batch(result, staging.path(IGV_BATCH),
                        genome=self.genome or str(staging.final(CHROM_SIZES)), tracks=tracks,
                        where=staging.final)
        if not self.snapshot:
            staging.obsolete.append(SNAPSHOT)
            return
        # the same view, rendered before anything is published: this scan's files staged
        staged_batch = staging.dir / ".snapshot_batch.txt"
        write_igv_batch(result, staged_batch, genome=str(staging.dir / CHROM_SIZES),
                        tracks=tracks, where=lambda file: staging.dir / file
                        if file in staging.names else staging.final(file))
        render_snapshot(staged_batch, staging.path(SNAPSHOT), genome=staging.dir / CHROM_SIZES)
