"""What a hostile probe of the second wave found (issue 29): one test per defect, each failing before its fix."""

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from audiornn import AudioConfig, build_dataset, open_dataset, runs
from audiornn.cli import main
from audiornn.errors import DatasetError, ParameterError, RunError
from audiornn.model import ModelConfig
from audiornn.training import TrainConfig, train

REPOSITORY = Path(__file__).resolve().parent.parent
TINY = ModelConfig(units=8, embedding_dim=4, lags=2, dense_units=8)
QUICK = dict(steps_per_epoch=3, batch_size=4, sequence_length=16, warmup_steps=1)


@pytest.fixture
def finished_run(tone_dataset, tmp_path):
    run = tmp_path / "run"
    train(tone_dataset, run, model_config=TINY, train_config=TrainConfig(epochs=1, **QUICK), verbose=0)
    return run


def one_line(capsys):
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    return error


# -- 2: --overwrite removes a run's own files, and nothing else --------------------------------------


def test_overwrite_keeps_the_users_files_and_links_in_a_run_folder(tone_dataset, finished_run, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("theirs")
    (finished_run / "my_notes.txt").write_text("notes")
    (finished_run / "my_audio").mkdir()
    (finished_run / "my_audio" / "a.wav").write_bytes(b"RIFF")
    (finished_run / "link").symlink_to(elsewhere, target_is_directory=True)
    old_config = (finished_run / "config.json").read_text()
    train(tone_dataset, finished_run, model_config=TINY, train_config=TrainConfig(epochs=1, seed=5, **QUICK), overwrite=True,
          verbose=0)
    assert (finished_run / "my_notes.txt").read_text() == "notes"
    assert (finished_run / "my_audio" / "a.wav").read_bytes() == b"RIFF"
    assert (elsewhere / "keep.txt").read_text() == "theirs" and (finished_run / "link").is_symlink()
    assert (finished_run / "config.json").read_text() != old_config  # the new run's
    assert runs.read_summary(finished_run)["epochs"] == 1


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


# -- 3, 11: summary.json never disagrees with state.json; readers see the last committed epoch ------


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


def test_a_kill_during_the_final_summary_is_finished_by_the_next_resume(tone_dataset, tmp_path, monkeypatch):
    from audiornn import training

    real = training._summarise

    def killed(*arguments):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "_summarise", killed)
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(tone_dataset, run, model_config=TINY, train_config=TrainConfig(epochs=1, **QUICK), verbose=0)
    monkeypatch.setattr(training, "_summarise", real)
    assert runs.read_summary(run) is None
    summary = train(resume=run, verbose=0)  # no more training: the summary it lacked
    assert summary["epochs"] == 1 and summary["stop_reason"] == "1 epochs done"
    assert runs.read_summary(run)["validation"] == summary["validation"]
    with pytest.raises(RunError, match="already used its budget"):
        train(resume=run, verbose=0)


# -- 5: crafted or damaged metadata.json ------------------------------------------------------------


