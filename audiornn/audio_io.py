"""Finding, reading and preparing audio files."""

import contextlib
import fnmatch
import logging
import os
from pathlib import Path, PurePosixPath

import numpy as np
import soundfile

from . import dsp
from .config import AudioConfig, command
from .errors import AudioFileError, ParameterError

__all__ = [
    "SILENCE_PEAK",
    "audio_extensions",
    "decode_classes",
    "find_audio_files",
    "read_mono",
    "audio_array",
    "prepare_audio",
    "read_audio",
]

logger = logging.getLogger("audiornn")

# Below one step of 16-bit PCM a recording carries no signal.
SILENCE_PEAK = 2.0 ** -15
# A file raised more than 60 dB to full scale is said to be nearly silent (hiss at -80 dB was raised 64 dB; the
# 1,700 Asterisk prompts (en, ru, it) and the music need at most 33 dB: bench/file_gains.py).
QUIET_GAIN = 1000.0
TRIM_KEEPS_LEAST = 0.25  # trimming that keeps less of a file than this is said (a --trim-silence too small)
# Float samples this far beyond full scale (24 dB) are not a recording's overs but integers saved as floats
# (soundfile.write(path, int16_samples.astype("float32"))): the level a model plays back would be thousands of times
# full scale.
FAR_BEYOND_FULL_SCALE = 16.0
CANCELLING_MIX = 0.1  # a mono mix whose peak is under this share of its channels' (20 dB down) is said


def audio_extensions():
    """Lower-case file extensions (with dot) of the formats soundfile reads.

    RAW is left out: headerless files cannot be read without being told
    their rate and encoding. Common alternative spellings are added.
    """
    extensions = {"." + name.lower() for name in soundfile.available_formats()} - {".raw"}
    # (AU files are mostly .snd, NIST Sphere .sph; AIFF-C and Broadcast WAV are read as AIFF and WAV)
    return extensions | {".aif", ".aifc", ".wave", ".bwf", ".snd", ".sph", ".oga", ".opus", G722_SUFFIX}


# G.722 (wide band, 16 kHz, 64 kbit/s) as Asterisk stores it: raw, no header; the g722 package decodes it.
G722_SUFFIX = ".g722"
G722_RATE = 16000
G722_BITS_PER_SECOND = 64000
# What a file that is not raw G.722 starts with: its container's magic bytes.
CONTAINERS = {b"RIFF": "a WAV file", b"RF64": "a WAV (RF64) file", b"OggS": "an Ogg file", b"fLaC": "a FLAC file",
              b"ID3": "an MP3 file", b"\xff\xfb": "an MP3 file", b"\xff\xf3": "an MP3 file", b"\xff\xf2": "an MP3 file",
              b"FORM": "an AIFF file", b".snd": "an AU file", b"PK": "a zip archive", b"\x93NUMPY": "a NumPy .npy file"}


def file_kind(head):
    """What the first bytes ``head`` of a file say it is (a container, text), or None (raw audio such as G.722)."""
    kind = next((name for magic, name in CONTAINERS.items() if head.startswith(magic)), None)
    if kind is None and head:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as error:  # a character cut at the end of the head is still text
            text = head[:error.start].decode("utf-8") if error.start >= len(head) - 3 else ""
        if text and sum(character.isprintable() or character in "\t\n\r" for character in text) == len(text):
            kind = "text"
    return kind


def read_g722(path, *, strict=False):
    """A raw G.722 file (``.g722``): ``(audio (samples, 1) float32, 16000)``. A file that starts as another
    container does, or that is text, is refused naming what it looks like; one that decodes as noise at full
    scale (raw samples, other bytes) is read with a warning, or refused where ``strict``."""
    data = Path(path).expanduser().read_bytes()
    if not data:
        raise AudioFileError(f"audio file '{path}' is empty (0 bytes)", reason="empty")
    kind = file_kind(data[:512])
    if kind is not None:
        raise AudioFileError(f"cannot read audio file '{path}': a .g722 file is raw G.722 audio, but this is {kind}: "
                             f"give it its own extension, or convert it", reason="unreadable")
    try:
        import G722
    except ImportError:
        raise AudioFileError(f"cannot read audio file '{path}': raw G.722 needs the g722 package (pip install g722)",
                             reason="unreadable") from None

    samples = _decode_g722(G722, data)
    saturated = _saturated_share(samples)
    if saturated > SATURATED_SHARE:
        what = (f"'{path}' decodes as noise at full scale: is it really G.722? ({saturated:.1%} of its samples sit "
                f"there; recordings have under {SATURATED_SHARE:.1%}.) Raw 16-bit samples (Asterisk's .sln16) read "
                f"as G.722 look like this: give them a .wav header (sox -t raw -r 16000 -e signed -b 16 -c 1 "
                f"FILE.g722 FILE.wav) or their own extension")
        if strict:
            raise AudioFileError(what, reason="unreadable")
        logger.warning("%s. It is read as it is", what)
    return samples[:, None], G722_RATE


# Bytes that are not G.722 decode to noise that sits at full scale: raw 16-bit speech read as G.722 has 28 to
# 34 % of its samples there, random bytes 0.5 %; of the 2,836 recordings of Asterisk's -g722 packages (speech,
# music, silences) none has more than 0.0012 % (a piece of music).
SATURATED_SHARE = 0.001


