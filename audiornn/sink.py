"""Where generated audio goes: checked output paths, room on the disk, and files written chunk by chunk.

:func:`output_paths` and :func:`check_room` are checked before any work (a
wrong folder or a full disk is refused at once); :class:`AudioSink` decodes
each chunk of classes (μ-law, de-emphasis with its state carried) and writes it
under a temporary name renamed into place only when the file is complete.
Generation and vocoding both write through it.
"""

import contextlib
import contextvars
import errno
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import soundfile

from .audio_io import decode_classes, native_path
from .errors import ParameterError, refused_by_machine
from .files import (atomic_path, check_writable, existing_folder, folder_for, remove_stale_partials, some_named,
                    write_advice)

__all__ = ["AudioSink", "WAV_LIMIT", "check_room", "output_paths", "size_text"]

logger = logging.getLogger("audiornn")

# Whether a sink says, when it closes, that audio ran beyond full scale (training's previews and health checks,
# made every few epochs of a model still learning, do not: beyond_full_scale_unsaid)
_BEYOND_SAID = contextvars.ContextVar("audiornn_beyond_said", default=True)


@contextlib.contextmanager
def beyond_full_scale_unsaid():
    """Within it, audio cut at full scale is not said (it still is cut)."""
    token = _BEYOND_SAID.set(False)
    try:
        yield
    finally:
        _BEYOND_SAID.reset(token)


def check_output_type(output, folder=False):
    """Refuse an ``output`` that is neither None nor a path (``folder``: a folder may be named too)."""
    if output is not None and not isinstance(output, (str, os.PathLike)):
        raise ParameterError(f"output is the path of a .wav file{' or a folder' if folder else ''} to write (or "
                             f"None: the audio is returned), got {type(output).__name__}")


def output_paths(output, count, inputs=(), overwrite=False, by_input_name=False):
    """The ``count`` files ``output`` names (one: itself; more: ``NAME_1.wav`` ...), checked before any work: a
    ``.wav`` name (its folder made when the files are opened, where it is missing), no path that is a folder, none of the ``inputs`` (the files the
    work reads: a recording is never written over with what was made from it), and, unless ``overwrite``, no
    file that exists (what was generated before is not lost). With ``by_input_name``, an ``output`` that is a
    folder (there, or named with a trailing ``/``) holds a ``.wav`` named after each of the ``inputs`` (files)."""
    slashed, given = str(output).endswith(("/", os.sep)), output  # (a Path loses the slash)
    output = Path(output).expanduser()
    folder = by_input_name and (slashed or (  # (a folder named .wav: refused below, as a name that is a folder)
        output.is_dir() and output.suffix.lower() != ".wav"))
    paths = _named_after(output, inputs) if folder else None
    first = paths[0] if folder else output  # (whose folder is checked)
    if first.parent.is_file():
        raise ParameterError(f"--output '{first}': '{first.parent}' is a file, not a folder: name a .wav file in a "
                             f"folder")
    if first.suffix.lower() != ".wav":
        if slashed or output.is_dir():
            raise ParameterError(f"--output '{given}' is a folder: name a .wav file to write in it, as in "
                                 f"'{output / 'generated.wav'}'")
        raise ParameterError(f"--output must name a .wav file, got '{output}'")
    # A missing folder is made when the files are opened (AudioSink), as data, train and eval make theirs (mkdir -p);
    # here the nearest folder above it that exists is checked: a file in the way, or one that cannot be written
    above = existing_folder(first.parent)
    if not above.is_dir():
        raise ParameterError(f"--output '{first}': '{above}' is a file, not a folder: name a .wav file in a folder")
    check_writable(first if above == first.parent else above / first.name, "--output")
    width = len(str(count))
    if not folder:
        paths = [output] if count == 1 else [output.with_name(f"{output.stem}_{index + 1:0{width}d}{output.suffix}")
                                             for index in range(count)]
    read = {os.path.realpath(Path(source).expanduser()) for source in inputs if isinstance(source, (str, os.PathLike))}
    for path in paths:
        if path.is_dir():
            raise ParameterError(f"--output '{path}' is a folder: name a .wav file to write")
        if os.path.realpath(path) in read:
            raise ParameterError(f"--output '{path}' is one of the inputs: it would be written over with what is "
                                 f"made from it; name another file")
    taken = [path for path in paths if os.path.lexists(path)]
    if taken and not overwrite:
        named = some_named(taken)
        raise ParameterError(f"{named} {'exists' if len(taken) == 1 else 'exist'}: name another --output, or pass "
                             f"--overwrite (overwrite=True) to replace {'it' if len(taken) == 1 else 'them'} (nothing was written)")
    _allow_open_files(count)
    return paths


def _named_after(folder, inputs):
    """``folder/STEM.wav`` for each of ``inputs`` (files), or a ParameterError: an array has no name, and two
    inputs of one name would write one file."""
    if any(not isinstance(source, (str, os.PathLike)) for source in inputs):
        raise ParameterError(f"--output '{folder}' is a folder, whose files are named after the inputs: an array has "
                             f"no name; give --output a .wav name (NAME_1.wav ... in the inputs' order)")
    names = [f"{Path(source).stem}.wav" for source in inputs]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ParameterError(f"--output '{folder}': inputs of one name would be written to one file ({', '.join(twice)}"
                             f"): vocode them into separate folders, or give --output a .wav name")
    return [folder / name for name in names]


