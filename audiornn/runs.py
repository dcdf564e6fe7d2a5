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

Every file is written to a temporary name and renamed into place, and
``state.json`` is written after the models of its epoch, so a kill at any
moment leaves a run that ``--resume`` continues from the last completed epoch
with no gap and no duplicate row in the history. Training and evaluation
both read runs through this module; it imports neither.
"""

import csv
import json
import shutil
from pathlib import Path

import numpy as np

from .dataset import METADATA_NAME
from .errors import ModelFileError, RunError
from .files import write_atomically

__all__ = ["BEST_MODEL", "CONFIG", "HISTORY", "HISTORY_COLUMNS", "LAST_MODEL", "STATE", "SUMMARY", "is_run",
           "load_run_model", "prepare_run_folder", "read_history", "read_history_rows", "read_run_json",
           "run_dataset_path", "save_model", "write_history"]

RUN_FORMAT = "audiornn-run"
RUN_FORMAT_VERSION = 1
CONFIG, STATE, SUMMARY, HISTORY = "config.json", "state.json", "summary.json", "history.csv"
BEST_MODEL, LAST_MODEL = "model.keras", "last.keras"
PREVIEWS, LOGS = "previews", "logs"
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


def new_run_config(*, audio_config, model_config, train_config, dataset_path):
    """The contents of a new run's ``config.json``."""
    return {"format": RUN_FORMAT, "format_version": RUN_FORMAT_VERSION, "audio": audio_config.to_dict(),
            "model": model_config.to_dict(), "training": train_config.to_dict(),
            "dataset": str(Path(dataset_path).resolve())}


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
                if not (entry.name == "dataset" and (entry / METADATA_NAME).is_file())] if folder.is_dir() else []
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


# ----------------------------------------------------------------------------------------------
# history.csv


def read_history_rows(path):
    """The rows of a ``history.csv`` as dicts of strings (none when there is no file)."""
    if not Path(path).is_file():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def write_history(path, rows):
    """Write ``rows`` (dicts with ``HISTORY_COLUMNS`` keys) as a ``history.csv``, atomically."""
    def write(temporary):
        with open(temporary, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=HISTORY_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    return write_atomically(path, write)


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


def save_model(model, path):
    """Save a Keras model to ``path`` atomically."""
    return write_atomically(path, lambda temporary: model.save(temporary))


def run_dataset_path(model_path):
    """The dataset a run (or the model file inside a run folder) was trained on, or None."""
    folder = Path(model_path).expanduser()
    folder = folder if folder.is_dir() else folder.parent
    if not is_run(folder):
        return None
    return read_run_json(folder, CONFIG).get("dataset")


def load_run_model(path):
    """Load a model from a ``.keras`` file or a run folder (its best model)."""
    import keras

    from . import model as _registers_the_custom_objects  # noqa: F401

    path = Path(path).expanduser()
    if path.is_dir():
        path = path / BEST_MODEL
    if not path.is_file():
        raise ModelFileError(f"model '{path}' does not exist: give a .keras file or a run folder")
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as error:  # Keras raises many kinds for a bad file
        raise ModelFileError(f"cannot load model '{path}': {type(error).__name__}: {error}"[:500]) from None
    if not hasattr(model, "audio_config") or not hasattr(model, "model_config"):
        raise ModelFileError(f"'{path}' is a Keras model but not an audiornn model (no audio config)")
    return model
