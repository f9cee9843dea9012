"""The records of a region of a VCF/BCF, as cyvcf2 records: long regions are decoded by
``bcftools view`` into uncompressed BCF, read through a pipe (htslib parses VCF text, or
unpacks BCF and picks the samples, in another process, on another core, while this one reads,
encodes and scores); short regions and machines without bcftools are read by htslib in this
process.

bcftools is an accelerator, never the judge of a file: when it fails (a record htslib cannot
parse, a damaged block, or anything else), the records it did not deliver are read again by
htslib in this process, which raises the usual error naming where, or goes on to the end.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..genotypes import Region
from .records import query

log = logging.getLogger("popgen_hub")

#: regions shorter than this are read in this process: starting bcftools would cost more
PIPED_MIN_BP = 1_000_000
#: the most an unprivileged process may ask for by default (/proc/sys/fs/pipe-max-size)
PIPE_BYTES = 1 << 20


def region_records(path: Path, region: Region, samples: list[str], n_samples: int
                   ) -> tuple[Any, Iterator]:
    """A handle on the records of ``region`` for ``samples`` (of the file's ``n_samples``; its
    header names them) and the records (see the module's docstring). Parsing VCF text costs
    about as much as everything else a scan does, hence the process beside this one."""
    import cyvcf2

    decoder = shutil.which("bcftools") if region.end - region.start >= PIPED_MIN_BP else None
    decoded = None
    if decoder is not None:
        try:
            decoded = DecodedRegion(decoder, path, region, samples, n_samples)
        except OSError as exc:  # no temporary folder or no process: all in this process
            log.debug("bcftools did not start (%s); reading %s in this process", exc, region)
    if decoded is not None and decoded.vcf is None:  # bcftools failed at once
        decoded.close()
        decoded = None
    if decoded is None:
        vcf = cyvcf2.VCF(str(path), samples=samples, lazy=True, threads=1)
        return vcf, query(vcf, str(region), path)

    def rest(start: int, skip: int) -> Iterator:
        """From the ``skip``-th record starting at ``start`` on, in this process: what a
        failed bcftools left (its error, a bad record or a damaged block, is raised here,
        naming where, as for any read)."""
        vcf = cyvcf2.VCF(str(path), samples=samples, lazy=True, threads=1)
        for record in query(vcf, str(Region(region.contig, start, region.end)), path):
            if record.start > start or (record.start == start and (skip := skip - 1) < 0):
                yield record
    return decoded.vcf, decoded.records(rest)


class DecodedRegion:
    """``bcftools view -Ou`` of one region and some samples, started at once; :meth:`records`
    reads its output. An OSError while starting it leaves nothing behind."""

    def __init__(self, bcftools: str, path: Path, region: Region, samples: list[str],
                 n_samples: int) -> None:
        import cyvcf2

        self.region, self.closed, self.vcf, self.process, self.stderr = (
            region, False, None, None, None)
        self.folder = tempfile.TemporaryDirectory(prefix="popgen-hub-decode-")
        folder = Path(self.folder.name)
        try:
            # files, not -r/-s text: contig and sample names may hold ':' or ','
            (folder / "regions.tsv").write_text(f"{region.contig}\t{region.start + 1}\t"
                                                f"{region.end}\n")
            command = [bcftools, "view", "--no-version", "--no-update", "-Ou",
                       "-R", str(folder / "regions.tsv")]
            if len(samples) < n_samples:
                (folder / "samples.txt").write_text("".join(f"{name}\n" for name in samples))
                command += ["-S", str(folder / "samples.txt")]
            self.stderr = open(folder / "stderr", "w+b")  # a file: a full pipe would stall it
            self.process = subprocess.Popen([*command, str(path)], stdout=subprocess.PIPE,
                                            stderr=self.stderr)
        except OSError:
            self.close()
            raise
        resize = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
        if resize is not None:
            try:  # bcftools runs ahead of the reads by as much as the pipe holds
                fcntl.fcntl(self.process.stdout.fileno(), resize, PIPE_BYTES)
            except OSError:
                pass
        try:
            self.vcf = cyvcf2.VCF(f"/dev/fd/{self.process.stdout.fileno()}", lazy=True)
        except Exception:  # bcftools wrote no header: it failed at once
            self.vcf = None

    def records(self, rest: Callable[[int, int], Iterator]) -> Iterator[Any]:
        """The region's records; where bcftools stops short (it failed, or its output could
        not be read), ``rest(start, skip)`` (the records in this process from the ``skip``-th
        that starts at ``start``) gives the others."""
        last, at_last, unread = -1, 0, False
        try:
            try:
                for record in self.vcf:
                    at_last = at_last + 1 if record.start == last else 1
                    last = record.start
                    yield record
            except Exception as exc:  # a stream cut short, or a record cyvcf2 refused here
                log.debug("bcftools output ended early: %s", exc)
                unread = True
                if self.process.poll() is None:  # nobody reads it now: it would wait forever
                    self.process.kill()
            if self._failed() or unread:
                # on from the last record delivered, or from the region's start when none of
                # the region was (records before it are not part of it)
                if last >= self.region.start:
                    yield from rest(last, at_last)
                else:
                    yield from rest(self.region.start, 0)
        finally:
            self.close()

    def _failed(self) -> bool:
        """Whether bcftools failed (its messages logged); when it did not, its warnings (htslib's,
        as a read in this process would print them) go to this process's stderr."""
        self.process.wait()
        self.stderr.seek(0)
        message = self.stderr.read().decode(errors="replace").strip()
        if self.process.returncode == 0:
            if message:
                print(message, file=sys.stderr)
            return False
        log.debug("bcftools exited with %d, reading on in this process: %s",
                  self.process.returncode, message)
        return True

    def close(self) -> None:
        """Stop bcftools (if it still runs) and remove what it was given; once."""
        if self.closed:
            return
        self.closed = True
        if self.vcf is not None:
            self.vcf.close()
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.stdout.close()
            self.process.wait()
        if self.stderr is not None:
            self.stderr.close()
        if getattr(self, "folder", None) is not None:  # none when it could not be made
            self.folder.cleanup()

    def __del__(self) -> None:  # never read (an error came first)
        if not getattr(self, "closed", True):
            self.close()
