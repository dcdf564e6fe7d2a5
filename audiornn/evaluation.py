"""Evaluation: training curves, held-out bits per sample beside baselines, pictures of sound.

Figures are built on ``matplotlib.figure.Figure`` (no pyplot, no display), so
they work headless; the ``plot_*`` functions return the figure for notebooks
and :func:`save_figure` writes a PNG atomically.
"""

import logging
import os
from pathlib import Path

import numpy as np
import scipy.signal
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .audio_io import decode_classes, read_audio
from .dataset import as_dataset
from .dsp import to_mono
from .errors import AudioRNNError, DatasetError, ParameterError, RunError
from .files import FIGURE_SOFTWARE, write_atomically
from .runs import BEST_MODEL, LAST_MODEL, PREVIEWS, load_run_model, read_history, run_dataset_path
# Scores sit beside the figures for notebooks: ``evaluation.score_audio`` and the rest.
from .scoring import audio_pieces, format_score_table, score_audio, score_classes  # noqa: F401

__all__ = ["plot_contact_sheet", "plot_history", "plot_sound_comparison", "read_history", "save_figure",
           "score_audio", "score_classes"]

logger = logging.getLogger("audiornn")

CURVES = (("loss", "loss (nats)"), ("accuracy", "accuracy"), ("bits_per_sample", "bits per sample"))


def run_names(runs):
    """Each run folder's name as a legend shows it: its own, or where two share it (``exp1/run``, ``exp2/run``) as
    much of its path as tells them apart; the same folder given again is named again with ``(2)``."""
    paths = [Path(run).expanduser().absolute() for run in runs]
    if not paths:
        return []
    unique = list(dict.fromkeys(paths))
    names = {path: path.name for path in unique}
    for depth in range(2, max(len(path.parts) for path in unique) + 1):
        shared = [path for path in unique if list(names.values()).count(names[path]) > 1]
        if not shared:
            break
        names.update({path: str(Path(*path.parts[-depth:])) for path in shared})
    shown, counts = [], {}
    for path in paths:
        counts[path] = counts.get(path, 0) + 1
        shown.append(names[path] + (f" ({counts[path]})" if counts[path] > 1 else ""))
    return shown


X_AXES = ("epoch", "minutes")


def _x_values(history, x_axis, run):
    """Where each epoch of ``history`` is drawn: its number, or the minutes trained when it ended (the epochs'
    ``seconds`` summed, validation included; the time of previews and health checks is not in them)."""
    if x_axis == "epoch":
        return history["epoch"]
    seconds = history.get("seconds")
    if seconds is None or not np.isfinite(seconds).all():
        raise RunError(f"'{run}' has epochs without their seconds in its history.csv: draw it against epochs")
    return np.cumsum(seconds) / 60.0


