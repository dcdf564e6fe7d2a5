"""Evaluation: training curves, held-out bits per sample beside baselines, pictures of sound.

Figures are built on ``matplotlib.figure.Figure`` (no pyplot, no display), so
they work headless; the ``plot_*`` functions return the figure for notebooks
and :func:`save_figure` writes a PNG atomically.
"""

import csv
import math
import os
from pathlib import Path

import numpy as np
import scipy.signal
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from .audio_io import find_audio_files, prepare_audio, read_audio
from .dsp import to_mono
from .baselines import score_baselines
from .dataset import as_dataset
from .errors import AudioFileError, AudioRNNError, DatasetError, RunError
from .files import write_atomically

__all__ = ["plot_contact_sheet", "plot_history", "plot_sound_comparison", "read_history", "save_figure",
           "score_audio", "score_classes"]

CURVES = (("loss", "loss (nats)"), ("accuracy", "accuracy"), ("bits_per_sample", "bits per sample"))


def read_history(run):
    """A run's ``history.csv`` as ``{column: float array}``; a clear error if missing or empty."""
    run = Path(run).expanduser()
    path = run / "history.csv" if run.is_dir() else run
    if not path.is_file():
        raise RunError(f"'{run}' has no history.csv: give a run folder written by "
                       f"'python AudioRNN.py train' that finished at least one epoch")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise RunError(f"'{path}' holds no epochs yet: train at least one epoch first")
    columns = {}
    for key in rows[0]:
        try:
            columns[key] = np.array([float(row[key]) if row[key] not in ("", None) else np.nan for row in rows])
        except ValueError:
            raise RunError(f"'{path}' has a non-numeric value in column '{key}': the file is damaged") from None
    if "epoch" not in columns:
        raise RunError(f"'{path}' has no 'epoch' column: it is not an audiornn history")
    return columns


def plot_history(runs, *, names=None):
    """Loss, accuracy and bits per sample per epoch of one or several runs, on one figure.

    Training is dashed, validation solid; each run has its own colour and is
    labelled by its folder name (or ``names``).
    """
    runs = [runs] if isinstance(runs, (str, os.PathLike)) else list(runs)
    names = names or [Path(run).name for run in runs]
    histories = [read_history(run) for run in runs]
    figure = Figure(figsize=(15, 4.2), layout="constrained")
    axes = figure.subplots(1, len(CURVES))
    for index, (history, name) in enumerate(zip(histories, names)):
        colour = f"C{index % 10}"
        for axis, (column, title) in zip(axes, CURVES):
            if column in history:
                axis.plot(history["epoch"], history[column], "--", color=colour, label=f"{name} training")
            if f"val_{column}" in history:
                axis.plot(history["epoch"], history[f"val_{column}"], "-", color=colour, marker="o",
                          markersize=3, label=f"{name} validation")
    for axis, (_, title) in zip(axes, CURVES):
        axis.set_title(title)
        axis.set_xlabel("epoch")
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    return figure


def save_figure(figure, path, *, dpi=110):
    """Write ``figure`` as a PNG, atomically; returns the path."""
    return write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=dpi, format="png"))


# ----------------------------------------------------------------------------------------------
# Held-out score


