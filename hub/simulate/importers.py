"""Simulations made elsewhere, read into popgen-hub datasets (the same shards `simulate` writes).

Formats:

``ms``
    The text output of Hudson's ms and of msms, discoal, scrm and msprime's ``mspms``: any header
    lines, then per replicate ``//``, ``segsites: S``, ``positions: p1 .. pS`` (fractions of the
    locus) and one line of S characters 0/1 per haplotype. A file may hold many replicates.
``trees``
    tskit tree sequences (msprime, SLiM, fwdpy11), one replicate per file: every site with one
    mutation becomes a 0/1 column (derived = 1); sites with several mutations are skipped.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..datasets import MANIFEST, shard_arrays, single_tensor, write_manifest, write_shard
from ..encoders import Encoder, HaplotypeImageEncoder, rows_for, single_threaded_blas
from ..errors import PopgenHubError
from ..files import DatasetFolder, Staging
from ..genotypes import GenotypeBlock
from ..resume import fingerprint, resumable_output
from ..schema import first_line
from ..version import __version__

FORMATS = ("ms", "trees")
SUFFIXES = {"ms": (".txt", ".ms", ".out", ".msout"), "trees": (".trees", ".ts")}


@dataclass(frozen=True)
class ImportedReplicate:
    haplotypes: np.ndarray  # uint8 (n_haplotypes, n_sites), 1 = derived
    positions: np.ndarray  # float64, bp from the locus start
    source: str  # file (and replicate number) it came from


def read_ms(path: str | Path, length: float) -> Iterator[ImportedReplicate]:
    """Replicates of an ms-format file; positions scaled from [0, 1] to ``length`` bp."""
    path = Path(path)
    lines = iter(enumerate(_text_lines(path), start=1))
    number = 0

    def fail(line_no: int, problem: str) -> PopgenHubError:
        return PopgenHubError(f"{path}, line {line_no}: {problem}; is it ms/msms/discoal output?")

    for line_no, line in lines:
        if line.strip() != "//":
            continue  # command line, seeds, blank lines
        number += 1
        line_no, line = next(lines, (line_no, ""))
        match = re.fullmatch(r"segsites:\s*(\d+)", line.strip())
        if not match:
            raise fail(line_no, f"expected 'segsites: N' after '//', found {line[:40]!r}")
        n_sites = int(match.group(1))
        positions = np.zeros(0)
        haplotypes: list[bytes] = []
        if n_sites:
            line_no, line = next(lines, (line_no, ""))
            if not line.startswith("positions:"):
                raise fail(line_no, f"expected 'positions:', found {line[:40]!r}")
            positions = _positions(line, n_sites, partial(fail, line_no))
            for line_no, line in lines:
                row = line.strip()
                if not row:
                    break
                if len(row) != n_sites or row.strip("01"):
                    raise fail(line_no, f"a haplotype must be {n_sites} characters 0/1")
                haplotypes.append(row.encode())
        if n_sites and not haplotypes:
            raise fail(line_no, "a replicate without haplotypes")
        # No segregating sites: ms prints no haplotype rows, so the sample size is unknown here.
        matrix = (np.frombuffer(b"".join(haplotypes), dtype=np.uint8).reshape(-1, n_sites)
                  - ord("0")) if n_sites else np.zeros((0, 0), dtype=np.uint8)
        yield ImportedReplicate(matrix, positions * length, f"{path.name}#{number}")
    if number == 0:
        raise PopgenHubError(f"{path}: no '//' replicate found; is it ms/msms/discoal output?")


def _text_lines(path: Path) -> list[str]:
    """The lines of a text file; a binary file is refused by name."""
    try:
        return path.read_text().splitlines()
    except UnicodeDecodeError:
        raise PopgenHubError(f"{path} is not a text file (binary data); ms-format files are the "
                             f"text output of ms, msms, discoal or scrm") from None
    except OSError as exc:
        raise PopgenHubError(f"cannot read {path}: {exc.strerror}") from None


def _positions(line: str, n_sites: int, fail: Callable[[str], PopgenHubError]) -> np.ndarray:
    """The positions of a ``positions:`` line: ``n_sites`` fractions of the locus."""
    try:
        positions = np.array([float(word) for word in line.split()[1:]])
    except ValueError as exc:  # "could not convert string to float: 'abc'"
        raise fail(f"a position is not a number ({exc})") from None
    if len(positions) != n_sites:
        raise fail(f"{len(positions)} positions for {n_sites} segregating sites")
    outside = positions[~((positions >= 0) & (positions <= 1))]
    if len(outside):
        raise fail(f"position {outside[0]:g} is not a fraction of the locus in [0, 1] (scrm: "
                   f"leave out -SC abs)")
    falling = np.flatnonzero(np.diff(positions) < 0)
    if len(falling):
        raise fail(f"position {positions[falling[0] + 1]:g} comes after "
                   f"{positions[falling[0]]:g}: positions must not decrease along the locus")
    return positions


def read_trees(path: str | Path) -> ImportedReplicate:
    """The 0/1 haplotypes of a tree sequence's samples at its single-mutation sites."""
    import tskit

    path = Path(path)
    try:
        ts = tskit.load(str(path))
    except (tskit.FileFormatError, tskit.LibraryError, OSError, EOFError, ValueError) as exc:
        raise PopgenHubError(f"{path} is not a tskit tree sequence ({first_line(exc)}); "
                             f"`popgen-hub import trees` reads tree sequences saved by "
                             f"msprime, SLiM or fwdpy11") from None
    keep, rows = [], []
    for variant in ts.variants():
        if len(variant.site.mutations) == 1 and len(variant.alleles) == 2:
            keep.append(variant.site.position)
            rows.append(variant.genotypes.astype(np.uint8))
    matrix = np.array(rows, dtype=np.uint8).T if rows else np.zeros((ts.num_samples, 0), np.uint8)
    return ImportedReplicate(matrix, np.array(keep, dtype=np.float64), path.name)


