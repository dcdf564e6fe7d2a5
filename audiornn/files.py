"""Writing files so that a reader never sees half of one.

Everything audiornn writes (datasets' metadata, models, histories, WAVs,
figures, JSON) goes to a temporary name beside its destination and is renamed
over it only when complete; an interruption or a full disk leaves the old
file (or none), never a truncated one.
"""

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from .errors import AudioRNNError, ParameterError, refused_by_machine

__all__ = ["FolderInUse", "atomic_path", "creation_mode", "hold_folder", "make_folder", "remove_stale_partials",
           "retired_folders",
           "is_figure", "remove_unfinished", "unfinished", "write_atomically", "write_json"]

# A temporary file is named ".STEM.partial-PID-RANDOMSUFFIX": its writer's process id tells whether it is stale.
PARTIAL = re.compile(r"^\..*\.partial-(\d+)-")
LOCK = ".lock"  # the file a held folder is locked by (hold_folder)
# The most bytes of a name a temporary name keeps: what a file system takes (255) less the ".", ".partial-PID-"
# and the random or kind suffix and extension after it.
PARTIAL_STEM_BYTES = 180


def partial_prefix(stem):
    """``".STEM.partial-PID-"``, the start of a temporary name beside a file or folder named ``STEM``; a stem too
    long to leave room for the rest (a name a file system takes can be) is cut, with a digest of the whole
    stem that keeps two long names apart."""
    encoded = os.fsencode(stem)
    if len(encoded) > PARTIAL_STEM_BYTES:
        digest = hashlib.sha1(encoded).hexdigest()[:12]
        # (a character cut in two leaves bytes that do not decode, escaped as surrogates: dropped)
        kept = "".join(character for character in os.fsdecode(encoded[:PARTIAL_STEM_BYTES - 13])
                       if not "\udc80" <= character <= "\udcff")
        stem = f"{kept}~{digest}"
    return f".{stem}.partial-{os.getpid()}-"


# This process's temporary files and folders being written (a dataset's build folder): removed when a command is
# stopped at once (the main thread stuck where Python cannot stop it), so that no hidden half is left behind.
_UNFINISHED = set()


@contextlib.contextmanager
def unfinished(path):
    """Within it, ``path`` (a temporary file or folder) is removed if the command is stopped at once
    (:func:`remove_unfinished`)."""
    _UNFINISHED.add(Path(path))
    try:
        yield path
    finally:
        _UNFINISHED.discard(Path(path))


def remove_unfinished():
    """Remove what :func:`unfinished` holds (the command is stopped at once); returns how many were there."""
    removed = 0
    for path in list(_UNFINISHED):
        if not os.path.lexists(path):  # (moved into place, or removed, meanwhile)
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed += 1
    return removed


class FolderInUse(AudioRNNError):
    """Another process holds the folder (a run being trained, for example)."""


def process_alive(pid):
    """True when process ``pid`` exists (ours or another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _any_partial_prefix(stem):
    """``".STEM.partial-"``: the start of any process's temporary names beside ``STEM`` (:func:`partial_prefix`)."""
    return partial_prefix(stem).rsplit("-", 2)[0] + "-"


def retired_folders(path):
    """The folders that a replacement of ``path`` stopped half-way put aside (``.NAME.partial-PID-old``, of a process
    no longer running): the old folder, whole, where nothing may stand at ``path`` any more. Newest first."""
    path = Path(path)
    start = _any_partial_prefix(path.name)
    found = []
    for entry in path.parent.iterdir() if path.parent.is_dir() else ():
        middle = entry.name[len(start):-len("-old")] if entry.name.startswith(start) and \
            entry.name.endswith("-old") else ""
        if middle.isdigit() and int(middle) != os.getpid() and not process_alive(int(middle)) and entry.is_dir():
            found.append(entry)
    return sorted(found, key=lambda entry: entry.stat().st_mtime, reverse=True)


def _replaced(retired):
    """Whether the folder that ``retired`` (``.NAME.partial-PID-old``) was put aside from stands again, replaced."""
    return any(entry is not retired and not PARTIAL.match(entry.name)
               and retired.name.startswith(_any_partial_prefix(entry.name))
               for entry in retired.parent.iterdir())


