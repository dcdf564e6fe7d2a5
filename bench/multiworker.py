"""Steps per second of one worker against two local MultiWorkerMirroredStrategy workers.

Usage: python bench/multiworker.py [--steps 200]

Trains the default model on the dev speech for ``--steps`` steps of the
default global batch, once as a single process and once as two workers on
127.0.0.1 (each taking half of every batch), and prints steps per second of
each. On one small host both workers share the same cores, so this shows
that the multi-worker path runs, not a speed-up; on two machines each
worker has its own.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import dev_speech_dataset  # noqa: E402

REPOSITORY = Path(__file__).resolve().parent.parent


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for handle in sockets:
        handle.bind(("127.0.0.1", 0))
    ports = [handle.getsockname()[1] for handle in sockets]
    for handle in sockets:
        handle.close()
    return ports


def run(dataset, folder, steps, workers):
    """Seconds of training (the run's own clock: the epoch's steps and its quick validation) for
    ``steps`` steps with ``workers`` processes."""
    command = [sys.executable, str(REPOSITORY / "AudioRNN.py"), "train", "--dataset", str(dataset), "--output",
               str(folder), "--epochs", "1", "--steps-per-epoch", str(steps), "--quiet"]
    ports = free_ports(workers)
    processes = []
    for index in range(workers):
        environment = dict(os.environ)
        if workers > 1:
            environment["TF_CONFIG"] = json.dumps({"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
                                                   "task": {"type": "worker", "index": index}})
        processes.append(subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL))
    codes = [process.wait(timeout=3600) for process in processes]
    if any(codes):
        sys.exit(f"a worker failed: exit codes {codes}")
    return json.loads((Path(folder) / "state.json").read_text())["training_seconds"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200, help="training steps timed (default 200)")
    arguments = parser.parse_args()
    from audiornn.config import TrainConfig

    per_step = TrainConfig().sequence_length * TrainConfig().batch_size
    with tempfile.TemporaryDirectory() as work:
        dataset = dev_speech_dataset(Path(work) / "speech")
        print(f"{'':<28}{'steps/s':>10}{'targets/s':>12}")
        for workers in (1, 2):
            seconds = run(dataset.path, Path(work) / f"run{workers}", arguments.steps, workers)
            per_second = arguments.steps / seconds
            print(f"{f'{workers} worker(s) on this host':<28}{per_second:>10.2f}{per_second * per_step:>12,.0f}",
                  flush=True)


if __name__ == "__main__":
    main()
