"""Running the network through time: the one loop over :meth:`AudioRNN.step`, its samplers and its frames.

The network (:mod:`audiornn.model`) knows one step: ``step(previous, states,
constants, **extras) -> (logits, states)``. Everything that runs it over many
samples is here, written once (keras-hub's ``CausalLM.generate`` is the model:
a cached step, one loop, the samplers apart):

- :func:`run_steps`, the compiled ``while`` loop. What a step reads and what
  is done with its logits are the only things that differ: the sample loop
  reads its own last draw and draws the next (:func:`choose`), the prime loop
  reads given classes and keeps only the state, the score loop reads given
  classes and sums the log-loss of the next.
- What changes less often than a sample is made once, outside the step
  (:func:`loop_extras`): the streams' label times the first layer's label rows
  once a loop, and a vocoder's frame-rate network (:func:`frame_rate`: its
  feature vector, or that vector times the first layer's feature rows, and
  the frame's predictor) once a frame.
- One rule for which frame a step reads: the frame of the sample it reads,
  ``sample // hop`` (the sample before the first, -1, reads frame 0). A chunk
  of steps reading samples ``first .. first + length - 1`` takes the frames
  :func:`frame_span` names, with the feature network's margins, a file's
  first or last frame standing in past its ends (:func:`take_frames`). The
  training windows, scoring and ``vocode`` all cut their frames with these two.
- A label is resolved once (:func:`label_state`: names or ids, one for all
  streams or one each) before a loop starts.

:class:`SampleStream` (one batch of streams) and :class:`StreamGroup` (shards
of a batch on several cores) draw audio from the sample loop; :func:`chunks`
cuts a long run into chunks with a progress bar. Generation, scoring and
vocoding (:mod:`audiornn.generation`, :mod:`audiornn.scoring`,
:mod:`audiornn.vocoder`) are thin callers of this module.
"""

import functools
import logging
import math
import numbers
import os
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor

from .backend import start_quietly

start_quietly()  # before Keras: a notebook's first import keeps the backend's start-up lines out
import keras
import numpy as np
from keras import ops
from tqdm.auto import tqdm

from . import backend
from .config import bar_disabled, check_positive_int, option, shown_labels
from .errors import ParameterError

__all__ = ["SampleStream", "StreamGroup", "TimeLeft", "check_tail", "check_temperature", "choose", "chunks",
           "compiled_frame_rate", "compiled_loops", "frame_rate", "frame_span", "inverse_cdf", "label_ids", "label_state",
           "flops_per_sample", "keyed_uniform", "loop_extras", "prime_array", "run_steps", "score_loop", "take_frames"]

logger = logging.getLogger("audiornn")


# -- labels ---------------------------------------------------------------------------------------

def unlabelled(model):
    """The error for a label given to ``model``, which has none: naming it (its file, where it was loaded from one)
    and the option."""
    source = getattr(model, "loaded_from", None)
    named = "this model" if source is None else f"model '{source}'"
    return ParameterError(f"{named} was trained without labels: leave --label (label=) out")


def label_ids(model, names):
    """Label names (one, or a list) -> their ids as an int32 array; an unknown one is refused, naming the
    model's."""
    known = model.model_config.labels
    if not known:
        raise unlabelled(model)
    names = [names] if isinstance(names, str) else list(names)
    # In one Unicode form: a name typed is composed (NFC); a folder's name on macOS is decomposed (NFD)
    index = {unicodedata.normalize("NFC", name): number for number, name in enumerate(known)}
    missing = list(dict.fromkeys(name for name in names if unicodedata.normalize("NFC", str(name)) not in index))
    if missing or not names:
        raise ParameterError(f"unknown label {', '.join(map(repr, missing)) or '(none given)'}: this model "
                             f"knows {shown_labels(known)}")
    return np.array([index[unicodedata.normalize("NFC", name)] for name in names], dtype="int32")


