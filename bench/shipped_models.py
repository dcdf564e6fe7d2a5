"""Train the models that ship with the package, and export them into ``audiornn/models/``.

Usage:
    python bench/shipped_models.py train speech [--minutes 70] [--work DIR]   # one material per process
    python bench/shipped_models.py train music  [--minutes 70] [--work DIR] [--input-noise 6] [--init-from music]
    python bench/shipped_models.py train vocoder [--minutes 130] [--work DIR]
    python bench/shipped_models.py train vocoder-16k [--minutes 130] [--work DIR]
    python bench/shipped_models.py score vocoder-16k [--files 20] [--work DIR]  # copy-synthesis scores
    python bench/shipped_models.py score vocoder-16k --shipped, then card vocoder-16k  # the shipped weights' card
    python bench/shipped_models.py train music --init-from music --learning-rate 0.001 --minutes 45 --health-every 2
    python bench/shipped_models.py export [MATERIAL...] [--work DIR] [--trained-on TEXT]  # into audiornn/models/
    python bench/shipped_models.py export music --healthiest   # the run's healthiest model, not its best by bits

``train`` builds the dataset of the dev material (the Asterisk US English
prompts or the Asterisk music on hold, 8 kHz, CC-BY-SA-3.0; the install line is
in bench/common.py), trains today's default model on it for ``--minutes``
(resumable: run the same command again after an interruption and it goes on) and
scores the best model on all of its validation audio. The vocoder learns the
US English and Mexican Spanish prompts of one voice with their log-mel frames
(the dataset of ``bench/vocoder.py``, which trains the same model: a run of
it can be exported by linking its folders as ``vocoder-run``,
``vocoder-dataset`` and its ``vocoder.json``). ``export`` writes each
best model without its optimizer state (the weights are all a user needs) and
its card in ``audiornn/models/models.json`` (the other cards are kept): what
it was trained on, how long, its credit and its full-validation bits beside
the baselines; a vocoder's card also has its copy-synthesis scores beside
Griffin-Lim's from ``vocoder.json`` in the work folder.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    SOUNDS,
    VOCODER16K_UNSEEN,
    VOCODER_UNSEEN,
    shipped_music_dataset,
    dev_speech_files,
    dev_speech_dataset,
    dev_vocoder16k_dataset,
    dev_vocoder_dataset,
    quiet_tensorflow,
)

quiet_tensorflow()

MATERIALS = {
    "speech": dict(
        dataset=dev_speech_dataset,
        description="speech: one woman's voice (Allison), US English telephone prompts, 8 kHz",
        data="Asterisk core sounds, en_US_f_Allison (asterisk-core-sounds-en-wav), 24 minutes, leaving out "
             "silence, beeps and tones",
    ),
    "music": dict(
        dataset=shipped_music_dataset,
        description="music: instrumental music on hold, 8 kHz",
        data="Asterisk music on hold (asterisk-moh-opsound-wav), 18 minutes: five pieces by Paul Shuler "
             "(Macroform), Manolo Camp and Reno Project, each piece's quiet start and fade-out cut (--trim-silence "
             "40)",
    ),
    "vocoder": dict(
        dataset=dev_vocoder_dataset,
        description="vocoder: speech from 40-band log-mel frames every 10 ms (audiornn's own, or a text-to-speech "
                    "model's made the same way), 8 kHz",
        data="Asterisk core sounds, en_US_f_Allison and es_MX_f_Allison (asterisk-core-sounds-en-wav, "
             "asterisk-core-sounds-es-wav), 54 minutes of one voice, leaving out silence, beeps and tones",
        unseen=lambda: [str(path) for path in dev_speech_files(SOUNDS / VOCODER_UNSEEN)],
    ),
    "vocoder-16k": dict(
        dataset=dev_vocoder16k_dataset,
        description="vocoder-16k: speech from SpeechT5's frames (80 mel bands every 256 samples, log10 of magnitude, "
                    "as transformers' SpeechT5FeatureExtractor makes them), 16 kHz",
        data="Asterisk core sounds at 16 kHz (G.722): en_US_f_Allison, ru_RU_f_IvrvoiceRU and it_IT_m_Carlo "
             "(asterisk-core-sounds-en-g722, -ru-g722, -it-g722), 71 minutes of two women's voices and a man's, "
             "leaving out silence, beeps and tones; fr_CA_f_June kept out to measure on",
        unseen=lambda: [str(path) for path in dev_speech_files(SOUNDS / VOCODER16K_UNSEEN, ".g722")],
        credit="trained on recordings licensed by their authors CC-BY-SA-3.0 (Allison Smith) and CC-BY-3.0 "
               "(Maxim Topal, ivrvoice.ru; Carlo Flora, translated by Silvia Petrin), as the Asterisk sound "
               "packages carry them (audiornn/models/CREDITS.md names them); the model is shared under "
               "CC-BY-SA-3.0",
    ),
}
CREDIT = ("trained on recordings licensed CC-BY-SA-3.0 by their authors (the Asterisk sound packages; "
          "audiornn/models/CREDITS.md names them); the model is shared under the same licence")
TRAINING = {"learning_rate": 3e-3, "patience": 30}
ROOT = Path(__file__).resolve().parent.parent
DESTINATION = ROOT / "audiornn" / "models"


# The health checks the shipped music model was chosen by (--health-every): 16 streams of 20 s each check.
HEALTH_STREAMS, HEALTH_SECONDS = 16, 20.0


def train_material(material, minutes, work, learning_rate, patience, input_noise=0.0, init_from=None,
                   batch_size=None, health_every=0):
    from audiornn import TrainConfig
    from audiornn.runs import is_run
    from audiornn.training import train

    dataset = MATERIALS[material]["dataset"](work / f"{material}-dataset")
    run = work / f"{material}-run"
    if is_run(run):
        if input_noise or init_from or batch_size is not None:
            sys.exit(f"{run} exists and is resumed as it was started: leave out --input-noise, --init-from and "
                     f"--batch-size, or give another --work")
        summary = train(resume=run, overrides={"minutes": minutes}, verbose=2)
    else:
        summary = train(dataset, run, verbose=2, init_from=init_from, train_config=TrainConfig(
            minutes=minutes, learning_rate=learning_rate, patience=patience, input_noise=input_noise,
            health_every=health_every, health_streams=HEALTH_STREAMS, health_seconds=HEALTH_SECONDS,
            batch_size=TrainConfig().batch_size if batch_size is None else batch_size))
    print(json.dumps(summary, indent=1, default=str), flush=True)


def _copy_synthesis(results):
    """The copy-synthesis means of ``bench/vocoder.py``'s (or ``score``'s) results, the vocoder's beside
    Griffin-Lim's (and the network's audio before ``vocode``'s refinement, and its passes, where scored)."""
    return {name: {"files": len(results[f"resynthesis {name}"]["files"]),
                   **{key: results[f"resynthesis {name}"][key] for key in ("refine", "momentum")
                      if results[f"resynthesis {name}"].get(key) is not None},
                   **{f"{method}_{measure}": results[f"resynthesis {name}"][method][measure]
                      for method in ("vocoder", "network", "griffin_lim")
                      for measure in ("pesq", "stoi", "f0_cents", "buzz")
                      if measure in results[f"resynthesis {name}"].get(method, {})}}
            for name in ("validation", "unseen voice")}


