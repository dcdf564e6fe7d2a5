"""Command line: one parser with subcommands; handlers call library functions.

``AudioRNN.py`` runs :func:`main`; ``AudioRNNData.py`` and ``AudioRNNEval.py``
run the ``data`` and ``eval`` subcommands. Library functions never see
argparse: the parsed arguments are unpacked into keyword arguments here, and
:func:`main` is the one place that turns an :class:`AudioRNNError` into a
one-line message and its exit code (2 for bad input, 74 where the machine refused a write).
"""

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
from pathlib import Path

# Before TensorFlow is first imported (by a handler): only its warnings and errors (an error line can hold the
# cause of a failure, as a GPU library's version; backend.start keeps the start-up lines off the terminal).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from . import __version__
from .features import FORMATS, KINDS
from .config import (AUDIO_OPTIONS, BUILD_OPTIONS, MODEL_OPTIONS, TRAIN_OPTIONS, VALIDATION_FRACTION, VOCODE_TAIL,
                     REFINE_PASSES,
                     AudioConfig, LevelNamed, ModelConfig, TrainConfig)
from .errors import MACHINE_REFUSED_EXIT, AudioFileError, AudioRNNError, ParameterError, WorkerLost

__all__ = ["DEFAULT_DEMO_FOLDER", "SAMPLE_DATA", "build_parser", "main"]

logger = logging.getLogger("audiornn")

REPOSITORY = Path(__file__).resolve().parent.parent
# The bundled sample of real speech, used by every command given no audio.
SAMPLE_DATA = REPOSITORY / "data"
DEFAULT_DEMO_FOLDER = Path("runs") / "demo"


class _Once(argparse.Action):
    """A folder or file option given once. Given twice, the first is most likely a file whose name starts with
    "-" (what the shell's ``*.wav`` gives) read as the option: ``-old.wav`` is ``-o ld.wav``, which the second
    would silently replace."""

    def __call__(self, parser, namespace, values, option_string=None):
        if self.dest in namespace.__dict__.setdefault("_given_once", set()):
            parser.error(f"{'/'.join(self.option_strings)} given twice ({getattr(namespace, self.dest)!r}, then "
                         f"{values!r}): name it once. A file whose name starts with '-' is read as an option: "
                         f"write it ./-NAME (or put -- before the files)")
        namespace._given_once.add(self.dest)
        setattr(namespace, self.dest, values)


def _add_audio_options(parser):
    defaults = AudioConfig()
    group = parser.add_argument_group("audio processing")
    # None when not given, so that a command can tell (train refuses them beside --dataset).
    group.add_argument("--sample-rate", type=int, default=None,
                       help=f"training rate in Hz; inputs are resampled to it (default {defaults.sample_rate})")
    group.add_argument("--preemphasis", type=float, default=None,
                       help=f"pre-emphasis coefficient in [0, 1); 0 turns it off (default {defaults.preemphasis})")
    group.add_argument("--mu", type=int, default=None,
                       help=f"mu of the mu-law, 1..255; mu + 1 classes (default {defaults.mu})")




def _add_feature_option(parser):
    parser.add_argument("--features", choices=KINDS, default=None,
                        help="also store spectrogram frames aligned to the samples: a model trained on them is a "
                             "vocoder (the vocode command). mel: 40 log-mel bands every 10 ms at any rate; or the "
                             "frames a text-to-speech front end emits, made as its code makes them, at its rate: "
                             + "; ".join(f"{name}: {spec.bands} bands every {spec.hop} samples at {spec.sample_rate} "
                                         f"Hz ({spec.source})" for name, spec in FORMATS.items()))


def _add_label_options(parser, what="the dataset's files"):
    group = parser.add_argument_group("labels (speaker, language, instrument)")
    group.add_argument("--labels-from-folders", action="store_true",
                       help=f"label {what} by folder: each INPUT folder's immediate sub-folders are the labels "
                            f"(speech/allison/*.wav -> allison); or give inputs as NAME=PATH")
    group.add_argument("--labels", metavar="CSV", dest="label_list",
                       help=f"label {what} by a list: a CSV of path,label rows (paths relative to it)")


def _labelled_inputs(arguments, inputs):
    """``(inputs, labels)`` for build_dataset / scoring: NAME=PATH inputs become a dict."""
    from .labels import FOLDERS, parse_named_inputs

    inputs = parse_named_inputs(inputs)
    given = [flag for flag, value in (("--labels-from-folders", arguments.labels_from_folders),
                                      ("--labels", arguments.label_list)) if value]
    if len(given) + isinstance(inputs, dict) > 1:
        ways = (["NAME=PATH inputs"] if isinstance(inputs, dict) else []) + given
        raise ParameterError(f"labels are given by {' and by '.join(ways)}: use one way")
    # The list as a Path: only the string "folders" means by folder, whatever the list file is called.
    return inputs, FOLDERS if arguments.labels_from_folders else (
        Path(arguments.label_list) if arguments.label_list else None)