def remove_stale_partials(folder):
    """Remove the temporary files that writers killed before they finished left in ``folder``."""
    removed = []
    for entry in Path(folder).iterdir() if Path(folder).is_dir() else ():
        match = PARTIAL.match(entry.name)
        if match and int(match.group(1)) != os.getpid() and not process_alive(int(match.group(1))):
            if entry.name.endswith("-old") and entry.is_dir() and not _replaced(entry):
                continue  # an old folder put aside by a replacement stopped half-way: the only copy, kept
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def some_named(items, shown=3, quote=True):
    """The first ``shown`` of ``items`` as a message names them, and how many more: "'a', 'b', 'c' and 4 more"."""
    items = list(items)
    named = ", ".join(f"'{item}'" if quote else str(item) for item in items[:shown])
    return named + (f" and {len(items) - shown} more" if len(items) > shown else "")


def existing_folder(folder):
    """``folder``, or the nearest path above it that exists (a folder to be made: where it will be made)."""
    folder = Path(folder).expanduser()
    return next((above for above in (folder, *folder.parents) if above.exists()), folder)


def make_folder(folder, what, error=ParameterError):
    """Create ``folder`` and the folders above it that are missing (a dataset's or a run's own folder, as
    ``mkdir -p``); a file in the way or a folder that cannot be written is ``error``, naming ``what``."""
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocking = next((above for above in (folder, *folder.parents) if above.exists() and not above.is_dir()),
                        folder)
        raise error(f"{what} '{folder}': '{blocking}' is a file, not a folder: choose another place") from None
    except OSError as problem:
        raise machine_or_argument(problem, error(
            f"{what} '{folder}': cannot create it ({problem.strerror or problem}): "
            f"{write_advice(problem, otherwise='choose a folder you can write')}")) from None
    return folder


def machine_or_argument(problem, error):
    """``error`` marked as the machine's refusal (:func:`~audiornn.errors.refused_by_machine`, exit 74) where the
    OSError ``problem`` is one that the same command gets past once the machine is mended (no permission, a
    read-only or full disk, a quota, a file size limit); else left as a wrong argument (exit 2: a place not for
    writing at all, as /proc)."""
    # (the errors write_advice has advice of its own for are those)
    return error if write_advice(problem, otherwise=None) is None else refused_by_machine(error)


def write_advice(error, folder=None, otherwise="free space"):
    """What to do about ``error``, an OSError of a write, in words: free space, raise the file size limit, or write
    where one can. ``folder``: where the work must go on (a run to resume), which cannot be exchanged for another:
    refused, it is to be made writable again. ``otherwise``: the advice for any other error (a write that failed
    midway most likely ran out of room; a folder that cannot be tried at all, ``/proc``, is not for writing)."""
    import errno

    elsewhere = "" if folder else " or write elsewhere"
    unwritable = f"make '{folder}' writable again" if folder else "choose a folder you can write"
    return {errno.EFBIG: f"raise the limit on file size (ulimit -f){elsewhere}",
            errno.EDQUOT: f"free space within your disk quota{elsewhere}",
            errno.EACCES: unwritable, errno.EPERM: unwritable,
            errno.EROFS: f"make the disk of '{folder}' writable again" if folder else
            "choose a folder on a disk that is not read-only", errno.ENOSPC: "free space"}.get(
        getattr(error, "errno", None), otherwise)


@contextlib.contextmanager
def folder_for(folder, what, error=ParameterError):
    """:func:`make_folder` for the work of the block, which gets the folder: if the block fails, the folders it
    made (``folder`` and those above it that were missing) are taken away again while they are empty."""
    made = missing_folders(folder)
    try:
        yield make_folder(folder, what, error)
    except BaseException:
        take_back_folders(made)
        raise


def missing_folders(folder):
    """``folder`` and the folders above it that do not exist yet, deepest first: what :func:`make_folder` makes."""
    folder = Path(os.path.abspath(Path(folder).expanduser()))  # ('new/../runs' makes new, not runs)
    return [above for above in (folder, *folder.parents) if not above.exists() and not above.is_symlink()]


def take_back_folders(made):
    """The folders ``made`` (:func:`missing_folders`, deepest first) taken away while they are empty, a lock file
    left by a hold of this process's (:func:`hold_folder`, released) aside where no process holds it now (another
    command may have made the same folder its own meanwhile); the first that holds anything else, or cannot go,
    stops it."""
    for above in made:
        try:
            if {entry.name for entry in above.iterdir()} <= {LOCK} and folder_holder(above) is None:
                (above / LOCK).unlink(missing_ok=True)
            above.rmdir()
        except OSError:
            break


_SHARED = {}  # folders held with share_inside: resolved path -> how many blocks hold it


LOCK_TRIES = 4


