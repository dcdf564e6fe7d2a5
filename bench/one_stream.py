"""One stream faster: the output tier of 512 units before 2026-12-03 against the 256 of today's default, trained alike.

Usage: python bench/one_stream.py [--epochs 10] [--seed 0] [--work DIR] [--rounds 3]

One generation step of the default model reads its weights from memory once
a sample: the GRU's recurrent kernel (256 x 768) and the output tier (256 x
512 then 512 x 256) are most of its time (``bench/step_profile.py``). This
trains the model with ``dense_units=512`` and with 256 (otherwise the default) on the
dev speech for the same number of epochs (the same batches: the machine's
load changes how long it takes, not what is learned), scores each on all of
its validation audio, then times one stream of each side by side (``rounds``
alternations, the best of each) and profiles their steps.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import dev_speech_dataset, quiet_tensorflow  # noqa: E402

quiet_tensorflow()

CANDIDATES = {"dense 512 (before)": {"dense_units": 512}, "dense 256 (default)": {"dense_units": 256}}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs of 200 batches each model trains (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    parser.add_argument("--work", help="folder for the dataset and runs (default: a new temporary one)")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of the speed measurement (default 3)")
    arguments = parser.parse_args()

    from audiornn import ModelConfig, TrainConfig
    from audiornn.runs import is_run, load_run_model, read_summary
    from audiornn.training import train
    from generation_speed import time_streams
    from step_profile import profile

    work = Path(arguments.work or tempfile.mkdtemp(prefix="audiornn-bench-one-stream-"))
    work.mkdir(parents=True, exist_ok=True)
    dataset = dev_speech_dataset(work / "speech-dataset")
    results = {}
    for name, change in CANDIDATES.items():
        run = work / f"run-{name.split(' (')[0].replace(' ', '-')}-seed{arguments.seed}"
        summary = read_summary(run) if is_run(run) else None
        if summary is None:
            summary = train(dataset, run, model_config=ModelConfig(**change), overwrite=True, verbose=2,
                            train_config=TrainConfig(epochs=arguments.epochs, seed=arguments.seed))
        results[name] = {"run": str(run), "epochs": summary["epochs"],
                         "bits": summary["validation"]["bits_per_sample"],
                         "parameters": load_run_model(run).count_params()}
        print(json.dumps({name: results[name]}), flush=True)
    models = {name: load_run_model(result["run"]) for name, result in results.items()}
    speeds = {name: [] for name in models}
    for _ in range(arguments.rounds):
        for name, model in models.items():
            speeds[name].append(time_streams(model, 1, 4.0))
    for name, model in models.items():
        results[name]["samples_per_second"] = max(speeds[name])
        results[name]["profile"] = dict(profile(model, 8000, 3))
    first = next(iter(results.values()))
    print(f"\n{'model':22s} {'epochs':>6s} {'parameters':>10s} {'val bits':>9s} {'1 stream':>10s} {'x':>5s} "
          f"{'us/sample':>9s} {'output tier us':>15s}")
    for name, result in results.items():
        micro = result["profile"]
        print(f"{name:22s} {result['epochs']:6d} {result['parameters']:10,d} {result['bits']:9.3f} "
              f"{result['samples_per_second']:10,.0f} {result['samples_per_second'] / first['samples_per_second']:5.2f} "
              f"{micro['whole step']:9.2f} {micro['no prior'] - micro['no output layers']:15.2f}")
    (work / "one_stream.json").write_text(json.dumps(results, indent=2))
    print(f"(one stream: samples/s, best of {arguments.rounds} alternations of 4 s each; us/sample and the output "
          f"tier's share: bench/step_profile.py's rows)\nruns and JSON in {work}")


if __name__ == "__main__":
    main()
