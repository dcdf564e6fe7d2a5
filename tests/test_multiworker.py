"""Training across machines: two MultiWorkerMirroredStrategy workers on 127.0.0.1, as two machines would run."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from audiornn import dsp
from audiornn.cli import main
from audiornn.config import ModelConfig, TrainConfig
from audiornn.errors import ParameterError, RunError

from conftest import one_line

pytestmark = [pytest.mark.slow, pytest.mark.tf_only]  # tf.distribute's MultiWorkerMirroredStrategy
REPOSITORY = Path(__file__).resolve().parent.parent
MODEL = ModelConfig(units=16, embedding_dim=8, lags=2, dense_units=16)

# A worker: the library's train() with a test hook that records, after the first step, the lag values
# this worker's replica carries: the values of the last input sample of each row it trained on.
WORKER = textwrap.dedent("""
    import json, logging, sys
    import keras
    import numpy as np
    from audiornn.config import ModelConfig, TrainConfig
    from audiornn.training import train

    dataset, run, record, epochs, steps = sys.argv[1:6]
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    class RecordRows(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0 and self.model.state_carry is not None and not self.params.get("recorded"):
                self.params["recorded"] = True
                carried = self.model.distribute_strategy.experimental_local_results(self.model.state_carry.lag_values)
                with open(record, "w") as handle:
                    json.dump(np.asarray(carried[0]).tolist(), handle)

    summary = train(dataset, run, model_config=ModelConfig(**json.loads(sys.argv[6])),
                    train_config=TrainConfig(epochs=int(epochs), steps_per_epoch=int(steps), batch_size=8,
                                             sequence_length=32, warmup_steps=2, learning_rate=1e-2),
                    callbacks=[RecordRows()], verbose=2)
    print("SUMMARY", json.dumps(summary["validation"]))
""")


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for handle in sockets:
        handle.bind(("127.0.0.1", 0))
    ports = [handle.getsockname()[1] for handle in sockets]
    for handle in sockets:
        handle.close()
    return ports


def start_workers(command, ports, tmp_path, name, indexes=None):
    """Start the workers of ``indexes`` (all by default) of a cluster on ``ports``."""
    processes = []
    for index in range(len(ports)) if indexes is None else indexes:
        config = {"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]}, "task": {"type": "worker", "index": index}}
        scratch = tmp_path / "scratch"  # where a worker's temporary folders go: it must be empty afterwards
        scratch.mkdir(exist_ok=True)
        environment = dict(os.environ, TF_CONFIG=json.dumps(config), TF_CPP_MIN_LOG_LEVEL="3", TMPDIR=str(scratch))
        log = open(tmp_path / f"{name}{index}.log", "w")
        processes.append(subprocess.Popen(command(index), stdout=log, stderr=subprocess.STDOUT, text=True,
                                          cwd=tmp_path, env=environment, start_new_session=True,
                                          preexec_fn=_interrupts_as_from_a_terminal))
    return processes


def _interrupts_as_from_a_terminal():
    """Ctrl-C (SIGINT) at its default in a worker, as a command typed in a terminal has it: a suite started as
    a shell's background job (``bash .ci/run &``) inherits SIGINT ignored, and Python then keeps it ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def finish(processes, timeout):
    """Wait for every process, at most ``timeout`` seconds in all; kill what is left. Returns exit codes."""
    deadline = time.monotonic() + timeout
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(timeout=max(1.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            codes.append(None)
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
    return codes


def test_two_workers_train_one_run_on_disjoint_rows(sine_dataset, tmp_path):
    dataset = sine_dataset
    run = tmp_path / "run"
    ports = free_ports(2)

    def command(index):
        return [sys.executable, "-c", WORKER, str(dataset.path), str(run), str(tmp_path / f"rows{index}.json"), "2",
                "6", json.dumps(MODEL.to_dict())]

    codes = finish(start_workers(command, ports, tmp_path, "worker"), timeout=400)
    logs = [(tmp_path / f"worker{index}.log").read_text() for index in range(2)]
    assert codes == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    # One run folder, written by the chief alone: epochs 1 and 2, the models, and no worker's scratch copy.
    history = [line.split(",") for line in (run / "history.csv").read_text().splitlines()[1:]]
    assert [row[0] for row in history] == ["1", "2"]
    assert float(history[1][1]) < float(history[0][1])  # the training loss falls
    assert (run / "model.keras").is_file() and (run / "last.keras").is_file()
    assert list((tmp_path / "scratch").iterdir()) == []  # worker 1's scratch copy of the run is removed
    # Every worker printed the same full validation score, the one the chief wrote in summary.json.
    summary = json.loads((run / "summary.json").read_text())["validation"]
    printed = [json.loads(log.split("SUMMARY ", 1)[1].splitlines()[0]) for log in logs]
    assert printed[0] == printed[1] == summary
    for log in logs:  # each names the run's best model, worker 1 too (not its scratch copy, removed as it ends)
        assert re.search(rf"Best model \(epoch \d\): .* -> {re.escape(str(run / 'model.keras'))}$", log, re.M), log
    # Each worker trained on its own half of the global batch: rows 0-3 on worker 0, rows 4-7 on worker 1.
    from audiornn.training import _samplers

    training, _ = _samplers(dataset, MODEL, TrainConfig(epochs=2, steps_per_epoch=6, batch_size=8, sequence_length=32),
                            0)
    # The carried values are oldest first: the last column is the last value of each row's window.
    carried = [np.asarray(json.loads((tmp_path / f"rows{index}.json").read_text()))[:, -1] for index in range(2)]
    # Which epoch's draw the first step reads is Keras' business (its adapter may start a new epoch once
    # before training); the split of that batch between the workers is what matters.
    batches = [dsp.mu_law_decode(training.batch(0, epoch=epoch)[0][:, -1], mu=255) for epoch in range(3)]
    matching = [values for values in batches if np.allclose(carried[0], values[:4], atol=1e-6)]
    assert len(matching) == 1, (carried, batches)
    np.testing.assert_allclose(carried[1], matching[0][4:], atol=1e-6)
    assert not np.allclose(carried[0], carried[1])  # different windows, not one batch trained twice


def test_a_lost_worker_stops_the_other_with_one_line_and_resume_finishes(sine_dataset, tmp_path):
    dataset = sine_dataset
    run = tmp_path / "run"
    ports = free_ports(2)
    small = ["--units", "16", "--embedding-dim", "8", "--lags", "2", "--dense-units", "16", "--batch-size", "8",
             "--sequence-length", "32"]

    def command(index):
        return [sys.executable, str(REPOSITORY / "AudioRNN.py"), "train", "--dataset", str(dataset.path), "--output",
                str(run), "--epochs", "2", "--steps-per-epoch", "400", *small]

    processes = start_workers(command, ports, tmp_path, "first")
    try:
        deadline = time.monotonic() + 300
        while not (run / "history.csv").is_file():  # epoch 1 is saved; epoch 2 runs
            assert time.monotonic() < deadline and all(process.poll() is None for process in processes), \
                (tmp_path / "first0.log").read_text()[-3000:]
            time.sleep(0.2)
        os.killpg(processes[1].pid, signal.SIGKILL)
        started = time.monotonic()
        codes = finish(processes, timeout=180)
        waited = time.monotonic() - started
    finally:
        finish(processes, timeout=1)
    chief = (tmp_path / "first0.log").read_text()
    assert codes[0] == 2, chief[-3000:]
    error = [line for line in chief.splitlines() if line.startswith("AudioRNN.py: error:")]
    assert len(error) == 1 and "worker task 1" in error[0] and f"--resume {run}" in error[0], chief[-2000:]
    assert waited < 180

    def resume(index):
        return [sys.executable, str(REPOSITORY / "AudioRNN.py"), "train", "--resume", str(run)]

    ports = free_ports(2)
    codes = finish(start_workers(resume, ports, tmp_path, "again"), timeout=400)
    assert codes == [0, 0], (tmp_path / "again0.log").read_text()[-3000:] + (tmp_path / "again1.log").read_text()[-3000:]
    rows = [line.split(",")[0] for line in (run / "history.csv").read_text().splitlines()[1:]]
    assert rows == ["1", "2"]  # the lost epoch 2 trained again, whole


def test_under_a_time_budget_the_workers_stop_at_the_same_epoch(sine_dataset, tmp_path):
    run = tmp_path / "run"

    def command(index):
        return [sys.executable, str(REPOSITORY / "AudioRNN.py"), "train", "--dataset", str(sine_dataset.path),
                "--output", str(run), "--minutes", "0.25", "--steps-per-epoch", "15", "--units", "16",
                "--embedding-dim", "8", "--lags", "2", "--dense-units", "16", "--batch-size", "8",
                "--sequence-length", "32"]

    codes = finish(start_workers(command, free_ports(2), tmp_path, "budget"), timeout=400)
    logs = [(tmp_path / f"budget{index}.log").read_text() for index in range(2)]
    assert codes == [0, 0], logs[0][-3000:] + logs[1][-3000:]
    epochs = [[line.split(":")[0] for line in log.splitlines() if line.startswith("epoch ")] for log in logs]
    assert len(epochs[0]) >= 2 and [line.split(" (")[0] for line in epochs[0]] == \
        [line.split(" (")[0] for line in epochs[1]]
    assert "time budget of 0.25 minutes used" in logs[0] and "time budget of 0.25 minutes used" in logs[1]
    rows = [line.split(",")[0] for line in (run / "history.csv").read_text().splitlines()[1:]]
    assert len(rows) == len(epochs[0])


def _wait_for_line(path, text, process, timeout):
    deadline = time.monotonic() + timeout
    while text not in (path.read_text() if path.exists() else ""):
        assert process.poll() is None and time.monotonic() < deadline, path.read_text()[-3000:]
        time.sleep(0.2)


def test_a_lone_worker_says_whom_it_waits_for_and_gives_up_in_one_line(sine_dataset, tmp_path):
    run = tmp_path / "run"
    ports = free_ports(2)

    def command(index):
        return [sys.executable, str(REPOSITORY / "AudioRNN.py"), "train", "--dataset", str(sine_dataset.path),
                "--output", str(run), "--epochs", "1", "--worker-timeout", "4"]

    codes = finish(start_workers(command, ports, tmp_path, "lone", indexes=[0]), timeout=120)  # worker 1 never runs
    log = (tmp_path / "lone0.log").read_text()
    assert codes == [2], log[-3000:]
    assert f"waiting for worker 1 at 127.0.0.1:{ports[1]}" in log
    errors = [line for line in log.splitlines() if line.startswith("AudioRNN.py: error:")]
    assert len(errors) == 1 and "did not join within 4 s" in errors[0] and "nothing was written" in errors[0]
    assert not run.exists()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_waiting_worker_stops_at_once_on_sigterm_or_ctrl_c(sine_dataset, tmp_path, stop):
    run = tmp_path / "run"

    def command(index):
        return [sys.executable, str(REPOSITORY / "AudioRNN.py"), "train", "--dataset", str(sine_dataset.path),
                "--output", str(run), "--epochs", "1"]

    [lone] = start_workers(command, free_ports(2), tmp_path, "deaf", indexes=[0])  # worker 1 never runs
    try:
        _wait_for_line(tmp_path / "deaf0.log", "waiting for worker 1", lone, timeout=120)
        lone.send_signal(stop)
        started = time.monotonic()
        code = lone.wait(timeout=30)
        assert time.monotonic() - started < 10 and code == (143 if stop == signal.SIGTERM else 130)
    finally:
        finish([lone], timeout=1)
    assert not run.exists()


BLOCKED = textwrap.dedent("""
    import signal
    import tensorflow as tf
    from audiornn.cli import _interrupts_end_at_once, _stop_on_sigterm

    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    queue = tf.queue.FIFOQueue(1, tf.float32)
    with _interrupts_end_at_once("probe"):
        print("blocking", flush=True)
        queue.dequeue()  # waits in C++ for an element that never comes: no Python handler can run
""")


def test_a_command_stuck_in_tensorflow_still_ends_on_sigterm(tmp_path):
    log = tmp_path / "blocked.log"
    with open(log, "w") as handle:
        process = subprocess.Popen([sys.executable, "-c", BLOCKED], stdout=handle, stderr=subprocess.STDOUT,
                                   cwd=REPOSITORY, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
                                   start_new_session=True)
    try:
        _wait_for_line(log, "blocking", process, timeout=120)
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
    finally:
        finish([process], timeout=1)
    assert code == 143 and "stopped at once" in log.read_text()


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