def scored_files(material, work, count):
    """The files ``score`` scores a vocoder on: ``{"validation": [...], "unseen voice": [...]}``, ``count`` of
    its dataset's held-out files and of the voice kept out, drawn the same way every time."""
    import numpy as np

    from audiornn.dataset import open_dataset

    dataset = open_dataset(work / f"{material}-dataset")
    rng = np.random.default_rng(0)
    held = sorted({entry["path"] for entry in dataset.metadata["sources"] if entry["split"] == "validation"})
    picks = {"validation": held, "unseen voice": MATERIALS[material]["unseen"]()}
    return {name: [files[index] for index in sorted(rng.choice(len(files), min(count, len(files)), replace=False))]
            for name, files in picks.items()}


def score_vocoder(material, work, count, seed, shipped=False):
    """Copy-synthesis of ``count`` held-out files of the voices it learned (its dataset's validation files) and
    of the voice kept out, against Griffin-Lim, as ``vocode`` makes it and the network's audio alone (no
    refinement): ``WORK/MATERIAL.json`` (as ``bench/vocoder.py`` writes it). ``shipped``: the shipped weights
    (their dataset built in ``WORK`` to draw the files from), not ``WORK/MATERIAL-run``."""
    import audiornn
    from audiornn.config import REFINE_MOMENTUM
    from audiornn.resynthesis import format_resynthesis_table, resynthesis_scores
    from audiornn.runs import load_run_model

    if shipped:
        MATERIALS[material]["dataset"](work / f"{material}-dataset")
    model = audiornn.load_model(material) if shipped else load_run_model(work / f"{material}-run")
    results = {}
    for name, files in scored_files(material, work, count).items():
        scores = resynthesis_scores(model, files, seed=seed)
        print(f"{material}, {name}:\n{format_resynthesis_table(scores)}", flush=True)
        network = resynthesis_scores(model, files, seed=seed, refine=0)["vocoder"]
        print("  the network's audio alone (--refine 0): " + ", ".join(
            f"{measure} {value:.3f}" for measure, value in network.items() if value is not None), flush=True)
        results[f"resynthesis {name}"] = {**{key: scores[key] for key in ("files", "vocoder", "griffin_lim", "refine")},
                                          "momentum": REFINE_MOMENTUM, "network": network}
    (work / f"{material}.json").write_text(json.dumps(results, indent=1, default=str))


