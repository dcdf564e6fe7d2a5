"""What the scripts' commands do that is more than one call: one library function each.

The command line (:mod:`audiornn.cli`) parses, calls one function per command
and prints; the work and its checks are here, where a notebook can call them
too. Messages name the command line's flags (:func:`audiornn.config.option`).

- :func:`train_command`: a new run from a dataset or from audio (built into
  ``RUN/dataset`` first, the run folder held from before the build to the end
  of training), started from a trained model (``init_from``, loaded once, its
  audio settings building the dataset), or a run resumed.
- :func:`generate_command`: audio generated from a model, each file's health
  said (its level against the training audio's) and, given real audio to
  hold it to, its sound scored.
- :func:`vocode_command`: audio from frames, each file named as it is written.
- :func:`demo`: the main job on the bundled sample, end to end.
- :func:`evaluate_command`: a model scored on held-out audio, as a classifier
  (``identify``), as a vocoder (``resynthesis``), and its generated sound
  drawn (and scored) beside real audio; run folders' curves plotted.
"""

import contextlib
import logging
import os
from pathlib import Path

from .cluster import WORKER_TIMEOUT
from .config import (BUILD_OPTIONS, REFINE_PASSES, VALIDATION_FRACTION, AudioConfig, ModelConfig, TrainConfig,
                     check_positive_number, command, option, shown_labels)
from .errors import AudioFileError, AudioRNNError, ParameterError, RunError
from .features import rate_for
from .files import check_writable, folder_for, make_folder, missing_folders, take_back_folders, write_json

__all__ = ["DEMO_FILES", "demo", "evaluate_command", "generate_command", "train_command", "vocode_command"]

logger = logging.getLogger("audiornn")


def _check_train_options(model_options, train_options, audio_options, build_options, *, dataset, resume, init_from,
                         use_labels, use_features, worker_timeout):
    """Refuse options that contradict each other or would be silently ignored, each naming its flag."""
    if init_from and model_options:
        given = [option(field) if isinstance(value, bool) else f"{option(field)} {value}"
                 for field, value in model_options.items()]
        raise ParameterError(f"--init-from takes the model from a trained one: {', '.join(given)} would change "
                             f"it; leave {'it' if len(given) == 1 else 'them'} out")
    if train_options.get("epochs") == 0:
        raise ParameterError("--epochs 0 would train nothing: give a positive number of epochs, or leave "
                             "--epochs out to train 20 (or until --minutes are used)")
    if model_options.get("preset") == "seed" and "sequence_length" in train_options:
        raise ParameterError(f"the seed preset reads windows of {option('window')} samples (default "
                             f"{ModelConfig.seed().window}), not {option('sequence_length')}: give --window instead")
    unknown = sorted(set(build_options) - set(BUILD_OPTIONS))
    if unknown:
        raise ParameterError(f"build_options takes {', '.join(BUILD_OPTIONS)} (how INPUT becomes RUN/dataset), not "
                             f"{', '.join(map(str, unknown))}")
    audio = [option(field) for field in audio_options]
    building = [option(field) for field in build_options]
    if dataset or resume:  # the dataset is built already: how INPUT would be built does not apply
        where = "--resume" if resume else "--dataset"
        if building:
            raise ParameterError(f"{', '.join(building)} {'says' if len(building) == 1 else 'say'} how INPUT audio "
                                 f"becomes the run's dataset; with {where} the dataset is built already: leave "
                                 f"{'it' if len(building) == 1 else 'them'} out, or build a dataset with "
                                 f"{'it' if len(building) == 1 else 'them'} ({command('AudioRNNData.py')})")
        if audio:
            raise ParameterError(f"{', '.join(audio)} {'applies' if len(audio) == 1 else 'apply'} only when INPUT "
                                 f"audio is given; with {where} the dataset's own audio settings are used: leave "
                                 f"{', '.join(audio)} out, or build a dataset with them")
    if build_options.get("validation_fraction") == 0:
        raise ParameterError("--validation-fraction 0 holds out no audio, and training needs some to score each "
                             "epoch and keep the best model: give a share above 0 (the default is "
                             f"{VALIDATION_FRACTION})")
    alone = [option(name) for name in ("health_streams", "health_seconds") if name in train_options]
    if alone and not resume and not train_options.get("health_every"):  # a resumed run's checks: checked there
        raise ParameterError(f"{' and '.join(alone)} {'size' if len(alone) > 1 else 'sizes'} the health checks of "
                             f"--health-every N, and no check is asked for: add --health-every N (check every N "
                             f"epochs), or leave {' and '.join(alone)} out")
    if not 0 < worker_timeout < float("inf"):
        raise ParameterError(f"--worker-timeout must be a positive number of seconds, got {worker_timeout!r}")
    for used, flag in ((use_labels, "--ignore-labels"), (use_features, "--ignore-features")):
        if not used and resume:
            raise ParameterError(f"{flag} is for a new run; a resumed run keeps its model as it was")


