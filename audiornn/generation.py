"""Generation: one cheap step per sample inside a compiled loop, the state carried.

The recurrent layers are stepped once per sample from their last state (the
original ran the whole 1000-sample window through the network for every new
sample). A chunk of samples is one call of an XLA-compiled ``while`` loop;
between chunks the recurrent state, the last class and the de-emphasis
filter state are carried, so chunk boundaries leave no seam and an hour of
audio needs no more memory than a second.

Sampling inverts the cumulative softmax of ``logits / temperature`` at one
uniform number per stream drawn statelessly from ``(seed, position)``: the
same seed gives the same audio whatever the chunk size, and every stream of
a batch gets its own draw. Temperature 0 is argmax.
"""

import contextlib
import logging
import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile
import tensorflow as tf
from tqdm.auto import tqdm

from . import dsp
from .audio_io import SILENCE_PEAK, prepare_audio, read_audio
from .config import check_positive_int
from .errors import AudioFileError, ParameterError
from .files import atomic_path
from .model import state_sizes

__all__ = ["SampleStream", "StreamGroup", "decode_classes", "generate", "prime_classes"]

logger = logging.getLogger("audiornn")


def _check_temperature(temperature):
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) \
            or not 0 <= temperature < math.inf:
        raise ParameterError(f"temperature must be 0 (argmax) or a positive number, got {temperature!r}")
    return float(temperature)


def _initial_states(cell, batch):
    return [tf.zeros((batch, int(size))) for size in state_sizes(cell)]


def _call_cell(cell, inputs, states):
    output, new_states = cell(inputs, states, training=False)
    return output, list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]


def _first_gru_tables(model):
    """The first GRU layer's input side, folded for stepping.

    The embedding of each class times the input kernel (plus the input bias)
    is one row of a ``(classes, 3 * units)`` table, so a step needs a lookup
    instead of a matrix product; the lag values keep their slice of the kernel.
    """
    cell = model.recurrent[0].cell
    if not (cell.reset_after and cell.use_bias) or model.recurrent[0].go_backwards:
        return None
    embedding = np.asarray(model.embedding.embeddings)
    kernel, bias = np.asarray(cell.kernel), np.asarray(cell.bias)
    width = embedding.shape[1]
    return {"table": tf.constant(embedding @ kernel[:width] + bias[0]),
            "lag_kernel": tf.constant(kernel[width:]) if kernel.shape[0] > width else None,
            "recurrent_kernel": tf.constant(np.asarray(cell.recurrent_kernel)), "recurrent_bias": tf.constant(bias[1])}


def _first_gru_step(tables, previous, recent, state):
    """One step of the first GRU layer (Keras' reset-after GRU, gates z, r, h)."""
    inputs = tf.gather(tables["table"], previous)
    if tables["lag_kernel"] is not None:
        inputs += tf.matmul(recent, tables["lag_kernel"])
    inner = tf.matmul(state, tables["recurrent_kernel"]) + tables["recurrent_bias"]
    x_z, x_r, x_h = tf.split(inputs, 3, axis=-1)
    r_z, r_r, r_h = tf.split(inner, 3, axis=-1)
    update, reset = tf.sigmoid(x_z + r_z), tf.sigmoid(x_r + r_r)
    candidate = tf.tanh(x_h + reset * r_h)
    return update * state + (1.0 - update) * candidate


