"""Training throughput and validation bits per sample in the same wall-clock budget.

Usage: python bench/training_throughput.py [--minutes 10] [--work DIR] [--only default|seed]
                                           [--material speech|music] [--sample-rate 8000] [--g722]

Trains the default model and the `seed` preset (the original AudioRNN's
many-to-one setup: dense + batch-norm + input skip + two GRUs over a
1000-sample window) on the 24 minutes of dev speech (or the 18 minutes of
dev music), each for the same budget on this machine, one after the other,
and prints targets per second and the bits per sample each reaches on all of
the held-out validation audio, beside the baselines that need no network.
``--sample-rate`` resamples the recordings (8 kHz ones) to another rate;
``--g722`` takes the same English prompts at 16 kHz from their G.722 wide-band
recordings (asterisk-core-sounds-en-g722) instead. Each trained model's
generation speed, one stream and 32 together, is timed too.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    SPEECH,
    dev_music_dataset,
    dev_speech_dataset,
    dev_speech_files,
    quiet_tensorflow,
)

quiet_tensorflow()

from generation_speed import time_streams  # noqa: E402


def targets_per_second(run, model_config, train_config):
    from audiornn.runs import read_history

    history = read_history(run)
    per_step = train_config.batch_size * (1 if model_config.many_to_one else train_config.sequence_length)
    steps = json.loads((Path(run) / "state.json").read_text())
    seconds = steps["training_seconds"]
    import keras
    optimizer_steps = int(keras.models.load_model(Path(run) / "last.keras").optimizer.iterations.numpy())
    return optimizer_steps * per_step / seconds, len(history["epoch"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="budget of each model (default 10)")
    parser.add_argument("--work", default=None, help="folder for the dataset and runs (default: temporary)")
    parser.add_argument("--only", choices=("default", "seed"), help="train only one of the two")
    parser.add_argument("--material", choices=("speech", "music"), default="speech", help="dev recordings")
    parser.add_argument("--sample-rate", type=int, default=8000, help="training rate in Hz (default 8000)")
    parser.add_argument("--g722", action="store_true", help="the English prompts' 16 kHz G.722 recordings")
    arguments = parser.parse_args()
    if arguments.g722 and (arguments.material != "speech" or arguments.sample_rate not in (8000, 16000)):
        parser.error("--g722 is the speech at 16 kHz: leave out --material and --sample-rate")

    from audiornn import AudioConfig, build_dataset
    from audiornn.baselines import score_baselines
    from audiornn.runs import load_run_model
    from audiornn.scoring import dataset_pieces
    from audiornn.model import ModelConfig, build_model
    from audiornn.stepping import flops_per_sample
    from audiornn.training import TrainConfig, train

    work = Path(arguments.work or tempfile.mkdtemp(prefix="audiornn-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    if arguments.g722:
        arguments.sample_rate = 16000
        dataset = build_dataset(dev_speech_files(SPEECH, ".g722"), work / "speech-g722-dataset",
                                audio_config=AudioConfig(sample_rate=16000), progress=False)
    else:
        build = dev_music_dataset if arguments.material == "music" else dev_speech_dataset
        dataset = build(work / f"{arguments.material}-{arguments.sample_rate}-dataset",
                        sample_rate=arguments.sample_rate)
    source = " (G.722)" if arguments.g722 else ""
    print(f"dev {arguments.material}{source} at {arguments.sample_rate} Hz: {dataset.seconds('train') / 60:.1f} min "
          f"training, {dataset.seconds('validation') / 60:.1f} min validation; budget {arguments.minutes:g} min "
          f"each", flush=True)
    baselines = score_baselines(dataset_pieces(dataset, "train"), dataset_pieces(dataset, "validation"))
    candidates = {
        "default": (ModelConfig(), TrainConfig(minutes=arguments.minutes)),
        # The original trained many-to-one on 1000-sample windows; batch 32 as its README's scripts.
        "seed": (ModelConfig.seed(), TrainConfig(minutes=arguments.minutes, batch_size=32, learning_rate=1e-3,
                                                 steps_per_epoch=100)),
    }
    results = {}
    for name, (model_config, train_config) in candidates.items():
        if arguments.only and name != arguments.only:
            continue
        started = time.monotonic()
        summary = train(dataset, work / f"run-{name}", model_config=model_config, train_config=train_config,
                        overwrite=True, verbose=2)
        rate, epochs = targets_per_second(work / f"run-{name}", model_config, train_config)
        results[name] = {"targets_per_second": rate, "epochs": epochs,
                         "bits": summary["validation"]["bits_per_sample"],
                         "accuracy": summary["validation"]["accuracy"],
                         "flops_per_sample": flops_per_sample(build_model(model_config)),
                         "wall_minutes": (time.monotonic() - started) / 60}
        if not model_config.many_to_one:  # the seed preset reruns its whole window a sample: minutes, not seconds
            model = load_run_model(work / f"run-{name}")
            results[name].update({f"generate_{count}": time_streams(model, count, 4.0 / count ** 0.5)
                                  for count in (1, 32)})
    rate = arguments.sample_rate
    print(f"\n{'model':<10}{'targets/s':>12}{'epochs':>8}{'val bits/sample':>17}{'val accuracy':>14}"
          f"{'generate 1 stream':>22}{'32 streams, each':>22}")
    for name, row in results.items():
        speeds = "".join(f"{row[key]:>12,.0f} /s {row[key] / count / rate:>5.1f}x"
                         for key, count in (("generate_1", 1), ("generate_32", 32)) if key in row)
        print(f"{name:<10}{row['targets_per_second']:>12,.0f}{row['epochs']:>8}{row['bits']:>17.3f}"
              f"{row['accuracy']:>14.3f}{speeds}")
    for name, bits in baselines.items():
        print(f"{name:<30}{bits:>17.3f}   (baseline, no network)")
    if len(results) == 2:
        print(f"throughput ratio default/seed: "
              f"{results['default']['targets_per_second'] / results['seed']['targets_per_second']:,.0f}x")
    (work / "training_throughput.json").write_text(json.dumps({"results": results, "baselines": baselines},
                                                              indent=2))
    print(f"runs and JSON in {work}")


if __name__ == "__main__":
    main()