def _add_data_arguments(parser):
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="audio files or folders (searched recursively; any format soundfile reads, and raw "
                             "G.722 as .g722 at 16 kHz), or NAME=PATH to label them; default: the bundled sample "
                             "in data/")
    parser.add_argument("--output", "-o", action=_Once, required=True, metavar="DIR",
                        help="dataset folder to create")
    _add_audio_options(parser)
    _add_build_options(parser)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a different dataset already in DIR")
    _add_feature_option(parser)
    _add_label_options(parser)


def _add_build_options(parser):
    """How audio files become a dataset: the data command's, and train's for INPUT (None when not given, so that
    train can refuse them beside --dataset or --resume)."""
    parser.add_argument("--validation-fraction", type=float, default=None,
                        help=f"share of the audio held out for validation: whole files when there "
                             f"are several (the tail of one when no whole file fits the share), the tail when "
                             f"there is one (default {VALIDATION_FRACTION})")
    parser.add_argument("--trim-silence", type=float, default=None, metavar="DB",
                        help="cut each file's start and end quieter than DB decibels below its peak")
    parser.add_argument("--strict", action="store_true", default=None,
                        help="stop at the first unreadable, silent or broken file instead of "
                             "skipping it")
    parser.add_argument("--keep-near-copies", action="store_true", default=None,
                        help="keep a file of the same name and length as one read already whose coarse spectrogram "
                             "moves with it (taken for the same recording in another format, rate or level, and "
                             "skipped, unless this is given: two voices reading the same words the same way can "
                             "look alike)")
    parser.add_argument("--exclude", action="append", default=None, metavar="PATTERN",
                        help="leave out the files of the input folders that PATTERN matches, a glob as .gitignore "
                             "has them: without a '/', a file's or a folder's name at any depth ('beep*', "
                             "'*2tone*', 'silence': all of that folder); with a '/', the path below the input folder "
                             "('silence/*', 'old/takes'); repeat it for more patterns")


def _build_options(arguments):
    """The dataset-building flags given, as :func:`audiornn.dataset.build_dataset`'s keyword arguments."""
    given = {field: getattr(arguments, flag[2:].replace("-", "_")) for field, flag in BUILD_OPTIONS.items()}
    return {field: value for field, value in given.items() if value is not None}


def _audio_options(arguments):
    """The audio flags given (a front end's --features sets the rate it is made at, :func:`features.rate_for`)."""
    from .features import rate_for

    options = {field: getattr(arguments, field) for field in AUDIO_OPTIONS}
    options["sample_rate"] = rate_for(getattr(arguments, "features", None), options["sample_rate"])
    return options


def _audio_config(arguments):
    return AudioConfig(**{field: value for field, value in _audio_options(arguments).items() if value is not None})


def sample_data():
    """The bundled speech sample: data/ of the repository (or of the current folder)."""
    for folder in (SAMPLE_DATA, Path.cwd() / "data"):
        if (folder / "CREDITS.md").is_file():
            return folder
    raise AudioFileError(f"the bundled sample is not in '{SAMPLE_DATA}' (it ships in the repository's "
                         f"data/ folder, not in a package install): run in a clone of the repository (its data/ is "
                         f"found from its folder too), or name INPUT audio (audiornn-data AUDIO... --output DIR, "
                         f"then train --dataset DIR)", reason="missing")


def _inputs_or_sample(inputs):
    if inputs:
        return inputs
    folder = sample_data()
    # A warning, shown under --quiet too: a forgotten argument would otherwise train on the demo's audio unsaid.
    logger.warning("no INPUT given: using the bundled sample in %s (name your audio files or folders, or give "
                   "--dataset DIR)", folder)
    return [folder]


def run_data(arguments):
    from .config import shown_labels
    from .dataset import build_dataset

    inputs, labels = _labelled_inputs(arguments, arguments.inputs)
    dataset = build_dataset(
        inputs if inputs or labels else _inputs_or_sample(inputs), arguments.output, labels=labels,
        features=arguments.features,
        audio_config=_audio_config(arguments), **_build_options(arguments),
        overwrite=arguments.overwrite, progress=not arguments.quiet)
    labels = f", labels {shown_labels(dataset.labels)}" if dataset.labels else ""
    skipped = dataset.metadata.get("skipped") or {}
    reasons = [f"{len(paths)} {reason.replace('_', ' ')}" for reason, paths in sorted(skipped.items())]
    why = f": {', '.join(reasons)}" if reasons else ""
    others = len(dataset.other_formats)
    others = f"; {others} left out as another format of a file read" if others else ""
    print(f"dataset: {dataset.path} ({dataset.seconds('train'):.1f} s training, "
          f"{dataset.seconds('validation'):.1f} s validation, "
          f"{dataset.metadata['skipped_count']} file(s) skipped{why}{others}{labels})")
    return 0