def _decode_g722(codec, data):
    """Raw G.722 bytes decoded by the g722 package (``codec``, the module) to float32 samples in [-1, 1)."""
    return np.asarray(codec.G722(G722_RATE, G722_BITS_PER_SECOND).decode(data), dtype=np.float32) / 32768.0


def _saturated_share(samples):
    """The share of decoded G.722 at full scale: far more than a recording's (:data:`SATURATED_SHARE`) is likely
    not G.722."""
    return float(np.mean(np.abs(samples) >= 0.99)) if samples.size else 0.0


# Audio that soundfile (libsndfile) does not read: in a folder, such files are named in a warning, not taken.
UNREAD_AUDIO = {".m4a", ".aac", ".mp4", ".wma", ".amr", ".3gp", ".webm", ".mka", ".ape", ".wv", ".ac3", ".alac",
                # and the headerless telephone formats Asterisk keeps beside its .wav and .g722
                ".gsm", ".ulaw", ".alaw", ".ul", ".al", ".sln", ".sln16", ".g729"}


def _say_passed_over(candidates, entry, extensions):
    """Warn of what ``candidates`` (the visible entries of the folder given as the input ``entry``) hold that looks
    like audio but is not taken: files of formats soundfile does not read, links to nothing."""
    unread, broken = {}, 0
    for candidate in candidates:
        if candidate.is_symlink() and not candidate.exists():
            broken += candidate.suffix.lower() in extensions
        elif candidate.suffix.lower() in UNREAD_AUDIO and candidate.suffix.lower() not in extensions:
            unread[candidate.suffix.lower()] = unread.get(candidate.suffix.lower(), 0) + 1
    if unread:
        logger.warning("passed over %d file(s) in input '%s' of formats soundfile does not read (%s): convert them "
                       "to FLAC or WAV to use them (for example: ffmpeg -i take.m4a take.flac)", sum(unread.values()),
                       entry, ", ".join(f"{count} {suffix}" for suffix, count in sorted(unread.items())))
    if broken:
        logger.warning("passed over %d link(s) in input '%s' that point to no file", broken, entry)


def _own_folder(folder):
    """What ``folder`` is when audiornn made it ("run" or "dataset"), else None."""
    from .dataset import is_dataset
    from .runs import is_run

    return "run" if is_run(folder) else "dataset" if is_dataset(folder) else None


def _leave_out_own_folders(files, root, entry):
    """``files`` found in the folder ``root`` (the input ``entry``) less those inside a run or dataset folder of
    audiornn's, ``root`` included (a run's previews are generated audio: a dataset built from a folder that holds
    its runs would learn them, and score its validation on them); said in a warning."""
    kinds = {}

    def own_folder(file):
        for folder in file.parents:
            if folder not in kinds:
                kinds[folder] = _own_folder(folder)
            if kinds[folder] or folder == root:
                return folder if kinds[folder] else None
        return None

    kind = _own_folder(root)
    if kind:  # named itself: it holds no recordings
        use = ("a dataset is given to train and eval as --dataset DIR (dataset=)" if kind == "dataset" else
               "a run is given to generate and eval as --model RUN, and to train as --resume RUN to go on with it")
        raise AudioFileError(f"input '{entry}' is an audiornn {kind} folder: what it holds was made by audiornn, "
                             f"not recorded; give the recordings themselves ({use})", reason="missing")
    kept, left = [], {}
    for file in files:
        folder = own_folder(file)
        (kept if folder is None else left.setdefault(folder, [])).append(file)
    for folder, out in left.items():
        logger.warning("left out %d file(s) in '%s', an audiornn %s inside input '%s' (what it holds was made by "
                       "audiornn, not recorded): keep runs and datasets out of the folders of recordings",
                       len(out), folder, kinds[folder], entry)
    return kept


def _visible_entries(folder):
    """Every entry under ``folder`` but hidden ones (a name starting with "."), through linked folders too (a
    speaker's folder linked in from elsewhere, a mounted drive: ``rglob`` passes them over). Each folder is read
    once, under its own path where it lies inside ``folder`` (the linked folders are walked after the rest, so
    a link to a folder of the tree, or back up it, adds nothing)."""
    entries, visited, pending = [], set(), [Path(folder)]
    inside = os.path.realpath(folder) + os.sep
    while pending:
        links = []
        for root in pending:
            for top, folders, files in os.walk(root):  # links to folders are listed, not entered
                real = os.path.realpath(top)
                if real in visited:
                    folders[:] = []
                    continue
                visited.add(real)
                folders[:] = sorted(name for name in folders if not name.startswith("."))
                links += [Path(top) / name for name in folders if os.path.islink(os.path.join(top, name))]
                entries += [Path(top) / name for name in (*folders, *files) if not name.startswith(".")]
        pending = []
        for link in links:
            real = os.path.realpath(link)
            if real in visited:  # a folder of the tree (or a way round to one): read under its own path
                continue
            if inside.startswith(real.rstrip(os.sep) + os.sep):  # above the input: all of it, and more
                logger.warning("passed over '%s', a link to '%s', a folder the input '%s' lies in (following it "
                               "would take in everything beside the input too)", link, real, folder)
                continue
            pending.append(link)
    return entries