OPEN_FILES_SPARE = 256  # descriptors left for the rest of the process (the backend, the model, the inputs)


def _allow_open_files(count):
    """Make room for ``count`` files open at once (every stream's file is written as it is made): the soft limit of
    open files raised as far as the hard limit allows, or a ParameterError before any work."""
    try:
        import resource
    except ImportError:  # not on this system: nothing to check
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = count + OPEN_FILES_SPARE
    if soft == resource.RLIM_INFINITY or needed <= soft:
        return
    if hard != resource.RLIM_INFINITY and needed > hard:
        raise ParameterError(f"{count:,} output files written at once need {needed:,} open files, more than this "
                             f"system allows one process ({hard:,}): ask for fewer streams (--count), in several "
                             f"runs")
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    except (ValueError, OSError) as error:  # a system cap below the hard limit (macOS' maxfilesperproc)
        raise ParameterError(f"{count:,} output files written at once need {needed:,} open files, and the system "
                             f"does not allow this process more than {soft:,} ({error}): ask for fewer streams "
                             f"(--count), in several runs") from None


WAV_LIMIT = 2 ** 32 - 1 - 44 - 256  # a RIFF WAV's sizes are 32-bit (less its header and INFO chunk); past this, RF64


def size_text(count):
    """A number of bytes in the unit that shows it (``3.2 kB``, ``12.5 MB``, ``1.1 GB``)."""
    if count >= 1e18:  # an absurd request: its size, not three hundred digits of terabytes
        return f"{count / 1e12:.2g} TB"
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{int(count)} bytes"


def check_room(output, count, samples, rate, advice="ask for fewer --seconds or --count"):
    """The WAV format for ``count`` files of ``samples`` 16-bit samples, after checking the disk can hold them
    (before a single path is made, so that an absurd --count is refused at once); None without ``output``.
    ``advice``: what the message tells the user to do, besides writing elsewhere."""
    if output is None:
        return None
    size = 2 * samples
    folder = existing_folder(Path(output).expanduser().parent)  # (a folder to be made: the disk it will be on)
    needed, free = size * count, shutil.disk_usage(folder).free if folder.is_dir() else None
    if free is not None and needed > free:
        raise ParameterError(f"{count:,} x {samples / rate:,.3g} s of audio would take {size_text(needed)} but "
                             f"'{folder}' has {size_text(free)} free: {advice}, or write elsewhere")
    return "RF64" if size > WAV_LIMIT else "WAV"


MADE_BY = "audiornn"  # the start of the software field of each WAV audiornn writes


def made_by_audiornn(path):
    """The audiornn command that wrote the WAV file ``path`` ("generate", "vocode"), as its software field says;
    None for another file (or one that cannot be read)."""
    if Path(path).suffix.lower() != ".wav":
        return None
    try:
        with soundfile.SoundFile(native_path(Path(path).expanduser())) as handle:
            software = handle.software or ""
    except (RuntimeError, OSError, ValueError, TypeError):
        return None
    return software.split()[1] if software.startswith(f"{MADE_BY} ") and len(software.split()) > 1 else None