def score_classes(model, pieces, *, streams=32, chunk=4000, progress=True):
    """Bits per sample and accuracy of a sequence model on class arrays, state carried.

    Each piece (one file's classes) is cut into contiguous segments of about
    ``chunk`` samples or more; up to ``streams`` segments are scored side by
    side as one batch, each in chunks of ``chunk`` samples with its recurrent
    state carried, so memory stays flat however long the audio. Only a
    segment's first sample goes unpredicted. Padding is masked out, so every
    call has the same shape and the loop compiles once.
    """
    from .generation import SampleStream

    segments = []
    for piece in pieces:
        piece = np.asarray(piece, dtype=np.int32)
        if piece.size >= 2:
            segments.extend(np.array_split(piece, max(1, piece.size // (4 * chunk))))
    if not segments:
        raise AudioFileError("nothing to score: the audio is shorter than 2 samples")
    segments.sort(key=len, reverse=True)
    stream = SampleStream(model, count=min(streams, len(segments)))
    nats = correct = 0.0
    targets = sum(segment.size - 1 for segment in segments)
    with tqdm(total=targets, unit="sample", unit_scale=True, desc="scoring",
              disable=None if progress else True) as bar:
        for first in range(0, len(segments), stream.count):
            group = segments[first:first + stream.count]
            length = group[0].size
            batch = np.zeros((stream.count, length), dtype=np.int32)
            valid = np.zeros((stream.count, length), dtype=np.float32)
            for row, segment in enumerate(group):
                batch[row, :segment.size] = segment
                valid[row, 1:segment.size] = 1.0  # valid[t]: sample t is a real target
            stream.reset()
            for start in range(0, length - 1, chunk):
                # Columns start..start+chunk: inputs start..start+chunk-1 predict the next ones.
                inputs = np.zeros((stream.count, chunk + 1), dtype=np.int32)
                mask = np.zeros((stream.count, chunk), dtype=np.float32)
                piece = batch[:, start:start + chunk + 1]
                inputs[:, :piece.shape[1]] = piece
                mask[:, :piece.shape[1] - 1] = valid[:, start + 1:start + piece.shape[1]]
                chunk_nats, chunk_correct = stream.score(inputs, mask)
                nats += float(chunk_nats.sum())
                correct += float(chunk_correct.sum())
                bar.update(int(mask.sum()))
    return {"bits_per_sample": nats / targets / math.log(2), "accuracy": correct / targets,
            "targets": int(targets)}


def _model_pieces(paths, audio_config):
    pieces, files = [], []
    for path, _ in find_audio_files(paths):
        audio, rate = read_audio(path)
        classes, _ = prepare_audio(audio, rate, audio_config=audio_config, source=f"'{path}'")
        pieces.append(classes)
        files.append(str(path))
    return pieces, files


def dataset_pieces(dataset, split):
    """The classes of each source stretch of a split, as a list of arrays."""
    array = dataset.array(split)
    return [np.asarray(array[segment.start:segment.start + segment.length]) for segment in dataset.segments(split)]


def score_audio(model, audio, *, dataset=None, progress=True):
    """Score ``model`` on audio files/folders it never saw, beside the baselines.

    The audio is prepared with the model's own audio config. Baselines are
    fitted only on ``dataset``'s training audio (the model's own dataset).
    Returns a dict: the model's bits per sample and accuracy, each baseline's
    bits per sample, the files and their duration.
    """
    if model.model_config.many_to_one:
        raise AudioRNNError("the seed preset is scored with windows during training; "
                            "held-out scoring with carried state needs a sequence model")
    pieces, files = _model_pieces(audio, model.audio_config)
    if dataset is None:
        raise DatasetError("scoring needs the model's training dataset for the baselines: pass --dataset DIR")
    dataset = as_dataset(dataset, audio_config=model.audio_config)
    result = score_classes(model, pieces, progress=progress)
    baselines = score_baselines(dataset_pieces(dataset, "train"), pieces, mu=model.audio_config.mu)
    return {"model": result, "baselines": baselines, "files": files,
            "seconds": sum(piece.size for piece in pieces) / model.audio_config.sample_rate,
            "dataset": str(dataset.path)}


def format_score_table(score):
    """The score as a small text table, best first."""
    rows = [("model", score["model"]["bits_per_sample"], score["model"]["accuracy"])]
    rows += [(name.replace("_", " "), bits, None) for name, bits in score["baselines"].items()]
    lines = [f"{'':<22}{'bits/sample':>12}{'accuracy':>10}"]
    for name, bits, accuracy in sorted(rows, key=lambda row: row[1]):
        lines.append(f"{name:<22}{bits:>12.3f}{'' if accuracy is None else f'{accuracy:>10.3f}'}")
    lines.append(f"({score['seconds']:.1f} s of held-out audio in {len(score['files'])} file(s); "
                 f"baselines fitted on {score['dataset']})")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# Pictures of the sound


def _spectrogram(axis, audio, rate):
    segment = min(256, max(16, audio.size // 8))
    frequencies, times, power = scipy.signal.spectrogram(audio, fs=rate, nperseg=segment,
                                                         noverlap=segment * 3 // 4)
    image = axis.pcolormesh(times, frequencies, 10 * np.log10(power + 1e-12), shading="auto",
                            cmap="magma", vmin=-110, vmax=-20)
    axis.set_ylabel("Hz")
    return image


def plot_sound_comparison(generated, real, rate, *, names=("generated", "real")):
    """Waveforms and spectrograms of generated audio next to real audio of the same length."""
    generated, real = np.asarray(generated, dtype=np.float64), np.asarray(real, dtype=np.float64)
    length = min(generated.size, real.size)
    if length < 16:
        raise AudioRNNError("need at least 16 samples of both sounds to draw them")
    figure = Figure(figsize=(13, 6), layout="constrained")
    axes = figure.subplots(2, 2, sharex=True, sharey="row")
    time = np.arange(length) / rate
    image = None
    for column, (audio, name) in enumerate(zip((generated[:length], real[:length]), names)):
        axes[0, column].plot(time, audio, linewidth=0.4, color="C0" if column == 0 else "C1")
        axes[0, column].set_title(name)
        axes[0, column].set_ylim(-1, 1)
        image = _spectrogram(axes[1, column], audio, rate)
        axes[1, column].set_xlabel("seconds")
    axes[0, 0].set_ylabel("amplitude")
    figure.colorbar(image, ax=axes[1, :], label="dB")
    return figure


def plot_contact_sheet(sounds, rate, *, columns=4):
    """Spectrograms of several short sounds, ``{label: audio}``, on a grid of shared axes."""
    if not sounds:
        raise AudioRNNError("no sounds to draw on the contact sheet")
    rows = -(-len(sounds) // columns)
    figure = Figure(figsize=(3.6 * min(columns, len(sounds)), 2.8 * rows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, min(columns, len(sounds)), sharex=True, sharey=True,
                                          squeeze=False)).ravel()
    image = None
    for axis, (label, audio) in zip(axes, sounds.items()):
        image = _spectrogram(axis, np.asarray(audio, dtype=np.float64), rate)
        axis.set_title(label, fontsize="small")
    for axis in axes[len(sounds):]:
        axis.set_visible(False)
    figure.colorbar(image, ax=list(axes[:len(sounds)]), label="dB", shrink=0.8)
    return figure


def sound_comparison(model, *, dataset=None, audio=None, seconds=3.0, seed=0):
    """Figure: ``seconds`` generated by ``model`` next to as much real audio.

    The real audio is the first of ``audio`` (files or folders) prepared and
    decoded with the model's own config, or else the start of ``dataset``'s
    validation audio.
    """
    from .generation import decode_classes, generate

    rate = model.audio_config.sample_rate
    length = int(round(seconds * rate))
    if audio:
        pieces, _ = _model_pieces(audio, model.audio_config)
        real_classes = np.concatenate(pieces)[:length]
    elif dataset is not None:
        dataset = as_dataset(dataset, audio_config=model.audio_config)
        split = "validation" if dataset.samples("validation") else "train"
        real_classes = np.asarray(dataset.array(split)[:length])
    else:
        raise DatasetError("need real audio to compare with: pass --audio or --dataset")
    real, _ = decode_classes(real_classes, model.audio_config)
    generated = generate(model, seconds=real.size / rate, seed=seed, progress=False)[0]
    return plot_sound_comparison(generated, real, rate)


def checkpoint_previews(runs, *, seconds=2.0, seed=0):
    """``({label: audio}, rate)``: each run's preview WAVs, or previews generated from its
    best and last models when it wrote none."""
    from .generation import generate
    from .training import BEST_MODEL, LAST_MODEL, load_run_model

    sounds, rates = {}, set()
    for run in runs:
        run = Path(run)
        previews = sorted((run / "previews").glob("*.wav"))
        if previews:
            for path in previews:
                audio, rate = read_audio(path)
                sounds[f"{run.name} {path.stem}"] = to_mono(audio)
                rates.add(rate)
            continue
        for name in (BEST_MODEL, LAST_MODEL):
            if (run / name).is_file():
                model = load_run_model(run / name)
                sounds[f"{run.name} {name}"] = generate(model, seconds=seconds, seed=seed, progress=False)[0]
                rates.add(model.audio_config.sample_rate)
    if not sounds:
        raise RunError(f"no previews or models found in {', '.join(str(run) for run in runs)}")
    if len(rates) > 1:
        raise AudioRNNError(f"the sounds have different sample rates {sorted(rates)}: draw them separately")
    return sounds, rates.pop()