def _without_second_ways_in(files):
    """``files`` less the links to a file taken under its own path (or by an earlier link): one file is one
    recording, read under its own name (a link beside it was taken for the same recording in another format, and
    kept in its place)."""
    taken = {os.path.realpath(file): file for file in files if not file.is_symlink()}
    kept = []
    for file in files:
        target = os.path.realpath(file)
        if file.is_symlink():
            if target in taken:
                logger.info("'%s' is a link to '%s', taken once, as '%s'", file, target, taken[target])
                continue
            taken[target] = file
        kept.append(file)
    return kept


class Exclusion:
    """Files to leave out of the input folders (``--exclude``, ``exclude=``), by glob patterns as ``.gitignore``
    has them: a pattern without a ``/`` matches the name of the file or of any folder it lies in, at any depth
    (``beep*``, ``*2tone*``, ``silence``: all of that folder); one with a ``/`` matches the path below the input
    folder from its start (``silence/*``, ``prompts/old``), or from the current folder with the input folder's
    path in front (``recordings/silence``), ``*`` crossing folders; a leading ``**/`` lets it start in any folder.
    ``./`` in front, a ``/`` at the end and Windows' ``\\`` are read as they are meant; matching is
    case-sensitive. Files named directly are not left out. ``matched``: how many files each pattern left out."""

    def __init__(self, patterns=None, what="exclude"):
        if patterns is None:
            patterns = []
        elif isinstance(patterns, (str, os.PathLike)):
            patterns = [patterns]
        self.patterns, self._forms = [], []  # _forms: (whether it starts in any folder, the glob itself)
        for pattern in patterns:
            text = os.fspath(pattern).replace("\\", "/") if isinstance(pattern, (str, os.PathLike)) else ""
            if text.startswith("/") or Path(text).is_absolute():
                raise ParameterError(f"{what} '{pattern}': a pattern is matched below the folders given (as "
                                     f"'silence/*' or 'beep*'), not from the root: give it without the leading "
                                     f"'/'")
            form = "/".join(part for part in text.split("/") if part not in ("", "."))
            anywhere = form.startswith("**/")
            while form.startswith("**/"):
                form = form[3:]
            if not form or ".." in form.split("/"):
                shown = os.fspath(pattern) if isinstance(pattern, (str, os.PathLike)) else pattern
                raise ParameterError(f"{what} takes glob patterns of files to leave out of the input folders "
                                     f"('beep*', 'silence/*', or a folder's name), got {shown!r}")
            self.patterns.append(os.fspath(pattern))
            self._forms.append((anywhere, form))
        self.matched = dict.fromkeys(self.patterns, 0)

    def __bool__(self):
        return bool(self.patterns)

    def leaves_out(self, relative, given=None):
        """Whether the file at ``relative`` (a path below its input folder; ``given``: :meth:`folder_parts` of that
        folder as the user gave it) is left out; counted if it is."""
        parts = PurePosixPath(relative).parts
        for pattern, (anywhere, form) in zip(self.patterns, self._forms):
            if _excluded(anywhere, form, parts, given):
                self.matched[pattern] += 1
                return True
        return False

    @staticmethod
    def folder_parts(folder):
        """The folders of ``folder``'s path as given (None: none; '.' none in front)."""
        if folder is None:
            return None
        parts = Path(os.path.normpath(os.fspath(folder))).as_posix().split("/")
        return None if parts == ["."] else parts


def _excluded(anywhere, form, parts, given):
    if "/" not in form:
        return any(fnmatch.fnmatchcase(part, form) for part in parts)
    starts = range(len(parts)) if anywhere else [0]
    paths = ["/".join(parts[start:end]) for start in starts for end in range(start + 1, len(parts) + 1)]
    if given is not None:
        paths += ["/".join(given + list(parts[:end])) for end in range(1, len(parts) + 1)]
    return any(fnmatch.fnmatchcase(path, form) for path in paths)


