"""Datasets: labelled replicates stored raw (in the genotype data model) and encoded, as
compressed ``.npz`` shards. ``popgen-hub simulate`` and ``import`` write them; training and
``evaluate`` read them.

Layout of a dataset directory (:class:`~popgen_hub.files.DatasetFolder`)::

    manifest.json        scenario, parameters, encoder, time points, seed, size, provenance
    shard-000000.npz     encoded images (as bits when 0/1), labels, replicate index, parameters,
    shard-000001.npz     and the raw data of each replicate (:func:`pack_blocks`)
    ...

A shard holds replicates ``[k * shard_size, (k + 1) * shard_size)``. Shards are written to a
temporary name and renamed when complete, so a reader never sees a half-written one. Datasets
written before the data kind was recorded hold haplotypes, and load as such.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .encoders import EncodedWindow, Encoder, build_encoder, rows_for, single_threaded_blas
from .encoders.genome_statistics import BACKGROUND, background_tensor, dataset_backgrounds
from .encoders.inputs import Inputs, stack_windows
from .errors import PopgenHubError
from .files import DatasetFolder, atomic_files, write_text_atomic
from .genotypes import GenotypeBlock, Samples
from .schema import first_line, read_record, record_problems

MANIFEST = DatasetFolder.manifest


def shard_ranges(n: int, size: int) -> list[tuple[int, int]]:
    """The replicates of each shard (or chunk of work), as ``[start, stop)``."""
    return [(start, min(start + size, n)) for start in range(0, n, size)]


def check_storable(encoder: Encoder) -> None:
    """Datasets store one image per replicate: refuse an encoder of several tensors."""
    if len(encoder.shapes) != 1:
        raise PopgenHubError(
            f"--encoder name={encoder.name}: datasets store one image per replicate; they also "
            f"keep every haplotype, and `popgen-hub train ARCH --data DIR` encodes them with "
            f"{encoder.name} for the architectures that read it")


def single_tensor(encoded: EncodedWindow, encoder: Encoder) -> np.ndarray:
    """The one tensor of an encoded window, to store."""
    check_storable(encoder)
    return next(iter(encoded.inputs.values()))


def pack_images(images: np.ndarray) -> dict[str, np.ndarray]:
    """Encoded images; 0/1 images (binarised encoders) as bits, which are most of the cost of
    writing a fast scenario's shards, and compress 2.5x faster."""
    if np.isin(images, (0, 1)).all():
        return {"images_bits": np.packbits(images.astype(bool), axis=-1),
                "image_shape": np.asarray(images.shape[1:], dtype=np.int64)}
    return {"images": images}


def shard_images(arrays: Any) -> np.ndarray:
    """The float32 images of a shard (or of :func:`shard_arrays`' result)."""
    if "images" in arrays:
        return arrays["images"]
    shape = tuple(int(n) for n in arrays["image_shape"])
    bits = np.unpackbits(arrays["images_bits"], axis=-1, count=shape[-1])
    return bits.astype(np.float32)


def pack_blocks(blocks: list[GenotypeBlock]) -> dict[str, np.ndarray]:
    """The raw data of replicates (blocks of one kind and sample size), concatenated along
    sites with ``site_offsets``; 0/1 haplotypes bit-packed (the layout of earlier datasets)."""
    first = blocks[0]
    offsets = np.cumsum([0] + [block.n_sites for block in blocks]).astype(np.int64)
    arrays = {"data_kind": np.asarray(first.kind), "site_offsets": offsets,
              "positions": np.concatenate([block.positions for block in blocks]),
              "n_haplotypes": np.int64(first.values.shape[1]),
              "ploidy": np.asarray(first.samples.ploidy, dtype=np.int64)}
    values = np.concatenate([block.values for block in blocks])
    if first.kind == "haplotypes" and np.isin(values, (0, 1)).all():
        arrays["haplotypes_packed"] = np.packbits(values.astype(np.uint8), axis=1)
    else:
        arrays[first.kind] = values
    if first.likelihood_scale:
        arrays["likelihood_scale"] = np.asarray(first.likelihood_scale)
    return arrays


