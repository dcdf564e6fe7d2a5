"""Scoring: bits per sample on all of a split's audio or on held-out files, beside baselines.

A sequence model is scored with its state carried through each file, one
compiled step per sample (:meth:`AudioRNN.step`), as it is used when
generating; the seed preset, which has no state, predicts the sample after
each of a split's non-overlapping windows. No figures here: training and
evaluation both import this module, and it imports neither.
"""

import math

import numpy as np
from tqdm.auto import tqdm

from .audio_io import find_audio_files, prepare_audio, read_audio
from .baselines import score_baselines
from .dataset import as_dataset
from .config import check_positive_int
from .errors import AudioFileError, AudioRNNError, DatasetError
from .windows import WindowSampler

__all__ = ["audio_pieces", "dataset_pieces", "evaluate_model", "format_score_table", "score_audio",
           "score_classes"]


def dataset_pieces(dataset, split):
    """The classes of each source stretch of a split, as a list of arrays."""
    array = dataset.array(split)
    return [np.asarray(array[segment.start:segment.start + segment.length]) for segment in dataset.segments(split)]


def audio_pieces(paths, audio_config):
    """Audio files and folders prepared with ``audio_config`` into classes: ``(pieces, file names)``."""
    pieces, files = [], []
    for path, _ in find_audio_files(paths):
        audio, rate = read_audio(path)
        classes, _ = prepare_audio(audio, rate, audio_config=audio_config, source=f"'{path}'")
        pieces.append(classes)
        files.append(str(path))
    return pieces, files


def _chunk_scorer(model):
    """A compiled ``(states, classes, mask) -> (states, nats, correct)`` over one chunk, teacher forced.

    ``classes`` ``(streams, chunk + 1)``; ``mask[:, t]`` weighs the prediction of
    ``classes[:, t + 1]`` (0 for padding). Sums are per stream.
    """
    import tensorflow as tf

    def score(states, classes, mask):
        constants = model.step_constants()

        def body(step, states, nats, correct):
            logits, states = model.step(classes[:, step], states, constants)
            target, weight = classes[:, step + 1], mask[:, step]
            log_probabilities = tf.nn.log_softmax(logits)
            nats -= weight * tf.gather(log_probabilities, target, axis=1, batch_dims=1)
            hits = tf.equal(tf.argmax(logits, axis=-1, output_type=tf.int32), target)
            correct += weight * tf.cast(hits, tf.float32)
            return step + 1, states, nats, correct

        zeros = tf.zeros(tf.shape(classes)[:1])
        _, states, nats, correct = tf.while_loop(
            lambda step, *_: step < tf.shape(classes)[1] - 1, body, (tf.constant(0), states, zeros, zeros))
        return states, nats, correct

    return tf.function(score, jit_compile=True, reduce_retracing=True)


def score_classes(model, pieces, *, streams=32, chunk=4000, progress=True, reset_every=None):
    """Bits per sample and accuracy of a sequence model on class arrays, state carried.

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
    segments = []
    for piece in pieces:
        piece = np.asarray(piece, dtype=np.int32)
        if piece.size < 2:
            continue
        if reset_every:
            step = check_positive_int(reset_every, "reset_every")
            chunk = min(chunk, step)
            # Stretch k reads samples kN - 1 .. (k + 1)N - 1 from a zero state and predicts kN .. (k + 1)N - 1.
            segments.extend(piece[max(0, start - 1):start + step] for start in range(0, piece.size - 1, step))
        else:
            segments.extend(np.array_split(piece, max(1, piece.size // (4 * chunk))))
    if not segments:
        raise AudioFileError("nothing to score: the audio is shorter than 2 samples")
    segments.sort(key=len, reverse=True)
    count = min(streams, len(segments))
    scorer = _chunk_scorer(model)
    nats = correct = 0.0
    targets = sum(segment.size - 1 for segment in segments)
    with tqdm(total=targets, unit="sample", unit_scale=True, desc="scoring",
              disable=None if progress else True) as bar:
        for first in range(0, len(segments), count):
            group = segments[first:first + count]
            length = group[0].size
            batch = np.zeros((count, length), dtype=np.int32)
            valid = np.zeros((count, length), dtype=np.float32)
            for row, segment in enumerate(group):
                batch[row, :segment.size] = segment
                valid[row, 1:segment.size] = 1.0  # valid[t]: sample t is a real target
            states = model.initial_states(count)
            for start in range(0, length - 1, chunk):
                # Columns start..start+chunk: inputs start..start+chunk-1 predict the next ones.
                inputs = np.zeros((count, chunk + 1), dtype=np.int32)
                mask = np.zeros((count, chunk), dtype=np.float32)
                piece = batch[:, start:start + chunk + 1]
                inputs[:, :piece.shape[1]] = piece
                mask[:, :piece.shape[1] - 1] = valid[:, start + 1:start + piece.shape[1]]
                states, chunk_nats, chunk_correct = scorer(states, inputs, mask)
                nats += float(np.sum(chunk_nats, dtype=np.float64))
                correct += float(np.sum(chunk_correct, dtype=np.float64))
                bar.update(int(mask.sum()))
    return {"bits_per_sample": nats / targets / math.log(2), "accuracy": correct / targets,
            "targets": int(targets)}


def evaluate_model(model, dataset, *, split="validation", batch_size=64, progress=False):
    """Bits per sample and accuracy of ``model`` on all of a split's audio.

    A sequence model is scored file by file with its state carried (as it is
    used when generating); the seed preset, which has no state, predicts the
    sample after each of the split's non-overlapping windows.
    """
    config = model.model_config
    if not config.many_to_one:
        return score_classes(model, dataset_pieces(dataset, split), progress=progress)
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
    pieces, files = audio_pieces(audio, model.audio_config)
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