def copy_synthesis_card(work, material):
    """The shipped ``material``'s card given the copy-synthesis scores of ``WORK/MATERIAL.json`` (``score
    --shipped``), its weights and the rest of its card as they are."""
    cards_path = DESTINATION / "models.json"
    cards = json.loads(cards_path.read_text())
    cards[material]["copy_synthesis"] = _copy_synthesis(json.loads((work / f"{material}.json").read_text()))
    print(material, json.dumps(cards[material]["copy_synthesis"], indent=1), flush=True)
    cards_path.write_text(json.dumps(cards, indent=1) + "\n")


def _healthiest(run, dataset):
    """The run's healthiest model (``healthiest.keras``, kept by ``--health-every``) and what its card says in
    place of the best model's: its epoch, its share of the run's minutes and steps, its bits on all the
    validation audio, and how it was chosen."""
    import numpy as np

    import audiornn
    from audiornn.runs import HEALTHIEST_MODEL, read_history, read_run_json
    from audiornn.scoring import evaluate_model

    state = read_run_json(run, "state.json")
    if not state.get("healthiest") or not (run / HEALTHIEST_MODEL).is_file():
        sys.exit(f"{run} has no healthiest model: train it with health checks (train --health-every N)")
    chosen, history = state["healthiest"], read_history(run)
    model = audiornn.load_model(run / HEALTHIEST_MODEL)
    seconds = float(history["seconds"][history["epoch"] <= chosen["epoch"]].sum())
    checks = int(np.isfinite(history["health_in_range"]).sum())
    facts = {"epochs": chosen["epoch"], "training_seconds": seconds,
             "optimizer_steps": None if state.get("optimizer_steps") is None
             else round(state["optimizer_steps"] * chosen["epoch"] / state["epochs_completed"]),
             "validation": evaluate_model(model, dataset),
             "chosen": f"the healthiest of {checks} health checks of {chosen['streams']} streams of "
                       f"{chosen['seconds']:g} s (epoch {chosen['epoch']} of {state['epochs_completed']}: "
                       f"{chosen['stuck']} streams stuck, {chosen['in_range']:.0%} of windows at the training level)"}
    return model, facts


