"""The run folder: its files, how they are read and written, and loading its models.

Layout of a run folder (format version 1)::

    RUN/config.json    audio, model and training configs, and the dataset path
    RUN/state.json     epochs completed, training seconds, best validation
                       loss and epoch, epochs without improvement, stop reason
    RUN/model.keras    the best model by validation loss (inference only)
    RUN/last.keras     the last completed epoch, with the optimizer's state
    RUN/history.csv    one row per completed epoch: loss, accuracy and bits
                       per sample for training and validation, learning rate,
                       seconds, and the preview's sound distance on epochs
                       with a preview (empty on the others)
    RUN/summary.json   the full validation score of the best model, when done
    RUN/previews/      short generated previews every N epochs (optional)
    RUN/logs/          TensorBoard logs (optional)

An epoch is saved as one unit (:func:`commit_epoch`): its models and history
are written under pending names (``.epoch-0007.last.keras``), then
``state.json``, the commit point, then the pending files are renamed into
place. After a kill at any moment, :func:`recover_run` finishes an epoch that
was committed and drops one that was not, so ``--resume`` continues from the
last completed epoch with its own model, no gap and no duplicate row in the
history. A run folder is held by one process at a time (``.lock``, released
by the kernel when the process ends). Training and evaluation both read runs
through this module; it imports neither.
"""

import csv
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np

from .dataset import METADATA_NAME
from .errors import ModelFileError, RunError
from .files import hold_folder, remove_stale_partials, write_atomically, write_json

__all__ = ["BEST_MODEL", "CONFIG", "HISTORY", "HISTORY_COLUMNS", "LAST_MODEL", "STATE", "SUMMARY", "commit_epoch",
           "hold_run", "is_run", "load_run_model", "prepare_run_folder", "read_history", "read_history_rows",
           "read_run_json", "recover_run", "run_dataset_path", "write_history"]

RUN_FORMAT = "audiornn-run"
RUN_FORMAT_VERSION = 1
CONFIG, STATE, SUMMARY, HISTORY = "config.json", "state.json", "summary.json", "history.csv"
BEST_MODEL, LAST_MODEL = "model.keras", "last.keras"
PREVIEWS, LOGS, LOCK = "previews", "logs", ".lock"
PENDING = re.compile(r"^\.epoch-(\d+)\.(.+)$")
HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "bits_per_sample", "val_loss", "val_accuracy",
                   "val_bits_per_sample", "learning_rate", "seconds", "sound_frechet"]


def read_run_json(folder, name):
    """One of a run's JSON files (``CONFIG``, ``STATE``, ``SUMMARY``); a clear error if it is damaged."""
    path = Path(folder) / name
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise RunError(f"cannot read '{path}' ({error}): the run folder is damaged") from None


def is_run(folder):
    """True when ``folder`` holds an audiornn run (its ``config.json`` says so)."""
    config = Path(folder) / CONFIG
    if not config.is_file():
        return False
    try:
        return json.loads(config.read_text()).get("format") == RUN_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def new_run_config(*, model_config, train_config, dataset):
    """The contents of a new run's ``config.json``: the configs, and which dataset (its path and
    fingerprint, so that a resume on other audio is caught)."""
    return {"format": RUN_FORMAT, "format_version": RUN_FORMAT_VERSION, "audio": dataset.audio_config.to_dict(),
            "model": model_config.to_dict(), "training": train_config.to_dict(),
            "dataset": str(Path(dataset.path).resolve()),
            "dataset_fingerprint": dataset.metadata.get("recipe_fingerprint")}


def prepare_run_folder(folder, *, overwrite=False, check_only=False):
    """Make ``folder`` ready for a new run, refusing to destroy anything else.

    A ``dataset`` subfolder holding an audiornn dataset is kept (the train
    command builds one there from INPUT audio). Anything else is replaced
    only when it is an earlier run and ``overwrite`` is set.
    """
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise RunError(f"--output '{folder}' is a file, not a folder: choose another --output")
    if not folder.parent.is_dir():
        raise RunError(f"the folder that should hold --output '{folder}' does not exist: "
                       f"create '{folder.parent}' first")
    contents = [entry for entry in folder.iterdir()
                if entry.name != LOCK and not (entry.name == "dataset" and (entry / METADATA_NAME).is_file())
                ] if folder.is_dir() else []
    if contents:
        if not is_run(folder):
            raise RunError(f"--output folder '{folder}' is not empty and holds no audiornn run: "
                           f"choose another --output (nothing was changed)")
        if not overwrite:
            raise RunError(f"--output folder '{folder}' already holds a run: continue it with "
                           f"'--resume {folder}', or pass --overwrite to start over")
    if check_only:
        return folder
    for entry in contents:
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    folder.mkdir(exist_ok=True)
    return folder


