"""Generation health of the shipped models: do their streams keep going at the training level, and hold notes?

Usage: python bench/health.py [--models speech music] [--streams 8] [--seconds 30] [--work /tmp/w/health]
                              [--write-cards] [--figure bench/health.png]
       python bench/health.py --models music=RUN_OR_KERAS   # a candidate, against the music's training audio

For each model: its training audio's window levels and held partials
(:class:`audiornn.health.LevelReference`, from the dev dataset it was trained
on), then ``--streams`` streams of ``--seconds`` at temperature 1, seeds 1 to
N, each measured (:func:`audiornn.health.health`). Prints a row a stream and a
summary a model: streams that collapse or run away, the share of 2 s windows
within the training audio's 10th-90th percentile level range widened by 2x
either side, held partials beside the training audio's. ``--write-cards``
puts the training levels and the summary in the models' cards
(``audiornn/models/models.json``, shown by ``AudioRNN.py models``; generate
holds a shipped model's streams to its card's levels). ``--figure`` draws each
model's first stream's spectrogram and levels beside its training audio's.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import dev_speech_dataset, quiet_tensorflow, shipped_music_dataset  # noqa: E402

quiet_tensorflow()

# Each model's training data, as bench/shipped_models.py builds it, and its folder under --work.
DATASETS = {"speech": (dev_speech_dataset, "speech"), "music": (shipped_music_dataset, "music-trimmed")}


def measure(name, streams, seconds, work):
    """The model's reference, its streams' audio and health reports. ``name``: a shipped model, or
    ``NAME=PATH``, the model at PATH (a run folder or ``.keras``) against NAME's training audio."""
    import audiornn
    from audiornn.health import LevelReference, health

    Path(work).mkdir(parents=True, exist_ok=True)
    material, _, path = name.partition("=")
    build, folder = DATASETS[material]
    dataset = build(Path(work) / folder)
    reference = LevelReference.from_dataset(dataset)
    model = audiornn.load_model(path or material)
    rate = model.audio_config.sample_rate
    sounds, reports = [], []
    for seed in range(1, streams + 1):
        started = time.perf_counter()
        audio = audiornn.generate(model, seconds=seconds, seed=seed, progress=False)[0]
        sounds.append(audio)
        reports.append(health(audio, rate, reference))
        report = reports[-1]
        print(f"{material:<8}{seed:>5}{report['level_median'] / reference.p50:>10.2f}{report['in_range']:>10.0%}"
              f"{report['collapse_seconds']:>10.0f}{report['runaway_seconds']:>10.0f}{report['frozen_seconds']:>10.0f}"
              f"{report['held_partials']:>10.0%}{reference.held_partials:>10.0%}"
              f"{report['longest_hold']:>10.1f}{reference.longest_hold:>10.1f}   "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    return dataset, reference, sounds, reports


def summary(reference, reports, streams, seconds):
    from audiornn.health import summarise

    return {"streams": streams, "seconds": seconds, "temperature": 1.0, **summarise(reports, reference)}


def figure(results, path):
    """Each model's training audio and first stream: spectrograms and window levels."""
    import numpy as np

    from audiornn.evaluation import plot_sounds, save_figure

    sounds, names = [], []
    for name, (dataset, _, generated, _) in results.items():
        rate = dataset.audio_config.sample_rate
        segment = max(dataset.segments("train"), key=lambda segment: segment.length)
        from audiornn.audio_io import decode_classes

        real = decode_classes(np.asarray(dataset.array("train")[segment.start:segment.start + 8 * rate]),
                              dataset.audio_config)[0]
        sounds += [real, generated[0][:8 * rate]]
        names += [f"{name}: training audio", f"{name}: generated, seed 1"]
    save_figure(plot_sounds(sounds, rate, names=names), path)
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["speech", "music"],
                        help=f"shipped models ({', '.join(sorted(DATASETS))}), or NAME=PATH: the model at PATH "
                             f"measured against NAME's training audio")
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--work", default="/tmp/w/health", help="where the dev datasets are built (or reused)")
    parser.add_argument("--write-cards", action="store_true", help="put the figures in audiornn/models/models.json")
    parser.add_argument("--figure", help="a PNG of each model's first stream beside its training audio")
    arguments = parser.parse_args()
    for name in arguments.models:
        if name.partition("=")[0] not in DATASETS:
            parser.error(f"--models: {name!r} is not one of {', '.join(sorted(DATASETS))} (or NAME=PATH)")
    if arguments.write_cards and any("=" in name for name in arguments.models):
        parser.error("--write-cards writes the shipped models' cards: leave out NAME=PATH")
    print(f"{'model':<8}{'seed':>5}{'level':>10}{'in range':>10}{'collapse':>10}{'runaway':>10}{'frozen':>10}"
          f"{'held':>10}{'training':>10}{'hold':>10}{'training':>10}\n{'':<13}{'x median':>10}{'':>10}{'s':>10}{'s':>10}"
          f"{'s':>10}{'partials':>10}{'held':>10}{'s':>10}{'hold s':>10}")
    results, summaries = {}, {}
    for name in arguments.models:
        results[name] = measure(name, arguments.streams, arguments.seconds, arguments.work)
        summaries[name] = summary(results[name][1], results[name][3], arguments.streams, arguments.seconds)
        print(f"{name}: {json.dumps(summaries[name])}", flush=True)
    if arguments.write_cards:
        import dataclasses

        cards_path = Path(__file__).resolve().parent.parent / "audiornn" / "models" / "models.json"
        cards = json.loads(cards_path.read_text())
        for name, figures in summaries.items():
            cards[name]["training_levels"] = dataclasses.asdict(results[name][1])
            cards[name]["health"] = figures
        cards_path.write_text(json.dumps(cards, indent=1) + "\n")
        print(f"wrote {cards_path}")
    if arguments.figure:
        figure(results, arguments.figure)


if __name__ == "__main__":
    main()