class AudioSink:
    """Where generated classes go, chunk by chunk: decoded (μ-law, de-emphasis with its state carried, the
    recordings' level) and written to ``paths`` (16-bit PCM ``wav_format`` files under temporary names,
    renamed into place only if every chunk was written), or collected when ``paths`` is None.

    ``lengths`` (one per stream) cuts each stream's audio there (streams of different lengths in one batch).
    ``overwrite=False``: a file that another process wrote at a path while this one ran is kept, and refused.
    """

    def __init__(self, paths, count, audio_config, wav_format="WAV", lengths=None, overwrite=True, cause=None,
                 made_by=None):
        self.paths, self.count, self.audio_config, self.wav_format = paths, count, audio_config, wav_format
        self.made_by = made_by  # the command that makes the audio ("generate"), written in each file (made_by_audiornn)
        # Why a stream runs beyond full scale, as said when the sink closes; a generative model's, by default
        level = audio_config.level
        room = f"leaves {-20 * np.log10(level):.1f} dB of room" if level < 1 else "leaves none"
        self.cause = cause or (
            f"a model early in its training overshoots far; a trained one draws a few peaks past its recordings' "
            f"loudest, whose level ({level:.2f} of full scale, from its dataset) {room}")
        self.overwrite = overwrite  # False: a file another process wrote at a path meanwhile is kept
        self.lengths = lengths
        self._written = [0] * count
        self._filters = [None] * count
        self._collected = [[] for _ in range(count)]
        self._files = contextlib.ExitStack()
        self._beyond, self._loudest = [0] * count, 0.0  # each stream's samples beyond full scale (cut there); loudest

    def __enter__(self):
        rate = self.audio_config.sample_rate
        if self.paths:
            # The folder made here, where it is missing, and taken away again if nothing is written into it
            self._files.enter_context(folder_for(self.paths[0].parent, "--output"))
            remove_stale_partials(self.paths[0].parent)  # once, not once a file
        try:
            temporaries = [self._files.enter_context(atomic_path(path, clean=False, replace=self.overwrite))
                           for path in self.paths or []]
            self._writers = [self._files.enter_context(soundfile.SoundFile(
                temporary, "w", samplerate=rate, channels=1, subtype="PCM_16", format=self.wav_format))
                for temporary in temporaries]
            for writer in self._writers if self.made_by else ():
                writer.software = f"{MADE_BY} {self.made_by}"  # (the WAV's INFO chunk)
        except BaseException as failure:
            # The files opened so far, and their temporaries, go: told of the failure, none is renamed into place
            # (closed as a success, each would have replaced its path with an empty file).
            if not self._files.__exit__(type(failure), failure, failure.__traceback__):
                if getattr(failure, "errno", None) in (errno.EMFILE, errno.ENFILE) or (
                        isinstance(failure, soundfile.LibsndfileError) and len(self.paths) > 1):
                    raise ParameterError(f"cannot open the {len(self.paths):,} output files at once ({failure}); "
                                         f"nothing was written: ask for fewer streams") from None
                raise  # a folder that cannot be written, a full disk: said as such by the command line
        return self

    def __exit__(self, *failure):
        if failure[0] is None and any(self._beyond) and _BEYOND_SAID.get():
            cut = [index for index, beyond in enumerate(self._beyond) if beyond]
            written = max(sum(self._written[index] for index in cut), 1)
            where = f" in {some_named(self.paths[index] for index in cut)}" if self.paths else (
                f" in row{'s' if len(cut) > 1 else ''} {some_named(cut, quote=False)} of the audio returned"
                if self.count > 1 else "")
            logger.warning("%s generated sample(s)%s (%.2g %% of them) ran beyond full scale, up to %.1f dB over, and "
                           "were cut there: %s", f"{sum(self._beyond):,}", where, 100 * sum(self._beyond) / written,
                           20 * np.log10(self._loudest), self.cause)
        return self._files.__exit__(*failure)

    def emit(self, classes, *, write=True):
        """Decode the next classes ``(count, samples)`` of every stream; ``write=False`` only runs the
        de-emphasis filter through them (a prime that is not part of the output). Samples beyond full scale
        are cut there, and counted (said when the sink closes)."""
        for index in range(self.count):
            audio, self._filters[index] = decode_classes(classes[index], self.audio_config,
                                                         state=self._filters[index], clip=False)
            if write:
                self.put(index, audio)

    def put(self, index, audio):
        """Write (or collect) the next ``audio`` of stream ``index``, already decoded, cut at its length and at full
        scale (what ran beyond it is counted, and said when the sink closes)."""
        if self.lengths is not None:
            audio = audio[:max(0, self.lengths[index] - self._written[index])]
        beyond = np.abs(audio) > 1.0
        if np.any(beyond):
            self._beyond[index] += int(np.count_nonzero(beyond))
            self._loudest = max(self._loudest, float(np.max(np.abs(audio))))
            audio = np.clip(audio, -1.0, 1.0)
        self._written[index] += audio.size
        if self._writers:
            self._write(index, audio)
        else:
            self._collected[index].append(audio)

    def _write(self, index, audio):
        try:
            self._writers[index].write(audio)
        except (soundfile.LibsndfileError, OSError) as error:
            folder = self.paths[index].parent
            free = shutil.disk_usage(folder).free if folder.is_dir() else 0
            limit = _file_size_limit(getattr(self._writers[index], "name", None))
            if limit is not None:  # (libsndfile's error has no number: "System error.")
                reason, advice = f"the limit on file size ({size_text(limit)}) is reached", \
                    write_advice(OSError(errno.EFBIG, "File too large"))
            else:
                reason = f"the disk is full ({size_text(free)} free)" if free < 2 ** 20 else f"{error}"
                advice = write_advice(error) if free >= 2 ** 20 and getattr(error, "errno", None) in (
                    errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS) else "free some room or write elsewhere"
            raise refused_by_machine(ParameterError(f"cannot write '{self.paths[index]}': {reason}; nothing was left "
                                                    f"in its place: {advice}")) from None

    def audio(self):
        """The collected audio: ``(count, samples)``, or a list of arrays when the lengths differ."""
        pieces = [np.concatenate(parts) if parts else np.zeros(0, np.float32) for parts in self._collected]
        return np.stack(pieces) if len({piece.size for piece in pieces}) == 1 else pieces


def _file_size_limit(path):
    """The limit on a file's size (``ulimit -f``, in bytes) where file ``path`` has reached it, else None."""
    import resource

    soft = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    try:
        reached = soft != resource.RLIM_INFINITY and path is not None and os.path.getsize(path) + 2 ** 16 >= soft
    except (OSError, TypeError):
        return None
    return soft if reached else None