def train_command(inputs=(), *, output=None, dataset=None, resume=None, init_from=None, labels=None,
                  features=None, model_options=None, train_options=None, audio_options=None, build_options=None,
                  default_inputs=None, overwrite=False,
                  use_labels=True, use_features=True, distribute="auto", verbose="auto",
                  worker_timeout=WORKER_TIMEOUT, progress=True):
    """Train as the ``train`` command does; returns :func:`audiornn.training.train`'s summary.

    ``model_options``, ``train_options`` and ``audio_options``: the
    :class:`~audiornn.config.ModelConfig`, :class:`~audiornn.config.TrainConfig`
    and :class:`~audiornn.config.AudioConfig` fields the user gave (the rest
    are the defaults, or a resumed run's). ``inputs`` (audio files and folders,
    ``labels`` as :func:`audiornn.labels.labelled_files` takes them, and
    ``features``) are built into ``output/dataset``, with ``build_options``
    (``validation_fraction``, ``trim_silence_db``, ``strict``: as
    :func:`audiornn.dataset.build_dataset` takes them); or give ``dataset``.
    ``default_inputs``: what gives the inputs when none are given (the command
    line's bundled sample), called once every check has passed.
    Everything is checked before anything is written.
    """
    from .training import train

    model_options, train_options = dict(model_options or {}), dict(train_options or {})
    audio_options = {field: value for field, value in (audio_options or {}).items() if value is not None}
    build_options = {field: value for field, value in dict(build_options or {}).items() if value is not None}
    _check_train_options(model_options, train_options, audio_options, build_options, dataset=dataset, resume=resume,
                         init_from=init_from, use_labels=use_labels, use_features=use_features,
                         worker_timeout=worker_timeout)
    common = dict(distribute=distribute, verbose=verbose, worker_timeout=worker_timeout, use_labels=use_labels,
                  use_features=use_features)
    if resume:
        from .labels import FOLDERS

        labels_flag = "--labels-from-folders" if isinstance(labels, str) and labels == FOLDERS else "--labels"
        given = [flag for flag, value in (("INPUT", inputs), ("--output", output), ("--features", features),
                                           (labels_flag, labels), ("--overwrite", overwrite)) if value]
        if given:
            raise ParameterError(f"--resume continues a run as it was configured: {', '.join(given)} "
                                 f"{'does' if len(given) == 1 else 'do'} not apply to it; give only training "
                                 f"options such as --epochs, --minutes or --learning-rate with it")
        # Model options are checked against the run's (a resume cannot change the model).
        return train(dataset=dataset, resume=resume, overrides=train_options | model_options, init_from=init_from,
                     **common)
    if not output:
        raise ParameterError("train needs --output RUN (a new folder for the run) or --resume RUN")
    if dataset and inputs:
        raise ParameterError("give either INPUT audio or --dataset DIR, not both")
    if dataset and (labels or features):
        raise ParameterError("--labels-from-folders, --labels and --features apply to INPUT audio; a --dataset "
                             "has its own already: leave them out")
    if model_options.get("laplace_prior") is False:
        # The linear predictor works through the prior: without the prior, without it (unless asked).
        model_options.setdefault("linear_prediction", 0)
    model_config = None if init_from else ModelConfig.from_options(model_options)  # before anything is written
    train_config = TrainConfig(**train_options)
    audio_config = AudioConfig(**audio_options)
    start = None
    if init_from:
        from .training import check_preset_options, starting_point

        start = starting_point(init_from)  # loaded once: its audio settings build the dataset, its weights start
        check_preset_options(start["model"].model_config, train_options, f"--init-from '{init_from}'")
        source = start["model"].audio_config
        format_rate = rate_for(features, None)
        if format_rate and format_rate != source.sample_rate:  # the rate came with the format, not an audio flag
            own = start["model"].feature_config
            raise ParameterError(f"--features {features} is made at {format_rate} Hz and --init-from '{init_from}' "
                                 f"was trained at {source.sample_rate} Hz: "
                                 + (f"give its own --features {own.kind}" if own is not None else
                                    "start from a model of that rate") + " (or leave --init-from out)")
        if audio_options and not audio_config.same_processing(source):
            raise ParameterError(f"--init-from '{init_from}' was trained with other audio settings "
                                 f"({audio_config.describe_difference(source)}, yours first): leave the audio "
                                 f"flags out, and INPUT is built with the model's")
        audio_config = AudioConfig(sample_rate=source.sample_rate, mu=source.mu, preemphasis=source.preemphasis)
        if not dataset:
            _check_inputs_fit(start, init_from, labelled=labels is not None or isinstance(inputs, dict),
                              features=features, use_labels=use_labels, use_features=use_features)
    if not dataset:  # what can be refused without the dataset is refused before RUN/dataset is built
        from .training import check_health_size

        check_health_size(train_config, rate_for(features, None) or audio_config.sample_rate)
    with contextlib.ExitStack() as holding:
        if not dataset:
            if not inputs and labels is None and default_inputs is not None:
                inputs = default_inputs()
            made = missing_folders(output)
            try:
                dataset = _build_run_dataset(holding, inputs, output, labels, features, audio_config,
                                             build_options, overwrite, progress)
            except BaseException:  # the folders made for the run taken away again, as a build's own are
                holding.close()  # (the hold released first)
                take_back_folders(made)
                raise
        return train(dataset, output, model_config=model_config, train_config=train_config, overwrite=overwrite,
                     init_from=start, **common)


