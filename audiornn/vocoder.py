"""Vocoding: audio from spectrogram frames, one sample at a time, by a model trained on features.

:func:`vocode` takes recordings (copy-synthesis: their frames are computed with
the model's own preprocessing, :mod:`audiornn.features`) or frames made
elsewhere (``.npy`` or arrays, checked against the model's settings), runs
them as the streams of one batch through the compiled sampling loop of
:mod:`audiornn.stepping`, a chunk of whole frames at a time with the state
carried, and writes each stream's audio when it is complete
(:class:`audiornn.sink.AudioSink`).
"""

import logging
import math
import os
from pathlib import Path

import numpy as np

from .audio_io import prepare_audio, read_audio
from .config import VOCODE_TAIL
from .errors import AudioFileError, ParameterError
from .sink import AudioSink, check_room, output_paths
from .stepping import StreamGroup, chunks, frame_span, take_frames

__all__ = ["VOCODE_TAIL", "check_units", "load_features", "read_npy", "vocode"]

logger = logging.getLogger("audiornn")

# Natural-log mel power is above log(floor) and, for audio of peak 1, below about log(fft ** 2 / 4).
LOG_RANGE_SLACK = 1.0


def _check_vocoder(model):
    if model.feature_net is None:
        raise ParameterError("this model reads no spectrogram features, so it cannot vocode: give a vocoder (a "
                             "model trained on a dataset built with --features mel, or the shipped 'vocoder')")


def read_npy(path):
    """The array in the ``.npy`` file ``path``, its header checked first: a file that is not one (an ``.npz``
    archive, text, a pickle), a dtype of Python objects or a header that promises more data than the file holds
    is refused in one line, before any memory is taken."""
    name = f"features '{path}'"
    try:
        with open(path, "rb") as handle:
            try:
                version = np.lib.format.read_magic(handle)
            except ValueError:
                handle.seek(0)
                kind = "an .npz archive (a zip)" if handle.read(2) == b"PK" else "not a NumPy .npy file"
                raise ParameterError(f"{name} is {kind}: save the frames alone with numpy.save(path, frames), a "
                                     f"(frames, bands) float array") from None
            readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0,
                       (3, 0): np.lib.format.read_array_header_2_0}
            if version not in readers:
                raise ParameterError(f"{name} is a .npy file of version {version[0]}.{version[1]}, which NumPy does "
                                     f"not write: save it again with numpy.save")
            try:
                shape, _, dtype = readers[version](handle)
            except ValueError as error:
                raise ParameterError(f"{name} has a broken .npy header ({error})") from None
            offset = handle.tell()
        if dtype.hasobject:
            raise ParameterError(f"{name} holds Python objects, which are not read (a pickle can run code): save "
                                 f"a float array of (frames, bands)")
        if any(int(side) < 0 for side in shape):
            raise ParameterError(f"{name} has a broken .npy header (a negative shape, {shape}): save it again")
        needed, size = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize, os.path.getsize(path) - offset
        if needed > size:
            raise ParameterError(f"{name}: its header says {shape} of {dtype} ({needed:,} bytes) but the file holds "
                                 f"{size:,}: the file is cut short or damaged; save it again")
        return np.load(path, allow_pickle=False)
    except OSError as error:
        raise AudioFileError(f"cannot read {name}: {error.strerror or error}") from None


# Each unit a text-to-speech front end may give its frames in, as a function back to natural-log power.
UNITS = {"natural-log power": lambda x: x, "log10 of power": lambda x: x * math.log(10),
         "dB (10 log10 of power)": lambda x: x * math.log(10) / 10, "natural-log magnitude": lambda x: 2 * x,
         "log10 of magnitude": lambda x: 2 * math.log(10) * x,
         "linear power": lambda x: np.log(np.maximum(x, 1e-10)),
         "linear magnitude": lambda x: 2 * np.log(np.maximum(x, 1e-10))}
