"""Generation: new audio from a model, one cheap step per sample, the state carried.

:func:`generate` draws ``count`` streams from the sample loop of
:mod:`audiornn.stepping` (a chunk of samples is one call of a compiled
``while`` loop; between chunks the recurrent state, the last class and the
de-emphasis filter state are carried, so chunk boundaries leave no seam and an
hour of audio needs no more memory than a second), optionally primed with a
recording, and writes them through an :class:`audiornn.sink.AudioSink`.

Sampling inverts the cumulative softmax of ``logits / temperature`` at one
uniform number per stream drawn statelessly from ``(seed, position)``
(:func:`audiornn.stepping.choose`): the same seed gives the same audio whatever
the chunk size, and every stream of a batch gets its own draw. Temperature 0
is argmax. A ``tail`` takes that probability off every class first (LPCNet's),
so the improbable classes are never drawn: a vocoder's default
(:data:`audiornn.config.VOCODE_TAIL`).
"""

import logging
import os

from .backend import start_quietly

start_quietly()  # before Keras: a notebook's first import keeps the backend's start-up lines out
import keras
import numpy as np

from .audio_io import SILENCE_PEAK, decode_classes, prepare_audio, read_audio
from .config import check_positive_int, check_positive_number, command, option
from .errors import AudioFileError, ParameterError
from .sink import AudioSink, check_output_type, check_room, output_paths, size_text
from .stepping import SampleStream, StreamGroup, choose, chunks, label_state, prime_array

logger = logging.getLogger("audiornn")

__all__ = ["SampleStream", "StreamGroup", "choose", "decode_classes", "generate", "prime_classes"]


def generated_samples(seconds, rate):
    """How many samples :func:`generate` makes of ``seconds`` at ``rate`` (one at least)."""
    return max(1, int(round(seconds * rate)))


def prime_classes(path, audio_config):
    """Read ``path`` and prepare it with the model's own preprocessing into classes."""
    audio, rate = read_audio(path)
    if audio.size == 0:
        raise AudioFileError(f"prime '{path}' is empty (0 samples): give a recording to continue",
                             reason="empty")
    if np.all(np.isfinite(audio)) and float(np.max(np.abs(audio))) < SILENCE_PEAK:
        raise AudioFileError(f"prime '{path}' is silent: give a recording with sound to continue",
                             reason="silent")
    classes, _ = prepare_audio(audio, rate, audio_config=audio_config, source=f"prime '{path}'")
    if rate < audio_config.sample_rate:
        logger.warning("the prime '%s' is at %d Hz, below the model's %d Hz: resampled up, it holds nothing above "
                       "%g Hz, and the model goes on from audio that lacks that band (give a recording made at %d Hz "
                       "or more)", path, rate, audio_config.sample_rate, rate / 2, audio_config.sample_rate)
    return classes


def available_memory():
    """Bytes of memory that can be taken now without swapping (Linux's MemAvailable, which counts the page cache
    the system gives back), or the free pages where the system does not say that, or None."""
    try:
        with open("/proc/meminfo") as lines:
            for line in lines:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _check_memory(model, count, samples):
    """Refuse ``count`` streams whose states (and, returned as arrays, whose audio) cannot fit in memory."""
    state_floats = sum(int(np.prod(np.shape(state))) for state in keras.tree.flatten(
        model.initial_states(1, np.zeros(1, "int32") if model.model_config.labels else None)))
    # The loop holds a few copies of every state, and the chosen classes of a chunk.
    needed = count * (4 * state_floats * 4 + 4 * 8000) + (4 * count * samples if samples else 0)
    available = available_memory()
    if available is not None and needed > available:
        returned = 4 * count * samples if samples else 0
        what = f"--count {count:,} streams" if returned < needed / 2 else \
            f"--count {count:,} stream(s) of {samples / model.audio_config.sample_rate:,.0f} s returned as arrays"
        advice = "ask for fewer streams (or write them to --output in several runs)" if returned < needed / 2 else \
            "write them to --output (a file is written chunk by chunk), or ask for fewer seconds"
        raise ParameterError(f"{what} need about {size_text(needed)} of memory, more than the "
                             f"{size_text(available)} available: {advice}")