def _check_inputs_fit(start, init_from, *, labelled, features, use_labels, use_features):
    """Refuse, before RUN/dataset is built, INPUT that would make a dataset the model started from cannot train
    on: labels and frames as it has them (or left out on purpose with --ignore-labels, --ignore-features)."""
    config = start["model"].model_config
    origin = f"--init-from '{init_from}'"
    if use_features and config.features and not features:
        raise ParameterError(f"{origin} is a vocoder of {start['model'].feature_config.describe()}: add --features "
                             f"{start['model'].feature_config.kind} to build INPUT with its frames")
    if use_features and features and not config.features:
        raise ParameterError(f"{origin} reads no spectrogram frames, so it would not become a vocoder: leave "
                             f"--features out, or add --ignore-features to train it on the audio alone")
    own = start["model"].feature_config
    kind = features if isinstance(features, str) else getattr(features, "kind", None)
    if use_features and config.features and kind and own is not None and kind != own.kind:
        # refused before RUN/dataset is built of the other frames (the right command was then refused too)
        raise ParameterError(f"{origin} is a vocoder of {own.describe()}, not of --features {kind}: give "
                             f"--features {own.kind}")
    if use_labels and config.labels and not labelled:
        raise ParameterError(f"{origin} was trained with labels ({shown_labels(config.labels)}): label INPUT "
                             f"(NAME=PATH, --labels or --labels-from-folders)")
    if use_labels and labelled and not config.labels:
        raise ParameterError(f"{origin} was trained without labels: leave the labels out, or train a new labelled "
                             f"model")


def _build_run_dataset(holding, inputs, output, labels, features, audio_config, build_options, overwrite,
                       progress):
    """``inputs`` built into ``output/dataset``, the run folder held (by ``holding``) from before the build on
    through training."""
    from .dataset import build_dataset, check_build_parameters
    from .runs import hold_run, prepare_run_folder

    check_build_parameters(build_options.get("validation_fraction", VALIDATION_FRACTION),
                           build_options.get("trim_silence_db"))  # before the run folder is made
    prepare_run_folder(output, overwrite=overwrite, check_only=True)
    output = make_folder(output, "--output", RunError)
    holding.enter_context(hold_run(output, share_inside=True))  # the hold nests: training holds it again
    prepare_run_folder(output, overwrite=overwrite, check_only=True)
    # --overwrite starts the run over, its own dataset (RUN/dataset) with it.
    return build_dataset(inputs, Path(output) / "dataset", labels=labels, features=features,
                         audio_config=audio_config, progress=progress, overwrite=overwrite, **build_options)


def generate_command(model, *, score_against=(), say=print, **options):
    """``generate`` (its ``options``, with ``output``) from ``model`` (a path or a shipped model's name), then
    a line per file: its path, its health against the training audio (:mod:`audiornn.health`) and, with
    ``score_against`` (audio files), its sound scored against them. Quiet (``progress=False``), several files
    are one line of paths and one of health, with a line for each stream that is stuck. Returns the paths."""
    import soundfile

    from .audio_io import find_audio_files
    from .generation import generate, generated_samples
    from .health import format_health, format_summary, health, summarise
    from .sink import output_paths
    from .runs import load_run_model
    from .sound import format_sound_report, format_sound_reports

    loaded = load_run_model(model)
    if score_against and options.get("output") is not None:  # no file scored against, or beside one, written over
        find_audio_files(score_against)  # a wrong path is said first
        named = [Path(entry).expanduser() for entry in score_against]
        output_paths(options["output"], options.get("count", 1),
                     [path for entry in named for path in (entry.rglob("*") if entry.is_dir() else [entry])],
                     overwrite=True)  # only the inputs here: generate checks the rest
    # Read and measured before generating, so that a wrong path or a reference too short fails at once, and
    # so that what is generated into a folder scored against is not part of what it is held to.
    reference = _sound_reference(score_against, loaded.audio_config) if score_against else None
    healthy, held_to = _health_references(model, loaded, score_against, options.get("label"),
                                          options.get("count", 1), reference)
    against = "--score-against" if score_against else None  # what the health lines hold the streams to
    with _nothing_written_if_interrupted("generated"):
        paths = generate(loaded, **options)
    brief = not options.get("progress", True) and len(paths) > 1
    _say_written(say, paths, brief)
    reports, sounds = [], []
    # A file that starts with its prime (--include-prime) is judged and scored on what was generated after it
    made = generated_samples(options["seconds"], loaded.audio_config.sample_rate) \
        if options.get("include_prime") else None
    if made is not None and (healthy is not None or reference is not None):
        say(f"(the health{' and sound' if reference is not None else ''} below {'are' if reference is not None else 'is'} of the {made / loaded.audio_config.sample_rate:g} s "
            f"generated after the prime, which the files start with)")
    for index, path in enumerate(paths if healthy is not None or reference is not None else ()):
        audio = soundfile.read(str(path), dtype="float32")[0]
        audio = audio if made is None else audio[-made:]
        if healthy is not None:
            reports.append(health(audio, loaded.audio_config.sample_rate, healthy[index]))
            if not brief or any(reports[-1][key] for key in ("collapsed", "ran_away", "frozen", "burst", "few_tones")):
                say(format_health(reports[-1], label=path.name, against=against or held_to[index]))
        if reference is None:
            continue
        try:
            sounds.append((path.name, reference.report(audio)))
        except AudioFileError as error:  # the generated audio itself: too short or silent
            logger.warning("%s is kept but not scored: %s", path, error)
            continue
        if not brief:
            say(format_sound_report(sounds[-1][1], label=path.name, reference="--score-against"))
    if brief and reports:
        each = against or (held_to[0] if len(set(held_to)) == 1 else "each stream's label of the training audio")
        say(format_summary(summarise(reports, healthy[0]), label=f"{paths[0].name} ... {paths[-1].name}",
                           seconds=min(report["seconds"] for report in reports), against=each))
    if brief and sounds:  # one table, a row for each file
        say(format_sound_reports([report for _, report in sounds], [name for name, _ in sounds],
                                 reference="--score-against"))
    return paths


