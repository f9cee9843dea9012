"""A running IGV desktop, driven over its batch port (60151 by default): ``popgen-hub igv``.

IGV takes the commands of its batch scripts on the port and answers each with one line, ``OK``
or what went wrong; the next command is sent only once the answer to the last is read, as IGV
expects. What is sent is the scan folder's session (:mod:`popgen_hub.writers.igv_session`):
every track, loaded by absolute path (IGV reads the files itself, so it must see them at the
same path: the same machine, or a shared file system), each BigWig of probabilities on 0-1,
the classic statistics autoscaled, then the top window.
IGV answers ``OK`` to ``goto`` a contig its genome lacks, and shows nothing there: give the
genome when IGV's lacks the scan's contigs. IGV 2.16 fetches its list of hosted genomes on
``genome`` (and on opening a session of another genome) and, offline, waits on a message box
saying it could not, unless its preference ``SHOW_GENOME_SERVER_WARNING`` is false: the answer
comes once the box is closed.

The user's session is kept: tracks are added to what IGV shows, unless ``new`` asks for an
empty session first. The genome is changed only when asked, to the folder's chrom.sizes or any
genome IGV takes (``hg38``, a FASTA); IGV drops the tracks it shows when its genome changes.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TextIO

from ..errors import PopgenHubError
from ..writers.igv_session import read_session

DEFAULT_PORT = 60151
ENABLE_PORT = "View > Preferences > Advanced > Enable port"
#: Seconds to wait for IGV's answer: loading a genome or a large file takes a while.
ANSWER_TIMEOUT = 300.0


@dataclass
class IgvPort:
    """A connection to IGV's batch port; :meth:`send` a command, get IGV's answer."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    timeout: float = ANSWER_TIMEOUT
    _socket: socket.socket | None = field(default=None, init=False, repr=False)
    _answers: TextIO | None = field(default=None, init=False, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def __enter__(self) -> IgvPort:
        try:
            self._socket = socket.create_connection((self.host, self.port), timeout=10)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise PopgenHubError(
                f"no IGV listens on {self.address} ({reason}): start IGV desktop and enable "
                f"its batch port ({ENABLE_PORT}, port {self.port}), or give --host/--port"
            ) from None
        self._socket.settimeout(self.timeout)
        self._answers = self._socket.makefile("r", encoding="utf-8", newline="\n")
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._socket is not None and self._answers is not None:
            self._answers.close()
            self._socket.close()
            self._socket = self._answers = None

    def send(self, command: str) -> None:
        """Send one command and wait for IGV's answer; an answer other than ``OK`` (or IGV
        going away) is an error naming the command."""
        if self._socket is None or self._answers is None:
            raise RuntimeError("IgvPort.send outside `with IgvPort(...)`")
        try:
            self._socket.sendall(command.encode() + b"\n")
            answer = self._answers.readline().strip()
        except TimeoutError:
            raise PopgenHubError(f"IGV at {self.address} did not answer `{command}` within "
                                 f"{self.timeout:.0f} s: close any message box IGV shows, and "
                                 f"try again") from None
        except OSError as exc:
            raise PopgenHubError(f"IGV at {self.address} closed the connection at "
                                 f"`{command}` ({exc.strerror or exc})") from None
        if answer != "OK":
            said = f"with: {answer}" if answer else "by closing the connection"
            raise PopgenHubError(f"IGV at {self.address} answered `{command}` {said}")


#: ``genome`` of :func:`session_commands` meaning the session's own (the folder's chrom.sizes)
SESSION_GENOME = "OUTDIR"


def session_commands(folder: Path, *, new: bool = False, genome: str | None = None) -> list[str]:
    """The batch commands that show ``folder``'s session in a running IGV (see the module's
    docstring for ``new`` and ``genome``; :data:`SESSION_GENOME`: the session's genome)."""
    session = read_session(folder)
    commands = ["new"] if new else []
    if genome:
        genome = str(session.genome) if genome == SESSION_GENOME else genome
        commands.append(f"genome {_unspaced(genome, folder)}")
    for track in session.tracks:
        path = Path(track.file)
        if not path.is_file():
            raise PopgenHubError(f"{path} is missing from {folder} (named in its igv_session."
                                 f"xml): scan into {folder} again")
        commands += track.commands(Path(_unspaced(str(path), folder)))
    commands.append(f"goto {session.locus}")
    return commands


def _unspaced(path: str, folder: Path) -> str:
    """``path``, which IGV's batch commands can name only without spaces."""
    if any(char.isspace() for char in path):
        raise PopgenHubError(f"{path}: IGV's batch commands cannot name a path with spaces; "
                             f"move or link {folder} to a path without any")
    return path


def send_session(folder: Path, *, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                 new: bool = False, genome: str | None = None) -> list[str]:
    """Show ``folder``'s tracks in the IGV listening on ``host:port``; returns the commands
    sent, every one answered ``OK``."""
    commands = session_commands(folder, new=new, genome=genome)
    with IgvPort(host, port) as igv:
        for command in commands:
            igv.send(command)
    return commands
