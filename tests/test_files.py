"""Files the project writes: whole or absent, and readable as an ordinary open() would make them."""

import os
import stat
from pathlib import Path

import numpy as np
import pytest
from audiornn import build_dataset
from audiornn.cli import main
from audiornn.evaluation import plot_history, save_figure
from audiornn.files import atomic_path, write_json
from audiornn.generation import generate
from audiornn.model import ModelConfig
from audiornn.training import TrainConfig, train

from conftest import sine


@pytest.fixture
def umask():
    """Set the process's umask for one test, and restore it."""
    previous = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


def _modes(folder):
    return {str(path.relative_to(folder)): stat.S_IMODE(path.stat().st_mode)
            for path in folder.rglob("*") if path.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600)])
def test_every_written_file_gets_the_mode_of_the_users_umask(umask, tmp_path, write_audio, mask, expected):
    umask(mask)
    write_audio("audio/tone.wav", sine(300, 1.5, 8000) + 0.01 * np.random.default_rng(0).standard_normal(12000))
    dataset = build_dataset([tmp_path / "audio"], tmp_path / "dataset", validation_fraction=0.3, progress=False)
    summary = train(dataset, tmp_path / "run", model_config=ModelConfig(units=8, embedding_dim=4, lags=2, dense_units=8),
                    train_config=TrainConfig(epochs=1, steps_per_epoch=2, batch_size=4, sequence_length=16,
                                             warmup_steps=1), verbose=0)
    from audiornn.runs import load_run_model

    generate(load_run_model(summary["model"]), seconds=0.01, output=tmp_path / "out.wav", progress=False)
    save_figure(plot_history(tmp_path / "run"), tmp_path / "curves.png")
    write_json(tmp_path / "score.json", {"bits": 1.0})
    modes = _modes(tmp_path)
    written = {name: mode for name, mode in modes.items() if not name.startswith("audio/")}
    assert {"dataset/metadata.json", "dataset/train.u8", "run/config.json", "run/model.keras", "run/last.keras",
            "run/history.csv", "run/state.json", "run/summary.json", "out.wav", "curves.png",
            "score.json"} <= set(written)
    assert {name: mode for name, mode in written.items() if mode != expected} == {}


def test_a_write_that_fails_is_one_line_naming_the_path(tone_dataset, tmp_path, monkeypatch, capsys):
    from audiornn import training

    def read_only(path, value):
        raise OSError(30, "Read-only file system", str(path))

    monkeypatch.setattr(training, "write_json", read_only)
    code = main(["train", "--dataset", str(tone_dataset.path), "--output", str(tmp_path / "run"), "--epochs", "1",
                 "--quiet"])
    assert code == 74  # (the machine refused a write: EX_IOERR, not bad input's 2)
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "Read-only file system" in error and str(tmp_path / "run") in error
    assert "free room there, or make it writable, and run the command again" in error


def test_atomic_writes_remove_partials_of_dead_writers_only(tmp_path):
    dead = tmp_path / ".out.partial-999999999-abc.wav"
    alive = tmp_path / f".out.partial-{os.getppid()}-def.wav"  # our parent is alive: maybe still writing
    dead.write_bytes(b"x")
    alive.write_bytes(b"y")
    with atomic_path(tmp_path / "out.wav") as temporary:
        Path(temporary).write_bytes(b"whole")
    assert sorted(entry.name for entry in tmp_path.iterdir()) == [alive.name, "out.wav"]


STUCK = """
import signal, sys, time
from pathlib import Path
import audiornn.cli as cli
from audiornn.files import unfinished

cli.INTERRUPT_GRACE = 0.5
signal.signal(signal.SIGINT, lambda *args: None)  # the main thread never stops by itself (as in a long C call)
folder = Path(sys.argv[1])
folder.mkdir()
(folder / "pool.u8").write_bytes(b"half")
with cli._interrupts_end_at_once("probe"), unfinished(folder):
    print("writing", flush=True)
    while True:
        time.sleep(0.05)
"""