@pytest.mark.parametrize("start", [10 ** 12, -5, "12", 1.5])
def test_a_source_outside_its_array_is_refused_when_the_dataset_is_opened(tone_dataset, tmp_path, start):
    copy = Path(shutil.copytree(tone_dataset.path, tmp_path / "dataset"))
    metadata = json.loads((copy / "metadata.json").read_text())
    metadata["sources"][-1]["start"] = start
    (copy / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(DatasetError, match=r"metadata.json': \w+ source \d+ .* the metadata is damaged"):
        open_dataset(copy)
    with pytest.raises(DatasetError):
        train(copy, tmp_path / "run", model_config=TINY, train_config=TrainConfig(epochs=1, **QUICK), verbose=0)
    assert not (tmp_path / "run").exists()


def test_sources_that_overlap_or_overrun_are_refused(tone_dataset, tmp_path):
    copy = Path(shutil.copytree(tone_dataset.path, tmp_path / "dataset"))
    metadata = json.loads((copy / "metadata.json").read_text())
    metadata["sources"][0]["samples"] = 10 ** 9
    (copy / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(DatasetError, match="the metadata is damaged"):
        open_dataset(copy)


# -- 6, 7: generate --score-against ------------------------------------------------------------------


def test_score_against_a_short_reference_names_it_before_generating(finished_run, tmp_path, write_audio, capsys):
    short = write_audio("one.wav", np.full(1, 0.5, np.float32))
    output = tmp_path / "out.wav"
    assert main(["generate", "--model", str(finished_run), "--seconds", "1", "--output", str(output),
                 "--score-against", str(short), "--quiet"]) == 2
    error = one_line(capsys)
    assert f"--score-against '{short}' is too short" in error and "training audio" not in error
    assert not output.exists()


def test_generated_audio_too_short_to_score_is_kept_with_a_warning(finished_run, tmp_path, caplog, capsys):
    output = tmp_path / "out.wav"
    assert main(["generate", "--model", str(finished_run), "--seconds", "0.05", "--output", str(output),
                 "--score-against", str(REPOSITORY / "data" / "vm-forward.wav"), "--quiet"]) == 0
    assert output.is_file()
    assert "kept but not scored" in caplog.text and "too short" in caplog.text


# -- 8, 13: room on disk and in memory ---------------------------------------------------------------


def test_the_disk_room_message_shows_its_numbers(tmp_path, monkeypatch):
    from audiornn import sink

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(sink.shutil, "disk_usage", lambda path: usage._replace(free=30_000))
    with pytest.raises(ParameterError, match=r"would take 32.0 kB but .* has 30.0 kB free"):
        sink.check_room(tmp_path / "a.wav", 2, 8000, 8000)


def test_an_absurd_count_is_refused_before_anything_is_built(finished_run, tmp_path, capsys):
    output = tmp_path / "out"
    output.mkdir()
    assert main(["generate", "--model", str(finished_run), "--count", "100000000", "--seconds", "1",
                 "--output", str(output / "x.wav"), "--quiet"]) == 2
    assert "--count" in one_line(capsys)
    assert list(output.iterdir()) == []
    from audiornn import generation
    from audiornn.runs import load_run_model

    with pytest.raises(ParameterError, match="streams need about .* of memory"):
        generation.generate(load_run_model(finished_run), seconds=0.001, count=10 ** 9, progress=False)


# -- 9: out of room while saving epoch 1 -------------------------------------------------------------


def test_out_of_room_at_epoch_1_says_there_is_no_epoch_to_resume(tone_dataset, tmp_path, monkeypatch):
    real = runs.write_atomically

    def full(path, write):
        if Path(path).name.startswith(".epoch-0001."):
            raise OSError(28, "No space left on device")
        return real(path, write)

    monkeypatch.setattr(runs, "write_atomically", full)
    with pytest.raises(RunError, match="could not save epoch 1 .* no epoch was saved: .* --overwrite") as caught:
        train(tone_dataset, tmp_path / "run", model_config=TINY, train_config=TrainConfig(epochs=2, **QUICK), verbose=0)
    assert "previous epoch" not in str(caught.value) and "--resume" not in str(caught.value)


# -- 10, 14, 15: options refused, and messages in the user's words -------------------------------------


@pytest.mark.parametrize("extra, named", [
    (["--epochs", "0"], "--epochs 0"),
    (["--frame-units", "64"], "--frame-units sets the frame tier"),
    (["--no-linear-prediction", "--prediction-window", "64"], "--prediction-window sets the linear predictor"),
    (["--linear-prediction", "0", "--prediction-hop", "2"], "--prediction-hop sets the linear predictor"),
    (["--sample-rate", "16000", "--mu", "15"], "--sample-rate, --mu apply only when INPUT audio is given"),
    (["--preemphasis", "0"], "--preemphasis apply only when INPUT audio is given"),
    (["--no-linear-prediction", "--linear-prediction", "8"], "contradict each other"),
    (["--layers", "0"], "--layers (0), a feed-forward sample tier, needs a frame tier"),
])
def test_options_that_would_be_ignored_are_refused_naming_the_flag(tone_dataset, tmp_path, capsys, extra, named):
    run = tmp_path / "run"
    assert main(["train", "--dataset", str(tone_dataset.path), "--output", str(run), "--quiet", *extra]) == 2
    error = one_line(capsys)
    assert named in error, error
    assert not run.exists()


def test_a_resume_refuses_audio_flags_and_names_the_laplace_prior_plainly(finished_run, capsys):
    assert main(["train", "--resume", str(finished_run), "--mu", "15", "--quiet"]) == 2
    assert "--mu apply only when INPUT audio is given; with --resume" in one_line(capsys)
    assert main(["train", "--resume", str(finished_run), "--no-laplace-prior", "--epochs", "2", "--quiet"]) == 2
    error = one_line(capsys)
    assert "--no-laplace-prior differs from the run's" in error and "trained with the Laplace prior" in error
    assert "(True)" not in error and "(False)" not in error


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


# -- 12: the lock is taken before anything is written --------------------------------------------------

HOLDER = textwrap.dedent("""
    import sys, time
    from audiornn.runs import hold_run
    with hold_run(sys.argv[1]):
        print("held", flush=True)
        time.sleep(60)
""")


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


# -- 16: an output that cannot be written is found before the work ---------------------------------------


def test_eval_json_into_a_folder_that_cannot_be_written_is_refused_first(finished_run, tmp_path, monkeypatch, capsys):
    import tempfile

    def refuse(*arguments, **options):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)  # a read-only folder, even for root
    assert main(["eval", "--model", str(finished_run), "--audio", str(REPOSITORY / "data"),
                 "--json", str(tmp_path / "score.json"), "--quiet"]) == 2
    error = one_line(capsys)
    assert "cannot write in" in error and "nothing was done" in error


# -- 4: a malformed TF_CONFIG is one line, before anything is written ------------------------------------


def _listening_port():
    import socket

    handle = socket.socket()
    handle.bind(("127.0.0.1", 0))
    handle.listen(1)
    return handle


@pytest.mark.tf_only
@pytest.mark.parametrize("config, named", [
    ("{not json", "TF_CONFIG is not JSON"),
    ('{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 5}}',
     "task index 5 is not one of the 2 worker addresses"),
    ('{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}}', "TF_CONFIG needs a \"task\""),
    ("[1, 2, 3]", "TF_CONFIG needs a \"cluster\" object"),
    ('{"cluster": {"worker": ["localhost", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 0}}',
     "not an address HOST:PORT"),
    ("bound", "port {port} cannot be used"),
])
def test_a_malformed_tf_config_is_one_line_naming_it(tone_dataset, tmp_path, monkeypatch, capsys, config, named):
    holder = _listening_port()
    port = holder.getsockname()[1]
    try:
        if config == "bound":
            config = json.dumps({"cluster": {"worker": [f"127.0.0.1:{port}", "127.0.0.1:1"]},
                                 "task": {"type": "worker", "index": 0}})
        monkeypatch.setenv("TF_CONFIG", config)
        run = tmp_path / "run"
        assert main(["train", "--dataset", str(tone_dataset.path), "--output", str(run), "--epochs", "1", "--quiet"]) == 2
        error = one_line(capsys)
        assert named.format(port=port) in error, error
        assert not run.exists()
    finally:
        holder.close()


# -- untried: two workers started with different settings ------------------------------------------------


def _meet(digests, timeout):
    """Two workers on 127.0.0.1 meeting with these settings digests, in threads: what each ended with.

    A worker that has met the others goes on to start TensorFlow's server on its port, which answers the
    others' late knocks; here a stand-in answers in its place until both are done (without it, the first
    to meet closed its port before the other had knocked, and the other waited for it in vain)."""
    import socket
    import threading
    import time

    from audiornn.cluster import wait_for_workers

    handles = [socket.socket() for _ in digests]
    for handle in handles:
        handle.bind(("127.0.0.1", 0))
    ports = [handle.getsockname()[1] for handle in handles]
    for handle in handles:
        handle.close()
    addresses = {("worker", index): ("127.0.0.1", port) for index, port in enumerate(ports)}
    outcomes = [None] * len(digests)
    finished = threading.Event()

    def server_stand_in(address):
        with socket.create_server(address) as server:
            server.settimeout(0.1)
            while not finished.is_set():
                try:
                    connection, _ = server.accept()
                except OSError:
                    continue
                with connection:
                    connection.sendall(b"\x00\x00\x00\x04")  # not a greeting: a worker inside TensorFlow

    def worker(index):
        try:
            wait_for_workers(addresses, ("worker", index), timeout=timeout, digest=digests[index], report_every=1e9)
        except Exception as error:  # noqa: BLE001 - the outcome is what is checked
            outcomes[index] = error
            return
        outcomes[index] = "met"
        server_stand_in(addresses[("worker", index)])

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(len(digests))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout + 30
    while None in outcomes and time.monotonic() < deadline:
        time.sleep(0.05)
    finished.set()
    for thread in threads:
        thread.join(timeout=5)
    return outcomes


def test_workers_with_the_same_settings_meet_and_with_others_are_refused():
    assert _meet(["same", "same"], timeout=20) == ["met", "met"]
    outcomes = _meet(["batch 8", "batch 16"], timeout=4)
    assert "met" not in outcomes
    assert any(isinstance(outcome, ParameterError) and "was started with other settings" in str(outcome)
               for outcome in outcomes), outcomes
    assert all(isinstance(outcome, (ParameterError, RunError)) for outcome in outcomes), outcomes


def test_a_dataset_overwrite_that_cannot_finish_leaves_the_old_dataset_whole(tmp_path, monkeypatch):
    from audiornn import dataset as dataset_module

    output = tmp_path / "dataset"
    build_dataset([REPOSITORY / "data"], output, progress=False)
    before = (output / "metadata.json").read_text()
    real = dataset_module.os.replace

    def replace(source, destination):
        if Path(destination) == output and ".partial-" in Path(source).name and "-build" in Path(source).name:
            raise OSError(28, "No space left on device")  # the new folder, into place
        return real(source, destination)

    monkeypatch.setattr(dataset_module.os, "replace", replace)
    with pytest.raises(DatasetError, match="nothing was left behind"):
        build_dataset([REPOSITORY / "data"], output, audio_config=AudioConfig(preemphasis=0.9), overwrite=True,
                      progress=False)
    assert (output / "metadata.json").read_text() == before and open_dataset(output)
    assert [entry.name for entry in tmp_path.iterdir()] == ["dataset"]
