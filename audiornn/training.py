"""Training: a run folder that never loses progress.

The run folder's files and their contract are described in :mod:`audiornn.runs`;
every epoch's models, history and state are written there atomically, so a
kill at any moment leaves a run that ``--resume`` continues from the last
completed epoch.
"""

import contextlib
import dataclasses
import functools
import importlib.util
import logging
import math
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from .backend import start_quietly

start_quietly()  # before Keras: a notebook's first import keeps the backend's start-up lines out
import keras
import numpy as np
import soundfile

from . import backend
from .cluster import WORKER_TIMEOUT
from .config import (PARTS, VOCODER_WINDOW_FRAMES, AudioConfig, ModelConfig, TrainConfig, as_config, command,
                     is_default, option, shown_labels)
from .dataset import as_dataset
from .features import frame_count, loud_level
from .errors import (AudioFileError, AudioRNNError, DatasetError, ModelFileError, ParameterError, RunError, WorkerLost,
                     refused_by_machine)
from .files import make_folder, write_advice, write_json
from .keras_data import NextDraw, WindowDataset, fit_input
from .layers import StateCarry
from .model import BitsPerSample, build_model
from .sink import beyond_full_scale_unsaid
from .runs import (BEST_MODEL, CONFIG, HEALTH_COLUMNS, HEALTHIEST_MODEL, HISTORY, HISTORY_COLUMNS, LAST_MODEL, LOCK,
                   LOGS, PREVIEWS, STATE, SUMMARY, commit_epoch, epochs_completed, committed_path, history_writer, hold_run, is_run, load_run_model, new_run_config,
                   prepare_run_folder, read_history_rows, read_run_json, read_summary, recorded_dataset, recover_run, same_dataset,
                   dataset_rebuilt_note, damaged_advice, damaged_run, nothing_saved, write_history)
from .pretrained import resolve_model
from .scoring import evaluate_model
from .windows import WindowSampler

# TrainConfig and load_run_model live in config and runs; importing them from here keeps working.
__all__ = ["TrainConfig", "TrainingDiverged", "load_run_model", "train"]

logger = logging.getLogger("audiornn")

class TrainingDiverged(AudioRNNError):
    """The loss became NaN or infinite, or the first epoch's validation loss far above a uniform guess's
    (:data:`BLOWN_UP` times); the last good model was kept."""


def learning_rate_at(config, progress, step):
    """The schedule: warm-up over ``warmup_steps``, then cosine from 1 to the final fraction."""
    warm = min(1.0, (step + 1) / config.warmup_steps) if config.warmup_steps else 1.0
    progress = min(max(progress, 0.0), 1.0)
    floor = config.final_learning_rate_fraction
    return config.learning_rate * warm * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress)))


# ----------------------------------------------------------------------------------------------
# Callbacks


# Early stopping waits for the schedule's second half: while the learning rate is above half its peak the
# validation loss can stand still for many epochs and still fall as the rate falls (a 120-minute run of the
# default stopped after 26 minutes on a plateau at 0.009: bench/vocoder.py --minutes 120 --side-by-side, does a
# two-hour vocoder beat the unconditional model).
PATIENCE_FROM = 0.5
# A validation loss this many nats above the best (0.72 bits per sample) is a collapse, not noise: the best
# epoch's weights and optimizer state come back and the rest of the run takes half the learning rate.
COLLAPSE_NATS = 0.5
MOST_RESTORES = 3
# A first epoch whose validation loss is this many times a uniform guess's (16 bits a sample of 256 classes, where
# the guess costs 8 and an untrained model about as much) blew up, as a NaN does: it is not saved as the best.
BLOWN_UP = 2.0


HEALTH_LEVEL_LEAST = 0.5  # a check with less of its windows at the training level is healthier than none that has


def health_rank(figures):
    """How a health check ranks (higher is healthier): a check with at least half of its windows at the training
    level above one with less (streams at another level all along are not stuck, and not healthy either); then
    the smallest share of streams stuck (collapsed, run away or frozen: a drone at the training level is as
    stuck as silence); then the fewest flaws short of stuck (a loud burst, few held tones: each stream's, counted
    once for each; a check saved before they were measured has none); then the largest share of windows at the
    training level; then, between checks alike in all of these (healthy models often are: all windows in range,
    no stream stuck), the fewest validation bits."""
    bits = figures.get("val_bits_per_sample")
    streams = max(figures["streams"], 1)
    flaws = figures.get("burst", 0) + figures.get("few_tones", 0)
    return (figures["in_range"] >= HEALTH_LEVEL_LEAST, -figures["stuck"] / streams, -flaws / streams,
            figures["in_range"], -math.inf if bits is None else -bits)


