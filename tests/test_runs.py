"""Run folders: held by one process, committed epoch by epoch, overwritten and resumed without loss."""

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from audiornn import runs
from audiornn.cli import main
from audiornn.errors import ParameterError, RunError
from audiornn.files import FolderInUse
from audiornn.runs import hold_run, is_run
from audiornn.training import TrainConfig, train

from conftest import REPOSITORY, SMALL_MODEL, SMALL_TRAINING, hidden, one_line


@pytest.mark.slow
def test_overwrite_keeps_the_users_files_and_links_in_a_run_folder(tone_dataset, finished_run, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("theirs")
    (finished_run / "my_notes.txt").write_text("notes")
    (finished_run / "my_audio").mkdir()
    (finished_run / "my_audio" / "a.wav").write_bytes(b"RIFF")
    (finished_run / "link").symlink_to(elsewhere, target_is_directory=True)
    import shutil

    shutil.copy(finished_run / "model.keras", finished_run / "healthiest.keras")  # as --health-every keeps it
    shutil.copy(finished_run / "model.keras", finished_run / "healthiest-epoch0001.keras")  # a resume's checks
    from audiornn.evaluation import plot_history, save_figure

    save_figure(plot_history(finished_run), finished_run / "curves.png")  # eval's, of the old run
    (finished_run / "sound.png").write_bytes(b"\x89PNG my own picture")  # a user's under a figure's name
    old_config = (finished_run / "config.json").read_text()
    train(tone_dataset, finished_run, model_config=SMALL_MODEL, train_config=TrainConfig(epochs=1, seed=5, **SMALL_TRAINING), overwrite=True,
          verbose=0)
    assert (finished_run / "my_notes.txt").read_text() == "notes"
    assert (finished_run / "my_audio" / "a.wav").read_bytes() == b"RIFF"
    assert (elsewhere / "keep.txt").read_text() == "theirs" and (finished_run / "link").is_symlink()
    assert (finished_run / "config.json").read_text() != old_config  # the new run's
    assert runs.read_summary(finished_run)["epochs"] == 1
    assert not (finished_run / "healthiest.keras").exists()  # the old run's, gone with it
    assert not (finished_run / "healthiest-epoch0001.keras").exists()
    assert not (finished_run / "curves.png").exists()  # drew a run that is gone
    assert (finished_run / "sound.png").read_bytes() == b"\x89PNG my own picture"


@pytest.mark.slow
def test_an_overwrite_that_cannot_finish_leaves_the_old_run_whole(tone_dataset, finished_run, monkeypatch):
    before = {entry.name: entry.read_bytes() for entry in finished_run.iterdir() if entry.is_file()
              and entry.name != ".lock"}
    real, calls = runs.os.rename, []

    def rename(source, destination):
        calls.append(source)
        if len(calls) == 3:
            raise OSError(16, "Device or resource busy", str(source))
        return real(source, destination)

    monkeypatch.setattr(runs.os, "rename", rename)
    with pytest.raises(RunError, match="the old run is left whole"):
        runs.prepare_run_folder(finished_run, overwrite=True)
    after = {entry.name: entry.read_bytes() for entry in finished_run.iterdir() if entry.is_file()
             and entry.name != ".lock"}
    assert after == before and not [entry for entry in finished_run.iterdir() if entry.is_dir()]


@pytest.mark.slow
def test_a_resume_killed_after_a_commit_leaves_no_stale_summary_and_readers_see_the_committed_epoch(
        tone_dataset, finished_run, monkeypatch, capsys):
    assert runs.read_summary(finished_run)["epochs"] == 1
    real = runs._finish_pending

    def killed(folder, committed):
        if committed == 2:
            raise KeyboardInterrupt  # as a kill just after epoch 2's state.json, before its renames
        return real(folder, committed)

    monkeypatch.setattr(runs, "_finish_pending", killed)
    with pytest.raises(KeyboardInterrupt):
        train(resume=finished_run, overrides={"epochs": 2}, verbose=0)
    monkeypatch.setattr(runs, "_finish_pending", real)
    state = json.loads((finished_run / "state.json").read_text())
    assert state["epochs_completed"] == 2 and "interrupted after epoch 2" in state["stop_reason"]
    assert not (finished_run / "summary.json").exists() and runs.read_summary(finished_run) is None
    assert runs.committed_path(finished_run, "history.csv").name == ".epoch-0002.history.csv"
    assert list(runs.read_history(finished_run)["epoch"]) == [1.0, 2.0]
    best = runs.committed_path(finished_run, "model.keras")
    assert best.name in ("model.keras", ".epoch-0002.model.keras")
    # eval prints no score for the run (it has none for its last epoch), and says how to get one.
    assert main(["eval", "--model", str(finished_run), "--sound", "--seconds", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "on all its validation audio" not in printed and "--resume" in printed
    # The next resume finishes the renames, and with the budget used, makes the summary.
    summary = train(resume=finished_run, verbose=0)
    assert summary["epochs"] == 2 and runs.read_summary(finished_run)["epochs"] == 2


@pytest.mark.slow
def test_a_kill_during_the_final_summary_is_finished_by_the_next_resume(tone_dataset, tmp_path, monkeypatch,
                                                                             caplog):
    from audiornn import training

    real = training._summarise

    def killed(*arguments, **options):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "_summarise", killed)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt), caplog.at_level("WARNING", logger="audiornn"):
        train(tone_dataset, run, model_config=SMALL_MODEL, train_config=TrainConfig(epochs=1, **SMALL_TRAINING), verbose=0)
    # what the interrupt left is said, and how to end the run
    assert f"the training is done and saved; 'python AudioRNN.py train --resume {run}' (audiornn.train(resume=...)) " \
        "scores it" in caplog.text
    monkeypatch.setattr(training, "_summarise", real)
    assert runs.read_summary(run) is None
    summary = train(resume=run, verbose=0)  # no more training: the summary it lacked
    assert summary["epochs"] == 1 and summary["stop_reason"] == "1 epoch done"
    assert runs.read_summary(run)["validation"] == summary["validation"]
    with pytest.raises(RunError, match="already used its budget"):
        train(resume=run, verbose=0)
    state = json.loads((run / "state.json").read_text())
    with pytest.raises(RunError, match=r"already used its budget \(1 epoch, [\d.]+ minutes, under half an epoch "):
        train(resume=run, overrides={"minutes": round((state["training_seconds"] + 0.2 * state[
            "last_epoch_seconds"]) / 60, 4)}, verbose=0)
    # --minutes alone on a run given epochs is a time budget, not one the old epoch count stops at once
    state = json.loads((run / "state.json").read_text())  # room for an epoch: a sliver of one is not begun
    budget = round((state["training_seconds"] + state["last_epoch_seconds"]) / 60 + 0.02, 3)
    # (patience out of the way: on a fast backend the tiny model's epochs are many in that time)
    summary = train(resume=run, overrides={"minutes": budget, "patience": 10 ** 6}, verbose=0)
    assert summary["epochs"] > 1 and f"time budget of {budget:g} minutes" in summary["stop_reason"]
    assert json.loads((run / "config.json").read_text())["training"]["epochs"] == 0


@pytest.mark.slow  # over 3 s on 2 cores
def test_out_of_room_at_epoch_1_says_there_is_no_epoch_to_resume(tone_dataset, tmp_path, monkeypatch):
    real = runs.write_atomically

    def full(path, write):
        if Path(path).name.startswith(".epoch-0001."):
            raise OSError(28, "No space left on device")
        return real(path, write)

    monkeypatch.setattr(runs, "write_atomically", full)
    with pytest.raises(RunError, match=r"could not save epoch 1 .* no epoch was saved: .* start again \(the same "
                                       r"command\)") as caught:
        train(tone_dataset, tmp_path / "run", model_config=SMALL_MODEL, train_config=TrainConfig(epochs=2, **SMALL_TRAINING), verbose=0)
    assert "previous epoch" not in str(caught.value) and "--resume" not in str(caught.value)
    assert caught.value.exit_code == 74  # (the command line's: the machine refused it, not bad input)
    monkeypatch.setattr(runs, "write_atomically", real)  # room again: the same command, no --overwrite
    assert train(tone_dataset, tmp_path / "run", model_config=SMALL_MODEL,
                 train_config=TrainConfig(epochs=1, **SMALL_TRAINING), verbose=0)["epochs"] == 1


def test_a_keras_file_that_is_not_ours_is_one_short_line(tmp_path, capsys):
    import zipfile

    import keras

    plain = tmp_path / "plain.keras"
    keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense_with_a_long_name" * 5)]).save(plain)
    # A model of some other project: a class Keras cannot find, and its whole config in Keras' message.
    other = tmp_path / "other.keras"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(other, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "config.json":
                data = data.replace(b'"class_name": "Dense"', b'"class_name": "SomeoneElsesLayer"')
            target.writestr(item, data)
    for path, said in ((plain, "not an audiornn model"), (other, "not an audiornn .keras model")):
        assert main(["generate", "--model", str(path), "--output", str(tmp_path / "x.wav"), "--quiet"]) == 2
        error = one_line(capsys)
        assert len(error) < 400 and said in error, error


HOLDER = textwrap.dedent("""
    import sys, time
    from audiornn.runs import hold_run
    with hold_run(sys.argv[1]):
        print("held", flush=True)
        time.sleep(60)
""")


@pytest.mark.slow
def test_a_held_run_folder_is_refused_before_a_dataset_is_built_in_it(finished_run, capsys):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(finished_run)], stdout=subprocess.PIPE, text=True,
                              cwd=REPOSITORY)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main(["train", str(REPOSITORY / "data"), "--output", str(finished_run), "--overwrite", "--epochs", "1",
                     "--quiet"]) == 2
        assert f"in use by process {holder.pid}" in one_line(capsys)
        assert not (finished_run / "dataset").exists()
    finally:
        holder.kill()
        holder.wait(timeout=30)


