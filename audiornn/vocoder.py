"""Vocoding: audio from spectrogram frames, one sample at a time, by a model trained on features.

:func:`vocode` takes recordings (copy-synthesis: their frames are computed with
the model's own preprocessing, :mod:`audiornn.features`) or frames made
elsewhere (``.npy`` or arrays, checked against the model's settings), runs
them as the streams of one batch through the compiled sampling loop of
:mod:`audiornn.stepping`, a chunk of whole frames at a time with the state
carried, and writes each stream's audio when it is complete
(:class:`audiornn.sink.AudioSink`).
"""

import math
import os
from pathlib import Path

import numpy as np

from .audio_io import prepare_audio, read_audio
from .config import VOCODE_TAIL
from .errors import AudioFileError, ParameterError
from .sink import AudioSink, check_room, output_paths
from .stepping import StreamGroup, chunks, frame_span, take_frames

__all__ = ["VOCODE_TAIL", "load_features", "vocode"]

# Natural-log mel power is above log(floor) and, for audio of peak 1, below about log(fft ** 2 / 4).
LOG_RANGE_SLACK = 1.0


def _check_vocoder(model):
    if model.feature_net is None:
        raise ParameterError("this model reads no spectrogram features, so it cannot vocode: train one on a "
                             "dataset built with --features mel")


def load_features(source, model):
    """The frames ``(frames, bands)`` float32 of one input: an audio file (its frames, made the model's way),
    a ``.npy`` file or an array of frames (checked against the model's settings), or 1-D audio at the
    model's rate."""
    config = model.feature_config
    name = f"'{source}'" if isinstance(source, (str, os.PathLike)) else "the given array"
    if isinstance(source, (str, os.PathLike)):
        if Path(source).suffix.lower() == ".npy":
            try:
                frames = np.load(source, allow_pickle=False)
            except (OSError, ValueError) as error:
                raise AudioFileError(f"cannot read features {name}: {error}") from None
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
    frames = frames.astype(np.float32)
    if not np.all(np.isfinite(frames)):
        raise ParameterError(f"features {name} have NaN or infinite values")
    low, high = math.log(config.floor), math.log(config.fft ** 2 / 4)
    if frames.min() < low - LOG_RANGE_SLACK or frames.max() > high + LOG_RANGE_SLACK:
        raise ParameterError(f"features {name} range from {frames.min():.3g} to {frames.max():.3g}; the model's are "
                             f"natural-log mel power from {low:.1f} to about {high:.1f} (of audio scaled to a peak "
                             f"of 1): convert dB with x / 10 * ln(10), or take the log of linear power")
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
        paths = output_paths(output, count)
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
