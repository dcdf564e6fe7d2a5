"""The run folder: its files, how they are read and written, and loading its models.

Layout of a run folder (format version 1)::

    RUN/config.json    audio, model and training configs, and the dataset path
    RUN/state.json     epochs completed, training seconds, best validation
                       loss and epoch, epochs without improvement, the
                       healthiest health check (with --health-every), stop
                       reason
    RUN/model.keras    the best model by validation loss (inference only)
    RUN/last.keras     the last completed epoch, with the optimizer's state
    RUN/healthiest.keras  the healthiest model by the health checks (only
                       with --health-every; inference only)
    RUN/history.csv    one row per completed epoch: loss, accuracy and bits
                       per sample for training and validation, learning rate,
                       seconds, the preview's sound distance on epochs
                       with a preview and the health check's figures on
                       epochs with one (empty on the others)
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

import contextlib
import csv
import json
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
from pathlib import Path

import numpy as np

from .config import command
from .dataset import METADATA_NAME, dataset_builder
from .errors import AudioRNNError, ModelFileError, ParameterError, RunError
from .files import (LOCK, PARTIAL, FolderInUse, folder_holder, hold_folder, is_figure, make_folder,
                    remove_stale_partials, write_atomically, write_json)

__all__ = ["BEST_MODEL", "CONFIG", "HEALTHIEST_MODEL", "HEALTH_COLUMNS", "KEPT_HEALTHIEST", "HISTORY", "HISTORY_COLUMNS", "LAST_MODEL",
           "STATE", "SUMMARY", "as_model", "commit_epoch", "committed_path", "hold_run", "is_run", "load_model", "load_run_model",
           "prepare_run_folder", "read_history", "read_history_rows", "read_run_json", "read_summary", "recorded_dataset", "recover_run", "run_dataset_path", "write_history"]

logger = logging.getLogger("audiornn")

RUN_FORMAT = "audiornn-run"
RUN_FORMAT_VERSION = 1
CONFIG, STATE, SUMMARY, HISTORY = "config.json", "state.json", "summary.json", "history.csv"
BEST_MODEL, LAST_MODEL, HEALTHIEST_MODEL = "model.keras", "last.keras", "healthiest.keras"
PREVIEWS, LOGS = "previews", "logs"
PENDING = re.compile(r"^\.epoch-(\d+)\.(.+)$")
# An earlier healthiest model kept when a resume's checks are made otherwise (and so not compared with it).
KEPT_HEALTHIEST = re.compile(r"^healthiest-epoch\d+\.keras$")
HEALTH_COLUMNS = ["health_in_range", "health_collapsed", "health_ran_away", "health_frozen", "health_stuck",
                  "health_held_partials", "health_burst", "health_few_tones"]
HISTORY_COLUMNS = ["epoch", "loss", "accuracy", "bits_per_sample", "val_loss", "val_accuracy",
                   "val_bits_per_sample", "learning_rate", "seconds", "sound_frechet", *HEALTH_COLUMNS]


def read_run_json(folder, name):
    """One of a run's JSON files (``CONFIG``, ``STATE``, ``SUMMARY``); a clear error if it is damaged, saying what
    can be done."""
    path = Path(folder) / name
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise RunError(f"cannot read '{path}' ({error}): the run folder is damaged: {damaged_advice(folder, name)}") \
            from None
    except OSError as error:
        raise RunError(f"cannot open '{path}' ({error.strerror or error}): check that it is a file this user can "
                       f"read") from None


def damaged_advice(folder, name):
    """What to do about run ``folder`` whose ``name`` (one of its JSON files) cannot be read."""
    saved = [model for model in (BEST_MODEL, LAST_MODEL) if (Path(folder) / model).is_file()]
    return (f"mend {name} by hand (it is JSON), or train it again with --overwrite"
            + (f"; its saved model can still be used as --model '{Path(folder) / saved[0]}'" if saved else ""))


def damaged_run(folder):
    """Why ``folder``'s ``config.json`` cannot be read as JSON (a hand edit gone wrong), where it still carries an
    audiornn run's mark (its ``"format"``; another program's config.json, broken or not, never does); else None."""
    config = Path(folder) / CONFIG
    try:
        text = config.read_bytes() if config.is_file() else b""
        if f'"{RUN_FORMAT}"'.encode() not in text:
            return None
        json.loads(text)
    except OSError:  # (not readable at all: not said to be a damaged run, whose --overwrite would remove it)
        return None
    except ValueError as error:
        return str(error)
    return None


def epochs_completed(folder):
    """The epochs a run folder's ``state.json`` says were completed (0 without one)."""
    return read_run_json(folder, STATE).get("epochs_completed", 0) if (Path(folder) / STATE).is_file() else 0


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
            "dataset_fingerprint": dataset.metadata.get("recipe_fingerprint"),
            "dataset_builder": dataset_builder(dataset.metadata)}


