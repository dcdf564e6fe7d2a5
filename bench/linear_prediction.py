"""The adaptive linear predictor inside the model, against today's default, on material it was and was not trained on.

Usage: python bench/linear_prediction.py [--minutes 10] [--work DIR] [--order 16] [--hop 4]

In one invocation, on this machine, one after the other: today's default
model and the same model with the linear predictor (``--linear-prediction
ORDER``) trained for the same budget on the dev speech, then on the dev
music. Each is scored on all of its own validation audio and on the other
material's (speech model on music, music model on speech), beside the
16th-order linear-predictor baseline fitted on the model's own training
audio and beside the untrained model with the predictor (what the network
adds nothing to). Then generation speed of the trained model with the
predictor, one stream and 32.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import dev_music_dataset, dev_speech_dataset, quiet_tensorflow  # noqa: E402

quiet_tensorflow()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="budget of each model (default 10)")
    parser.add_argument("--work", default=None, help="folder for the datasets and runs (default: temporary)")
    parser.add_argument("--order", type=int, default=16, help="the predictor's order (default 16)")
    parser.add_argument("--window", type=int, default=128, help="the predictor's window (default 128)")
    parser.add_argument("--hop", type=int, default=4, help="the predictor's refit hop (default 4)")
    arguments = parser.parse_args()

    from audiornn.baselines import LinearPredictor
    from audiornn.model import ModelConfig, build_model
    from audiornn.runs import load_run_model
    from audiornn.scoring import dataset_pieces, score_classes
    from audiornn.training import TrainConfig, train
    from generation_speed import time_streams

    work = Path(arguments.work or tempfile.mkdtemp(prefix="audiornn-bench-lp-"))
    work.mkdir(parents=True, exist_ok=True)
    datasets = {"speech": dev_speech_dataset(work / "speech-dataset"), "music": dev_music_dataset(work / "music-dataset")}
    validation = {name: dataset_pieces(dataset, "validation") for name, dataset in datasets.items()}
    predictor = dict(linear_prediction=arguments.order, prediction_window=arguments.window,
                     prediction_hop=arguments.hop)
    candidates = {"default": ModelConfig(), "predictor": ModelConfig(**predictor)}
    print(f"budget {arguments.minutes:g} min per model; predictor {predictor}", flush=True)

    # Its logits and prior weights start at zero, so the untrained model scores the same whatever it
    # would be trained on: one row.
    untrained = build_model(candidates["predictor"], datasets["speech"].audio_config)
    rows = [{"trained on": "-", "model": "untrained + predictor",
             **{name: score_classes(untrained, pieces, progress=False)["bits_per_sample"]
                for name, pieces in validation.items()}}]
    for material, dataset in datasets.items():
        other = "music" if material == "speech" else "speech"
        fixed = LinearPredictor().fit(dataset_pieces(dataset, "train"))
        rows.append({"trained on": material, "model": "linear predictor 16 (fixed)",
                     material: fixed.bits(validation[material]), other: fixed.bits(validation[other])})
        for name, model_config in candidates.items():
            run = work / f"run-{material}-{name}"
            started = time.monotonic()
            summary = train(dataset, run, model_config=model_config, train_config=TrainConfig(minutes=arguments.minutes),
                            overwrite=True, verbose=2)
            model = load_run_model(run)
            rows.append({"trained on": material, "model": name, "epochs": summary["epochs"],
                         "wall minutes": (time.monotonic() - started) / 60,
                         material: summary["validation"]["bits_per_sample"],
                         other: score_classes(model, validation[other], progress=False)["bits_per_sample"]})
            print(json.dumps(rows[-1]), flush=True)

    print(f"\n{'trained on':<12}{'model':<30}{'epochs':>7}{'speech val':>12}{'music val':>11}")
    for row in rows:
        print(f"{row['trained on']:<12}{row['model']:<30}{row.get('epochs', ''):>7}"
              f"{row['speech']:>12.3f}{row['music']:>11.3f}")
    model = load_run_model(work / "run-speech-predictor")
    speed = {count: time_streams(model, count, 4) for count in (1, 32)}
    rate = model.audio_config.sample_rate
    print(f"generation with the predictor: 1 stream {speed[1]:,.0f} samples/s ({speed[1] / rate:.2f}x real time), "
          f"32 streams {speed[32]:,.0f} samples/s")
    (work / "linear_prediction.json").write_text(json.dumps({"rows": rows, "generation": speed}, indent=2))
    print(f"runs and JSON in {work}")


if __name__ == "__main__":
    main()
