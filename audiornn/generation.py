"""Generation: one cheap step per sample inside a compiled loop, the state carried.

The model is stepped once per sample from its last state with
:meth:`AudioRNN.step` (the original ran the whole 1000-sample window through
the network for every new sample). A chunk of samples is one call of an XLA-compiled ``while`` loop;
between chunks the recurrent state, the last class and the de-emphasis
filter state are carried, so chunk boundaries leave no seam and an hour of
audio needs no more memory than a second.

Sampling inverts the cumulative softmax of ``logits / temperature`` at one
uniform number per stream drawn statelessly from ``(seed, position)``: the
same seed gives the same audio whatever the chunk size, and every stream of
a batch gets its own draw. Temperature 0 is argmax. A ``tail`` takes that
probability off every class first (LPCNet's), so the improbable classes are
never drawn: a vocoder's default (:data:`VOCODE_TAIL`).
"""

import contextlib
import functools
import logging
import math
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import keras
import soundfile
from keras import ops
from tqdm.auto import tqdm

from . import backend
from .audio_io import SILENCE_PEAK, decode_classes, prepare_audio, read_audio
from .config import check_positive_int
from .errors import AudioFileError, ParameterError
from .files import atomic_path

__all__ = ["SampleStream", "StreamGroup", "choose", "decode_classes", "generate", "prime_classes"]

logger = logging.getLogger("audiornn")


def _check_temperature(temperature):
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
            or not 0 <= temperature < math.inf:
        raise ParameterError(f"temperature must be 0 (argmax) or a positive number, got {temperature!r}")
    return float(temperature)


def _check_tail(tail, model):
    """``tail`` as a float if it is a probability that leaves the likeliest class some (below 1 / classes)."""
    classes = model.audio_config.num_classes
    if isinstance(tail, bool) or not isinstance(tail, (int, float)) or not 0 <= tail < 1 / classes:
        raise ParameterError(f"tail must be a probability from 0 (none) to below 1/{classes} ({1 / classes:.4f}), "
                             f"so that the likeliest of the {classes} classes keeps some; got {tail!r}")
    return float(tail)


def _seed(seed):
    return int(seed) if seed is not None else int(np.random.SeedSequence().entropy % (2 ** 31))


def choose(logits, *, seed, position, temperature, tail=0.0, first_stream=0, total_streams=None):
    """Each stream's next class: the inverse CDF of ``softmax(logits / temperature)``, or argmax at 0.

    One uniform number per stream, drawn statelessly from ``(seed, position)``:
    stream ``i`` of ``total_streams`` takes the i-th number, so a batch split
    across shards samples exactly what one batch would. ``tail`` (a Python
    float below 1 / classes): that probability is taken off every class's
    and the classes it leaves none are never drawn (LPCNet's sampling).
    """
    if isinstance(temperature, (int, float)) and temperature == 0:
        return ops.cast(ops.argmax(logits, axis=-1), "int32")
    count = logits.shape[0]
    scaled = logits / temperature
    weights = ops.exp(scaled - ops.max(scaled, axis=-1, keepdims=True))
    if tail:
        weights = ops.maximum(weights - tail * ops.sum(weights, axis=-1, keepdims=True), 0.0)
    cumulative = ops.cumsum(weights, axis=-1)
    uniform = backend.uniform(total_streams or count, seed, position)
    threshold = uniform[first_stream:first_stream + count, None] * cumulative[:, -1:]
    chosen = ops.sum(ops.cast(cumulative <= threshold, "int32"), axis=-1)
    return ops.minimum(chosen, logits.shape[-1] - 1)