HOW = {"log10 of power": "multiply by ln(10) = 2.303", "dB (10 log10 of power)": "multiply by ln(10) / 10 = 0.2303",
       "natural-log magnitude": "multiply by 2", "log10 of magnitude": "multiply by 2 ln(10) = 4.605",
       "linear power": "take the natural log", "linear magnitude": "take twice the natural log"}
LEVEL_SLACK = 30.0  # natural-log units: 130 dB quieter or louder than audio of peak 1
SPREAD_TOLERANCE = 1.8  # the frames' spread may be this many times the training frames' either way
MIN_FRAMES_TO_JUDGE = 100  # a second: a shorter excerpt of real speech varies less than the whole of it


def _likely_unit(frames, deviation):
    """The unit whose conversion gives ``frames`` the spread (each band's deviation over time, the median band)
    nearest the model's training frames': ``(unit, spread ratio in natural-log power, in that unit)``. The
    spread does not move with the level of the audio, as the mean does."""
    def ratio(converted):
        return float(np.median(np.std(converted, axis=0) / deviation))

    units = [name for name in UNITS if not name.startswith("linear") or frames.min() > 0]
    ratios = {name: ratio(UNITS[name](frames.astype(np.float64))) for name in units}
    best = min(ratios, key=lambda name: abs(math.log(max(ratios[name], 1e-12))))
    return best, ratios["natural-log power"], ratios[best]


def check_units(frames, model, name):
    """Refuse frames that are not natural-log mel power as the model's training frames are, naming the likely
    unit: by their range, then by their spread against the training frames' (the feature network's
    standardisation, which travels in the model)."""
    config = model.feature_config
    low, high = math.log(config.floor), math.log(config.fft ** 2 / 4)
    deviation = np.asarray(model.feature_net.deviation, dtype=np.float64)
    judged = frames.shape[0] >= MIN_FRAMES_TO_JUDGE and float(np.min(np.std(frames, axis=0))) > 0
    unit, spread, _ = _likely_unit(frames, deviation) if judged else ("natural-log power", 1.0, 1.0)
    if not judged:
        # A spectrum's shape across bands tells the units of a few frames no better than chance (measured on the
        # bundled speech: 10-frame excerpts of natural-log power and of log10 overlap): only their range is checked.
        logger.warning("features %s: %d frame(s) are too few to tell their units by their spread (%d or more); "
                       "only their range was checked: make sure they are natural-log mel power",
                       name, frames.shape[0], MIN_FRAMES_TO_JUDGE)
    # Judged by their spread, frames may lie anywhere a level away (quieter audio is lower); else by their range.
    slack = LEVEL_SLACK if judged else LOG_RANGE_SLACK
    out_of_range = frames.min() < low - slack or frames.max() > high + slack
    if not out_of_range and (unit == "natural-log power" or 1 / SPREAD_TOLERANCE < spread < SPREAD_TOLERANCE):
        return
    likely = f"; they look like {unit}: {HOW[unit]}" if unit in HOW else \
        ": convert dB with x / 10 * ln(10), take the natural log of linear power"
    raise ParameterError(f"features {name} are not in the model's units ({config.kind} bands as natural-log "
                         f"power, from {low:.1f} to about {high:.1f} at a peak of 1; theirs range from "
                         f"{frames.min():.3g} to {frames.max():.3g}"
                         + (f" and vary {spread:.2g} times as much as the model's training frames" if judged else "")
                         + f"){likely}")