@pytest.mark.slow
def test_a_run_folder_is_held_by_one_process(tone_dataset, tmp_path):
    run = tmp_path / "run"
    train(tone_dataset, run, model_config=SMALL_MODEL, train_config=TrainConfig(epochs=1, **SMALL_TRAINING), verbose=0)
    def files():
        return {entry.name: entry.stat().st_mtime_ns for entry in run.iterdir() if entry.name != ".lock"}

    before = files()
    with hold_run(run):
        for attempt in (lambda: train(resume=run, overrides={"epochs": 2}, verbose=0),
                        lambda: train(tone_dataset, run, model_config=SMALL_MODEL, train_config=TrainConfig(epochs=1, **SMALL_TRAINING),
                                      overwrite=True, verbose=0),
                        # a second run started into it: in use, not "already holds a run" (or "completed no epoch")
                        lambda: train(tone_dataset, run, model_config=SMALL_MODEL,
                                      train_config=TrainConfig(epochs=1, **SMALL_TRAINING), verbose=0)):
            with pytest.raises(FolderInUse, match=f"in use by process {os.getpid()}"):
                attempt()
    assert files() == before
    # Released with the holder: the next command goes ahead.
    assert train(resume=run, overrides={"epochs": 2}, verbose=0)["epochs"] == 2