def hold_run(folder):
    """Hold run ``folder`` for this process (a context manager); another gets "in use by process N"."""
    return hold_folder(folder, what="run folder")


def commit_epoch(folder, epoch, writes, state):
    """Save epoch ``epoch``'s files as one unit.

    ``writes`` maps a file name of the run (``LAST_MODEL``, ``HISTORY``...) to
    a function that writes it to a given path. Each is written under its
    pending name, then ``state`` (which says ``epochs_completed == epoch``)
    to ``state.json``, the commit point; then the pending files are renamed
    into place.
    """
    folder = Path(folder)
    pending = [folder / f".epoch-{epoch:04d}.{name}" for name in writes]
    try:
        for path, write in zip(pending, writes.values()):
            write_atomically(path, write)
        write_json(folder / STATE, state)
    except BaseException:
        for path in pending:  # not committed: the previous epoch's files stay as they were
            path.unlink(missing_ok=True)
        raise
    _finish_pending(folder, epoch)


def _finish_pending(folder, committed):
    for entry in sorted(folder.iterdir()):
        match = PENDING.match(entry.name)
        if match and int(match.group(1)) <= committed:
            os.replace(entry, folder / match.group(2))
        elif match:
            entry.unlink()


def recover_run(folder):
    """After a kill: finish the last committed epoch, drop the files of one that was not committed,
    and remove temporary files whose writer is gone. Returns the run's state (None before epoch 1)."""
    folder = Path(folder)
    state = read_run_json(folder, STATE) if (folder / STATE).is_file() else None
    remove_stale_partials(folder)
    _finish_pending(folder, state["epochs_completed"] if state else 0)
    return state


# ----------------------------------------------------------------------------------------------
# history.csv


def read_history_rows(path):
    """The rows of a ``history.csv`` as dicts of strings (none when there is no file)."""
    if not Path(path).is_file():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def history_writer(rows):
    """A function writing ``rows`` (dicts with ``HISTORY_COLUMNS`` keys) as a ``history.csv`` to a path."""
    def write(path):
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=HISTORY_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    return write


def write_history(path, rows):
    """Write ``rows`` as a ``history.csv``, atomically."""
    return write_atomically(path, history_writer(rows))


def read_history(run):
    """A run's ``history.csv`` as ``{column: float array}``; a clear error if missing or empty."""
    run = Path(run).expanduser()
    path = run / HISTORY if run.is_dir() else run
    if not path.is_file():
        raise RunError(f"'{run}' has no history.csv: give a run folder written by "
                       f"'python AudioRNN.py train' that finished at least one epoch")
    rows = read_history_rows(path)
    if not rows:
        raise RunError(f"'{path}' holds no epochs yet: train at least one epoch first")
    columns = {}
    for key in rows[0]:
        try:
            columns[key] = np.array([float(row[key]) if row[key] not in ("", None) else np.nan for row in rows])
        except ValueError:
            raise RunError(f"'{path}' has a non-numeric value in column '{key}': the file is damaged") from None
    if "epoch" not in columns:
        raise RunError(f"'{path}' has no 'epoch' column: it is not an audiornn history")
    return columns


# ----------------------------------------------------------------------------------------------
# Models


def run_dataset_path(model_path):
    """The dataset a run (or the model file inside a run folder) was trained on, or None."""
    folder = Path(model_path).expanduser()
    folder = folder if folder.is_dir() else folder.parent
    if not is_run(folder):
        return None
    return read_run_json(folder, CONFIG).get("dataset")


def load_run_model(path, *, compile=False):
    """Load a model from a ``.keras`` file or a run folder (its best model).

    ``compile=True`` also restores the optimizer and its state (resuming).
    """
    import zipfile

    import keras

    from . import model as _registers_the_custom_objects  # noqa: F401

    path = Path(path).expanduser()
    if path.is_dir():
        path = path / BEST_MODEL
    if not path.is_file():
        raise ModelFileError(f"model '{path}' does not exist: give a .keras file or a run folder")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"cannot load model '{path}': the file is damaged (cut short or overwritten), "
                             f"not a whole .keras file")
    try:
        model = keras.models.load_model(path, compile=compile)
    except Exception as error:  # Keras raises many kinds for a bad file
        raise ModelFileError(f"cannot load model '{path}': the file is damaged or not an audiornn .keras "
                             f"model ({type(error).__name__}: {error})"[:500]) from None
    if not hasattr(model, "audio_config") or not hasattr(model, "model_config"):
        raise ModelFileError(f"'{path}' is a Keras model but not an audiornn model (no audio config)")
    return model