@contextlib.contextmanager
def hold_folder(folder, *, what, share_inside=False):
    """Hold ``folder`` for this process while the block runs: a second process gets :class:`FolderInUse`.

    An exclusive ``flock`` on ``folder/.lock``; the kernel releases it when
    the process ends, however it ends, so a killed run never stays locked.
    With ``share_inside``, holds of the same folder inside this block pass
    (a command that must hold a folder before it calls what holds it too);
    without it, they are refused as another process's would be.
    """
    import fcntl

    key = Path(folder).resolve()
    if _SHARED.get(key):
        _SHARED[key] += 1
        try:
            yield Path(folder)
        finally:
            _SHARED[key] -= 1
        return
    path = Path(folder) / LOCK
    handle = open(path, "a+")
    try:
        for attempt in range(LOCK_TRIES):  # (another process's probe, folder_holder, holds it for an instant)
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if attempt == LOCK_TRIES - 1:
                    raise
                time.sleep(0.05)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise FolderInUse(f"{what} '{folder}' is in use by process {holder}: wait for it to finish, "
                          f"or stop it first") from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        if share_inside:
            _SHARED[key] = 1
        yield Path(folder)
    finally:
        if share_inside:
            _SHARED.pop(key, None)
        handle.close()


def folder_holder(folder):
    """The process that holds ``folder`` (:func:`hold_folder`) as its lock file names it, or None where none does.
    (The probe's own lock lasts an instant: :func:`hold_folder` tries again before it turns a command away.)"""
    import fcntl

    try:
        handle = open(Path(folder) / LOCK)
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return handle.read().strip() or "?"
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


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
def atomic_path(path, clean=True, replace=True):
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds.

    The file gets the mode an ordinary ``open()`` would give it under the
    user's umask (``mkstemp`` alone would leave it readable by its owner only).
    ``clean``: first remove what killed writers left in the folder (``False``
    where the caller did, once for many files). ``replace=False``: a file
    another process put at ``path`` meanwhile is kept, and this one refused.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise ParameterError(f"output folder '{path.parent}' does not exist: create it first")
    if clean:
        remove_stale_partials(path.parent)
    # Keep the suffix: Keras and matplotlib choose the format by it.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=partial_prefix(path.stem),
                                         suffix=path.suffix)
    try:
        os.fchmod(handle, creation_mode())
    finally:
        os.close(handle)
    try:
        yield temporary
        try:
            if replace:
                os.replace(temporary, path)
            else:
                _link_unless_there(temporary, path)
        except OSError as error:  # the file in the way cannot be replaced (immutable, another's in a sticky folder)
            if error.filename2 is None and error.filename != temporary:
                raise
            raise OSError(error.errno, f"{error.strerror} (it cannot be replaced)", str(path)) from error
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError) and not error.filename:  # (a full disk met by a writer that names nothing)
            error.filename = str(path)
        raise


def _link_unless_there(temporary, path):
    """``temporary`` moved to ``path`` unless a file is there (made by another process since it was checked)."""
    taken = ParameterError(f"'{path}' was written by another process while this one ran: it is kept, and this "
                           f"one's was not written; name another --output, or pass --overwrite (overwrite=True)")
    try:
        os.link(temporary, path)  # fails where anything is at path, at once: no window for another writer
    except FileExistsError:
        raise taken from None
    except OSError:  # a file system without hard links: checked, then renamed
        if os.path.lexists(path):
            raise taken from None
        os.replace(temporary, path)
        return
    Path(temporary).unlink()


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


def check_writable(path, flag):
    """Refuse an output whose folder is missing or cannot be written, before any work is done."""
    folder = Path(path).expanduser().parent
    if not folder.is_dir():
        raise ParameterError(f"{flag} '{path}': the folder '{folder}' does not exist: create it first "
                             f"(nothing was done)")
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:  # (the machine's refusal: exit 74, as a write refused later)
        raise machine_or_argument(error, ParameterError(
            f"{flag} '{path}': cannot write in '{folder}' ({error.strerror or error}): "
            f"{write_advice(error, otherwise='choose a folder you can write')} (nothing was done)")) from None


FIGURE_SOFTWARE = "audiornn"  # the PNG "Software" text of audiornn's figures (is_figure tells them from others)


def is_figure(path, *, legacy=False):
    """True when ``path`` is a PNG audiornn drew, which ``eval`` replaces freely (``legacy``: or any matplotlib
    PNG, as figures were saved before they said audiornn: for a run folder, where eval wrote them); False for
    anything else (a user's own picture of that name, a folder, a pipe)."""
    from PIL import Image

    if not Path(path).is_file():
        return False
    try:
        with Image.open(path) as image:
            software = str(getattr(image, "text", {}).get("Software", "")).lower()
            return image.format == "PNG" and software.startswith(
                (FIGURE_SOFTWARE, "matplotlib") if legacy else FIGURE_SOFTWARE)
    except (OSError, ValueError):
        return False