KILLER = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    target, occurrence = sys.argv[3], int(sys.argv[4])
    real, seen = os.replace, []

    def replace(source, destination, *args, **kwargs):
        if Path(destination).name == target:
            seen.append(destination)
            if len(seen) == occurrence:
                os._exit(9)  # as a SIGKILL would: no clean-up, the temporary file stays
        return real(source, destination, *args, **kwargs)

    os.replace = replace
    from audiornn.model import ModelConfig
    from audiornn.training import TrainConfig, train
    train(sys.argv[1], sys.argv[2], model_config=ModelConfig(units=8, embedding_dim=4, lags=2, dense_units=8),
          train_config=TrainConfig(epochs=3, steps_per_epoch=3, batch_size=4, sequence_length=16, warmup_steps=1,
                                   learning_rate=1e-3), verbose=0)
""")


@pytest.mark.slow
@pytest.mark.parametrize("target, occurrence, committed", [
    (".epoch-0002.last.keras", 1, 1),  # killed while epoch 2's model is written: epoch 2 never happened
    ("state.json", 2, 1),  # killed while epoch 2's state, the commit point, is written: not committed
    ("last.keras", 2, 2),  # killed after epoch 2's commit, while moving its files into place: finished on resume
])
def test_killed_at_a_write_the_run_resumes_from_its_last_whole_epoch(tone_dataset, tmp_path, target,
                                                                     occurrence, committed):
    run = tmp_path / "run"
    result = subprocess.run([sys.executable, "-c", KILLER, str(tone_dataset.path), str(run), target, str(occurrence)],
                            capture_output=True, text=True, timeout=300, cwd=REPOSITORY)
    assert result.returncode == 9, result.stderr[-2000:]
    assert json.loads((run / "state.json").read_text())["epochs_completed"] == committed
    summary = train(resume=run, verbose=0)
    assert summary["epochs"] == 3
    rows = [line.split(",")[0] for line in (run / "history.csv").read_text().splitlines()[1:]]
    assert rows == ["1", "2", "3"]
    state = json.loads((run / "state.json").read_text())
    from audiornn.runs import load_run_model

    last = load_run_model(run / "last.keras", compile=True)
    assert int(last.optimizer.iterations.numpy()) == state["optimizer_steps"] == 9  # 3 epochs of 3 steps, no more
    assert hidden(run) == []  # no pending or partial file left behind


@pytest.mark.slow
def test_resume_on_another_dataset_is_refused(tone_dataset, sine_dataset, tmp_path):
    run = tmp_path / "run"
    train(tone_dataset, run, model_config=SMALL_MODEL, train_config=TrainConfig(epochs=1, **SMALL_TRAINING), verbose=0)
    with pytest.raises(RunError, match="is not the dataset run .* was trained on"):
        train(resume=run, dataset=sine_dataset, overrides={"epochs": 2}, verbose=0)
    # Its own dataset, named explicitly, is fine.
    assert train(resume=run, dataset=tone_dataset.path, overrides={"epochs": 2}, verbose=0)["epochs"] == 2


def test_a_damaged_last_model_is_named_as_damaged_on_resume(tone_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    train(tone_dataset, run, model_config=SMALL_MODEL, train_config=TrainConfig(epochs=1, **SMALL_TRAINING), verbose=0)
    data = (run / "last.keras").read_bytes()
    (run / "last.keras").write_bytes(data[:len(data) // 2])
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "last.keras': the file is damaged" in error and "--overwrite" in error
    assert len(error.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_run_whose_json_was_broken_by_hand_says_how_to_mend_it_and_can_be_started_over(finished_run, tone_dataset,
                                                                                         capsys):
    (finished_run / "notes.txt").write_text("mine")
    good = (finished_run / "config.json").read_text()
    (finished_run / "config.json").write_text(good[:-5])  # a hand edit gone wrong
    for arguments, start in ((["--resume", str(finished_run)], f"--resume '{finished_run}' holds a run whose "),
                             (["--dataset", str(tone_dataset.path), "--output", str(finished_run)],
                              f"--output folder '{finished_run}' holds a run whose ")):
        assert main(["train", *arguments, "--epochs", "2", "--quiet"]) == 2
        error = one_line(capsys)
        assert f"{start}config.json cannot be read (" in error
        assert "mend config.json by hand (it is JSON), or train it again with --overwrite" in error
        assert f"--model '{finished_run / 'model.keras'}'" in error
    assert main(["generate", "--model", str(finished_run / "model.keras"), "--seconds", "0.05", "--output",
                 str(finished_run.parent / "g.wav"), "--quiet"]) == 0
    (finished_run / "config.json").write_text(good)
    (finished_run / "state.json").write_text("{")
    assert main(["generate", "--model", str(finished_run), "--seconds", "0.05", "--output",
                 str(finished_run.parent / "h.wav"), "--quiet"]) == 2
    assert "state.json' (" in (error := one_line(capsys)) and "mend state.json by hand" in error
    (finished_run / "config.json").write_text(good[:-5])
    assert main(["train", "--dataset", str(tone_dataset.path), "--output", str(finished_run), "--epochs", "1",
                 "--units", "16", "--steps-per-epoch", "5", "--batch-size", "4", "--overwrite", "--quiet"]) == 0
    assert is_run(finished_run) and (finished_run / "notes.txt").read_text() == "mine"


def test_another_programs_folder_with_a_broken_config_is_never_taken_for_a_damaged_run(tone_dataset, tmp_path,
                                                                                      capsys):
    project = tmp_path / "project"
    project.mkdir()
    files = {"config.json": '{"lr": 0.001, // tuned\n}', "history.csv": "epoch,loss\n", "model.keras": "x",
             "train.py": "print()"}
    for name, text in files.items():
        (project / name).write_text(text)
    for arguments in (["--resume", str(project)], ["--dataset", str(tone_dataset.path), "--output", str(project),
                                                   "--overwrite"]):
        assert main(["train", *arguments, "--epochs", "1", "--quiet"]) == 2
        error = one_line(capsys)
        assert "holds no audiornn run" in error and "cannot be read" not in error
    assert {path.name: path.read_text() for path in project.iterdir() if path.name != ".lock"} == files


@pytest.mark.slow
def test_a_refused_resume_changes_nothing_in_the_run(finished_run, sine_dataset, capsys):
    config = (finished_run / "config.json").read_text()
    assert main(["train", "--resume", str(finished_run), "--dataset", str(sine_dataset.path), "--epochs", "3",
                 "--quiet"]) == 2
    assert "is not the dataset run" in capsys.readouterr().err
    assert (finished_run / "config.json").read_text() == config  # not even the new --epochs
    with pytest.raises(ParameterError, match="a resumed run keeps its configs: give what changes as overrides"):
        train(resume=finished_run, train_config=TrainConfig(epochs=2), verbose=0)


@pytest.mark.slow
def test_a_run_that_lost_its_best_model_points_at_its_last(finished_run):
    from audiornn.errors import ModelFileError

    (finished_run / "model.keras").unlink()
    with pytest.raises(ModelFileError, match=r"run '.*' has lost its best model \('model.keras' is missing\) but "
                                             r"keeps its last epoch's: give '.*last.keras' for that one"):
        runs.load_run_model(finished_run)
    assert runs.load_run_model(finished_run / "last.keras").audio_config is not None


@pytest.mark.slow
def test_a_run_whose_dataset_was_moved_is_told_to_name_where_and_keeps_it(tone_dataset, tmp_path):
    import shutil

    dataset = tmp_path / "dataset"
    shutil.copytree(tone_dataset.path, dataset)
    run = tmp_path / "run"
    train(dataset, run, model_config=SMALL_MODEL, train_config=TrainConfig(epochs=1, **SMALL_TRAINING), verbose=0)
    dataset.rename(tmp_path / "moved")
    with pytest.raises(RunError, match=r"the dataset run '.*run' was trained on, '.*dataset', is not there \(moved or "
                                       r"deleted\): give where it is now \(--resume .*run --dataset DIR"):
        train(resume=run, overrides={"epochs": 2}, verbose=0)
    assert train(resume=run, dataset=tmp_path / "moved", overrides={"epochs": 2}, verbose=0)["epochs"] == 2
    assert json.loads((run / "config.json").read_text())["dataset"] == str((tmp_path / "moved").resolve())
    assert train(resume=run, overrides={"epochs": 3}, verbose=0)["epochs"] == 3  # no --dataset needed again
    # A run saved before datasets had fingerprints is told to put its dataset back: only its path says which it is
    config = json.loads((run / "config.json").read_text())
    del config["dataset_fingerprint"]
    (run / "config.json").write_text(json.dumps(config))
    (tmp_path / "moved").rename(tmp_path / "again")
    with pytest.raises(RunError, match=r"is not there \(moved or deleted\): put it \(or a link to it\) back there"):
        train(resume=run, overrides={"epochs": 4}, verbose=0)


@pytest.mark.slow
def test_a_damaged_history_is_named_as_damaged(finished_run, caplog):
    history = finished_run / "history.csv"
    text = history.read_text()
    history.write_text("")  # emptied, while state.json says an epoch was saved
    with pytest.raises(RunError, match=r"history.csv' holds no epochs, but the run completed 1: the file is damaged"):
        runs.read_history(finished_run)
    header, row = text.splitlines()[:2]
    history.write_text(header[:20] + "\n" + row + "\n")  # its header cut short
    with pytest.raises(RunError, match="has rows longer than its header: the file is damaged"):
        runs.read_history(finished_run)
    history.write_text(text + row[:5] + "\n")  # a last row cut short
    with caplog.at_level("WARNING", logger="audiornn"):
        assert list(runs.read_history(finished_run)["epoch"]) == [1.0]
    assert "the last row of" in caplog.text and "is cut short" in caplog.text


@pytest.mark.slow  # over 3 s on 2 cores
def test_a_run_that_lost_its_state_or_history_rows_is_told_so_on_resume(tone_dataset, tmp_path, caplog):
    run = tmp_path / "run"
    train(tone_dataset, run, model_config=SMALL_MODEL, train_config=TrainConfig(epochs=2, **SMALL_TRAINING), verbose=0)
    lines = (run / "history.csv").read_text().splitlines()
    (run / "history.csv").write_text("\n".join(lines[:2]) + "\n")  # the header and epoch 1: epoch 2 cut off
    with caplog.at_level("WARNING", logger="audiornn"):
        assert train(resume=run, overrides={"epochs": 3}, verbose=0)["epochs"] == 3
    assert re.search(r"history.csv' has no row for 1 of the 2 epochs done \(2; cut or edited", caplog.text)
    (run / "state.json").unlink()
    with pytest.raises(RunError, match=r"has lost its state.json .* its model.keras and last.keras are intact: train "
                                       r"on from it in a new run \(train --init-from .*model.keras --output NEW"):
        train(resume=run, overrides={"epochs": 4}, verbose=0)
    assert (run / "model.keras").is_file() and (run / "last.keras").is_file()


@pytest.mark.slow  # over 3 s on 2 cores
def test_a_run_moved_with_the_dataset_it_built_inside_it_finds_it_there(tmp_path):
    import shutil

    from audiornn.cli import SAMPLE_DATA
    from audiornn.commands import train_command

    train_command([SAMPLE_DATA / "agent-user.wav", SAMPLE_DATA / "vm-forward.wav"], output=tmp_path / "run",
                  progress=False, verbose=0, model_options={"units": 8, "dense_units": 8},
                  train_options={**SMALL_TRAINING, "epochs": 1})
    moved = tmp_path / "elsewhere" / "run"
    moved.parent.mkdir()
    shutil.move(tmp_path / "run", moved)
    # its dataset is found inside it, where the recorded path is gone: baselines, --sound and resumes work
    dataset, why_not = runs.usable_run_dataset(moved)
    assert why_not is None and Path(dataset.path).resolve() == (moved / "dataset").resolve()
    assert main(["train", "--resume", str(moved), "--epochs", "2", "--quiet"]) == 0
    config = json.loads((moved / "config.json").read_text())
    assert config["dataset"] == str((moved / "dataset").resolve())  # kept for later resumes
    # a dataset recorded elsewhere and gone is still said to be gone, not taken from a folder named alike
    config["dataset"] = str(tmp_path / "gone" / "speech")
    (moved / "config.json").write_text(json.dumps(config))
    assert runs.usable_run_dataset(moved)[0] is None
    assert "is not there (moved or removed)" in runs.usable_run_dataset(moved)[1]


def _as_if_built_on(dataset_folder, created):
    """A dataset's metadata.json as an audiornn before builder revisions were recorded wrote it, on ``created``."""
    path = Path(dataset_folder) / "metadata.json"
    metadata = json.loads(path.read_text())
    del metadata["builder"]
    metadata["created"] = created
    path.write_text(json.dumps(metadata))