class RunKeeper(keras.callbacks.Callback):
    """Sets the learning rate, checkpoints, keeps the history, stops on budget or NaN, and brings the best
    epoch back when the validation loss collapses."""

    def __init__(self, folder, config, state, history, budget_seconds, total_steps, preview=None, carry=None,
                 strategy=None, health=None):
        super().__init__()
        self.carry = carry
        self.health = health
        self.folder, self.config, self.state = Path(folder), config, state
        self.history_rows, self.budget_seconds, self.total_steps = history, budget_seconds, total_steps
        self.preview, self.preview_due = preview, None
        self._segment_start = time.monotonic()  # (set again when training starts)
        self.diverged = None
        self.stop_reason = None
        # Several workers must take the same decisions from their own clocks: the time they agree on
        # (the mean of theirs) is taken at epoch boundaries, and the time budget is checked only there.
        self.strategy = strategy if _multi_worker(strategy) else None
        self._agreed = None

    def close_folder(self):
        """Let go of the run folder held open while training (:meth:`on_train_begin`)."""
        if getattr(self, "_folder", None) is not None:
            os.close(self._folder)
            self._folder = None

    def _elapsed(self):
        return self.state["training_seconds"] + (time.monotonic() - self._segment_start)

    def _agreed_elapsed(self):
        if self.strategy is None:
            return self._elapsed()
        return backend.mean_across_workers(self.strategy, self._elapsed())

    def _progress(self, step):
        if self.budget_seconds:
            elapsed = self._agreed if self.strategy is not None else self._elapsed()
            return elapsed / self.budget_seconds
        return step / max(1, self.total_steps)

    def _budget_used(self):
        if self.budget_seconds and self._agreed_elapsed() >= self.budget_seconds:
            self.stop_reason = f"time budget of {self.budget_seconds / 60:g} minutes used"
            self.model.stop_training = True

    def on_train_begin(self, logs=None):
        self.close_folder()
        # The folder this process holds, open, whatever its path holds later: held open, its inode is not given to
        # a folder made again at that path (a removed one's can be, at once, on ext4)
        self._folder = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
        self._segment_start = time.monotonic()
        self._epochs_here = 0
        self._first_batch_seconds = self._validation_start = self._first_validation_seconds = None
        self._batches = self._validation_batches = 0

    def on_test_batch_begin(self, batch, logs=None):
        if batch == 0 and self._validation_start is None:  # the epoch's validation starts
            self._validation_start = time.monotonic()

    def on_test_batch_end(self, batch, logs=None):
        _raise_kept_interrupt()
        if batch == 0 and self._validation_start is not None and self._first_validation_seconds is None:
            self._first_validation_seconds = time.monotonic() - self._validation_start  # (its compilation)
        self._validation_batches = batch + 1

    def on_epoch_begin(self, epoch, logs=None):
        _raise_kept_interrupt()
        self._epoch_start = time.monotonic()
        self._first_batch_seconds = self._validation_start = self._first_validation_seconds = None
        self._batches = self._validation_batches = 0
        if self.strategy is not None and self.budget_seconds:
            self._agreed = self._agreed_elapsed()
        for carry in self.carry or ():
            carry.reset()  # training rows start at new places each epoch; validation's from its start

    def on_train_batch_begin(self, batch, logs=None):
        backend.sync_training_state(self.model)
        step = int(self.model.optimizer.iterations.numpy())
        scale = self.state.get("learning_rate_scale", 1.0)  # halved by each collapse the run came back from
        self.model.optimizer.learning_rate.assign(scale * learning_rate_at(self.config, self._progress(step), step))

    def on_train_batch_end(self, batch, logs=None):
        _raise_kept_interrupt()
        if batch == 0 and self._first_batch_seconds is None:  # (a process's first holds the step's compilation)
            self._first_batch_seconds = time.monotonic() - self._epoch_start
        self._batches = batch + 1
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            self.diverged = (self.state["epochs_completed"] + 1, batch)
            self.model.stop_training = True
        elif self.strategy is None:
            self._budget_used()

    def on_epoch_end(self, epoch, logs=None):
        if self.diverged:
            return
        logs = dict(logs or {})
        number = epoch + 1
        row = {"epoch": number, "seconds": round(time.monotonic() - self._epoch_start, 2),
               "learning_rate": float(self.model.optimizer.learning_rate.numpy())}
        row.update({key: float(value) for key, value in logs.items() if key in HISTORY_COLUMNS})
        val_loss = row.get("val_loss", row.get("loss"))
        uniform = math.log(self.model.audio_config.num_classes)
        # (with a good epoch to go back to, a collapse brings it back at half the rate: below)
        if self.state["best_val_loss"] is None and (not np.isfinite(val_loss) or val_loss > BLOWN_UP * uniform):
            self.diverged = (number, None, val_loss / math.log(2), uniform / math.log(2))
            self.model.stop_training = True
            return
        improved = self.state["best_val_loss"] is None or val_loss < self.state["best_val_loss"]
        collapsed = not improved and val_loss > self.state["best_val_loss"] + COLLAPSE_NATS
        healthiest = self._check_health(number, row, restoring=collapsed)
        state = dict(self.state, epochs_completed=number, training_seconds=self._elapsed(),
                     last_epoch_seconds=row["seconds"],
                     optimizer_steps=int(self.model.optimizer.iterations.numpy()),
                     stop_reason=f"interrupted after epoch {number} (or still training): continue with --resume")
        if improved:
            state.update(best_val_loss=val_loss, best_epoch=number, epochs_without_improvement=0)
        else:
            state["epochs_without_improvement"] += 1
        restores = self.state.get("restores", 0)
        if collapsed:
            if restores >= MOST_RESTORES:
                self.stop_reason = (f"the validation loss collapsed again after {restores} returns to the best epoch "
                                    f"at ever lower learning rates; the best model (epoch {self.state['best_epoch']}) "
                                    f"is kept: train again with a lower --learning-rate")
                self.model.stop_training = True
            else:
                scale = self.state.get("learning_rate_scale", 1.0) / 2
                self._restore_best(number, val_loss, scale)
                state.update(restores=restores + 1, learning_rate_scale=scale,
                             optimizer_steps=int(self.model.optimizer.iterations.numpy()))
        writes = {LAST_MODEL: self.model.save, HISTORY: history_writer([*self.history_rows, row])}
        if improved:
            writes[BEST_MODEL] = self.model.save
        if healthiest:
            before = self.state.get("healthiest")
            earlier = committed_path(self.folder, HEALTHIEST_MODEL)
            if before is not None and not _same_checks(before, healthiest) and earlier.is_file():  # kept
                kept = self.folder / f"healthiest-epoch{before['epoch']:04d}.keras"
                writes[kept.name] = functools.partial(shutil.copyfile, earlier)
                logger.warning("epoch %d is the healthiest of the checks made with --health-seconds %g and --seed %s; "
                               "the healthiest of the earlier checks (epoch %d, %s s, seed %s) is kept as %s",
                               number, healthiest["seconds"], healthiest["seed"], before["epoch"],
                               before.get("seconds"), before.get("seed"), kept)
            writes[HEALTHIEST_MODEL] = self.model.save
            state["healthiest"] = healthiest
        now = _folder_identity(self.folder)
        held = _held_identity(self._folder)
        if held is None or now != held:  # removed (or moved) from under the training: nothing to save into, or
            # another run's folder made at its path since (saving there would mix the two runs' files)
            other = "" if now is None else " (the folder now at that path is another one, which this run does not " \
                                           "hold: nothing was saved into it)"
            raise RunError(f"the run folder '{self.folder}' was removed or moved while it trained{other}: epoch "
                           f"{number} could not be saved there; " + (
                               "put it back and continue with --resume, or start again" if number > 1 and now is None
                               else "start again in a free folder" if now is not None else "start again"))
        try:
            commit_epoch(self.folder, number, writes, state)
        except OSError as error:
            advice = write_advice(error, self.folder)  # (the run goes on in its folder, not another)
            if _committed(self.folder) >= number:  # saved (state.json), its files not yet renamed into place
                raise refused_by_machine(RunError(
                    f"epoch {number} was saved in '{self.folder}', but its files could not be moved into place "
                    f"({error}; readers find them where they are): {advice} and continue with --resume "
                    f"{self.folder}, which goes on after epoch {number}")) from error
            kept = f"epoch {number - 1}'s files are intact: {advice} and continue with --resume {self.folder}" \
                if number > 1 else f"no epoch was saved: {advice} and start again (the same command)"
            raise refused_by_machine(RunError(f"could not save epoch {number} in '{self.folder}': {error}; {kept}")) \
                from error
        self.history_rows.append(row)
        self._epochs_here += 1
        self.state.update(state)
        self._segment_start = time.monotonic()
        if self.strategy is not None:
            self._budget_used()
        step = int(self.model.optimizer.iterations.numpy())
        if not self.model.stop_training and self.state["epochs_without_improvement"] >= self.config.patience \
                and self._progress(step) >= PATIENCE_FROM:
            self.stop_reason = f"no better validation loss for {self.config.patience} epochs"
            self.model.stop_training = True
        # An epoch's time: from a second epoch of this process on, the last one's; after the first, which holds the
        # compilation, its batches after the first
        epoch_seconds = row["seconds"] if self._epochs_here > 1 else _steady_epoch_seconds(
            row["seconds"], self._first_batch_seconds, self._batches,
            training_seconds=None if self._validation_start is None else self._validation_start - self._epoch_start,
            first_validation_seconds=self._first_validation_seconds, validation_batches=self._validation_batches)
        if not self.model.stop_training and self.strategy is None and epoch_seconds is not None and _no_epoch_fits(
                self.budget_seconds, self._elapsed(), epoch_seconds):
            left = self.budget_seconds - self._elapsed()
            self.stop_reason = f"time budget of {self.budget_seconds / 60:g} minutes used" + (
                f" (the {left:.0f} s left would make an epoch of {left / epoch_seconds:.0%} of its batches, not one of "
                f"{epoch_seconds:.0f} s)"
                if left >= 1 else "")
            self.model.stop_training = True
        if self.preview and self.config.preview_every and number % self.config.preview_every == 0:
            self.preview_due = number  # written by Previews, after the epoch's line is shown

    def write_missed_preview(self):
        """On resuming, the preview of the last epoch saved, when one was due and the run stopped before it was
        written (its file is written whole, so a kill while it is made leaves none)."""
        number = self.state["epochs_completed"]
        if not (number and self.preview and self.config.preview_every and number % self.config.preview_every == 0) \
                or (self.folder / PREVIEWS / f"epoch_{number:04d}.wav").exists():
            return
        logger.info("epoch %d's preview is missing (the run stopped before it was written, or it was removed): "
                    "writing it", number)
        self.preview_due = number
        self.write_due_preview()

    def write_due_preview(self):
        """The preview of the epoch just saved, when one is due; its sound distance into the epoch's row."""
        number, self.preview_due = self.preview_due, None
        if number is None:
            return
        with self._not_training_time():  # (a preview, as a health check)
            distance = self.preview(self.model, self.folder / PREVIEWS / f"epoch_{number:04d}.wav")
        if distance is not None:
            self.history_rows[-1]["sound_frechet"] = distance
            write_history(self.folder / HISTORY, self.history_rows)

    def _check_health(self, number, row, restoring=False):
        """On a health-check epoch, the check's figures into ``row``; returns them (with the epoch, its
        validation bits and how the check was made) when this epoch is the healthiest so far, else None. An
        epoch whose validation loss collapsed is not a candidate (the best epoch's weights replace its own).
        The check's time is not training time: it does not count against the budget."""
        if not (self.health and self.config.health_every and number % self.config.health_every == 0):
            return None
        logger.info("epoch %d: checking health, %d streams of %g s (not counted against the time budget)", number,
                    self.config.health_streams, self.config.health_seconds)
        with self._not_training_time():
            figures = self.health(self.model)
        row.update({column: figures[column.removeprefix("health_")] for column in HEALTH_COLUMNS})
        bits = row.get("val_bits_per_sample", row.get("bits_per_sample"))
        made = {"seconds": self.config.health_seconds, "seed": self.config.seed}
        figures = dict(figures, epoch=number, val_bits_per_sample=bits, **made)
        before = self.state.get("healthiest")
        if before is not None and not _same_checks(before, made):
            logger.info("the health checks are made otherwise than the healthiest one before (epoch %d: %s s, seed "
                        "%s): it is not compared with them", before["epoch"], before.get("seconds"), before.get("seed"))
            before = None
        if restoring:
            return None
        return figures if before is None or health_rank(figures) > health_rank(before) else None

    @contextlib.contextmanager
    def _not_training_time(self):
        """Within it, the time spent is not counted against the time budget (a health check, a preview)."""
        started = time.monotonic()
        try:
            yield
        finally:
            self._segment_start += time.monotonic() - started

    def _restore_best(self, number, val_loss, scale):
        """The best epoch's weights and optimizer state back into the model (the file it was saved to); the run
        goes on at ``scale`` of the schedule's learning rate."""
        self.model.load_weights(committed_path(self.folder, BEST_MODEL))
        backend.sync_training_state(self.model)
        logger.warning("epoch %d: the validation loss collapsed (%.3f bits per sample against the best %.3f, epoch "
                       "%d); training goes on from the best epoch's model at %g of the learning rate",
                       number, val_loss / math.log(2), self.state["best_val_loss"] / math.log(2),
                       self.state["best_epoch"], scale)


def _committed(folder):
    """The epochs that run ``folder``'s state.json says are saved (0 where it cannot be read)."""
    try:
        return epochs_completed(folder)
    except (AudioRNNError, OSError):
        return 0


def _folder_identity(folder):
    """Which folder is at path ``folder`` (its device and inode), or None where none is."""
    try:
        info = os.stat(folder)
    except OSError:
        return None
    return (info.st_dev, info.st_ino) if os.path.isdir(folder) else None


def _held_identity(descriptor):
    """The device and inode of the folder open as ``descriptor``, or None where it has been removed."""
    info = os.fstat(descriptor)
    return (info.st_dev, info.st_ino) if info.st_nlink else None


def _same_checks(one, other):
    """Whether two health checks were made alike (the same stream length and seeds), so their figures compare."""
    return all(one.get(key) == other.get(key) for key in ("seconds", "seed"))


class Previews(keras.callbacks.Callback):
    """Writes the preview an epoch is due (``RunKeeper.preview_due``), after the callbacks that show the epoch's
    line, so that its line follows the epoch's instead of coming before it."""

    def __init__(self, keeper):
        super().__init__()
        self.keeper = keeper

    def on_train_begin(self, logs=None):
        self.keeper.write_missed_preview()

    def on_epoch_end(self, epoch, logs=None):
        self.keeper.write_due_preview()