def run_demo(arguments):
    """The main job on the bundled sample: data, training, generation, pictures, score."""
    from .commands import demo

    demo(arguments.output, sample_data(), minutes=arguments.minutes, seconds=arguments.seconds,
         progress=not arguments.quiet, say=lambda line: print(line, flush=True))
    return 0


def _add_config_options(group, options, defaults):
    for flag, (field, kind, text) in options.items():
        group.add_argument(flag, type=kind, default=None, help=text.format(default=getattr(defaults, field)))


def _given(arguments, options):
    """The config fields the user set on the command line."""
    return {field: getattr(arguments, flag[2:].replace("-", "_")) for flag, (field, _, _) in options.items()
            if getattr(arguments, flag[2:].replace("-", "_")) is not None}


def _model_options(arguments):
    """The model config fields given on the command line, the two --no- flags included."""
    model = _given(arguments, MODEL_OPTIONS)
    if arguments.no_laplace_prior:
        model["laplace_prior"] = False
    if arguments.no_linear_prediction:
        if model.get("linear_prediction"):
            raise ParameterError(f"--no-linear-prediction and --linear-prediction {model['linear_prediction']} "
                                 f"contradict each other: give one of them")
        model["linear_prediction"] = 0
    return model


def run_train(arguments):
    from .commands import train_command

    training = _given(arguments, TRAIN_OPTIONS)
    for flag, field, value in (("tensorboard", "tensorboard", True), ("no_carry_state", "carry_state", False)):
        if getattr(arguments, flag):
            training[field] = value
    if arguments.mixed_precision:
        training["mixed_precision"] = arguments.mixed_precision
    inputs, labels = _labelled_inputs(arguments, arguments.inputs)
    summary = train_command(
        inputs, output=arguments.output, dataset=arguments.dataset, resume=arguments.resume,
        init_from=arguments.init_from, labels=labels, features=arguments.features,
        model_options=_model_options(arguments), train_options=training,
        audio_options=_audio_options(arguments), build_options=_build_options(arguments),
        default_inputs=lambda: _inputs_or_sample([]),
        overwrite=arguments.overwrite,
        use_labels=not arguments.ignore_labels, use_features=not arguments.ignore_features,
        distribute=arguments.distribute, verbose="auto" if not arguments.quiet else 0,
        worker_timeout=arguments.worker_timeout, progress=not arguments.quiet)
    score = summary["validation"]
    print(f"run: {summary['run']} ({summary['epochs']} epoch{'' if summary['epochs'] == 1 else 's'}, "
          f"{summary['training_minutes']} min; "
          f"{summary['stop_reason']})\nbest model: {summary['model']} (epoch {summary['best_epoch']}): "
          f"{score['bits_per_sample']:.3f} bits per sample, accuracy {score['accuracy']:.3f} on the "
          f"validation audio")
    if summary.get("healthiest"):
        print(_healthiest_line(summary["healthiest"]))
    from .scoring import label_bits

    for name, label in score.get("labels", {}).items():
        bits = label_bits(label)
        print(f"  label {name}: {bits}{'' if label['bits_per_sample'] is None else ' bits per sample'} "
              f"({label['files']} file(s))")
    return 0


def run_generate(arguments):
    from .commands import generate_command

    generate_command(arguments.model, seconds=arguments.seconds, count=arguments.count,
                     temperature=arguments.temperature, seed=arguments.seed, prime=arguments.prime,
                     include_prime=arguments.include_prime, output=arguments.output, progress=not arguments.quiet,
                     label=_label_flag(arguments.label, arguments.count, "streams (--count)"),
                     prime_label=arguments.prime_label, tail=arguments.tail, score_against=arguments.score_against,
                     overwrite=arguments.overwrite)
    return 0


def _label_flag(value, count, streams):
    """``--label a,b,c``: one name for every stream, or one per stream (``count`` of them, said as ``streams``)."""
    if value is None:
        return None
    names = [name.strip() for name in value.split(",")]
    if not all(names):
        raise ParameterError(f"--label {value!r} holds an empty name: give label names separated by commas, with "
                             f"nothing else between them")
    if len(names) not in (1, count):
        raise ParameterError(f"--label gives {len(names)} labels for {count} {streams}: give one for all, or one "
                             f"for each")
    return names[0] if len(names) == 1 else names