def unpack_blocks(arrays: Any, samples: Samples | None = None) -> Iterator[GenotypeBlock]:
    """The replicates of :func:`pack_blocks`' arrays, in order; ``samples`` names the columns
    (default: anonymous haploid samples, one per haplotype)."""
    kind = str(arrays["data_kind"]) if "data_kind" in arrays else "haplotypes"
    offsets, positions = arrays["site_offsets"], arrays["positions"]
    width = int(arrays["n_haplotypes"])
    if "haplotypes_packed" in arrays:
        values = np.unpackbits(arrays["haplotypes_packed"], axis=1, count=width).view(np.int8)
    else:
        values = arrays[kind]
    scale = str(arrays["likelihood_scale"]) if "likelihood_scale" in arrays else None
    if samples is None:
        samples = Samples.anonymous(width) if kind == "haplotypes" else Samples.anonymous(
            width, int(arrays["ploidy"][0]) if "ploidy" in arrays else 2)
    owner = np.arange(width) if kind == "haplotypes" else None
    for a, b in zip(offsets[:-1], offsets[1:], strict=True):
        yield GenotypeBlock(positions[a:b], values[a:b], kind, samples, owner, scale)


def shard_arrays(images: list[np.ndarray], labels: list[int], start: int,
                 blocks: list[GenotypeBlock]) -> dict[str, np.ndarray]:
    """The arrays of one shard: encoded images, labels, replicate numbers from ``start``, and
    the raw data of each replicate."""
    return {**pack_images(np.stack(images)), "labels": np.asarray(labels, dtype=np.int64),
            "index": np.arange(start, start + len(labels), dtype=np.int64),
            **pack_blocks(blocks)}