def _natural_key(path: Path) -> list[Any]:
    """NE_2.txt before NE_10.txt."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def source_files(spec: str, fmt: str) -> list[Path]:
    """The files of a ``--class`` value: a file, a folder (its files of ``fmt``) or a glob."""
    path = Path(spec)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = [p for p in path.iterdir() if p.is_file() and p.name.endswith(SUFFIXES[fmt])]
    else:  # a glob, relative or absolute ('~' for the home folder, '**' for any depth)
        files = [Path(p) for p in glob.glob(os.path.expanduser(spec), recursive=True)
                 if os.path.isfile(p)] if any(c in spec for c in "*?[") else []
    if not files:
        raise PopgenHubError(f"{spec}: no {fmt} files there (looked for "
                             f"{', '.join(SUFFIXES[fmt])})")
    return sorted(files, key=_natural_key)


def _read(fmt: str, path: Path, length: float) -> Iterator[ImportedReplicate]:
    if fmt == "ms":
        yield from read_ms(path, length)
    else:
        yield read_trees(path)


def class_sources(spec: str, fmt: str, time_points: list[float] | None) -> list[Path]:
    """A ``--class`` value: its files, or with ``time_points`` the class folder itself (its
    time-point subfolders are paired by :func:`time_point_files`)."""
    return [Path(spec)] if time_points else source_files(spec, fmt)


def time_point_files(folder: str | Path, fmt: str, n_time_points: int) -> list[list[Path]]:
    """Files of a class folder with one subfolder per time point (in natural order: ``1`` ..
    ``5``), paired by file name: one list of ``n_time_points`` paths per replicate."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PopgenHubError(f"{folder}: with --time-points each class must be a folder of "
                             f"time-point subfolders")
    subfolders = sorted((d for d in folder.iterdir() if d.is_dir()), key=_natural_key)
    if len(subfolders) != n_time_points:
        raise PopgenHubError(
            f"{folder} has {len(subfolders)} subfolders ({', '.join(d.name for d in subfolders)})"
            f" but --time-points gives {n_time_points} ages, one per subfolder in natural order")
    names = [{p.name for p in source_files(str(d), fmt)} for d in subfolders]
    for subfolder, found in zip(subfolders, names, strict=True):
        unpaired = names[0] ^ found
        if unpaired:
            raise PopgenHubError(
                f"{folder}: {sorted(unpaired, key=lambda n: _natural_key(Path(n)))[0]} is in "
                f"only one of {subfolders[0].name}/ and {subfolder.name}/; time points are "
                f"paired by file name")
    return [[d / name for d in subfolders]
            for name in sorted(names[0], key=lambda n: _natural_key(Path(n)))]