def plot_history(runs, *, names=None, x_axis="epoch"):
    """Loss, accuracy and bits per sample per epoch of one or several runs, on one figure; and where a run
    checked its generation's health (``--health-every``), a fourth panel: the share of the checks' windows at
    the training level, and the streams named collapsed, run away or frozen.

    Training is dashed, validation solid; each run has its own colour and is
    labelled by its folder name (or ``names``). ``x_axis="minutes"`` draws each epoch at the minutes its run
    had trained when it ended, to compare runs of different speeds at equal time.
    """
    if x_axis not in X_AXES:
        raise ParameterError(f"x_axis is one of {', '.join(X_AXES)}; got {x_axis!r}")
    runs = [runs] if isinstance(runs, (str, bytes, os.PathLike)) or not hasattr(runs, "__iter__") else list(runs)
    runs = [os.fsdecode(run) if isinstance(run, bytes) else run for run in runs]
    for run in runs:
        if not isinstance(run, (str, os.PathLike)):
            raise ParameterError(f"plot_history draws run folders (their paths), got {type(run).__name__}")
    if not runs:
        raise ParameterError("plot_history needs at least one run folder")
    given = names
    names = None if names is None else ([names] if isinstance(names, str) else list(names))
    if names and len(names) != len(runs):
        raise ParameterError(f"names: one name for each of the {len(runs)} run(s), as a list; got {given!r}")
    if names and not all(isinstance(name, str) and name for name in names):
        raise ParameterError(f"names are the runs' names in the legend, text; got {given!r}")
    names = _with_settings(runs, names or run_names(runs))
    histories = [read_history(run) for run in runs]
    where = [_x_values(history, x_axis, run) for history, run in zip(histories, runs)]
    checked = [np.isfinite(history.get("health_in_range", np.full(1, np.nan))).any() for history in histories]
    figure = Picture(figsize=(15 if not any(checked) else 20, 4.2), layout="constrained")
    axes = figure.subplots(1, len(CURVES) + any(checked))
    for index, (history, name, x) in enumerate(zip(histories, names, where)):
        colour = f"C{index % 10}"
        for axis, (column, title) in zip(axes, CURVES):
            if column in history:
                # One epoch is one point, which a dashed line alone does not draw.
                axis.plot(x, history[column], "--", color=colour, label=f"{name} training",
                          marker="x" if len(history["epoch"]) == 1 else None)
            if f"val_{column}" in history:
                axis.plot(x, history[f"val_{column}"], "-", color=colour, marker="o",
                          markersize=3, label=f"{name} validation")
    for axis, (_, title) in zip(axes, CURVES):
        axis.set_title(title)
    if any(checked):
        _plot_health(axes[-1], [(history, x, name, f"C{index % 10}", _healthiest_epoch(run))
                                for index, (run, history, x, name, check) in
                                enumerate(zip(runs, histories, where, names, checked)) if check])
    for axis in axes:
        if x_axis == "epoch":
            axis.set_xlabel("epoch")
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole: no tick at 1.5
        else:
            axis.set_xlabel("minutes of training")
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    return figure


def _with_settings(runs, names):
    """``names``, each with its run's sample rate and classes where the runs differ in them: their losses and bits
    are not on one scale then (fewer classes take fewer bits; a second is twice the samples at twice the rate)."""
    from .runs import CONFIG, read_run_json

    settings = []
    for run in runs:
        try:
            audio = read_run_json(Path(run).expanduser(), CONFIG).get("audio", {}) \
                if (Path(run).expanduser() / CONFIG).is_file() else {}
        except AudioRNNError:  # a damaged config.json: drawn under its name alone
            audio = {}
        settings.append((audio.get("sample_rate"), None if audio.get("mu") is None else audio["mu"] + 1))
    if len({setting for setting in settings if None not in setting}) < 2:
        return names
    logger.warning("the runs drawn together differ in sample rate or classes (%s): their loss and bits per sample "
                   "are not on one scale", ", ".join(f"{name}: {rate} Hz, {classes} classes" for name, (rate, classes)
                                                     in zip(names, settings) if rate is not None))
    return [name if rate is None else f"{name} ({rate / 1000:g} kHz, {classes} classes)"
            for name, (rate, classes) in zip(names, settings)]


def _healthiest_epoch(run):
    """The epoch of a run's ``healthiest.keras`` (its state.json), or None."""
    from .runs import STATE, read_run_json

    run = Path(run).expanduser()
    if not (run / STATE).is_file():
        return None
    try:
        return (read_run_json(run, STATE).get("healthiest") or {}).get("epoch")
    except AudioRNNError:  # a damaged state.json: the curves are drawn without the star
        return None


