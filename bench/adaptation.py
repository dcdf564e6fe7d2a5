"""Adapting the shipped speech model to a voice it never heard: fine-tuning against training from scratch.

Usage: python bench/adaptation.py [--model speech] [--audio-minutes 1 3 10] [--minutes 3] [--side-by-side]
                                  [--work DIR]

The Russian Asterisk prompts (ru_RU_f_IvrvoiceRU, another voice and language
than the US English the speech model learned; 8 kHz, CC-BY-SA-3.0) are put in
a fixed random order; the last ``--held-out-minutes`` of files are held out for
scoring, and the first files make the training sets of ``--audio-minutes``
each (nested: the 3 minutes hold the 1). For each amount, one after the other:
the same default model trained from scratch for ``--minutes``, and the
shipped model (``--model``) fine-tuned (``--init-from``) for ``--minutes`` (the two
at the same time with ``--side-by-side``, each with half the machine);
and the shipped model with no training at all. Each is scored (bits per
sample, state carried) on all the held-out files, beside the linear
predictor fitted on the same training audio.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import dev_speech_files, quiet_tensorflow, run_jobs  # noqa: E402

quiet_tensorflow()

RUSSIAN = Path("/usr/share/asterisk/sounds/ru_RU_f_IvrvoiceRU")


def _train(dataset_path, run, minutes, init_from, learning_rate):
    from audiornn import TrainConfig
    from audiornn.runs import read_summary
    from audiornn.training import train

    if read_summary(run) is None:
        train(dataset_path, run, train_config=TrainConfig(minutes=minutes, learning_rate=learning_rate),
              overwrite=True, verbose=0, init_from=init_from)
    return read_summary(run)["epochs"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="speech", help="the model to adapt (default: the shipped speech model)")
    parser.add_argument("--audio-minutes", type=float, nargs="+", default=[1.0, 3.0, 10.0],
                        help="training audio of each adaptation, in minutes (default 1 3 10)")
    parser.add_argument("--minutes", type=float, default=3.0, help="training time of each run (default 3)")
    parser.add_argument("--held-out-minutes", type=float, default=8.0, help="audio held out for scoring")
    parser.add_argument("--work", default=None, help="folder for the datasets and runs (default: temporary)")
    parser.add_argument("--side-by-side", action="store_true", help="train scratch and fine-tuned at the same time")
    parser.add_argument("--fine-tune-learning-rate", type=float, default=0.01,
                        help="the fine-tuned run's peak learning rate (default 0.01, the default's)")
    arguments = parser.parse_args()

    import soundfile

    from audiornn import build_dataset
    from audiornn.baselines import score_baselines
    from audiornn.runs import load_run_model
    from audiornn.scoring import audio_pieces, dataset_pieces, score_classes

    if not RUSSIAN.is_dir():
        sys.exit("the Russian prompts are not installed; run: apt-get update && apt-get install -y "
                 "--no-install-recommends asterisk-core-sounds-ru-wav")
    work = Path(arguments.work or tempfile.mkdtemp(prefix="audiornn-bench-adapt-"))
    work.mkdir(parents=True, exist_ok=True)
    files = dev_speech_files(RUSSIAN)
    files = [files[index] for index in np.random.default_rng(0).permutation(len(files))]
    seconds = [soundfile.info(str(path)).duration for path in files]
    held, total = [], 0.0
    while total < arguments.held_out_minutes * 60:
        held.append(files.pop())
        total += seconds.pop()
    source = load_run_model(arguments.model)
    held_pieces, _ = audio_pieces(held, source.audio_config)
    print(f"held out: {len(held)} files, {total / 60:.1f} min; {len(files)} files left for training", flush=True)

    def held_out_bits(model):
        return score_classes(model, held_pieces, progress=False)["bits_per_sample"]

    results = {"model": str(arguments.model), "minutes": arguments.minutes,
               "fine_tune_learning_rate": arguments.fine_tune_learning_rate,
               "held_out_minutes": round(total / 60, 2), "no_training": held_out_bits(source), "rows": []}
    print(f"{arguments.model} with no training: {results['no_training']:.3f} bits per sample", flush=True)
    for amount in arguments.audio_minutes:
        chosen, used = [], 0.0
        for path, length in zip(files, seconds):
            if used >= amount * 60:
                break
            chosen.append(path)
            used += length
        dataset = build_dataset(chosen, work / f"dataset-{amount:g}", audio_config=source.audio_config,
                                progress=False)
        row = {"audio_minutes": round(used / 60, 2), "files": len(chosen),
               "linear_predictor_16": score_baselines(dataset_pieces(dataset, "train"), held_pieces,
                                                      mu=source.audio_config.mu)["linear_predictor_16"]}
        arms = {"scratch": (None, 0.01), "fine-tuned": (arguments.model, arguments.fine_tune_learning_rate)}
        epochs = run_jobs(_train, [(str(dataset.path), work / f"run-{amount:g}-{name}", arguments.minutes, *arm)
                                   for name, arm in arms.items()], side_by_side=arguments.side_by_side)
        for (name, _), count in zip(arms.items(), epochs):
            row[name] = held_out_bits(load_run_model(work / f"run-{amount:g}-{name}"))
            row[f"{name}_epochs"] = count
        row["gain_over_scratch"] = row["scratch"] - row["fine-tuned"]
        results["rows"].append(row)
        print(json.dumps(row), flush=True)

    print(f"\nheld-out bits per sample on {results['held_out_minutes']} min of the unseen voice "
          f"({arguments.minutes:g} min of training each; {arguments.model} untrained: {results['no_training']:.3f})")
    print(f"{'audio':>8}{'scratch':>10}{'fine-tuned':>12}{'gain':>7}{'lin. pred.':>12}")
    for row in results["rows"]:
        print(f"{row['audio_minutes']:>6.1f} m{row['scratch']:>10.3f}{row['fine-tuned']:>12.3f}"
              f"{row['gain_over_scratch']:>7.3f}{row['linear_predictor_16']:>12.3f}")
    (work / "adaptation.json").write_text(json.dumps(results, indent=1))
    print(f"\nwrote {work / 'adaptation.json'}")


if __name__ == "__main__":
    main()
