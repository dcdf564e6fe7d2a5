"""TensorFlow and JAX side by side: training throughput, full-validation bits, generation speed.

Usage: python bench/backends.py [--minutes 10] [--side-by-side] [--work DIR] [--seconds 4]
                                [--backends tensorflow,jax] [--speed-only]

For each backend, in a process of its own (``KERAS_BACKEND``): the default
model trained for ``--minutes`` on the 24 minutes of dev speech (the same
dataset, seed and settings), its training targets per second (optimizer steps
x batch x window / training seconds), its bits per sample on all of the
validation audio; then generation samples per second for 1 and 32 streams
from that model, measured with the backends one after the other (nothing else
running). ``--side-by-side`` trains them at the same time (each with half the
machine, and the same share of whatever else runs). ``--speed-only`` skips
the training and times generation of the runs already in ``--work``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import dev_speech_dataset, quiet_tensorflow  # noqa: E402

quiet_tensorflow()


def job(kind, work, minutes, seconds):
    """In this process (its KERAS_BACKEND set): "train" the default, or "speed": generation samples/s."""
    import keras

    from audiornn import backend
    from audiornn.config import ModelConfig, TrainConfig
    from audiornn.runs import load_run_model
    from audiornn.training import train
    from generation_speed import time_streams
    from training_throughput import targets_per_second

    backend.start()
    name = keras.backend.backend()
    run = Path(work) / f"run-{name}"
    if kind == "train":
        summary = train(Path(work) / "dataset", run, train_config=TrainConfig(minutes=minutes), overwrite=True,
                        verbose=2)
        rate, epochs = targets_per_second(run, ModelConfig(), TrainConfig())
        result = {"targets_per_second": rate, "epochs": epochs, "bits": summary["validation"]["bits_per_sample"]}
    else:
        model = load_run_model(run)
        result = {f"generation_{count}": time_streams(model, count, seconds) for count in (1, 32)}
    result["devices"] = backend.devices()
    (Path(work) / f"{kind}-{name}.json").write_text(json.dumps(result))
    return result


def _launch(kind, backends, work, arguments, side_by_side):
    command = [sys.executable, __file__, "--job", kind, "--work", str(work), "--minutes", str(arguments.minutes),
               "--seconds", str(arguments.seconds)]
    processes = []
    for name in backends:
        process = subprocess.Popen(command, env=dict(os.environ, KERAS_BACKEND=name))
        if side_by_side:
            processes.append((name, process))
        elif process.wait():
            raise SystemExit(f"the {kind} job on {name} failed")
    for name, process in processes:
        if process.wait():
            raise SystemExit(f"the {kind} job on {name} failed")
    return {name: json.loads((Path(work) / f"{kind}-{name}.json").read_text()) for name in backends}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget on each backend (default 10)")
    parser.add_argument("--seconds", type=float, default=4.0, help="audio generated per speed measurement")
    parser.add_argument("--side-by-side", action="store_true", help="train on the backends at the same time")
    parser.add_argument("--backends", default="tensorflow,jax", help="comma-separated (default tensorflow,jax)")
    parser.add_argument("--speed-only", action="store_true", help="time generation of the runs in --work only")
    parser.add_argument("--work", default=None, help="folder for the dataset and runs (default: temporary)")
    parser.add_argument("--job", choices=("train", "speed"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    work = Path(arguments.work or tempfile.mkdtemp(prefix="audiornn-bench-backends-"))
    if arguments.job:
        print(json.dumps(job(arguments.job, work, arguments.minutes, arguments.seconds)), flush=True)
        return
    work.mkdir(parents=True, exist_ok=True)
    dataset = dev_speech_dataset(work / "dataset")
    print(f"dev speech: {dataset.seconds('train') / 60:.1f} min training, {dataset.seconds('validation') / 60:.1f} "
          f"min validation; {arguments.minutes:g} min on each backend"
          f"{' at the same time' if arguments.side_by_side else ''}", flush=True)
    backends = arguments.backends.split(",")
    trained = {} if arguments.speed_only else _launch("train", backends, work, arguments, arguments.side_by_side)
    speed = _launch("speed", backends, work, arguments, False)
    print(f"\n{'backend':<12}{'targets/s':>11}{'epochs':>8}{'val bits':>10}{'1 stream':>12}{'32 streams':>12}"
          f"  devices")
    for name in backends:
        row = {**trained.get(name, {}), **speed[name]}
        training = (f"{row['targets_per_second']:>11,.0f}{row['epochs']:>8}{row['bits']:>10.3f}" if name in trained
                    else f"{'':>29}")
        print(f"{name:<12}{training}{row['generation_1']:>12,.0f}{row['generation_32']:>12,.0f}  "
              f"{', '.join(row['devices'])}")
    (work / "backends.json").write_text(json.dumps({"trained": trained, "speed": speed,
                                                    "side_by_side": arguments.side_by_side,
                                                    "minutes": arguments.minutes}, indent=1))
    print(f"(generation in samples per second; runs and JSON in {work})")


if __name__ == "__main__":
    main()