def find_audio_files(inputs, other_formats=None, exclude=None):
    """Expand files and folders (searched recursively) into a sorted file list.

    Files named directly are kept whatever their extension; inside folders,
    only files with an audio extension are taken (hidden files are ignored).
    Returns a list of ``(path, label)`` where ``label`` is the path relative
    to the input it came from, used for the deterministic split. ``other_formats``: a dict given is filled
    with the files left out as one recording read in another format (``{left out: read}``, paths as str).
    ``exclude``: an :class:`Exclusion` of files in the folders to leave out (before one format of a recording is
    chosen).
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if (hasattr(inputs, "__array__") and np.asarray(inputs).dtype.kind not in "USO") \
            or not hasattr(inputs, "__iter__"):
        inputs = [inputs]  # an array of samples, a number: refused below by what it is
    inputs = [str(entry) if isinstance(entry, np.str_) else entry for entry in inputs]
    if not inputs:
        raise ParameterError("no INPUT given: name audio files or folders that hold them")
    for entry in inputs:
        if not isinstance(entry, (str, os.PathLike)):
            raise ParameterError(f"audio inputs are the paths of files or folders, got {type(entry).__name__}"
                                 + (": write an array of samples to a file first (soundfile.write)"
                                    if hasattr(entry, "__array__") else ""))
    extensions = audio_extensions()
    found, said, left_out = [], set(), []  # said: the groups of one name but several lengths, warned of once
    for entry in inputs:
        path = Path(entry).expanduser()
        if not path.exists():
            link = f" (a link to '{os.readlink(path)}', which is not there)" if path.is_symlink() else ""
            raise AudioFileError(f"input '{entry}' does not exist{link}: check the path", reason="missing")
        if path.is_dir():
            # One walk of the folder: what is taken, and what is said to be passed over
            candidates = _visible_entries(path)
            files = _without_second_ways_in(_leave_out_own_folders(sorted(
                candidate for candidate in candidates
                if candidate.is_file() and candidate.suffix.lower() in extensions), path, entry))
            _say_passed_over(candidates, entry, extensions)
            if not files:
                raise AudioFileError(
                    f"folder '{entry}' holds no audio files (looked recursively for "
                    f"{', '.join(sorted(extensions))})", reason="missing")
            if exclude:
                given = exclude.folder_parts(entry)  # (once a folder, not once a file)
                kept = [file for file in files if not exclude.leaves_out(file.relative_to(path).as_posix(), given)]
                if not kept:
                    raise AudioFileError(f"--exclude {' '.join(repr(p) for p in exclude.patterns)} leaves out all "
                                         f"{len(files)} audio file(s) of folder '{entry}': check the patterns (one "
                                         f"without a '/' matches a file's or a folder's name, one with a '/' the "
                                         f"path below the folder)", reason="missing")
                if len(kept) < len(files):
                    logger.info("left out %d of the %d audio file(s) of folder '%s' (--exclude)",
                                len(files) - len(kept), len(files), entry)
                files = kept
            found.extend((file, file.relative_to(path).as_posix()) for file in _one_format_each(
                files, entry, said, None if other_formats is None else left_out))
        else:
            found.append((path, path.name))
    # One of each recording, across the inputs too: a file named twice, or named beside its folder in another
    # format (a folder's own doubles are settled by _one_format_each), is read once, at its highest rate.
    groups = {}
    for path, label in found:
        groups.setdefault(_recording(path, extensions), {}).setdefault(path.resolve(), (path, label))
    unique = []
    for group in groups.values():
        entries = _one_recording(list(group.values()), lambda entry: entry[0], said)
        best = _highest_rate(entries, lambda entry: entry[0])
        if len(entries) > 1 and len({path.resolve().suffix.lower() for path, _ in entries}) > 1:
            logger.warning("%s are one recording in several formats: using '%s' (the highest rate)",
                           " and ".join(f"'{path}'" for path, _ in entries), best[0])
            left_out.extend(path for path, _ in entries if path is not best[0])
        unique.append(best)
    if other_formats is not None:  # each file once (a folder named two ways, or by a link), beside the copy read
        read = {_recording(path, extensions): path for path, _ in unique}
        taken = {os.path.realpath(path) for path, _ in unique} | {os.path.realpath(path) for path in other_formats}
        for path in left_out:
            kept = read.get(_recording(path, extensions))
            if kept is not None and os.path.realpath(path) not in taken:
                other_formats[str(path)] = str(kept)
                taken.add(os.path.realpath(path))
    return unique


# Files of one name in several formats are one recording when their lengths agree this closely (Asterisk's .wav
# and .g722 of a prompt agree exactly); another length is a copy cut short or another take: the longest is read.
SAME_LENGTH = 0.02


def file_duration(path):
    """A file's length in seconds from its header (a .g722's from its size, 8,000 bytes a second); None where
    it cannot be read, or is not what its name says (it is read, and refused or left out, later)."""
    try:
        if path.suffix.lower() == G722_SUFFIX:
            return path.stat().st_size / (G722_BITS_PER_SECOND / 8) if _rate(path) else None
        return soundfile.info(native_path(path)).duration
    except (soundfile.LibsndfileError, RuntimeError, OSError, ValueError, TypeError):
        return None


def _one_recording(group, path_of=lambda entry: entry, said=None):
    """``group`` (files of one name: ``hello.wav``, ``hello.g722``) as the one recording it is read as: a list of
    the files whose lengths agree within :data:`SAME_LENGTH` (one recording in several formats), the longest's.
    Files of another length are left out and named (once: ``said`` holds the groups said)."""
    if len(group) == 1:
        return group
    lengths = {id(entry): file_duration(path_of(entry)) for entry in group}
    recordings = []
    # (unreadable ones last, whatever the others' lengths: a 0 s file came after an empty one, and was called
    # another take of it)
    for entry in sorted(group, key=lambda entry: (lengths[id(entry)] is None, -(lengths[id(entry)] or 0.0))):
        length = lengths[id(entry)]
        # (an unreadable file, last, joins the longest: the highest rate is the readable one)
        same = (recordings[0] if recordings else None) if length is None else next(
            (recording for recording in recordings if lengths[id(recording[0])] is not None
             and abs(length - lengths[id(recording[0])]) <= SAME_LENGTH * lengths[id(recording[0])]), None)
        if same is None:
            recordings.append([entry])
        else:
            same.append(entry)
    if len(recordings) == 1:
        return recordings[0]
    # Not one recording in several formats: a copy cut short (read whole, it would train or be held out beside
    # the recording it is part of), or another take. The longest is read; the others are named.
    paths = frozenset(Path(path_of(entry)).resolve() for entry in group)
    if paths not in (said if said is not None else ()):
        if said is not None:
            said.add(paths)
        logger.warning("%s share a name but not a length: the longest is read, and %s left out (a copy cut short, "
                       "or another take: give it a name of its own to read it too)",
                       " and ".join(f"'{path_of(entry)}' ({_length_text(lengths[id(entry)])})"
                                    for entry in sorted(group, key=lambda entry: str(path_of(entry)))),
                       ", ".join(f"'{path_of(entry)}'" for recording in recordings[1:] for entry in recording))
    return recordings[0]


def _length_text(seconds):
    return "unreadable" if seconds is None else f"{seconds:.2f} s"


def _recording(path, extensions):
    """What names one recording: a file's resolved path without its audio extension (``hello.wav`` and
    ``hello.g722`` are one), or the whole path for a name that does not end in one (``take.001``)."""
    resolved = path.resolve()
    return resolved.with_suffix("") if resolved.suffix.lower() in extensions else resolved


def _highest_rate(group, path_of=lambda entry: entry):
    """The entry of ``group`` (one recording in several formats) whose file has the highest rate."""
    return max(group, key=lambda entry: _rate(path_of(entry))) if len(group) > 1 else group[0]


def _looks_like_g722(path, seconds=1):
    """Whether a ``.g722`` file's first ``seconds`` decode as G.722 does: no other container's or text's bytes,
    not noise at full scale (raw samples under the name). A file that does not is no better copy of a recording
    than its ``.wav`` (it is read, and refused or warned of, on its own)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(int(seconds * G722_BITS_PER_SECOND / 8))
    except OSError:
        return False
    if not head or file_kind(head[:512]) is not None:
        return False
    try:
        import G722
    except ImportError:
        return True  # read later, and refused naming the package
    samples = _decode_g722(G722, head)
    return _saturated_share(samples) <= SATURATED_SHARE


