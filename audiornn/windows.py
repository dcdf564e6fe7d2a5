"""Cutting context windows from a split's array on the fly (pure numpy).

Nothing is copied ahead of time: a batch is gathered from the memory-mapped
uint8 array when asked for, so memory grows with the audio, never with the
context length. Windows never straddle two source files.
"""

import logging

import numpy as np

from .config import check_input_noise, check_positive_int, option
from .errors import DatasetError, ParameterError
from .features import frame_count
from .stepping import frame_span, take_frames

__all__ = ["MODES", "WindowSampler"]

# "sequence": the next sample at every position (teacher forcing);
# "many_to_one": only the sample after the window (the original AudioRNN, the seed preset).
MODES = ("sequence", "many_to_one")


# Files shorter than a window are never drawn: said when they hold this share of a split's audio or more.
SHORT_SHARE = 0.05


def _say_short_files(segments, usable, labels, window, name):
    """Warn that the files of ``segments`` shorter than a ``window`` (all but ``usable``) are never in a batch,
    when they hold :data:`SHORT_SHARE` of the audio or more, or all of a label's."""
    kept = set(usable)
    short = [segment for index, segment in enumerate(segments) if index not in kept]
    total, left = sum(segment.length for segment in segments), sum(segment.length for segment in short)
    lost = sorted({segment.label for segment in short} - {segments[index].label for index in kept} - {None}) \
        if labels is not None else []
    if left >= SHORT_SHARE * total or lost:
        logging.getLogger("audiornn").warning(
            "%d %s file(s) (%.0f%% of its audio) are shorter than a window of %d samples and never in a batch%s: a "
            "shorter --sequence-length reaches them (their longest is %d samples)", len(short), name,
            100 * left / total, window, f" (all the audio of label {', '.join(lost)})" if lost else "",
            max(segment.length for segment in short))


