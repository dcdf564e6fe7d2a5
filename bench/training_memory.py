"""How much memory a training step takes on the CPU, measured beside what ``train`` estimates before it starts.

Usage: python bench/training_memory.py [--work DIR] [--steps 2]

``train`` refuses, before anything is written, a batch whose step would not
fit in the memory available (``audiornn.training.training_memory``). This
trains each configuration below for a few steps on the bundled sample, in a
process of its own, and prints its peak resident memory beside the estimate
of its activations (the process itself, Keras and the backend, takes about
1 GB more). The difference of two batch sizes of one model gives the bytes
a target sample costs.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import peak_rss_mb, quiet_tensorflow  # noqa: E402

CASES = [  # (units, dense units, batch size, window samples)
    (256, 256, 48, 96), (256, 256, 768, 96), (256, 256, 3072, 96),
    (512, 512, 768, 96), (512, 512, 3072, 96), (256, 1024, 3072, 96)]


def one(dataset, run, units, dense, batch, samples, steps):
    """Train one case a few steps; its peak memory and the estimate, as JSON on standard output."""
    quiet_tensorflow()
    from audiornn import AudioConfig, ModelConfig, TrainConfig
    from audiornn.training import train, training_memory

    model_config = ModelConfig(units=units, dense_units=dense)
    train_config = TrainConfig(epochs=1, steps_per_epoch=steps, batch_size=batch, sequence_length=samples,
                               validation_steps=1)
    train(dataset, run, model_config=model_config, train_config=train_config, overwrite=True, verbose=0)
    print(json.dumps({"peak_mb": peak_rss_mb(),
                      "estimate_mb": training_memory(model_config, train_config, AudioConfig().mu + 1) / 1e6}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", help="folder for the dataset and runs (default: a new temporary one)")
    parser.add_argument("--steps", type=int, default=2, help="training steps of each case (default 2)")
    parser.add_argument("--one", nargs=6, help=argparse.SUPPRESS)  # DATASET RUN UNITS DENSE BATCH SAMPLES
    arguments = parser.parse_args()
    if arguments.one:
        dataset, run, *numbers = arguments.one
        one(dataset, run, *map(int, numbers), arguments.steps)
        return
    quiet_tensorflow()
    from audiornn import build_dataset
    from audiornn.cli import sample_data

    work = Path(arguments.work or tempfile.mkdtemp(prefix="audiornn-bench-memory-"))
    dataset = work / "dataset"
    if not dataset.is_dir():
        build_dataset(sample_data(), dataset, progress=False)
    print(f"{'units':>6} {'dense':>6} {'batch':>6} {'window':>7} {'targets':>9} {'peak MiB':>9} {'estimate MB':>12}")
    peaks = {}
    for units, dense, batch, samples in CASES:
        result = subprocess.run([sys.executable, __file__, "--steps", str(arguments.steps), "--one", str(dataset),
                                 str(work / "run"), str(units), str(dense), str(batch), str(samples)],
                                capture_output=True, text=True, check=True)
        measured = json.loads(result.stdout.strip().splitlines()[-1])
        peaks[units, dense, batch, samples] = measured["peak_mb"]
        print(f"{units:6d} {dense:6d} {batch:6d} {samples:7d} {batch * samples:9,d} {measured['peak_mb']:9,.0f} "
              f"{measured['estimate_mb']:12,.0f}", flush=True)
    for (units, dense, batch, samples), peak in peaks.items():
        smaller = [(key, value) for key, value in peaks.items() if key[:2] == (units, dense) and key[2] < batch]
        if smaller:
            (_, _, low, _), low_peak = max(smaller)
            per_target = (peak - low_peak) * 1e6 / ((batch - low) * samples)
            print(f"units {units}, dense {dense}: {per_target / 1e3:.1f} kB a target (batch {low} to {batch})")


if __name__ == "__main__":
    main()