def _rate(path):
    """A file's sample rate from its header (0: unreadable, or a .g722 that is something else)."""
    if path.suffix.lower() == G722_SUFFIX:
        return G722_RATE if _looks_like_g722(path) else 0
    try:
        return soundfile.info(native_path(path)).samplerate
    except (soundfile.LibsndfileError, RuntimeError, OSError, ValueError, TypeError):
        return 0  # unreadable: read (and refused, or left out) later


def _one_format_each(files, entry, said=None, left_out=None):
    """``files`` of a folder, one of each recording that lies there in several formats (Asterisk's prompts:
    ``hello.wav`` at 8 kHz beside ``hello.g722`` at 16 kHz): the one at the highest rate, said once (and the others
    put in ``left_out``, a list, where given)."""
    by_stem, extensions = {}, audio_extensions()
    for file in files:
        by_stem.setdefault(_recording(file, extensions), []).append(file)
    kept, doubled = [], []
    for group in by_stem.values():
        recording = _one_recording(group, said=said)
        kept.append(_highest_rate(recording))
        if len(recording) > 1:
            doubled.append(recording)
            if left_out is not None:
                left_out.extend(file for file in recording if file != kept[-1])
    if doubled:
        example = doubled[0]
        logger.info("%d recording(s) in '%s' are there in several formats (%s; for one, %s): each is read once, at "
                    "its highest rate (there, %s)%s", len(doubled), entry,
                    ", ".join(sorted({file.suffix for recording in doubled for file in recording})),
                    " and ".join(file.name for file in example), _highest_rate(example).name,
                    "; the others are listed in the dataset's metadata (other_formats)" if left_out is not None
                    else "")
    return sorted(kept)


def native_path(path):
    """A path as the file system's bytes: soundfile encodes a name strictly as UTF-8, which a name that is not
    (Latin-1 from an old zip or a USB stick, which Python holds with surrogates) fails."""
    return os.fsencode(os.fspath(path))


def read_audio(path, *, strict=False):
    """Read any file soundfile can, or raw G.722 (``.g722``, :func:`read_g722`; ``strict``: one that decodes as
    noise is refused, not read with a warning): returns ``(audio (samples, channels) float32, rate)``."""
    return _read(path, strict, lambda native: (soundfile.read(native, dtype="float32", always_2d=True),))


# What to do with a file too long for the memory a build has
CUT_ADVICE = ("cut it into shorter pieces (sox IN.wav OUT.wav trim 0 600 : newfile : restart makes 10-minute ones) "
              "and give those")
# A dataset build reads a file this many frames at a time, mixing each block to mono (read_mono).
MONO_BLOCK_FRAMES = 1 << 18