@contextlib.contextmanager
def _nothing_written_if_interrupted(made):
    """An interrupt of the block said with what it leaves: no file (each is written only once complete)."""
    try:
        yield
    except KeyboardInterrupt:
        logger.warning("interrupted: nothing %s was kept (a file is written only once it is complete); run the "
                       "command again for it", made)
        raise


def _say_written(say, paths, brief, sources=None):
    """A line per file written (with the input it was made from), or, ``brief``, one line for them all."""
    if brief:
        made = f" (from {sources[0]} ... {sources[-1]}, in their order)" if sources else ""
        say(f"wrote {len(paths)} files: {paths[0]} ... {paths[-1]}{made}")
        return
    for index, path in enumerate(paths):
        say(f"wrote {path}" + (f" (from {sources[index]})" if sources else ""))


def _sound_reference(paths, audio_config, option="--score-against", rates_said=False):
    from .scoring import audio_pieces
    from .sound import SoundReference

    named = ", ".join(f"'{path}'" for path in paths)
    try:
        pieces = audio_pieces(paths, audio_config, measured=None if rates_said else option)[0]
    except AudioFileError as error:  # a silent, empty or unreadable reference: which option gave it
        raise AudioFileError(f"{option}: {error}", reason=error.reason) from None
    return SoundReference(pieces, [], audio_config, name=f"{option} {named}")


def _health_references(model, loaded, score_against, label=None, count=1, sound=None):
    """What each of ``count`` streams' health lines holds it to: the training audio's levels and held partials
    (audiornn.health), of its label's files where the model and its dataset are labelled (``label``: one for all
    streams or one each); ``(None, None)``, with a warning, when there is no training audio to hold them to.
    With them, how a health line names each stream's: None for the training audio (or ``--score-against``), else
    "label 'X' of the training audio". ``sound``: the :class:`SoundReference` of ``score_against``, whose audio
    the levels are measured on (not read again)."""
    from .health import reference_for
    from .scoring import label_names

    names = label_names(loaded, label, count)  # (a label generate refuses is refused here, as it says it)
    try:
        if sound is not None:  # --score-against: one reference for every label
            references = dict.fromkeys(names, sound.levels())
        else:
            references = {name: reference_for(model, loaded.audio_config, score_against, label=name)
                          for name in dict.fromkeys(names)}
    except AudioRNNError as error:
        logger.warning("no health line: %s", error)
        return None, None
    if None in references.values():
        return None, None
    # A label's own files where its dataset has them (reference_for took them), else the whole training audio
    return [references[name] for name in names], [
        None if references[name].label is None else f"label '{references[name].label}' of the training audio"
        for name in names]


def vocode_command(model, inputs, *, say=print, **options):
    """``vocode`` (its ``options``) of ``inputs`` by ``model`` (a path or a shipped model's name), a line per
    file written (with ``output``; quiet, one line for several). Returns what ``vocode`` returns: the paths, or without ``output`` the audio."""
    from .runs import load_run_model
    from .vocoder import vocode

    if isinstance(inputs, (str, os.PathLike)):  # one input given alone
        inputs = [inputs]
    with _nothing_written_if_interrupted("vocoded"):
        paths = vocode(load_run_model(model), inputs, **options)
    if options.get("output"):
        _say_written(say, paths, not options.get("progress", True) and len(paths) > 1, sources=list(inputs))
    return paths


def _model_name(model):
    """A model as a score names it: a shipped model's name, else its path made absolute."""
    from .pretrained import shipped_models

    path = Path(model).expanduser()
    return str(model) if not path.exists() and str(model) in shipped_models() else str(path.absolute())


def model_folder(model):
    """The folder of a model: a run folder itself, or the folder holding a ``.keras`` file."""
    model = Path(model)
    return model if model.is_dir() else model.parent


class _Shown(list):
    """The text blocks of a command, each shown by ``say`` as soon as it is made (so that a later failure does not
    lose what was already measured)."""

    def __init__(self, say=None):
        super().__init__()
        self.say = say

    def append(self, block):
        super().append(block)
        if self.say is not None:
            self.say(block)