def load_features(source, model):
    """The frames ``(frames, bands)`` float32 of one input: an audio file (its frames, made the model's way),
    a ``.npy`` file or an array of frames (checked against the model's settings and units), or 1-D audio at
    the model's rate."""
    _check_vocoder(model)
    config = model.feature_config
    name = f"'{source}'" if isinstance(source, (str, os.PathLike)) else "the given array"
    if isinstance(source, (str, os.PathLike)):
        if Path(source).expanduser().is_dir():
            raise ParameterError(f"{name} is a folder: vocode takes audio files or .npy frames, one stream each; "
                                 f"name the files")
        if Path(source).suffix.lower() == ".npy":
            frames = read_npy(Path(source).expanduser())
        else:
            audio, rate = read_audio(source)
            return prepare_audio(audio, rate, audio_config=model.audio_config, source=name, features=config)[2]
    else:
        frames = np.asarray(source)
        if frames.ndim == 1:  # audio at the model's rate
            return prepare_audio(frames[:, None], model.audio_config.sample_rate, audio_config=model.audio_config,
                                 source=name, features=config)[2]
    if frames.ndim != 2 or frames.shape[1] != config.bands or frames.shape[0] < 1:
        raise ParameterError(f"features {name} have shape {frames.shape}; the model reads (frames, {config.bands}): "
                             f"{config.bands} {config.kind} bands, a frame every {config.hop} samples at "
                             f"{model.audio_config.sample_rate} Hz (transpose a (bands, frames) array)")
    if frames.dtype.kind not in "fiu":
        raise ParameterError(f"features {name} are of type {frames.dtype}, not numbers: save a float array")
    frames = frames.astype(np.float32)
    if not np.all(np.isfinite(frames)):
        raise ParameterError(f"features {name} have NaN or infinite values")
    check_units(frames, model, name)
    return frames


def vocode(model, inputs, *, temperature=1.0, seed=0, output=None, chunk_seconds=1.0, progress=True,
           tail=VOCODE_TAIL, label=None):
    """Audio from spectrogram frames: one stream per input, run together as one batch.

    inputs: one input or a list (audio files of any format and rate, ``.npy``
        frames, arrays: :func:`load_features`).
    output: a ``.wav`` path (several inputs: ``NAME_1.wav`` ...), written chunk
        by chunk and renamed into place only when complete; without it the
        audio is returned (an array ``(streams, samples)``, or a list when the
        inputs' lengths differ). Each stream has ``frames * hop`` samples.
    temperature, seed: as in :func:`audiornn.generation.generate`; the same
        seed gives the same audio whatever ``chunk_seconds``.
    tail: the probability taken off every class's before drawing, so the
        improbable classes are never drawn (LPCNet's sampling; 0: none): the
        far classes' small share otherwise adds clicks and noise between
        the harmonics (:data:`VOCODE_TAIL`).
    label: a labelled vocoder's label (a name, or one per input); required
        for such a vocoder, refused for another.
    """
    _check_vocoder(model)
    single = isinstance(inputs, (str, os.PathLike)) or (isinstance(inputs, np.ndarray) and inputs.ndim <= 2)
    inputs = [inputs] if single else list(inputs)
    if not inputs:
        raise ParameterError("vocode needs at least one input: audio files or features")
    config, rate, count = model.feature_config, model.audio_config.sample_rate, len(inputs)
    if output is not None:
        paths = output_paths(output, count, inputs)
    frames = [load_features(source, model) for source in inputs]
    hop, margin = config.hop, model.feature_net.margin
    lengths = [piece.shape[0] * hop for piece in frames]
    total = max(lengths)
    chunk = max(1, int(round(chunk_seconds * rate / hop))) * hop  # whole frames
    wav = check_room(output, count, total, rate, advice="vocode fewer or shorter inputs")
    stream = StreamGroup(model, count=count, temperature=temperature, seed=seed, tail=tail, label=label)
    with stream, AudioSink(paths if output is not None else None, count, model.audio_config, wav,
                           lengths=lengths) as sink:
        for done, _, drawn in chunks(total, chunk, count=count, rate=rate, desc="vocoding", progress=progress,
                                     step=hop):
            # The steps read the sample before the chunk through the chunk's last but one; the sink cuts each
            # stream at its length.
            span = frame_span(done - 1, drawn, hop, margin)
            sink.emit(stream.sample(drawn, np.stack([take_frames(piece, span) for piece in frames])))
    return paths if output is not None else sink.audio()