def test_a_command_stopped_at_once_removes_what_it_was_half_writing(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    folder = tmp_path / ".ds.partial-1-build"
    process = subprocess.Popen([sys.executable, "-c", STUCK, str(folder)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "writing"
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130 and not folder.exists()
    assert "stopped at once (it did not stop by itself within 0.5 s); every file written is whole; what was half " \
           "written is removed" in stderr


def test_names_as_long_as_a_file_system_takes_are_written_and_built(tmp_path):
    from audiornn.cli import SAMPLE_DATA
    from audiornn.files import partial_prefix, write_atomically

    for name in ("L" * 250 + ".wav", "é" * 122 + ".json"):  # 254 and 249 bytes: a name a file system takes
        path = write_atomically(tmp_path / name, lambda temporary: Path(temporary).write_text("x"))
        assert path.read_text() == "x" and os.listdir(tmp_path) == [name]
        path.unlink()
    # two long names that differ only at their ends get temporary names apart
    assert partial_prefix("L" * 300 + "a") != partial_prefix("L" * 300 + "b")
    assert len(os.fsencode(partial_prefix("é" * 200))) < 210
    dataset = build_dataset([SAMPLE_DATA / "agent-user.wav"], tmp_path / ("D" * 250), progress=False)
    assert dataset.samples("train") > 0 and [entry.name for entry in tmp_path.iterdir()] == ["D" * 250]


def test_a_write_that_fails_names_the_file_it_was_for(tmp_path):
    import errno

    from audiornn.files import write_atomically

    def full(temporary):
        Path(temporary).write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")  # as a writer deep in a library raises it

    with pytest.raises(OSError) as raised:
        write_atomically(tmp_path / "curves.png", full)
    assert raised.value.filename == str(tmp_path / "curves.png") and list(tmp_path.iterdir()) == []


def test_a_file_that_cannot_be_replaced_is_named_not_the_temporary_one(tmp_path, monkeypatch):
    import errno

    from audiornn.files import write_atomically

    def refused(source, target):
        raise PermissionError(errno.EPERM, "Operation not permitted", source, target)

    monkeypatch.setattr(os, "replace", refused)  # as for an immutable file, or another user's in a sticky /tmp
    with pytest.raises(OSError, match=r"Operation not permitted \(it cannot be replaced\)") as raised:
        write_atomically(tmp_path / "take.wav", lambda temporary: Path(temporary).write_bytes(b"audio"))
    assert raised.value.filename == str(tmp_path / "take.wav") and list(tmp_path.iterdir()) == []


def test_an_old_folder_put_aside_is_kept_until_its_place_is_taken(tmp_path):
    import subprocess
    import sys

    from audiornn.files import remove_stale_partials, retired_folders

    pid = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                             text=True).stdout)  # a process that has ended
    retired = tmp_path / f".data.partial-{pid}-old"
    retired.mkdir()
    (tmp_path / f".other.partial-{pid}-tmp").write_text("half")
    assert remove_stale_partials(tmp_path) == [tmp_path / f".other.partial-{pid}-tmp"]  # (another command's cleanup)
    assert retired.is_dir() and retired_folders(tmp_path / "data") == [retired]
    (tmp_path / "data").mkdir()  # its place taken (the build finished): the old one is only a leftover now
    assert remove_stale_partials(tmp_path) == [retired] and not retired.exists()


def test_folders_made_for_a_failed_command_are_taken_back_but_not_one_another_holds(tmp_path, monkeypatch):
    import subprocess
    import sys

    from audiornn.files import LOCK, hold_folder, missing_folders, take_back_folders

    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()  # a folder of the user's, empty: 'new/../runs' makes new, not runs
    assert missing_folders("new/../runs/x") == [tmp_path / "runs" / "x"]
    made = missing_folders("a/b/run")
    assert made == [tmp_path / "a" / "b" / "run", tmp_path / "a" / "b", tmp_path / "a"]
    with hold_folder(_made(tmp_path / "a" / "b" / "run"), what="run folder"):
        pass
    take_back_folders(made)  # its own released lock taken away with the folders
    assert not (tmp_path / "a").exists()
    # another process made the same folder its own meanwhile: its folder and lock stay
    made = missing_folders("c/run")
    _made(tmp_path / "c" / "run")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom audiornn.files import hold_folder\n"
        f"with hold_folder({str(tmp_path / 'c' / 'run')!r}, what='run folder'):\n"
        "    print('held', flush=True)\n    time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        take_back_folders(made)
        assert (tmp_path / "c" / "run" / LOCK).exists()
    finally:
        holder.kill()
        holder.wait()


def _made(folder):
    folder.mkdir(parents=True)
    return folder
