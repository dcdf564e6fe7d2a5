"""How generated audio sounds: the sound distance of a model's audio at two temperatures.

Usage: python bench/sound_quality.py --model RUN [--seconds 10] [--temperatures 0.9 1.0]

Generates ``--seconds`` of audio from the run's best model at each
temperature (seed 0) and prints its sound distance to the run's training
audio (audiornn.sound: the Fréchet distance of log-mel frames, and the
long-term spectrum difference in dB), beside the floor (real held-out audio
of the same length) and the ceiling (the 16th-order linear predictor's audio).
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import quiet_tensorflow  # noqa: E402

quiet_tensorflow()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a run folder (its dataset must be where it was)")
    parser.add_argument("--seconds", type=float, default=10.0, help="audio generated per temperature")
    parser.add_argument("--temperatures", type=float, nargs="+", default=[0.9, 1.0])
    arguments = parser.parse_args()

    from audiornn.dataset import as_dataset
    from audiornn.generation import generate
    from audiornn.runs import load_run_model, run_dataset_path
    from audiornn.sound import SoundReference

    model = load_run_model(arguments.model)
    from audiornn.scoring import reference_label

    dataset = as_dataset(run_dataset_path(arguments.model))
    first = model.model_config.labels[0] if model.model_config.labels else None  # what generate draws under
    reference = SoundReference.from_dataset(dataset, reference_label(dataset, first))
    print(f"model: {arguments.model}; {arguments.seconds:g} s at {model.audio_config.sample_rate} Hz each, seed 0")
    print(f"{'':<34}{'Frechet':>9}{'spectrum dB':>13}{'position':>10}")
    report = None
    for temperature in arguments.temperatures:
        audio = generate(model, seconds=arguments.seconds, temperature=temperature, seed=0, progress=False,
                         label=first)[0]
        report = reference.report(audio)
        position = "-" if report["position"] is None else f"{report['position']:.2f}"
        print(f"{f'model, temperature {temperature:g}':<34}{report['model']['frechet']:>9.1f}"
              f"{report['model']['spectrum_db']:>13.2f}{position:>10}")
    for name, row in (("real held-out audio (floor)", report["floor"]),
                      ("linear predictor 16 (ceiling)", report["ceiling"])):
        if row is not None:
            print(f"{name:<34}{row['frechet']:>9.1f}{row['spectrum_db']:>13.2f}")
    if report["no_floor"] or report["no_position"]:
        print(f"({report['no_floor'] or report['no_position']})")


if __name__ == "__main__":
    main()