def export(work, materials, trained_on=None, healthiest=False):
    from audiornn.baselines import score_baselines
    from audiornn.dataset import open_dataset
    from audiornn.runs import load_run_model, read_run_json, read_summary
    from audiornn.scoring import dataset_pieces

    DESTINATION.mkdir(exist_ok=True)
    cards_path = DESTINATION / "models.json"
    cards = json.loads(cards_path.read_text()) if cards_path.is_file() else {}
    earlier = dict(cards)  # the cards before this export: a fine-tuned model's starting point keeps its own
    for material in materials:
        facts, run = MATERIALS[material], work / f"{material}-run"
        if model_is_vocoder := material.startswith("vocoder"):
            results = work / f"{material}.json"
            if not results.is_file():
                sys.exit(f"{results} is missing: run bench/shipped_models.py score {material} --work {work} (or "
                         f"bench/vocoder.py, and link its vocoder.json there) for its copy-synthesis scores")
        summary = read_summary(run)
        state = read_run_json(run, "state.json")
        config = read_run_json(run, "config.json")
        dataset = open_dataset(work / f"{material}-dataset")
        chosen = None
        if healthiest:
            model, chosen = _healthiest(run, dataset)
            summary = dict(summary, validation=chosen["validation"])
            state = dict(state, epochs_completed=chosen["epochs"], training_seconds=chosen["training_seconds"],
                         optimizer_steps=chosen["optimizer_steps"])
        else:
            model = load_run_model(run)
        target = DESTINATION / f"{material}.keras"
        model.save(target)  # loaded uncompiled: the weights and the configs, no optimizer state
        baselines = score_baselines(dataset_pieces(dataset, "train"), dataset_pieces(dataset, "validation"),
                                    mu=model.audio_config.mu)
        cards[material] = {
            "file": target.name,
            "description": facts["description"],
            "data": facts["data"],
            "credit": facts.get("credit", CREDIT),
            "training_minutes": round(state["training_seconds"] / 60.0, 1),
            "learning_rate": config["training"]["learning_rate"],
            "input_noise": config["training"].get("input_noise", 0.0),
            "batch_size": config["training"]["batch_size"],
            "epochs": state["epochs_completed"],
            "optimizer_steps": state.get("optimizer_steps"),
            "validation_bits_per_sample": summary["validation"]["bits_per_sample"],
            "validation_minutes": round(dataset.seconds("validation") / 60, 1),
            "baselines": baselines,
            "parameters": int(model.count_params()),
            "bytes": target.stat().st_size,
        }
        # Is this the run the material's card already describes (exported again)? Then what only the card knows
        # (where it was trained, what it was fine-tuned from) is kept.
        previous = earlier.get(material, {})
        re_export = previous.get("epochs") == state["epochs_completed"] and previous.get(
            "fine_tuning_minutes", previous.get("training_minutes")) == cards[material]["training_minutes"]
        if trained_on or (re_export and "trained_on" in previous):
            cards[material]["trained_on"] = trained_on or previous["trained_on"]
        if config.get("init_from"):
            # Fine-tuned from a shipped model (its name, or a run named after it): the card keeps what it started
            # from and counts the minutes of both. Exporting the same run again keeps the same starting point; a
            # fine-tune of a fine-tuned model starts from that whole card (its own start nested in it).
            before = earlier.get(Path(config["init_from"]).stem.removesuffix("-run"), {})
            origin = previous["fine_tuned_from"] if re_export and "fine_tuned_from" in previous else {
                key: before[key] for key in ("training_minutes", "learning_rate", "epochs", "optimizer_steps",
                                             "trained_on", "validation_bits_per_sample", "data", "fine_tuned_from")
                if key in before}
            card = cards[material]
            card["fine_tuned_from"] = origin
            card["fine_tuning_minutes"] = card["training_minutes"]
            card["training_minutes"] = round(origin.get("training_minutes", 0.0) + card["fine_tuning_minutes"], 1)
            card["fine_tuning_steps"] = card.pop("optimizer_steps")
            if origin.get("optimizer_steps") is not None and card["fine_tuning_steps"] is not None:
                card["optimizer_steps"] = origin["optimizer_steps"] + card["fine_tuning_steps"]
        if chosen:
            cards[material]["chosen"] = chosen["chosen"]
        if model_is_vocoder:
            cards[material]["copy_synthesis"] = _copy_synthesis(json.loads(results.read_text()))
        print(material, json.dumps(cards[material], indent=1), flush=True)
    order = [name for name in MATERIALS if name in cards] + [name for name in cards if name not in MATERIALS]
    cards_path.write_text(json.dumps({name: cards[name] for name in order}, indent=1) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["train", "score", "export", "card"],
                        help="card: the shipped vocoder's copy-synthesis scores on its card from `score --shipped` "
                             "(its weights as they are)")
    parser.add_argument("material", nargs="*", help=f"train: one material ({', '.join(MATERIALS)}); export: these "
                                                     f"(default all)")
    parser.add_argument("--minutes", type=float, default=70.0, help="training budget (default 70)")
    parser.add_argument("--work", default="/tmp/audiornn-shipped", help="folder for the datasets and runs")
    parser.add_argument("--learning-rate", type=float, default=TRAINING["learning_rate"],
                        help="peak learning rate (default %(default)s: over an hour the default 0.01 stays high "
                             "for long, and the music model's loss rose after 7 minutes)")
    parser.add_argument("--patience", type=int, default=TRAINING["patience"],
                        help="epochs without a better validation loss before stopping (default %(default)s)")
    parser.add_argument("--input-noise", type=float, default=0.0,
                        help="train: noise injection, the largest standard deviation in μ-law classes (default 0)")
    parser.add_argument("--init-from", help="train: start from this model's weights (a shipped name or a run)")
    parser.add_argument("--batch-size", type=int, help="train: windows a batch (default the library's, 48; a GPU "
                                                          "takes more at the same cost a step)")
    parser.add_argument("--health-every", type=int, default=0,
                        help=f"train: check generation health every N epochs ({HEALTH_STREAMS} streams of "
                             f"{HEALTH_SECONDS:g} s) and keep the healthiest epoch's model (default 0: never)")
    parser.add_argument("--healthiest", action="store_true",
                        help="export: the run's healthiest model (kept by --health-every), not its best by bits")
    parser.add_argument("--trained-on", help="export: where it was trained, for the card (as 'one NVIDIA H200, JAX')")
    parser.add_argument("--files", type=int, default=20, help="score: files of each set (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="score: the vocoder's sampling seed (default 0)")
    parser.add_argument("--shipped", action="store_true", help="score: the shipped weights, not WORK/MATERIAL-run")
    arguments = parser.parse_args()
    unknown = sorted(set(arguments.material) - set(MATERIALS))
    if unknown:
        parser.error(f"unknown material {', '.join(unknown)}: choose from {', '.join(MATERIALS)}")
    work = Path(arguments.work)
    work.mkdir(parents=True, exist_ok=True)
    if arguments.command == "score":
        for material in arguments.material:
            score_vocoder(material, work, arguments.files, arguments.seed, arguments.shipped)
    elif arguments.command == "card":
        for material in arguments.material:
            copy_synthesis_card(work, material)
    elif arguments.command == "train":
        if len(arguments.material) != 1:
            parser.error(f"train needs one material: {', '.join(MATERIALS)}")
        train_material(arguments.material[0], arguments.minutes, work, arguments.learning_rate, arguments.patience,
                       arguments.input_noise, arguments.init_from, arguments.batch_size, arguments.health_every)
    else:
        if arguments.trained_on and len(arguments.material) != 1:
            parser.error("--trained-on describes one model's training: export that one material")
        if arguments.healthiest and len(arguments.material) != 1:
            parser.error("--healthiest exports one run's healthiest model: name that one material")
        export(work, arguments.material or list(MATERIALS), arguments.trained_on, arguments.healthiest)


if __name__ == "__main__":
    main()