RUN_FILES = (CONFIG, STATE, SUMMARY, HISTORY, BEST_MODEL, LAST_MODEL, HEALTHIEST_MODEL)
PREVIEW_FILE = re.compile(r"^epoch_\d+\.wav$")
EVAL_FIGURES = ("curves.png", "sound.png", "resynthesis.png", "contact_sheet.png")  # eval draws them in the run


def _own_entries(folder):
    """What a run writes in ``folder``, by name: its files, pending epoch files, its logs and its previews
    (the folder itself when it holds only previews, else the previews in it). Links are never ours."""
    entries = []
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink():
            continue
        if (entry.name in RUN_FILES or PENDING.match(entry.name) or KEPT_HEALTHIEST.match(entry.name)) \
                and entry.is_file():
            entries.append(entry)
        elif entry.name == LOGS and entry.is_dir():
            entries.append(entry)
        elif entry.name in EVAL_FIGURES and is_figure(entry):  # eval's of this run: of none, once it is gone
            entries.append(entry)
        elif entry.name == PREVIEWS and entry.is_dir():
            previews = [item for item in entry.iterdir() if PREVIEW_FILE.match(item.name) and item.is_file()
                        and not item.is_symlink()]
            entries.extend([entry] if len(previews) == len(list(entry.iterdir())) else previews)
    return entries


def _clear_run(folder):
    """Remove an earlier run's own files from ``folder`` as one unit, leaving everything else there.

    They are first moved into one hidden folder (renames in one file system); if a move fails, the
    ones already moved go back, so the old run stays whole. Only then is the hidden folder removed (a
    command that finds it after a kill removes it: its name marks it as a partial of this process).
    """
    entries = _own_entries(folder)
    if not entries:
        return
    trash = Path(tempfile.mkdtemp(dir=folder, prefix=f".overwritten.partial-{os.getpid()}-"))
    moved = []
    try:
        for index, entry in enumerate(entries):
            target = trash / f"{index}-{entry.name}"
            os.rename(entry, target)
            moved.append((entry, target))
    except OSError as error:
        for entry, target in reversed(moved):
            entry.parent.mkdir(exist_ok=True)
            os.rename(target, entry)
        shutil.rmtree(trash, ignore_errors=True)
        raise RunError(f"--overwrite could not clear the run in '{folder}' ({error}); the old run is left "
                       f"whole: free the folder or choose another --output") from None
    shutil.rmtree(trash, ignore_errors=True)


def prepare_run_folder(folder, *, overwrite=False, check_only=False):
    """Make ``folder`` ready for a new run, refusing to destroy anything else.

    A ``dataset`` subfolder holding an audiornn dataset is kept (the train
    command builds one there from INPUT audio). A folder holding an earlier
    run is taken only with ``overwrite``, which removes that run's own files
    (by name) and nothing else in the folder.
    """
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise RunError(f"--output '{folder}' is a file, not a folder: choose another --output")
    blocking = next((above for above in folder.parents if above.exists() and not above.is_dir()), None)
    if blocking is not None:
        raise RunError(f"--output '{folder}': '{blocking}' is a file, not a folder: choose another --output")
    contents = [entry for entry in folder.iterdir()
                if entry.name != LOCK and not (entry.name == "dataset" and (entry / METADATA_NAME).is_file())
                and not PARTIAL.match(entry.name)] if folder.is_dir() else []
    if contents:
        damaged = damaged_run(folder)
        if damaged and not overwrite:
            raise RunError(f"--output folder '{folder}' holds a run whose {CONFIG} cannot be read ({damaged}): "
                           f"{damaged_advice(folder, CONFIG)} (nothing was changed)")
        if not is_run(folder) and not damaged:
            raise RunError(f"--output folder '{folder}' is not empty and holds no audiornn run: "
                           f"choose another --output (nothing was changed)")
        if check_only:  # (not yet held by this process) a run another process is training: "in use by process N"
            try:
                with hold_run(folder):
                    pass
            except FolderInUse:
                raise
            except OSError:  # a folder this user cannot write: the refusals below say what it holds
                pass
        if not overwrite and nothing_saved(folder):  # (nothing of it to lose: its dataset is kept)
            if check_only:
                logger.info("--output folder '%s' holds a run that completed no epoch (stopped in its first): it is "
                            "started again", folder)
        elif not overwrite:
            raise RunError(f"--output folder '{folder}' already holds a run: continue it with "
                           f"'--resume {folder}' (resume='{folder}'), or pass --overwrite (overwrite=True) to start "
                           f"over")
    if check_only:
        return folder
    make_folder(folder, "--output", RunError)
    remove_stale_partials(folder)
    _clear_run(folder)
    return folder


