"""Why generated music falls silent, and what keeps it going: trainings side by side, scored on bits and health.

Usage: python bench/collapse_fixes.py [--minutes 10] [--only NAME...] [--streams 8] [--seconds 30]
                                      [--material music|labelled] [--work /tmp/w/collapse] [--init-from MODEL]
                                      [--learning-rate LR] [--patience N] [--figure PATH]

Trains the default model on the 18 minutes of dev music (8 kHz) (``--material
labelled``: a labelled model on the en/es/ru prompts of bench/labels.py, its
streams made under each label in turn), once per
configuration below, each for ``--minutes`` alone on the machine (or from
``--init-from``, a shipped model's name or a run, to fine-tune it instead), and
reports for each: bits per sample on all the validation audio, then
``--streams`` streams of ``--seconds`` at temperature 1 (seeds 1 to N, one
stream a seed, as ``bench/health.py``), measured by :func:`audiornn.health.health`
against the training music: how many collapse and run away, the share of 2 s
windows within the training 10th-90th percentile level range widened by 2x
either side, held partials beside the training music's. A configuration with
``tail`` draws with that probability taken off every class (``vocode``'s
sampling) from the model trained without noise: no training of its own.

The configurations are the field's answers to a stream that wanders off the
audio and cannot come back: LPCNet's noise injection (``input_noise``, the
inputs of training moved by Gaussian noise of up to that many μ-law classes,
the targets clean) and sampling without the improbable tail. The third, trimming
digital silence, is a dataset's (``--trim-silence``): the music's only quiet is
each piece's start and fade-out, which ``bench/shipped_models.py`` cuts for the
shipped music model. A run already in ``--work`` is reused, not retrained.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import dev_music_dataset, quiet_tensorflow  # noqa: E402
from health import summary  # noqa: E402
from labels import label_files  # noqa: E402

quiet_tensorflow()

CONFIGURATIONS = {
    "default": {},
    "default, tail 0.001": {"tail": 0.001},
    "noise 2": {"input_noise": 2.0},
    "noise 6": {"input_noise": 6.0},
}


def train_one(name, change, dataset, work, minutes, init_from, seed, learning_rate=None, patience=None):
    """The run of configuration ``name`` (trained now unless ``work`` has it), and its validation bits."""
    from audiornn import TrainConfig
    from audiornn.runs import is_run, read_summary
    from audiornn.training import train

    run = Path(work) / f"run-{name.replace(' ', '-').replace(',', '')}"
    summary = read_summary(run) if is_run(run) else None
    if summary is None:
        started = time.perf_counter()
        given = {field: value for field, value in (("learning_rate", learning_rate), ("patience", patience))
                 if value is not None}  # the library's defaults otherwise
        summary = train(dataset, run, overwrite=True, verbose=2, init_from=init_from,
                        train_config=TrainConfig(minutes=minutes, seed=seed,
                                                 input_noise=change.get("input_noise", 0.0), **given))
        print(f"{name}: trained {summary['epochs']} epochs in {(time.perf_counter() - started) / 60:.1f} min",
              flush=True)
    return run, summary["validation"]["bits_per_sample"], summary["epochs"]


def streams(model, reference, count, seconds, tail, name):
    """``count`` streams (seeds 1 to count; a labelled model's under each label) and their health reports, a line
    a stream."""
    import audiornn
    from audiornn.health import health

    rate = model.audio_config.sample_rate
    sounds, reports = [], []
    for label in model.model_config.labels or [None]:
        for seed in range(1, count + 1):
            started = time.perf_counter()
            sounds.append(audiornn.generate(model, seconds=seconds, seed=seed, progress=False, tail=tail,
                                            label=label)[0])
            report = health(sounds[-1], rate, reference)
            reports.append(report)
            print(f"  {name + ('' if label is None else f' ({label})'):<22}{seed:>5}{report['level_median'] / reference.p50:>8.2f}"
                  f"{report['in_range']:>9.0%}{report['collapse_seconds']:>9.0f}{report['runaway_seconds']:>9.0f}"
                  f"{report['frozen_seconds']:>8.0f}{report['held_partials']:>7.0%}   "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
    return sounds, reports


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="training minutes per configuration")
    parser.add_argument("--only", nargs="+", choices=sorted(CONFIGURATIONS), help="these configurations only")
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    parser.add_argument("--init-from", help="fine-tune this model (a shipped name or a run) instead of training anew")
    parser.add_argument("--learning-rate", type=float, help="peak learning rate (default the library's)")
    parser.add_argument("--patience", type=int, help="epochs without a better validation loss before stopping")
    parser.add_argument("--material", choices=["music", "labelled"], default="music")
    parser.add_argument("--work", default="/tmp/w/collapse", help="dataset and runs (reused when there)")
    parser.add_argument("--figure", help="a PNG of each configuration's first stream beside the training music")
    arguments = parser.parse_args()

    import numpy as np

    from audiornn.health import LevelReference
    from audiornn.runs import load_run_model

    work = Path(arguments.work)
    work.mkdir(parents=True, exist_ok=True)
    if arguments.material == "music":
        dataset = dev_music_dataset(work / "music-dataset")
    else:
        from audiornn import build_dataset

        dataset = build_dataset(label_files(), work / "labelled-dataset", progress=False)
    reference = LevelReference.from_dataset(dataset)
    print(f"training audio: window level p10 {reference.p10:.4f}, p50 {reference.p50:.4f}, p90 {reference.p90:.4f}; "
          f"held partials {reference.held_partials:.0%}", flush=True)
    names = arguments.only or list(CONFIGURATIONS)
    rows, firsts = {}, {}
    for name in names:
        change = CONFIGURATIONS[name]
        trained = "default" if "tail" in change else name
        run, bits, epochs = train_one(trained, CONFIGURATIONS[trained], dataset, work, arguments.minutes,
                                      arguments.init_from, arguments.seed, arguments.learning_rate,
                                      arguments.patience)
        model = load_run_model(run)
        sounds, reports = streams(model, reference, arguments.streams, arguments.seconds, change.get("tail", 0.0),
                                  name)
        figures = summary(reference, reports, arguments.streams, arguments.seconds)
        rows[name] = {"run": str(run), "epochs": epochs, "bits": bits,
                      **{key: figures[key] for key in ("collapsed", "ran_away", "frozen", "in_range",
                                                          "held_partials")},
                      "level": float(np.median([report["level_median"] for report in reports]) / reference.p50)}
        firsts[name] = sounds[0]
        print(json.dumps({name: rows[name]}), flush=True)
    print(f"\n{arguments.streams} streams x {arguments.seconds:.0f} s at temperature 1, seeds 1 to {arguments.streams}; "
          f"the training audio's held partials {reference.held_partials:.0%}")
    print(f"{'configuration':<22}{'epochs':>7}{'val bits':>9}{'collapse':>9}{'runaway':>8}{'frozen':>7}"
          f"{'in range':>9}{'level':>7}{'held':>7}")
    for name, row in rows.items():
        print(f"{name:<22}{row['epochs']:>7}{row['bits']:>9.3f}{row['collapsed']:>9}{row['ran_away']:>8}"
              f"{row['frozen']:>7}{row['in_range']:>9.0%}{row['level']:>7.2f}{row['held_partials']:>7.0%}")
    (work / "collapse_fixes.json").write_text(json.dumps(rows, indent=2))
    if arguments.figure:
        from audiornn.audio_io import decode_classes
        from audiornn.evaluation import plot_sounds, save_figure

        rate = dataset.audio_config.sample_rate
        segment = max(dataset.segments("train"), key=lambda segment: segment.length)
        real = decode_classes(np.asarray(dataset.array("train")[segment.start:segment.start + 8 * rate]),
                              dataset.audio_config)[0]
        sounds = [real] + [sound[:8 * rate] for sound in firsts.values()]
        save_figure(plot_sounds(sounds, rate, names=[f"training audio ({arguments.material})"] + [f"{name}, seed 1" for name in firsts]),
                    arguments.figure)
        print(f"wrote {arguments.figure}")


if __name__ == "__main__":
    main()
