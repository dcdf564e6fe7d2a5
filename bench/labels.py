"""Labels: does a labelled model learn each label better, tell them apart, and generate each one's sound?

Usage: python bench/labels.py [--minutes 10] [--generate-seconds 10] [--side-by-side] [--work DIR]

The dev material of three labels (the Asterisk prompts, 8 kHz, CC-BY-SA-3.0;
bench/common.py has the install line): ``en`` (en_US_f_Allison), ``es``
(es_MX_f_Allison: the same voice in another language) and ``ru``
(ru_RU_f_IvrvoiceRU: another voice), built into one labelled dataset (each
label holds out whole files for validation). In one invocation, one after the
other (or at the same time with ``--side-by-side``: each then has half the
machine, and both the same share of whatever else runs), each for
``--minutes`` of training:

1. the default model without labels on it (``use_labels=False``), and
2. the same model with labels;

each scored on all the validation audio of every label. Then, with the
labelled model: ``identify`` on every validation file (accuracy per label,
and how often en and es are told apart), ``--generate-seconds`` generated
under each label (seed 0) and its sound distance (Fréchet log-mel) to each
label's real validation audio, and generation speed (1 and 32 streams) of
both models. Prints a JSON summary and tables.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import dev_speech_files, quiet_tensorflow, run_jobs  # noqa: E402
from generation_speed import time_streams  # noqa: E402

quiet_tensorflow()

SOUNDS = Path("/usr/share/asterisk/sounds")
LABELS = {"en": "en_US_f_Allison", "es": "es_MX_f_Allison", "ru": "ru_RU_f_IvrvoiceRU"}
INSTALL_HINT = ("apt-get update && apt-get install -y --no-install-recommends asterisk-core-sounds-en-wav "
                "asterisk-core-sounds-es-wav asterisk-core-sounds-ru-wav")


def label_files():
    """{label: files} of the three prompt sets, leaving out silence, beeps and tones."""
    found = {}
    for label, folder in LABELS.items():
        if not (SOUNDS / folder).is_dir():
            sys.exit(f"{SOUNDS / folder} is not installed; run: {INSTALL_HINT}")
        found[label] = dev_speech_files(SOUNDS / folder)
    return found


def _train(dataset_path, run, minutes, use_labels):
    from audiornn import TrainConfig
    from audiornn.runs import read_summary
    from audiornn.training import train

    if read_summary(run) is None:
        train(dataset_path, run, train_config=TrainConfig(minutes=minutes), overwrite=True, use_labels=use_labels,
              verbose=2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget of each model (default 10)")
    parser.add_argument("--generate-seconds", type=float, default=10.0, help="audio generated under each label")
    parser.add_argument("--work", default=None, help="folder for the dataset and runs (default: temporary)")
    parser.add_argument("--side-by-side", action="store_true", help="train the two models at the same time")
    parser.add_argument("--speed-only", action="store_true",
                        help="with the runs of an earlier invocation in --work: only the generation speeds, the two "
                             "models in turn, --rounds times")
    parser.add_argument("--rounds", type=int, default=1, help="measurements of each model's speed, alternating")
    arguments = parser.parse_args()

    from audiornn import build_dataset
    from audiornn.audio_io import decode_classes
    from audiornn.generation import generate
    from audiornn.runs import load_run_model, read_summary
    from audiornn.scoring import dataset_pieces, identify
    from audiornn.sound import sound_distance, sound_statistics

    work = Path(arguments.work or tempfile.mkdtemp(prefix="audiornn-bench-labels-"))
    work.mkdir(parents=True, exist_ok=True)
    dataset = build_dataset(label_files(), work / "dataset", progress=False)
    print(dataset, flush=True)
    results = {"minutes": arguments.minutes, "dataset": {
        label: {split: round(sum(segment.length for segment in dataset.segments(split) if segment.label == label)
                             / dataset.audio_config.sample_rate / 60, 2) for split in ("train", "validation")}
        for label in dataset.labels}}
    runs = {"without labels": work / "run-without-labels", "with labels": work / "run-with-labels"}
    started = time.monotonic()
    run_jobs(_train, [(str(dataset.path), run, arguments.minutes, name == "with labels") for name, run in runs.items()],
             side_by_side=arguments.side_by_side)
    print(f"trained in {(time.monotonic() - started) / 60:.1f} min", flush=True)
    for name, run in runs.items():
        summary = read_summary(run)
        results[name] = {"epochs": summary["epochs"], "bits_per_sample": summary["validation"]["bits_per_sample"],
                         "labels": {label: score["bits_per_sample"]
                                    for label, score in summary["validation"]["labels"].items()}}
        print(name, json.dumps(results[name]), flush=True)

    if arguments.speed_only:
        return print_speeds(runs, arguments.rounds)
    model = load_run_model(runs["with labels"])
    held = {}
    for entry in dataset.metadata["sources"]:
        if entry["split"] == "validation" and entry["offset_in_file"] == 0:
            held.setdefault(entry["label"], []).append(entry["path"])
    found = identify(model, held, progress=False)
    truth, guess = np.array(found["truth"]), np.array(found["guess"])
    one_voice = np.isin(truth, ["en", "es"])
    results["identify"] = {
        "files": len(truth), "accuracy": found["accuracy"], "per_label": found["per_label"],
        "en_vs_es": float(np.mean(guess[one_voice] == truth[one_voice])),
        "confusion": {label: {other: int(np.sum((truth == label) & (guess == other))) for other in dataset.labels}
                      for label in dataset.labels}}
    print("identify", json.dumps(results["identify"]), flush=True)

    rate = dataset.audio_config.sample_rate
    real = {}
    validation = dataset_pieces(dataset, "validation")
    for label in dataset.labels:
        pieces = [decode_classes(piece, dataset.audio_config)[0] for piece, segment
                  in zip(validation, dataset.segments("validation")) if segment.label == label]
        real[label] = sound_statistics(pieces, rate, name=f"{label} validation audio")
    fidelity = {}
    for label in dataset.labels:
        audio = generate(model, seconds=arguments.generate_seconds, seed=0, label=label, progress=False)[0]
        distances = {other: sound_distance(sound_statistics(audio, rate), real[other])["frechet"]
                     for other in dataset.labels}
        fidelity[label] = {"distances": distances, "nearest": min(distances, key=distances.get)}
    results["fidelity"] = fidelity
    results["fidelity_own_nearest"] = sum(entry["nearest"] == label for label, entry in fidelity.items())
    print("fidelity", json.dumps(fidelity), flush=True)

    speed = print_speeds(runs, arguments.rounds)
    results["generation_samples_per_second"] = speed
    print("speed", json.dumps(speed), flush=True)

    print(f"\n{'model':<16}{'epochs':>7}{'all':>8}" + "".join(f"{label:>8}" for label in dataset.labels))
    for name in runs:
        row = results[name]
        print(f"{name:<16}{row['epochs']:>7}{row['bits_per_sample']:>8.3f}"
              + "".join(f"{row['labels'][label]:>8.3f}" for label in dataset.labels))
    print(f"\nidentify: {results['identify']['accuracy']:.1%} of {len(truth)} validation files; per label "
          + ", ".join(f"{label} {value:.1%}" for label, value in found["per_label"].items())
          + f"; en vs es {results['identify']['en_vs_es']:.1%}")
    print(f"\n{'generated under':<18}" + "".join(f"{'to ' + label:>10}" for label in dataset.labels) + "  nearest")
    for label, entry in fidelity.items():
        print(f"{label:<18}" + "".join(f"{entry['distances'][other]:>10.1f}" for other in dataset.labels)
              + f"  {entry['nearest']}")
    (work / "labels.json").write_text(json.dumps(results, indent=1))
    print(f"\nwrote {work / 'labels.json'}")


def print_speeds(runs, rounds):
    """Generation samples/s of each run's model, 1 and 32 streams (a labelled model's streams take every label
    in turn), the models alternating ``rounds`` times; the best of the rounds."""
    from audiornn.runs import load_run_model

    models = {name: load_run_model(run) for name, run in runs.items()}
    speed = {name: {1: 0.0, 32: 0.0} for name in runs}
    for _ in range(rounds):
        for name, model in models.items():
            names = model.model_config.labels
            for count in (1, 32):
                label = [names[i % len(names)] for i in range(count)] if names else None
                speed[name][count] = max(speed[name][count], time_streams(model, count, 4.0, label=label))
    for name, rates in speed.items():
        print(f"generation {name}: " + ", ".join(f"{count} stream(s) {value:,.0f} samples/s"
                                                 for count, value in rates.items()), flush=True)
    print(f"with labels / without: 1 stream {speed['with labels'][1] / speed['without labels'][1]:.3f}, "
          f"32 streams {speed['with labels'][32] / speed['without labels'][32]:.3f}", flush=True)
    return speed


if __name__ == "__main__":
    main()