OLD_DAY = "2026-12-04T10:00:00+0000"  # before each file was taken less its mean and near-copies were left out


@pytest.mark.slow  # over 3 s on 2 cores
def test_a_resume_refuses_the_same_recipe_built_again_by_a_newer_builder(tone_dataset, tmp_path, caplog):
    import shutil

    from audiornn.dataset import BUILDER

    dataset = tmp_path / "dataset"
    shutil.copytree(tone_dataset.path, dataset)
    _as_if_built_on(dataset, OLD_DAY)
    run = tmp_path / "run"
    train(dataset, run, model_config=SMALL_MODEL, train_config=TrainConfig(epochs=1, **SMALL_TRAINING), verbose=0)
    # A new run on such a dataset says what today's builder does otherwise, and goes on with it
    assert "was built (2026-12-04) by an older audiornn; today's takes each file less its mean" in caplog.text
    assert "for new runs, build it again into another folder" in caplog.text
    assert json.loads((run / "config.json").read_text())["dataset_builder"] == 1
    # A run saved before it recorded its dataset's builder records it at its first resume, from the dataset there
    config = json.loads((run / "config.json").read_text())
    del config["dataset_builder"]
    (run / "config.json").write_text(json.dumps(config))
    assert runs.run_dataset_builder(config) is None and runs.same_dataset(tone_dataset, config)  # not known
    assert train(resume=run, overrides={"epochs": 2}, verbose=0)["epochs"] == 2  # its own dataset: goes on
    assert json.loads((run / "config.json").read_text())["dataset_builder"] == 1
    # The same files and settings built again there by today's builder: not the audio the run trained on
    shutil.rmtree(dataset)
    shutil.copytree(tone_dataset.path, dataset)
    with pytest.raises(RunError, match=r"was built again from the same audio and settings since, by another "
                                       rf"audiornn \(builder revision {BUILDER}; the run's dataset was of 1\), which "
                                       r"takes each file less its mean .* near-copies"):
        train(resume=run, overrides={"epochs": 3}, verbose=0)
    dataset_now, why = runs.usable_run_dataset(run)
    assert dataset_now is None and f"by another audiornn (builder revision {BUILDER}" in why


