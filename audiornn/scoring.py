"""Scoring: bits per sample on all of a split's audio or on held-out files, beside baselines.

A sequence model is scored with its state carried through each file, one
compiled step per sample (:meth:`AudioRNN.step`), as it is used when
generating; the seed preset, which has no state, predicts the sample after
each of a split's non-overlapping windows. No figures here: training and
evaluation both import this module, and it imports neither.
"""

import logging
import math
import os

import numpy as np
from tqdm.auto import tqdm

from .audio_io import prepare_audio, read_audio
from .baselines import score_baselines
from .dataset import as_dataset
from .config import bar_disabled, check_positive_int, shown_labels
from .errors import AudioFileError, AudioRNNError, ParameterError
from .features import frame_count
from .files import some_named
from .labels import labelled_files
from .stepping import TimeLeft, frame_span, label_ids, label_state, score_loop, take_frames
from .windows import WindowSampler

logger = logging.getLogger("audiornn")

__all__ = ["audio_pieces", "dataset_pieces", "evaluate_model", "format_identify_table", "format_score_table",
           "identify", "label_bits", "per_label", "score_audio", "score_classes"]


def dataset_pieces(dataset, split, label=None):
    """The classes of each source stretch of a split, as a list of arrays: with ``label`` (a labelled dataset's
    label name), those of that label's files only."""
    array = dataset.array(split)
    return [np.asarray(array[segment.start:segment.start + segment.length]) for segment in dataset.segments(split)
            if label is None or segment.label == label]


def label_names(model, label, count=1):
    """The label names of ``count`` streams of ``model`` under ``label`` (names or ids, one for all or one each, as
    :func:`~audiornn.stepping.label_state` reads them); None each for an unlabelled model or no label."""
    if not model.model_config.labels or label is None:
        return [None] * count
    return [model.model_config.labels[int(index)] for index in label_state(model, label, count)]


def reference_label(dataset, name):
    """The label whose files a sound generated under label ``name`` is held to in ``dataset``: ``name`` where the
    dataset has training audio of it, else None (all of it: an unlabelled dataset, or other labels)."""
    if name is None or not dataset.labels:
        return None
    return name if any(segment.label == name for segment in dataset.segments("train")) else None


def dataset_frames(dataset, split):
    """The spectrogram frames of each source stretch of a split (a dataset with features), as a list."""
    frames, hop = dataset.frames(split), dataset.feature_config.hop
    return [np.asarray(frames[segment.frames_start:segment.frames_start + frame_count(segment.length, hop)],
                       np.float32)
            for segment in dataset.segments(split)]


SHOWN_ERRORS = 5  # the files named in one error where several cannot be read


def audio_pieces(paths, audio_config, *, labels=None, with_labels=False, features=None, measured=None):
    """Audio files and folders prepared with ``audio_config`` into classes: ``(pieces, file names)``.

    Labelled audio (``paths`` a dict ``{label: paths}``, or ``labels``
    "folders" or a CSV list, as :func:`audiornn.labels.labelled_files`)
    gives each file's label too when ``with_labels``: ``(pieces, files,
    labels)``, the labels None for unlabelled audio. With ``features`` (a
    :class:`~audiornn.features.FeatureConfig`) each piece is ``(classes, frames)``. ``measured`` (what the
    files are to the caller: "the audio scored") has files of a lower rate than ``audio_config``'s said.
    """
    pieces, files, names, lower, failed = [], [], [], {}, []
    listed = labelled_files(paths, labels)[0]
    for path, _, label in listed:
        try:  # every file is read, so that one error names every file that cannot be (a messy folder: one fix)
            audio, rate = read_audio(path)
            # (once one has failed, the rest only checked: no frames made that would be thrown away)
            prepared = prepare_audio(audio, rate, audio_config=audio_config, source=f"'{path}'",
                                     features=None if failed else features)
        except AudioFileError as error:
            failed.append(error)
            continue
        if failed:
            continue
        pieces.append(prepared[0] if features is None else (prepared[0], prepared[2]))
        files.append(str(path))
        names.append(label)
        if rate < audio_config.sample_rate:
            lower[str(path)] = rate
    if len(failed) == 1:
        raise failed[0]
    if failed:
        shown = "; ".join(map(str, failed[:SHOWN_ERRORS])) + (
            f"; and {len(failed) - SHOWN_ERRORS} more" if len(failed) > SHOWN_ERRORS else "")
        raise AudioFileError(f"{len(failed)} of the {len(listed)} files cannot be used: {shown}",
                             reason=failed[0].reason)
    if measured and lower:
        warn_lower_rate(lower, audio_config.sample_rate, f"the file(s) of {measured}" if len(lower) == len(files)
                        else f"{len(lower)} of the {len(files)} file(s) of {measured}")
    return (pieces, files, names) if with_labels else (pieces, files)