def _sample_loop(model, count, sampled, first_stream, total_streams, tail, previous, states, seed, start,
                 temperature, length, per_frame=None):
    constants = model.step_constants()
    extras = model.loop_extras(states, per_frame, constants)
    hop = 1 if per_frame is None else model.feature_config.hop

    def body(step, previous, states, output):
        # A vocoder's sample read (one before the one drawn) picks its frame: frame 0 of a chunk is that of
        # the sample before it.
        logits, states = model.step(previous, states, constants, **extras((step + hop - 1) // hop))
        chosen = choose(logits, seed=seed, position=start + ops.cast(step, start.dtype),
                        temperature=temperature if sampled else 0, tail=tail, first_stream=first_stream,
                        total_streams=total_streams)
        return step + 1, chosen, states, ops.slice_update(output, (0, step), chosen[:, None])

    output = ops.zeros((count, length), "int32")
    _, previous, states, output = ops.while_loop(
        lambda step, *_: step < length, body, (ops.convert_to_tensor(0, "int32"), previous, states, output))
    return previous, states, output


def _prime_loop(model, states, classes):
    constants = model.step_constants()
    extras = model.loop_extras(states, None, constants)

    def body(step, states):
        return step + 1, model.step(classes[:, step], states, constants, **extras(0))[1]

    return ops.while_loop(lambda step, *_: step < ops.shape(classes)[1] - 1, body,
                          (ops.convert_to_tensor(0, "int32"), states))[1]


def compiled_frame_rate(model):
    """A vocoder's frame-rate network (:meth:`AudioRNN.frame_rate`) compiled once per model, apart from the
    loops that read it; None for other models."""
    return backend.compiled_once(model, "frame_rate", lambda: model.frame_rate) if model.feature_net is not None \
        else None


def compiled_loops(model, count=1, sampled=True, first_stream=0, total_streams=1, tail=0.0):
    """The compiled sample loop of ``count`` streams (of ``total_streams``, from ``first_stream``; argmax
    when not ``sampled``; ``tail`` as :func:`choose` takes it), the prime loop and a vocoder's frame-rate
    network (None for other models), each made once per model (:func:`audiornn.backend.compiled_once`)."""
    key = (count, bool(sampled), first_stream, total_streams, float(tail))
    return (backend.compiled_once(model, key, lambda: functools.partial(_sample_loop, model, *key), static=(5,)),
            backend.compiled_once(model, "prime", lambda: functools.partial(_prime_loop, model)),
            compiled_frame_rate(model))


class SampleStream:
    """Streams of classes from a model, stepped one sample at a time (:meth:`AudioRNN.step`).

    ``SampleStream(model, count=N)`` holds N streams' states and last
    classes. :meth:`prime` runs real classes through the network to set the
    state; :meth:`sample` draws the next ``length`` classes of every stream,
    ``(count, length)`` uint8, carrying the state for the next call.
    ``label`` (a labelled model): names or ids, one for all streams or one
    each; :meth:`set_label` changes it between calls (after a prime, say).
    ``tail``: the probability taken off every class before drawing (:func:`choose`).
    """

    def __init__(self, model, *, count=1, temperature=1.0, seed=0, first_stream=0, total_streams=None, label=None,
                 tail=0.0):
        self.model, self.count = model, check_positive_int(count, "count")
        self.first_stream, self.total_streams = first_stream, total_streams or count
        self.temperature = _check_temperature(temperature)
        self.tail = _check_tail(tail, model)
        self.seed = _seed(seed)
        self.position = 0
        self.states = model.initial_states(count, label)
        self.previous = ops.full((count,), model.silence, "int32")
        self._sample, self._prime, self._frame_rate = compiled_loops(
            model, count, self.temperature != 0, self.first_stream, self.total_streams, self.tail)

    def set_label(self, label):
        """Continue every stream under ``label`` (names or ids, one for all or one each)."""
        self.states = dict(self.states, label=ops.convert_to_tensor(self.model.label_state(label, self.count)))

    def prime(self, classes):
        """Set every stream's state by running ``classes`` (``(samples,)`` or ``(count, samples)``)."""
        classes = np.asarray(classes, dtype=np.int32)
        if classes.ndim == 1:
            classes = np.broadcast_to(classes, (self.count, classes.size))
        if classes.shape[0] != self.count or classes.shape[1] < 1:
            raise ParameterError(f"prime classes must have shape (samples,) or ({self.count}, samples), "
                                 f"got {classes.shape}")
        if classes.shape[1] > 1:
            self.states = self._prime(self.states, ops.convert_to_tensor(classes))
        self.previous = ops.convert_to_tensor(classes[:, -1])

    def sample(self, length, frames=None):
        """The next ``length`` classes of every stream, ``(count, length)`` uint8.

        A vocoder's streams also take their ``frames``: those of the sample
        before the first drawn through the last one's, with the feature
        network's margins, ``(count, length / hop + 1 + 2 margin, bands)``.
        """
        extra = () if frames is None else (self._frame_rate(ops.convert_to_tensor(np.asarray(frames, np.float32))),)
        index = backend.index_dtype()
        previous, states, chosen = self._sample(
            self.previous, self.states, ops.convert_to_tensor(self.seed, index),
            ops.convert_to_tensor(self.position, index), ops.convert_to_tensor(max(self.temperature, 1e-6), "float32"),
            int(length), *extra)
        self.previous, self.states = previous, states
        self.position += int(length)
        return np.asarray(chosen, dtype=np.uint8)


class StreamGroup:
    """Several :class:`SampleStream` shards stepped in parallel threads, one per core.

    XLA runs one stream batch's loop on about one core; splitting a large
    batch into shards that run side by side uses the others. The output is
    identical to one unsharded batch with the same seed.
    """

    def __init__(self, model, *, count=1, temperature=1.0, seed=0, shards=None, min_shard=8, label=None, tail=0.0):
        count = check_positive_int(count, "count")
        labels = None if label is None else model.label_state(label, count)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        shards = shards or max(1, min(cores, count // min_shard))
        sizes = [len(part) for part in np.array_split(np.arange(count), shards)]
        starts = np.cumsum([0] + sizes[:-1])
        seed = _seed(seed)
        self.count, self.seed = count, seed
        self.shards = [SampleStream(model, count=size, temperature=temperature, seed=seed, tail=tail,
                                    first_stream=int(start), total_streams=count,
                                    label=None if labels is None else labels[start:start + size])
                       for size, start in zip(sizes, starts)]
        self._pool = ThreadPoolExecutor(len(self.shards)) if len(self.shards) > 1 else None

    def _each(self, function):
        if self._pool is None:
            return [function(shard) for shard in self.shards]
        return list(self._pool.map(function, self.shards))

    def prime(self, classes):
        classes = np.asarray(classes, dtype=np.int32)
        if classes.ndim == 1:
            self._each(lambda shard: shard.prime(classes))
            return
        rows = np.cumsum([0] + [shard.count for shard in self.shards])
        for shard, start, stop in zip(self.shards, rows[:-1], rows[1:]):
            shard.prime(classes[start:stop])

    def set_label(self, label):
        labels = self.shards[0].model.label_state(label, self.count)
        for shard in self.shards:
            shard.set_label(labels[shard.first_stream:shard.first_stream + shard.count])

    def sample(self, length, frames=None):
        """The next ``length`` classes of every stream, ``(count, length)`` uint8 (a vocoder: given ``frames``,
        as :meth:`SampleStream.sample` says)."""
        if frames is None:
            return np.concatenate(self._each(lambda shard: shard.sample(length)), axis=0)
        return np.concatenate(self._each(lambda shard: shard.sample(
            length, frames[shard.first_stream:shard.first_stream + shard.count])), axis=0)

    def close(self):
        if self._pool is not None:
            self._pool.shutdown()


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
    return classes


def loop_length(length, chunk, step=1):
    """How many samples a chunk of ``length`` (of at most ``chunk``) is drawn for: ``length`` rounded up to a
    tenth of a full chunk, in whole ``step`` s (a vocoder's frames). On JAX a loop of a new length compiles
    anew, so each new length of a last, shorter chunk would compile once more; rounded, at most ten lengths
    compile, for at most a tenth of a chunk's work more (the samples past ``length`` are dropped)."""
    granule = max(step, chunk // 10 // step * step)
    return min(chunk, -(-length // granule) * granule)


def chunks(total, chunk, *, count, rate, desc, progress=True, step=1):
    """Each chunk of ``total`` samples as ``(start, length, drawn)``: at most ``chunk`` samples, drawn for
    :func:`loop_length` of them (the caller keeps the first ``length``), with a progress bar over ``count``
    streams that shows the speed in real time at ``rate``."""
    started, done = time.monotonic(), 0
    with tqdm(total=total * count, unit="sample", unit_scale=True, desc=desc,
              disable=None if progress else True) as bar:
        while done < total:
            length = min(chunk, total - done)
            yield done, length, loop_length(length, chunk, step)
            done += length
            bar.update(length * count)
            bar.set_postfix(realtime=f"{done / rate / max(time.monotonic() - started, 1e-9):.1f}x")


def _output_paths(output, count):
    output = Path(output).expanduser()
    if not output.parent.is_dir():
        raise ParameterError(f"output folder '{output.parent}' does not exist: create it first")
    if output.suffix.lower() != ".wav":
        raise ParameterError(f"--output must name a .wav file, got '{output}'")
    if count == 1:
        return [output]
    width = len(str(count))
    return [output.with_name(f"{output.stem}_{index + 1:0{width}d}.wav") for index in range(count)]


WAV_LIMIT = 2 ** 32 - 1 - 44  # a RIFF WAV's sizes are 32-bit; past this, RF64


def _size(count):
    """A number of bytes in the unit that shows it (``3.2 kB``, ``12.5 MB``, ``1.1 GB``)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:,.1f} {unit}"
    return f"{int(count)} bytes"


def _check_room(output, count, samples, rate):
    """The WAV format for ``count`` files of ``samples`` 16-bit samples, after checking the disk can hold them
    (before a single path is made, so that an absurd --count is refused at once)."""
    size = 2 * samples
    folder = Path(output).expanduser().parent
    needed, free = size * count, shutil.disk_usage(folder).free if folder.is_dir() else None
    if free is not None and needed > free:
        raise ParameterError(f"{count:,} x {samples / rate:,.3g} s of audio would take {_size(needed)} but "
                             f"'{folder}' has {_size(free)} free: ask for fewer --seconds or --count, or write "
                             f"elsewhere")
    return "RF64" if size > WAV_LIMIT else "WAV"


def _check_memory(model, count, samples):
    """Refuse ``count`` streams whose states (and, returned as arrays, whose audio) cannot fit in memory."""
    state_floats = sum(int(np.prod(np.shape(state))) for state in keras.tree.flatten(
        model.initial_states(1, 0 if model.model_config.labels else None)))
    # The loop holds a few copies of every state, and the chosen classes of a chunk.
    needed = count * (4 * state_floats * 4 + 4 * 8000) + (4 * count * samples if samples else 0)
    try:
        available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if needed > available:
        raise ParameterError(f"--count {count:,} streams need about {_size(needed)} of memory, more than the "
                             f"{_size(available)} available: ask for fewer streams (or write them to --output "
                             f"in several runs)")


def generate(model, *, seconds, count=1, temperature=1.0, seed=0, prime=None, include_prime=False,
             output=None, chunk_seconds=1.0, progress=True, label=None, prime_label=None, tail=0.0):
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
        the disk has room for them.
        Returns the paths, or, without ``output``, an array ``(count, samples)``.
    tail: a probability taken off every class's before drawing, so the
        improbable classes are never drawn (:func:`choose`; 0: none).
    """
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 < seconds < math.inf:
        raise ParameterError(f"seconds must be a positive number, got {seconds!r}")
    audio_config = model.audio_config
    rate = audio_config.sample_rate
    total = max(1, int(round(seconds * rate)))
    chunk = max(1, int(round(chunk_seconds * rate)))
    count = check_positive_int(count, "count")
    wav = _check_room(output, count, total, rate) if output is not None else None
    _check_memory(model, count, 0 if output is not None else total)
    paths = _output_paths(output, count) if output is not None else None
    if model.feature_net is not None:
        raise ParameterError("this model is a vocoder: it makes audio from spectrogram frames, with vocode "
                             "('AudioRNN.py vocode --model MODEL INPUT...', audiornn.vocode)")
    if prime_label is not None and prime is None:
        raise ParameterError("a prime label says which label the prime is read under: give a prime too, or "
                             "leave the prime label out")
    if label is None and model.model_config.labels:
        raise ParameterError(f"this model was trained with labels: choose one with --label, one of "
                             f"{', '.join(model.model_config.labels)}")
    first_label = label if prime_label is None else prime_label
    stream = StreamGroup(model, count=count, temperature=temperature, seed=seed, label=first_label, tail=tail)
    primer = None
    if prime is not None:
        primer = prime_classes(prime, audio_config) if isinstance(prime, (str, os.PathLike)) \
            else np.asarray(prime, dtype=np.int32)
        stream.prime(primer)
        if prime_label is not None:
            stream.set_label(label)

    try:
        with AudioSink(paths, count, audio_config, wav) as sink:
            if primer is not None:
                # The de-emphasis filter runs through the prime too, so the output continues
                # it without a step whether or not the prime is written.
                primer = np.broadcast_to(primer, (count, primer.shape[-1]))
                sink.emit(primer, write=include_prime)
            for _, length, drawn in chunks(total, chunk, count=count, rate=rate, desc="generating",
                                           progress=progress):
                sink.emit(stream.sample(drawn)[:, :length])
    finally:
        stream.close()
    return paths or sink.audio()


class AudioSink:
    """Where generated classes go, chunk by chunk: decoded (μ-law, de-emphasis with its state carried, the
    recordings' level) and written to ``paths`` (16-bit PCM ``wav_format`` files under temporary names,
    renamed into place only if every chunk was written), or collected when ``paths`` is None.

    ``lengths`` (one per stream) cuts each stream's audio there (streams of different lengths in one batch).
    """

    def __init__(self, paths, count, audio_config, wav_format="WAV", lengths=None):
        self.paths, self.count, self.audio_config, self.wav_format = paths, count, audio_config, wav_format
        self.lengths = lengths
        self._written = [0] * count
        self._filters = [None] * count
        self._collected = [[] for _ in range(count)]
        self._files = contextlib.ExitStack()

    def __enter__(self):
        rate = self.audio_config.sample_rate
        temporaries = [self._files.enter_context(atomic_path(path)) for path in self.paths or []]
        self._writers = [self._files.enter_context(soundfile.SoundFile(
            temporary, "w", samplerate=rate, channels=1, subtype="PCM_16", format=self.wav_format))
            for temporary in temporaries]
        return self

    def __exit__(self, *failure):
        return self._files.__exit__(*failure)

    def emit(self, classes, *, write=True):
        """Decode the next classes ``(count, samples)`` of every stream; ``write=False`` only runs the
        de-emphasis filter through them (a prime that is not part of the output)."""
        for index in range(self.count):
            audio, self._filters[index] = decode_classes(classes[index], self.audio_config,
                                                         state=self._filters[index])
            if not write:
                continue
            if self.lengths is not None:
                audio = audio[:max(0, self.lengths[index] - self._written[index])]
            self._written[index] += audio.size
            if self._writers:
                self._writers[index].write(audio)
            else:
                self._collected[index].append(audio)

    def audio(self):
        """The collected audio: ``(count, samples)``, or a list of arrays when the lengths differ."""
        pieces = [np.concatenate(parts) if parts else np.zeros(0, np.float32) for parts in self._collected]
        return np.stack(pieces) if len({piece.size for piece in pieces}) == 1 else pieces