def evaluate_command(runs=(), *, model=None, audio=None, labels=None, dataset=None, label=None, resynthesis=False,
                     identify=False, sound=False, contact_sheet=False, seconds=6.0, seed=0, output=None,
                     json_path=None, overwrite=False, progress=True, say=None, x_axis="epoch", refine=REFINE_PASSES):
    """Evaluate as the ``eval`` command does: ``(results, text, written)``, the results (as written to
    ``json_path``), the tables to show (each given to ``say`` as soon as it is made, when given), and the files
    written (figures under ``output``, by default the first run's or the model's folder). Figures audiornn drew
    before are replaced; another file under a figure's name, or an existing ``json_path``, is refused before any
    work unless ``overwrite``. ``x_axis="minutes"`` draws the curves against minutes of training. ``refine``: the
    passes ``resynthesis`` vocodes with (``vocode``'s)."""
    if not (runs or model):
        raise ParameterError("give run folders to plot their curves, or --model MODEL with --audio to score it")
    if json_path and not model:
        raise ParameterError("--json writes a model's scores, and no --model is given: add --model MODEL (with "
                             "--audio to score), or leave --json out")
    if json_path and Path(json_path).expanduser().is_dir():  # (a file as --output: make_folder refuses it)
        raise ParameterError(f"--json '{json_path}' is a folder: name a file to write the scores to (nothing was "
                             f"done)")
    from .vocoder import check_refine

    refine = check_refine(refine)
    with contextlib.ExitStack() as made:  # a folder --output made is taken away again if the command fails empty
        if output:  # the figures' folder, made (with those above it) and checked before any scoring
            output = made.enter_context(folder_for(output, "--output"))
            check_writable(output / "curves.png", "--output")
        if json_path:  # its folder made as --output's is (after --output: the JSON may go in it)
            made.enter_context(folder_for(Path(json_path).expanduser().parent, "--json"))
            check_writable(json_path, "--json")
        return _evaluate(runs, model, audio, labels, dataset, label, resynthesis, identify, sound, contact_sheet,
                         seconds, seed, Path(output) if output else model_folder(runs[0] if runs else model),
                         json_path, overwrite, progress, say, x_axis, refine)


def _evaluate(runs, model, audio, labels, dataset, label, resynthesis, identify, sound, contact_sheet, seconds, seed,
              output, json_path, overwrite, progress, say, x_axis, refine):
    """:func:`evaluate_command`'s work, once its arguments and outputs are checked."""
    from . import evaluation

    _check_json_not_read(json_path, runs=runs, model=model, audio=audio, dataset=dataset, labels=labels)
    _check_eval_outputs(output, json_path, runs=runs, model=model, audio=audio, resynthesis=resynthesis,
                        sound=sound, contact_sheet=contact_sheet, overwrite=overwrite)
    # Each file said as it is written: a later failure (a full disk, a contact sheet refused) does not hide it
    results, text = {}, _Shown(say)
    written = _Shown(None if say is None else (lambda path: say(f"wrote {path}")))
    if runs:
        written.append(evaluation.save_figure(evaluation.plot_history(runs, x_axis=x_axis),
                                              output / "curves.png"))
        if contact_sheet:
            sounds, rate = evaluation.checkpoint_previews(runs, seconds=seconds, seed=seed)
            notes = evaluation.checkpoint_sound_notes(runs, sounds)
            written.append(evaluation.save_figure(evaluation.plot_contact_sheet(sounds, rate, notes=notes),
                                                  output / "contact_sheet.png"))
    if model:
        try:
            _evaluate_model(model, audio or [], labels, dataset, label, resynthesis, identify, sound, seconds, seed,
                            output, progress, results, text, written, refine)
        except AudioFileError as error:  # one bad file among --audio's: every file given is scored, or none
            if not audio or "--audio" in str(error) or not any(str(Path(entry).expanduser()) in str(error)
                                                                for entry in _plain_paths(audio)):
                raise
            several = str(error).split(" ", 1)[0].isdigit()  # "N of the M files cannot be used: ..." (scoring)
            raise AudioFileError(f"{error}: every file of --audio is scored, so leave {'them' if several else 'it'} "
                                 f"out of --audio (no score was written)", reason=error.reason) from None
        if json_path:  # with what was scored, and how: a JSON read later names its model
            write_json(json_path, {"model_file": _model_name(model), "seed": seed, **results})
            written.append(Path(json_path))
    return results, text, list(written)


def _is_eval_json(path):
    """True when ``path`` holds scores eval wrote (``--json``): JSON naming its ``model_file``."""
    import json

    try:
        return "model_file" in json.loads(Path(path).read_text())
    except (OSError, ValueError, TypeError, UnicodeDecodeError):
        return False