def warn_lower_rate(lower, rate, what):
    """Say that audio of a lower rate than the model's (``lower``: ``{name: its rate}``) was resampled up: it holds
    nothing above half its rate, so what is measured on it (bits, distances, a prime's sound) is not what audio of
    the model's rate would give."""
    rates = sorted(set(lower.values()))
    logger.warning("%s (%s) at a lower rate (%s Hz) than the model's %d Hz: resampled up, they hold nothing above "
                   "%s Hz, and what is measured on them is not what %d Hz audio gives (give recordings made at %d Hz "
                   "or more)", what, some_named(list(lower)), ", ".join(map(str, rates)), rate,
                   ", ".join(f"{low / 2:g}" for low in rates), rate, rate)


def score_classes(model, pieces, *, streams=32, chunk=4000, progress=True, reset_every=None, labels=None,
                  per_piece=False, features=None):
    """Bits per sample and accuracy of a sequence model on class arrays, state carried.

    ``labels`` (a labelled model): the label of each piece, names or ids, or
    one for all. The result then (or with ``per_piece``) also has ``pieces``:
    each piece's bits per sample and targets, in order (what per-label
    scores and ``--identify`` are made of).

    ``features`` (a vocoder): each piece's spectrogram frames, aligned as
    :mod:`audiornn.features` says; the bits are then given the features.
    Pieces are scored whole (not cut into segments), in chunks of whole frames.

    Each piece (one file's classes) is cut into contiguous segments of about
    ``chunk`` samples or more; up to ``streams`` segments are scored side by
    side as one batch, each in chunks of ``chunk`` samples with its state
    carried, so memory stays flat however long the audio. Only a segment's
    first sample goes unpredicted. Padding is masked out, so every call has
    the same shape and the loop compiles once.

    ``reset_every=N`` is the context probe: the state starts from zero every
    N samples (the sample before each stretch is its first input, so the
    same samples are predicted), which tells how much of the model's score
    comes from more than N samples of the past.
    """
    if model.model_config.many_to_one:
        raise AudioRNNError("the seed preset has no recurrent state to carry: score it with windows "
                            "(evaluate_model on a dataset)")
    if (model.feature_net is None) != (features is None):
        raise AudioRNNError("a vocoder is scored given the features of the audio (features=...), and only a vocoder")
    hop = 1
    if features is not None:
        hop, margin = model.feature_config.hop, model.feature_net.margin
        if reset_every:
            raise AudioRNNError("the context probe (reset_every) is for models without features")
        chunk = max(hop, chunk - chunk % hop)
        features = [np.asarray(frames, dtype=np.float32) for frames in features]
    piece_labels = None
    if model.label_embedding is not None or labels is not None:
        piece_labels = label_state(model, labels, len(pieces))
    if reset_every:
        chunk = min(chunk, check_positive_int(reset_every, "reset_every"))
    segments, owners = _segments(pieces, chunk, reset_every, whole=features is not None)
    count = min(streams, len(segments))
    scorer = score_loop(model)
    nats = correct = 0.0
    piece_nats, piece_targets = np.zeros(len(pieces)), np.zeros(len(pieces), dtype=np.int64)
    targets = sum(segment.size - 1 for segment in segments)
    with tqdm(total=targets, unit="sample", unit_scale=True, desc="scoring",
              disable=bar_disabled(progress)) as bar:
        # Off a terminal (no bar) a long score says once how long it will take, timed after its first chunk
        estimate = TimeLeft(targets, f"scoring {targets:,} targets") if progress and bar.disable else None
        for first in range(0, len(segments), count):
            group = segments[first:first + count]
            rows = owners[first:first + count]
            np.add.at(piece_targets, rows, [segment.size - 1 for segment in group])
            label = None
            if piece_labels is not None:  # padding rows (a short last group) take the first row's label
                label = np.concatenate([piece_labels[rows], np.repeat(piece_labels[rows[:1]], count - len(rows))])
            states = model.initial_states(count, label)
            for start, inputs, mask in _chunks_of(group, count, chunk):
                extra = ()
                if features is not None:  # the chunk's frames with margins; padding rows repeat the first
                    span = frame_span(start, chunk, hop, margin)
                    frames = [take_frames(features[owner], span) for owner in rows]
                    extra = (np.stack(frames + frames[:1] * (count - len(rows))),)
                states, chunk_nats, chunk_correct = scorer(states, inputs, mask, *extra)
                chunk_nats = np.asarray(chunk_nats, dtype=np.float64)
                nats += float(chunk_nats.sum())
                np.add.at(piece_nats, rows, chunk_nats[:len(rows)])
                correct += float(np.asarray(chunk_correct, dtype=np.float64).sum())
                bar.update(int(mask.sum()))
                if estimate is not None:
                    estimate.done(int(mask.sum()))
    result = {"bits_per_sample": nats / targets / math.log(2), "accuracy": correct / targets,
              "targets": int(targets)}
    if piece_labels is not None or per_piece:
        result["pieces"] = [{"bits_per_sample": float(total / max(count, 1) / math.log(2)), "targets": int(count)}
                            for total, count in zip(piece_nats, piece_targets)]
    return result