def nothing_saved(folder):
    """Whether run ``folder`` saved nothing: no epoch in its state.json (where it has one) and none of the files an
    epoch writes (a run whose state.json was lost keeps its models, and is not "stopped in its first epoch")."""
    try:
        if epochs_completed(folder):
            return False
    except AudioRNNError:  # a damaged state.json: what it said is not known
        return False
    return not any(committed_path(folder, name).exists()
                   for name in (BEST_MODEL, LAST_MODEL, HEALTHIEST_MODEL, HISTORY, SUMMARY))


def hold_run(folder, *, share_inside=False):
    """Hold run ``folder`` for this process (a context manager); another gets "in use by process N"
    (``share_inside``: and holds inside the block pass, see :func:`audiornn.files.hold_folder`)."""
    return hold_folder(folder, what="run folder", share_inside=share_inside)


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
        # The summary describes the run as it ended before this epoch: gone before the state moves on,
        # so the two never disagree (the next summary is written when training ends).
        (folder / SUMMARY).unlink(missing_ok=True)
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


def committed_path(folder, name):
    """Where a reader finds run file ``name`` as of the last committed epoch.

    Between ``state.json``'s commit and the renames that follow it (or after a
    kill there, until the next command that holds the run recovers it), the
    committed epoch's file still has its pending name: that is the one to read.
    """
    folder = Path(folder)
    committed = epochs_completed(folder)
    pending = [(int(match.group(1)), entry) for entry in folder.iterdir()
               if (match := PENDING.match(entry.name)) and match.group(2) == name and int(match.group(1)) <= committed]
    return max(pending)[1] if pending else folder / name


def read_summary(folder):
    """The run's ``summary.json`` when it describes the run's last committed epoch, else None (training
    still running, interrupted, or killed before the summary was written)."""
    folder = Path(folder)
    if not (folder / SUMMARY).is_file() or not (folder / STATE).is_file():
        return None
    summary, state = read_run_json(folder, SUMMARY), read_run_json(folder, STATE)
    if summary.get("epochs") != state.get("epochs_completed"):
        return None
    return summary


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
    path = committed_path(run, HISTORY) if run.is_dir() else run
    if run.is_file() and run.suffix.lower() != ".csv":
        raise RunError(f"'{run}' is a file, not a run folder: give the folder that holds its history.csv (to "
                       f"score a model file, give it as --model with --audio)")
    if not run.exists():
        raise RunError(f"run folder '{run}' does not exist: check the path")
    if not path.is_file():
        raise RunError(f"'{run}' has no history.csv: give a run folder written by "
                       f"'{command()} train' that finished at least one epoch")
    try:
        rows = read_history_rows(path)
    except (UnicodeDecodeError, csv.Error) as error:
        raise RunError(f"'{path}' is not a training history (a CSV file of epochs): {error}") from None
    try:
        done = epochs_completed(run) if run.is_dir() and is_run(run) else 0
    except (OSError, ValueError, AudioRNNError):  # its state.json damaged too: the history is judged alone
        done = 0
    if not rows and done:  # state.json says epochs were saved: the history lost them
        raise RunError(f"'{path}' holds no epochs, but the run completed {done}: the file is damaged (cut short or "
                       f"emptied); the run's models are intact")
    if not rows:
        raise RunError(f"'{path}' holds no epochs yet: train at least one epoch first")
    if any(None in row for row in rows):  # values with no column name
        raise RunError(f"'{path}' has rows longer than its header: the file is damaged (its header cut short)")
    if None in rows[-1].values():  # a last row cut short: fewer fields than the header
        logger.warning("the last row of '%s' is cut short (the file is damaged): it is left out", path)
        rows = rows[:-1]
        if not rows:
            raise RunError(f"'{path}' holds no whole epoch: the file is damaged (cut short)")
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
    return recorded_dataset(folder, read_run_json(folder, CONFIG))


def recorded_dataset(folder, config):
    """Where run ``folder``'s dataset is (``config``: its config.json): where it was recorded, or, where that is
    gone and the run holds a dataset of its own (``train`` from recordings builds it into ``RUN/dataset``), that
    one: a run folder moved or copied with its dataset inside. Whether it is the same audio is for the
    fingerprint to say (:func:`same_dataset`)."""
    recorded = config.get("dataset")
    inside = Path(folder).expanduser() / "dataset"
    if recorded and not Path(recorded).is_dir() and Path(recorded).name == inside.name and inside.is_dir():
        return str(inside.resolve())
    return recorded