def _plot_health(axis, runs):
    """The health checks of ``runs`` (``(history, where each epoch is drawn, name, colour, healthiest epoch or
    None)``): windows at the training level (left axis), streams stuck (right axis, crosses), the healthiest
    check starred."""
    stuck_axis, most = axis.twinx(), 0.0
    for history, x, name, colour, healthiest in runs:
        epochs, in_range = history["epoch"], history["health_in_range"]
        checks = np.isfinite(in_range)
        axis.plot(x[checks], 100 * in_range[checks], "-", color=colour, marker="o", markersize=3,
                  label=f"{name} at the training level")
        if healthiest is not None and np.any(epochs == healthiest):
            axis.plot(x[epochs == healthiest][:1], [100 * in_range[epochs == healthiest][0]], "*", color=colour,
                      markersize=14, label=f"{name} healthiest (epoch {healthiest})")
        stuck = history["health_stuck"] if "health_stuck" in history \
            else sum(history[f"health_{state}"] for state in ("collapsed", "ran_away", "frozen"))
        stuck_axis.plot(x[checks], stuck[checks], "x", color=colour, label=f"{name} streams stuck")
        most = max(most, float(np.nanmax(stuck[checks], initial=0.0)))
        if "health_burst" in history:  # (histories written before bursts and few held tones were checked have none)
            flawed = history["health_burst"] + history["health_few_tones"]  # (NaN where not measured)
            measured = checks & np.isfinite(flawed)
            if np.any(flawed[measured] > 0):
                stuck_axis.plot(x[measured], flawed[measured], "^", color=colour, fillstyle="none",
                                label=f"{name} with loud bursts or few held tones")
                most = max(most, float(np.max(flawed[measured])))
    axis.set_title("health checks")
    axis.set_ylabel("% of windows at the training level (o)")
    lines, labels = axis.get_legend_handles_labels()
    more, more_labels = stuck_axis.get_legend_handles_labels()
    axis.legend(lines + more, labels + more_labels, fontsize="small", loc="lower left")
    axis.set_ylim(0, 105)
    stuck_axis.set_ylim(0, most + 1)  # the most stuck below the top, not on the 100 % line
    stuck_axis.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole streams
    stuck_axis.set_ylabel("streams collapsed, run away or frozen (x);\nwith bursts or few held tones (^)")  # (as high
    # as the panel: on one line it ran off the figure)


_FIGURE_WARNINGS = {}  # what save_figure passed on, shown once a place as the "default" filter shows warnings


class Picture(Figure):
    """A matplotlib figure that shows itself where it is a notebook cell's value (its PNG), with or without
    ``%matplotlib inline``: the library's figures are not pyplot's, and Jupyter drew none of them without it."""

    def _repr_png_(self):
        import io

        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=FIGURE_DPI)
        return buffer.getvalue()


FIGURE_DPI = 110