class EpochLines(keras.callbacks.Callback):
    """One plain line per epoch (no progress bar, no escape codes), for logs, files and CI."""

    SHOWN = ("loss", "bits_per_sample", "val_loss", "val_bits_per_sample", "val_accuracy")

    def __init__(self, keeper, total_epochs):
        super().__init__()
        self.keeper, self.total_epochs = keeper, total_epochs

    def on_epoch_end(self, epoch, logs=None):
        if self.keeper.diverged:
            return
        row, budget = self.keeper.history_rows[-1], self.keeper.budget_seconds  # the row just saved
        where = f" ({self.keeper._elapsed() / 60:.1f} of {budget / 60:g} min)" if budget else f"/{self.total_epochs}"
        values = " - ".join(f"{key} {row[key]:.4f}" for key in self.SHOWN if key in row)
        if "health_in_range" in row:
            values += (f" - health {row['health_in_range']:.0%} at the training level, {row['health_collapsed']:.0f} "
                       f"collapsed, {row['health_ran_away']:.0f} ran away, {row['health_frozen']:.0f} frozen, "
                       f"{row['health_stuck']:.0f} stuck" + "".join(
                           f", {row[column]:.0f} {name}" for column, name in (("health_burst", "with loud bursts"),
                                                                              ("health_few_tones", "with few held tones"))
                           if row.get(column)))
        print(f"epoch {row['epoch']}{where}: {values} - {row['seconds']:.0f} s", flush=True)


class BudgetProgress(keras.callbacks.ProgbarLogger):
    """Keras' progress bar whose epoch line, under a time budget, shows the minutes used
    instead of the epoch limit ``fit`` was given (a large number standing for "until time's up")."""

    def __init__(self, keeper):
        super().__init__()
        self.keeper = keeper

    def on_epoch_begin(self, epoch, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()
        if self.verbose:
            print(f"Epoch {epoch + 1} ({self.keeper._elapsed() / 60:.1f} of "
                  f"{self.keeper.budget_seconds / 60:g} minutes)", flush=True)


# ----------------------------------------------------------------------------------------------
# Training


def choose_strategy(distribute="auto", *, worker_timeout=WORKER_TIMEOUT, settings=None):
    """Where training runs: :func:`audiornn.backend.distribution` (a ``tf.distribute`` strategy on
    TensorFlow, :class:`audiornn.backend.JaxDevices` on JAX)."""
    return backend.distribution(distribute, worker_timeout=worker_timeout, settings=settings)


def compile_model(model, config):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate, clipnorm=config.clipnorm),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy"), BitsPerSample()],
    )