def _check_json_not_read(json_path, *, runs, model, audio, dataset, labels):
    """Refuse, even with --overwrite, a --json that eval reads: one of the --audio files (or an audio file in an
    --audio folder), the --labels list, the model's file, or a file of a run or dataset folder it reads (a run's
    own dataset too) that is not scores eval wrote there before."""
    from .audio_io import audio_extensions
    from .labels import FOLDERS
    from .runs import CONFIG, run_dataset_path

    if not json_path:
        return

    def real(path):
        return Path(os.path.realpath(Path(path).expanduser()))

    target = real(json_path)
    entries = [real(entry) for entry in _plain_paths(audio or []) if isinstance(entry, (str, os.PathLike))]
    listing = [real(labels)] if isinstance(labels, (str, os.PathLike)) and str(labels) != FOLDERS else []
    what = None
    if target in entries or target in listing:
        what = "one of the files it scores" if target in entries else "the --labels list it reads"
    elif model is not None and target == real(model):
        what = "the model it scores"
    elif target.is_file() and target.suffix.lower() in audio_extensions() and any(
            folder in target.parents for folder in entries):
        what = "an audio file in a folder given to --audio"
    else:
        models = [Path(path).expanduser() for path in (*runs, model) if path is not None]
        models = [path for path in models if path.exists()]  # (a shipped model's name is not a path here)
        folders = [folder for folder in (path if path.is_dir() else path.parent for path in models)
                   if (folder / CONFIG).is_file()]  # run folders (a model file elsewhere: its folder is not)
        folders += [Path(found) for found in map(run_dataset_path, models) if found is not None]
        folders += [Path(dataset).expanduser()] if dataset else []
        if target.parent in {real(folder) for folder in folders if folder.is_dir()} and target.is_file() \
                and not _is_eval_json(target):
            what = "a file of a run or dataset folder it reads"
    if what:
        raise ParameterError(f"--json '{json_path}' is {what}: it would be written over with the scores, even with "
                             f"--overwrite; name another file (nothing was done)")


def _check_eval_outputs(output, json_path, *, runs, model, audio, resynthesis, sound, contact_sheet, overwrite):
    """Refuse, before any scoring, a folder under a figure's name, and unless ``overwrite``, to write over files
    that are not eval's own: a figure's name taken by a file that is not a figure audiornn drew (in the current
    folder, for a shipped model), or an existing --json."""
    from .files import is_figure
    from .runs import is_run

    figures = [name for name, drawn in (("curves.png", runs), ("contact_sheet.png", runs and contact_sheet),
                                        ("resynthesis.png", model and resynthesis),
                                        ("sound.png", model and (sound or not audio))) if drawn]
    folders = [name for name in figures if (output / name).is_dir()]
    if folders:
        raise ParameterError(f"'{output / folders[0]}' is a folder, where eval would write its figure: give "
                             f"--output DIR, another folder for the figures (nothing was done)")
    if overwrite:
        return
    legacy = is_run(output)  # a run folder, where eval wrote its figures before they said audiornn
    taken = [f"'{output / name}' (not a figure audiornn drew)" for name in figures
             if os.path.lexists(output / name) and not is_figure(output / name, legacy=legacy)]
    if json_path and os.path.lexists(Path(json_path).expanduser()):
        taken.append(f"--json '{json_path}'")
    if taken:
        where = "--json elsewhere, " if json_path and len(taken) == 1 and taken[0].startswith("--json") \
            else "--output DIR (a folder for the figures), "
        raise ParameterError(f"{' and '.join(taken)} already {'exists' if len(taken) == 1 else 'exist'}: give "
                             f"{where}or pass --overwrite to replace {'it' if len(taken) == 1 else 'them'} "
                             f"(nothing was done)")


def _evaluate_model(path, audio, labels, dataset, label, resynthesis, identify, sound, seconds, seed, output,
                    progress, results, text, written, refine):
    from . import evaluation
    from .runs import load_run_model, usable_run_dataset

    model = load_run_model(path)
    if sound or not (audio or model.feature_config):
        check_positive_number(seconds, option("seconds"))  # before any scoring, which would be lost
    if not dataset:
        dataset, why_not = usable_run_dataset(path)
        if why_not:
            if sound and not audio:
                raise ParameterError(f"--sound scores the generated audio against the model's training audio, and "
                                     f"{why_not}: {SOUND_REFERENCE_ADVICE}")
            text.append(f"{why_not}: scored without the baselines fitted on it (give --dataset DIR, the dataset "
                        f"it trained on, for them)")
    if sound and dataset is None and not audio:
        raise ParameterError(f"--sound scores the generated audio against the model's training audio: "
                             f"{SOUND_REFERENCE_ADVICE}")
    if model.feature_config is not None and (sound or not audio):
        raise ParameterError("this model is a vocoder: it makes audio from the frames of recordings, so it is "
                             "evaluated on them: give --audio FILE... (with --resynthesis for copy-synthesis "
                             "scores); --sound is for models that generate")
    if resynthesis:
        if not audio:
            raise ParameterError("--resynthesis scores copy-synthesis of recordings: give them with --audio")
        results["resynthesis"] = _resynthesis(model, audio, labels, label, seed, output, progress, text, written,
                                              refine)
    if identify:
        from .scoring import format_identify_table, identify as identify_labels

        if not audio:
            raise ParameterError("--identify scores audio files under every label: give them with --audio")
        if label:
            raise ParameterError("--identify guesses each file's label and --label says it: give one of the two "
                                 "(the files' own labels, to count the right guesses, come from NAME=PATH, "
                                 "--labels or --labels-from-folders)")
        results["identify"] = identify_labels(model, audio, labels=labels, progress=progress)
        text.append(format_identify_table(results["identify"]))
    elif audio:
        from .scoring import format_score_table, score_audio

        results.update(score_audio(model, audio, dataset=False if dataset is None else dataset, progress=progress,
                                   label=label, labels=labels))  # (the run's dataset was looked for above)
        text.append(format_score_table(results))
    if sound or not (audio or model.feature_config):
        from .generation import generate

        generated_label = label or evaluation.first_label(model)
        generated = generate(model, seconds=seconds, seed=seed, progress=False, label=generated_label)[0]
        if sound:
            results["sound"] = _sound_report(model, path, generated, seconds, seed, dataset, text, generated_label,
                                             audio=_plain_paths(audio))
        figure = evaluation.sound_comparison(model, dataset=False if dataset is None else dataset,
                                             audio=_plain_paths(audio), seconds=seconds,
                                             seed=seed, generated=generated, label=generated_label)
        written.append(evaluation.save_figure(figure, output / "sound.png"))