def _chunks_of(group, count, chunk):
    """A group of segments (longest first) padded to ``count`` rows, in chunks: ``(start, inputs, mask)``, the
    inputs ``(count, chunk + 1)`` columns start..start+chunk, of which the first ``chunk`` predict the next
    ones; ``mask`` ``(count, chunk)`` weighs each prediction (0 for padding)."""
    length = group[0].size
    batch = np.zeros((count, length), dtype=np.int32)
    valid = np.zeros((count, length), dtype=np.float32)
    for row, segment in enumerate(group):
        batch[row, :segment.size] = segment
        valid[row, 1:segment.size] = 1.0  # valid[t]: sample t is a real target
    for start in range(0, length - 1, chunk):
        inputs = np.zeros((count, chunk + 1), dtype=np.int32)
        mask = np.zeros((count, chunk), dtype=np.float32)
        piece = batch[:, start:start + chunk + 1]
        inputs[:, :piece.shape[1]] = piece
        mask[:, :piece.shape[1] - 1] = valid[:, start + 1:start + piece.shape[1]]
        yield start, inputs, mask


def _segments(pieces, chunk, reset_every=None, whole=False):
    """The pieces cut into the segments scored side by side, longest first, and each one's piece: contiguous
    stretches of about ``chunk`` samples or more (``whole``: each piece as it is; ``reset_every`` N: the
    context probe's stretches, stretch k reading samples kN - 1 .. (k + 1)N - 1 from a zero state to predict
    kN .. (k + 1)N - 1). Pieces shorter than 2 samples predict nothing and are left out."""
    segments, owners = [], []
    for index, piece in enumerate(pieces):
        piece = np.asarray(piece, dtype=np.int32)
        if piece.size < 2:
            continue
        if reset_every:
            parts = [piece[max(0, start - 1):start + reset_every] for start in range(0, piece.size - 1, reset_every)]
        else:
            parts = [piece] if whole else np.array_split(piece, max(1, piece.size // (4 * chunk)))
        segments += parts
        owners += [index] * len(parts)
    if not segments:
        raise AudioFileError("nothing to score: the audio is shorter than 2 samples")
    order = sorted(range(len(segments)), key=lambda index: -segments[index].size)
    return [segments[index] for index in order], np.array([owners[index] for index in order])


def per_label(result, piece_labels, names):
    """Bits per sample of each label from :func:`score_classes`'s ``pieces``: ``{name: {...}}``; a label with no
    targets (its audio shorter than 2 samples) has no score, None."""
    scores = {}
    for label in sorted(set(piece_labels), key=list(names).index):
        members = [piece for piece, owner in zip(result["pieces"], piece_labels) if owner == label]
        targets = sum(piece["targets"] for piece in members)
        bits = sum(piece["bits_per_sample"] * piece["targets"] for piece in members) / targets if targets else None
        scores[label] = {"bits_per_sample": bits, "targets": targets, "files": len(members)}
    return scores


def evaluate_model(model, dataset, *, split="validation", batch_size=64, progress=False):
    """Bits per sample and accuracy of ``model`` on all of a split's audio.

    A sequence model is scored file by file with its state carried (as it is
    used when generating); the seed preset, which has no state, predicts the
    sample after each of the split's non-overlapping windows.
    """
    config = model.model_config
    if not config.many_to_one:
        features = None if model.feature_net is None else dataset_frames(dataset, split)
        if not dataset.labels:
            return score_classes(model, dataset_pieces(dataset, split), progress=progress, features=features)
        # A labelled dataset: each label's score too (under its label, when the model has labels).
        labels = [segment.label for segment in dataset.segments(split)]
        result = score_classes(model, dataset_pieces(dataset, split), progress=progress,
                               labels=labels if config.labels else None, per_piece=True, features=features)
        result["labels"] = per_label(result, labels, dataset.labels)
        del result["pieces"]
        return result
    # One target per window, windows side by side: each re-reads a whole window.
    sampler = WindowSampler(dataset.array(split), dataset.segments(split), sequence_length=config.window,
                            batch_size=batch_size, mode="many_to_one", shuffle=False, name=split,
                            hop=config.window)
    nats = correct = count = 0.0
    for index in range(len(sampler)):
        inputs, targets = sampler.batch(index)
        logits = np.asarray(model.predict_on_batch(inputs), dtype=np.float64)
        logits -= logits.max(axis=-1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
        nats -= np.take_along_axis(log_probs, targets[..., None], axis=-1).sum()
        correct += np.count_nonzero(log_probs.argmax(axis=-1) == targets)
        count += targets.size
    return {"bits_per_sample": nats / count / math.log(2), "accuracy": correct / count, "targets": int(count)}


FEW_SECONDS = 1.0  # less audio scored than this is said to tell little


def score_audio(model, audio, *, dataset=None, progress=True, label=None, labels=None):
    """Score ``model`` on audio files/folders it never saw, beside the baselines.

    The audio is prepared with the model's own audio config. Baselines are
    fitted only on ``dataset``'s training audio (the model's own dataset; a
    run's is read from its folder when not given, the run named by its path
    or the model loaded from it; ``False``: none, without looking).
    Returns a dict: the model's bits per sample and accuracy, each baseline's
    bits per sample, the files and their duration, and ``in_training``: the
    files found in the dataset's training audio (None where there is no
    dataset to check them against, as for a shipped model). A labelled model scores
    every file under ``label``, or else each under its own label (labelled
    audio: ``audio`` a dict ``{label: paths}`` or ``labels`` "folders" or a
    CSV list), with bits per sample per label.
    """
    from .runs import as_model, own_dataset

    # A run's own dataset, as eval reads it, whether the run is given by its path or as the model loaded from it
    dataset = own_dataset(model, dataset, "scored without the baselines fitted on it")
    model = as_model(model)
    if model.model_config.many_to_one:
        raise AudioRNNError("the seed preset is scored with windows during training; "
                            "held-out scoring with carried state needs a sequence model")
    pieces, files, truth = audio_pieces(audio, model.audio_config, labels=labels, with_labels=True,
                                        features=model.feature_config, measured="the audio scored")
    frames = None
    if model.feature_config is not None:  # a vocoder is scored given the audio's own frames
        pieces, frames = [piece for piece, _ in pieces], [own for _, own in pieces]
    dataset = None if dataset is None else as_dataset(dataset, audio_config=model.audio_config)
    under = _labels_to_score(model, label, truth)
    result = score_classes(model, pieces, progress=progress, labels=under, features=frames)
    score = {"model": result, "files": files}
    if under is not None:
        names = under if isinstance(under, list) else [under] * len(pieces)
        score["labels"] = per_label(result, names, model.model_config.labels)
        score["file_labels"] = names
        del result["pieces"]
    samples = sum(piece.size for piece in pieces)
    # Without the model's dataset (a shipped model, a lone .keras file) there is nothing to fit baselines on.
    score.update(baselines={} if dataset is None else score_baselines(dataset_pieces(dataset, "train"), pieces,
                                                                      mu=model.audio_config.mu),
                 seconds=samples / model.audio_config.sample_rate,
                 dataset=None if dataset is None else str(dataset.path),
                 in_training=None if dataset is None else _in_training(files, dataset, pieces))  # (None: unchecked)
    if score["seconds"] < FEW_SECONDS:  # (a probe scored an 80-sample file, 0.01 s, and was told nothing)
        logger.warning("only %.3g s of audio were scored (%d samples in %d file(s)): bits per sample of so little "
                       "audio tell little of the model (the first samples of each file, from a silent state, weigh in "
                       "heavily); score %g s or more", score["seconds"], samples, len(files), FEW_SECONDS)
    if score["in_training"]:
        shown = some_named(score["in_training"])
        logger.warning("%d of the %d file(s) scored (%s) are training audio of the model's dataset '%s', in whole "
                       "or in part: their bits are not held-out bits (lower than on audio it never heard)",
                       len(score["in_training"]), len(files), shown, dataset.path)
    return score


def _in_training(files, dataset, pieces=None):
    """The ``files`` whose audio (all of it, or its head: one file split in two) ``dataset`` trains on: by their
    path, and, given their prepared ``pieces``, by their audio under any name (:func:`_copies_in_training`).
    Sources recorded by a relative path (as given to a build in another folder) are not compared by path: where
    they were is not known."""
    trained = {os.path.realpath(source["path"]) for source in dataset.metadata.get("sources", [])
               if source.get("split") == "train" and source.get("path") and os.path.isabs(source["path"])}
    found = {str(path) for path in files if os.path.realpath(path) in trained}
    if pieces is not None:
        copies = _copies_in_training([(str(path), piece) for path, piece in zip(files, pieces)
                                      if str(path) not in found], dataset)
        for path, (source, alike) in copies.items():
            if alike is None and _same_file(source, path):  # the file itself, its source recorded by a relative
                continue  # path that reaches it from here too (said with the rest below)
            logger.warning("'%s' holds the audio of training file '%s' of dataset '%s' (%s)", path, source,
                           dataset.path, "byte for byte, under another name" if alike is None else
                           f"what sounds like the same recording: its coarse spectrogram moves with that file's, "
                           f"correlation {alike:.2f}; another format, rate or level of it")
        found |= set(copies)
    return [str(path) for path in files if str(path) in found]


def _same_file(one, other):
    """Whether the paths ``one`` and ``other`` reach the same file from here."""
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False


def _copies_in_training(scored, dataset):
    """``{file: (training source, correlation or None)}`` for the ``scored`` ``(file, classes)`` whose audio is a
    training file's, byte for byte (None) or (as the data command tells one recording in two files, at its
    correlation: :class:`audiornn.dataset._Recordings`) in another format, rate or level, whatever their names.
    Only training files within :data:`~audiornn.audio_io.SAME_LENGTH` of a scored file's length are read (a copy
    of part of a file, or of one trimmed otherwise, is not found), and they are fingerprinted only where some
    scored file is no byte-for-byte copy."""
    import hashlib

    from .audio_io import SAME_LENGTH
    from .dataset import _Recordings

    def about(pieces, length):  # whether any of ``pieces`` is within SAME_LENGTH of ``length``
        sizes = np.array([classes.size for _, classes in pieces], dtype=np.float64)
        return bool(np.any(np.abs(sizes - length) <= SAME_LENGTH * np.maximum(sizes, length)))

    def digest(classes):
        return hashlib.sha256(np.ascontiguousarray(classes).tobytes()).hexdigest()

    if not scored or not dataset.samples("train"):
        return {}
    array = dataset.array("train")
    near = [segment for segment in dataset.segments("train") if about(scored, segment.length)]
    digests = {}
    for segment in near:
        digests.setdefault(digest(array[segment.start:segment.start + segment.length]), segment.source)
    copies, left = {}, []
    for path, classes in scored:
        source = digests.get(digest(classes))
        if source is not None:
            copies[path] = (source, None)
        else:
            left.append((path, classes))
    if left:
        recordings = _Recordings(dataset.audio_config)
        for segment in near:
            if about(left, segment.length):
                classes = np.asarray(array[segment.start:segment.start + segment.length])
                recordings.add("", classes.size, recordings.fingerprint(classes), segment.source)
        for path, classes in left:
            source, _, alike = recordings.find(classes, "")
            if source is not None:
                copies[path] = (source, alike)
    return copies


def _labels_to_score(model, label, truth):
    """The label(s) to score files under: ``label``, or each file's own, or None for an unlabelled model."""
    known = model.model_config.labels
    if not known:
        if label is not None:
            label_ids(model, label)  # refused: the model has no labels
        return None
    if label is not None:
        label_ids(model, label)
        return label
    if truth and all(name is not None for name in truth):
        label_ids(model, truth)  # an unknown one is refused, with the known ones
        return list(truth)
    raise ParameterError(f"this model was trained with labels: score under one with --label (one of "
                         f"{shown_labels(known)}), give the files' own labels (NAME=PATH or by folder), or "
                         f"--identify")


def identify(model, audio, *, labels=None, progress=True):
    """Score each file under every label of ``model``; the label with the lowest bits is its guess.

    Returns ``{"files", "labels", "bits" (files x labels), "guess", "truth", "too_short"}`` (files shorter than
    2 samples are not scored: they are listed in ``"too_short"``) and, when the files' own labels are known
    (``audio`` a dict, or ``labels``), ``"accuracy"`` overall and ``"per_label"`` over the files whose label
    the model knows (the others are listed in ``"unknown_labels"``: no guess of the model's can be right).
    """
    from .runs import as_model

    model = as_model(model)  # a run folder or a shipped model's name, as everywhere
    names = list(model.model_config.labels)
    if not names:
        raise ParameterError("--identify needs a model trained with labels; this one has none")
    pieces, files, truth = audio_pieces(audio, model.audio_config, labels=labels, with_labels=True,
                                        features=model.feature_config, measured="the audio identified")
    frames = None
    if model.feature_config is not None:  # a vocoder is scored given each file's own frames
        pieces, frames = [piece for piece, _ in pieces], [own for _, own in pieces]
    kept = [index for index, piece in enumerate(pieces) if piece.size >= 2]
    too_short = [files[index] for index in range(len(files)) if index not in kept]
    if not kept:
        raise AudioFileError("nothing to identify: every file is shorter than 2 samples")
    if too_short:
        logger.warning("%d file(s) shorter than 2 samples are not identified: %s", len(too_short),
                       ", ".join(too_short[:3]) + (" ..." if len(too_short) > 3 else ""))
    pieces, files, truth = ([items[index] for index in kept] for items in (pieces, files, truth))
    result = score_classes(model, [piece for piece in pieces for _ in names], labels=names * len(pieces),
                           progress=progress, features=None if frames is None else
                           [frames[index] for index in kept for _ in names])
    bits = np.array([piece["bits_per_sample"] for piece in result["pieces"]]).reshape(len(pieces), len(names))
    guess = [names[index] for index in bits.argmin(axis=1)]
    found = {"files": files, "labels": names, "bits": bits.tolist(), "guess": guess, "truth": truth,
             "too_short": too_short}
    if all(name is not None for name in truth):
        known = [(g, t) for g, t in zip(guess, truth) if t in names]
        found["unknown_labels"] = sorted({t for t in truth if t not in names})
        if known:
            found["accuracy"] = float(np.mean([g == t for g, t in known]))
            found["per_label"] = {name: float(np.mean([g == t for g, t in known if t == name]))
                                  for name in names if any(t == name for _, t in known)}
    return found


def format_identify_table(found):
    """:func:`identify`'s result as lines: each file's guess and bits under every label, then the accuracy."""
    width = max(8, *(len(name) for name in found["labels"]))
    lines = [f"{'file':<40}{'guess':>{width + 2}}" + "".join(f"{name:>{width + 2}}" for name in found["labels"])]
    unknown = set(found.get("unknown_labels", ()))
    for file, guess, bits, truth in zip(found["files"], found["guess"], found["bits"], found["truth"]):
        mark = "" if truth is None else (f"  (is {truth}, a label the model does not know)" if truth in unknown
                                         else "  ok" if guess == truth else f"  (is {truth})")
        name = file if len(file) <= 38 else "..." + file[-35:]
        lines.append(f"{name:<40}{guess:>{width + 2}}" + "".join(f"{value:>{width + 2}.3f}" for value in bits) + mark)
    if "accuracy" in found:
        each = ", ".join(f"{name} {value:.1%}" for name, value in found["per_label"].items())
        counted = sum(truth not in unknown for truth in found["truth"])
        lines.append(f"accuracy {found['accuracy']:.1%} of {counted} file(s) ({each})")
    if unknown:
        lines.append(f"(not counted: {sum(truth in unknown for truth in found['truth'])} file(s) labelled "
                     f"{', '.join(sorted(unknown))}, which the model does not know)")
    if found.get("too_short"):
        lines.append(f"(not scored: {len(found['too_short'])} file(s) shorter than 2 samples)")
    return "\n".join(lines)


def label_bits(label):
    """One label's score as shown: its bits per sample, or that it had no audio to score."""
    return "no validation audio" if label["bits_per_sample"] is None else f"{label['bits_per_sample']:.3f}"


def format_score_table(score):
    """The score as a small text table, best first."""
    rows = [("model", score["model"]["bits_per_sample"], score["model"]["accuracy"])]
    rows += [(name.replace("_", " "), bits, None) for name, bits in score["baselines"].items()]
    lines = [f"{'':<22}{'bits/sample':>12}{'accuracy':>10}"]
    for name, bits, accuracy in sorted(rows, key=lambda row: row[1]):
        lines.append(f"{name:<22}{bits:>12.3f}{'' if accuracy is None else f'{accuracy:>10.3f}'}")
    for name, label in score.get("labels", {}).items():
        lines.append(f"{'label ' + name:<22}{label_bits(label):>12}   ({label['files']} file(s))")
    fitted = f"baselines fitted on {score['dataset']}" if score["dataset"] else \
        "no baselines: give --dataset, the model's training dataset, to fit them"
    trained = len(score.get("in_training") or [])
    # (without the model's dataset, as of a shipped model, what it trained on is not known: the audio is not called
    # held out)
    kind = "audio" if trained or not score["dataset"] else "held-out audio"
    checked = f", {trained} of them training audio" if trained else "" if score["dataset"] else \
        ", not checked against the model's training audio"
    lines.append(f"({score['seconds']:.1f} s of {kind} in {len(score['files'])} file(s){checked}; {fitted})")
    return "\n".join(lines)
