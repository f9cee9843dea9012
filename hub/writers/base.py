"""What every writer is: a function ``write(result, staging)`` that writes files for a
:class:`~popgen_hub.result.ScanResult` to ``staging.path(file_name)``.

Built-ins register with ``@WRITERS.register(NAME)`` and always run; plugins (entry-point group
``popgen_hub.writers``) run after them when ``scan --writer NAME`` asks. When a writer runs,
``result.outputs`` already names the final path of every file written before it.
"""

from __future__ import annotations

from typing import Protocol

from ..files import Staging
from ..plugins import Registry
from ..result import ScanResult


class Writer(Protocol):
    def __call__(self, result: ScanResult, staging: Staging) -> None: ...


WRITERS: Registry[Writer] = Registry(
    "writers", "writer", "writers come from plugins: `popgen-hub plugins`")
