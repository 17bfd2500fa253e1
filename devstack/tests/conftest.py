"""Fixtures of devstack's own tests."""

import os
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class FileSeen:
    name: str
    size: int
    mode: int


class _Watch:
    folder: Path | None = None
    seen: list[FileSeen] = []
    scanning = False


def _scan(folder: Path) -> list[FileSeen]:
    return [
        FileSeen(path.name, info.st_size, stat.S_IMODE(info.st_mode))
        for path in folder.iterdir()
        if (info := path.stat())
    ]


def _audit(event: str, args: tuple) -> None:
    # PEP 578: Python calls this before each audited operation (open, os.chmod, os.rename...).
    if _Watch.folder is None or _Watch.scanning:
        return
    _Watch.scanning = True  # the scan's own operations are audited too
    try:
        _Watch.seen += _scan(_Watch.folder)
    finally:
        _Watch.scanning = False


sys.addaudithook(_audit)


@pytest.fixture
def files_seen(tmp_path: Path) -> Iterator[Callable[[], list[FileSeen]]]:
    """Watch the files of tmp_path, under the common umask 022: the function returned lists
    each file as it was before every file-system operation of the test so far, then now."""
    umask = os.umask(0o022)
    _Watch.folder, _Watch.seen = tmp_path, []
    try:
        yield lambda: [*_Watch.seen, *_scan(tmp_path)]
    finally:
        _Watch.folder = None
        os.umask(umask)