class WindowSampler:
    """Batches of windows from one split of a dataset.

    A window is ``sequence_length + 1`` consecutive samples of one source
    file. Inputs are the first ``sequence_length`` classes, shape
    ``(batch, sequence_length)`` int32; targets are the following sample at
    every position, shape ``(batch, sequence_length)`` ("sequence" mode), or
    only the sample after the window, shape ``(batch,)`` ("many_to_one" mode).

    shuffle=True (training): ``steps`` batches of windows at random offsets,
    drawn from ``seed``, the epoch and the batch index, so every epoch differs
    and any batch can be rebuilt. shuffle=False (validation): consecutive,
    windows ``hop`` apart (by default the targets tile the audio once), the
    same every epoch; the last batch may be short. ``max_steps`` keeps an
    evenly spread subset of at most that many batches.

    carry=True ("sequence" mode): row ``i`` of batch ``k + 1`` continues
    where row ``i`` of batch ``k`` ended, so a model can carry its recurrent
    state from batch to batch (truncated backpropagation through time); a
    row that reaches the end of a file jumps to the start of the next one.
    Training rows start at fresh random places each epoch; validation rows
    start evenly spread over the audio, the same every epoch, and read on
    for ``max_steps`` batches (or until the rows have covered the audio once).

    ``labels`` (one integer per segment) makes a labelled sampler: inputs are
    then ``{"classes": ..., "label": (batch,) int32}``, each window with its
    file's label (a window never crosses two files, so it has one).

    ``frames`` (a split's spectrogram frames, ``(frames, bands)``, with the
    segments' ``frames_start``) and ``frame_hop`` add ``"features"``: each window's
    frames ``(batch, sequence_length / hop + 2 margin, bands)`` float32, the
    ``margin`` frames before and after included (a file's first or last frame
    repeated past its ends). Windows then start on frame boundaries.

    ``input_noise`` (training only): each window's input classes get Gaussian
    noise of a standard deviation drawn uniformly from 0 to ``input_noise``
    classes, rounded and kept within ``0..top`` (the highest class), while the
    targets stay the clean next samples (LPCNet's noise injection: the network
    sees inputs as wrong as its own samples will be, meant to teach it to pull
    back towards the audio; on music it made generated streams fall silent
    more often, ``bench/collapse_fixes.py``). The noise of a batch is drawn
    from the same seed, epoch and index as its windows.
    """

    def __init__(self, array, segments, *, sequence_length, batch_size, mode="sequence",
                 shuffle=True, steps=None, hop=None, max_steps=None, seed=0, name="training", carry=False,
                 labels=None, frames=None, frame_hop=None, margin=0, input_noise=0.0, top=255):
        self.array = array
        check_input_noise(input_noise)
        if input_noise and not shuffle:
            raise ParameterError("input noise is for training batches only: validation scores the clean audio")
        self.input_noise, self.top = float(input_noise), int(top)
        self.frames, self.frame_hop, self.margin = frames, int(frame_hop or 1), int(margin)
        if frames is not None and sequence_length % self.frame_hop:
            raise ParameterError(f"{option('sequence_length')} ({sequence_length}) must be a multiple of the features' "
                                 f"hop ({self.frame_hop} samples a frame): use {option('sequence_length')} "
                                 f"{max(1, round(sequence_length / self.frame_hop)) * self.frame_hop}")
        if labels is not None and len(labels) != len(segments):
            raise ParameterError(f"labels: one per segment, got {len(labels)} for {len(segments)} segments")
        self.sequence_length = check_positive_int(sequence_length, "sequence_length")
        self.batch_size = check_positive_int(batch_size, "batch_size")
        if mode not in MODES:
            raise ParameterError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode, self.shuffle, self.seed, self.epoch = mode, shuffle, int(seed), 0
        if carry and mode != "sequence":
            raise ParameterError("carry needs a sampler in 'sequence' mode")
        self.carry, self._lanes = bool(carry), (None, None)
        window = self.sequence_length + 1
        usable = [index for index, segment in enumerate(segments) if segment.length >= window]
        if shuffle and segments and len(usable) < len(segments):
            _say_short_files(segments, usable, labels, window, name)
        self._labels = None if labels is None else np.asarray(labels, dtype=np.int32)[usable]
        usable = [segments[index] for index in usable]
        self._frame_starts = None if frames is None else np.array([segment.frames_start for segment in usable])
        self._frame_counts = None if frames is None else np.array(
            [frame_count(segment.length, self.frame_hop) for segment in usable])
        if not segments:
            raise DatasetError(f"the dataset has no {name} audio: build it with a validation fraction above 0 "
                               f"(--validation-fraction)" if name == "validation" else
                               f"the dataset has no {name} audio: build it from more than one file, or with a "
                               f"smaller validation fraction")
        if not usable:
            longest = max((segment.length for segment in segments), default=0)
            raise DatasetError(
                f"the {name} audio has no file of at least {window} samples (sequence length "
                f"{self.sequence_length} + 1); its longest is {longest}: use a shorter "
                f"--sequence-length or longer recordings"
                + (" (or another --validation-fraction: the files held out are whole files, here all short ones)"
                   if name == "training" else ""))
        starts = np.array([segment.start for segment in usable], dtype=np.int64)
        # Number of distinct windows each file offers (starting on frame boundaries, with features).
        align = self.frame_hop
        counts = np.array([(segment.length - window) // align + 1 for segment in usable], dtype=np.int64)
        self._starts, self._cumulative = starts, np.cumsum(counts)
        self._ends = starts + (counts - 1) * align + 1  # one past the last window start of each file
        if shuffle:
            # One epoch by default: about as many targets as the split has samples.
            per_batch = self.batch_size * (self.sequence_length if mode == "sequence" else 1)
            default_steps = max(1, -(-int(self._cumulative[-1]) * align // per_batch))
            self.steps = default_steps if steps is None else check_positive_int(steps, "steps")
        elif carry:
            # Rows start evenly spread over the audio and read on, one window after another.
            full = -(-int(self._cumulative[-1]) * align // (self.batch_size * self.sequence_length))
            self.steps = full if max_steps is None else min(full, check_positive_int(max_steps, "max_steps"))
            first = self._locate(np.arange(self.batch_size, dtype=np.int64) * self._cumulative[-1]
                                 // self.batch_size)
            self._offsets = self._walk(first, self.steps).reshape(-1)
        else:
            # Consecutive windows whose targets tile the audio once.
            hop = (self.sequence_length if mode == "sequence" else 1) if hop is None \
                else check_positive_int(hop, "hop")
            if hop % align:
                raise ParameterError(f"hop ({hop}) must be a multiple of the features' hop ({align})")
            self._offsets = np.concatenate([
                start + np.arange(0, (count - 1) * align + 1, hop, dtype=np.int64)
                for start, count in zip(starts, counts)])
            if max_steps is not None and self._offsets.size > check_positive_int(max_steps, "max_steps") \
                    * self.batch_size:
                # An evenly spread, fixed subset, so a quick score still spans all the audio.
                keep = np.linspace(0, self._offsets.size - 1, max_steps * self.batch_size).round()
                self._offsets = self._offsets[keep.astype(np.int64)]
            self.steps = -(-self._offsets.size // self.batch_size)
        self._span = np.arange(window, dtype=np.int64)

    @property
    def windows(self):
        """How many windows one pass yields."""
        return self.steps * self.batch_size if self.shuffle else int(self._offsets.size)

    def __len__(self):
        return self.steps

    def offsets(self, index, epoch=None):
        """Start positions (in the split's array) of the windows of batch ``index``."""
        if not 0 <= index < self.steps:
            raise IndexError(f"batch {index} out of range for {self.steps} batches")
        if not self.shuffle:
            return self._offsets[index * self.batch_size:(index + 1) * self.batch_size]
        epoch = self.epoch if epoch is None else epoch
        if self.carry:
            return self._lane_offsets(epoch)[index]
        generator = np.random.default_rng([self.seed, epoch, index])
        return self._draw(generator, self.batch_size)

    def _draw(self, generator, count):
        """``count`` window starts, uniform over every window of every file."""
        return self._locate(generator.integers(0, self._cumulative[-1], size=count))

    def _locate(self, numbers):
        """The window starts numbered ``numbers`` counting through every file's windows in order."""
        file_index = np.searchsorted(self._cumulative, numbers, side="right")
        before = np.concatenate([[0], self._cumulative[:-1]])[file_index]
        return self._starts[file_index] + (numbers - before) * self.frame_hop

    def _walk(self, position, steps):
        """Rows reading on from ``position``, one window per step: ``(steps, rows)`` starts."""
        file_index = np.searchsorted(self._starts, position, side="right") - 1
        table = np.empty((steps, position.size), dtype=np.int64)
        for step in range(steps):
            table[step] = position
            position = position + self.sequence_length
            # Past the file's last window: on to the start of the next file (the first after the last).
            done = position >= self._ends[file_index]
            file_index = np.where(done, (file_index + 1) % self._starts.size, file_index)
            position = np.where(done, self._starts[file_index], position)
        return table

    def _lane_offsets(self, epoch):
        """Window starts of every batch of an epoch in carry mode: ``(steps, batch_size)``."""
        if self._lanes[0] != (epoch, self.steps):
            first = self._draw(np.random.default_rng([self.seed, epoch]), self.batch_size)
            self._lanes = ((epoch, self.steps), self._walk(first, self.steps))
        return self._lanes[1]

    def batch(self, index, epoch=None):
        """``(inputs, targets)`` of batch ``index`` as int32 arrays."""
        offsets = self.offsets(index, epoch)
        windows = np.asarray(self.array[offsets[:, None] + self._span], dtype=np.int32)
        inputs = windows[:, :-1]
        targets = windows[:, 1:] if self.mode == "sequence" else windows[:, -1]
        if self.input_noise:
            inputs = self.noisy(inputs, index, epoch)
        if self._labels is not None or self.frames is not None:
            inputs = {"classes": inputs}
            if self._labels is not None:
                inputs["label"] = self.labels_at(offsets)
            if self.frames is not None:
                inputs["features"] = self.frames_at(offsets)
        return inputs, targets

    def noisy(self, inputs, index, epoch=None):
        """``inputs`` with this batch's noise (see the class): the same for the same batch, epoch and seed."""
        epoch = self.epoch if epoch is None else epoch
        generator = np.random.default_rng([self.seed, epoch, index, 1])
        scale = generator.uniform(0.0, self.input_noise, size=(inputs.shape[0], 1))
        noise = np.rint(generator.standard_normal(inputs.shape) * scale).astype(np.int32)
        return np.clip(inputs + noise, 0, self.top).astype(np.int32)

    def frames_at(self, offsets):
        """The frames of the windows starting at ``offsets``, with their margins: ``(batch, frames, bands)``."""
        owner = np.searchsorted(self._starts, offsets, side="right") - 1
        span = frame_span(offsets - self._starts[owner], self.sequence_length, self.frame_hop, self.margin)
        return take_frames(self.frames, span, self._frame_starts[owner], self._frame_counts[owner])

    def labels_at(self, offsets):
        """The label of the file holding each window start (labelled samplers)."""
        return self._labels[np.searchsorted(self._starts, offsets, side="right") - 1]