def read_mono(path, *, strict=False):
    """:func:`read_audio`'s audio mixed to mono as :func:`audiornn.dsp.to_mono` mixes it, read
    :data:`MONO_BLOCK_FRAMES` frames at a time: ``(mono float32 1-D, rate, channels, peak)``, ``peak`` the
    largest magnitude in any channel. A build holds a long recording's mono copy, not its channels as float32 and
    their mix as float64 (two hours of 44.1 kHz stereo: 1.3 GB, not 6.4)."""
    def blocks(native):
        with soundfile.SoundFile(native) as handle:
            mono, done, peak = np.empty(max(handle.frames, 0), np.float32), 0, 0.0
            while True:
                block = handle.read(MONO_BLOCK_FRAMES, dtype="float32", always_2d=True)
                if not len(block):
                    return (mono[:done], handle.samplerate), handle.channels, peak
                if done + len(block) > mono.size:  # more than the header said
                    mono = np.concatenate([mono[:done], np.empty(len(block), np.float32)])
                mono[done:done + len(block)] = dsp.to_mono(block)
                peak = max(peak, _peak(block))
                done += len(block)

    if Path(path).suffix.lower() == G722_SUFFIX:
        audio, rate = read_audio(path, strict=strict)
        return audio[:, 0], rate, 1, _peak(audio)
    return _read(path, strict, blocks)


def _read(path, strict, read):
    """The checks and the messages of :func:`read_audio` around ``read(native path)``, which returns
    ``((audio, rate), *rest)``: ``(audio, rate, *rest)``, ``rate`` an int (a G.722 file: ``read_g722``'s)."""
    if Path(path).expanduser().is_dir():
        raise AudioFileError(f"'{path}' is a folder, not an audio file: name one of the files in it", reason="missing")
    if Path(path).expanduser().exists() and not Path(path).expanduser().is_file():
        raise AudioFileError(f"'{path}' is not a file but a pipe or a device: save the audio to a file and give "
                             f"that", reason="unreadable")
    if not Path(path).expanduser().is_file():
        raise AudioFileError(f"audio file '{path}' does not exist: check the path", reason="missing")
    if Path(path).suffix.lower() == G722_SUFFIX:
        try:
            return read_g722(path, strict=strict)
        except OSError as error:
            raise AudioFileError(f"cannot read audio file '{path}': {error.strerror or error}") from None
    if Path(path).expanduser().stat().st_size == 0:
        raise AudioFileError(f"audio file '{path}' is empty (0 bytes)", reason="empty")
    from .backend import native_stderr_silenced

    try:
        # (libmpg123 prints its own lines of a damaged MP3's resyncing; the error below says what matters)
        with native_stderr_silenced() if Path(path).suffix.lower() == ".mp3" else contextlib.nullcontext():
            (audio, rate), *rest = read(native_path(Path(path).expanduser()))
    except soundfile.LibsndfileError as error:
        # libsndfile's "does not exist or is not a regular file" of a file that is there: it is not what it says
        why = ("not audio that soundfile can read (damaged, or another format under this name)"
               if "does not exist" in error.error_string else error.error_string)
        raise AudioFileError(f"cannot read audio file '{path}': {why}{_unread_hint(path)}") from None
    except MemoryError:
        raise AudioFileError(f"'{path}' is too long to read into this machine's free memory "
                             f"({file_size_text(path)}): {CUT_ADVICE}", reason="too_large") from None
    except (RuntimeError, OSError, ValueError, TypeError) as error:
        raise AudioFileError(f"cannot read audio file '{path}': {error}") from None
    promised = _promised_frames(Path(path).expanduser())
    if promised and audio.shape[0] < (1 - SAME_LENGTH) * promised:
        logger.warning("'%s' ends early: its header promises %.2f s, it holds %.2f s (a copy or a recording cut "
                       "off?); what it holds is read", path, promised / rate, audio.shape[0] / rate)
    return (audio, int(rate), *rest)


def _unread_hint(path):
    """What a file soundfile cannot read looks like, where its first bytes say: NumPy frames (vocode's input), or
    no container at all (raw samples, raw G.722 under another name)."""
    try:
        with open(Path(path).expanduser(), "rb") as handle:
            head = handle.read(512)
    except OSError:
        return ""
    kind = file_kind(head)
    if kind == "a NumPy .npy file":
        return (f" (it is a NumPy .npy file: spectrogram frames are vocode's input, '{command()} vocode --model "
                f"MODEL FRAMES.npy')")
    if Path(path).suffix.lower() in UNREAD_AUDIO or any(head.startswith(magic) for magic in OTHER_CONTAINERS) \
            or head[4:8] == b"ftyp":
        return " (a format soundfile does not read: convert it to FLAC or WAV, for example: ffmpeg -i IN OUT.flac)"
    if kind is None and head and Path(path).suffix.lower() in (".wav", ".raw", ".pcm", ".sln", ".sln16"):
        return (f" (it starts with none of the headers soundfile knows: raw G.722 is read under the {G722_SUFFIX} "
                f"extension; raw 16-bit samples need a .wav header: sox -t raw -r RATE -e signed -b 16 -c 1 FILE "
                f"OUT.wav)")
    return ""


