"""Long context for little cost: today's default against frame-tier candidates at equal wall-clock budgets.

Usage: python bench/frame_tier.py [--minutes 10] [--long-minutes 30] [--work DIR]
                                  [--materials speech music] [--only NAME ...]

Trains, one after the other on this machine, today's default model and the
frame-tier candidates (a GRU frame tier stepping every 16 samples under
today's GRU sample tier, or under a feed-forward sample tier) for the same
budget on the dev speech and the dev music, and prints for each: training
targets/s, epochs, bits per sample on all of the validation audio, and the
context probe (bits with the state reset every 512 / 2,048 / 8,000 samples,
and never). ``--long-minutes`` then trains today's default and the best
candidate on speech for the longer budget and prints the same; last, the
generation speed of the best candidate (1 and 32 streams).
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import dev_music_dataset, dev_speech_dataset, quiet_tensorflow  # noqa: E402

quiet_tensorflow()

RESETS = (512, 2048, 8000)


def candidates(minutes):
    from audiornn.config import ModelConfig, TrainConfig

    return {
        "default": (ModelConfig(), TrainConfig(minutes=minutes)),
        # A GRU frame tier (512 units, frames of 16) under today's sample tier; windows of 8 frames.
        "frames+gru": (ModelConfig(frame_size=16), TrainConfig(minutes=minutes, sequence_length=128, batch_size=48)),
        # The same frame tier under a feed-forward sample tier (SampleRNN's sample-level MLP); 64 frames.
        "frames+mlp": (ModelConfig(frame_size=16, num_layers=0), TrainConfig(minutes=minutes, sequence_length=1024,
                                                                            batch_size=8)),
    }


def run_one(dataset, folder, model_config, train_config):
    from context_probe import probe
    from training_throughput import targets_per_second

    from audiornn.runs import load_run_model
    from audiornn.scoring import dataset_pieces
    from audiornn.training import train

    summary = train(dataset, folder, model_config=model_config, train_config=train_config, overwrite=True,
                    verbose=2)
    rate, epochs = targets_per_second(folder, model_config, train_config)
    scores = probe(load_run_model(folder), dataset_pieces(dataset, "validation"), RESETS)
    return {"targets_per_second": rate, "epochs": epochs, "bits": summary["validation"]["bits_per_sample"],
            "probe": {str(every): bits for every, bits in scores.items()}}


def print_table(title, rows):
    print(f"\n{title}\n{'model':<14}{'targets/s':>11}{'epochs':>8}{'val bits':>10}   "
          + "".join(f"{f'reset {every}':>12}" for every in RESETS) + f"{'never':>8}")
    for name, row in rows.items():
        never = row["probe"]["None"]
        print(f"{name:<14}{row['targets_per_second']:>11,.0f}{row['epochs']:>8}{row['bits']:>10.3f}   "
              + "".join(f"{row['probe'][str(every)] - never:>+12.3f}" for every in RESETS) + f"{never:>8.3f}",
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="budget of every candidate (default 10)")
    parser.add_argument("--long-minutes", type=float, default=0.0,
                        help="then train the default and the best candidate on speech this long (default: no)")
    parser.add_argument("--work", default=None, help="folder for the datasets and runs (default: temporary)")
    parser.add_argument("--materials", nargs="+", choices=("speech", "music"), default=["speech", "music"])
    parser.add_argument("--only", nargs="+", help="train only these candidates")
    arguments = parser.parse_args()

    from generation_speed import time_streams

    from audiornn.runs import load_run_model

    work = Path(arguments.work or tempfile.mkdtemp(prefix="audiornn-frames-"))
    work.mkdir(parents=True, exist_ok=True)
    builders = {"speech": dev_speech_dataset, "music": dev_music_dataset}
    datasets = {material: builders[material](work / f"{material}-dataset") for material in arguments.materials}
    chosen = {name: value for name, value in candidates(arguments.minutes).items()
              if not arguments.only or name in arguments.only}
    print(f"budget {arguments.minutes:g} min each; probe columns: bits lost with the state reset every N samples",
          flush=True)
    results = {}
    for material, dataset in datasets.items():
        results[material] = {name: run_one(dataset, work / f"{material}-{name}", *configs)
                             for name, configs in chosen.items()}
        print_table(f"{material} ({arguments.minutes:g} min each)", results[material])
    for material, rows in results.items():
        print_table(f"{material} ({arguments.minutes:g} min each)", rows)
    tiered = {name: row for name, row in results.get("speech", {}).items() if name != "default"}
    best = min(tiered, key=lambda name: tiered[name]["bits"]) if tiered else None
    if arguments.long_minutes and best and "speech" in datasets:
        long = {name: run_one(datasets["speech"], work / f"speech-{name}-long", *candidates(arguments.long_minutes)[name])
                for name in ("default", best)}
        results["speech long"] = long
        print_table(f"speech ({arguments.long_minutes:g} min each)", long)
    if best:
        model = load_run_model(work / f"speech-{best}")
        rate = model.audio_config.sample_rate
        one, many = time_streams(model, 1, 4.0), time_streams(model, 32, 2.0)
        results["generation"] = {"model": best, "1 stream": one, "32 streams": many}
        print(f"\ngeneration, {best}: 1 stream {one:,.0f} samples/s ({one / rate:.2f}x real time), "
              f"32 streams {many:,.0f} samples/s")
    (work / "frame_tier.json").write_text(json.dumps(results, indent=2))
    print(f"runs and JSON in {work}")


if __name__ == "__main__":
    main()
