"""Should the linear predictor be the default? The model with and without it, side by side, two seeds each.

Usage: python bench/predictor_default.py [--minutes 10] [--seeds 0 1] [--generate-seconds 30] [--work DIR]

In one invocation, on this machine, one after the other: for each material
(the dev speech, the dev music) and each training seed, the model without the
predictor (``linear_prediction=0``) and with it (``linear_prediction=16``),
every other setting today's default, trained for the same wall-clock budget.
The budget is turned into epochs first (a calibration: two epochs of each
model, nothing else running, the second one timed), and the models train for
those epochs: so other work on the machine during the long phase (this
machine's speed drifts too) changes how long the benchmark takes, not how
much each model learns. ``--no-calibrate`` trains by the clock instead. Each is
scored on all of its own validation audio and all of the other material's.
Then each generates ``--generate-seconds`` from silence at temperature 1
with two sampling seeds: the RMS of that audio against the training audio's
(decoded the same way: de-emphasis and the recordings' level), and the sound
distance's position from the real-audio floor (0) to the linear-predictor
ceiling (1). The configs are given explicitly, so the result does not depend
on which of the two is the default.
"""

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import dev_music_dataset, dev_speech_dataset, quiet_tensorflow  # noqa: E402

quiet_tensorflow()


def rms(audio):
    audio = np.concatenate([np.asarray(piece, dtype=np.float64).ravel() for piece in audio])
    return float(np.sqrt(np.mean(audio ** 2)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget of each model (default 10)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="training seeds (default 0 1)")
    parser.add_argument("--generate-seconds", type=float, default=30.0, help="audio generated per sampling seed")
    parser.add_argument("--materials", nargs="+", default=["speech", "music"], choices=["speech", "music"])
    parser.add_argument("--work", default=None, help="folder for the datasets and runs (default: temporary)")
    parser.add_argument("--no-calibrate", action="store_true", help="train by the clock (--minutes), not by epochs")
    arguments = parser.parse_args()

    from audiornn.audio_io import decode_classes
    from audiornn.generation import generate
    from audiornn.model import ModelConfig
    from audiornn.runs import load_run_model
    from audiornn.scoring import dataset_pieces, score_classes
    from audiornn.sound import SoundReference
    from audiornn.training import TrainConfig, train

    work = Path(arguments.work or tempfile.mkdtemp(prefix="audiornn-bench-default-"))
    work.mkdir(parents=True, exist_ok=True)
    datasets = {"speech": dev_speech_dataset(work / "speech-dataset"), "music": dev_music_dataset(work / "music-dataset")}
    validation = {name: dataset_pieces(dataset, "validation") for name, dataset in datasets.items()}
    references = {name: SoundReference.from_dataset(dataset) for name, dataset in datasets.items()}
    training_rms = {name: rms(decode_classes(piece, dataset.audio_config)[0]
                              for piece in dataset_pieces(dataset, "train"))
                    for name, dataset in datasets.items()}
    print(f"budget {arguments.minutes:g} min per model; training audio RMS {training_rms}", flush=True)
    candidates = {"no predictor": ModelConfig(linear_prediction=0), "predictor": ModelConfig(linear_prediction=16)}

    budgets = {}  # (material, model) -> TrainConfig fields
    for material in arguments.materials:
        for name, model_config in candidates.items():
            if arguments.no_calibrate:
                budgets[material, name] = dict(minutes=arguments.minutes)
                continue
            run = work / f"calibrate-{material}-{name.replace(' ', '-')}"
            train(datasets[material], run, model_config=model_config, train_config=TrainConfig(epochs=2),
                  overwrite=True, verbose=0)
            with open(run / "history.csv") as handle:
                seconds = float(list(csv.DictReader(handle))[-1]["seconds"])
            budgets[material, name] = dict(epochs=max(1, int(arguments.minutes * 60 // seconds)))
            print(f"calibration: {material} {name}: {seconds:.1f} s an epoch -> {budgets[material, name]}",
                  flush=True)

    rows = []
    for material in arguments.materials:
        other = "music" if material == "speech" else "speech"
        for seed in arguments.seeds:
            for name, model_config in candidates.items():
                run = work / f"run-{material}-{name.replace(' ', '-')}-seed{seed}"
                started = time.monotonic()
                summary = train(datasets[material], run, model_config=model_config,
                                train_config=TrainConfig(seed=seed, **budgets[material, name]), overwrite=True,
                                verbose=2)
                model = load_run_model(run)
                row = {"trained on": material, "model": name, "seed": seed, "epochs": summary["epochs"],
                       "wall minutes": round((time.monotonic() - started) / 60, 2),
                       material: summary["validation"]["bits_per_sample"],
                       other: score_classes(model, validation[other], progress=False)["bits_per_sample"],
                       "training rms": training_rms[material], "generated": []}
                for sampling_seed in (0, 1):
                    audio = generate(model, seconds=arguments.generate_seconds, temperature=1.0, seed=sampling_seed,
                                     progress=False)[0]
                    report = references[material].report(audio)
                    row["generated"].append({"seed": sampling_seed, "rms": rms([audio]),
                                             "position": report["position"],
                                             "frechet": report["model"]["frechet"]})
                rows.append(row)
                print(json.dumps(row), flush=True)

    print(f"\n{'trained on':<11}{'model':<14}{'seed':>5}{'epochs':>7}{'speech val':>11}{'music val':>10}"
          f"{'RMS / training (2 draws)':>27}{'sound position':>17}")
    for row in rows:
        ratio = " ".join(f"{draw['rms'] / row['training rms']:.2f}" for draw in row["generated"])
        position = " ".join("-" if draw["position"] is None else f"{draw['position']:.2f}" for draw in row["generated"])
        print(f"{row['trained on']:<11}{row['model']:<14}{row['seed']:>5}{row['epochs']:>7}"
              f"{row['speech']:>11.3f}{row['music']:>10.3f}{ratio:>27}{position:>17}")
    print("\nmeans over seeds (bits; seed spread in brackets)")
    for material in arguments.materials:
        for name in candidates:
            chosen = [row for row in rows if row["trained on"] == material and row["model"] == name]
            cells = []
            for scored in ("speech", "music"):
                values = [row[scored] for row in chosen]
                cells.append(f"{scored} {np.mean(values):.3f} (±{(max(values) - min(values)) / 2:.3f})")
            print(f"{material:<11}{name:<14}" + "   ".join(cells))
    (work / "predictor_default.json").write_text(json.dumps({"rows": rows, "training_rms": training_rms,
                                                            "budgets": {" ".join(key): value
                                                                        for key, value in budgets.items()}},
                                                           indent=2))
    print(f"runs and JSON in {work}")


if __name__ == "__main__":
    main()