class SampleStream:
    """Streams of classes from a sequence model, stepped one sample at a time.

    ``SampleStream(model, count=N)`` holds N streams' recurrent states and
    last classes. :meth:`prime` runs real classes through the network to set
    the state; :meth:`sample` draws the next ``length`` classes of every
    stream, ``(count, length)`` uint8, carrying the state for the next call.
    """

    def __init__(self, model, *, count=1, temperature=1.0, seed=0, first_stream=0, total_streams=None):
        self.model, self.count = model, check_positive_int(count, "count")
        # Stream i of all total_streams draws the i-th number of each step's draw, so a
        # group of streams split across shards samples exactly what one batch would.
        self.first_stream, self.total_streams = first_stream, total_streams or count
        self.temperature = _check_temperature(temperature)
        self.seed = int(seed) if seed is not None else int(np.random.SeedSequence().entropy % (2 ** 31))
        self.position = 0
        config = model.model_config
        self.sliding = config.many_to_one
        silence = int(dsp.mu_law_encode(np.zeros(1), mu=model.audio_config.mu)[0])
        if self.sliding:
            # The seed preset has no state to carry: it re-reads a window of past samples.
            self.states = [tf.fill((count, config.window), silence)]
        else:
            self.cells = [layer.cell for layer in model.recurrent]
            self.states = [state for cell in self.cells for state in _initial_states(cell, count)]
            if config.lags:
                # The values of the last lags - 1 samples, newest first, ride along as state.
                self.states.append(tf.zeros((count, max(config.lags - 1, 0))))
            self._first_gru = _first_gru_tables(model) if config.cell == "gru" else None
        self.previous = tf.fill((count,), silence)
        self._sample = tf.function(self._sample_loop, jit_compile=True, reduce_retracing=True)
        self._prime = tf.function(self._prime_loop, jit_compile=True, reduce_retracing=True)
        self._score = tf.function(self._score_loop, jit_compile=True, reduce_retracing=True)

    # -- one step ------------------------------------------------------------------------------

    def _split_states(self, flat):
        grouped, index = [], 0
        for cell in self.cells:
            size = len(state_sizes(cell))
            grouped.append(list(flat[index:index + size]))
            index += size
        return grouped

    def _logits(self, previous, flat_states):
        """Logits ``(count, classes)`` for the next sample and the new flat states."""
        if self.sliding:
            window = tf.concat([flat_states[0][:, 1:], previous[:, None]], axis=1)
            return self.model(window, training=False), [window]
        new_states = []
        lags = self.model.model_config.lags
        recent = None
        if lags:
            value = tf.gather(self.model.values.table, previous)[:, None]
            recent = tf.concat([value, flat_states[-1]], axis=1)  # (count, lags), newest first
            flat_states = flat_states[:-1]
        grouped = self._split_states(flat_states)
        if self._first_gru is not None:
            hidden = _first_gru_step(self._first_gru, previous, recent, grouped[0][0])
            new_states.append(hidden)
            cells, grouped = self.cells[1:], grouped[1:]
        else:
            hidden = self.model.embedding(previous)
            if lags:
                hidden = tf.concat([hidden, recent], axis=1)
            cells = self.cells
        for cell, states in zip(cells, grouped):
            hidden, states = _call_cell(cell, hidden, states)
            new_states.extend(states)
        if lags:
            new_states.append(recent[:, :-1])
        return self.model.head(hidden), new_states

    def _choose(self, logits, seed, position, temperature):
        """Sample each stream's next class: inverse CDF of softmax(logits / temperature).

        One uniform number per stream, drawn statelessly from (seed, position).
        """
        if self.temperature == 0:
            return tf.argmax(logits, axis=-1, output_type=tf.int32)
        scaled = logits / temperature
        weights = tf.exp(scaled - tf.reduce_max(scaled, axis=-1, keepdims=True))
        cumulative = tf.cumsum(weights, axis=-1)
        uniform = tf.random.stateless_uniform((self.total_streams,), seed=tf.stack([seed, position]))
        threshold = uniform[self.first_stream:self.first_stream + self.count, None] * cumulative[:, -1:]
        chosen = tf.reduce_sum(tf.cast(cumulative <= threshold, tf.int32), axis=-1)
        return tf.minimum(chosen, tf.shape(logits)[-1] - 1)

    # -- compiled loops ------------------------------------------------------------------------

    def _sample_loop(self, previous, flat_states, seed, start, temperature, length):
        def body(step, previous, flat_states, output):
            logits, flat_states = self._logits(previous, flat_states)
            chosen = self._choose(logits, seed, start + tf.cast(step, tf.int64), temperature)
            return step + 1, chosen, flat_states, output.write(step, chosen)

        output = tf.TensorArray(tf.int32, size=length)
        _, previous, flat_states, output = tf.while_loop(
            lambda step, *_: step < length, body, (tf.constant(0), previous, flat_states, output))
        return previous, flat_states, tf.transpose(output.stack())

    def _prime_loop(self, flat_states, classes):
        def body(step, flat_states):
            _, flat_states = self._logits(classes[:, step], flat_states)
            return step + 1, flat_states

        _, flat_states = tf.while_loop(lambda step, *_: step < tf.shape(classes)[1] - 1, body,
                                       (tf.constant(0), flat_states))
        return flat_states

    def _score_loop(self, flat_states, classes, mask):
        """Sums of -log p(next class) and of correct argmax guesses per stream, teacher forced.

        ``mask[:, t]`` weighs the prediction of ``classes[:, t + 1]`` (0 for padding).
        """

        def body(step, flat_states, nats, correct):
            logits, flat_states = self._logits(classes[:, step], flat_states)
            target, weight = classes[:, step + 1], mask[:, step]
            log_probabilities = tf.nn.log_softmax(logits)
            nats -= weight * tf.gather(log_probabilities, target, axis=1, batch_dims=1)
            hits = tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), target)
            correct += weight * tf.cast(hits, tf.float32)
            return step + 1, flat_states, nats, correct

        zeros = tf.zeros(tf.shape(classes)[:1])
        _, flat_states, nats, correct = tf.while_loop(
            lambda step, *_: step < tf.shape(classes)[1] - 1, body, (tf.constant(0), flat_states, zeros, zeros))
        return flat_states, nats, correct

    # -- public --------------------------------------------------------------------------------

    def score(self, classes, mask=None):
        """Teacher-forced score of ``classes`` ``(count, samples)``, continuing the state.

        Returns ``(nats, correct)`` summed per stream over the predictions of
        samples 1..end (weighted by ``mask`` ``(count, samples - 1)``); the
        state then stands after the last input, so long audio is scored chunk
        by chunk with chunks overlapping by one sample.
        """
        if self.sliding:
            raise ParameterError("the seed preset has no recurrent state to carry: score it with windows")
        classes = np.asarray(classes, dtype=np.int32)
        mask = np.ones((classes.shape[0], classes.shape[1] - 1), np.float32) if mask is None else mask
        flat_states, nats, correct = self._score(self.states, tf.constant(classes),
                                                 tf.constant(mask, dtype=tf.float32))
        self.states = list(flat_states)
        return np.asarray(nats, dtype=np.float64), np.asarray(correct, dtype=np.float64)

    def reset(self):
        """Back to the initial (zero) state and silence, keeping the compiled loops."""
        silence = int(dsp.mu_law_encode(np.zeros(1), mu=self.model.audio_config.mu)[0])
        self.states = [tf.zeros_like(state) if not self.sliding else tf.fill(state.shape, silence)
                       for state in self.states]
        self.previous = tf.fill((self.count,), silence)
        self.position = 0

    def prime(self, classes):
        """Set every stream's state by running ``classes`` (``(samples,)`` or ``(count, samples)``)."""
        classes = np.asarray(classes, dtype=np.int32)
        if classes.ndim == 1:
            classes = np.broadcast_to(classes, (self.count, classes.size))
        if classes.shape[0] != self.count or classes.shape[1] < 1:
            raise ParameterError(f"prime classes must have shape (samples,) or ({self.count}, samples), "
                                 f"got {classes.shape}")
        if self.sliding:
            window = np.concatenate([np.asarray(self.states[0]), classes[:, :-1]], axis=1)
            self.states = [tf.constant(window[:, -self.model.model_config.window:])]
        elif classes.shape[1] > 1:
            self.states = list(self._prime(self.states, tf.constant(classes)))
        self.previous = tf.constant(classes[:, -1])

    def sample(self, length):
        """The next ``length`` classes of every stream, ``(count, length)`` uint8."""
        previous, states, chosen = self._sample(
            self.previous, self.states, tf.constant(self.seed, tf.int64),
            tf.constant(self.position, tf.int64), tf.constant(max(self.temperature, 1e-6)),
            tf.constant(int(length)))
        self.previous, self.states = previous, list(states)
        self.position += int(length)
        return np.asarray(chosen, dtype=np.uint8)

    def logits_for(self, classes):
        """Step-by-step logits ``(count, samples, classes)`` for given inputs (for testing)."""
        classes = np.asarray(classes, dtype=np.int32)
        states, outputs = self.states, []
        for step in range(classes.shape[1]):
            logits, states = self._logits(tf.constant(classes[:, step]), states)
            outputs.append(np.asarray(logits))
        return np.stack(outputs, axis=1)


