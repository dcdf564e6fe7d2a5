"""The dataset folder: each sample stored once, as one byte, plus metadata.

Layout of a dataset folder (format version 1; 2 when labelled)::

    DIR/metadata.json   the contract: format, version, audio config, sources,
                        splits, skipped files, and the recipe fingerprint
    DIR/train.u8        uint8 classes of the training audio, files end to end
    DIR/validation.u8   uint8 classes of the validation audio, files end to end

A labelled dataset (files labelled by speaker, language, instrument: see
:mod:`audiornn.labels`) or one with spectrogram features is format version 2:
``metadata.json`` also lists the ``labels`` and each source has its ``label``
(and its relative ``name``, which version 1 calls ``label``); with features it
has the ``features`` config, ``DIR/train.features.f16`` and
``DIR/validation.features.f16`` hold the frames (float16, ``(frames, bands)``,
files end to end: :mod:`audiornn.features` says how they align with the
samples) and each source its ``frames_start`` and ``frames``. Both versions
are read.

``metadata.json`` is written last and the folder is renamed into place only
when complete, so a folder with a metadata file is always whole.
"""

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import __version__
from . import dsp
from .audio_io import (CUT_ADVICE, SAME_LENGTH, Exclusion, audio_extensions, file_duration, file_size_text,
                       prepare_audio, read_mono)
from .config import (VALIDATION_FRACTION, AudioConfig, as_config, bar_disabled, command, option,
                     shown_labels)
from .errors import AudioFileError, AudioRNNError, DatasetError, ParameterError, refused_by_machine
from .files import (folder_for, partial_prefix, remove_stale_partials, retired_folders, some_named, unfinished,
                    write_advice, write_json)
from .sink import size_text
from .features import frame_count
from .labels import labelled_files

__all__ = ["Dataset", "Segment", "as_dataset", "build_dataset", "open_dataset", "plan_validation"]

logger = logging.getLogger("audiornn")

FORMAT = "audiornn-dataset"
DUPLICATE = "duplicate"  # the reason a copy of a file already read is skipped (not a bad file: --strict takes it)
FORMAT_VERSION = 1
LABELLED_FORMAT_VERSION = 2
METADATA_NAME = "metadata.json"
SPLITS = ("train", "validation")
SPLIT_FILES = {"train": "train.u8", "validation": "validation.u8"}
FEATURE_FILES = {"train": "train.features.f16", "validation": "validation.features.f16"}
_COPY_CHUNK = 1 << 22
# One recording under one name in two files that are not byte for byte the same (Asterisk's prompts unpacked as
# .wav in one folder and .g722 in another, an export at another rate or level) is told by how its coarse
# spectrogram moves: log power in 8 mel bands up to 4 kHz (where telephone and wide band copies agree), 20 ms
# frames, less each band's mean and each frame's (what is left is how the spectrum's shape moves: not a note's
# envelope, which notes of one instrument share, nor a steady noise's spectrum), at the best of a few frames' shift
# (an export padded by some milliseconds). Measured by bench/same_recordings.py (RESULTS.md).
SAME_RECORDING_CORRELATION = 0.88
# Under another name (a backup_3.flac at half the level, privacy-thankyou.wav and auth-thankyou.wav in Asterisk's own
# English prompts) the bar is higher, as every file of about its length is compared, not the few of its name: in
# the Asterisk prompts of three voices (8 kHz, 1,616 files, 19,365 pairs of other names within SAME_LENGTH) the 7
# pairs from 0.97 up were one recording under two names (1.000 four times, 0.993, 0.990, 0.979), and from 0.88 to
# 0.95 were words alike ("space" and the Spanish "seis", 0.904; "q" and "2", 0.887) or perhaps one recording
# ("first" as vm-first and digits/h-1, 0.952: kept) (bench/same_recordings.py --other-names).
OTHER_NAME_CORRELATION = 0.97
# ... and then the waveforms themselves must move together: EXCERPT samples around each file's loudest 20 ms, at
# their best lag, correlation from WAVEFORM_CORRELATION (a copy at another level, or saved again, is the same
# waveform; one instrument's notes a semitone apart, of one length and envelope, reached 0.98 above on a review's
# synthetic plucks and are not).
EXCERPT, WAVEFORM_CORRELATION = 2048, 0.9
# ... or, where the waveforms do not (one recording filtered otherwise: Asterisk's .g722 prompts and their 8 kHz .wav
# moved together 0.62 to 0.97, median 0.84, over 40 prompts, and a 0.86 s one was kept twice), their fine spectra,
# 64 ms frames (at most a quarter of the excerpt: 32 ms at 16 kHz), 100-3400 Hz, log power within 50 dB of the
# loudest, at the waveforms' best lag: those 40 pairs from 0.88 (median 0.97) at 8 and 16 kHz; notes a semitone apart
# 0.06 at most; 66 pairs of different digits of one voice 0.48 at most (0.55 at 16 kHz).
SPECTRUM_CORRELATION = 0.8
# Which files of other names are compared: those whose loudness over time (the fingerprint's mean over its bands,
# in 100 ms blocks, the first CONTOUR_BLOCKS of them, less its mean) moves with the file's, correlation from
# CONTOUR_CANDIDATE, at most CONTOUR_PEERS of them (a folder of thousands of files of one length compares
# each with a dot product, not a fingerprint's correlation at seven shifts).
CONTOUR_FRAMES, CONTOUR_BLOCKS, CONTOUR_CANDIDATE, CONTOUR_PEERS = 5, 64, 0.9, 16
# The files whose contours are compared are found by their hashes, not all of them (a set of 100,000 one-second
# clips compared each with every one before it): the signs of CONTOUR_TABLES x CONTOUR_BITS random projections of the
# contour; a file is compared with those that share all the bits of one table. Two contours that correlate 0.99
# (8 degrees apart) share a table's 12 bits at 0.57, one of 4 tables at 0.97; one recording's contours at another
# level are the same.
CONTOUR_TABLES, CONTOUR_BITS = 4, 12
FINGERPRINT_BANDS, FINGERPRINT_TOP_HZ, FINGERPRINT_SECONDS = 8, 4000.0, 0.02
SHIFT_FRAMES = 3
PEER_VALUES = 1 << 22  # fingerprints compared in one go hold this many values (32 MB as float64; 2 of an hour)
# What decides a dataset's content besides its recipe (files, settings): the builder's revision, recorded in its
# metadata. Each revision, from when it came in, and what it changed; a dataset made before revisions were
# recorded is dated by its "created".
BUILDER = 4
BUILDER_CHANGES = {2: ("2026-12-05T21:32:00+0000", "takes each file less its mean (a DC offset) and leaves out "
                       "near-copies of a file (the same recording under another name, format or rate: held out "
                       "beside its copy in training, it flatters the held-out bits)"),
                   3: ("2026-12-06T20:58:00+0000", "leaves out near-copies under other names too (a backup at another level, "
                       "one prompt saved under two names)"),
                   4: ("2026-12-07T07:30:00+0000", "tells a copy under another name by its fine spectrum where its "
                       "waveform was filtered otherwise (a prompt's .g722 and its 8 kHz .wav), and holds out no file "
                       "too short to be scored")}
NEAR_COPY_ADVICE = ("; if they are different recordings (the same words read the same way by two voices), pass "
                    "--keep-near-copies (keep_near_copies=True) to keep both")


@dataclasses.dataclass(frozen=True)
class Segment:
    """A stretch of one source file inside a split's array."""

    start: int
    length: int
    source: str
    label: str = None
    frames_start: int = None