def same_dataset(dataset, config):
    """True when ``dataset`` is the one a run's config names: the same fingerprint (a copy or a move of
    it counts) and, where the run recorded it, made by the same revision of the builder, or for runs saved
    before fingerprints, the same folder."""
    if config.get("dataset_fingerprint"):
        if dataset.metadata.get("recipe_fingerprint") != config["dataset_fingerprint"]:
            return False
        return run_dataset_builder(config) in (None, dataset_builder(dataset.metadata))
    return Path(dataset.path).resolve() == Path(config["dataset"]).resolve()


def run_dataset_builder(config):
    """The builder revision of the dataset a run trained on (:data:`audiornn.dataset.BUILDER`), recorded in its
    config.json by runs made since it was and by the first resume of an earlier one (the revision of the dataset
    it resumed on); None where not recorded."""
    recorded = config.get("dataset_builder")
    return recorded if isinstance(recorded, int) and not isinstance(recorded, bool) else None


def dataset_rebuilt_note(dataset, config):
    """Why ``dataset``, found where a run's dataset was, is not the one it trained on: built again from other
    audio or settings, or from the same by another revision of the builder (what a newer one does otherwise)."""
    from .dataset import builder_news

    if config.get("dataset_fingerprint") != dataset.metadata.get("recipe_fingerprint"):
        return "was built again from other audio or settings since the run trained on it"
    theirs, ours = dataset_builder(dataset.metadata), run_dataset_builder(config)
    news = builder_news(ours) if ours is not None and theirs > ours else ""
    return (f"was built again from the same audio and settings since, by another audiornn (builder revision "
            f"{theirs}; the run's dataset was of {ours}){f', which {news}' if news else ''}: its audio is not what "
            f"the run trained on")


def usable_run_dataset(model_path):
    """The dataset a run (or a model file in a run folder) was trained on, when it is there as it was:
    ``(the dataset, opened, None)``; ``(None, why not)`` when it was moved, removed, damaged or rebuilt from other
    audio since (its fingerprint differs from the one the run recorded); ``(None, None)`` for what is not a
    run's."""
    from .dataset import open_dataset
    from .errors import DatasetError

    recorded = run_dataset_path(model_path)
    if not recorded:
        return None, None
    if not Path(recorded).is_dir():
        return None, f"the run's dataset '{recorded}' is not there (moved or removed)"
    try:
        dataset = open_dataset(recorded)
    except DatasetError as error:
        return None, f"the run's dataset cannot be used ({error})"
    folder = Path(model_path).expanduser()
    config = read_run_json(folder if folder.is_dir() else folder.parent, CONFIG)
    if not same_dataset(dataset, config):
        return None, f"the run's dataset '{recorded}' {dataset_rebuilt_note(dataset, config)}"
    return dataset, None


def own_dataset(model, dataset, without):
    """``dataset`` as given; where None, the dataset of the run that ``model`` (a path, or a model loaded from one)
    trained on, as eval finds it, or None (a warning says why where the run's dataset is gone or rebuilt, and
    ``without`` what is done without it); False: none, not looked for (the caller looked already)."""
    if dataset is False:
        return None
    source = model if isinstance(model, (str, os.PathLike)) else getattr(model, "loaded_from", None)
    if dataset is None and source is not None and Path(source).expanduser().exists():
        dataset, why_not = usable_run_dataset(source)
        if why_not:
            logger.warning("%s: %s (pass dataset=, the dataset it trained on)", why_not, without)
    return dataset