def generate(model, *, seconds, count=1, temperature=1.0, seed=0, prime=None, include_prime=False,
             output=None, chunk_seconds=1.0, progress=True, label=None, prime_label=None, tail=0.0,
             overwrite=False):
    """Generate ``count`` streams of ``seconds`` of audio from ``model``.

    label: a labelled model's label (a name, or one per stream); required
        for such a model, refused for another. ``prime_label``: the label the
        prime is read under, when it differs (prime with one voice, go on in
        another; default ``label``).
    prime: a path to audio (any format and rate) or an array of classes; the
        network's state is set by running it through, and the output
        continues it (the prime itself is included only if ``include_prime``).
    output: a ``.wav`` path; with ``count > 1`` the files are numbered
        ``NAME_1.wav``... Written chunk by chunk as 16-bit PCM at the model's
        rate (RF64, WAV's 64-bit form, past WAV's 4 GiB), under temporary
        names renamed into place only when complete, after checking that
        the disk has room for them. A file already there is refused unless
        ``overwrite``. Returns the paths, or, without ``output``, an array
        ``(count, samples)``.
    tail: a probability taken off every class's before drawing, so the
        improbable classes are never drawn (:func:`choose`; 0: none).
    seed: the random seed: 0 by default, so each call makes the same audio
        (a notebook re-run hears the same take); ``None`` draws a new take
        each call, as the command line does without ``--seed``.
    """
    seconds = check_positive_number(seconds, option("seconds"))
    chunk_seconds = check_positive_number(chunk_seconds, "chunk_seconds")
    check_output_type(output)
    if include_prime and prime is None:
        raise ParameterError("--include-prime (include_prime=) starts the output with the prime: give a prime too "
                             "(--prime, prime=), or leave it out")
    from .runs import as_model

    model = as_model(model)
    audio_config = model.audio_config
    rate = audio_config.sample_rate
    total = generated_samples(seconds, rate)
    chunk = max(1, int(round(chunk_seconds * rate)))
    count = check_positive_int(count, option("count"))
    wav = check_room(output, count, total, rate) if output is not None else None
    _check_memory(model, count, 0 if output is not None else total)
    paths = output_paths(output, count, [prime] if prime is not None else (), overwrite) if output is not None else None
    if model.feature_net is not None:
        raise ParameterError("this model is a vocoder: it makes audio from spectrogram frames, with vocode "
                             f"('{command()} vocode --model MODEL INPUT...', audiornn.vocode)")
    if prime_label is not None and prime is None:
        raise ParameterError("a prime label says which label the prime is read under: give a prime too, or "
                             "leave the prime label out")
    labels = label_state(model, label, count)  # the label(s), resolved once
    first = labels if prime_label is None else label_state(model, prime_label, count)
    stream = StreamGroup(model, count=count, temperature=temperature, seed=seed, label=first, tail=tail)
    primer = None
    if prime is not None:
        primer = prime_classes(prime, audio_config) if isinstance(prime, (str, os.PathLike)) \
            else prime_array(prime, model)
        stream.prime(primer)
        if prime_label is not None:
            stream.set_label(labels)

    with stream, AudioSink(paths, count, audio_config, wav, overwrite=overwrite, made_by="generate") as sink:
        if primer is not None:
            # The de-emphasis filter runs through the prime too, so the output continues
            # it without a step whether or not the prime is written.
            primer = np.broadcast_to(primer, (count, primer.shape[-1]))
            sink.emit(primer, write=include_prime)
        for _, length in chunks(total, chunk, count=count, rate=rate, desc="generating", progress=progress):
            sink.emit(stream.sample(length))
    return paths or sink.audio()