class Dataset:
    """A dataset folder opened for reading; arrays are memory-mapped."""

    def __init__(self, path, metadata, stamp=None):
        self.path = Path(path).absolute()  # its arrays are mapped when first read: after a chdir too
        self.metadata = metadata
        self.audio_config = AudioConfig.from_dict(metadata["audio"], source=str(self.path / METADATA_NAME))
        self._arrays = {}
        self._stamp = stamp  # its metadata file's, as read (None: not checked)
        # The files left out as another format of a file read ({left out: read}): as its build recorded them, or,
        # where build_dataset reused it, as the inputs lie now (a lower-rate copy put beside one changes nothing)
        self.other_formats = dict(metadata.get("other_formats") or {})

    def _check_unchanged(self):
        """Refuse to map the arrays of a folder built again since it was opened (they would be the new
        dataset's, read with this one's metadata, or shorter than it says)."""
        if self._stamp is None or _metadata_stamp(self.path) == self._stamp:
            return
        try:
            now = json.loads((self.path / METADATA_NAME).read_text())
        except (OSError, ValueError):
            now = None
        if now != self.metadata:
            raise DatasetError(f"dataset '{self.path}' was {'removed' if now is None else 'built again'} since "
                               f"it was opened: open it again (audiornn.open_dataset('{self.path}')) to read it as "
                               f"it is now")
        self._stamp = _metadata_stamp(self.path)  # (the same metadata written again)

    @property
    def feature_config(self):
        """The spectrogram features' :class:`~audiornn.features.FeatureConfig`, or None without features."""
        from .features import FeatureConfig

        values = self.metadata.get("features")
        return None if values is None else FeatureConfig.from_dict(values, source=str(self.path / METADATA_NAME))

    def frames(self, split):
        """The float16 spectrogram frames of ``split`` as a read-only memory map ``(frames, bands)``."""
        _check_split(split)
        key = ("frames", split)
        if key not in self._arrays:
            self._check_unchanged()
            shape = (int(self.metadata["splits"][split]["frames"]), self.feature_config.bands)
            self._arrays[key] = np.zeros(shape, np.float16) if shape[0] == 0 else np.memmap(
                self.path / FEATURE_FILES[split], dtype=np.float16, mode="r", shape=shape)
        return self._arrays[key]

    @property
    def labels(self):
        """The label names, sorted; empty for an unlabelled dataset."""
        return list(self.metadata.get("labels", []))

    def array(self, split):
        """The uint8 classes of ``split`` as a read-only memory map, shape ``(samples,)``."""
        _check_split(split)
        if split not in self._arrays:
            self._check_unchanged()
            samples = self.samples(split)
            if samples == 0:
                self._arrays[split] = np.zeros(0, dtype=np.uint8)
            else:
                self._arrays[split] = np.memmap(self.path / SPLIT_FILES[split], dtype=np.uint8,
                                                mode="r", shape=(samples,))
        return self._arrays[split]

    def samples(self, split):
        _check_split(split)
        return int(self.metadata["splits"][split]["samples"])

    def segments(self, split):
        """The source stretches of ``split``, in array order."""
        _check_split(split)
        labelled = bool(self.labels)
        return [Segment(entry["start"], entry["samples"], entry["path"], entry["label"] if labelled else None,
                        entry.get("frames_start"))
                for entry in self.metadata["sources"] if entry["split"] == split]

    def seconds(self, split):
        return self.samples(split) / self.audio_config.sample_rate

    def __repr__(self):
        labels = f", labels {shown_labels(self.labels)}" if self.labels else ""
        return (f"Dataset('{self.path}', {self.audio_config.sample_rate} Hz, "
                f"train {self.seconds('train'):.1f} s, validation {self.seconds('validation'):.1f} s{labels})")


def _audio_folder_hint(folder):
    """Where ``folder`` holds audio files: that train builds a dataset of them (the command line's train does, the
    library's takes a dataset)."""
    try:
        audio = any(entry.suffix.lower() in audio_extensions() for entry in Path(folder).iterdir())
    except OSError:
        return ""
    return (f"; '{folder}' holds audio files: build a dataset of them first (the command line's 'train "
            f"{folder} --output RUN' builds it in the run)") if audio else ""


def _metadata_stamp(folder):
    """The metadata file's identity and last change, or None where it is gone."""
    try:
        status = (Path(folder) / METADATA_NAME).stat()
    except OSError:
        return None
    return status.st_ino, status.st_mtime_ns, status.st_size


def _check_split(split):
    if split not in SPLITS:
        raise ParameterError(f"split must be one of {SPLITS}, got {split!r}")


def plan_validation(lengths, labels, *, fraction, shortest=0):
    """Choose the validation audio, deterministically.

    With several files, whole files are held out, picked in an order fixed by
    a hash of their labels until they reach ``fraction`` of the audio; with
    one file (or when no whole file fits), the tail of the last one is. A file
    under ``shortest`` samples (a training window: too short to be scored) is
    not held out, nor its tail while a longer file is there.
    Returns a list of ``(index, first_validation_sample)``: samples of file
    ``index`` from that offset on are validation, those before are training.
    """
    lengths = [int(length) for length in lengths]
    total = sum(lengths)
    target = fraction * total
    plan = {index: length for index, length in enumerate(lengths)}  # all training
    if fraction == 0 or total == 0:
        return sorted(plan.items())
    if len(lengths) > 1:
        order = sorted(range(len(lengths)),
                       key=lambda index: hashlib.sha256(labels[index].encode(errors="surrogateescape")).hexdigest())
        held = 0
        for index in order:
            if held >= target:
                break
            # Take a file when it does not overshoot the target by more than half,
            # and always keep at least one training file.
            remaining_training = sum(1 for value in plan.values() if value > 0)
            if held + lengths[index] <= 1.5 * target and remaining_training > 1 and lengths[index] >= shortest:
                plan[index] = 0
                held += lengths[index]
        if held > 0:
            return sorted(plan.items())
    last = max([index for index, length in enumerate(lengths) if length >= shortest], default=len(lengths) - 1)
    plan[last] = lengths[last] - max(1, int(round(target)))
    if plan[last] < 1:
        raise DatasetError(
            f"validation fraction {fraction} leaves no training audio: lower --validation-fraction")
    return sorted(plan.items())


def _timestamp(text):
    """A "created" timestamp as an aware datetime (one written without an offset read as UTC), or None where it
    is not one."""
    import datetime

    if not isinstance(text, str):
        return None
    for layout in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"):
        try:
            when = datetime.datetime.strptime(text, layout)
        except ValueError:
            continue
        return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)
    return None


def builder_at(created):
    """The builder's revision when a dataset was created (``created`` as its metadata has it): 1 before the first
    recorded change, or where it cannot be read (building it again is what is safe)."""
    when = _timestamp(created)
    return max([revision for revision, (since, _) in BUILDER_CHANGES.items()
                if when is not None and when >= _timestamp(since)], default=1)


def dataset_builder(metadata):
    """The revision of the builder that made a dataset (``metadata``: its metadata.json): recorded since it was
    (``builder``), else read from when it was created."""
    recorded = metadata.get("builder")
    if isinstance(recorded, (int, float, str)) and not isinstance(recorded, bool):
        try:
            return int(recorded)
        except ValueError:
            pass
    return builder_at(metadata.get("created"))


def builder_news(since):
    """What the builder has done differently since revision ``since``."""
    return "; ".join(change for revision, (_, change) in sorted(BUILDER_CHANGES.items()) if revision > since)