def _merged_time_points(fmt: str, paths: list[Path], ages: list[float], length: float,
                        counts: list[int] | None) -> tuple[ImportedReplicate, list[int]]:
    """One replicate from its time-point files, and each file's number of haplotypes: rows
    present-day first, then youngest first, over the union of their sites. A site a file lacks
    is taken as ancestral in that sample (ms lists segregating sites only, so a derived allele
    fixed in one sample cannot be told apart). ``counts`` (from the first replicate) sizes the
    files without segregating sites, for which ms prints no rows."""
    parts = []
    for k, path in enumerate(paths):
        replicates = list(_read(fmt, path, length))
        if len(replicates) != 1:
            raise PopgenHubError(f"{path} holds {len(replicates)} replicates; with --time-points "
                                 f"each file must hold one")
        part = replicates[0]
        if counts is None and not len(part.haplotypes):
            raise PopgenHubError(f"{path}: the first replicate has no segregating sites, so its "
                                 f"sample size is unknown; put another replicate first")
        if counts is not None and len(part.haplotypes) not in (0, counts[k]):
            raise PopgenHubError(f"{path} has {len(part.haplotypes)} haplotypes where the first "
                                 f"replicate had {counts[k]} at this time point")
        parts.append(part)
    counts = counts or [len(part.haplotypes) for part in parts]
    positions = np.unique(np.concatenate([r.positions for r in parts]))
    rows = []
    for index in np.argsort(ages, kind="stable"):
        part = parts[index]
        matrix = np.zeros((counts[index], len(positions)), dtype=np.uint8)
        if len(part.positions):
            matrix[:, np.searchsorted(positions, part.positions)] = part.haplotypes
        rows.append(matrix)
    return ImportedReplicate(np.concatenate(rows), positions, paths[0].name), counts


def _check_time_points(time_points: list[float] | None) -> None:
    if time_points is not None and (0 not in time_points or min(time_points) < 0 or
                                    len(set(time_points)) != len(time_points)):
        raise PopgenHubError(f"--time-points {time_points}: ages must be distinct, not "
                             f"negative, and one of them 0 (the present-day sample)")


def _replicates(fmt: str, classes: dict[str, list[Path]], time_points: list[float] | None,
                length: float) -> Iterator[tuple[int, ImportedReplicate | None, list[int] | None]]:
    """``(class index, replicate, haplotypes per time-point file)`` of every replicate, class by
    class; ``None`` as replicate after each file (or time-point set) is read."""
    counts: list[int] | None = None
    for label_index, files in enumerate(classes.values()):
        sources = (time_point_files(files[0], fmt, len(time_points)) if time_points is not None
                   else [[path] for path in files])
        for paths in sources:
            if time_points is None:
                for replicate in _read(fmt, paths[0], length):
                    yield label_index, replicate, None
            else:
                merged, counts = _merged_time_points(fmt, paths, time_points, length, counts)
                yield label_index, merged, counts
            yield label_index, None, counts


class _DatasetWriter:
    """Encodes imported replicates and writes them to a staging folder in shards."""

    def __init__(self, staging: Staging, encoder: Encoder, length: float, shard_size: int,
                 time_points: list[float] | None) -> None:
        self.staging, self.encoder, self.length = staging, encoder, length
        self.shard_size, self.time_points = shard_size, time_points
        self.pending: list[tuple[np.ndarray, int, GenotypeBlock]] = []
        self.n = self.shards = 0
        self.n_haplotypes: int | None = None
        self.points: list[dict[str, Any]] | None = None
        self.rows: np.ndarray | None = None

    def _first(self, replicate: ImportedReplicate, counts: list[int] | None) -> None:
        """The sample size and the encoder's rows, from the first replicate."""
        if not len(replicate.haplotypes):
            raise PopgenHubError(
                f"{replicate.source}: the first replicate has no segregating sites, so its "
                f"sample size is unknown; put another file first")
        self.n_haplotypes = len(replicate.haplotypes)
        if counts is not None:
            self.points = [{"age_years": float(self.time_points[i]), "generations": None,
                            "n_haplotypes": counts[i]}
                           for i in np.argsort(self.time_points, kind="stable")]
        self.rows = rows_for(self.encoder, self.points or [
            {"age_years": 0.0, "n_haplotypes": self.n_haplotypes}], source=replicate.source)

    def add(self, label_index: int, replicate: ImportedReplicate, counts: list[int] | None,
            fmt: str) -> None:
        haplotypes = replicate.haplotypes
        if fmt == "ms" and haplotypes.shape[1] == 0 and self.n_haplotypes:
            haplotypes = np.zeros((self.n_haplotypes, 0), np.uint8)  # ms prints no rows
        if self.n_haplotypes is None:
            self._first(replicate, counts)
        if len(haplotypes) != self.n_haplotypes:
            raise PopgenHubError(
                f"{replicate.source} has {len(haplotypes)} haplotypes where the first replicate "
                f"had {self.n_haplotypes}; import one sample size at a time")
        if not self._kept(self.shards):
            block = GenotypeBlock.from_haplotypes(haplotypes, replicate.positions)
            encoded = self.encoder.encode(block.take_columns(self.rows), (0, self.length))
            self.pending.append((single_tensor(encoded, self.encoder), label_index, block))
        self.n += 1
        if self.n == (self.shards + 1) * self.shard_size:
            self.flush()

    def _kept(self, shard: int) -> bool:
        """Whether an interrupted run wrote ``shard`` (resumed: not encoded again)."""
        return self.staging.resumed and DatasetFolder(self.staging.dir).shard(shard).exists()

    def flush(self) -> None:
        """Write the shard in progress (each whole or not at all)."""
        if self.n == self.shards * self.shard_size:
            return
        shard = self.staging.path(DatasetFolder(Path()).shard(self.shards).name)
        if self.pending:
            write_shard(shard, shard_arrays(
                [image for image, _, _ in self.pending], [label for _, label, _ in self.pending],
                self.shards * self.shard_size, [block for _, _, block in self.pending]))
        self.shards += 1
        self.pending.clear()


