"""The vocoder: bits given the features, copy-synthesis against Griffin-Lim, on seen and unseen voices, and speed.

Usage: python bench/vocoder.py [--minutes 30] [--side-by-side] [--variant NAME:FIELD=VALUE,...]... [--files 20]
                               [--without-unconditional] [--work DIR]

Trains on the Asterisk US English and Mexican Spanish prompts (one voice,
Allison; 8 kHz, CC-BY-SA-3.0) built with ``--features mel``, keeping the
Russian voice out of training entirely. Two models for ``--minutes`` each:
the vocoder (today's default model reading the frames) and the same default
without them (``use_features=False``), one after the other, or at the same
time with ``--side-by-side`` (each then has half the machine, and both the
same share of whatever else runs). Each ``--variant`` adds another vocoder,
trained beside them with the same budget: the default with some model or
training fields changed, say ``no-frame-predictor:feature_prediction=0`` (the
vocoder before the predictor fitted to the frames) or
``lags-80:lags=80,learning_rate=0.01``. ``--without-unconditional`` leaves
the unconditional model out (a vocoder alone has the whole machine; its bits
then stand without that comparison). Then:

- bits per sample on all the validation audio and on ``--files`` files of the
  unseen voice (the vocoder given their frames);
- copy-synthesis of ``--files`` validation files and ``--files`` unseen-voice
  files: PESQ (narrow band), STOI and log-mel distance for the vocoder and for
  Griffin-Lim from the same frames, and a figure of the first of each;
- vocode speed: one stream and 16 streams, samples per second.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    SOUNDS,
    VOCODER_UNSEEN,
    dev_speech_files,
    dev_vocoder_dataset,
    quiet_tensorflow,
    run_jobs,
)

quiet_tensorflow()


def _train(dataset_path, run, minutes, use_features, sequence_length, changes):
    import dataclasses

    from audiornn import ModelConfig, TrainConfig
    from audiornn.runs import read_summary
    from audiornn.training import train

    if read_summary(run) is None:
        window = {"sequence_length": sequence_length} if sequence_length else {}
        model_fields = {field.name for field in dataclasses.fields(ModelConfig)}
        train(dataset_path, run, model_config=ModelConfig(**{key: value for key, value in changes.items()
                                                             if key in model_fields}),
              train_config=TrainConfig(minutes=minutes, **window, **{key: value for key, value in changes.items()
                                                                     if key not in model_fields}),
              overwrite=True, use_features=use_features, verbose=2)


def _variant(text):
    """``NAME:FIELD=VALUE,...`` -> (name, {field: value}), the values read as JSON (else as text)."""
    name, _, fields = text.partition(":")
    changes = {}
    for pair in filter(None, fields.split(",")):
        key, _, value = pair.partition("=")
        try:
            changes[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            changes[key.strip()] = value
    if not name or not changes:
        raise argparse.ArgumentTypeError(f"a variant is NAME:FIELD=VALUE,..., got {text!r}")
    return name, changes


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="training budget of each model (default 30)")
    parser.add_argument("--sequence-length", type=int, default=0,
                        help="training window of both (default: each model's own, 480 and 96)")
    parser.add_argument("--side-by-side", action="store_true", help="train the two models at the same time")
    parser.add_argument("--variant", type=_variant, action="append", default=[],
                        help="another vocoder, NAME:FIELD=VALUE,... (model or training fields)")
    parser.add_argument("--without-unconditional", action="store_true",
                        help="train and score the vocoder (and variants) only, without the unconditional model")
    parser.add_argument("--files", type=int, default=20, help="files of each set for copy-synthesis and unseen bits")
    parser.add_argument("--work", default=None, help="folder for the dataset and runs (default: temporary)")
    arguments = parser.parse_args()

    from audiornn.evaluation import plot_sounds, save_figure
    from audiornn.resynthesis import format_resynthesis_table, resynthesis_scores
    from audiornn.runs import load_run_model, read_summary
    from audiornn.scoring import audio_pieces, score_classes
    from audiornn.vocoder import load_features, vocode

    work = Path(arguments.work or tempfile.mkdtemp(prefix="audiornn-bench-vocoder-"))
    work.mkdir(parents=True, exist_ok=True)
    dataset = dev_vocoder_dataset(work / "dataset")
    print(dataset, dataset.feature_config, flush=True)
    runs = {"vocoder": work / "run-vocoder"}
    if not arguments.without_unconditional:
        runs["unconditional"] = work / "run-unconditional"
    options = {name: {} for name in runs}
    for name, changes in arguments.variant:
        runs[name], options[name] = work / f"run-{name}", changes
    jobs = [(str(dataset.path), run, arguments.minutes, name != "unconditional", arguments.sequence_length,
             options[name]) for name, run in runs.items()]
    started = time.monotonic()
    run_jobs(_train, jobs, side_by_side=arguments.side_by_side)
    print(f"trained in {(time.monotonic() - started) / 60:.1f} min", flush=True)

    models = {name: load_run_model(run) for name, run in runs.items()}
    results = {"minutes": arguments.minutes, "side_by_side": arguments.side_by_side,
               "train_minutes": round(dataset.seconds("train") / 60, 1),
               "validation_minutes": round(dataset.seconds("validation") / 60, 1)}
    rng = np.random.default_rng(0)
    unseen = sorted(dev_speech_files(SOUNDS / VOCODER_UNSEEN))
    unseen = [unseen[index] for index in sorted(rng.choice(len(unseen), arguments.files, replace=False))]
    held = sorted({entry["path"] for entry in dataset.metadata["sources"] if entry["split"] == "validation"})
    held = [held[index] for index in sorted(rng.choice(len(held), min(arguments.files, len(held)), replace=False))]
    unseen_pieces, _ = audio_pieces(unseen, dataset.audio_config, features=dataset.feature_config)
    for name, run in runs.items():
        summary = read_summary(run)
        model = models[name]
        frames = [own for _, own in unseen_pieces] if model.feature_net is not None else None
        unseen_bits = score_classes(model, [classes for classes, _ in unseen_pieces], features=frames,
                                    progress=False)["bits_per_sample"]
        results[name] = {"epochs": summary["epochs"], "validation_bits": summary["validation"]["bits_per_sample"],
                         "unseen_voice_bits": unseen_bits}
        print(name, json.dumps(results[name]), flush=True)

    vocoder = models["vocoder"]
    for model_name in [name for name in runs if name != "unconditional"]:
        prefix = "" if model_name == "vocoder" else f"{model_name}: "
        for name, files in (("validation", held), ("unseen voice", unseen)):
            scores = resynthesis_scores(models[model_name], files, seed=0)
            example = scores.pop("example")
            results[f"{prefix}resynthesis {name}"] = scores
            print(f"\n{prefix}{name} ({len(files)} files)\n{format_resynthesis_table(scores)}", flush=True)
            figure = plot_sounds([example["original"], example["vocoder"], example["griffin_lim"]], 8000,
                                 names=(f"original ({Path(files[0]).name})", model_name, "Griffin-Lim"))
            slug = (prefix + name).replace(",", "").replace(":", "").replace(" ", "-")
            save_figure(figure, work / f"resynthesis-{slug}.png")

    speed = {}
    frames = load_features(held[0], vocoder)
    frames = np.concatenate([frames] * max(1, int(np.ceil(400 / frames.shape[0]))))[:400]  # 4 s
    for count in (1, 16):
        vocode(vocoder, [frames] * count, seed=0, progress=False)  # compile
        begun = time.perf_counter()
        vocode(vocoder, [frames] * count, seed=0, progress=False)
        speed[count] = count * frames.shape[0] * 80 / (time.perf_counter() - begun)
    results["vocode_samples_per_second"] = speed
    print("vocode speed", json.dumps(speed), flush=True)
    (work / "vocoder.json").write_text(json.dumps(results, indent=1))
    print(f"\n{'model':<30}{'epochs':>7}{'validation':>12}{'unseen voice':>14}")
    for name in runs:
        row = results[name]
        print(f"{name:<30}{row['epochs']:>7}{row['validation_bits']:>12.3f}{row['unseen_voice_bits']:>14.3f}")
    print(f"vocode: {speed[1]:,.0f} samples/s one stream ({speed[1] / 8000:.1f}x real time), "
          f"{speed[16]:,.0f} for 16 ({speed[16] / 16 / 8000:.1f}x each)")
    print(f"wrote {work / 'vocoder.json'} and the figures in {work}")


if __name__ == "__main__":
    main()