def run_vocode(arguments):
    from .commands import vocode_command

    vocode_command(arguments.model, arguments.inputs, temperature=arguments.temperature, seed=arguments.seed,
                   output=arguments.output, progress=not arguments.quiet, tail=arguments.tail,
                   label=_label_flag(arguments.label, len(arguments.inputs), "inputs"), fold=arguments.fold,
                   overwrite=arguments.overwrite, any_spread=arguments.any_spread, refine=arguments.refine)
    return 0


def run_models(arguments):
    from .pretrained import format_models_table

    print(format_models_table())
    return 0


def _healthiest_line(healthiest):
    """train's line for its healthiest model: a check whose every stream was stuck names it the least bad."""
    from .health import share_text
    from .training import least_bad_note

    flaws = "".join(f", {healthiest[key]} with {name}" for key, name in (("burst", "loud bursts"),
                                                                         ("few_tones", "few held tones"))
                    if healthiest.get(key))
    return (f"healthiest model: {healthiest['model']} (epoch {healthiest['epoch']}): {healthiest['stuck']} of "
            f"{healthiest['streams']} streams stuck{flaws}, {share_text(healthiest['in_range'])} of windows at the "
            f"training level{least_bad_note(healthiest)}")


def run_eval(arguments):
    from .commands import evaluate_command

    if arguments.refine is not None and not arguments.resynthesis:
        raise ParameterError(f"--refine {arguments.refine} sets the passes of --resynthesis's vocoding, and no "
                             f"--resynthesis is asked: add --resynthesis, or leave --refine out")
    audio, labels = _labelled_inputs(arguments, arguments.audio or [])
    evaluate_command(
        arguments.runs, model=arguments.model, audio=audio, labels=labels, dataset=arguments.dataset,
        label=arguments.label, resynthesis=arguments.resynthesis, identify=arguments.identify, sound=arguments.sound,
        contact_sheet=arguments.contact_sheet, seconds=arguments.seconds, seed=arguments.seed,
        output=arguments.output, json_path=arguments.json, overwrite=arguments.overwrite,
        progress=not arguments.quiet, say=print, x_axis=arguments.x_axis,  # (each file said as it is written)
        refine=REFINE_PASSES if arguments.refine is None else arguments.refine)
    return 0