def load_run_model(path, *, compile=False):
    """Load a model from a ``.keras`` file, a run folder (its best model) or a shipped model's name
    (``"speech"``, ``"music"``, ``"vocoder"``, ``"vocoder-16k"``: :mod:`audiornn.pretrained`).

    ``compile=True`` also restores the optimizer and its state (resuming). A model already loaded is given back
    as it is (as every function that takes a model takes one).
    """
    import zipfile

    if not compile and _is_model(path):
        return path
    from .backend import start_quietly

    start_quietly()  # (from audiornn.runs import load_run_model: Keras first imported here)
    import keras

    from . import model as _registers_the_custom_objects  # noqa: F401

    from .pretrained import resolve_model

    if not str(path).strip():
        raise ModelFileError("the model is named by nothing (an empty name): give a .keras file, a run folder or a "
                             f"shipped model's name ({command()} models lists them)")
    given, path = path, resolve_model(path)
    if path.is_dir():
        from .dataset import is_dataset

        if is_dataset(path):
            raise ModelFileError(f"model '{path}' is a dataset, not a model: give a .keras file, a run folder "
                                 f"trained on it, or a shipped model's name{_hides(given)}")
        run = path
        path = committed_path(path, BEST_MODEL) if is_run(path) else path / BEST_MODEL
        if is_run(run) and not path.is_file() and not epochs_completed(run):
            holder = folder_holder(run)
            if holder is not None:
                raise ModelFileError(f"run '{run}' has no model yet: process {holder} is training it and has not "
                                     f"finished its first epoch; wait for that epoch to end{_hides(given)}")
            raise ModelFileError(f"run '{run}' has no model yet: it completed no epoch (interrupted before the "
                                 f"first ended); train it again (the same command){_hides(given)}")
        if not is_run(run) and not path.is_file():
            raise ModelFileError(f"'{run}' holds no audiornn run or model (no config.json, no {BEST_MODEL}): give a "
                                 f".keras file, a run folder or a shipped model's name{_hides(given)}")
        last = committed_path(run, LAST_MODEL) if is_run(run) else None
        if last is not None and not path.is_file() and last.is_file():
            raise ModelFileError(f"run '{run}' has lost its best model ('{path.name}' is missing) but keeps its last "
                                 f"epoch's: give '{last}' for that one{_hides(given)}")
    if not path.is_file():
        raise ModelFileError(f"model '{path}' does not exist: give a .keras file or a run folder{_hides(given)}")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as handle:
            head = handle.read(4)
        what = "the file is damaged (cut short or overwritten), not a whole .keras file" if head.startswith(b"PK") \
            else "it is not a .keras model (a Keras model file is a zip archive)"
        raise ModelFileError(f"cannot load model '{path}': {what}{_hides(given)}")
    try:
        with _interrupts_held():
            model = keras.models.load_model(path, compile=compile)
    except Exception as error:  # Keras raises many kinds for a bad file
        # Keras' own message can hold the whole saved config over many lines: its first line, shortened.
        reason = (str(error).strip().splitlines() or [""])[0]
        reason = reason if len(reason) <= 160 else reason[:157] + "..."
        raise ModelFileError(f"cannot load model '{path}': the file is damaged or not an audiornn .keras "
                             f"model ({type(error).__name__}: {reason})") from None
    if not hasattr(model, "audio_config") or not hasattr(model, "model_config"):
        raise ModelFileError(f"'{path}' is a Keras model but not an audiornn model (no audio config)")
    model.loaded_from = path  # (what the model given as an object, not a path, was trained on: its run's dataset)
    return model


@contextlib.contextmanager
def _interrupts_held():
    """Ctrl-C and SIGTERM during the block take effect when it ends. Keras' loading catches every exception while
    it builds a model, an interrupt's too, and goes on with a model half built: on JAX a Ctrl-C in the first
    seconds of vocode ended in an AttributeError's traceback and exit code 1, not "interrupted" and 130."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    held = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    # (one ignored stays ignored; one set outside Python is left alone)
    held = {number: handler for number, handler in held.items() if handler not in (None, signal.SIG_IGN)}
    for number in held:
        signal.signal(number, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, held)  # none between two of the handlers given back
        try:
            for number, handler in held.items():
                signal.signal(number, handler)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
        if received:  # to the handler it had (KeyboardInterrupt for Ctrl-C), over an error of the load too
            signal.raise_signal(received[0])


def _hides(given):
    """For a model argument that names a shipped model but found a path here: that the path hides it."""
    from .pretrained import shipped_models

    models = shipped_models()
    if str(given) not in models:
        return ""
    kind = "folder" if Path(str(given)).expanduser().is_dir() else "file"
    return (f"; the {kind} '{given}' here hides the shipped model of that name: give its file, "
            f"'{models[str(given)]['path']}' (in Python audiornn.shipped_models()['{given}']['path']), or run from "
            f"another folder")


load_model = load_run_model  # the notebook's name: audiornn.load_model("speech")


def _is_model(model):
    """Whether ``model`` is an audiornn model itself (not a path or a name of one)."""
    return all(hasattr(model, name) for name in ("audio_config", "model_config", "step"))


def as_model(model):
    """What the API takes for a model, as a model: the model itself, or a ``.keras`` file, a run folder or a
    shipped model's name, loaded (:func:`load_run_model`); anything else is refused by name."""
    if isinstance(model, (str, os.PathLike)):
        return load_run_model(model)
    if not _is_model(model):
        raise ParameterError(f"model must be an audiornn model (audiornn.load_model(...)), a .keras file, a run "
                             f"folder or a shipped model's name; got {type(model).__name__}")
    return model