def _recipe(files, audio_config, validation_fraction, trim_silence_db, feature_config=None, keep_near_copies=False):
    """A fingerprint of everything that decides a dataset's content."""
    stats = []
    for path, name, label in files:
        info = path.stat()
        stats.append([str(path.resolve()), name, info.st_size, info.st_mtime_ns] + ([label] if label else []))
    recipe = {
        "audio": {key: value for key, value in audio_config.to_dict().items() if key != "level"},
        "validation_fraction": validation_fraction,
        "trim_silence_db": trim_silence_db,
        "files": stats,
        **({"features": feature_config.to_dict()} if feature_config else {}),
        **({"keep_near_copies": True} if keep_near_copies else {}),  # (datasets built before it had none)
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def check_build_parameters(validation_fraction, trim_silence_db):
    """Refuse a validation share outside [0, 0.5] or a trim level that is not a positive number of decibels."""
    if isinstance(validation_fraction, bool) or not isinstance(validation_fraction, (int, float)) \
            or not 0.0 <= validation_fraction <= 0.5:
        raise ParameterError(
            f"{option('validation_fraction')} must be a number from 0 to 0.5, got {validation_fraction!r}")
    if trim_silence_db is not None and (isinstance(trim_silence_db, bool) or not isinstance(
            trim_silence_db, (int, float, np.number)) or not np.isfinite(trim_silence_db) or trim_silence_db <= 0):
        raise ParameterError(
            f"{option('trim_silence_db')} must be a positive number of decibels (for example 40), "
            f"got {trim_silence_db!r}")


def is_dataset(folder):
    """True when ``folder`` holds an audiornn dataset (its ``metadata.json`` says so; the files are not checked)."""
    try:
        metadata = json.loads((Path(folder) / METADATA_NAME).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(metadata, dict) and metadata.get("format") == FORMAT


def _given(value):
    return "not given" if value is None else value


def _patterns(patterns):
    return " ".join(repr(pattern) for pattern in patterns) if patterns else "not given"


def _what_differs(existing, recipe):
    """What sets the dataset ``existing`` (its metadata) apart from the build asked for, ``recipe`` (the settings
    and the files, as :func:`build_dataset` has them): the settings that differ, the files added or gone, or
    else files edited since (their sizes or dates, which only the fingerprint keeps)."""
    said = []
    then_audio = existing.get("audio") or {}
    for key, value in recipe["audio"].to_dict().items():
        if key != "level" and key in then_audio and then_audio[key] != value:
            said.append(f"{option(key)} {then_audio[key]} then, {value} now")
    for key in ("validation_fraction", "trim_silence_db"):
        if key in existing and existing[key] != recipe[key]:
            said.append(f"{option(key)} {_given(existing[key])} then, {_given(recipe[key])} now")
    if bool(existing.get("keep_near_copies")) != bool(recipe.get("keep_near_copies")):
        said.append("--keep-near-copies " + ("given then, not now" if existing.get("keep_near_copies") else
                                             "not given then, given now"))
    if list(existing.get("exclude") or []) != list(recipe.get("exclude") or []):
        said.append(f"--exclude {_patterns(existing.get('exclude'))} then, {_patterns(recipe.get('exclude'))} now")
    features = recipe["features"].to_dict() if recipe["features"] else None
    if existing.get("features") != features:
        kinds = [config["kind"] if config else "none" for config in (existing.get("features"), features)]
        said.append(f"--features {kinds[0]} then, {kinds[1]} now" if kinds[0] != kinds[1] else
                    "the features' settings differ")
    if bool(existing.get("labels")) != bool(recipe["labels"]) or (
            existing.get("labels") and list(existing["labels"]) != list(recipe["labels"])):
        said.append(f"labels {existing.get('labels') or 'none'} then, {list(recipe['labels']) or 'none'} now")
    # As the fingerprint has them: resolved (a folder given once as 'rec' and once by its full path is the same)
    then = {os.path.realpath(entry["path"]) for entry in existing.get("sources", [])} | {
        os.path.realpath(path) for paths in (existing.get("skipped") or {}).values() for path in paths}
    now = {os.path.realpath(path) for path, _, _ in recipe["files"]}
    for change, paths in (("new", sorted(now - then)), ("gone", sorted(then - now))):
        if paths:
            said.append(f"{len(paths)} file(s) {change}: {some_named(paths)}")
    if not said and existing.get("format_version") != recipe["version"]:
        said.append(f"dataset format version {existing.get('format_version')} then, {recipe['version']} now")
    if not said:
        said.append("the same files and settings, but a file's size or date has changed since (edited or replaced)")
    return "; ".join(said)


def _existing_dataset_action(output, fingerprint, overwrite, version=FORMAT_VERSION, recipe=None):
    """Decide what to do with what is already at ``output``: ``("build", None)``, ``("reuse", the dataset there,
    opened)`` or refuse (``recipe``: what the build asks for, to say what differs; see :func:`_what_differs`)."""
    if not output.exists():
        return "build", None
    if not output.is_dir():
        raise DatasetError(f"output '{output}' is a file, not a folder: choose another --output")
    if not any(output.iterdir()):
        return "build", None
    metadata_path = output / METADATA_NAME
    if not metadata_path.is_file():
        raise DatasetError(
            f"output folder '{output}' is not empty and holds no audiornn dataset: "
            f"choose another --output (nothing was changed)")
    try:
        existing = json.loads(metadata_path.read_text())
    except (OSError, ValueError):
        existing = {}
    if not isinstance(existing, dict) or existing.get("format") != FORMAT:
        raise DatasetError(
            f"output folder '{output}' holds a metadata.json that is not an audiornn dataset's: "
            f"choose another --output (nothing was changed)")
    foreign = sorted(entry.name for entry in output.iterdir()
                     if entry.name not in {METADATA_NAME, *SPLIT_FILES.values(), *FEATURE_FILES.values()})
    same = existing.get("recipe_fingerprint") == fingerprint and existing.get("format_version") == version
    builder = dataset_builder(existing)
    if same and builder < BUILDER:  # the same files and settings, made otherwise
        if not overwrite:
            created = str(existing.get("created", "?"))[:10]
            raise DatasetError(f"output folder '{output}' holds a dataset of the same files and settings built "
                               f"({created}) by an older audiornn; today's {builder_news(builder)}: "
                               f"build it into another --output (runs trained on this one go on resuming on it), or "
                               f"again here with --overwrite (overwrite=True), after which they cannot (nothing was "
                               f"changed)")
    elif same:
        try:
            return "reuse", open_dataset(output)
        except DatasetError as damage:  # the same inputs, but its files cut short or gone: made again
            if foreign:
                raise DatasetError(f"{damage}; it also holds {', '.join(foreign[:5])}, which are not part of it: "
                                   f"move them away and build it again (nothing was changed)") from None
            logger.warning("building '%s' again from its inputs, as it is damaged (%s)", output, damage)
            return "build", None
    if overwrite and foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        raise DatasetError(
            f"output folder '{output}' holds a dataset and also {shown}, which are not part of it: "
            f"--overwrite replaces only a dataset's own files; move the others away first (nothing was changed)")
    if overwrite:
        return "build", None
    differs = _what_differs(existing, recipe) if recipe is not None else "other inputs or settings"
    raise DatasetError(
        f"output folder '{output}' already holds a different dataset ({differs}): "
        f"choose another --output or pass --overwrite (overwrite=True) to replace it")


def _encode_files(files, pool_path, audio_config, trim_silence_db, strict, progress, feature_config=None,
                  keep_near_copies=False):
    """Encode every readable file end to end into ``pool_path``.

    Returns ``(used, skipped, messages)``: ``used`` lists dicts with label,
    path, rate, channels, samples and gain; ``skipped`` maps a reason to file
    names; ``messages`` are the warnings, one per skipped file.
    """
    used, skipped, messages = [], {}, []
    seen, first_read = {}, {}  # (the audio's digest, label) -> path; digest -> (path, label) of its first
    recordings = _Recordings(audio_config)
    pool_position = frames_position = 0
    frame_pool = open(pool_path.with_suffix(".f16"), "wb") if feature_config else None
    with contextlib.ExitStack() if frame_pool is None else frame_pool, open(pool_path, "wb") as pool, tqdm(
            total=len(files), unit="file", desc="encoding", disable=bar_disabled(progress),
            leave=False) as bar:
        for path, name, label in files:
            try:
                if _file_size(path) >= LONG_FILE_BYTES:  # the bar counts files: it stands still meanwhile
                    logger.info("reading '%s' (%s): the bar moves on once it is encoded", path, file_size_text(path))
                mono, rate, channels, peak, path = _read_or_another_format(path, strict)
                try:
                    classes, gain, *frames = prepare_audio(mono, rate, audio_config=audio_config,
                                                           trim_silence_db=trim_silence_db, source=f"'{path}'",
                                                           features=feature_config, peak=peak)
                except MemoryError:
                    raise AudioFileError(f"'{path}' is too long to prepare in this machine's free memory "
                                         f"({mono.size / rate / 60:.0f} minutes at {rate} Hz): {CUT_ADVICE}",
                                         reason="too_large") from None
                finally:
                    del mono  # (the pieces of a long recording are not held beside the next one)
                if classes.size < 2:
                    raise AudioFileError(f"'{path}' is too short: under 2 samples at "
                                         f"{audio_config.sample_rate} Hz after trimming", reason="too_short")
            except AudioFileError as error:
                if strict:
                    raise AudioFileError(f"{error} (--strict stops at the first bad file; "
                                         f"leave it out to skip bad files)", reason=error.reason) from None
                logger.warning("%s: skipped", error)
                messages.append(str(error))
                skipped.setdefault(error.reason, []).append(str(path))
            else:
                digest = hashlib.sha256(classes.tobytes()).hexdigest()
                same, near, fingerprint = "the same audio", None, None
                if (digest, label) not in seen and digest not in first_read:
                    near, fingerprint, alike = recordings.find(classes, Path(path).stem) if not keep_near_copies \
                        else (None, None, None)
                    if near is not None:  # another format, rate or level of a file read already
                        what = "another format, rate or level of it" \
                            if Path(first_read[near][0]).stem == Path(path).stem else \
                            "a copy under another name, at another level, format or rate"
                        digest, same = near, (f"what sounds like the same recording (its coarse spectrogram moves "
                                              f"with that file's, correlation {alike:.2f}; {what})")
                if (digest, label) in seen:  # a copy (a backup folder, another name): it would be learned twice,
                    # or held out beside itself in training
                    kept = None if near is None else next(entry for entry in used
                                                          if entry["path"] == str(seen[digest, label]))
                    if kept is None or rate <= kept["original_rate"]:
                        logger.warning("'%s' holds %s as '%s': skipped (a copy is learned twice, and one held out "
                                       "for validation would score audio the model trained on)%s", path, same,
                                       seen[digest, label], "" if near is None else NEAR_COPY_ADVICE)
                        skipped.setdefault(DUPLICATE, []).append(str(path))
                        bar.update(1)
                        continue
                    # The copy at the higher rate is the better one: it takes the place of the one read first
                    logger.warning("'%s' (%d Hz) holds %s as '%s' (%d Hz): skipped, and the copy at the higher "
                                   "rate read in its place%s", kept["path"], kept["original_rate"], same, path, rate,
                                   NEAR_COPY_ADVICE)
                    skipped.setdefault(DUPLICATE, []).append(kept["path"])
                    used.remove(kept)  # (its bytes stay in the pool, unread)
                    if first_read.get(digest, (None,))[0] == seen[digest, label]:
                        first_read[digest] = (path, label)
                elif digest in first_read:  # under another label: kept, as which label is right is not known
                    logger.warning("'%s' (label %s) holds %s as '%s' (label %s): one recording under two labels is "
                                   "learned under both, and may be held out under one while trained on under the "
                                   "other; give it one label", path, label, same, *first_read[digest])
                elif not keep_near_copies:
                    recordings.add(Path(path).stem, classes.size, fingerprint if fingerprint is not None
                                   else recordings.fingerprint(classes), digest, classes)
                first_read.setdefault(digest, (path, label))
                seen[digest, label] = path
                pool.write(classes.tobytes())
                if frames:
                    frame_pool.write(frames[0].astype(np.float16).tobytes())
                used.append({"path": str(path), "name": name, "label": label, "original_rate": rate,
                             "channels": int(channels), "samples": int(classes.size),
                             "gain": float(gain), "pool_start": pool_position, "frames_pool_start": frames_position})
                pool_position += classes.size
                frames_position += frames[0].shape[0] if frames else 0
            bar.update(1)
            bar.set_postfix(minutes=f"{sum(entry['samples'] for entry in used) / audio_config.sample_rate / 60:.1f}")
    _warn_if_made_by_audiornn([entry["path"] for entry in used])
    return used, skipped, messages


def _warn_if_made_by_audiornn(paths):
    """Say which of the files kept were written by audiornn's generate or vocode (their WAVs say so): a model's own
    output, left in an input folder, is trained on as if it were a recording."""
    from .sink import made_by_audiornn

    made = {path: made_by_audiornn(path) for path in paths}
    made = {path: command_name for path, command_name in made.items() if command_name}
    if made:
        logger.warning("%s %s written by audiornn (%s), not recorded: a model trained on a model's output learns its "
                       "faults as if they were the recordings'; leave %s out of the INPUT unless that is meant",
                       some_named(list(made)), "was" if len(made) == 1 else "were",
                       " and ".join(sorted(set(made.values()))), "it" if len(made) == 1 else "them")


LONG_FILE_BYTES = 200 * 10 ** 6  # a file this large is said as it is read (20 minutes of 48 kHz stereo)


def _file_size(path):
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def _read_or_another_format(path, strict):
    """``(mono, rate, channels, peak, path)`` of ``path`` (:func:`audiornn.audio_io.read_mono`), or where it cannot
    be read (and not ``strict``), of the same recording beside it in another format, of its length
    (``interview.mp3`` beside a damaged ``interview.flac``: the search took the one of the higher rate), said in a
    warning; the first error where none can be read."""
    try:
        return (*read_mono(path, strict=strict), path)
    except AudioFileError as error:
        if strict:  # --strict stops at the first bad file
            raise
        extensions, length = audio_extensions(), file_duration(Path(path))
        others = sorted(other for other in Path(path).parent.glob("*") if other != Path(path)
                        and other.stem == Path(path).stem and other.suffix.lower() in extensions)
        for other in others:
            theirs = file_duration(other)
            if length is not None and theirs is not None and abs(theirs - length) > SAME_LENGTH * max(length, theirs):
                continue  # another take, or a copy cut short: not this recording
            try:
                read = read_mono(other, strict=strict)
            except AudioFileError:
                continue
            logger.warning("%s: read '%s', the same recording in another format, instead", error, other)
            return (*read, other)
        raise


class _Recordings:
    """The files read so far by name, length and coarse spectrogram, to tell one recording under one name in two
    files that are not byte for byte the same (:data:`SAME_RECORDING_CORRELATION`)."""

    def __init__(self, audio_config):
        import librosa

        self.rate = rate = audio_config.sample_rate
        self.mu = audio_config.mu
        self.hop = max(1, int(round(FINGERPRINT_SECONDS * rate)))
        self.bank = librosa.filters.mel(sr=rate, n_fft=4 * self.hop, n_mels=FINGERPRINT_BANDS,
                                        fmax=min(rate / 2, FINGERPRINT_TOP_HZ)).astype(np.float32)
        self.window = np.hanning(4 * self.hop + 1)[:-1].astype(np.float32)  # periodic Hann, as librosa's
        self.by_name = {}  # a file's name without its folder and extension -> [(samples, fingerprint, key)]
        # every file's length, name, loudness contour (zeros where too short or steady) and entry, for other names
        self.sizes, self.names = np.zeros(64), np.zeros(64, np.int64)
        self.contours, self.entries, self.name_ids = np.zeros((64, CONTOUR_BLOCKS), np.float32), [], {}
        self.excerpts = []  # each entry's waveform excerpt (classes), or None
        self.planes = np.random.default_rng(0).standard_normal((CONTOUR_BLOCKS, CONTOUR_TABLES * CONTOUR_BITS))
        self.tables = [{} for _ in range(CONTOUR_TABLES)]  # a contour's hash -> the entries that have it

    def fingerprint(self, classes):
        """Log power in the mel bands of 20 ms frames, ``(frames, bands)`` float32, made a few thousand frames
        at a time; None for a file under 4 frames."""
        import librosa

        if classes.size < 4 * self.hop:
            return None
        frames = librosa.util.frame(dsp.mu_law_decode(classes, mu=self.mu).astype(np.float32),
                                    frame_length=4 * self.hop, hop_length=self.hop, axis=0)
        return np.concatenate([
            np.log10(np.abs(np.fft.rfft(frames[start:start + 4096] * self.window, axis=1)) ** 2 @ self.bank.T
                     + 1e-6) for start in range(0, len(frames), 4096)]).astype(np.float32)

    def find(self, classes, name):
        """``(key, fingerprint, correlation)``: the key of the first file read that is the same recording as
        ``classes`` (or None) and how alike they move, and ``classes``' fingerprint for :meth:`add`: of its
        ``name`` from :data:`SAME_RECORDING_CORRELATION`, else of another name from :data:`OTHER_NAME_CORRELATION`.
        All the files of its name and length are compared at once (a corpus cut into ``chunk_0001.wav`` in
        every folder has thousands); of other names, the few whose loudness moves with it
        (:meth:`_of_other_names`)."""
        peers = [entry for entry in self.by_name.get(name, ())
                 if entry[1] is not None and abs(entry[0] - classes.size) <= SAME_LENGTH * max(entry[0], classes.size)]
        mine = self.fingerprint(classes) if peers or self.entries else None
        if mine is None:
            return None, mine, None
        found = self._alike(mine, peers, SAME_RECORDING_CORRELATION) if peers else (None, None)
        if found[0] is None:
            indices = self._of_other_names(mine, classes.size, name)
            excerpt = self.excerpt(classes, mine)
            found = self._alike(mine, [self.entries[index] for index in indices], OTHER_NAME_CORRELATION,
                                lambda peer: self.waveforms_alike(excerpt, self.excerpts[indices[peer]]))
        return found[0], mine, found[1]

    def excerpt(self, classes, fingerprint):
        """:data:`EXCERPT` of ``classes`` around the loudest frame of their ``fingerprint``."""
        centre = int(np.argmax(np.sum(10.0 ** np.asarray(fingerprint, np.float64), axis=1))) * self.hop + 2 * self.hop
        start = max(0, min(classes.size - EXCERPT, centre - EXCERPT // 2))
        return np.array(classes[start:start + EXCERPT], np.uint8)

    def waveforms_alike(self, one, other):
        """Whether two :meth:`excerpt` s are one recording: one waveform (at another level, or polarity) at their
        best lag, normalised cross-correlation from :data:`WAVEFORM_CORRELATION`, or, filtered otherwise, their
        fine spectra at that lag, from :data:`SPECTRUM_CORRELATION`."""
        import scipy.signal

        if one is None or other is None:
            return False
        first, second = (dsp.mu_law_decode(excerpt, mu=self.mu).astype(np.float64) for excerpt in (one, other))
        first, second = first - first.mean(), second - second.mean()
        norms = np.linalg.norm(first) * np.linalg.norm(second)
        if norms <= 1e-9:
            return False
        moved = scipy.signal.correlate(first, second, method="fft")
        best = int(np.argmax(np.abs(moved)))
        if float(np.abs(moved[best])) / norms >= WAVEFORM_CORRELATION:
            return True
        lag = best - (second.size - 1)  # first[n + lag] goes with second[n]
        first, second = first[max(lag, 0):], second[max(-lag, 0):]
        size = min(first.size, second.size)
        window = min(2 ** int(np.ceil(np.log2(0.064 * self.rate))), EXCERPT // 4)  # (a lag of half the excerpt)
        if size < 2 * window:
            return False
        spectra = [scipy.signal.stft(part[:size], self.rate, nperseg=window, noverlap=3 * window // 4)
                   for part in (first, second)]
        power = [10 * np.log10(np.abs(spectrum) ** 2 + 1e-12) for _, _, spectrum in spectra]
        bins = spectra[0][0]
        loud = np.maximum(*power) > max(power[0].max(), power[1].max()) - 50
        kept = ((bins >= 100) & (bins <= 3400))[:, None] & loud
        if np.count_nonzero(kept) < 16:
            return False
        return float(np.corrcoef(power[0][kept], power[1][kept])[0, 1]) >= SPECTRUM_CORRELATION

    def _of_other_names(self, mine, size, name):
        """The indices (in ``entries``) of the files of names other than ``name``, of about ``size``, whose loudness contour moves with
        fingerprint ``mine``'s (:data:`CONTOUR_CANDIDATE`), the likeliest :data:`CONTOUR_PEERS` of them."""
        contour = self.contour(mine)
        if not self.entries or not contour.any():
            return []
        indices = np.array(sorted({index for table, key in zip(self.tables, self.hashes(contour))
                                   for index in table.get(key, ())}), np.int64)
        if not indices.size:
            return []
        sizes = self.sizes[indices]
        indices = indices[(np.abs(sizes - size) <= SAME_LENGTH * np.maximum(sizes, size))
                          & (self.names[indices] != self.name_ids.get(name, -1))]
        scores = self.contours[indices] @ contour
        likely = scores >= CONTOUR_CANDIDATE
        return [int(index) for index in
                indices[likely][np.argsort(-scores[likely], kind="stable")][:CONTOUR_PEERS]]

    def hashes(self, contour):
        """A contour's hash in each table: the signs of its projections, as whole numbers."""
        bits = (contour.astype(np.float64) @ self.planes > 0).reshape(CONTOUR_TABLES, CONTOUR_BITS)
        return [int(row @ (1 << np.arange(CONTOUR_BITS))) for row in bits]

    @staticmethod
    def contour(fingerprint):
        """A fingerprint's loudness over time in 100 ms blocks, the first :data:`CONTOUR_BLOCKS`, less its mean and
        of length 1 (zeros where under 4 blocks or steady), padded with zeros to :data:`CONTOUR_BLOCKS`."""
        made = np.zeros(CONTOUR_BLOCKS, np.float32)
        blocks = min(len(fingerprint) // CONTOUR_FRAMES, CONTOUR_BLOCKS)
        if blocks < 4:
            return made
        level = np.asarray(fingerprint[:blocks * CONTOUR_FRAMES], np.float64).mean(axis=1)
        level = level.reshape(blocks, CONTOUR_FRAMES).mean(axis=1)
        level -= level.mean()
        norm = np.linalg.norm(level)
        if norm > 1e-3 * np.sqrt(blocks):  # (a steady noise: nothing to tell it by)
            made[:blocks] = level / norm
        return made

    def _alike(self, mine, peers, least, confirmed=None):
        """``(key, correlation)`` of the first of ``peers`` whose fingerprint moves with ``mine`` from ``least``
        (the likeliest first where ``confirmed(index in peers)`` must say so too), else ``(None, None)``."""
        if not peers:
            return None, None
        scores = np.zeros(len(peers))
        by_length = {}
        for index, entry in enumerate(peers):
            by_length.setdefault(len(entry[1]), []).append(index)
        for frames, indices in by_length.items():
            at_once = max(1, PEER_VALUES // (frames * FINGERPRINT_BANDS))  # thousands of long files would not fit
            for start in range(0, len(indices), at_once):
                some = indices[start:start + at_once]
                scores[some] = self.similarities(mine, np.stack([peers[index][1] for index in some]))
        alike = np.flatnonzero(scores >= least)
        if confirmed is not None:
            alike = [index for index in alike[np.argsort(-scores[alike], kind="stable")] if confirmed(index)]
        return (peers[alike[0]][2], float(scores[alike[0]])) if len(alike) else (None, None)

    def add(self, name, size, fingerprint, key, classes=None):
        """Record a file read (``classes``, where given, for the waveform a file of another name is checked by)."""
        entry = (size, fingerprint, key)
        self.by_name.setdefault(name, []).append(entry)
        if fingerprint is None:
            return
        count = len(self.entries)
        if count == len(self.sizes):  # (room doubled: thousands of files are added one by one)
            self.sizes, self.names = np.resize(self.sizes, 2 * count), np.resize(self.names, 2 * count)
            self.contours = np.concatenate([self.contours, np.zeros_like(self.contours)])
        self.sizes[count], self.names[count] = size, self.name_ids.setdefault(name, len(self.name_ids))
        self.contours[count] = self.contour(fingerprint)
        if self.contours[count].any():
            for table, key in zip(self.tables, self.hashes(self.contours[count])):
                table.setdefault(key, []).append(count)
        self.entries.append(entry)
        self.excerpts.append(None if classes is None else self.excerpt(classes, fingerprint))

    @staticmethod
    def similarities(one, others):
        """How alike fingerprint ``one`` moves with each of ``others`` (``(files, frames, bands)``, one length):
        the correlation of their log powers less each band's mean and each frame's, over the shorter's frames, at
        the best shift of up to :data:`SHIFT_FRAMES` frames; 0 where either holds still.

        Only ``one``'s window is centred: centring is a projection, so its product with another's window is the
        product with that window as it is, and each window's own length comes from running sums (its squares,
        each frame's sum, each band's sum), made once for all the shifts."""
        others = np.asarray(others, np.float64)
        count, length, bands = others.shape
        zero = np.zeros((count, 1))
        squares = np.concatenate([zero, np.cumsum(np.sum(others ** 2, axis=2), axis=1)], axis=1)
        rows = np.sum(others, axis=2)
        row_squares = np.concatenate([zero, np.cumsum(rows ** 2, axis=1)], axis=1)
        columns = np.concatenate([np.zeros((count, 1, bands)), np.cumsum(others, axis=1)], axis=1)
        best = np.zeros(count)
        for shift in range(-SHIFT_FRAMES, SHIFT_FRAMES + 1):
            start, other_start = (shift, 0) if shift >= 0 else (0, -shift)
            frames = min(len(one) - start, length - other_start)
            if frames < 4:
                continue
            mine = np.asarray(one[start:start + frames], np.float64)
            mine = mine - mine.mean(axis=0)
            mine = (mine - mine.mean(axis=1, keepdims=True)).ravel()
            end = other_start + frames
            window = others[:, other_start:end].reshape(count, frames * bands)
            sums = columns[:, end] - columns[:, other_start]  # each band's sum over the window
            theirs = (squares[:, end] - squares[:, other_start]
                      - (row_squares[:, end] - row_squares[:, other_start]) / bands
                      - np.sum(sums ** 2, axis=1) / frames + np.sum(sums, axis=1) ** 2 / (frames * bands))
            lengths = np.linalg.norm(mine), np.sqrt(np.maximum(theirs, 0.0))
            still = np.minimum(lengths[0], lengths[1]) <= 1e-6 * np.sqrt(mine.size)
            correlation = (window @ mine) / np.where(still, 1.0, lengths[0] * lengths[1])
            best = np.maximum(best, np.where(still, 0.0, correlation))
        return best

    @classmethod
    def similarity(cls, one, other):
        """:meth:`similarities` of two fingerprints."""
        return float(cls.similarities(one, np.asarray(other)[None])[0])


def _write_splits(folder, pool_path, used, plan, labelled, feature_config=None):
    """Copy each file's classes (and frames) from the pools into the split arrays; fill the offsets."""
    pool = np.memmap(pool_path, dtype=np.uint8, mode="r") if used else np.zeros(0, np.uint8)
    sources, offsets = [], {split: 0 for split in SPLITS}
    frame_offsets = {split: 0 for split in SPLITS}
    if feature_config:
        bands, hop = feature_config.bands, feature_config.hop
        frame_pool = np.memmap(pool_path.with_suffix(".f16"), dtype=np.float16, mode="r").reshape(-1, bands)
    with contextlib.ExitStack() as files:
        handles = {split: files.enter_context(open(folder / SPLIT_FILES[split], "wb")) for split in SPLITS}
        frame_handles = {split: files.enter_context(open(folder / FEATURE_FILES[split], "wb"))
                         for split in SPLITS} if feature_config else {}
        for (index, cut), entry in zip(plan, used):
            position, frame_position = entry["pool_start"], entry["frames_pool_start"]  # (a copy replaced: gaps)
            pieces = (("train", 0, cut), ("validation", cut, entry["samples"]))
            for split, begin, end in pieces:
                if end <= begin:
                    continue
                for chunk in range(position + begin, position + end, _COPY_CHUNK):
                    handles[split].write(pool[chunk:min(position + end, chunk + _COPY_CHUNK)].tobytes())
                names = {"name": entry["name"], "label": entry["label"]} if labelled or feature_config \
                    else {"label": entry["name"]}
                if feature_config:  # begin is a multiple of hop (plan_validation cuts there)
                    first, count = frame_position + begin // hop, frame_count(end - begin, hop)
                    frame_handles[split].write(np.ascontiguousarray(frame_pool[first:first + count]).tobytes())
                    names.update(frames_start=frame_offsets[split], frames=count)
                    frame_offsets[split] += count
                sources.append({
                    "path": entry["path"], **names, "split": split,
                    "start": offsets[split], "samples": end - begin, "offset_in_file": begin,
                    "original_rate": entry["original_rate"], "channels": entry["channels"],
                    "gain": entry["gain"],
                })
                offsets[split] += end - begin
        for handle in [*handles.values(), *frame_handles.values()]:
            handle.flush()
            os.fsync(handle.fileno())
    del pool
    return sources, offsets, frame_offsets


def build_dataset(inputs, output, *, audio_config=None, validation_fraction=VALIDATION_FRACTION,
                  trim_silence_db=None, strict=False, overwrite=False, progress=True, labels=None, features=None,
                  keep_near_copies=False, exclude=None):
    """Build a dataset folder from audio files and folders; return it opened.

    Labelled datasets: ``inputs`` a dict ``{label: paths}``, or ``labels``
    ``"folders"`` (each input folder's sub-folders are the labels) or the path
    of a CSV list of ``path,label`` rows (:func:`audiornn.labels.labelled_files`).
    The validation split then holds out audio of every label.

    ``features="mel"`` (or a :class:`~audiornn.features.FeatureConfig`) also
    stores spectrogram frames aligned to the samples, what a vocoder is
    conditioned on (:mod:`audiornn.features`).

    Every file is mixed to mono, resampled to ``audio_config.sample_rate``,
    optionally trimmed of silence at both ends, less its mean, pre-emphasised, normalised to
    full scale and μ-law encoded. Unreadable, empty, silent or non-finite
    files are skipped with a warning and counted (``strict`` makes them an
    error). So is a copy of a file already read under its label: the same
    audio, or (``keep_near_copies`` keeps these) a file of the same name and
    length whose coarse spectrogram moves with it (the same recording in
    another format, rate or level; also two voices reading the same words
    the same way, which is why it can be turned off). ``exclude``: glob patterns of files to leave out of the input
    folders (``["silence", "beep*", "*2tone*"]``; :class:`audiornn.audio_io.Exclusion`), recorded in the
    metadata. When ``output`` already holds the same dataset (same files,
    sizes, dates and settings) it is reused; a different one is an error
    unless ``overwrite``. The folder appears only once complete.
    """
    audio_config = as_config(audio_config, AudioConfig, "audio_config")
    if audio_config is None:  # a front end's frames are made at its own rate
        from .features import rate_for

        rate = rate_for(features, None) if isinstance(features, str) else None
        audio_config = AudioConfig() if rate is None else AudioConfig(sample_rate=rate)
    check_build_parameters(validation_fraction, trim_silence_db)
    exclusion = Exclusion(exclude, option("exclude"))
    if not isinstance(output, (str, os.PathLike)) or not str(output):
        raise ParameterError(f"output is the folder to build the dataset in (a path), got {output!r}: "
                             f"build_dataset(inputs, 'datasets/mine')")
    output = Path(output).expanduser()
    with folder_for(output.parent, "the folder that should hold --output", DatasetError):  # gone if it fails
        return _build(inputs, output, audio_config, validation_fraction, trim_silence_db, strict, overwrite,
                      progress, labels, features, bool(keep_near_copies), exclusion)


def _build(inputs, output, audio_config, validation_fraction, trim_silence_db, strict, overwrite, progress, labels,
           features, keep_near_copies=False, exclusion=None):
    """:func:`build_dataset` once its arguments are checked and the folder that holds ``output`` is there."""
    feature_config = _feature_config(features, audio_config)
    other_formats = {}  # {a file left out: the copy in another format read}
    exclusion = exclusion or Exclusion()
    files, label_names = labelled_files(inputs, labels, other_formats, exclusion)
    unmatched = [pattern for pattern, count in exclusion.matched.items() if not count]
    if unmatched:  # (a pattern mistyped leaves in what it was meant to leave out)
        logger.warning("--exclude %s left out no file of the input folders (a pattern without a '/' matches a "
                       "file's or a folder's name, as 'beep*' or 'silence'; one with a '/' the path below the input "
                       "folder, as 'silence/*')", " ".join(repr(pattern) for pattern in unmatched))
    version = LABELLED_FORMAT_VERSION if label_names or feature_config else FORMAT_VERSION
    fingerprint = _recipe(files, audio_config, validation_fraction, trim_silence_db, feature_config,
                          keep_near_copies)
    _put_back_retired(output)  # (then judged as any dataset there: reused when it is up to date)
    action, existing = _existing_dataset_action(output, fingerprint, overwrite, version, recipe={
        "audio": audio_config, "validation_fraction": validation_fraction, "trim_silence_db": trim_silence_db,
        "features": feature_config, "labels": label_names, "files": files, "version": version,
        "keep_near_copies": keep_near_copies, "exclude": exclusion.patterns})
    if action == "reuse":
        logger.info("dataset '%s' is up to date with its inputs; reusing it", output)
        dataset = as_dataset(existing, audio_config=audio_config)
        skipped = {reason: paths for reason, paths in (dataset.metadata.get("skipped") or {}).items()
                   if reason != DUPLICATE}
        if strict and skipped:  # --strict checks the inputs, whether or not the dataset is built again
            shown = ", ".join(f"'{path}'" for paths in skipped.values() for path in paths[:3])
            raise AudioFileError(f"{sum(len(paths) for paths in skipped.values())} input file(s) were skipped when "
                                 f"'{output}' was built ({shown}; reasons: {', '.join(sorted(skipped))}): --strict "
                                 f"stops at bad files; leave it out to skip them")
        dataset.other_formats = other_formats
        return dataset

    existed = output.exists()  # else another build that ends first (another process or cell) is not replaced
    remove_stale_partials(output.parent)  # left by builds that were killed, never by one still running
    _check_space(files, output, audio_config, feature_config, trim_silence_db)
    partial = output.parent / f"{partial_prefix(output.name)}build"
    partial.mkdir()
    with unfinished(partial):  # removed if the command is stopped at once
        try:
            started = time.monotonic()
            pool_path = partial / "pool.u8"
            used, skipped, messages = _encode_files(files, pool_path, audio_config, trim_silence_db,
                                                    strict, progress, feature_config, keep_near_copies)
            if not used:
                shown = "; ".join(messages[:5]) + ("; ..." if len(messages) > 5 else "")
                raise AudioFileError(f"no usable audio among the {len(files)} input file(s): {shown}")
            window = _scored_window(feature_config)
            plan = _plan_by_label(used, label_names, validation_fraction, files,
                                  feature_config.hop if feature_config else 1, window)
            _check_label_sizes(used, plan, label_names, validation_fraction, strict, window)
            _check_validation_length(used, plan, audio_config.sample_rate, feature_config)
            sources, sizes, frames = _write_splits(partial, pool_path, used, plan, bool(label_names), feature_config)
            pool_path.unlink()
            if feature_config:
                pool_path.with_suffix(".f16").unlink()
            metadata = _metadata(used, audio_config, version, label_names, feature_config, validation_fraction,
                                 trim_silence_db, sizes, frames, sources, skipped, fingerprint, keep_near_copies,
                                 other_formats, exclusion.patterns)
            write_json(partial / METADATA_NAME, metadata)
            if not existed and output.exists() and not overwrite:
                _built_meanwhile(partial, output, fingerprint)
            else:
                _move_into_place(partial, output)
        except BaseException as error:
            shutil.rmtree(partial, ignore_errors=True)
            if isinstance(error, OSError) and not isinstance(error, AudioRNNError):
                raise refused_by_machine(DatasetError(
                    f"could not write dataset '{output}': {error} (nothing was left behind; {write_advice(error)} "
                    f"or choose another --output)")) from error
            raise
    dataset = open_dataset(output)
    logger.info("built %r from %d file(s) in %.1f s; skipped %d", dataset, len(used),
                time.monotonic() - started, metadata["skipped_count"])
    _warn_if_short(dataset, output)
    _warn_if_upsampled(used, audio_config, output, feature_config)
    _say_if_all_downsampled(used, audio_config, output, feature_config)
    return dataset


def _check_space(files, output, audio_config, feature_config, trim_silence_db):
    """Refuse a build that cannot fit beside ``output`` before it starts: while it runs it holds every sample
    twice (its pool, and the splits written from it), a byte each, and a vocoder's frames as 16-bit values.
    The inputs' lengths come from their headers; with ``trim_silence_db`` that is at most what is kept, so it
    is only said."""
    seconds = sum(filter(None, (file_duration(Path(path)) for path, _, _ in files)))
    per_sample = 1.0 + (2.0 * feature_config.bands / feature_config.hop if feature_config else 0.0)
    need = 2 * seconds * audio_config.sample_rate * per_sample
    try:
        free = shutil.disk_usage(output.parent).free
    except OSError:
        return
    if need <= free:
        return
    message = (f"building '{output}' needs about {size_text(need)} while it runs ({seconds / 60:,.1f} minutes "
               f"of audio at {audio_config.sample_rate} Hz, held twice: the dataset is about half that) and "
               f"'{output.parent}' has {size_text(free)} free")
    if trim_silence_db is None:
        raise DatasetError(f"{message}: free space or choose another --output (nothing was written)")
    logger.warning("%s: what --trim-silence cuts may make it fit; the build may run out of space", message)


def _warn_if_upsampled(used, audio_config, output, feature_config=None):
    """Warn when files were at a lower rate than the dataset's: resampled up, they hold nothing above half their
    own rate, and a model learns that empty band as part of the sound."""
    lower = [entry for entry in used if entry["original_rate"] < audio_config.sample_rate]
    if lower:
        rates = sorted({entry["original_rate"] for entry in lower})
        shown = ", ".join(Path(entry["path"]).name for entry in lower[:3]) + (", ..." if len(lower) > 3 else "")
        other = "the format fixes the rate" if feature_config is not None and feature_config.format is not None \
            else f"or build at their rate (--sample-rate {rates[0]})"
        # G.722 is 16 kHz: Asterisk's .g722 prompts are the answer for a dataset of 16 kHz, not of 22,050 or 24,000.
        g722 = " (for Asterisk's prompts, the -g722 packages' .g722 files)" \
            if audio_config.sample_rate <= 16000 and rates[0] < 16000 else ""
        logger.warning("%d of the %d file(s) of '%s' (%s) at a lower rate (%s Hz) than its %d Hz: resampled up, "
                       "they hold nothing above half their rate (%s Hz); give recordings made at %d Hz or more%s, %s",
                       len(lower), len(used), output, shown, ", ".join(map(str, rates)), audio_config.sample_rate,
                       ", ".join(f"{rate / 2:g}" for rate in rates), audio_config.sample_rate, g722, other)


def _say_if_all_downsampled(used, audio_config, output, feature_config=None):
    """Say (info) when every file was at a higher rate than the dataset's, so that its band above the dataset's
    half rate was left out (16 kHz .g722 built at the default 8 kHz, silently, as a probe found); a dataset of
    mixed rates built at its lowest is what one expects, and a front end's format fixes the rate."""
    if not used or (feature_config is not None and feature_config.format is not None):
        return
    lowest = min(entry["original_rate"] for entry in used)
    if lowest <= audio_config.sample_rate:
        return
    wider = min(lowest, 16000)
    keep = f" (--sample-rate {wider} keeps it up to {wider / 2:g} Hz)" if wider > audio_config.sample_rate else ""
    logger.info("the %d file(s) of '%s' are all at %d Hz or more, resampled down to its %d Hz: what they hold above "
                "%g Hz is left out%s", len(used), output, lowest, audio_config.sample_rate,
                audio_config.sample_rate / 2, keep)


# Less training audio than this is said to be too little to learn from (the bundled sample holds 56 s), and less
# validation audio than VALIDATION_SAYS_LITTLE to score on.
TRAINING_TOO_LITTLE, VALIDATION_SAYS_LITTLE = 10.0, 1.0


def _warn_if_short(dataset, output):
    """Warn when no training file is as long as one training window at the default length, and when the training
    or the validation audio is too little to learn from or to score on."""
    rate = dataset.audio_config.sample_rate
    training, validation = dataset.samples("train") / rate, dataset.samples("validation") / rate
    if 0 < training < TRAINING_TOO_LITTLE or 0 < validation < VALIDATION_SAYS_LITTLE:
        logger.warning("'%s' holds %.2f s of training audio and %.2f s of validation audio: %s (the bundled sample "
                       "holds 56 s; give a minute or more of recordings)", output, training, validation,
                       " and ".join(what for what, short in (
                           ("a model learns little from so little", training < TRAINING_TOO_LITTLE),
                           ("its scores on so little validation audio say little",
                            0 < validation < VALIDATION_SAYS_LITTLE))
                           if short))
    window = _scored_window(dataset.feature_config)
    longest = max((segment.length for segment in dataset.segments("train")), default=0)
    if longest < window:
        from .config import VOCODER_WINDOW_FRAMES

        logger.warning("the longest training file of '%s' has %d samples, shorter than one training window "
                       "(%d samples at the default --sequence-length%s): training needs longer recordings or a "
                       "shorter --sequence-length", output, longest, window,
                       f", a vocoder's {VOCODER_WINDOW_FRAMES} frames" if dataset.feature_config else "")


def _metadata(used, audio_config, version, label_names, feature_config, validation_fraction, trim_silence_db,
              sizes, frames, sources, skipped, fingerprint, keep_near_copies=False, other_formats=None, exclude=None):
    """A new dataset's ``metadata.json``: its recipe, its splits and sources, what was skipped."""
    level = float(np.median([1.0 / entry["gain"] for entry in used]))
    final_config = dataclasses.replace(audio_config, level=level)
    metadata = {
        "format": FORMAT,
        "format_version": version,
        **({"labels": label_names} if label_names else {}),
        **({"features": feature_config.to_dict()} if feature_config else {}),
        "created_by": f"audiornn {__version__}",
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "builder": BUILDER,
        "audio": final_config.to_dict(),
        "validation_fraction": validation_fraction,
        "trim_silence_db": trim_silence_db,
        **({"keep_near_copies": True} if keep_near_copies else {}),
        **({"exclude": list(exclude)} if exclude else {}),  # the patterns files were left out by
        "splits": {split: {"file": SPLIT_FILES[split], "samples": sizes[split],
                           "seconds": sizes[split] / final_config.sample_rate,
                           **({"features_file": FEATURE_FILES[split], "frames": frames[split]}
                              if feature_config else {})} for split in SPLITS},
        "sources": sources,
        "skipped": skipped,
        "skipped_count": sum(len(paths) for paths in skipped.values()),
        # One recording in several formats is read once, at its highest rate: the files left out, and what was read
        **({"other_formats": dict(sorted(other_formats.items()))} if other_formats else {}),
        "recipe_fingerprint": fingerprint,
    }
    return metadata


def _plan_by_label(used, label_names, fraction, files, align=1, shortest=0):
    """The validation plan (:func:`plan_validation`, files under ``shortest`` samples not held out), made within
    each label so that every label has some; a cut inside a file falls on a multiple of ``align`` samples (a frame
    boundary, with features)."""
    if not label_names:
        plan = plan_validation([entry["samples"] for entry in used], [entry["name"] for entry in used],
                               fraction=fraction, shortest=shortest)
        return [(index, _aligned(cut, used[index], align)) for index, cut in plan]
    plan = {}
    for label in label_names:
        members = [index for index, entry in enumerate(used) if entry["label"] == label]
        if not members:
            shown = ", ".join(f"'{path}'" for path, _, name in files if name == label)
            raise AudioFileError(f"label '{label}' has no usable audio: its file(s) {shown} were all skipped "
                                 f"(see the warnings above)")
        for member, cut in plan_validation([used[index]["samples"] for index in members],
                                           [used[index]["name"] for index in members], fraction=fraction,
                                           shortest=shortest):
            plan[members[member]] = _aligned(cut, used[members[member]], align)
    return sorted(plan.items())


def _scored_window(feature_config):
    """The samples of training's default window (the sequence length + 1; a vocoder's, of its frames)."""
    from .config import VOCODER_WINDOW_FRAMES, TrainConfig

    return (VOCODER_WINDOW_FRAMES * feature_config.hop if feature_config else TrainConfig().sequence_length) + 1


def _check_validation_length(used, plan, rate, feature_config):
    """Warn, at build time, of a validation split too short to score in training's default windows (a file that
    short is not held out, but where every file is, a tail of the last is), rather than leave it to training to
    refuse."""
    from .config import VOCODER_WINDOW_FRAMES

    held = [(entry["samples"] - cut, entry["path"]) for (_, cut), entry in zip(plan, used) if entry["samples"] > cut]
    window = _scored_window(feature_config)
    if not held:
        logger.warning("the dataset holds no validation audio (--validation-fraction 0): training needs some, to "
                       "choose its best epoch, and refuses it; build with a validation fraction above 0 to train on it")
        return
    longest, path = max(held)
    if longest >= window:
        return
    logger.warning("the validation audio is %.3f s, and its longest piece ('%s') %d samples: training scores windows "
                   "of the sequence length + 1 samples (%d by default%s) and refuses a validation split with none "
                   "that long; build from longer recordings, or with another --validation-fraction",
                   sum(length for length, _ in held) / rate, path, longest, window,
                   f", {VOCODER_WINDOW_FRAMES} frames" if feature_config else "")


def _check_label_sizes(used, plan, label_names, fraction, strict, window):
    """Warn about (``strict``: refuse) a label with less training audio than one training window (``window``
    samples, :func:`_scored_window`), or with no validation audio to score it on (with a validation fraction)."""
    for label in label_names:
        cuts = [(used[index]["samples"], cut) for index, cut in plan if used[index]["label"] == label]
        training, validation = sum(cut for _, cut in cuts), sum(samples - cut for samples, cut in cuts)
        problems = ([f"{training} training samples, under one training window ({window})"] if training < window
                    else []) + (["no validation audio to score it on"] if fraction and validation < 2 else [])
        if problems:
            message = (f"label '{label}' has {' and '.join(problems)}: give it longer or more recordings, or leave "
                       f"it out")
            if strict:
                raise DatasetError(message + " (--strict)")
            logger.warning(message)


def _aligned(cut, entry, align):
    """A validation cut in file ``entry`` moved down to a multiple of ``align`` (kept inside the file)."""
    if cut in (0, entry["samples"]) or align == 1:
        return cut
    aligned = cut - cut % align
    if aligned < 1:
        raise DatasetError(f"'{entry['path']}' ({entry['samples']} samples) is held out in part, and its training "
                           f"part would be under one frame ({align} samples): give it a longer recording, leave "
                           f"it out, or lower --validation-fraction")
    return aligned


def _feature_config(features, audio_config):
    """``features`` ("mel", a front end's format, a FeatureConfig or None) as a FeatureConfig for
    ``audio_config``'s rate (a format's must be its own), or None."""
    from .features import FeatureConfig

    from .features import FORMATS, KINDS, rate_for

    if isinstance(features, FeatureConfig) and features.format is not None:
        rate_for(features.kind, audio_config.sample_rate)
    if features is None or isinstance(features, FeatureConfig):
        return features
    if features not in KINDS:
        raise ParameterError(f"features must be one of {', '.join(KINDS)} (or a FeatureConfig), got {features!r}")
    if features in FORMATS:
        rate_for(features, audio_config.sample_rate)
        return FeatureConfig.for_format(features)
    return FeatureConfig.for_rate(audio_config.sample_rate)


def _built_meanwhile(partial, output, fingerprint):
    """``output`` was made by another build while this one ran: kept as it is. The same inputs: this build's
    copy is let go; others: refused, naming what to do."""
    shutil.rmtree(partial, ignore_errors=True)
    try:
        theirs = json.loads((output / METADATA_NAME).read_text()).get("recipe_fingerprint")
    except (OSError, ValueError):
        theirs = None
    if theirs != fingerprint:
        raise DatasetError(f"'{output}' was built by another build while this one ran (another process, or another "
                           f"notebook cell), from other inputs or settings: it is kept as it is, and this build was "
                           f"let go; choose another --output, or build again with --overwrite (overwrite=True) to replace it")
    logger.info("'%s' was built from the same inputs by another build while this one ran: it is used", output)


def _put_back_retired(output):
    """Where a build that replaced ``output`` was stopped between moving the old dataset aside and the new one into
    place, the old one back at ``output`` (before the leftovers of stopped builds are removed)."""
    retired = retired_folders(output) if not output.exists() else []
    if retired:
        os.replace(retired[0], output)
        logger.warning("a build that replaced '%s' was stopped half-way and left the old dataset aside ('%s'): it is "
                       "put back", output, retired[0])
        remove_stale_partials(output.parent)  # (the stopped build's own folder)


def _move_into_place(partial, output):
    """Rename the finished folder to ``output``, replacing an old one safely."""
    if output.exists():
        retired = output.parent / f"{partial_prefix(output.name)}old"
        os.replace(output, retired)
        try:
            os.replace(partial, output)
        except BaseException:
            os.replace(retired, output)  # the old dataset back, whole
            raise
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(partial, output)


def open_dataset(path, *, audio_config=None):
    """Open a dataset folder, checking its format, version, files and config.

    When ``audio_config`` is given, the dataset must process audio the same
    way (sample rate, μ and pre-emphasis), or a :class:`DatasetError` says
    which fields differ.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(f"a dataset is a dataset folder (its path) or a Dataset, got {type(path).__name__}"
                             + (": build one from audio files with audiornn.build_dataset(files, folder)"
                                if isinstance(path, (list, tuple, dict)) else ""))
    path = Path(path).expanduser()
    if path.is_file():
        raise DatasetError(f"'{path}' is a file, not a dataset folder: give the folder that "
                           f"{command('AudioRNNData.py')} built (or give audio files as INPUT, and train builds the "
                           f"dataset in the run)")
    if not path.is_dir():
        retired = retired_folders(path)
        if retired:
            raise DatasetError(f"dataset folder '{path}' does not exist: a build that replaced it was stopped "
                               f"half-way and left the old one at '{retired[0]}': put it back (mv '{retired[0]}' "
                               f"'{path}'), or run that build again, which puts it back first")
        raise DatasetError(f"dataset folder '{path}' does not exist: build one with "
                           f"'{command('AudioRNNData.py')} AUDIO... --output {path}' (audiornn.build_dataset(AUDIO, "
                           f"'{path}'))")
    metadata_path = path / METADATA_NAME
    if not metadata_path.is_file():
        raise DatasetError(f"'{path}' is not an audiornn dataset (no {METADATA_NAME}): "
                           f"build one with '{command('AudioRNNData.py')} AUDIO... --output DIR' "
                           f"(audiornn.build_dataset(AUDIO, DIR)){_audio_folder_hint(path)}")
    stamp = _metadata_stamp(path)
    try:
        metadata = json.loads(metadata_path.read_text())
    except (OSError, ValueError) as error:
        raise DatasetError(f"'{metadata_path}' is not readable JSON ({error}): rebuild the dataset") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise DatasetError(f"'{metadata_path}' is not audiornn dataset metadata: rebuild the dataset")
    if metadata.get("format_version") not in (FORMAT_VERSION, LABELLED_FORMAT_VERSION):
        raise DatasetError(
            f"dataset '{path}' has format version {metadata.get('format_version')!r}; this audiornn "
            f"reads versions {FORMAT_VERSION} and {LABELLED_FORMAT_VERSION}: rebuild it with this version")
    try:
        dataset = Dataset(path, metadata, stamp)
        for split in SPLITS:
            expected = dataset.samples(split)
            file = path / SPLIT_FILES[split]
            actual = file.stat().st_size if file.exists() else None
            if actual != expected:
                holds = "is missing" if actual is None else f"holds {actual} bytes"
                raise DatasetError(
                    f"dataset '{path}': {file.name} {holds} but the metadata says "
                    f"{expected}: the dataset is damaged, rebuild it")
            if dataset.feature_config is not None:
                expected = 2 * dataset.feature_config.bands * int(metadata["splits"][split]["frames"])
                file = path / FEATURE_FILES[split]
                actual = file.stat().st_size if file.exists() else None
                if actual != expected:
                    holds = "is missing" if actual is None else f"holds {actual} bytes of frames"
                    raise DatasetError(f"dataset '{path}': {file.name} {holds} but the "
                                       f"metadata says {expected}: the dataset is damaged, rebuild it")
        for split in SPLITS:
            _check_sources(dataset, split, metadata_path)
        if metadata["format_version"] == LABELLED_FORMAT_VERSION and metadata.get("labels"):
            names = metadata["labels"]
            unknown = [entry["path"] for entry in metadata["sources"] if entry["label"] not in names]
            if not names or not all(isinstance(name, str) and name for name in names) or unknown:
                raise DatasetError(f"'{metadata_path}': the labels {names!r} do not cover every source "
                                   f"({unknown[:1]}): the metadata is damaged, rebuild the dataset")
    except (KeyError, TypeError, ValueError, OverflowError, ParameterError) as error:
        detail = error if isinstance(error, (KeyError, TypeError, ParameterError)) else \
            f"a number that is not one: {error}"
        raise DatasetError(f"dataset '{path}' has malformed metadata ({detail}): rebuild it") from None
    return _check_processing(dataset, audio_config)


def _check_sources(dataset, split, metadata_path):
    """Each source of ``split`` must be a stretch of whole samples inside its array, in order, none overlapping."""
    end = 0
    for index, entry in enumerate(entry for entry in dataset.metadata["sources"] if entry["split"] == split):
        start, samples = entry.get("start"), entry.get("samples")
        if not all(isinstance(value, int) and not isinstance(value, bool) for value in (start, samples)) \
                or start < end or samples < 1 or start + samples > dataset.samples(split):
            raise DatasetError(
                f"'{metadata_path}': {split} source {index} ('{entry.get('path')}') has start {start!r} and "
                f"samples {samples!r}, which are not whole numbers in order inside the {split} array of "
                f"{dataset.samples(split)} samples: the metadata is damaged, rebuild the dataset")
        end = start + samples


def _check_processing(dataset, audio_config):
    if audio_config is not None and not dataset.audio_config.same_processing(audio_config):
        raise DatasetError(
            f"dataset '{dataset.path}' was built with other audio settings than the model or command it is used with "
            f"({dataset.audio_config.describe_difference(audio_config)}): rebuild it or use matching settings")
    return dataset


def as_dataset(dataset, *, audio_config=None):
    """A :class:`Dataset` from a Dataset or a folder path, checked against ``audio_config``."""
    if isinstance(dataset, Dataset):
        return _check_processing(dataset, audio_config)
    return open_dataset(dataset, audio_config=audio_config)