def label_state(model, label, batch):
    """``label`` (names or ids, one for all ``batch`` streams or one each) as ``(batch,)`` int32 ids; None for a
    model without labels (which refuses a label)."""
    known = model.model_config.labels
    if not known:
        if label is not None:
            label_ids(model, label)  # refused: the model has no labels
        return None
    if label is None:
        raise ParameterError(f"this model was trained with labels: choose one with --label, one of "
                             f"{shown_labels(known)}")
    ids = np.asarray(label)
    if ids.dtype.kind not in "iuUSO":  # a bool (kind "b") too
        raise ParameterError(f"a label is a name ({shown_labels(known)}) or its id (0 to {len(known) - 1}); "
                             f"got {label!r}")
    if ids.dtype.kind in "USO":
        ids = label_ids(model, ids.reshape(-1).tolist())
    ids = np.asarray(ids, dtype="int32").reshape(-1)
    if ids.size == 1:
        ids = np.repeat(ids, batch)
    if ids.size and (ids.min() < 0 or ids.max() >= len(known)):
        raise ParameterError(f"label id {ids.min() if ids.min() < 0 else ids.max()} is out of range: the ids are 0 to "
                             f"{len(known) - 1} ({shown_labels(known)})")
    if ids.shape != (batch,):
        raise ParameterError(f"give one label for all {batch} streams or one each, of {shown_labels(known)}; "
                             f"got {label!r}")
    return ids


# -- frames ---------------------------------------------------------------------------------------