class StreamGroup:
    """Several :class:`SampleStream` shards stepped in parallel threads, one per core.

    XLA runs one stream batch's loop on about one core; splitting a large
    batch into shards that run side by side uses the others. The output is
    identical to one unsharded batch with the same seed.
    """

    def __init__(self, model, *, count=1, temperature=1.0, seed=0, shards=None, min_shard=8):
        count = check_positive_int(count, "count")
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        shards = shards or max(1, min(cores, count // min_shard))
        sizes = [len(part) for part in np.array_split(np.arange(count), shards)]
        starts = np.cumsum([0] + sizes[:-1])
        seed = int(seed) if seed is not None else int(np.random.SeedSequence().entropy % (2 ** 31))
        self.count, self.seed = count, seed
        self.shards = [SampleStream(model, count=size, temperature=temperature, seed=seed,
                                    first_stream=int(start), total_streams=count)
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

    def sample(self, length):
        """The next ``length`` classes of every stream, ``(count, length)`` uint8."""
        return np.concatenate(self._each(lambda shard: shard.sample(length)), axis=0)

    def close(self):
        if self._pool is not None:
            self._pool.shutdown()


def decode_classes(classes, audio_config, *, state=None):
    """Classes ``(samples,)`` to audio at the recordings' level: μ-law decode, de-emphasis, level.

    Returns ``(audio float32, new_state)``; pass the state to the next chunk.
    """
    decoded = dsp.mu_law_decode(classes, mu=audio_config.mu)
    audio, state = dsp.deemphasis(decoded, coefficient=audio_config.preemphasis, state=state)
    return np.clip(audio * audio_config.level, -1.0, 1.0).astype(np.float32), state


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


def generate(model, *, seconds, count=1, temperature=1.0, seed=0, prime=None, include_prime=False,
             output=None, chunk_seconds=1.0, progress=True):
    """Generate ``count`` streams of ``seconds`` of audio from ``model``.

    prime: a path to audio (any format and rate) or an array of classes; the
        network's state is set by running it through, and the output
        continues it (the prime itself is included only if ``include_prime``).
    output: a ``.wav`` path; with ``count > 1`` the files are numbered
        ``NAME_1.wav``... Written chunk by chunk as 16-bit PCM at the model's
        rate, under temporary names renamed into place only when complete.
        Returns the paths, or, without ``output``, an array ``(count, samples)``.
    """
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 < seconds < math.inf:
        raise ParameterError(f"seconds must be a positive number, got {seconds!r}")
    audio_config = model.audio_config
    rate = audio_config.sample_rate
    total = max(1, int(round(seconds * rate)))
    chunk = max(1, int(round(chunk_seconds * rate)))
    count = check_positive_int(count, "count")
    paths = _output_paths(output, count) if output is not None else None
    stream = StreamGroup(model, count=count, temperature=temperature, seed=seed)  # checks temperature
    primer = None
    if prime is not None:
        primer = prime_classes(prime, audio_config) if isinstance(prime, (str, os.PathLike)) \
            else np.asarray(prime, dtype=np.int32)
        stream.prime(primer)

    collected = [[] for _ in range(count)]
    try:
        with contextlib.ExitStack() as files:
            # Temporary files renamed into place only if every chunk was written.
            temporaries = [files.enter_context(atomic_path(path)) for path in paths or []]
            writers = [files.enter_context(soundfile.SoundFile(temporary, "w", samplerate=rate, channels=1,
                                                               subtype="PCM_16", format="WAV"))
                       for temporary in temporaries]
            filter_states = [None] * count

            def emit(classes):
                for index in range(count):
                    audio, filter_states[index] = decode_classes(classes[index], audio_config,
                                                                 state=filter_states[index])
                    if writers:
                        writers[index].write(audio)
                    else:
                        collected[index].append(audio)

            if primer is not None:
                # The de-emphasis filter runs through the prime too, so the output continues
                # it without a step whether or not the prime is written.
                primer = np.broadcast_to(primer, (count, primer.shape[-1]))
                if include_prime:
                    emit(primer)
                else:
                    for index in range(count):
                        _, filter_states[index] = decode_classes(primer[index], audio_config)
            started, done = time.monotonic(), 0
            with tqdm(total=total * count, unit="sample", unit_scale=True, desc="generating",
                      disable=None if progress else True) as bar:
                while done < total:
                    length = min(chunk, total - done)
                    emit(stream.sample(length))
                    done += length
                    bar.update(length * count)
                    elapsed = time.monotonic() - started
                    bar.set_postfix(realtime=f"{done / rate / max(elapsed, 1e-9):.1f}x")
    finally:
        stream.close()
    if paths:
        return paths
    return np.stack([np.concatenate(pieces) for pieces in collected])