def _resynthesis(model, audio, labels, label, seed, output, progress, text, written, refine):
    """A vocoder's copy-synthesis scores of ``audio`` (under ``label``, or each file's own), its table and
    figure."""
    from . import evaluation
    from .labels import labelled_files
    from .resynthesis import format_resynthesis_table, resynthesis_scores

    found = labelled_files(audio, labels)[0]
    files, truth = [str(path) for path, _, _ in found], [name for _, _, name in found]
    scores = resynthesis_scores(model, files, seed=seed, progress=progress, refine=refine, label=label or (
        truth if model.model_config.labels and None not in truth else None))
    example = scores.pop("example")
    text.append(format_resynthesis_table(scores))
    figure = evaluation.plot_sounds([example["original"], example["vocoder"], example["griffin_lim"]],
                                    model.audio_config.sample_rate, names=(
                                        "original", f"vocoder, refined ({refine} passes)" if refine else
                                        "vocoder, the network's audio (--refine 0)", "Griffin-Lim"))
    written.append(evaluation.save_figure(figure, output / "resynthesis.png"))
    return scores


def _sound_report(model, path, generated, seconds, seed, dataset, text, generated_label=None, audio=None):
    """The sound distance of ``generated`` to the model's training audio (and the run's bits), shown; to the
    ``audio`` files instead when there is no ``dataset`` (a shipped model, a run whose dataset is gone), and to them
    as well (``against_audio``) when there is one: what a shipped model is held to, the same files, so that the
    two compare side by side (a model and the one fine-tuned from it)."""
    from .dataset import as_dataset
    from .runs import CONFIG, is_run, read_run_json, read_summary, same_dataset
    from .sound import SoundReference, format_sound_report

    if dataset is None and not audio:
        raise ParameterError(f"--sound scores the generated audio against the model's training audio: "
                             f"{SOUND_REFERENCE_ADVICE}")
    from .health import LevelReference, format_health, health
    from .scoring import label_names, reference_label

    folder = model_folder(path)
    [name] = label_names(model, generated_label)  # a labelled model's sound is of one label (--label, else its first)
    if dataset is None:  # the --audio files stand in for the training audio, and are named as what it is held to
        # (the files were scored first, which said any of a lower rate)
        reference = _sound_reference(audio, model.audio_config, "--audio", rates_said=True)
        levels, against = reference.levels(), "--audio"
        named = {"reference": "--audio"}
    else:
        dataset = as_dataset(dataset, audio_config=model.audio_config)
        # Another dataset than the run's own is named as what the sound is measured against, not as its training
        # audio
        against = None if is_run(folder) and same_dataset(dataset, read_run_json(folder, CONFIG)) else \
            f"'{dataset.path}'"
        of = reference_label(dataset, name)  # a labelled model's: its label's audio
        reference, levels = SoundReference.from_dataset(dataset, of), LevelReference.from_dataset(dataset, of)
        if of is not None:  # (the health line names it too)
            against = f"label '{of}' of {against or 'the training audio'}"
        named = {"reference": f"the audio of {against}"} if against else {}
    report = reference.report(generated)
    shown = f"model ({seconds:g} s, seed {seed}{'' if name is None else f', label {name}'})"
    text.append(format_sound_report(report, label=shown, **named))
    if dataset is not None and audio:
        try:
            beside = _sound_reference(audio, model.audio_config, "--audio", rates_said=True).report(generated)
        except AudioRNNError as error:  # (the files' bits are scored: the sound to them is a comparison only)
            text.append(f"no sound distance to the --audio files: {error}")
        else:
            report["against_audio"] = beside
            text.append(format_sound_report(beside, label=shown, reference="--audio") + "\n(the --audio files are "
                        "what a model without its training audio at hand, a shipped one, is held to: read this table "
                        "beside such a model's)")
    report["health"] = health(generated, model.audio_config.sample_rate, levels)
    if name is not None:  # (in --json too)
        report["label"] = name
    text.append(format_health(report["health"], label=shown, against=against))
    if is_run(folder):
        summary = read_summary(folder)
        if summary is None:
            text.append(f"the run has no summary of its last epoch (interrupted, or still training): "
                        f"'train --resume {folder}' finishes it")
        else:
            bits = summary["validation"]["bits_per_sample"]
            report["validation_bits_per_sample"] = bits
            text.append(f"bits per sample of the run's best model (epoch {summary['best_epoch']}) on all its "
                        f"validation audio: {bits:.3f}")
    return report


SOUND_REFERENCE_ADVICE = ("pass --dataset DIR (the dataset it was trained on), or --audio FILE... (recordings "
                          "like those it learned, which its sound is then held to)")


def _plain_paths(audio):
    """The paths of possibly labelled audio inputs (a dict of label -> paths or a path, a list, or one path)."""
    def listed(paths):
        return [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)

    if isinstance(audio, dict):
        return [path for paths in audio.values() for path in listed(paths)]
    return listed(audio)


