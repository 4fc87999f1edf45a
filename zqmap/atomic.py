"""Safe file writes: write to a temporary file beside the target, then rename.

An interrupted write leaves no partial file and never damages an existing one.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> write_bytes(d / "a.txt", b"hello").read_bytes()
b'hello'
>>> write_bytes(d / "a.txt", b"again")
Traceback (most recent call last):
...
FileExistsError: ... exists; use --force to overwrite
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_with(path: str | os.PathLike, writer: Callable[[Path], None], force: bool = False) -> Path:
    """Call ``writer(tmp_path)`` and move the result to ``path`` in one rename.

    The temporary file keeps ``path``'s suffix, so writers that pick a format by
    extension (GDAL) behave as for the real name.
    """
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; use --force to overwrite")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        tmp.unlink()  # some writers (GDAL) refuse to write over an existing file
        writer(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_bytes(path: str | os.PathLike, data: bytes, force: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return write_with(path, lambda tmp: tmp.write_bytes(data), force=force)