def test_a_ctrl_c_while_keras_loads_a_model_stops_once_it_is_loaded(monkeypatch, tmp_path, capsys):
    import signal

    import keras
    from conftest import REPOSITORY

    real, finished = keras.models.load_model, []

    def load(*args, **kwargs):  # Keras' loading catches every exception while it builds a model, an interrupt's too
        try:
            os.kill(os.getpid(), signal.SIGINT)
            sum(range(10_000))  # (the handler runs between two instructions)
        except BaseException:
            pass
        finished.append(True)
        return real(*args, **kwargs)

    monkeypatch.setattr(keras.models, "load_model", load)
    with pytest.raises(KeyboardInterrupt):
        runs.load_run_model(REPOSITORY / "audiornn" / "models" / "speech.keras")
    assert finished == [True]  # the load went to its end; the interrupt came after it
    assert main(["generate", "--model", "speech", "--seconds", "0.1", "--output", str(tmp_path / "g.wav")]) == 130
    assert "interrupted" in capsys.readouterr().err and not list(tmp_path.iterdir())
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # (restored)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt ignored stays ignored
    try:
        assert runs.load_run_model(REPOSITORY / "audiornn" / "models" / "speech.keras") is not None
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)

    def broken(*args, **kwargs):  # an interrupt held while the load fails is not lost under its error
        os.kill(os.getpid(), signal.SIGINT)
        sum(range(10_000))
        raise ValueError("not a model")

    monkeypatch.setattr(keras.models, "load_model", broken)
    with pytest.raises(KeyboardInterrupt):
        runs.load_run_model(REPOSITORY / "audiornn" / "models" / "speech.keras")


