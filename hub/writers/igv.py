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
from dataclasses import dataclass
from pathlib import Path

from ..errors import PopgenHubError
from ..files import Staging
from ..result import CHROM_SIZES, IGV_BATCH, SNAPSHOT, ScanResult, flagged_file, track_file
from .folder import other_scans

#: The batch script shows the top window with this much on either side (clipped to the scan).
VIEW_MARGIN = 1_000_000
IGV_JAR = Path(os.environ.get("IGV_JAR", "/usr/share/java/igv.jar"))


def track_name(model: str, label: str) -> str:
    """IGV track name; no spaces, because batch commands address tracks by name."""
    return f"P({label})_{model}"


def write_igv_batch(result: ScanResult, path: Path, *, genome: str,
                    tracks: dict[str, Path]) -> None:
    """An IGV desktop batch script (Tools > Run Batch Script, or ``igv -b``) that loads the
    tracks (IGV track name -> file) on a 0-1 scale and goes to the top-scoring window of
    ``result``.

    ``genome`` is an IGV genome id (``hg38``) or a path to a FASTA or ``.chrom.sizes`` file.
    """
    top = result.top_window()
    same_contig = result.windows[result.windows["contig"] == top["contig"]]
    start = max(int(top["start"]) - VIEW_MARGIN, int(same_contig["start"].min()))
    end = min(int(top["end"]) + VIEW_MARGIN, int(same_contig["end"].max()))
    # Not braced() as in --region: IGV takes "{name}" for a name and cannot find it. IGV desktop
    # (2.3 to 2.16 at least) splits a locus at its LAST ':' and, when no contig has the name
    # before it, tries the whole text as a name: "Mme_chr24:2558528-4558528:1-80000" goes to
    # 1-80000 of contig Mme_chr24:2558528-4558528 (tested with IGV 2.16 in test_colon_contigs).
    locus = f"{result.contigs[top['contig']]}:{start + 1}-{end}"
    lines = ["new", f"genome {genome}"]
    for name, track in tracks.items():
        lines.append(f"load {track} name={name}")
        if Path(track).suffix == ".bw":  # the flagged-window BED is a feature track
            lines += [f"setDataRange 0,1 {name}", f"setTrackHeight 160 {name}"]
    lines.append(f"goto {locus}")
    path.write_text("\n".join(lines) + "\n")


def folder_tracks(result: ScanResult, staging: Staging) -> dict[str, Path]:
    """IGV track name -> file of the other models' tracks in the output folder."""
    tracks = {}
    for model, entry in other_scans(result, staging).items():
        for label, file in entry.get("tracks", {}).items():
            if staging.final(file).is_file():
                tracks[track_name(model, label)] = staging.final(file)
    return tracks


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
        script.write_text(Path(batch).read_text() + f"snapshotDirectory {tmp_dir}\n"
                          f"snapshot snapshot.png\nexit\n")
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
        name = result.contract.name
        files = {track_name(name, label): track_file(name, label)
                 for label in result.contract.track_labels}
        if flagged_file(name) in staging.names:
            files[f"flagged_{name}"] = flagged_file(name)
        others = folder_tracks(result, staging)  # every model's tracks in the folder
        write_igv_batch(result, staging.path(IGV_BATCH),
                        genome=self.genome or str(staging.final(CHROM_SIZES)),
                        tracks={**others, **{t: staging.final(f) for t, f in files.items()}})
        if not self.snapshot:
            staging.obsolete.append(SNAPSHOT)
            return
        # the same view, of the staged files, rendered before anything is published
        staged_batch = staging.dir / ".snapshot_batch.txt"
        write_igv_batch(result, staged_batch, genome=str(staging.dir / CHROM_SIZES),
                        tracks={**others, **{t: staging.dir / f for t, f in files.items()}})
        render_snapshot(staged_batch, staging.path(SNAPSHOT), genome=staging.dir / CHROM_SIZES)
