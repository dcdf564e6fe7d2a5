"""What the sample tier reads of the past besides the embedding, in both of the model's paths.

The decoded values of the last ``lags`` samples; with the linear predictor its
prediction of the next sample and its error on the last one (and the
Laplace prior's centre and scale); with the frame tier the conditioning it
made at the start of the current frame. :func:`value_features` and
:func:`frame_conditioning` compute them over a window (the sequence path,
training and the seed preset), :func:`step_history` for one sample from the
carried states (the step path); tests check the two agree. The model appends
them to its conditioning (:meth:`audiornn.model.AudioRNN.conditioning`).
"""

from .backend import start_quietly

start_quietly()  # before Keras: a notebook's first import keeps the backend's start-up lines out
from keras import ops

from . import backend
from . import linear_prediction as lp
from .errors import ParameterError
from .layers import hold

__all__ = ["check_whole_frames", "frame_conditioning", "history_values", "step_history", "value_features"]


def value_features(model, classes, before=None, previous=None, predictor=None):
    """Values the first layer reads beside the embedding at each step t: ``(batch, time, lags [+ 2])``.

    The decoded values of samples t, t-1, ..., t-lags+1, then (with the
    linear predictor) its prediction of sample t+1 and its error on
    sample t. ``before`` holds the values of the ``history - 1`` samples
    preceding the window, oldest first, and ``previous`` ``(batch, 1)``
    the prediction of the window's first sample (zeros when None).
    ``predictor``: a vocoder's coefficients ``(batch, time, order)`` and
    scales ``(batch, time)`` fitted to the frames (:meth:`frame_predictors`,
    per sample), used instead of fitting to past values.

    Returns ``(features, prior, last)``: the predictor's ``(prediction,
    scale)`` ``(batch, time)`` each (None without it), and the
    ``(before, previous)`` of the next window.
    """
    config = model.model_config
    values, padded = history_values(model, classes, before)
    history, order = config.history, config.prediction_order
    length = ops.shape(values)[1]
    recent = ops.stack([padded[:, history - 1 - lag:history - 1 - lag + length]
                        for lag in range(max(config.lags, order))], axis=-1)  # newest first
    features, prior, last_prediction = [recent[..., :config.lags]], None, None
    if predictor is not None:
        coefficients, scale = predictor
    elif order:
        window = config.prediction_window
        hop = config.prediction_hop
        # Refits at steps 0, hop, 2 hop, ..., each from the window ending at that step t:
        # padded[t + history - window .. t + history - 1]; each fit serves the hop steps from it.
        starts = ops.arange(0, length, hop)
        index = starts[:, None] + ops.arange(window)[None, :] + (history - window)
        coefficients, scale = lp.fit_predictor(ops.take(padded, index, axis=1), order,
                                                floor=config.prediction_floor)
        if hop > 1:
            coefficients, scale = (hold(part, hop)[:, :length] for part in (coefficients, scale))
    if order:
        prediction = lp.predict(coefficients, recent[..., :order])
        previous = ops.zeros_like(values[:, :1]) if previous is None else ops.cast(previous, values.dtype)
        error = values - ops.concatenate([previous, prediction[:, :-1]], axis=1)
        features += [prediction[..., None], error[..., None]]
        prior, last_prediction = (prediction, scale), prediction[:, -1:]
    last_values = padded[:, ops.shape(padded)[1] - (history - 1):]
    return ops.concatenate(features, axis=-1), prior, (last_values, last_prediction)

def history_values(model, classes, before=None):
    """The decoded values of ``classes`` ``(batch, time)``, and the same after the ``history - 1``
    values before them (``before``, oldest first; zeros when None)."""
    values = model.values(classes)[..., 0]
    history = model.model_config.history
    padded = ops.pad(values, [[0, 0], [history - 1, 0]]) if before is None \
        else ops.concatenate([ops.cast(before, values.dtype), values], axis=1)
    return values, padded

def frame_conditioning(model, classes, before, carry, training, label=None):
    """The frame tier over a window: ``(batch, time, embedding_dim)``, its state carried when ``carry`` is.

    Step t of frame k (t = kF .. kF + F - 1) reads the conditioning that the
    frame tier made from the F values ending at sample kF, its first input,
    as :func:`step_history` does when it reaches kF.
    """
    size = model.model_config.frame_size
    length = classes.shape[1]
    if length is not None:
        check_whole_frames(length, size)
    values, padded = history_values(model, classes, before)
    start = model.model_config.history - size
    frames = padded[:, start:start + ops.shape(values)[1]]
    initial = None if carry is None else [ops.stop_gradient(ops.convert_to_tensor(state)) for state in carry.frame]
    conditioning, finals = model.frame_tier(frames, initial_states=initial, training=training, label=label)
    if carry is not None:
        for state, value in zip(carry.frame, finals):
            state.assign(ops.cast(value, state.dtype))
    return conditioning


def check_whole_frames(length, size):
    """A window of ``length`` samples refused where it is not whole frames of the frame tier's ``size``."""
    if length % size:
        raise ValueError(f"a window of {length} samples is not a whole number of frames of {size} samples")


def step_history(model, previous, states, new_states, predictor, label):
    """A step's value features (the lags, the linear predictor's prediction and error), the predictor's
    ``(prediction, scale)`` and the frame tier's conditioning for this sample (None for what the model
    lacks), the new history states put in ``new_states``."""
    config = model.model_config
    if not config.history:
        return None, None, None
    value = ops.take(ops.convert_to_tensor(model.class_values), previous, axis=0)[:, None]
    recent = ops.concatenate([value, states["lags"]], axis=1)  # (batch, history), newest first
    new_states["lags"] = recent[:, :-1]
    features, prior, frame = [recent[:, :config.lags]], None, None
    if config.linear_prediction:
        def refit():
            return lp.fit_predictor(recent[:, :config.prediction_window], config.linear_prediction,
                                    floor=config.prediction_floor, newest_first=True)

        coefficients, scale = refit() if config.prediction_hop == 1 else backend.cond(
            ops.equal(states["position"] % config.prediction_hop, 0), refit,
            lambda: (states["coefficients"], states["scale"]))
        new_states.update(coefficients=coefficients, scale=scale)
    elif config.frame_prediction:
        if predictor is None:
            raise ParameterError("this vocoder's step takes its frame's predictor (predictor=(coefficients, "
                                 "scales), from frame_predictors or audiornn.stepping.loop_extras)")
        coefficients, scale = predictor
    if config.prediction_order:
        prediction = lp.predict(coefficients, recent[:, :config.prediction_order])[:, None]
        features += [prediction, value - states["prediction"]]
        new_states["prediction"], prior = prediction, (prediction[:, 0], scale)
    if model.frame_tier is not None:
        size = config.frame_size

        def next_frame():  # the last F values, oldest first
            return model.frame_tier.step(ops.flip(recent[:, :size], axis=1), states["frame"], label)

        conditioning, new_states["frame"] = backend.cond(
            ops.equal(states["position"] % size, 0), next_frame,
            lambda: (states["conditioning"], states["frame"]))
        new_states["conditioning"] = conditioning
        frame = ops.take(conditioning, states["position"] % size, axis=1)
    if config.counts_steps:
        new_states["position"] = states["position"] + 1
    return ops.concatenate(features, axis=1), prior, frame