def build_parser(name="AudioRNN.py"):
    """The command line's parser; ``name``: the command as usage and errors name it (a package install's
    ``audiornn``)."""
    parser = argparse.ArgumentParser(
        prog=name,
        description="Learn raw audio one sample at a time and generate new audio from it. "
                    "With no subcommand, runs the demo on the bundled sample in data/ (and takes the demo's "
                    f"options: {name} --minutes 1). Options go after the command.")
    parser.add_argument("--version", action="version", version=f"audiornn {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true", help="no progress bars or info lines")
    common.add_argument("--verbose", action="store_true",
                        help="also show the backend's own start-up lines (device probes, CPU features)")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")

    data = subcommands.add_parser("data", parents=[common], help="build a dataset folder from audio files",
                                  description="Build a dataset folder: resample, pre-emphasise and "
                                              "mu-law encode audio files and folders.")
    _add_data_arguments(data)
    data.set_defaults(handler=run_data)

    train = subcommands.add_parser(
        "train", parents=[common], help="train a model (or continue one with --resume)",
        description="Train a softmax RNN on a dataset folder (or on audio, building the dataset "
                    "into RUN/dataset first). Progress is saved every epoch; --resume continues.")
    train.add_argument("inputs", nargs="*", metavar="INPUT",
                       help="audio files or folders to build the dataset from (instead of --dataset; .g722 "
                            "read as raw G.722 at 16 kHz); NAME=PATH labels them; default, with neither: the "
                            "bundled sample in data/, with a warning")
    train.add_argument("--dataset", "-d", action=_Once, metavar="DIR", help="a dataset folder from the data command")
    train.add_argument("--output", "-o", action=_Once, metavar="RUN", help="new run folder")
    train.add_argument("--resume", metavar="RUN", help="continue this run from its last completed epoch (a "
                                                        "--minutes or --epochs given replaces its budget)")
    train.add_argument("--overwrite", action="store_true", help="replace a run already in --output")
    train.add_argument("--init-from", metavar="RUN_OR_MODEL",
                       help="start a new run from the weights of a trained model (a run folder, a .keras file, "
                            f"or a shipped model's name: {name} models lists them): its model and audio "
                            "settings, a new optimizer and schedule")
    train.add_argument("--tensorboard", action="store_true", help="write TensorBoard logs to RUN/logs (needs "
                                                                   "TensorFlow installed, on either backend)")
    train.add_argument("--mixed-precision", choices=("bfloat16",), default=None,
                       help="compute the layers in bfloat16 with float32 weights (the logits, softmax and loss in "
                            "float32): faster on GPUs; generation stays float32")
    train.add_argument("--ignore-labels", action="store_true",
                       help="train a model without labels on a labelled dataset (scored per label all the same), "
                            "to compare with the labelled one")
    train.add_argument("--ignore-features", action="store_true",
                       help="train a model without the spectrogram features of a dataset that has them (by default "
                            "such a dataset trains a vocoder), to compare with the vocoder")
    train.add_argument("--no-carry-state", action="store_true",
                       help="start every training window from a zero state instead of carrying the "
                            "recurrent state from the previous batch (truncated backpropagation "
                            "through time, the default)")
    train.add_argument("--worker-timeout", type=float, default=300.0, metavar="SECONDS",
                       help="with TF_CONFIG: how long to wait for the other workers to join (default %(default)g)")
    train.add_argument("--distribute", choices=("auto", "mirrored", "multiworker", "none"), default="auto",
                       help="auto: MirroredStrategy on several GPUs, MultiWorkerMirroredStrategy "
                            "with TF_CONFIG (default); on JAX, data-parallel over several devices (multiworker is "
                            "TensorFlow's)")
    _add_config_options(train.add_argument_group("training"), TRAIN_OPTIONS, TrainConfig())
    group = train.add_argument_group("model (new runs only)")
    _add_config_options(group, MODEL_OPTIONS, ModelConfig())
    group.add_argument("--no-laplace-prior", "--no-peak", dest="no_laplace_prior", action="store_true",
                       help="leave out the Laplace density added to the logits, and with it the "
                            "linear predictor (default: with it)")
    group.add_argument("--no-linear-prediction", dest="no_linear_prediction", action="store_true",
                       help="leave out the linear predictor inside the model (the same as --linear-prediction 0)")
    _add_audio_options(train)
    _add_build_options(train.add_argument_group("dataset from INPUT (built into RUN/dataset)"))
    _add_feature_option(train)
    _add_label_options(train, "INPUT")
    train.set_defaults(handler=run_train)

    generate = subcommands.add_parser(
        "generate", parents=[common], help="generate audio from a trained model",
        description="Generate audio one sample at a time, carrying the recurrent state, and write "
                    "16-bit PCM WAV at the model's sample rate.")
    generate.add_argument("--model", "-m", action=_Once, required=True, metavar="MODEL",
                          help="a .keras model file, a run folder (its best model), or a shipped model's name "
                               f"('speech', 'music': {name} models lists them)")
    generate.add_argument("--seconds", "-s", type=float, default=10.0, help="length (default %(default)s)")
    generate.add_argument("--output", "-o", action=_Once, required=True, metavar="OUT.wav",
                          help="file to write; with --count N, OUT_1.wav ... OUT_N.wav")
    generate.add_argument("--overwrite", action="store_true", help="replace files already at --output")
    generate.add_argument("--temperature", "-t", type=float, default=1.0,
                          help="softmax temperature; 0 means argmax (default %(default)s)")
    generate.add_argument("--tail", type=float, default=0.0, metavar="P",
                          help="take probability P off every class before drawing, so the improbable ones are "
                               "never drawn (LPCNet's sampling; below 1/256; default %(default)s: none)")
    generate.add_argument("--seed", type=int, default=None,
                          help="random seed: the same seed makes the same audio again (default: a fresh one each "
                               "run; the Python API's default is 0)")
    generate.add_argument("--prime", metavar="AUDIO", help="audio to continue (any format and rate)")
    generate.add_argument("--include-prime", action="store_true", help="start the output with the prime")
    generate.add_argument("--count", "-n", type=int, default=1, help="streams generated together (default 1)")
    generate.add_argument("--label", "-l", metavar="NAME[,NAME...]",
                          help="a labelled model's label: one for every stream, or one per stream (--count)")
    generate.add_argument("--prime-label", metavar="NAME",
                          help="read --prime under this label, then go on under --label (prime with one voice, "
                               "continue in another; default: --label)")
    generate.add_argument("--score-against", nargs="+", metavar="AUDIO",
                          help="real audio files or folders: print how far what was generated sounds from "
                               "them (Frechet distance of log-mel frames), beside a linear predictor's audio")
    generate.set_defaults(handler=run_generate)

    evaluate = subcommands.add_parser(
        "eval", parents=[common], help="plot curves, score held-out audio, draw the sound",
        description="Plot runs' training curves (PNG), score a model on held-out audio beside "
                    "baselines that need no network, and draw generated next to real sound.")
    evaluate.add_argument("runs", nargs="*", metavar="RUN", help="run folders whose curves to plot together")
    evaluate.add_argument("--model", "-m", action=_Once, metavar="MODEL", help="a .keras model or a run folder to score")
    evaluate.add_argument("--audio", "-a", nargs="+", metavar="INPUT",
                          help="held-out audio files or folders to score --model on")
    evaluate.add_argument("--dataset", "-d", action=_Once, metavar="DIR",
                          help="the model's training dataset, for the baselines (default: the run's own)")
    evaluate.add_argument("--json", metavar="OUT", help="also write the score as JSON")
    evaluate.add_argument("--overwrite", action="store_true",
                          help="replace an existing --json, and files under the figures' names that audiornn did "
                               "not draw (its own figures are replaced without it)")
    evaluate.add_argument("--label", "-l", metavar="NAME",
                          help="a labelled model: score --audio under this label (default: each file's own, "
                               "from NAME=PATH inputs or --labels-from-folders), and draw under it")
    evaluate.add_argument("--resynthesis", action="store_true",
                          help="a vocoder: copy-synthesis of each --audio file, scored against it (PESQ, STOI, "
                               "log-mel distance) beside Griffin-Lim from the same frames; resynthesis.png")
    evaluate.add_argument("--refine", type=int, metavar="N",
                          help="--resynthesis: the passes vocode brings the network's audio to its frames in (0: "
                               f"the network's audio as drawn; default {REFINE_PASSES})")
    evaluate.add_argument("--identify", action="store_true",
                          help="score each --audio file under every label and print the lowest (the model as "
                               "a classifier), with the accuracy when the files' labels are known")
    _add_label_options(evaluate, "the --audio files")
    evaluate.add_argument("--sound", action="store_true",
                          help="score how generated audio sounds (its distance to the training audio, "
                               "between real held-out audio and a linear predictor's, and to the --audio files "
                               "when given), and draw it next to real audio (the drawing is the default for "
                               "--model without --audio)")
    evaluate.add_argument("--x-axis", choices=("epoch", "minutes"), default="epoch",
                          help="draw the curves against epochs (default) or minutes of training (the epochs' "
                               "seconds summed): runs of different speeds compared at equal time")
    evaluate.add_argument("--contact-sheet", action="store_true",
                          help="spectrograms of previews from each run's checkpoints on one sheet")
    evaluate.add_argument("--seconds", type=float, default=6.0,
                          help="length of generated sounds drawn and scored (default %(default)s)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the generated sounds (default 0)")
    evaluate.add_argument("--output", "-o", action=_Once, metavar="DIR",
                          help="folder for the figures (default: the first run's folder, or the model's; for a "
                               "shipped model, the current folder)")
    evaluate.set_defaults(handler=run_eval)

    vocoder = subcommands.add_parser(
        "vocode", parents=[common], help="turn spectrograms (or recordings: copy-synthesis) back into audio",
        description="Run a vocoder (a model trained on a dataset built with --features: mel, speecht5, hifigan "
                    "or vocos) on the spectrogram "
                    "frames of recordings (any format and rate, made with the model's own preprocessing) or "
                    "on .npy frames made elsewhere; several inputs run together as one batch, long ones folded "
                    "into segments run side by side. Files appear only when complete.")
    vocoder.add_argument("inputs", nargs="+", metavar="INPUT", help="audio files, or .npy arrays of (frames, bands)")
    vocoder.add_argument("--model", "-m", action=_Once, required=True, metavar="MODEL",
                         help="a vocoder: .keras file, run folder, or a shipped one: 'vocoder' (8 kHz speech "
                              "from its 40-band log-mel frames) or 'vocoder-16k' (16 kHz speech from SpeechT5's "
                              "frames)")
    vocoder.add_argument("--output", "-o", action=_Once, required=True, metavar="OUT.wav",
                         help="file to write; with several inputs, OUT_1.wav ... in their order; a folder (there, "
                              "or ending in /): a .wav named after each input in it")
    vocoder.add_argument("--overwrite", action="store_true", help="replace files already at --output")
    vocoder.add_argument("--temperature", "-t", type=float, default=1.0,
                         help="softmax temperature; 0 means argmax (default %(default)s; below 1 a vocoder's "
                              "audio falls apart into noise or a tone)")
    vocoder.add_argument("--tail", type=float, default=VOCODE_TAIL, metavar="P",
                         help="take probability P off every class before drawing, so the improbable ones are "
                              "never drawn: fewer clicks and less noise between the harmonics (LPCNet's "
                              "sampling; below 1/256; 0: none; default %(default)s)")
    vocoder.add_argument("--refine", type=int, default=REFINE_PASSES, metavar="N",
                         help="passes bringing the network's audio to its frames band by band, its phases kept "
                              "(far less noise between the harmonics; 0: the network's audio as drawn; default "
                              "%(default)s)")
    vocoder.add_argument("--seed", type=int, default=None,
                          help="random seed: the same seed makes the same audio again (default: a fresh one each "
                               "run; the Python API's default is 0)")
    vocoder.add_argument("--label", "-l", metavar="NAME[,NAME...]",
                         help="a vocoder trained with labels: the label (voice) to vocode in, one for every input or "
                              "one per input")
    vocoder.add_argument("--any-spread", action="store_true",
                         help="take frames in the model's unit that vary more than speech does (otherwise refused "
                              "as likely in another unit, such as natural-log magnitude given for log10)")
    vocoder.add_argument("--no-fold", dest="fold", action="store_false",
                         help="vocode each input as one stream, written as it is made (by default an input of six "
                              "seconds or more is cut into segments of three seconds or more, vocoded side by side and "
                              "cross-faded: several times faster)")
    vocoder.set_defaults(handler=run_vocode)

    models = subcommands.add_parser("models", parents=[common], help="list the models that ship with audiornn",
                                    description="The shipped models, usable by name wherever a model is taken "
                                                "(generate --model speech, train --init-from music, "
                                                "vocode --model vocoder).")
    models.set_defaults(handler=run_models)

    demo = subcommands.add_parser(
        "demo", parents=[common], help="the main job on the bundled sample (the default)",
        description=f"The main job on the bundled speech sample in data/ (what {name} with no command runs): "
                    "build its dataset, train the default model for --minutes, generate --seconds of audio, draw "
                    "the curves and the sound beside real speech, and score the model beside baselines; all under "
                    "--output.")
    demo.add_argument("--output", "-o", action=_Once, default=str(DEFAULT_DEMO_FOLDER), metavar="DIR",
                      help="folder for everything the demo writes (default %(default)s)")
    demo.add_argument("--minutes", type=float, default=3.0, help="training time (default %(default)s)")
    demo.add_argument("--seconds", type=float, default=10.0, help="audio to generate (default %(default)s)")
    demo.set_defaults(handler=run_demo)
    return parser