def write_shard(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic_files(path) as (tmp,), open(tmp, "wb") as handle:
        np.savez_compressed(handle, **arrays)


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    write_text_atomic(DatasetFolder(folder).manifest, json.dumps(manifest, indent=2))


@dataclass
class Dataset:
    """A loaded dataset: encoded images, labels and replicate indices, in replicate order."""

    images: np.ndarray
    labels: np.ndarray
    index: np.ndarray
    manifest: dict[str, Any]

    @property
    def encoder(self) -> Encoder:
        return build_encoder(self.manifest["encoder"])

    @property
    def inputs(self) -> Inputs:
        """The images under their encoder's tensor name."""
        return {next(iter(self.encoder.shapes)): self.images}


def _remake(path: Path) -> str:
    """The fix for a damaged dataset."""
    return (f"the dataset {path} is damaged: make it again into a new folder with `popgen-hub "
            f"simulate` or `popgen-hub import`")


#: The fix for a damaged shard: simulate remakes the shards a folder lacks.
REMAKE_SHARD = ("delete it and re-run the `popgen-hub simulate` command that made the dataset "
                "with --resume (it remakes missing shards), or `popgen-hub import` the data "
                "again")


#: What a manifest must hold, and the type of each; what its parameters and each time point
#: must hold.
MANIFEST_KEYS = {"n": int, "shard_size": int, "labels": list[str], "encoder": dict[str, Any],
                 "parameters": dict[str, Any]}
PARAMETER_KEYS = {"n_haplotypes": int, "length": float}
TIME_POINT_KEYS = {"age_years": float, "n_haplotypes": int}


def load_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a complete dataset directory; refuses incomplete or damaged datasets."""
    folder = DatasetFolder(Path(path))
    if not folder.manifest.is_file():
        raise PopgenHubError(
            f"{folder.path} is not a popgen-hub dataset (no {MANIFEST}); make one with "
            f"`popgen-hub simulate SCENARIO --n N -o {folder.path}`")
    manifest = read_record(folder.manifest, MANIFEST_KEYS, _remake(folder.path))
    if manifest["n"] < 0 or manifest["shard_size"] < 1 or not isinstance(
            manifest["encoder"].get("name"), str):
        raise PopgenHubError(f"{folder.manifest}: n={manifest['n']}, shard_size="
                             f"{manifest['shard_size']} or the encoder's name is impossible; "
                             f"{_remake(folder.path)}")
    layout = [*record_problems(manifest["parameters"], PARAMETER_KEYS),
              *(problem for point in manifest.get("time_points") or []
                for problem in record_problems(point, TIME_POINT_KEYS))]
    if layout or any(point["n_haplotypes"] < 0 for point in time_points(manifest)):
        raise PopgenHubError(f"{folder.manifest}: its parameters or time points are damaged "
                             f"({layout[0] if layout else 'a negative n_haplotypes'}); "
                             f"{_remake(folder.path)}")
    n_shards = len(shard_ranges(manifest["n"], manifest["shard_size"]))
    missing = [i for i in range(n_shards) if not folder.shard(i).exists()]
    if missing:
        raise PopgenHubError(
            f"{folder.path} is incomplete: {len(missing)} of {n_shards} shards missing; re-run "
            f"the same `popgen-hub simulate` command with --resume to finish it")
    return manifest


class Arrays:
    """The arrays of an ``.npz`` file, read when asked for: a damaged file or a missing array
    is one line naming the file and ``fix``."""

    def __init__(self, path: Path, npz: Any, fix: str) -> None:
        self.path, self._npz, self.fix = path, npz, fix

    @property
    def files(self) -> list[str]:
        return list(self._npz.files)

    def __contains__(self, key: str) -> bool:
        return key in self._npz.files

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._npz.files:
            raise PopgenHubError(f"{self.path} has no array {key!r}; {self.fix}")
        try:
            return self._npz[key]
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError,
                NotImplementedError):
            # (not numpy's words: they can suggest unpickling, which is never the fix)
            raise PopgenHubError(f"{self.path} is damaged: its array {key!r} does not read "
                                 f"(truncated or overwritten); {self.fix}") from None


@contextmanager
def open_arrays(path: Path, fix: str) -> Iterator[Arrays]:
    """An ``.npz`` file's :class:`Arrays`; one that is truncated or not an ``.npz`` archive
    at all is refused by name, with ``fix``."""
    try:
        npz = np.load(path)  # allow_pickle=False: a file of pickled objects is refused
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, NotImplementedError):
        raise PopgenHubError(f"{path} is not a readable .npz archive (truncated, or another "
                             f"kind of file); {fix}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise PopgenHubError(f"{path} holds one array, not an .npz archive of arrays; {fix}")
    with npz:
        yield Arrays(path, npz, fix)


def _shards(path: Path, manifest: dict[str, Any]) -> Iterator[Arrays]:
    """Each shard's arrays, in order, after checking its labels: as many as the shard's
    replicates, each a class of the manifest."""
    folder = DatasetFolder(path)
    n_labels = len(manifest["labels"])
    for i, (start, stop) in enumerate(shard_ranges(manifest["n"], manifest["shard_size"])):
        with open_arrays(folder.shard(i), REMAKE_SHARD) as shard:
            labels = shard["labels"]
            if labels.shape != (stop - start,) or not np.isin(labels, range(n_labels)).all():
                raise PopgenHubError(
                    f"{folder.shard(i)} should hold the labels (0..{n_labels - 1}) of "
                    f"replicates {start}..{stop - 1}, but holds {labels.size} values "
                    f"{np.unique(labels)[:5].tolist()}; {REMAKE_SHARD}")
            yield shard


def load_dataset(path: str | Path, manifest: dict[str, Any] | None = None) -> Dataset:
    """Load every shard's images of a dataset directory; refuses incomplete datasets.
    ``manifest``: the one :func:`load_manifest` gave, when the caller has it."""
    manifest = manifest or load_manifest(path)
    images, labels, index = [], [], []
    for shard in _shards(Path(path), manifest):
        images.append(shard_images(shard))
        labels.append(shard["labels"])
        index.append(shard["index"])
    return Dataset(np.concatenate(images), np.concatenate(labels), np.concatenate(index),
                   manifest)


def target_values(path: str | Path, manifest: dict[str, Any] | None = None) -> np.ndarray:
    """A regression dataset's target of every replicate, in order: the manifest's ``target``
    parameter, as each replicate drew it, times its ``factor``."""
    manifest = manifest or load_manifest(path)
    target = manifest.get("target")
    if not target:
        raise PopgenHubError(f"{path} holds classes, not a regression target; simulate a "
                             f"regression scenario (e.g. recombination_regime)")
    return replicate_parameter(path, target["parameter"], "the target of every replicate",
                               manifest) * float(target["factor"])


def replicate_parameter(path: str | Path, name: str, what: str,
                        manifest: dict[str, Any] | None = None) -> np.ndarray:
    """The parameter ``name`` each replicate of a dataset drew, in order; shards without it
    are refused in one line saying ``what`` it is."""
    manifest = manifest or load_manifest(path)
    key = f"param_{name}"
    values = []
    for shard in _shards(Path(path), manifest):
        if key not in shard:
            raise PopgenHubError(f"{shard.path} lacks {key}, {what}; {REMAKE_SHARD}")
        values.append(shard[key])
    return np.concatenate(values)


def genomes_of(path: str | Path, manifest: dict[str, Any] | None = None) -> np.ndarray | None:
    """Each replicate's genome, for datasets simulated in genomes (None for the others)."""
    manifest = manifest or load_manifest(path)
    if not manifest["parameters"].get("genome_windows"):
        return None
    return replicate_parameter(path, "genome", "the genome of every replicate",
                               manifest).astype(np.int64)


def time_points(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The time points a dataset's rows are stored in (one present-day point when it has
    none recorded)."""
    return manifest.get("time_points") or [
        {"age_years": 0.0, "n_haplotypes": manifest["parameters"]["n_haplotypes"]}]


def iter_replicates(path: str | Path, manifest: dict[str, Any] | None = None
                    ) -> Iterator[tuple[int, GenotypeBlock]]:
    """``(label, block)`` of every replicate of a dataset, in order, with all the raw data
    (every time point; each haplotype's age in ``block.samples.age_years``). ``manifest``:
    the one :func:`load_manifest` gave, when the caller has it."""
    manifest = manifest or load_manifest(path)
    points = time_points(manifest)
    ages = np.repeat([float(p["age_years"]) for p in points], [p["n_haplotypes"] for p in points])
    for shard in _shards(Path(path), manifest):
        samples = None
        if "data_kind" not in shard or str(shard["data_kind"]) == "haplotypes":
            samples = Samples(Samples.anonymous(len(ages)).names, (1,) * len(ages),
                              age_years=tuple(ages))
        try:
            replicates = list(zip(shard["labels"], unpack_blocks(shard, samples), strict=True))
        except (ValueError, TypeError, IndexError) as exc:  # arrays that do not fit together
            raise PopgenHubError(f"{shard.path} is damaged: its raw data do not fit together "
                                 f"({first_line(exc)}); {REMAKE_SHARD}") from None
        for label, block in replicates:
            yield int(label), block


def encode_dataset(path: str | Path, encoder: Encoder, progress: bool = True,
                   manifest: dict[str, Any] | None = None,
                   encode: Callable[[GenotypeBlock, tuple[float, float]], EncodedWindow]
                   | None = None) -> tuple[Inputs, np.ndarray]:
    """Encode a dataset's raw data with ``encoder`` (any encoder; one with ancient groups
    takes its rows from each time point): the inputs by tensor name, and the labels.
    ``encode(block, window)``: another encoding of each replicate's rows (default:
    ``encoder.encode``; training's, e.g. of a random subset of individuals). An encoder with a
    genome background (``genome_statistics``) gets each replicate's from the other neutral
    windows of its genome (datasets simulated in genomes)."""
    manifest = manifest or load_manifest(path)
    rows = rows_for(encoder, time_points(manifest), source=str(path))
    length = manifest["parameters"]["length"]
    of = background_tensor(encoder)
    genomes = genomes_of(path, manifest) if of is not None else None
    if of is not None and genomes is None:  # refused before any encoding
        raise PopgenHubError(
            f"{path}: the {encoder.name} encoder needs each window's genome, and this dataset "
            f"was not simulated in genomes; simulate one with --param genome_windows=30 "
            f"(sweep_regime)")
    encode = encode or encoder.encode
    encoded, labels = [], []
    with single_threaded_blas():
        for label, block in tqdm(iter_replicates(path, manifest), total=manifest["n"],
                                 desc="encoding",
                                 unit="rep", disable=not progress):
            encoded.append(encode(block.take_columns(rows), (0, length)).inputs)
            labels.append(label)
    inputs, labels = stack_windows(encoded), np.asarray(labels, dtype=np.int64)
    if genomes is not None:
        inputs[BACKGROUND] = dataset_backgrounds(inputs[of], labels, genomes, str(path))
    return inputs, labels