# The first bytes of containers of audio soundfile does not read (beside the ISO ones, "ftyp" at byte 4): Matroska
# and WebM, ADTS AAC, AMR, Core Audio
OTHER_CONTAINERS = (b"\x1aE\xdf\xa3", b"\xff\xf1", b"\xff\xf9", b"#!AMR", b"caff")


def file_size_text(path):
    """A file's length and size, as a message names them."""
    seconds = file_duration(Path(path).expanduser())
    size = Path(path).expanduser().stat().st_size / 1e9
    return (f"{seconds / 60:.0f} minutes, " if seconds else "") + f"{size:.2f} GB on disk"


# A recording whose peak stands this far above the loudest 0.1 % of its samples (pre-emphasised) is said to be
# set by a click: on the 1,130 Asterisk prompts and pieces of music, the median is 2.5 dB and the most 15.3 dB; one
# full-scale click in 13 minutes of speech peaking at 0.3 stands 25.5 dB up.
CLICK_DB, CLICK_PERCENTILE, CLICK_SAMPLES = 20.0, 99.9, 4000
WAV_PLACEHOLDER_BYTES = 0x7FFFF000


def _promised_frames(path):
    """The frames a PCM WAV file's header says its data holds (the standard library's ``wave`` reads it), or None
    for other files; libsndfile reads what is there and says nothing of the rest."""
    if path.suffix.lower() not in (".wav", ".wave"):
        return None
    import wave

    try:
        with wave.open(str(path), "rb") as handle:
            frames, frame_bytes = handle.getnframes(), handle.getsampwidth() * handle.getnchannels()
    except (wave.Error, EOFError, OSError, UnicodeError):
        return None
    # A size of 0x7FFFF000 or more is a placeholder (ffmpeg writing to a pipe, a stream): no promise
    return frames if 0 < frames * frame_bytes < WAV_PLACEHOLDER_BYTES else None


def _peak(audio):
    """The largest magnitude, without the copy ``np.abs`` makes (an hour of 48 kHz stereo: 1.4 GB)."""
    return float(max(np.max(audio), -np.min(audio))) if np.size(audio) else 0.0


MOST_CHANNELS = 8  # an array with this many rows or fewer, and many more columns, is (channels, samples)


def audio_array(audio, source="audio"):
    """Audio given in memory as a numpy array, as the library reads it: floats of ``(samples,)`` or ``(samples,
    channels)``. Integer samples are scaled to [-1, 1) (int16 by 32768, as scipy.io.wavfile.read gives them;
    unsigned 8-bit ones about 128), and librosa's ``(channels, samples)`` layout (``librosa.load(mono=False)``)
    is turned, said at INFO."""
    audio = np.asarray(audio)
    if audio.dtype.kind == "u":
        middle = np.iinfo(audio.dtype).max // 2 + 1
        audio = (audio.astype(np.float64) - middle) / middle
    elif audio.dtype.kind == "i":
        full = np.iinfo(audio.dtype).max + 1.0
        if audio.dtype.itemsize > 2 and audio.size and int(np.max(np.abs(audio.astype(np.int64)))) <= 2 ** 15:
            # (numpy.array of Python ints is int64: 16-bit samples, by their values, not 63-bit ones)
            logger.info("%s: %s samples within 16-bit range are read as 16-bit samples (divided by 32768)", source,
                        audio.dtype)
            full = 2.0 ** 15
        audio = audio.astype(np.float64) / full
    elif audio.dtype.kind not in "f":
        raise ParameterError(f"{source} is an array of {audio.dtype}, not samples: give floats from -1 to 1 (or "
                             f"integer samples)")
    if audio.ndim == 2 and audio.shape[0] <= MOST_CHANNELS < audio.shape[1]:
        logger.info("%s: an array of %d rows and %d columns is read as %d channels (librosa's layout)", source,
                    *audio.shape, audio.shape[0])
        audio = audio.T
    return audio