DEMO_FILES = ("dataset", "run", "generated.wav", "curves.png", "sound.png", "score.json")


def demo(folder, sample, *, minutes=3.0, seconds=10.0, progress=True, say=print):
    """The main job on the bundled ``sample`` folder, into ``folder``: the dataset, ``minutes`` of training,
    ``seconds`` of generated audio, the curves and a spectrogram beside real speech, and the held-out score
    beside baselines (score.json); each step ``say`` s a line. Returns the score."""
    from . import evaluation
    from .audio_io import read_audio
    from .dataset import build_dataset
    from .generation import generate
    from .health import LevelReference, format_health, health
    from .runs import load_run_model
    from .scoring import format_score_table, score_audio
    from .training import train

    folder = Path(folder)
    check_positive_number(seconds, option("seconds"))  # before the minutes of training
    train_config = TrainConfig(minutes=minutes)
    _check_demo_folder(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in DEMO_FILES[2:]:  # the earlier demo's results go first: none is left beside a run it was not made by
        (folder / name).unlink(missing_ok=True)
    # The demo's own dataset: reused while the sample is unchanged, built again where a file of it was touched
    # or the clone moved (its paths and dates are in the recipe), as the demo replaces its own run
    dataset = build_dataset([sample], folder / "dataset", progress=progress, overwrite=True)
    say(f"1/4 dataset: {dataset.path} ({dataset.seconds('train'):.1f} s training, "
        f"{dataset.seconds('validation'):.1f} s held out)")
    summary = train(dataset, folder / "run", train_config=train_config, overwrite=True,
                    verbose="auto" if progress else 0)
    say(f"2/4 trained {summary['epochs']} epoch{'' if summary['epochs'] == 1 else 's'} in "
        f"{summary['training_minutes']} min: {summary['model']}")
    model = load_run_model(summary["model"])
    [sound] = generate(model, seconds=seconds, seed=0, output=folder / "generated.wav", progress=progress,
                       overwrite=True)  # the demo replaces its own run
    say(f"3/4 generated {seconds:g} s: {sound}")
    curves = evaluation.save_figure(evaluation.plot_history(folder / "run"), folder / "curves.png")
    generated = read_audio(sound)[0][:, 0]
    # (its first seconds drawn as they were written: not made again, and its clipping not said twice)
    comparison = evaluation.save_figure(evaluation.sound_comparison(
        model, dataset=dataset, seconds=min(seconds, 4.0), generated=generated), folder / "sound.png")
    held_out = sorted({entry["path"] for entry in dataset.metadata["sources"] if entry["split"] == "validation"})
    score = score_audio(model, held_out, dataset=dataset, progress=progress)
    sound_note = _demo_sound(score, dataset, generated, seconds)
    score["health"] = health(generated, dataset.audio_config.sample_rate, LevelReference.from_dataset(dataset))
    sound_note += "\n" + format_health(score["health"], label=f"generated ({seconds:g} s)")
    write_json(folder / "score.json", score)
    say(f"4/4 pictures: {curves}, {comparison}\n\nheld-out score ({len(held_out)} file(s) never trained on):")
    say(format_score_table(score))
    say(f"\n{sound_note}")
    say(f"\nlisten to {sound}; the score is in {folder / 'score.json'}; everything is in {folder}/")
    return score


def _demo_sound(score, dataset, generated, seconds):
    """The generated audio's sound distance to the training audio, put in ``score``; the line that shows it."""
    from .errors import AudioFileError
    from .sound import SoundReference, format_sound_report

    try:
        reference = SoundReference.from_dataset(dataset)
        # Held against a floor of real held-out audio as long as it: where the held-out audio is shorter (the bundled
        # sample's 6.6 s under the 10 s generated), the generated audio's start as long as the held-out audio
        held = reference.held_out_samples
        measured = generated[:held] if 0 < held < generated.size else generated
        score["sound"] = reference.report(measured)
    except AudioFileError as error:  # too short (a demo of under half a second) or silent
        score["sound"] = None
        return f"(no sound distance: {error})"
    rate = dataset.audio_config.sample_rate
    shown = f"{seconds:g} s" if measured.size == generated.size else f"its first {measured.size / rate:.1f} s"
    return format_sound_report(score["sound"], label=f"generated ({shown})")


def _check_demo_folder(folder):
    """A demo writes only into a new or empty folder, or over its own earlier demo."""
    from .runs import is_run

    if folder.exists() and not folder.is_dir():
        raise ParameterError(f"--output '{folder}' is a file, not a folder: choose another --output")
    # Hidden entries are our own temporary files (a build that was killed), removed when next written.
    contents = {entry.name for entry in folder.iterdir() if not entry.name.startswith(".")} if folder.is_dir() else set()
    demo = is_run(folder / "run") or (folder / "dataset" / "metadata.json").is_file()
    others = sorted(contents - set(DEMO_FILES))
    if contents and not (demo and not others):
        what = f"holds {', '.join(others[:3])}{' ...' if len(others) > 3 else ''} beside an audiornn demo" \
            if demo else "holds no audiornn demo"
        raise ParameterError(f"--output folder '{folder}' is not empty and {what}: choose another --output "
                             f"(nothing was changed)")