def _samplers(dataset, model_config, config, epoch):
    mode = "many_to_one" if model_config.many_to_one else "sequence"
    length = model_config.window if model_config.many_to_one \
        else model_config.check_sequence_length(config.sequence_length)
    training = WindowSampler(dataset.array("train"), dataset.segments("train"), sequence_length=length,
                             batch_size=config.batch_size, mode=mode, shuffle=True, seed=config.seed,
                             name="training", steps=config.steps_per_epoch or None,
                             carry=config.carry_state and not model_config.many_to_one,
                             labels=segment_labels(dataset, "train", model_config),
                             input_noise=config.input_noise, top=dataset.audio_config.num_classes - 1,
                             **_frames(dataset, "train", model_config))
    if not config.steps_per_epoch:
        training.steps = min(training.steps, 200)
    training.epoch = epoch
    quick = WindowSampler(dataset.array("validation"), dataset.segments("validation"), sequence_length=length,
                          batch_size=config.batch_size, mode=mode, shuffle=False, name="validation",
                          max_steps=config.validation_steps, carry=training.carry,
                          hop=max(1, length // 8) if model_config.many_to_one else None,
                          labels=segment_labels(dataset, "validation", model_config),
                          **_frames(dataset, "validation", model_config))
    return training, quick


def _frames(dataset, split, model_config):
    """A vocoder's sampler options: the split's frames, their hop and the feature network's margin."""
    if not model_config.features:
        return {}
    return {"frames": dataset.frames(split), "frame_hop": dataset.feature_config.hop,
            "margin": model_config.feature_layers}


def featured_config(model_config, dataset, use_features=True, origin="the model", feature_config=None):
    """``model_config`` reading the dataset's features (a new model), or checked against them (a trained one,
    ``origin``, whose ``feature_config`` they must equal); ``use_features=False`` leaves them out."""
    if model_config.many_to_one or not use_features:
        if model_config.features:
            raise ParameterError(f"{origin} reads features: use_features=False (--ignore-features) needs a model "
                                 f"without them")
        return model_config
    mine = dataset.feature_config
    if origin == "the model" and model_config.features and feature_config is None:
        # A new model's bands are the dataset's frames': a number given that differs is refused, not guessed at.
        if mine is None or mine.bands != model_config.features:
            raise ParameterError(f"ModelConfig(features={model_config.features}) is set from the dataset's frames, and "
                                 f"dataset '{dataset.path}' has " + ("none" if mine is None else f"{mine.bands} bands")
                                 + ": leave features out of the ModelConfig")
        model_config = dataclasses.replace(model_config, features=0)
    if origin == "the model" and not model_config.features:
        if mine is None:
            return model_config
        # The predictor fitted to the frames centres the Laplace prior: not without the prior, nor beside
        # the adaptive predictor the model was given.
        keep = model_config.laplace_prior and not model_config.linear_prediction
        return dataclasses.replace(model_config, features=mine.bands,
                                   feature_prediction=model_config.feature_prediction if keep else 0)
    if not model_config.features:
        if mine is not None:
            raise DatasetError(f"dataset '{dataset.path}' has spectrogram frames ({mine.kind}) and {origin} reads "
                               f"none, so it would not become a vocoder: add --ignore-features (use_features=False) "
                               f"to train it on the audio alone, or start from a vocoder")
        return model_config
    if mine is None:
        raise DatasetError(f"{origin} is a vocoder of {feature_config.describe()} and dataset '{dataset.path}' has "
                           f"no spectrogram frames: build the dataset with --features {feature_config.kind}, or "
                           f"train a new model")
    if mine != feature_config:
        differing = ", ".join(f"{field} {getattr(mine, field)!r} vs {getattr(feature_config, field)!r}"
                              for field in mine.to_dict() if getattr(mine, field) != getattr(feature_config, field))
        raise DatasetError(f"{origin} is a vocoder of other frames than dataset '{dataset.path}' has ({differing}, "
                           f"the dataset's first): build the dataset with the model's, or train a new model")
    return model_config


def segment_labels(dataset, split, model_config):
    """Each source stretch's label id in the model (names matched; None for an unlabelled model)."""
    if not model_config.labels:
        return None
    return [model_config.labels.index(segment.label) for segment in dataset.segments(split)]


def labelled_config(model_config, dataset, origin="the model"):
    """``model_config`` with the dataset's labels: a new model takes them all; a trained one (``origin``)
    must have labels exactly when the dataset has, and gains the dataset's labels it lacks (appended)."""
    if model_config.many_to_one or (not dataset.labels and not model_config.labels):
        return model_config
    if origin == "the model" and not model_config.labels:
        return dataclasses.replace(model_config, labels=tuple(dataset.labels))
    if not dataset.labels:
        raise DatasetError(f"{origin} was trained with labels ({shown_labels(model_config.labels)}) and dataset "
                           f"'{dataset.path}' has none: build the dataset with labels (by folder, list or "
                           f"NAME=PATH inputs)")
    if not model_config.labels:
        raise DatasetError(f"dataset '{dataset.path}' is labelled ({shown_labels(dataset.labels)}) and {origin} was "
                           f"trained without labels: build the dataset without labels to start from it, or "
                           f"train a new labelled model")
    new = [label for label in dataset.labels if label not in model_config.labels]
    return dataclasses.replace(model_config, labels=model_config.labels + tuple(new))


def train(dataset=None, output=None, *, model_config=None, train_config=None, resume=None,
          overwrite=False, distribute="auto", verbose="auto", preview=None, overrides=None, callbacks=(),
          worker_timeout=WORKER_TIMEOUT, init_from=None, use_labels=True, use_features=True):
    """Train a new run in ``output`` from ``dataset``, or continue ``resume``.

    Returns a summary dict (epochs, best validation bits per sample, the full
    validation score of the best model, stop reason, paths). On resume,
    ``overrides`` (a dict of TrainConfig fields such as ``epochs``,
    ``minutes`` or ``learning_rate``) replace the saved values. ``callbacks``
    are extra Keras callbacks, run after the one that checkpoints.
    ``verbose``: 0 silent, 1 Keras' progress bar, 2 one plain line per epoch;
    "auto" is 1 on a terminal and 2 when standard output is a file or pipe.
    ``worker_timeout``: with several workers (``TF_CONFIG``), how many seconds
    to wait for the others to join before giving up.
    ``init_from``: a run folder or ``.keras`` file (or :func:`starting_point`'s
    result) whose trained weights the new run starts from (fine-tuning): its model config is the run's (give no
    ``model_config``, or the same), the dataset must process audio as it did,
    and the optimizer and schedule start anew; ``config.json`` records it.
    ``use_labels=False`` trains a model without labels on a labelled dataset
    (its scores are still given per label), to see what the labels bring;
    ``use_features=False`` one without the features of a dataset that has them
    (by default a model trained on such a dataset is a vocoder of them).
    The run folder is held by this process until training ends.
    """
    verbose, callbacks = _check_reporting(verbose, callbacks)
    model_config = as_config(model_config, ModelConfig, "model_config")
    train_config = as_config(train_config, TrainConfig, "train_config")
    if resume is not None and (train_config is not None or model_config is not None):
        raise ParameterError("a resumed run keeps its configs: give what changes as overrides={...} (TrainConfig "
                             "fields such as epochs, minutes or learning_rate), not train_config or model_config")
    if overrides is not None and not isinstance(overrides, dict):
        raise ParameterError(f"overrides is a dict of TrainConfig fields, such as {{\"minutes\": 30}}; got "
                             f"{type(overrides).__name__}" + (" (dict(pairs) makes one)" if isinstance(
                                 overrides, (list, tuple)) else ""))
    if overrides and resume is None:
        fields = ", ".join(f"{key}={value!r}" for key, value in overrides.items())
        raise ParameterError(f"overrides change what a resumed run was configured with (resume=RUN); a new run "
                             f"takes its settings in train_config: train_config=TrainConfig({fields})")
    start = None
    if init_from is not None:
        if resume is not None:
            raise ParameterError("--init-from starts a new run from a trained model; --resume continues a run: "
                                 "give one of them")
        start = init_from if isinstance(init_from, dict) else starting_point(init_from, model_config)
        model_config = start["model"].model_config
    settings = {"dataset": getattr(dataset, "path", dataset), "resume": resume is not None, "overrides": overrides,
                "model": model_config, "training": train_config,
                "init_from": init_from["path"] if isinstance(init_from, dict) else init_from, "labels": use_labels,
                "features": use_features}
    if dataset is not None and os.environ.get("TF_CONFIG"):
        from .dataset import dataset_builder

        metadata = as_dataset(dataset).metadata  # the same audio, anywhere: the recipe, made by the same builder
        settings["dataset"] = [metadata.get("recipe_fingerprint"), dataset_builder(metadata)]
    strategy = choose_strategy(distribute, worker_timeout=worker_timeout, settings=settings)
    backend.release_compiled_if_crowded()  # (a notebook training model after model)
    options = dict(strategy=strategy, verbose=verbose, preview=preview, callbacks=callbacks, use_labels=use_labels,
                   use_features=use_features)
    run = Path(resume if resume is not None else output or ".").expanduser()
    try:
        if _is_chief(strategy):
            return _train(dataset, output, model_config, train_config, resume, overwrite, overrides, options, start)
        # TensorFlow's multi-worker rule: every worker saves (saving may take part in collective
        # operations), only the chief into the run folder; the others into a scratch copy, removed after.
        with tempfile.TemporaryDirectory(prefix="audiornn-worker-") as scratch:
            if resume is not None:
                resume = shutil.copytree(run, Path(scratch) / "run", ignore=shutil.ignore_patterns(LOCK, PREVIEWS, LOGS))
            else:
                output = Path(scratch) / "run"
            summary = _train(dataset, output, model_config, train_config, resume, overwrite, overrides,
                             dict(options, shown=run), start)
            return dict(summary, run=str(run), model=str(run / BEST_MODEL))
    except Exception as error:
        lost = _lost_task(error, strategy) if _multi_worker(strategy) else None
        if lost is None:
            raise
        raise WorkerLost(f"training stopped: {lost} of the cluster is gone (TensorFlow: {type(error).__name__}); "
                       f"start every worker again with the same TF_CONFIG and 'train --resume {run}'") from None


def _starting_loss(model, quick, carry, name):
    """The validation loss of the model a run starts from, on the quick validation each epoch is measured on (so
    that a fine-tune can say whether it beat where it started)."""
    logger.info("measuring the model the run starts from ('%s') on the quick validation, as each epoch will be",
                name)
    for one in carry or ():
        one.reset()
    loss = float(model.evaluate(WindowDataset(quick), verbose=0, return_dict=True)["loss"])
    for one in carry or ():
        one.reset()
    logger.info("'%s' before training: %.4f bits per sample on the quick validation", name, loss / math.log(2))
    return loss


def _lost_task(error, strategy):
    """The other worker that a multi-worker failure names ("worker task 1"), or None for other errors."""
    return backend.lost_worker(error, strategy)


def _multi_worker(strategy):
    """True for a MultiWorkerMirroredStrategy over more than one worker."""
    return backend.is_multi_worker(strategy)


def _is_chief(strategy):
    """True unless this process is a multi-worker strategy's worker other than the chief (worker 0)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                             and "chief" not in resolver.cluster_spec().as_dict())


def starting_point(init_from, model_config=None):
    """The trained model a new run starts from (``init_from``: a run folder, ``.keras`` file or shipped name),
    loaded once and checked against the model options given: ``{"model", "path"}``, which :func:`train` takes as
    its ``init_from`` too."""
    source = load_run_model(init_from)
    if model_config is not None and model_config != source.model_config:
        theirs, general = source.model_config.to_dict(), ModelConfig().to_dict()  # as JSON has them (labels lists)
        mine = model_config.to_dict()
        differing = [field for field, value in mine.items() if value != theirs[field]]
        given = [field for field in differing if mine[field] != general[field]]
        left = [field for field in differing if field not in given]
        said = [f"{option(field)} {mine[field]!r} given, {theirs[field]!r} there" for field in given] + (
            [f"{', '.join(map(option, left))} at the defaults, not the model's"] if left else [])
        raise ParameterError(f"the model comes from --init-from '{init_from}' ({'; '.join(said)}): leave the "
                             f"model options out (model_config=None), or train a new model without --init-from")
    path = resolve_model(init_from).resolve()
    return {"model": source, "path": str(path), "name": str(init_from), "lineage": _lineage(path)}


def _lineage(path):
    """Where the weights of the model at ``path`` come from, itself first: a shipped model by its name with its
    card's data and credit (a licence that a model trained from it keeps), else the path, followed by what the run
    it belongs to recorded of its own start (``init_from_lineage`` in its config.json)."""
    from .pretrained import shipped_models

    for name, card in shipped_models().items():
        if Path(card["path"]).resolve() == path:
            return [{"shipped": name, "data": card.get("data"), "credit": card.get("credit")}]
    folder = path if path.is_dir() else path.parent
    try:
        config = read_run_json(folder, CONFIG) if is_run(folder) else {}
    except AudioRNNError:  # a damaged config.json: only this step is known
        config = {}
    earlier = config.get("init_from_lineage") if isinstance(config, dict) else None
    if not isinstance(earlier, list):  # a run made before lineages were kept: from its own init_from on
        earlier = _lineage(Path(config["init_from"])) if isinstance(config, dict) and isinstance(
            config.get("init_from"), str) and Path(config["init_from"]).exists() else []
    return [{"path": str(path)}, *(entry for entry in earlier if isinstance(entry, dict))]


def _say_lineage(lineage, name):
    """The line that a run started from a shipped model (or, as ``name``, from a run that was) carries its card's
    credit."""
    shipped = next((entry for entry in lineage if entry.get("shipped")), None)
    if shipped is not None:
        via = "" if lineage[0] is shipped else f" (through '{name}')"
        logger.info("the weights come from the shipped model '%s'%s, trained on %s: %s (config.json records it "
                    "as init_from_lineage)", shipped["shipped"], via,
                    shipped["data"], shipped["credit"])


def _check_reporting(verbose, callbacks):
    """``verbose`` as 0, 1 or 2 ("auto": 1 on a terminal, 2 when standard output is a file or pipe; False and True:
    0 and 1) and ``callbacks`` as a list of Keras callbacks (one alone taken as a list), or a ParameterError
    before anything is done."""
    if isinstance(verbose, bool):
        verbose = int(verbose)
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    if isinstance(verbose, str) or verbose not in (0, 1, 2):
        raise ParameterError(f"verbose must be 0 (silent), 1 (a progress bar), 2 (a line an epoch) or \"auto\", got "
                             f"{verbose!r}")
    if isinstance(callbacks, keras.callbacks.Callback):
        callbacks = [callbacks]
    callbacks = list(callbacks or ())
    for callback in callbacks:
        if not isinstance(callback, keras.callbacks.Callback):
            raise ParameterError(f"callbacks must be Keras callbacks (subclasses of keras.callbacks.Callback, "
                                 f"such as keras.callbacks.LambdaCallback(on_epoch_end=...)); got {callback!r}")
    return verbose, callbacks


def _not_a_run(folder):
    """What a path given as a run to go on with is, and what to do, in words."""
    from .dataset import is_dataset

    if is_dataset(folder):
        return (f"is a dataset, not a run: train on it with '{command()} train --dataset {folder} --output "
                f"RUN' (a new folder)")
    if folder.is_file():
        return "is a file, not a run folder: give the folder a run was trained into (train --output)"
    damaged = damaged_run(folder)
    if damaged:
        return f"holds a run whose {CONFIG} cannot be read ({damaged}): {damaged_advice(folder, CONFIG)}"
    if folder.is_dir() and any(folder.iterdir()):
        return ("holds no audiornn run (no config.json): give the folder a run was trained into, or start one in a "
                f"new folder with '{command()} train --dataset DIR --output RUN'")
    return (f"holds no audiornn run ({'empty' if folder.is_dir() else 'not there'}): start one with "
            f"'{command()} train --dataset DIR --output {folder}'")


def _train(dataset, output, model_config, train_config, resume, overwrite, overrides, options, start=None):
    backend.tensorflow_beside()  # (Keras imports an installed TensorFlow to seed and save, on any backend)
    options = dict(options)
    use_labels, use_features = options.pop("use_labels"), options.pop("use_features")
    strategy = options["strategy"]
    if resume is not None:
        folder = Path(resume).expanduser()
        if not is_run(folder):
            raise RunError(f"--resume '{folder}' {_not_a_run(folder)}")
        with hold_run(folder):
            folder, dataset, model_config, train_config, state, history = _load_resume(
                folder, dataset, overrides or {})
            _check_backend_options(train_config, strategy)
            _check_health_option(model_config, train_config, strategy, dataset.audio_config)
            _check_training_memory(model_config, train_config, dataset.audio_config)
            _record_resumed_config(folder, train_config, dataset)  # recorded only once everything is checked
            with strategy.scope(), _dtype_policy(train_config):
                model = _load_last_model(folder, state)
                if overrides and "learning_rate" in overrides:
                    model.optimizer.learning_rate.assign(train_config.learning_rate)
            return _fit(folder, dataset, model, model_config, train_config, state, history, **options)
    if dataset is None or output is None:
        raise ParameterError("train needs a dataset and an output folder (or resume=RUN)")
    model_config = model_config or ModelConfig()
    train_config = train_config or TrainConfig()
    dataset = as_dataset(dataset)
    if use_labels:
        model_config = labelled_config(model_config, dataset,
                                       "the model" if start is None else f"--init-from '{start['name']}'")
    elif model_config.labels:
        raise ParameterError("the model has labels and use_labels is False: give a model config without labels")
    _check_backend_options(train_config, strategy)
    model_config = featured_config(model_config, dataset, use_features,
                                   "the model" if start is None else f"--init-from '{start['name']}'",
                                   None if start is None else start["model"].feature_config)
    _check_unused(model_config, dataset)
    _check_health_option(model_config, train_config, strategy, dataset.audio_config)
    if model_config.features:
        train_config = vocoder_train_config(train_config, dataset.feature_config)
    _check_training_memory(model_config, train_config, dataset.audio_config)
    if start is not None and not dataset.audio_config.same_processing(start["model"].audio_config):
        raise DatasetError(f"dataset '{dataset.path}' processes audio otherwise than --init-from '{start['name']}' "
                           f"({dataset.audio_config.describe_difference(start['model'].audio_config)}, the "
                           f"dataset's first): build the dataset with the model's settings (on the command line, "
                           f"audio files given as INPUT are built with them)")
    folder = prepare_run_folder(output, overwrite=overwrite, check_only=True)
    _samplers(dataset, model_config, train_config, 0)  # fails early, before anything is written, on short audio
    make_folder(folder, "--output", RunError)
    with hold_run(folder):
        folder = prepare_run_folder(folder, overwrite=overwrite)
        state = {"epochs_completed": 0, "training_seconds": 0.0, "best_val_loss": None, "best_epoch": None,
                 "epochs_without_improvement": 0, "stop_reason": None}
        config = new_run_config(model_config=model_config, train_config=train_config, dataset=dataset)
        if start is not None:
            config["init_from"] = start["path"]
            config["init_from_lineage"] = start.get("lineage") or _lineage(Path(start["path"]))
            _say_lineage(config["init_from_lineage"], start["name"])
        write_json(folder / CONFIG, config)
        keras.utils.set_random_seed(train_config.seed)
        with strategy.scope(), _dtype_policy(train_config):
            model = build_model(model_config, dataset.audio_config, sequence_length=train_config.sequence_length,
                                feature_config=dataset.feature_config if model_config.features else None)
            if start is not None:
                _copy_weights(start["model"], model)  # a new optimizer: compiled below
            elif model.feature_net is not None:
                model.feature_net.adapt(_adaptation_frames(dataset))
            if model.feature_config is not None and model.feature_config.format is not None:
                model.frame_level = training_frame_level(dataset)  # this dataset's: the frames it learns
            compile_model(model, train_config)
        return _fit(folder, dataset, model, model_config, train_config, state, [], start=start, **options)


def check_health_size(train_config, sample_rate):
    """Refuse health checks whose streams' audio cannot fit in memory (before a dataset is built for them)."""
    from .generation import available_memory
    from .sink import size_text

    if train_config.health_every:
        streams, seconds = train_config.health_streams, train_config.health_seconds
        needed, available = 4 * streams * round(seconds * sample_rate), available_memory()
        if available is not None and needed > available:
            raise ParameterError(f"{option('health_streams')} {streams:,} streams of {option('health_seconds')} "
                                 f"{seconds:g} s need about {size_text(needed)} of memory for their audio, more than "
                                 f"the {size_text(available)} available: ask for fewer or shorter streams")


def _check_health_option(model_config, train_config, strategy, audio_config):
    """Refuse, before anything is written, a health check of a vocoder or across workers, or one whose streams'
    audio cannot fit in memory."""
    check_health_size(train_config, audio_config.sample_rate)
    if train_config.health_every and _multi_worker(strategy):
        raise ParameterError(f"{option('health_every')} generates on each worker, and the workers could disagree on "
                             f"the healthiest epoch: train on one machine with it, or leave it out and measure "
                             f"the models afterwards ({command()} generate prints each stream's health)")
    if train_config.health_every and model_config.features:
        raise ParameterError(f"{option('health_every')} measures streams generated from nothing against the "
                             f"training audio; a vocoder's output follows its frames (its previews score "
                             f"copy-synthesis): leave the option out")


# Bytes of memory a training step takes per target sample, by its parts: floats per class, per recurrent unit of
# each layer, per unit of the dense layer (the default model at batch 768 and 3072 of 96 samples on the CPU took
# 14.9 kB a target, 25 kB with 512 units and 512 dense units, or with 1024 dense units: bench/training_memory.py).
TRAINING_FLOATS = {"class": 5, "unit": 7, "dense": 3.5}


def training_memory(model_config, train_config, classes):
    """About how many bytes a training step's activations take: the batch's windows' targets times what each
    keeps for the backward pass (:data:`TRAINING_FLOATS`)."""
    per_target = (TRAINING_FLOATS["class"] * classes
                  + TRAINING_FLOATS["unit"] * model_config.units * model_config.num_layers
                  + TRAINING_FLOATS["dense"] * model_config.dense_units)
    return 4 * per_target * train_config.batch_size * train_config.sequence_length


def _check_training_memory(model_config, train_config, audio_config):
    """Refuse, before anything is written, a batch whose training step cannot fit in the machine's memory (on the
    CPU; an accelerator's memory is its own, and Keras says when it runs out)."""
    from .generation import available_memory
    from .sink import size_text

    needed = training_memory(model_config, train_config, audio_config.mu + 1)
    available = available_memory()
    if available is not None and needed > available and backend.on_cpu():
        raise ParameterError(f"{option('batch_size')} {train_config.batch_size:,} windows of "
                             f"{option('sequence_length')} {train_config.sequence_length:,} samples need about "
                             f"{size_text(needed)} of memory to train on, more than the {size_text(available)} "
                             f"available: " + (
                                 f"ask for a smaller {option('batch_size')} (the default is {TrainConfig().batch_size})"
                                 if needed / train_config.batch_size <= available else
                                 f"one window alone needs {size_text(needed / train_config.batch_size)}: ask for a "
                                 f"shorter {option('sequence_length')}"))


def _check_backend_options(train_config, strategy):
    """Refuse, before anything is written, what the backend and devices in use cannot do."""
    shards = getattr(strategy, "shards", 1)
    if train_config.batch_size % shards:
        raise ParameterError(f"{option('batch_size')} ({train_config.batch_size}) must be a multiple of the {shards} devices "
                             f"that share each batch: give one, or train on fewer devices (--distribute none)")
    if train_config.tensorboard and importlib.util.find_spec("tensorflow") is None:
        raise ParameterError("tensorboard writes TensorFlow's event files and TensorFlow is not installed: install "
                             "it (pip install tensorflow) or leave tensorboard out")
    if train_config.tensorboard and importlib.util.find_spec("tensorboard") is None:  # TensorFlow no longer brings it
        raise ParameterError("tensorboard writes its event files with the tensorboard package, which is not "
                             "installed: install it (pip install tensorboard) or leave tensorboard out")


@contextlib.contextmanager
def _dtype_policy(train_config):
    """Keras' dtype policy while the model's layers are made: "mixed_bfloat16" for mixed precision (the
    layers keep it for the whole run); the global policy is restored after."""
    if not train_config.mixed_precision:
        yield
        return
    saved = keras.config.dtype_policy()
    keras.config.set_dtype_policy(f"mixed_{train_config.mixed_precision}")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(saved)


# At 1e-2 a vocoder's loss stalls after two epochs (bench/vocoder.py --minutes 30 --side-by-side: at which learning
# rate the vocoder's feature path trains).
VOCODER_LEARNING_RATE = 3e-3


def vocoder_train_config(train_config, feature_config):
    """A vocoder's defaults where ``train_config`` leaves the general ones as they are (not where they are given,
    even at the same value: :func:`audiornn.config.is_default`): the learning rate :data:`VOCODER_LEARNING_RATE`,
    and a training window of :data:`VOCODER_WINDOW_FRAMES` frames (windows are cut at frame boundaries)."""
    changes = {}
    if is_default(train_config.learning_rate):
        changes["learning_rate"] = VOCODER_LEARNING_RATE
    if is_default(train_config.sequence_length):
        changes["sequence_length"] = VOCODER_WINDOW_FRAMES * feature_config.hop
    if changes:
        logger.info("a vocoder's defaults: %s", ", ".join(f"{name} {value:g}" for name, value in changes.items()))
    return dataclasses.replace(train_config, **changes)


def _check_unused(model_config, dataset):
    """Refuse settings of labels or features the model will not have (:data:`audiornn.config.PARTS`: they would
    be silently ignored)."""
    defaults = ModelConfig()
    for part in ("labels", "features"):
        # A field at 0 turns its part off and sets nothing (models saved before feature_prediction have 0).
        changed = [field for field, (needs, _) in PARTS.items() if needs == part
                   and getattr(model_config, field) not in (getattr(defaults, field), 0)]
        if changed and not getattr(model_config, part):
            given = ", ".join(f"{option(field)} ({getattr(model_config, field)})" for field in changed)
            raise ParameterError(f"{given} set{'s' if len(changed) == 1 else ''} what the model does "
                                 f"with {part}, and it reads none (dataset '{dataset.path}' has none, or they are "
                                 f"ignored): leave {'it' if len(changed) == 1 else 'them'} out")


def _adaptation_frames(dataset, most=200_000):
    """Up to ``most`` training frames, evenly spread, for the feature network's standardisation."""
    frames = dataset.frames("train")
    return np.asarray(frames[::max(1, -(-len(frames) // most))], dtype="float32")


FRAME_LEVEL_FRAMES = 100_000  # 27 minutes of SpeechT5's frames


def training_frame_level(dataset):
    """The loud level of a dataset's training frames of a front end's format, which ``vocode`` reads a front end's
    frames against: :func:`audiornn.features.loud_level` of each training file's frames, the mean over the files
    (each file at a peak of 1, as the dataset holds it)."""
    frames, config = dataset.frames("train"), dataset.feature_config
    levels = []
    for segment in dataset.segments("train"):  # one file at a time, read from the memory map
        count = frame_count(segment.length, config.hop)
        # (its frames evenly spread, at most FRAME_LEVEL_FRAMES of them: a recording of hours stays small)
        levels.append(loud_level(frames[segment.frames_start:segment.frames_start + count:
                                        max(1, -(-count // FRAME_LEVEL_FRAMES))], config))
    return float(np.mean(levels)) if levels else None


def _copy_weights(source, model):
    """``source``'s weights into ``model``; labels ``model`` has beyond ``source``'s start as their average.
    A vocoder's feature standardisation comes with them (the statistics its weights were trained with)."""
    for mine, theirs in zip(model.weights, source.weights):
        value = np.asarray(theirs)
        if tuple(mine.shape) != value.shape:  # the label embedding, grown by new labels
            extra = mine.shape[0] - value.shape[0]
            value = np.concatenate([value, np.repeat(value.mean(axis=0, keepdims=True), extra, axis=0)])
            logger.info("%d new label(s) start from the average of the %d the model knew", extra,
                        value.shape[0] - extra)
        mine.assign(value)


def _fit(folder, dataset, model, model_config, train_config, state, history, *, strategy, verbose, preview,
         callbacks, shown=None, start=None):
    """Train ``model`` on from ``state`` in run ``folder`` (held by this process); returns the summary.
    ``shown``: the run folder messages name (a worker's scratch copy is named as the chief's run); ``start``: the
    model a new run starts from (:func:`starting_point`), measured first as each epoch will be."""
    training, quick = _samplers(dataset, model_config, train_config, state["epochs_completed"])
    if preview is None and train_config.preview_every:
        preview = _preview_writer(train_config, dataset)
    health = _health_checker(train_config, dataset) if train_config.health_every else None
    budget = train_config.minutes * 60.0
    total_steps = train_config.total_epochs * len(training)
    carry = _attach_carry(model, training, strategy)
    keeper = RunKeeper(folder, train_config, state, history, budget, total_steps, preview=preview, carry=carry,
                       strategy=strategy, health=health)
    callbacks = [keeper, *callbacks]
    if verbose == 1 and not any(isinstance(callback, keras.callbacks.ProgbarLogger) for callback in callbacks):
        # (Keras would append its own bar after the previews: their line would come first)
        callbacks.append(BudgetProgress(keeper) if budget else keras.callbacks.ProgbarLogger())
    if verbose == 2:
        callbacks.append(EpochLines(keeper, train_config.total_epochs))
    if train_config.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(folder / LOGS)))
    callbacks.append(Previews(keeper))
    if _budget_spent(state, train_config):
        if read_summary(folder) is None and state["epochs_completed"]:
            # Killed after its last epoch, before its summary: finish the run instead of training on.
            state["stop_reason"] = _epochs_done(state["epochs_completed"]) \
                if state["epochs_completed"] >= train_config.total_epochs \
                else f"time budget of {train_config.minutes:g} minutes used"
            write_json(folder / STATE, state)
            keeper.set_model(model)  # (no fit: the last epoch's preview, if the run stopped while it was made)
            keeper.write_missed_preview()
            return _summarise(folder, dataset, model_config, train_config, state, shown=shown)
        raise _budget_error(folder, state, train_config)
    rows = max(1, training.batch_size // strategy.num_replicas_in_sync)  # one replica's share of a batch
    with strategy.scope():
        model.build_for_fit((rows, training.sequence_length),
                            (rows,) if model_config.many_to_one else (rows, training.sequence_length))
    if start is not None and not state["epochs_completed"] and not _multi_worker(strategy):
        with _interrupt_note(folder):
            state.update(start_name=start["name"], start_val_loss=_starting_loss(model, quick, carry, start["name"]))
    logger.info("training %s on %s: %d batch(es) of %d per epoch; run folder %s",
                _describe(model_config), dataset.path, len(training), train_config.batch_size, folder)
    _say_older_builder(dataset)
    try:
        with _interrupt_note(folder):
            # shuffle=False: batches in order, as carrying the state needs (the sampler draws at random).
            batches = fit_input(training, strategy)
            advance = [] if isinstance(batches, WindowDataset) else [NextDraw(training)]
            model.fit(batches, validation_data=fit_input(quick, strategy), shuffle=False,
                      initial_epoch=state["epochs_completed"], epochs=train_config.total_epochs,
                      callbacks=[*advance, *callbacks], verbose=1 if verbose == 1 else 0)
    finally:
        StateCarry.detach(model)
        keeper.close_folder()
    if keeper.diverged:
        epoch, batch, *bits = keeper.diverged
        rate, default = train_config.learning_rate, VOCODER_LEARNING_RATE if model_config.features else \
            TrainConfig().learning_rate
        # (a third of a rate far above the default is still far above it: a probe's 1e6 was told 3.3e+05)
        lower = f"--learning-rate {rate / 3:.2g}" if rate / 3 <= default else \
            f"--learning-rate {default:g}, the default, or lower: {rate:g} is {rate / default:.2g} times it"
        if batch is not None:
            what = f"the loss became NaN or infinite in epoch {epoch}, batch {batch}"
        elif not math.isfinite(bits[0]):
            what = f"the validation loss became NaN or infinite in epoch {epoch}"
        else:
            what = f"the training blew up in epoch {epoch}: its validation loss, {bits[0]:.3g} bits per sample, is " \
                   f"far above a uniform guess's {bits[1]:.3g}"
        if not state["epochs_completed"]:  # nothing good was saved: there is no model to go on from
            raise TrainingDiverged(
                f"{what}, before any epoch was saved: start the run again with a lower learning rate (the same "
                f"command with {lower})")
        raise TrainingDiverged(
            f"{what}; the last good model (epoch {state['epochs_completed']}) is kept in '{folder / LAST_MODEL}': "
            f"lower the learning rate and continue with --resume {folder} {lower}")
    state["stop_reason"] = keeper.stop_reason or (
        _epochs_done(state["epochs_completed"]) if state["epochs_completed"] >= train_config.total_epochs else
        f"stopped by a callback (model.stop_training) after epoch {state['epochs_completed']}" +
        (f" of {train_config.epochs}" if train_config.epochs else ""))
    write_json(folder / STATE, state)
    with _interrupt_note(folder, scoring=True):
        summary = _summarise(folder, dataset, model_config, train_config, state, progress=verbose == 1, shown=shown)
    summary["replicas"] = strategy.num_replicas_in_sync
    summary["devices"] = getattr(strategy, "shards", strategy.num_replicas_in_sync)
    summary["carried_state"] = carry is not None
    return summary


def _attach_carry(model, sampler, strategy):
    """Give ``model`` a :class:`StateCarry` when the sampler's rows continue from batch to batch."""
    if not sampler.carry:
        return None
    replicas = strategy.num_replicas_in_sync
    if sampler.batch_size % replicas or not StateCarry.can_carry(model):
        logger.warning("the recurrent state is not carried between batches (batch size %d on %d replicas, "
                       "or a model saved without state outputs): each window starts cold",
                       sampler.batch_size, replicas)
        return None
    with strategy.scope():
        return StateCarry.attach(model, sampler.batch_size // replicas)


def _preview_writer(train_config, dataset):
    """A hook writing ``preview_seconds`` of audio generated by the model in training; it returns the
    preview's sound distance to the training audio (:mod:`audiornn.sound`), or None when it is too short."""
    from .generation import generate
    from .sound import SoundReference, distance_note

    reference = []  # built at the first preview, once

    def write_preview(model, path):
        path.parent.mkdir(exist_ok=True)
        first = model.model_config.labels[0] if model.model_config.labels else None  # what a preview is of
        if model.feature_net is not None:  # a vocoder's preview: copy-synthesis of the start of the validation audio
            from .scoring import dataset_frames
            from .vocoder import vocode

            split = "validation" if dataset.samples("validation") else "train"
            frames = dataset_frames(dataset, split)[0]
            samples = int(train_config.preview_seconds * dataset.audio_config.sample_rate)
            count = max(1, samples // model.feature_config.hop)
            with beyond_full_scale_unsaid():  # (a model still learning: the preview is for listening)
                [path] = vocode(model, frames[:count], seed=train_config.seed, output=path, progress=False,
                                overwrite=True)  # an epoch made again after a resume
        else:
            with beyond_full_scale_unsaid():
                [path] = generate(model, seconds=train_config.preview_seconds, seed=train_config.seed, output=path,
                                  progress=False, overwrite=True, label=first)
        try:
            if not reference:  # a labelled model's preview is of its first label: held to that label's files
                from .scoring import reference_label

                reference.append(SoundReference.from_dataset(dataset, reference_label(dataset, first)))
            audio, _ = soundfile.read(str(path), dtype="float32")
            report = reference[0].report(audio)
        except AudioFileError as error:  # too short, or silent: the preview is kept, with no number
            logger.info("preview: %s (no sound distance: %s)", path, error)
            return None
        logger.info("preview: %s (%s)", path, distance_note(report))
        return report["model"]["frechet"]

    return write_preview


# The health checks' streams are drawn from this seed on (the run's seed added): apart from the seeds people
# generate with and bench/health.py measures (1 to 32), so choosing an epoch by them is not choosing by those.
HEALTH_SEED = 1000


def _health_checker(train_config, dataset):
    """A hook measuring the health of ``health_streams`` streams of ``health_seconds`` generated by the model in
    training against the training audio (:func:`audiornn.health.summarise`); a labelled model's streams are
    shared out among its labels."""
    from .generation import generate
    from .health import LevelReference, health, share_text, summarise

    from .scoring import reference_label

    reference = LevelReference.from_dataset(dataset)  # before training: silent training audio fails now
    # A labelled model's streams of each label are held to that label's files (all of them where the dataset has
    # none of it)
    of_label = {label: LevelReference.from_dataset(dataset, reference_label(dataset, label))
                for label in dataset.labels or []}

    def check(model):
        labels = list(model.model_config.labels) or [None]
        rate = dataset.audio_config.sample_rate
        streams = max(train_config.health_streams, len(labels))  # every label gets a stream
        reports = []
        for index, label in enumerate(labels):
            count = streams // len(labels) + (index < streams % len(labels))
            with beyond_full_scale_unsaid():  # (the check reports a runaway itself)
                audio = generate(model, seconds=train_config.health_seconds, count=count, progress=False,
                                 seed=HEALTH_SEED + train_config.seed + index, label=label)
            reports += [health(np.asarray(stream), rate, of_label.get(label, reference)) for stream in audio]
        figures = summarise(reports, reference)
        logger.info("health of %d streams of %g s%s: %s of windows at the training level; %d collapsed, %d ran "
                    "away, %d frozen; held partials %.0f%% (training audio %.0f%%)", figures["streams"],
                    train_config.health_seconds, f" ({len(labels)} labels)" if labels != [None] else "",
                    share_text(figures["in_range"]), figures["collapsed"],
                    figures["ran_away"], figures["frozen"], 100 * figures["held_partials"],
                    100 * figures["training_held_partials"])
        return figures

    return check


def _describe(model_config):
    if model_config.many_to_one:
        return f"seed preset ({model_config.num_layers} x GRU {model_config.units}, window {model_config.window})"
    dense = f" + dense {model_config.dense_units}" if model_config.dense_units else ""
    order, source = model_config.prediction_order, " from the frames" if model_config.frame_prediction else ""
    predictor = f" + linear prediction {order}{source}" if order else ""
    sample = f"{model_config.num_layers} x {model_config.cell.upper()} {model_config.units}" \
        if model_config.num_layers else "feed-forward"
    frames = f"frame tier {model_config.frame_layers} x GRU {model_config.frame_units} every " \
        f"{model_config.frame_size} samples; sample tier " if model_config.frame_size else ""
    return f"{frames}{sample}{dense}{predictor}"


_INTERRUPTED = threading.Event()  # Ctrl-C or SIGTERM met while training: raised again where Keras swallowed it


def _raise_kept_interrupt():
    if _INTERRUPTED.is_set():
        raise KeyboardInterrupt


@contextlib.contextmanager
def _interrupts_kept():
    """Ctrl-C (and SIGTERM, where a handler raises for it: the command line's) noted as well as raised while the
    block runs. Keras drops an interrupt that lands in its conversion of the logs (a bare ``except`` in
    ``pythonify_logs``, where JAX's main thread waits most of each step); the keeper raises it again at the next
    batch's end. Nothing changes off the main thread, or for a signal that is ignored."""
    if threading.current_thread() is not threading.main_thread():  # (signals reach the main thread only)
        yield
        return
    _INTERRUPTED.clear()
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}

    def noted(number, frame):
        try:
            previous[number](number, frame)
        except KeyboardInterrupt:  # (a handler that does not raise, a graceful one of the caller's, is left be)
            _INTERRUPTED.set()
            raise

    kept = [number for number, handler in previous.items() if callable(handler)]
    for number in kept:
        signal.signal(number, noted)
    try:
        yield
        _raise_kept_interrupt()  # swallowed after the last batch's end: raised here, not lost
    finally:
        for number in kept:
            signal.signal(number, previous[number])
        _INTERRUPTED.clear()


@contextlib.contextmanager
def _interrupt_note(folder, scoring=False):
    """What an interrupt leaves, said: while training (what is saved, how to go on) or, with ``scoring``, while the
    best model is scored on all the validation audio after training."""
    try:
        with _interrupts_kept():
            yield
    except KeyboardInterrupt:
        done = epochs_completed(folder)
        if scoring:
            logger.warning("interrupted while scoring the best model on all the validation audio: the training is "
                           "done and saved; '%s train --resume %s' (audiornn.train(resume=...)) "
                           "scores it and ends", command(), folder)
        elif done:
            logger.warning("interrupted: epoch %d, the last completed, is saved (an epoch cut short, or its health "
                           "check, is trained again); continue with '%s train --resume %s' "
                           "(audiornn.train(resume=...))", done, command(), folder)
        else:
            logger.warning("interrupted before the first epoch was completed: nothing to resume; start again with "
                           "the same command")
        raise


def _load_last_model(folder, state):
    """The last completed epoch's model with its optimizer, checked against the run's state."""
    try:
        model = load_run_model(folder / LAST_MODEL, compile=True)
    except ModelFileError as error:
        raise RunError(f"{error}; the run cannot continue from it: start it again with --overwrite, or use "
                       f"its best model '{folder / BEST_MODEL}' as it is") from None
    steps = int(model.optimizer.iterations.numpy())
    if state.get("optimizer_steps") not in (None, steps):
        raise RunError(f"'{folder / LAST_MODEL}' has trained {steps} steps but state.json says epoch "
                       f"{state['epochs_completed']} ended at {state['optimizer_steps']}: the run folder was "
                       f"changed by something else; start it again with --overwrite")
    return model


def check_preset_options(model_config, options, name):
    """Refuse an option ``options`` holds that the preset of model ``name`` does not read: ``--sequence-length``
    for the seed preset (it reads windows of ``--window`` samples), ``--window`` for the default one."""
    if model_config.many_to_one and "sequence_length" in options:
        raise ParameterError(f"{name} is the seed preset, which reads windows of {option('window')} "
                             f"({model_config.window} samples), not {option('sequence_length')}: leave it out")
    if not model_config.many_to_one and "window" in options:
        raise ParameterError(f"{option('window')} sets the seed preset's context, and {name} is the default preset, "
                             f"which carries its context in the recurrent state: leave it out")


def _load_resume(folder, dataset, overrides):
    config = read_run_json(folder, CONFIG)
    state = recover_run(folder)
    if state is None or not (folder / LAST_MODEL).is_file():
        kept = [name for name in (BEST_MODEL, LAST_MODEL) if (folder / name).is_file()]
        if kept:  # --overwrite would remove models that are intact
            lost = f"its {STATE} (its record of the epochs done)" if state is None else \
                f"its {LAST_MODEL} (the last epoch's model and optimizer)"
            raise RunError(f"run '{folder}' has lost {lost}, so it cannot continue; its {' and '.join(kept)} "
                           f"{'is' if len(kept) == 1 else 'are'} intact: train on from it in a new run (train "
                           f"--init-from {folder / kept[0]} --output NEW ...), or start it again with --overwrite "
                           f"(which removes {'it' if len(kept) == 1 else 'them'})")
        if nothing_saved(folder):
            raise RunError(f"run '{folder}' has no completed epoch to continue from (it was stopped in its first): "
                           f"start it again with the command that started it, whose --output it is (a run that "
                           f"completed no epoch is started again in its folder, without --overwrite)")
        raise RunError(f"run '{folder}' has no completed epoch to continue from: start it again with --overwrite")
    audio_config = AudioConfig.from_dict(config["audio"], source=str(folder / CONFIG))
    model_config = ModelConfig.from_saved(config["model"], source=str(folder / CONFIG))
    model_fields = {field.name for field in dataclasses.fields(ModelConfig)}
    check_preset_options(model_config, overrides, f"run '{folder}'")
    for field in sorted(set(overrides) & model_fields):
        if overrides[field] != getattr(model_config, field):
            given, saved = (f"{option(field)} ({value!r})" for value in (overrides[field], getattr(model_config, field)))
            if field == "laplace_prior":  # given only as --no-laplace-prior: name the prior, not inverted values
                given, saved = "--no-laplace-prior", "the Laplace prior"
            raise ParameterError(f"{given} differs from the run's: '{folder}' was trained with {saved}, and a "
                                 f"resume keeps the model as it is: leave the option out, or start a new run "
                                 f"with --output")
    overrides = {field: value for field, value in overrides.items() if field not in model_fields}
    values = dict(config["training"])
    unknown = sorted(set(overrides) - {field.name for field in dataclasses.fields(TrainConfig)})
    if unknown:  # a field this version does not know (a run saved before one is filled with its default)
        raise ParameterError(f"cannot override {', '.join(map(option, unknown))} on resume: not a training option")
    if overrides.get("mixed_precision", values.get("mixed_precision")) != values.get("mixed_precision"):
        # The saved model's layers keep the policy they were made with: a record that said otherwise would lie.
        raise ParameterError(f"--mixed-precision {overrides['mixed_precision']} differs from the run's: '{folder}' "
                             f"computes in {values.get('mixed_precision') or 'float32'}, and a resume keeps its "
                             f"model as it is: leave the option out, or start a new run (--init-from '{folder}' "
                             f"--mixed-precision {overrides['mixed_precision']})")
    # The budget given replaces the run's: --minutes alone on a run given --epochs (or --epochs alone on one given
    # --minutes) is that budget, not one held back by the other, which would stop the resume at once.
    for given, other in (("minutes", "epochs"), ("epochs", "minutes")):
        if overrides.get(given) and other not in overrides:  # (--minutes 0, no time limit, keeps the epochs)
            values[other] = 0
    values.update(overrides)
    train_config = TrainConfig.from_dict(values, source="resumed training config")
    if not model_config.many_to_one:
        model_config.check_sequence_length(train_config.sequence_length)  # before the new config is written
    given = dataset is not None
    config["dataset"] = recorded_dataset(folder, config)  # (moved with the run folder it is in: found there)
    if not given and not Path(config["dataset"]).is_dir():
        where = f"give where it is now (--resume {folder} --dataset DIR, kept for later resumes)" \
            if config.get("dataset_fingerprint") else \
            "put it (or a link to it) back there: this run was saved before datasets were told apart by their " \
            "content, so it goes on only on the dataset at that place"
        raise RunError(f"the dataset run '{folder}' was trained on, '{config['dataset']}', is not there (moved or "
                       f"deleted): {where}; or build it again there from the same audio ({command('AudioRNNData.py')} "
                       f"AUDIO... --output {config['dataset']})")
    dataset = as_dataset(dataset if given else config["dataset"], audio_config=audio_config)
    if given and not same_dataset(dataset, config):
        raise RunError(f"--dataset '{dataset.path}' is not the dataset run '{folder}' was trained on "
                       f"('{config['dataset']}'): resume on its own dataset (leave out --dataset), or start "
                       f"a new run on the other one")
    if not given and not same_dataset(dataset, config):  # rebuilt from other audio since (train --overwrite)
        raise RunError(f"the dataset '{dataset.path}' of run '{folder}' {dataset_rebuilt_note(dataset, config)}"
                       f": the run cannot go on on it (a copy of the run with its own "
                       f"dataset: give it as --dataset); start it over on the new one (train --dataset "
                       f"{dataset.path} --output {folder} --overwrite), or train a new run")
    sized = {"health_streams", "health_seconds"} & set(overrides)
    if sized and not train_config.health_every:
        raise ParameterError(f"{' and '.join(map(option, sorted(sized)))}: run '{folder}' makes no health checks; "
                             f"add --health-every N to start them, or leave the option out")
    if _budget_spent(state, train_config) and read_summary(folder) is not None:
        raise _budget_error(folder, state, train_config)
    # History rows beyond the last saved epoch belong to an epoch that was not checkpointed.
    history = [row for row in read_history_rows(folder / HISTORY)
               if int(float(row["epoch"])) <= state["epochs_completed"]]
    history = [{key: value for key, value in row.items()} for row in history]
    missing = sorted(set(range(1, state["epochs_completed"] + 1)) - {int(float(row["epoch"])) for row in history})
    if missing:
        logger.warning("'%s' has no row for %d of the %d epochs done (%s; cut or edited since they were written): "
                       "its curves will have a gap there", folder / HISTORY, len(missing), state["epochs_completed"],
                       ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else ""))
    logger.info("resuming '%s' after epoch %d (%.1f minutes trained)", folder, state["epochs_completed"],
                state["training_seconds"] / 60)
    return folder, dataset, model_config, train_config, state, history


def _record_resumed_config(folder, train_config, dataset):
    """The resumed training config into the run's config.json, once every check of the resume has passed, and
    where its dataset is now (the same dataset, given with --dataset after it was moved)."""
    from .dataset import dataset_builder

    config = read_run_json(folder, CONFIG)
    where = str(Path(dataset.path).resolve())
    recorded = config.get("dataset_builder")  # a run made before it was recorded: that of the dataset it goes on on
    if train_config != TrainConfig.from_dict(config["training"]) or where != config["dataset"] or recorded is None:
        config["training"] = train_config.to_dict()
        config["dataset"] = where
        config["dataset_builder"] = dataset_builder(dataset.metadata) if recorded is None else recorded
        write_json(folder / CONFIG, config)


def _say_older_builder(dataset):
    """A warning where ``dataset`` was made by an older builder than today's: what it did otherwise, and how to
    build it again (the run goes on with it as it is)."""
    from .dataset import BUILDER, builder_news, dataset_builder

    revision = dataset_builder(dataset.metadata)
    if revision < BUILDER:
        logger.warning("dataset '%s' was built (%s) by an older audiornn; today's %s: for new runs, build it "
                       "again into another folder ('%s ... --output NEW'); this run goes on with "
                       "it as it is", dataset.path, str(dataset.metadata.get("created", "?"))[:10],
                       builder_news(revision), command("AudioRNNData.py"))


def _budget_spent(state, train_config):
    budget, epochs = train_config.minutes * 60.0, state["epochs_completed"]
    return epochs >= train_config.total_epochs or (epochs > 0 and _no_epoch_fits(
        budget, state["training_seconds"], state.get("last_epoch_seconds", state["training_seconds"] / epochs)))


# An epoch is not begun in less than this share of an epoch's time left of the budget: it would stop after a few
# batches (one, often), from a state reset for it, and count as an epoch in the history and the curves.
LAST_EPOCH_SHARE = 0.5


def _steady_epoch_seconds(seconds, first_batch_seconds, batches, *, training_seconds=None,
                          first_validation_seconds=None, validation_batches=0):
    """About how long an epoch takes once compiled, from the first epoch of a process: ``seconds`` in all, its
    ``batches`` in ``training_seconds`` (all of it where not known), the first taking ``first_batch_seconds`` with
    the step's compilation, then its ``validation_batches``, the first taking ``first_validation_seconds`` with the
    test step's. Each part's other batches' time spread over them all; None where it had a single batch."""
    if first_batch_seconds is None or batches < 2:
        return None
    training = seconds if training_seconds is None else min(training_seconds, seconds)
    steady = max(0.0, training - first_batch_seconds) * batches / (batches - 1)
    validation = seconds - training
    if first_validation_seconds is not None and validation_batches >= 2:
        validation = max(0.0, validation - first_validation_seconds) * validation_batches / (validation_batches - 1)
    return steady + validation


def _no_epoch_fits(budget, trained, epoch_seconds):
    """Whether a time ``budget`` (seconds; 0: none) with ``trained`` seconds spent has no room for another epoch of
    about ``epoch_seconds``."""
    return bool(budget) and budget - trained < LAST_EPOCH_SHARE * epoch_seconds


def _budget_error(folder, state, train_config):
    epochs = state["epochs_completed"]
    epoch = state.get("last_epoch_seconds")
    short = f", under half an epoch ({epoch / 60:.1f} minutes) short of its time" \
        if epoch and state["training_seconds"] < train_config.minutes * 60.0 else ""
    return RunError(f"run '{folder}' has already used its budget ({epochs} epoch{'' if epochs == 1 else 's'}, "
                    f"{state['training_seconds'] / 60:.1f} minutes{short}): pass a larger --epochs or "
                    f"--minutes with --resume to train on")


def _epochs_done(count):
    """The stop reason of a run that trained all its epochs: ``1 epoch done``, ``12 epochs done``."""
    return f"{count} epoch{'' if count == 1 else 's'} done"


def _summarise(folder, dataset, model_config, train_config, state, progress=False, shown=None):
    best = load_run_model(folder)
    seconds = dataset.samples("validation") / dataset.audio_config.sample_rate
    logger.info("scoring the best model (epoch %s) on all %s of validation audio", state["best_epoch"],
                f"{seconds / 60:.1f} minutes" if seconds >= 60 else f"{seconds:.1f} s")
    score = evaluate_model(best, dataset, batch_size=train_config.batch_size, progress=progress)
    for name, label in score.get("labels", {}).items():
        if label["bits_per_sample"] is None:
            logger.info("label %s: no validation audio to score it on", name)
        else:
            logger.info("label %s: %.3f bits per sample on its %d validation targets", name,
                        label["bits_per_sample"], label["targets"])
    summary = {
        "run": str(folder), "epochs": state["epochs_completed"],
        "training_minutes": round(state["training_seconds"] / 60, 2),
        "best_epoch": state["best_epoch"],
        "best_val_bits_per_sample_quick": None if state["best_val_loss"] is None
        else state["best_val_loss"] / math.log(2),
        "validation": score, "stop_reason": state["stop_reason"],
        "model": str(folder / BEST_MODEL),
    }
    if state.get("start_val_loss") is not None:
        summary.update(start_model=state.get("start_name"),
                       start_val_bits_per_sample_quick=state["start_val_loss"] / math.log(2))
    if state.get("healthiest") and (folder / HEALTHIEST_MODEL).is_file():  # not when removed by hand since
        summary["healthiest"] = dict(state["healthiest"], model=str(folder / HEALTHIEST_MODEL))
    write_json(folder / SUMMARY, summary)
    logger.info("stopped: %s. Best model (epoch %s): %.3f bits per sample on all %d validation targets "
                "-> %s", state["stop_reason"], state["best_epoch"], score["bits_per_sample"],
                score["targets"], (shown or folder) / BEST_MODEL)
    _say_start(summary, model_config)
    if summary.get("healthiest"):
        from .health import share_text

        healthiest = state["healthiest"]
        logger.info("healthiest model (epoch %d): %s of its check's windows at the training level, %d of %d "
                    "streams stuck (collapsed, run away or frozen)%s; %.3f bits per sample on the quick validation "
                    "-> %s", healthiest["epoch"], share_text(healthiest["in_range"]), healthiest["stuck"],
                    healthiest["streams"], least_bad_note(healthiest), healthiest["val_bits_per_sample"],
                    (shown or folder) / HEALTHIEST_MODEL)
    return summary


def _say_start(summary, model_config):
    """How the best epoch of a run started from another model compares with that model, on the same quick
    validation: a fine-tune that did not beat where it started is said to have lost (its starting model is the
    better one on this audio)."""
    start, best = summary.get("start_val_bits_per_sample_quick"), summary["best_val_bits_per_sample_quick"]
    if start is None or best is None:
        return
    name = summary.get("start_model") or "the model it started from"
    vocoder = (" A vocoder's bits and what it sounds like can part: compare their copy-synthesis too "
               f"({command('AudioRNNEval.py')} --resynthesis --audio HELD_OUT --model '{name}', then --model "
               f"'{summary['run']}')") if model_config.features else ""
    if best >= start:
        logger.warning("no epoch beat the model the run started from: '%s' scored %.4f bits per sample on the quick "
                       "validation before training, the best epoch %.4f. On this dataset's validation audio it is "
                       "the better model: train again with a lower --learning-rate, or use it instead.%s", name,
                       start, best, vocoder)
    else:
        logger.info("the best epoch: %.4f bits per sample on the quick validation, %.4f below '%s' before "
                    "training (%.4f).%s", best, start - best, name, start, vocoder)


def least_bad_note(healthiest):
    """What to add of a healthiest check whose every stream was stuck (the best of the checks, none of its streams
    well): that it is only the least bad; "" otherwise."""
    return ("; every stream of its check was stuck: it is the least bad of the checks, not a healthy model (train "
            "longer, or listen to the previews)" if healthiest["stuck"] == healthiest["streams"] else "")