def import_dataset(fmt: str, classes: dict[str, list[Path]], out_dir: str | Path, *,
                   length: float, encoder: Encoder | None = None,
                   time_points: list[float] | None = None, shard_size: int = 500,
                   simulator: str = "", progress: bool = True, command: str = "",
                   resume: bool = False, clean: bool = False) -> Path:
    """Encode the replicates of ``classes`` (label -> files) into a new dataset ``out_dir``.

    Replicates are numbered class by class, in natural file order (NE_2 before NE_10). With
    ``time_points`` (ages in years, 0 = present-day, one per subfolder in natural order), each
    class is one folder laid out like the review's data: ``CLASS/1/NE_1.txt .. CLASS/5/...``,
    the time points of a replicate paired by file name. The dataset is written whole or not at
    all, never over another (:mod:`popgen_hub.resume`): an interrupted import keeps its
    finished shards, and ``resume`` reads the files again but encodes only the replicates of
    the other shards; ``clean`` discards them. ``popgen-hub train --data`` and
    ``popgen-hub evaluate`` read it.
    """
    if fmt not in FORMATS:
        raise PopgenHubError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
    if len(classes) < 2:
        raise PopgenHubError("give at least two classes (--class LABEL=PATH, repeated)")
    if not length > 0 or shard_size < 1:  # (NaN is not > 0)
        raise PopgenHubError("--length and --shard-size must be positive")
    _check_time_points(time_points)
    encoder = encoder or HaplotypeImageEncoder()
    key = fingerprint([file for files in classes.values() for file in files], command="import",
                      fmt=fmt, classes={label: list(map(str, files))
                                        for label, files in classes.items()},
                      length=length, encoder=encoder.to_config(), time_points=time_points,
                      shard_size=shard_size, simulator=simulator)
    with resumable_output(out_dir, key, record=MANIFEST, what="dataset", resume=resume,
                          clean=clean, command=command) as (staging, existing):
        if existing is None:
            writer = _DatasetWriter(staging, encoder, length, shard_size, time_points)
            sources = _encode_all(writer, fmt, classes, time_points, length, progress)
            manifest = {
                "scenario": f"imported {fmt}",
                "parameters": {"n_haplotypes": writer.n_haplotypes, "length": length},
                "labels": list(classes),
                "data_kind": "haplotypes",
                "encoder": encoder.to_config(),
                **({"time_points": writer.points} if writer.points else {}),
                "seed": None,
                "n": writer.n,
                "shard_size": shard_size,
                "simulator": simulator or f"unknown (imported from {fmt} files)",
                "sources": sources,
                "citations": [],
                "command": command,
                "fingerprint": key,
                "provenance": {"popgen_hub": __version__, "numpy": np.__version__},
            }
            staging.path(MANIFEST)
            write_manifest(staging.dir, manifest)
    return Path(out_dir)


def _encode_all(writer: _DatasetWriter, fmt: str, classes: dict[str, list[Path]],
                time_points: list[float] | None, length: float, progress: bool
                ) -> dict[str, list[str]]:
    """Every replicate through ``writer``; the sources of each class."""
    labels = list(classes)
    sources: dict[str, list[str]] = {label: [] for label in labels}
    total = sum(len(time_point_files(files[0], fmt, len(time_points))) if time_points else
                len(files) for files in classes.values())
    with single_threaded_blas(), tqdm(total=total, desc=f"importing {fmt}",
                                      unit="rep" if time_points else "file",
                                      disable=not progress) as bar:
        for label_index, replicate, counts in _replicates(fmt, classes, time_points, length):
            if replicate is None:
                bar.update(1)
                continue
            writer.add(label_index, replicate, counts, fmt)
            sources[labels[label_index]].append(replicate.source)
        writer.flush()
    return sources
