"""Writing files so that a reader never sees half of one.

Everything audiornn writes (datasets' metadata, models, histories, WAVs,
figures, JSON) goes to a temporary name beside its destination and is renamed
over it only when complete; an interruption or a full disk leaves the old
file (or none), never a truncated one.
"""

import contextlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import ParameterError

__all__ = ["atomic_path", "creation_mode", "write_atomically", "write_json"]


def creation_mode():
    """The mode ``open()`` gives a new file: 0o666 less the process's umask."""
    try:
        # Linux says it without changing it (os.umask can only be read by setting it).
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    The file gets the mode an ordinary ``open()`` would give it under the
    user's umask (``mkstemp`` alone would leave it readable by its owner only).
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ParameterError(f"output folder '{path.parent}' does not exist: create it first")
    # Keep the suffix: Keras and matplotlib choose the format by it.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.partial.", suffix=path.suffix)
    try:
        os.fchmod(handle, creation_mode())
    finally:
        os.close(handle)
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_atomically(path, write):
    """Call ``write(temporary_path)`` and move the result to ``path``; returns ``path``."""
    with atomic_path(path) as temporary:
        write(temporary)
    return Path(path)


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def write_json(path, value):
    """Write ``value`` as indented JSON, synced to disk, atomically."""
    def write(temporary):
        with open(temporary, "w") as handle:
            json.dump(value, handle, indent=2, default=_plain)
            handle.flush()
            os.fsync(handle.fileno())

    return write_atomically(path, write)