INTERRUPTED, TERMINATED = 130, 143  # exit codes, as a shell gives them: 128 + SIGINT's number, 128 + SIGTERM's
_TERMINATED = threading.Event()  # the interrupt being handled came from SIGTERM


def _stop_on_sigterm(signum, frame):
    _TERMINATED.set()
    raise KeyboardInterrupt  # a kill from a scheduler or a service stops like Ctrl-C: whole files only


def _interrupted_code():
    """The exit code of an interrupted command: 143 where SIGTERM stopped it (what a scheduler or a service
    manager expects of a process it terminated), 130 for Ctrl-C."""
    return TERMINATED if _TERMINATED.is_set() else INTERRUPTED


INTERRUPT_GRACE = 5.0  # seconds the main thread has to stop after Ctrl-C or SIGTERM before it is stopped


@contextlib.contextmanager
def _interrupts_end_at_once(prog):
    """Ctrl-C and SIGTERM end the command even where Python cannot run its handler.

    The handler raises KeyboardInterrupt in the main thread between two Python
    instructions; inside a long C++ call of TensorFlow (a collective operation
    waiting for a worker that is gone) there are none. Python also writes every
    signal to a "wakeup" pipe, whichever thread receives it: a watcher thread
    reads it and, if the process is still there ``INTERRUPT_GRACE`` seconds
    later, says so and ends it. Every file is whole at any moment (atomic
    writes, the run folder's commit rule), so nothing is lost.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    read, write = os.pipe()
    os.set_blocking(write, False)
    previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    finished = threading.Event()

    def watch():
        while True:
            try:
                received = os.read(read, 1)
            except OSError:
                return
            if not received:
                return  # the command ended: the pipe was closed
            if received[0] in (signal.SIGINT, signal.SIGTERM) and not finished.wait(INTERRUPT_GRACE):
                from .files import remove_unfinished

                halves = "; what was half written is removed" if remove_unfinished() else ""
                sys.stderr.write(f"{prog}: interrupted; stopped at once (it did not stop by itself within "
                                 f"{INTERRUPT_GRACE:g} s); every file written is whole{halves}\n")
                sys.stderr.flush()
                os._exit(TERMINATED if received[0] == signal.SIGTERM else INTERRUPTED)

    watcher = threading.Thread(target=watch, name="audiornn-interrupts", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        finished.set()
        signal.set_wakeup_fd(previous)
        os.close(write)
        watcher.join(timeout=1.0)
        os.close(read)


def main(argv=None, *, prog=None, name="AudioRNN.py"):
    """Run the command line; returns the exit code (0 ok, 2 bad input, 74 the machine refused a write (a full
    disk, no permission), 130 interrupted by Ctrl-C, 143 by SIGTERM). ``prog``: a thin script's name, for one
    command (AudioRNNData.py); ``name``: the whole command line's (a package install's ``audiornn``)."""
    parser = build_parser(name)
    argv = sys.argv[1:] if argv is None else argv
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    if prog:  # a thin script (AudioRNNData.py: "data" and its arguments): its own name in usage and errors
        parser.prog = prog
        if argv and argv[0] in commands.choices:
            commands.choices[argv[0]].prog = prog
            if "--version" in argv[1:]:  # (before what follows it is read: the version alone, as argparse does)
                print(f"audiornn {__version__}")
                return 0
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        # No subcommand: the demo, with its own options (AudioRNN.py --minutes 1); what the demo does not take
        # and names a command was meant for that command (AudioRNN.py -q train ...).
        named = [item for item in parser.parse_known_args(["demo", *argv])[1] if item in commands.choices]
        if named:
            before = " ".join(argv[:argv.index(named[0])])
            parser.error(f"{before} goes after the command: {parser.prog} {named[0]} {before} ...")
        argv = ["demo", *argv]
    arguments, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the command's own parser, with its usage (the top one's names no option of it)
        dashed = [item for item in unknown if item.startswith("-") and os.path.exists(item)]
        hint = f" ('{dashed[0]}' is a file: give names that start with '-' after '--', as in -- {dashed[0]})" \
            if dashed else ""
        commands.choices[arguments.command].error(f"unrecognized arguments: {' '.join(unknown)}{hint}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LevelNamed())
    logging.basicConfig(level=logging.WARNING if arguments.quiet else logging.INFO, handlers=[handler])
    main_thread = threading.current_thread() is threading.main_thread()
    _TERMINATED.clear()
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm) if main_thread else None
    previous_interrupt = signal.getsignal(signal.SIGINT) if main_thread else None
    try:
        try:
            with _interrupts_end_at_once(parser.prog):
                if arguments.command not in ("data", "models"):
                    from . import backend  # Keras (and the backend) only for the commands that use them, in start()

                    backend.start(verbose=arguments.verbose)
                return arguments.handler(arguments)
        except AudioRNNError as error:
            _end_open_line()
            print(f"{parser.prog}: error: {error}", file=sys.stderr)
            if isinstance(error, WorkerLost):
                # TensorFlow's exit would wait at its shutdown barrier for the worker that is gone;
                # every file of the run is already whole, so leave now.
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(error.exit_code)
            return error.exit_code
        except OSError as error:  # a write the library did not expect to fail: a read-only disk, no permission
            _end_open_line()
            where = f" '{error.filename}'" if error.filename else ""
            from .files import LOCK, PARTIAL

            name = os.path.basename(str(error.filename or ""))
            if name == LOCK or PARTIAL.match(name):  # a held folder's lock or a half-written file: the user named
                where = f" in '{os.path.dirname(str(error.filename)) or '.'}'"  # the folder
            print(f"{parser.prog}: error: cannot write{where}: {error.strerror or error} (nothing half-written "
                  f"was left: free room there, or make it writable, and run the command again)", file=sys.stderr)
            return MACHINE_REFUSED_EXIT
        except KeyboardInterrupt:
            if previous_interrupt is not None:  # one interrupt is enough: more Ctrl-C while it ends are not
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # tracebacks (restored below, for callers in-process)
            _end_open_line()
            print(f"{parser.prog}: interrupted", file=sys.stderr)
            return _interrupted_code()
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            if previous_interrupt is not None:
                signal.signal(signal.SIGINT, previous_interrupt)
    except KeyboardInterrupt:  # a second Ctrl-C that came before the first was handled
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return _interrupted_code()


def script(argv=None, *, prog=None, name="AudioRNN.py"):
    """What a script runs: :func:`main`; returns the exit code. Interrupted, it leaves at once, without Python's
    shutdown: JAX's compiler threads, stopped mid-compile (Ctrl-C or SIGTERM in a first epoch), crashed it with a
    segmentation fault after the command had ended (exit 139 where 130 or 143 is meant); every file written is
    whole at any moment, so nothing is lost."""
    code = main(argv, prog=prog, name=name)
    if code in (INTERRUPTED, TERMINATED) and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # (a second Ctrl-C prints no traceback)
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # (a pipe whose reader is gone: | head, Ctrl-C)
                stream.flush()
        os._exit(code)
    return code


def audiornn_script():
    """``audiornn``, a package install's AudioRNN.py."""
    return script(name="audiornn")


def data_script():
    """``audiornn-data``, a package install's AudioRNNData.py."""
    return script(["data", *sys.argv[1:]], prog="audiornn-data")


def eval_script():
    """``audiornn-eval``, a package install's AudioRNNEval.py."""
    return script(["eval", *sys.argv[1:]], prog="audiornn-eval")


def _end_open_line():
    # On a terminal a progress bar may have left its line open: the message starts on a line of its own.
    if sys.stdout.isatty():
        print(file=sys.stdout, flush=True)