@pytest.mark.slow
def test_an_interrupt_while_the_first_epoch_compiles_ends_with_its_own_exit_code(sine_dataset, tmp_path):
    """On JAX, SIGTERM (or Ctrl-C) while the first epoch compiled crashed Python's shutdown after the command had
    said it was interrupted: exit 139 (a segmentation fault) in 3 of 3 tries where 143 is meant."""
    import queue
    import signal
    import threading
    import time

    # (the suite's shared cache of JAX's programs left out, and audiornn's own: the signal must come while the first
    # step compiles)
    environment = {key: value for key, value in os.environ.items() if key != "JAX_COMPILATION_CACHE_DIR"}
    environment["AUDIORNN_COMPILE_CACHE"] = "0"
    for attempt in range(2):
        process = subprocess.Popen([sys.executable, str(REPOSITORY / "AudioRNN.py"), "train", "--dataset",
                                    str(sine_dataset.path), "--output", str(tmp_path / f"run{attempt}"),
                                    "--steps-per-epoch", "10", "--epochs", "2"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                                   env=environment)
        lines, said = queue.Queue(), []
        reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True)
        reader.start()
        try:
            while not said or not said[-1].startswith("training "):
                said.append(lines.get(timeout=120))  # (queue.Empty: the command went silent before training)
            time.sleep(1.5)  # (compiling its first step)
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
            reader.join(timeout=30)
        finally:
            process.kill()
            process.wait(timeout=30)
        error = "".join(said) + "".join(iter(lambda: lines.get_nowait() if not lines.empty() else None, None))
        assert process.returncode == 143, error[-3000:]
        assert "interrupted before the first epoch was completed" in error and "Fatal Python error" not in error
