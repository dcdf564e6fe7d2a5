"""Nothing lost, ever: folders that are not ours, two commands at once, kills at every write, bad luck."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from audiornn.cli import main
from audiornn.errors import ParameterError, RunError
from audiornn.files import FolderInUse, atomic_path
from audiornn.model import ModelConfig
from audiornn.runs import hold_run
from audiornn.training import TrainConfig, train

REPOSITORY = Path(__file__).resolve().parent.parent
TINY = ModelConfig(units=8, embedding_dim=4, lags=2, dense_units=8)
QUICK = dict(steps_per_epoch=3, batch_size=4, sequence_length=16, warmup_steps=1)


def hidden(folder):
    return sorted(entry.name for entry in Path(folder).iterdir() if entry.name.startswith(".") and entry.name != ".lock")


# -- 1, 2: folders that are not ours -------------------------------------------------------------


def test_dataset_overwrite_never_replaces_a_folder_that_is_not_ours(tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    (other / "metadata.json").write_text('{"project": "mine"}')
    (other / "results.csv").write_text("precious")
    assert main(["data", str(REPOSITORY / "data"), "--output", str(other), "--overwrite", "--quiet"]) == 2
    assert "not an audiornn dataset's" in capsys.readouterr().err
    assert (other / "results.csv").read_text() == "precious"
    # A real dataset that also holds the user's own file: --overwrite would delete it, so it is refused.
    ours = tmp_path / "ours"
    assert main(["data", str(REPOSITORY / "data"), "--output", str(ours), "--quiet"]) == 0
    (ours / "notes.txt").write_text("mine")
    assert main(["data", str(REPOSITORY / "data"), "--output", str(ours), "--overwrite", "--preemphasis", "0.9",
                 "--quiet"]) == 2
    assert "notes.txt, which are not part of it" in capsys.readouterr().err
    assert (ours / "notes.txt").read_text() == "mine"


def test_the_demo_writes_only_into_its_own_folder(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "score.json").write_text('{"mine": true}')
    assert main(["demo", "--output", str(folder), "--quiet"]) == 2
    assert "holds no audiornn demo" in capsys.readouterr().err
    assert json.loads((folder / "score.json").read_text()) == {"mine": True}
    assert sorted(entry.name for entry in folder.iterdir()) == ["score.json"]


# -- 3: one process at a time ---------------------------------------------------------------------


def test_a_run_folder_is_held_by_one_process(tone_dataset, tmp_path):
    run = tmp_path / "run"
    train(tone_dataset, run, model_config=TINY, train_config=TrainConfig(epochs=1, **QUICK), verbose=0)
    def files():
        return {entry.name: entry.stat().st_mtime_ns for entry in run.iterdir() if entry.name != ".lock"}

    before = files()
    with hold_run(run):
        for attempt in (lambda: train(resume=run, overrides={"epochs": 2}, verbose=0),
                        lambda: train(tone_dataset, run, model_config=TINY, train_config=TrainConfig(epochs=1, **QUICK),
                                      overwrite=True, verbose=0)):
            with pytest.raises(FolderInUse, match=f"in use by process {os.getpid()}"):
                attempt()
    assert files() == before
    # Released with the holder: the next command goes ahead.
    assert train(resume=run, overrides={"epochs": 2}, verbose=0)["epochs"] == 2


# -- 4: a kill at any write leaves a run that resumes exactly -------------------------------------

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


# -- 5: the run's own dataset ---------------------------------------------------------------------


def test_resume_on_another_dataset_is_refused(tone_dataset, sine_dataset, tmp_path):
    run = tmp_path / "run"
    train(tone_dataset, run, model_config=TINY, train_config=TrainConfig(epochs=1, **QUICK), verbose=0)
    with pytest.raises(RunError, match="is not the dataset run .* was trained on"):
        train(resume=run, dataset=sine_dataset, overrides={"epochs": 2}, verbose=0)
    # Its own dataset, named explicitly, is fine.
    assert train(resume=run, dataset=tone_dataset.path, overrides={"epochs": 2}, verbose=0)["epochs"] == 2


# -- 6: generation that would not fit -------------------------------------------------------------


def test_generation_checks_the_disk_and_writes_rf64_past_the_wav_limit(tmp_path, monkeypatch):
    import shutil

    from audiornn import generation, sink
    from audiornn.model import build_model

    model = build_model(TINY)
    with pytest.raises(ParameterError, match=r"would take 16.0 TB but .* [kMGT]B free"):
        generation.generate(model, seconds=1e9, output=tmp_path / "huge.wav", progress=False)
    assert list(tmp_path.iterdir()) == []
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(sink.shutil, "disk_usage", lambda path: usage._replace(free=10 ** 13))
    paths = [tmp_path / "a.wav"]
    assert sink.check_room(paths[0], 1, 2 ** 31 + 100, 8000) == "RF64"
    assert sink.check_room(paths[0], 1, 2 ** 31 - 100, 8000) == "WAV"


# -- 7: damaged files -----------------------------------------------------------------------------


def test_a_damaged_last_model_is_named_as_damaged_on_resume(tone_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    train(tone_dataset, run, model_config=TINY, train_config=TrainConfig(epochs=1, **QUICK), verbose=0)
    data = (run / "last.keras").read_bytes()
    (run / "last.keras").write_bytes(data[:len(data) // 2])
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "last.keras': the file is damaged" in error and "--overwrite" in error
    assert len(error.strip().splitlines()) == 1


# -- 8: writes that fail --------------------------------------------------------------------------


def test_a_write_that_fails_is_one_line_naming_the_path(tone_dataset, tmp_path, monkeypatch, capsys):
    from audiornn import training

    def read_only(path, value):
        raise OSError(30, "Read-only file system", str(path))

    monkeypatch.setattr(training, "write_json", read_only)
    code = main(["train", "--dataset", str(tone_dataset.path), "--output", str(tmp_path / "run"), "--epochs", "1",
                 "--quiet"])
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "Read-only file system" in error and str(tmp_path / "run") in error


# -- 9: litter ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_sigterm_during_generation_leaves_nothing_and_stale_partials_are_removed(sine_run, tmp_path):
    folder, _ = sine_run
    stale = tmp_path / ".old.partial-999999999-x1y2.wav"  # a writer that was killed long ago (no such process)
    stale.write_bytes(b"half")
    process = subprocess.Popen([sys.executable, str(REPOSITORY / "AudioRNN.py"), "generate", "--model", str(folder),
                                "--seconds", "600", "--output", str(tmp_path / "long.wav"), "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not [entry for entry in tmp_path.iterdir() if ".long.partial-" in entry.name]:
            assert time.monotonic() < deadline and process.poll() is None, "generation never started writing"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _, error = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait(timeout=30)
    assert process.returncode == 130 and "interrupted" in error
    assert sorted(entry.name for entry in tmp_path.iterdir()) == []  # no partial; the stale one was removed too


def test_atomic_writes_remove_partials_of_dead_writers_only(tmp_path):
    dead = tmp_path / ".out.partial-999999999-abc.wav"
    alive = tmp_path / f".out.partial-{os.getppid()}-def.wav"  # our parent is alive: maybe still writing
    dead.write_bytes(b"x")
    alive.write_bytes(b"y")
    with atomic_path(tmp_path / "out.wav") as temporary:
        Path(temporary).write_bytes(b"whole")
    assert sorted(entry.name for entry in tmp_path.iterdir()) == [alive.name, "out.wav"]


# -- 10: messages ---------------------------------------------------------------------------------


def test_messages_name_what_the_user_typed(sine_run, tmp_path, write_audio, capsys, caplog):
    folder, _ = sine_run
    assert main(["generate", "--model", str(folder), "--prime", str(tmp_path / "missing.wav"), "--output",
                 str(tmp_path / "x.wav"), "--quiet"]) == 2
    assert "missing.wav' does not exist" in capsys.readouterr().err
    assert main(["data", str(REPOSITORY / "data"), "--output", str(tmp_path / "ds"), "--validation-fraction", "0.9",
                 "--quiet"]) == 2
    assert "--validation-fraction must be a number from 0 to 0.5" in capsys.readouterr().err
    tiny = write_audio("tiny/ten.wav", np.linspace(-0.5, 0.5, 10).astype(np.float32))
    assert main(["data", str(tiny.parent), "--output", str(tmp_path / "tiny_ds")]) == 0
    assert "shorter than one training window" in caplog.text