def save_figure(figure, path, *, dpi=FIGURE_DPI):
    """Write ``figure`` as a PNG, atomically; returns the path. Characters its font lacks (a run named in a
    script matplotlib's DejaVu Sans does not cover) are drawn as boxes, and said in one line."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = write_atomically(path, lambda temporary: figure.savefig(
            temporary, dpi=dpi, format="png", metadata={"Software": FIGURE_SOFTWARE}))
    missing = [str(warning.message) for warning in caught if "missing from font" in str(warning.message)]
    for warning in caught:
        if "missing from font" not in str(warning.message):  # the rest as they were (shown once a place)
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno,
                                   registry=_FIGURE_WARNINGS)
    if missing:
        logger.warning("%s: %d character(s) of its text (a run's name?) are not in the figure's font and are drawn as "
                       "boxes", written, len({message.split(")")[0] for message in missing}))
    return written


# ----------------------------------------------------------------------------------------------
# Pictures of the sound


SPECTROGRAM_SECONDS = 0.032  # a spectrogram's window: 256 samples at 8 kHz, as long at every rate


def spectrogram_segment(rate, samples):
    """The samples of a spectrogram's window at ``rate``: the power of two at or above :data:`SPECTROGRAM_SECONDS` (a
    window of fixed samples would give 172 Hz bins at 44.1 kHz, where 8 kHz has 31 Hz), at most an eighth of a
    short sound's ``samples``, at least 16."""
    return int(max(16, min(2 ** int(np.ceil(np.log2(SPECTROGRAM_SECONDS * rate) - 1e-9)), samples // 8)))


def _spectrogram(axis, audio, rate):
    segment = spectrogram_segment(rate, audio.size)
    frequencies, times, power = scipy.signal.spectrogram(audio, fs=rate, nperseg=segment,
                                                         noverlap=segment * 3 // 4)
    image = axis.pcolormesh(times, frequencies, 10 * np.log10(power + 1e-12), shading="auto",
                            cmap="magma", vmin=-110, vmax=-20)
    axis.set_ylabel("Hz")
    return image


def plot_sound_comparison(generated, real, rate, *, names=("generated", "real")):
    """Waveforms, spectrograms and levels of generated audio next to real audio of the same length."""
    return plot_sounds([generated, real], rate, names=names)


LEVEL_SECONDS, LEVEL_FLOOR_DB = 0.05, -80.0  # the level row: RMS of 50 ms windows, in dB of full scale


def plot_sounds(sounds, rate, *, names):
    """Waveforms, spectrograms and levels over time (RMS of ``LEVEL_SECONDS`` windows in dB of full scale, where
    a fall into silence or a rise into a drone shows as a linear waveform does not) of sounds side by side, cut
    to the shortest (a resynthesis beside its original and Griffin-Lim's, generated beside real audio)."""
    import librosa

    sounds = [np.asarray(audio, dtype=np.float64) for audio in sounds]
    length = min(audio.size for audio in sounds)
    if length < 16:
        raise AudioRNNError("need at least 16 samples of every sound to draw them")
    figure = Picture(figsize=(6.5 * len(sounds), 8), layout="constrained")
    axes = figure.subplots(3, len(sounds), sharex=True, sharey="row", squeeze=False,
                           height_ratios=[1, 1.4, 0.8])
    time = np.arange(length) / rate
    window = max(1, min(length, int(LEVEL_SECONDS * rate)))
    image = None
    for column, (audio, name) in enumerate(zip((audio[:length] for audio in sounds), names)):
        axes[0, column].plot(time, audio, linewidth=0.4, color=f"C{column}")
        axes[0, column].set_title(name)
        axes[0, column].set_ylim(-1, 1)
        image = _spectrogram(axes[1, column], audio, rate)
        level = librosa.amplitude_to_db(librosa.feature.rms(y=audio, frame_length=window, hop_length=window // 2,
                                                            center=False)[0], ref=1.0, amin=1e-4, top_db=None)
        axes[2, column].plot((np.arange(level.size) * (window // 2) + window / 2) / rate,
                             np.maximum(level, LEVEL_FLOOR_DB), color=f"C{column}", linewidth=0.8,
                             marker="o" if level.size < 3 else None)  # (a sound of one window: a point that shows)
        axes[2, column].set_ylim(LEVEL_FLOOR_DB, 0)
        axes[2, column].grid(True, alpha=0.3)
        axes[2, column].set_xlabel("seconds")
    axes[0, 0].set_ylabel("amplitude")
    axes[2, 0].set_ylabel(f"level, dB ({LEVEL_SECONDS * 1000:g} ms RMS)")
    figure.colorbar(image, ax=axes[1, :], label="dB")
    return figure


CAPTION_WIDTH = 40  # characters of a contact sheet's caption line: a panel's width at its small font


def plot_contact_sheet(sounds, rate, *, columns=4, notes=None):
    """Spectrograms of several short sounds, ``{label: audio}``, on a grid of shared axes.

    ``notes`` (``{label: text}``) are written under the spectrograms, such as
    each sound's distance to real audio.
    """
    if not sounds:
        raise AudioRNNError("no sounds to draw on the contact sheet")
    import textwrap

    rows = -(-len(sounds) // columns)
    # Sounds of one length share the time axis; previews of 2 s beside models' sounds of 6 s each get their own,
    # rather than two thirds of a panel left blank. Long names and notes wrap within a panel's width.
    same_length = len({len(audio) for audio in sounds.values()}) == 1
    figure = Picture(figsize=(3.6 * min(columns, len(sounds)), 3.0 * rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, min(columns, len(sounds)), sharex=same_length, sharey=True,
                                          squeeze=False)).ravel()
    image = None
    for axis, (label, audio) in zip(axes, sounds.items()):
        image = _spectrogram(axis, np.asarray(audio, dtype=np.float64), rate)
        axis.set_title(textwrap.fill(label, CAPTION_WIDTH), fontsize="small")
        if notes and label in notes:
            axis.set_xlabel(textwrap.fill(notes[label], CAPTION_WIDTH), fontsize="small")
    for axis in axes[len(sounds):]:
        axis.set_visible(False)
    figure.colorbar(image, ax=list(axes[:len(sounds)]), label="dB", shrink=0.8)
    return figure


def sound_comparison(model, *, dataset=None, audio=None, seconds=3.0, seed=0, generated=None, label=None):
    """Figure: ``seconds`` generated by ``model`` (or the given ``generated`` audio) next to as much
    real audio (a labelled model's under ``label``, by default its first).

    The real audio is the first of ``audio`` (files or folders) prepared and
    decoded with the model's own config, or else the start of ``dataset``'s (by default the dataset of the run
    the model was trained in, as :func:`score_audio` finds it)
    validation audio (a labelled model's: that of the files under ``label``); with neither (a shipped model),
    the generated audio is drawn alone. Where the real audio is shorter than ``seconds``, both are drawn as
    long as it is, and a warning says so.
    """
    from .config import check_positive_number
    from .generation import generate
    from .runs import as_model, own_dataset

    seconds = check_positive_number(seconds, "seconds")
    if isinstance(audio, (list, tuple, dict)) and not audio:  # none given (the eval command's default)
        audio = None
    if audio is None:
        dataset = own_dataset(model, dataset, "the generated audio is drawn alone")
    model = as_model(model)
    rate = model.audio_config.sample_rate
    length = int(round(seconds * rate))
    if generated is not None:
        if isinstance(generated, (str, os.PathLike)) or not hasattr(generated, "__len__"):
            raise ParameterError(f"generated is audio as an array (1-D, or generate()'s (1, samples)), got "
                                 f"{type(generated).__name__}")
        from .audio_io import audio_array

        generated = np.asarray(generated)
        if generated.ndim == 2 and generated.shape[0] == 1:  # generate()'s one stream
            generated = generated[0]
        if generated.ndim != 1:
            raise ParameterError(f"generated is one stream of audio, 1-D or (1, samples); got shape {generated.shape}: "
                                 f"give one row")
        generated = audio_array(generated, "generated").astype(np.float32)  # (int16 samples read as 32768ths)
        if not np.all(np.isfinite(generated)):
            raise ParameterError(f"generated holds {np.count_nonzero(~np.isfinite(generated)):,} NaN or infinite "
                                 f"sample(s) of {generated.size:,}: there is no sound to draw there")
    if audio is not None:  # the files read in turn until there is enough to draw, not all of them
        from .labels import labelled_files

        pieces, read = [], []
        for path, _, _ in labelled_files(audio, None)[0]:
            pieces += audio_pieces([path], model.audio_config)[0]
            read.append(Path(path).name)
            if sum(piece.size for piece in pieces) >= length:
                break
        real_classes = np.concatenate(pieces)[:length]
        real_name = f"real: {read[0]}" + (f" and {len(read) - 1} more" if len(read) > 1 else "")
    elif dataset is not None:
        dataset = as_dataset(dataset, audio_config=model.audio_config)
        real_classes, where = _labelled_audio(dataset, model, label, length)
        real_name = f"real: {where}"
    else:
        real_classes = None
    real = None if real_classes is None else decode_classes(real_classes, model.audio_config)[0]
    if real is not None and real.size < length:
        logger.warning("the real audio to draw beside the generated is %.2f s, not the %g s asked (all that %s): "
                       "both are drawn %.2f s long", real.size / rate, seconds,
                       "the audio given holds" if audio is not None else f"dataset '{dataset.path}' holds to draw",
                       real.size / rate)
    if generated is None:
        generated = generate(model, seconds=length / rate if real is None else real.size / rate, seed=seed,
                             progress=False, label=first_label(model) if label is None else label)[0]
    if real is None:
        return plot_sounds([generated], rate, names=("generated (no real audio given to draw beside it)",))
    return plot_sound_comparison(generated, real, rate, names=("generated", real_name))


def _labelled_audio(dataset, model, label, length):
    """``(classes, where)``: up to ``length`` classes of ``dataset``'s validation audio (its training audio where
    it has none), and where they came from in words; for a labelled model, the files of ``label`` (a name or an
    id; by default the first label), as generated."""
    from .stepping import label_state

    ids = label_state(model, first_label(model) if label is None else label, 1)
    wanted = None if ids is None else model.model_config.labels[int(ids[0])]
    for split in ("validation", "train"):
        if wanted is None or not dataset.labels:  # (a labelled model beside an unlabelled dataset: all of it)
            if dataset.samples(split):
                return np.asarray(dataset.array(split)[:length]), _audio_of(dataset, split)
            continue
        pieces, held = [], 0
        for segment in dataset.segments(split):
            if segment.label == wanted and held < length:
                pieces.append(np.asarray(dataset.array(split)[segment.start:segment.start + segment.length]))
                held += segment.length
        if pieces:
            return np.concatenate(pieces)[:length], f"{_audio_of(dataset, split)}, label {wanted}"
    raise DatasetError(f"dataset '{dataset.path}' holds no audio under label {wanted!r} to compare with: give its "
                       f"recordings as audio")


def _audio_of(dataset, split):
    return f"{'held-out' if split == 'validation' else 'training'} audio of dataset '{Path(dataset.path).name}'"


def first_label(model):
    """A labelled model's first label (what pictures and previews are drawn under), else None."""
    return model.model_config.labels[0] if model.model_config.labels else None


def checkpoint_previews(runs, *, seconds=2.0, seed=0):
    """``({label: audio}, rate)``: each run's preview WAVs, or previews generated from its
    best and last models when it wrote none (the last alone when it is the best's epoch). Runs of different
    sample rates are refused before anything is generated."""
    import soundfile

    from .generation import generate
    from .runs import STATE, read_run_json

    drawn, rates, runs = {}, {}, list(runs)  # (a generator would be used up by the names)
    for run, shown in zip(runs, run_names(runs)):
        run = Path(run)
        previews = sorted((run / PREVIEWS).glob("*.wav"))
        if previews:
            for path in previews:
                drawn[f"{shown} {path.stem}"] = path
                try:
                    rates.setdefault(soundfile.info(str(path)).samplerate, shown)
                except (soundfile.LibsndfileError, RuntimeError) as error:
                    raise AudioRNNError(f"preview '{path}' cannot be read ({error}): remove it, or draw the run "
                                        f"without --contact-sheet") from None
            continue
        try:
            state = read_run_json(run, STATE) if (run / STATE).is_file() else {}
        except AudioRNNError:  # a damaged state.json: both models drawn, without their epochs
            state = {}
        epochs = {BEST_MODEL: state.get("best_epoch"), LAST_MODEL: state.get("epochs_completed")}
        for name in (BEST_MODEL, LAST_MODEL):
            if not (run / name).is_file() or (name == LAST_MODEL and epochs[LAST_MODEL] is not None
                                              and epochs[LAST_MODEL] == epochs[BEST_MODEL]):
                continue
            model = load_run_model(run / name)
            epoch = f" (epoch {epochs[name]})" if epochs[name] is not None else ""
            drawn[f"{shown} {name}{epoch}"] = model
            rates.setdefault(model.audio_config.sample_rate, shown)
    if not drawn:
        raise RunError(f"no previews or models found in {', '.join(str(run) for run in runs)}")
    if len(rates) > 1:
        raise AudioRNNError(f"the runs' sounds have different sample rates ({', '.join(f'{run}: {rate} Hz' for rate, run in rates.items())}): "
                            f"draw their contact sheets separately (nothing was generated)")
    sounds = {}
    for label, source in drawn.items():
        sounds[label] = to_mono(read_audio(source)[0]) if isinstance(source, Path) else generate(
            source, seconds=seconds, seed=seed, progress=False, label=first_label(source))[0]
    return sounds, next(iter(rates))


def checkpoint_sound_notes(runs, sounds):
    """``{label: text}``: each sound's distance to its run's training audio, with the floor and the
    ceiling (:mod:`audiornn.sound`); sounds whose run has no dataset here, or that are too short, get none."""
    from .runs import CONFIG, read_run_json
    from .scoring import reference_label
    from .sound import SoundReference, distance_note

    notes, references, runs = {}, {}, list(runs)
    for run, shown in zip(runs, run_names(runs)):
        path = run_dataset_path(run)
        if not path or not Path(path).is_dir():
            continue
        try:  # a labelled run's sounds are of its first label: held to that label's files
            first = ((read_run_json(Path(run), CONFIG).get("model") or {}).get("labels") or [None])[0]
        except AudioRNNError:
            continue
        for label, audio in sounds.items():
            if not label.startswith(f"{shown} "):
                continue
            try:
                if (path, first) not in references:
                    dataset = as_dataset(path)
                    references[path, first] = SoundReference.from_dataset(dataset, reference_label(dataset, first))
                report = references[path, first].report(audio)
            except AudioRNNError:
                continue
            # (the distance depends on the length: sounds of other lengths are not to be compared by it)
            notes[label] = f"{report['seconds']:.1f} s: {distance_note(report)}"
    return notes