def frame_span(first, length, hop, margin):
    """The frame indices that steps reading samples ``first .. first + length - 1`` need, with ``margin`` more
    either side: each step reads the frame of its sample, ``sample // hop``. ``first`` may be an array of
    windows' first samples, each on a frame: then ``(windows, frames)``."""
    first = np.asarray(first)
    low = first // hop - margin
    count = int(np.max((first + length - 1) // hop + margin + 1 - low))
    return low[..., None] + np.arange(count)


def take_frames(frames, span, first=0, count=None):
    """The frames ``span`` names of a file whose ``count`` frames start at ``first`` of ``frames`` (by default
    all of them), its first or last frame standing in past its ends: ``(*span.shape, bands)`` float32. Arrays
    of ``first`` and ``count``, one per row of ``span``, take each row from its own file."""
    count = frames.shape[0] if count is None else count
    first, count = (np.asarray(value)[..., None] if np.ndim(value) else value for value in (first, count))
    return np.asarray(frames[first + np.clip(span, 0, count - 1)], dtype=np.float32)


def frame_rate(model, frames, constants=None):
    """A vocoder's frame-rate network (LPCNet's): what its steps read from each frame, made once a frame from
    ``frames`` ``(batch, frames, bands)`` with the feature network's margins, for :func:`loop_extras`:
    ``{"feature_product" (a folded first layer, ``constants`` by default the model's step constants; else
    "features"): (frames - 2 margin, batch, units), "predictor" (with one): (coefficients (frames - 2 margin,
    batch, order), scales (frames - 2 margin, batch))}``.

    Each frame's values are the same whatever ``frames`` spans, to the bit, so a stream generated in chunks is
    the stream generated in one pass: the work is mapped over the frames, each made alone from its own margins
    (the same shapes, so the same rounding, for any number of frames).
    """
    constants = model.step_constants() if constants is None else constants
    (batch, length, bands), width = ops.shape(frames), 1 + 2 * model.feature_net.margin
    folded = "features_kernel" in constants

    def one_frame(index):
        window = ops.slice(frames, (0, index, 0), (batch, width, bands))
        vector = model.feature_vectors(window)
        made = {"feature_product": ops.matmul(vector, constants["features_kernel"])[:, 0]} if folded \
            else {"features": vector[:, 0]}
        if model.envelope is not None:
            made["predictor"] = tuple(part[:, 0] for part in model.frame_predictors(window))
        return made

    return ops.map(one_frame, ops.arange(length - width + 1, dtype="int32"))


def compiled_frame_rate(model):
    """:func:`frame_rate` compiled once per model, apart from the loops that read it; None for a model that is
    not a vocoder."""
    return backend.compiled_once(model, "frame_rate", lambda: functools.partial(frame_rate, model)) \
        if model.feature_net is not None else None


def loop_extras(model, states, per_frame, constants):
    """``frame index -> step keywords`` for a loop of steps from ``states``, reading ``per_frame`` (a vocoder's
    :func:`frame_rate`; None: no features). The streams' label product is made once for the whole loop."""
    fixed = {}
    if model.label_embedding is not None and "label_kernel" in constants:
        fixed["label_product"] = ops.matmul(model.label_embedding(states["label"]), constants["label_kernel"])
    if per_frame is None:
        return lambda index: fixed
    return lambda index: {**fixed, **keras.tree.map_structure(lambda part: ops.take(part, index, axis=0),
                                                             per_frame)}


# -- the loop -------------------------------------------------------------------------------------

def run_steps(model, states, length, read, emit, carry, per_frame=None, shift=0):
    """``length`` steps of :meth:`AudioRNN.step` from ``states`` in one ``while`` loop: ``(states, carry)``.

    Step ``t`` reads the classes ``read(t, carry)`` ``(batch,)`` and, for a vocoder, frame ``(t + shift) //
    hop`` of ``per_frame`` (``shift``: where the loop's first sample lies in its first frame); ``emit(t,
    logits, carry)`` returns the next ``carry``. The only loop over time: every other is this one.
    """
    constants = model.step_constants()
    extras = loop_extras(model, states, per_frame, constants)
    # A step's frame is fetched by the step before and carried: read in the step itself, the fetch is fused into
    # the first layer's gates and XLA's CPU code for that fusion runs at two thirds of its speed (bench/RESULTS.md,
    # "Folding made fast"). Without frames the extras are the same every step.
    hop = 1 if per_frame is None else model.feature_config.hop
    last = 0 if per_frame is None else ops.shape(keras.tree.flatten(per_frame)[0])[0] - 1

    def fetch(step):
        return extras(ops.minimum((step + shift) // hop, last))

    def body(step, states, carry, frame):
        logits, states = model.step(read(step, carry), states, constants, **frame)
        return step + 1, states, emit(step, logits, carry), fetch(step + 1)

    _, states, carry, _ = ops.while_loop(lambda step, *_: step < length, body,
                                         (ops.convert_to_tensor(0, "int32"), states, carry, fetch(0)))
    return states, carry


def _sample_loop(model, count, sampled, first_stream, total_streams, tail, previous, states, seed, start,
                 temperature, size, length, per_frame=None, keys=None):
    def emit(step, logits, carry):
        chosen = choose(logits, seed=seed, position=start + ops.cast(step, start.dtype),
                        temperature=temperature if sampled else 0, tail=tail, first_stream=first_stream,
                        total_streams=total_streams, keys=keys)
        return chosen, ops.slice_update(carry[1], (0, step), chosen[:, None])

    # A step reads the sample before the one it draws: the first, the sample before the chunk, lies at the end
    # of the frame before the chunk's first (hop - 1 into it).
    hop = 1 if per_frame is None else model.feature_config.hop
    states, (previous, output) = run_steps(model, states, length, lambda step, carry: carry[0], emit,
                                           (previous, ops.zeros((count, size), "int32")), per_frame, hop - 1)
    return previous, states, output


def _prime_loop(model, states, classes):
    return run_steps(model, states, ops.shape(classes)[1] - 1, lambda step, carry: classes[:, step],
                     lambda step, logits, carry: carry, ())[0]


def _score_loop(model, states, classes, mask, per_frame=None):
    def emit(step, logits, carry):
        nats, correct = carry
        target, weight = classes[:, step + 1], mask[:, step]
        log_probabilities = ops.log_softmax(logits)
        nats -= weight * ops.take_along_axis(log_probabilities, target[:, None], axis=1)[:, 0]
        hits = ops.equal(ops.cast(ops.argmax(logits, axis=-1), "int32"), target)
        return nats, correct + weight * ops.cast(hits, "float32")

    zeros = ops.zeros(ops.shape(classes)[:1], "float32")
    states, (nats, correct) = run_steps(model, states, ops.shape(classes)[1] - 1,
                                        lambda step, carry: classes[:, step], emit, (zeros, zeros), per_frame)
    return states, nats, correct


def score_loop(model):
    """A compiled ``(states, classes, mask, frames=None) -> (states, nats, correct)`` over one chunk, teacher
    forced: ``classes`` ``(streams, chunk + 1)``; ``mask[:, t]`` weighs the prediction of ``classes[:, t + 1]``
    (0 for padding); sums per stream. A vocoder's also takes the chunk's frames with their margins
    (:func:`frame_span` of the chunk's first ``chunk`` samples): their vectors are made once a frame."""
    scorer = backend.compiled_once(model, "scorer", lambda: functools.partial(_score_loop, model))
    made = compiled_frame_rate(model)
    return lambda states, classes, mask, frames=None: scorer(
        states, classes, mask, *(() if frames is None else (made(frames),)))


def compiled_loops(model, count=1, sampled=True, first_stream=0, total_streams=1, tail=0.0):
    """The compiled sample loop of ``count`` streams (of ``total_streams``, from ``first_stream``; argmax when
    not ``sampled``; ``tail`` as :func:`choose` takes it), the prime loop and a vocoder's frame-rate network
    (None for other models), each made once per model (:func:`audiornn.backend.compiled_once`).

    The sample loop takes ``(previous, states, seed, start, temperature, size, length[, per_frame][, keys])``:
    it draws ``length`` (a tensor) classes into an output of ``size`` (a Python int, which it is compiled for:
    :func:`loop_size`), so any length up to the size runs in one compiled loop."""
    key = (count, bool(sampled), first_stream, total_streams, float(tail))
    return (backend.compiled_once(model, key, lambda: functools.partial(_sample_loop, model, *key), static=(5,)),
            backend.compiled_once(model, "prime", lambda: functools.partial(_prime_loop, model)),
            compiled_frame_rate(model))


def loop_size(length, sizes, step=1):
    """The output size a sample loop draws ``length`` classes into: the smallest of ``sizes`` (those the loop
    was already compiled for, a list this adds to) that holds them, else ``step`` (a vocoder's hop) times a
    power of two. Each new size compiles the loop again (on TensorFlow as on JAX), so a last, shorter chunk
    runs in its full chunks' loop, and a process vocoding inputs of any length compiles a few sizes at most,
    not one for each length (a 2 s input took 4.1 s to vocode where one of a length compiled before took 1.6;
    before each chunk's length was rounded to a tenth of a chunk, and each new tenth compiled)."""
    fitting = [size for size in sizes if size >= length]
    if fitting:
        return min(fitting)
    size = step * (1 << (-(-length // step) - 1).bit_length())  # (exact, where log2 rounds)
    sizes.append(size)
    return size


# -- sampling -------------------------------------------------------------------------------------

def check_temperature(temperature):
    """``temperature`` as a float: 0 (argmax) or a positive number."""
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) \
            or not 0 <= temperature < math.inf:  # (NumPy's numbers too)
        raise ParameterError(f"{option('temperature')} must be 0 (argmax) or a positive number, got {temperature!r}")
    return float(temperature)


def check_tail(tail, model):
    """``tail`` as a float if it is a probability that leaves the likeliest class some (below 1 / classes)."""
    classes = model.audio_config.num_classes
    if isinstance(tail, bool) or not isinstance(tail, numbers.Real) or not 0 <= tail < 1 / classes:
        raise ParameterError(f"{option('tail')} must be a probability from 0 (none) to below 1/{classes} ({1 / classes:.4f}), "
                             f"so that the likeliest of the {classes} classes keeps some; got {tail!r}")
    return float(tail)


def seed_or_fresh(seed):
    """``seed`` as an int (from -2**31 to 2**31 - 1), or a fresh one when None."""
    if seed is None:
        return int(np.random.SeedSequence().entropy % (2 ** 31))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not -2 ** 31 <= seed < 2 ** 31:
        raise ParameterError(f"seed must be a whole number from {-2 ** 31:,} to {2 ** 31 - 1:,}, got {seed!r}")
    return int(seed)


_MIX = (0x85EBCA6B, 0xC2B2AE35)  # murmur3's 32-bit finaliser


def _mix(value):
    for multiplier, shift in zip(_MIX, (16, 13)):
        value = ops.multiply(ops.bitwise_xor(value, ops.right_shift(value, shift)),
                             ops.convert_to_tensor(np.uint32(multiplier)))
    return ops.bitwise_xor(value, ops.right_shift(value, 16))


def keyed_uniform(keys, seed, position):
    """One uniform number in [0, 1) per stream, from ``(seed, the stream's key, position)`` alone: a
    counter-based hash (murmur3's finaliser, a round per word), so a stream's numbers do not depend on the
    batch it is in, and are the same on every backend. ``keys``: ``(streams,)`` integers."""
    def word(value, shift=0):
        value = ops.convert_to_tensor(value)
        value = ops.right_shift(value, shift) if shift else value
        return ops.cast(ops.bitwise_and(value, 0xFFFFFFFF) if value.dtype == "int64" else value, "uint32")

    state = _mix(ops.bitwise_xor(word(seed), ops.convert_to_tensor(np.uint32(0x9E3779B9))))
    wide = backend.index_dtype() == "int64"  # JAX's positions are 32 bits: their high word is 0
    position = ops.cast(position, "int64") if wide else position
    words = [word(keys), word(position), word(position, 32) if wide else ops.convert_to_tensor(np.uint32(0))]
    for value in words:
        state = _mix(ops.bitwise_xor(state, value))
    return ops.cast(ops.right_shift(state, 8), "float32") * (1.0 / (1 << 24))


def choose(logits, *, seed, position, temperature, tail=0.0, first_stream=0, total_streams=None, keys=None):
    """Each stream's next class: the inverse CDF of ``softmax(logits / temperature)``, or argmax at 0.

    One uniform number per stream, drawn statelessly from ``(seed, position)``: stream ``i`` of
    ``total_streams`` takes the i-th number, so a batch split across shards samples exactly what one batch
    would; with ``keys`` (one integer per stream, :func:`keyed_uniform`), from ``(seed, key, position)``, so a
    stream samples the same whatever else is in its batch. ``tail`` (a Python float below 1 / classes): that
    probability is taken off every class's and the
    classes it leaves none are never drawn (LPCNet's sampling).
    """
    if isinstance(temperature, (int, float)) and temperature == 0:
        return ops.cast(ops.argmax(logits, axis=-1), "int32")
    count = logits.shape[0]
    scaled = logits / temperature
    weights = ops.exp(scaled - ops.max(scaled, axis=-1, keepdims=True))
    if tail:
        weights = ops.maximum(weights - tail * ops.sum(weights, axis=-1, keepdims=True), 0.0)
    if keys is None:
        uniform = backend.uniform(total_streams or count, seed, position)[first_stream:first_stream + count]
    else:
        uniform = keyed_uniform(keys, seed, position)
    return inverse_cdf(weights, uniform)


def inverse_cdf(weights, uniform):
    """The class of each row of ``weights`` ``(streams, classes)`` (not negative, not all 0) at which their
    running sum first exceeds ``uniform`` ``(streams,)`` times their total: the inverse CDF, found in two
    levels (the running sum of blocks of about the square root of the classes, then within the one block that
    holds the threshold). XLA makes a cumulative sum a window as wide as the axis, so one over all the
    classes costs their square: one stream's draw took 3.7 of its 48.7 us a sample that way, and within the
    profile's noise of nothing in two levels (``python bench/step_profile.py``: where does one stream's time
    go?)."""
    classes = weights.shape[-1]
    size = math.isqrt(classes - 1) + 1  # blocks of `size` classes, `size` of them (zeros past the last class)
    if size * size > classes:
        weights = ops.pad(weights, ((0, 0), (0, size * size - classes)))
    blocks = ops.reshape(weights, (-1, size, size))
    ends = ops.cumsum(ops.sum(blocks, axis=-1), axis=-1)  # (streams, blocks): the running sum at each block's end
    threshold = uniform[:, None] * ends[:, -1:]
    block = ops.minimum(ops.sum(ops.cast(ends <= threshold, "int32"), axis=-1), size - 1)
    before = ops.where(block > 0, ops.take_along_axis(ends, ops.maximum(block - 1, 0)[:, None], axis=1)[:, 0], 0.0)
    inside = ops.take_along_axis(blocks, block[:, None, None], axis=1)[:, 0]  # (streams, size)
    running = before[:, None] + ops.cumsum(inside, axis=-1)
    # Where rounding leaves the block's own running sum a step short of its end, its last class that has any
    # weight is drawn (never one that has none, as a tail leaves some).
    last = size - 1 - ops.argmax(ops.flip(ops.cast(inside > 0, "int32"), axis=-1), axis=-1)
    chosen = block * size + ops.minimum(ops.sum(ops.cast(running <= threshold, "int32"), axis=-1),
                                        ops.cast(last, "int32"))
    return ops.minimum(chosen, classes - 1)


PREPARED = "the first of what audiornn.audio_io.prepare_audio(audio, rate, audio_config=model.audio_config) returns"


def prime_array(classes, model):
    """``classes`` given as a prime, as int32: integers from 0 to the model's last class. Floats are refused (a
    waveform, most likely: give its path, or its classes), as are classes out of range."""
    classes = np.asarray(classes)
    top = model.audio_config.num_classes - 1
    if classes.size == 0:
        raise ParameterError("a prime needs at least one class (or leave the prime out)")
    if classes.dtype.kind not in "iu":
        kind = "floats: audio, most likely" if classes.dtype.kind == "f" else f"of type {classes.dtype}"
        raise ParameterError(f"a prime array is the model's classes, integers from 0 to {top}; got "
                             f"{classes.size} {kind}: give a recording as its path, or its classes "
                             f"({PREPARED})")
    if classes.min() < 0 or classes.max() > top:
        samples = ": integer samples of a recording, most likely (int16's lie from -32768 to 32767): give its path, " \
            f"or its classes ({PREPARED})" \
            if classes.min() < 0 else ""
        raise ParameterError(f"prime classes must lie from 0 to {top}, got values from {classes.min()} to "
                             f"{classes.max()}{samples}")
    return classes.astype(np.int32)


def check_stream_frames(model, count, position, length, frames):
    """A vocoder's ``frames`` for ``count`` streams drawing ``length`` samples from sample ``position`` as float32,
    if they are ``(count, rows, bands)`` with the rows the draw reads (:func:`frame_span`) or more; else a
    ParameterError naming the shape expected."""
    frames = np.asarray(frames, np.float32)
    hop, margin, bands = model.feature_config.hop, model.feature_net.margin, model.feature_config.bands
    needed = frame_span(position - 1, length, hop, margin).shape[-1]
    if frames.ndim != 3 or frames.shape[0] != count or frames.shape[1] < needed or frames.shape[2] != bands:
        raise ParameterError(f"sample({length}, frames): frames of shape ({count}, {needed} or more, {bands}) for "
                             f"{count} stream(s) drawing {length} samples from sample {position} (frame_span("
                             f"position - 1, length, {hop}, {margin}) of each input, take_frames), got shape "
                             f"{frames.shape}")
    return frames


class SampleStream:
    """Streams of classes from a model, stepped one sample at a time (:meth:`AudioRNN.step`).

    ``SampleStream(model, count=N)`` holds N streams' states and last classes. :meth:`prime` runs real classes
    through the network to set the state; :meth:`sample` draws the next ``length`` classes of every stream,
    ``(count, length)`` uint8, carrying the state for the next call. ``label`` (a labelled model): names or
    ids, one for all streams or one each; :meth:`set_label` changes it between calls (after a prime, say).
    ``tail``: the probability taken off every class before drawing (:func:`choose`). ``keys`` (one integer per
    stream): each stream draws its own numbers from the seed and its key (:func:`keyed_uniform`), the same
    whatever else is in the batch; without them stream ``i`` takes the i-th of the batch's numbers.
    ``first_stream`` and ``total_streams``: this batch as a shard of a larger one (:class:`StreamGroup`),
    drawing the numbers of its streams there.
    """

    def __init__(self, model, *, count=1, temperature=1.0, seed=0, first_stream=0, total_streams=None, label=None,
                 tail=0.0, keys=None):
        from .runs import as_model

        model = as_model(model)
        self.model, self.count = model, check_positive_int(count, option("count"))
        if keys is not None and np.size(keys) != count:
            raise ParameterError(f"keys: one whole number per stream ({count}), got {np.size(keys)}")
        self.keys = None if keys is None else ops.convert_to_tensor(np.asarray(keys, np.int32).reshape(count))
        # A shard of a larger batch (StreamGroup): its streams are first_stream ... of total_streams
        total_streams = count if total_streams is None else check_positive_int(total_streams, "total_streams")
        if isinstance(first_stream, bool) or not isinstance(first_stream, (int, np.integer)) or first_stream < 0 \
                or first_stream + count > total_streams:
            raise ParameterError(f"first_stream and total_streams place this shard's {count} stream(s) in a larger "
                                 f"batch: 0 <= first_stream <= total_streams - count; got {first_stream!r} and "
                                 f"{total_streams}")
        self.first_stream, self.total_streams = int(first_stream), total_streams
        self.temperature = check_temperature(temperature)
        self.tail = check_tail(tail, model)
        self.seed = seed_or_fresh(seed)
        self.position = 0
        self.states = model.initial_states(count, label_state(model, label, count))
        self.previous = ops.full((count,), model.silence, "int32")
        self._sample, self._prime, self._frame_rate = compiled_loops(
            model, count, self.temperature != 0, self.first_stream, self.total_streams, self.tail)
        # The sizes the sample loop was compiled for (loop_size), kept with it for every stream that runs it
        self._sizes = self._sample.__dict__.setdefault("sizes", [])

    def set_label(self, label):
        """Continue every stream under ``label`` (names or ids, one for all or one each)."""
        ids = label_state(self.model, label, self.count)
        if ids is None:
            raise unlabelled(self.model)
        self.states = dict(self.states, label=ops.convert_to_tensor(ids))

    def prime(self, classes):
        """Set every stream's state by running ``classes`` (``(samples,)`` or ``(count, samples)``)."""
        classes = prime_array(classes, self.model)
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

        A vocoder's streams also take their ``frames``: :func:`frame_span` of the samples the steps read, from
        the one before the first drawn, ``(count, length / hop + 1 + 2 margin, bands)``.
        """
        length = check_positive_int(length, "length")
        if (frames is None) != (self.model.feature_config is None):
            raise ParameterError("a vocoder's streams take their frames: sample(length, frames=...), "
                                 "(count, length / hop + 1 + 2 margin, bands) of them (frame_span, take_frames); "
                                 "vocode() does this from whole inputs" if frames is None else
                                 "frames are for a vocoder's streams; this model makes audio without them")
        hop = 1 if frames is None else self.model.feature_config.hop
        size = loop_size(length, self._sizes, hop)
        extra = ()
        if frames is not None:
            # Frames for the loop's whole size (the last repeated): made by the frame-rate network compiled for it
            frames = check_stream_frames(self.model, self.count, self.position, length, frames)
            rows = size // hop + 1 + 2 * self.model.feature_net.margin
            if frames.shape[1] < rows:
                frames = np.pad(frames, ((0, 0), (0, rows - frames.shape[1]), (0, 0)), mode="edge")
            extra = (self._frame_rate(ops.convert_to_tensor(frames)),)
        if self.keys is not None:
            extra = (extra or (None,)) + (self.keys,)
        index = backend.index_dtype()
        previous, states, chosen = self._sample(
            self.previous, self.states, ops.convert_to_tensor(self.seed, index),
            ops.convert_to_tensor(self.position, index), ops.convert_to_tensor(max(self.temperature, 1e-6), "float32"),
            size, ops.convert_to_tensor(length, "int32"), *extra)
        self.previous, self.states = previous, states
        self.position += length
        return np.asarray(chosen, dtype=np.uint8)[:, :length]


class StreamGroup:
    """Several :class:`SampleStream` shards stepped in parallel threads, one per core.

    XLA runs one stream batch's loop on about one core; splitting a batch into shards that run side by side
    uses the others. The output is identical to one unsharded batch with the same seed. ``keys``: as
    :class:`SampleStream` takes them, one per stream of the whole batch. ``min_shard``: the fewest streams a
    shard takes. On 2 cores two shards ran a vocoder's streams 1.2 to 1.8 times as fast as one from 2 streams
    up (a folded input's segments), the default model's 1.3 to 1.4 times from 8 up and about as fast at 2 and 4
    (0.92 to 1.02, once 1.53; ``python bench/generation_speed.py --shards``)."""

    def __init__(self, model, *, count=1, temperature=1.0, seed=0, shards=None, min_shard=1, label=None, tail=0.0,
                 keys=None):
        from .runs import as_model

        model = as_model(model)
        count = check_positive_int(count, option("count"))
        labels = label_state(model, label, count)
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        shards = shards or max(1, min(cores, count // min_shard))
        sizes = [len(part) for part in np.array_split(np.arange(count), shards)]
        starts = np.cumsum([0] + sizes[:-1])
        seed = seed_or_fresh(seed)
        self.model, self.count, self.seed = model, count, seed
        self.shards = [SampleStream(model, count=size, temperature=temperature, seed=seed, tail=tail,
                                    first_stream=int(start), total_streams=count,
                                    label=None if labels is None else labels[start:start + size],
                                    keys=None if keys is None else np.asarray(keys)[start:start + size])
                       for size, start in zip(sizes, starts)]
        self._pool = ThreadPoolExecutor(len(self.shards)) if len(self.shards) > 1 else None

    def _each(self, function):
        if self._pool is None:
            return [function(shard) for shard in self.shards]
        return list(self._pool.map(function, self.shards))

    def prime(self, classes):
        classes = prime_array(classes, self.model)
        if classes.ndim == 1:
            self._each(lambda shard: shard.prime(classes))
            return
        if classes.ndim != 2 or classes.shape[0] != self.count:
            raise ParameterError(f"prime classes must have shape (samples,) (one prime for every stream) or "
                                 f"({self.count}, samples) (one a stream), got {classes.shape}")
        rows = np.cumsum([0] + [shard.count for shard in self.shards])
        for shard, start, stop in zip(self.shards, rows[:-1], rows[1:]):
            shard.prime(classes[start:stop])

    def set_label(self, label):
        labels = label_state(self.model, label, self.count)
        if labels is None:
            raise unlabelled(self.model)
        for shard in self.shards:
            shard.set_label(labels[shard.first_stream:shard.first_stream + shard.count])

    def sample(self, length, frames=None):
        """The next ``length`` classes of every stream, ``(count, length)`` uint8 (a vocoder: given ``frames``,
        as :meth:`SampleStream.sample` says)."""
        if frames is None:
            return np.concatenate(self._each(lambda shard: shard.sample(length)), axis=0)
        if self.model.feature_config is not None:  # (checked whole, before any shard draws)
            frames = check_stream_frames(self.model, self.count, self.shards[0].position,
                                         check_positive_int(length, "length"), frames)
        return np.concatenate(self._each(lambda shard: shard.sample(
            length, frames[shard.first_stream:shard.first_stream + shard.count])), axis=0)

    def close(self):
        if self._pool is not None:
            self._pool.shutdown()

    def __enter__(self):
        return self

    def __exit__(self, *failure):
        self.close()


class TimeLeft:
    """Says once, where it is :data:`TIME_LEFT_AT_LEAST` seconds or more, how long a long job (``what``, of
    ``total`` units) has left: for work off a terminal, where no progress bar shows. Timed from the end of its
    first piece (which compiles) over :data:`TIME_LEFT_AFTER` seconds."""

    def __init__(self, total, what):
        self.total, self.what, self.done_count, self.since, self.said = total, what, 0, None, False

    def done(self, count):
        self.done_count += count
        now = time.monotonic()
        if self.since is None:
            self.since = (now, self.done_count)
        elif not self.said and now - self.since[0] >= TIME_LEFT_AFTER:
            self.said = True
            left = (self.total - self.done_count) * (now - self.since[0]) / max(self.done_count - self.since[1], 1)
            if left >= TIME_LEFT_AT_LEAST:
                logger.info("%s: about %s left", self.what, f"{left:.0f} s" if left < 90 else
                            f"{left / 60:.0f} minutes")


TIME_LEFT_AFTER, TIME_LEFT_AT_LEAST = 10.0, 30.0


def chunks(total, chunk, *, count, rate, desc, progress=True, speedup=1.0):
    """Each chunk of ``total`` samples as ``(start, length)``: at most ``chunk`` samples, with a progress bar
    over ``count`` streams that shows the speed in real time at ``rate`` (of ``speedup`` output samples a
    stream's sample: folded vocoding's streams are parts of fewer outputs)."""
    started, done = time.monotonic(), 0
    with tqdm(total=total * count, unit="sample", unit_scale=True, desc=desc,
              disable=bar_disabled(progress)) as bar:
        left = TimeLeft(total, f"{desc} {count:,} stream(s) of {total / rate:g} s") if progress and bar.disable \
            else None
        while done < total:
            length = min(chunk, total - done)
            yield done, length
            done += length
            bar.update(length * count)
            if left is not None:
                left.done(length)
            bar.set_postfix(realtime=f"{done * speedup / rate / max(time.monotonic() - started, 1e-9):.1f}x")


def flops_per_sample(model):
    """Multiply-adds x 2 of one generation step (one new sample, one stream)."""
    total = 0
    for layer in model.recurrent:
        for weight in layer.trainable_weights:
            # Matrices only: a GRU's bias is 2-D too (input and recurrent halves).
            if weight.name in ("kernel", "recurrent_kernel", "projection"):
                total += 2 * int(np.prod(weight.shape))
    for layer in (model.dense, model.logits, model.peak):
        if layer is not None:
            total += 2 * int(np.prod(layer.kernel.shape))
    config = model.model_config
    if model.frame_tier is not None:
        # Once a frame: the frame tier's GRUs and its projection to a frame of conditioning.
        tier = model.frame_tier
        frame = sum(2 * int(np.prod(weight.shape)) for layer in tier.recurrent for weight in layer.trainable_weights
                    if weight.name in ("kernel", "recurrent_kernel"))
        total += (frame + 2 * int(np.prod(tier.output_projection.kernel.shape))) // config.frame_size
    if model.feature_net is not None:
        # Once a frame: the feature network's convolutions and output layer.
        total += sum(2 * int(np.prod(weight.shape)) for weight in model.feature_net.trainable_weights
                     if len(weight.shape) > 1) // model.feature_config.hop
    if config.linear_prediction:
        # The predictor's fit (autocorrelation, Levinson-Durbin) once a hop, and its prediction.
        order = config.linear_prediction
        total += (2 * config.prediction_window * (order + 1) + 2 * order * order) // config.prediction_hop + 2 * order
    elif model.envelope is not None:
        # Once a frame: the envelope's spectrum and autocorrelation, Levinson-Durbin; then the prediction.
        order = config.frame_prediction
        to_bins, to_lags, _ = model.envelope
        total += 2 * (to_bins.size + to_lags.size + order * order) // model.feature_config.hop + 2 * order
    return total