def prepare_audio(audio, rate, *, audio_config=AudioConfig(), trim_silence_db=None, source="audio",
                  features=None, quiet_warning=True, peak=None):
    """Turn raw audio into classes with the model's own preprocessing.

    mono -> resample -> trim silence (optional) -> less the mean -> pre-emphasis -> normalise
    the peak to full scale -> μ-law. Returns ``(classes uint8, gain)``; the
    gain divides decoded audio back to the input's level. With ``features``
    (a :class:`audiornn.features.FeatureConfig`), ``(classes, gain, frames)``:
    the spectrogram frames aligned to the classes (:mod:`audiornn.features`).
    ``quiet_warning``: say that a nearly silent recording is raised to full scale (False where only the checks
    are wanted and the audio keeps its level). ``peak``: the largest magnitude in any channel, where ``audio`` is
    the mono mix of several already (:func:`read_mono`). An array is read as :func:`audio_array` reads it
    (integer samples scaled, librosa's ``(channels, samples)`` turned).
    """
    audio = audio_array(audio, source)
    mono = dsp.to_mono(audio)
    if mono.size == 0:
        raise AudioFileError(f"{source} is empty (0 samples)", reason="empty")
    if not np.all(np.isfinite(mono)):
        bad = int(np.count_nonzero(~np.isfinite(mono)))
        raise AudioFileError(f"{source} has {bad} NaN or infinite samples: repair or remove it",
                             reason="not_finite")
    peak = _peak(audio) if peak is None else float(peak)
    if peak > FAR_BEYOND_FULL_SCALE:
        raise AudioFileError(f"{source} holds samples up to {peak:.6g}, {20 * np.log10(peak):.0f} dB beyond full scale "
                             f"(-1 to 1): integer samples saved as floats? Divide 16-bit ones by 32768 (24-bit ones "
                             f"by 8388608) and save it again", reason="out_of_range")
    mixed = _peak(mono)
    if mixed < CANCELLING_MIX * peak and peak >= SILENCE_PEAK:
        silent = mixed < SILENCE_PEAK
        message = (f"{source}: its channels cancel when mixed to mono (the mix is "
                   f"{'silent' if silent else f'{20 * np.log10(peak / mixed):.0f} dB below its channels'}: one "
                   f"channel is the other upside down)")
        if silent:
            raise AudioFileError(f"{message}: keep one channel (soundfile.write(path, audio[:, 0], rate)) and give "
                                 f"that", reason="silent")
        logger.warning("%s: what is left is the channels' difference; keep one channel if that is not meant",
                       message)
    if not dsp.SOURCE_RATES[0] <= rate <= dsp.SOURCE_RATES[1]:
        raise AudioFileError(f"{source} says its sample rate is {rate:,} Hz, outside the {dsp.SOURCE_RATES[0]:,} to "
                             f"{dsp.SOURCE_RATES[1]:,} Hz of recordings: a damaged header, or not audio",
                             reason="sample_rate")
    mono = dsp.resample(mono, source_rate=rate, target_rate=audio_config.sample_rate)
    if _peak(mono) < SILENCE_PEAK:
        raise AudioFileError(f"{source} is silent (peak below one 16-bit step)", reason="silent")
    offset = float(np.mean(mono, dtype=np.float64))
    if mono.size > 1 and float(np.max(np.abs(mono - offset))) < SILENCE_PEAK:  # pre-emphasis and the peak would make it full scale
        raise AudioFileError(f"{source} is silent: it holds one value throughout (an offset of {offset:.3g}), no "
                             f"sound", reason="silent")
    if trim_silence_db is not None:
        before = mono.size
        mono = dsp.trim_silence(mono, sample_rate=audio_config.sample_rate,
                                threshold_db=trim_silence_db)
        if mono.size < TRIM_KEEPS_LEAST * before:
            logger.warning("%s: trimming what is %g dB below its peak kept %.2f s of %.2f s; a larger "
                           "--trim-silence keeps more (40 keeps what is within 40 dB of the peak)", source,
                           trim_silence_db, mono.size / audio_config.sample_rate, before / audio_config.sample_rate)
    # Less its offset (pre-emphasis leaves 5 % of a DC offset, which the peak's gain raises: silence would sit
    # classes away from the middle). Start the filter as if the signal had held its first value: a recording cut
    # mid-waveform would otherwise begin with a step that dominates the peak.
    centred = mono - np.float32(np.mean(mono, dtype=np.float64)) if mono.size > 1 else mono  # (one sample: kept)
    emphasised, _ = dsp.preemphasis(centred, coefficient=audio_config.preemphasis, state=centred[0])
    del centred
    normalised, gain = dsp.normalise_level(emphasised)
    if gain > QUIET_GAIN and quiet_warning:
        logger.warning("%s is nearly silent (its loudest, pre-emphasised, is %.0f dB below full scale): it is raised "
                       "to full scale like every file, its noise with it; leave it out if it is meant as silence",
                       source, 20 * np.log10(gain))
    elif quiet_warning and normalised.size >= CLICK_SAMPLES:
        rest = float(np.percentile(np.abs(normalised), CLICK_PERCENTILE, overwrite_input=True))  # (one copy)
        if rest < 10 ** (-CLICK_DB / 20):
            above = 20 * np.log10(1 / rest) if rest > 0 else float("inf")
            logger.warning("%s: its loudest samples stand %s above the loudest %g %% of the rest (a click or a glitch?), "
                           "and set its level: the rest is encoded that far below full scale, in fewer classes; cut "
                           "the click out (--trim-silence where it is at an end) to give the rest full scale", source,
                           f"{above:.0f} dB" if np.isfinite(above) else "far", 100 - CLICK_PERCENTILE)
    classes = dsp.mu_law_encode(normalised, mu=audio_config.mu)
    if features is None:
        return classes, gain
    from .features import audio_to_features

    return classes, gain, audio_to_features(mono, audio_config.sample_rate, features)


def decode_classes(classes, audio_config, *, state=None, clip=True):
    """Classes ``(samples,)`` to audio at the recordings' level: μ-law decode, de-emphasis, level, cut at full
    scale (``clip=False``: not cut, for audio scaled again before it is written).

    Returns ``(audio float32, new_state)``; pass the state to the next chunk.
    """
    decoded = dsp.mu_law_decode(classes, mu=audio_config.mu)
    audio, state = dsp.deemphasis(decoded, coefficient=audio_config.preemphasis, state=state)
    audio = audio * audio_config.level
    return (np.clip(audio, -1.0, 1.0) if clip else audio).astype(np.float32), state
