"""The model's parts: its layers, the tiers and networks that condition the sample tier, the carried state.

:class:`FrameTier` (SampleRNN's frame-level tier: a recurrent network stepping
once a frame over the samples) and :class:`FeatureNet` (a vocoder's frame-rate
network over spectrogram frames) each make per-sample conditioning that
:meth:`audiornn.model.AudioRNN.condition` feeds to the sample tier; a label's
embedding is the third kind, kept in the model. Every custom object is
registered under the package name "audiornn", so saved files load wherever
the classes live.
"""

import math

from .backend import start_quietly

start_quietly()  # before Keras: a notebook's first import keeps the backend's start-up lines out
import keras
import numpy as np
from keras import ops

from . import backend, dsp

__all__ = ["BitsPerSample", "FeatureNet", "FrameTier", "LSTMPCell", "MuLawValues", "StateCarry", "hold",
           "recurrent_layer", "state_sizes"]


def hold(values, hop):
    """Each step of ``values`` ``(batch, steps, ...)`` held for ``hop`` steps: ``(batch, steps * hop, ...)``,
    what ``ops.repeat(values, hop, axis=1)`` gives, made by broadcasting, whose gradient is a sum. (Repeat's
    gradient on TensorFlow transposes int32 indices, which oneDNN refuses with an error line on the terminal.)"""
    shape = ops.shape(values)
    held = ops.broadcast_to(ops.expand_dims(values, 2), (shape[0], shape[1], hop, *shape[2:]))
    return ops.reshape(held, (shape[0], -1, *shape[2:]))


@keras.saving.register_keras_serializable(package="audiornn")
class LSTMPCell(keras.layers.Layer):
    """An LSTM cell whose output and recurrent state go through a projection.

    States: ``[h (batch, projection_units), c (batch, units)]``; the gates see
    the projected ``h``, which keeps the recurrent matrix small (seed 001).
    """

    def __init__(self, units, projection_units, **kwargs):
        super().__init__(**kwargs)
        self.units, self.projection_units = int(units), int(projection_units)
        self.state_size = [self.projection_units, self.units]
        self.output_size = self.projection_units

    def build(self, input_shape):
        features = input_shape[-1]
        self.kernel = self.add_weight(shape=(features, 4 * self.units), initializer="glorot_uniform",
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.projection_units, 4 * self.units),
                                                initializer="orthogonal", name="recurrent_kernel")
        # Forget-gate bias of one, as Keras' LSTM does.
        bias = np.zeros(4 * self.units, dtype="float32")
        bias[self.units:2 * self.units] = 1.0
        self.bias = self.add_weight(shape=(4 * self.units,), initializer=keras.initializers.Constant(bias),
                                    name="bias")
        self.projection = self.add_weight(shape=(self.units, self.projection_units),
                                          initializer="glorot_uniform", name="projection")

    def call(self, inputs, states, training=False):
        hidden, cell = states[0], states[1]
        gates = ops.matmul(inputs, self.kernel) + ops.matmul(hidden, self.recurrent_kernel) + self.bias
        input_gate, forget_gate, candidate, output_gate = ops.split(gates, 4, axis=-1)
        cell = ops.sigmoid(forget_gate) * cell + ops.sigmoid(input_gate) * ops.tanh(candidate)
        hidden = ops.matmul(ops.sigmoid(output_gate) * ops.tanh(cell), self.projection)
        return hidden, [hidden, cell]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "projection_units": self.projection_units}


@keras.saving.register_keras_serializable(package="audiornn")
class MuLawValues(keras.layers.Layer):
    """Classes to their decoded μ-law values in [-1, 1]: ``(batch, time)`` -> ``(batch, time, 1)``."""

    def __init__(self, mu=255, **kwargs):
        super().__init__(**kwargs)
        self.mu = int(mu)
        self.table = dsp.mu_law_decode(np.arange(self.mu + 1), mu=self.mu)

    def call(self, classes):
        classes = ops.cast(classes, "int32")  # Keras may build the model on float dummies
        return ops.expand_dims(ops.take(ops.convert_to_tensor(self.table), classes, axis=0), -1)

    def get_config(self):
        return {**super().get_config(), "mu": self.mu}


@keras.saving.register_keras_serializable(package="audiornn")
class BitsPerSample(keras.metrics.Mean):
    """Mean cross-entropy of the next sample, in bits (nats / ln 2)."""

    def __init__(self, name="bits_per_sample", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        nats = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
        return super().update_state(nats / math.log(2.0), sample_weight=sample_weight)


def recurrent_layer(config, index, return_sequences, return_state=False):
    options = dict(return_sequences=return_sequences, return_state=return_state, name=f"{config.cell}_{index}")
    if config.cell == "gru":
        return keras.layers.GRU(config.units, **options)
    if config.cell == "lstm":
        return keras.layers.LSTM(config.units, **options)
    projection = config.projection_units or max(1, config.units // 2)
    return keras.layers.RNN(LSTMPCell(config.units, projection), **options)


def state_sizes(cell):
    """The sizes of a recurrent cell's states, as a list (a GRU has one, an LSTM two)."""
    sizes = cell.state_size
    return list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]


@keras.saving.register_keras_serializable(package="audiornn")
class FrameTier(keras.layers.Layer):
    """A recurrent tier that steps once per frame of ``frame_size`` samples (SampleRNN's frame-level tier).

    It reads each frame's decoded values, μ-law companded to [-1, 1]
    (``mu``), through ``layers`` GRUs of ``units``, and projects each output
    to ``frame_size`` conditioning vectors of ``conditioning`` values, one
    per sample of the frame it conditions. Like the sample tier it runs two
    ways: :meth:`call` over a sequence of frames (training; Keras' fused GRU)
    and :meth:`step` for one frame from a state (generation, scoring); both
    give the same conditioning.
    """

    def __init__(self, frame_size, units, layers, conditioning, mu=255, **kwargs):
        super().__init__(**kwargs)
        self.frame_size, self.units, self.layers = int(frame_size), int(units), int(layers)
        self.conditioning, self.mu = int(conditioning), int(mu)
        self.recurrent = [keras.layers.GRU(self.units, return_sequences=True, return_state=True,
                                           name=f"frame_gru_{index}") for index in range(self.layers)]
        self.output_projection = keras.layers.Dense(self.frame_size * self.conditioning, name="frame_output")

    def state_sizes(self):
        return [self.units] * self.layers

    def compand(self, values):
        """Decoded values to the μ-law's companded scale, where the classes are evenly spaced."""
        return ops.sign(values) * ops.log1p(self.mu * ops.abs(values)) / math.log1p(self.mu)

    def call(self, values, initial_states=None, training=False, label=None):
        """``values`` ``(batch, frames * frame_size)``, frame k ending at the sample that its
        conditioning's first sample reads -> conditioning ``(batch, frames * frame_size,
        conditioning)`` and each layer's final state. ``label``: a labelled model's label
        vectors ``(batch, label_dim)``, read beside every frame."""
        batch = ops.shape(values)[0]
        hidden = ops.reshape(self.compand(values), (batch, -1, self.frame_size))
        if label is not None:
            hidden = ops.concatenate([hidden, ops.broadcast_to(label[:, None, :], (
                batch, ops.shape(hidden)[1], ops.shape(label)[-1]))], axis=-1)
        finals = []
        for index, layer in enumerate(self.recurrent):
            initial = None if initial_states is None else [initial_states[index]]
            hidden, final = layer(hidden, initial_state=initial, training=training)
            finals.append(final)
        return ops.reshape(self.output_projection(hidden), (batch, -1, self.conditioning)), finals

    def step(self, frame, states, label=None):
        """One frame ``(batch, frame_size)`` of values, oldest first, from ``states`` (a list, one per
        layer) -> the next frame's conditioning ``(batch, frame_size, conditioning)`` and the new states."""
        hidden, new_states = self.compand(frame), []
        if label is not None:
            hidden = ops.concatenate([hidden, label], axis=-1)
        for layer, state in zip(self.recurrent, states):
            hidden, state = layer.cell(hidden, [state], training=False)
            new_states.append(state[0] if isinstance(state, (list, tuple)) else state)
        return ops.reshape(self.output_projection(hidden), (-1, self.frame_size, self.conditioning)), new_states

    def get_config(self):
        return {**super().get_config(), "frame_size": self.frame_size, "units": self.units, "layers": self.layers,
                "conditioning": self.conditioning, "mu": self.mu}


@keras.saving.register_keras_serializable(package="audiornn")
class FeatureNet(keras.layers.Layer):
    """Spectrogram frames to one conditioning vector per frame (LPCNet's frame-rate network).

    The frames are first standardised band by band, by a mean and a standard
    deviation that training sets once from the training frames (:meth:`adapt`)
    and that travel in the model file as weights, then go through ``layers``
    1-D convolutions of width 3, not causal: each frame's vector sees ``layers``
    frames before and after it. Valid convolutions, so the input carries
    :attr:`margin` frames at both ends: ``(batch, frames + 2 margin, bands)`` ->
    ``(batch, frames, units)``. (Not ``keras.layers.Normalization``: it keeps
    a tensor made from its variables when built, which fails when the model is
    first built inside a traced function and goes stale when weights are
    assigned, as ``--init-from`` does; these two weights are read on every call.)
    """

    def __init__(self, units, layers, **kwargs):
        super().__init__(**kwargs)
        self.units, self.layers = int(units), int(layers)
        self.convolutions = [keras.layers.Conv1D(self.units, 3, activation="tanh", name=f"feature_conv_{index}")
                             for index in range(self.layers)]
        self.output_dense = keras.layers.Dense(self.units, activation="tanh", name="feature_output")

    def build(self, input_shape):
        bands = int(input_shape[-1])
        self.mean = self.add_weight(shape=(bands,), initializer="zeros", trainable=False, name="mean")
        self.deviation = self.add_weight(shape=(bands,), initializer="ones", trainable=False, name="deviation")

    @property
    def margin(self):
        return self.layers

    def adapt(self, frames):
        """Set the standardisation from ``frames`` ``(count, bands)``: each band's mean and standard deviation."""
        frames = np.asarray(frames, dtype="float64").reshape(-1, self.mean.shape[0])
        self.mean.assign(frames.mean(axis=0).astype("float32"))
        self.deviation.assign(np.maximum(frames.std(axis=0), 1e-3).astype("float32"))

    def call(self, frames):
        hidden = (ops.cast(frames, self.compute_dtype) - self.mean) / self.deviation
        for convolution in self.convolutions:
            hidden = convolution(hidden)
        return self.output_dense(hidden)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "layers": self.layers}


class StateCarry:
    """Recurrent states carried from one batch to the next (attach with :meth:`StateCarry.attach`).

    Truncated backpropagation through time: with a carry attached, each call
    starts every layer from the state where the previous batch's same row
    ended (and the values of its last samples, the linear predictor's last
    prediction and the frame tier's state), and stores the new ones;
    gradients stop at the batch boundary. On TensorFlow the variables are per
    replica (synchronised on read), so under a ``tf.distribute`` strategy each
    replica carries its own rows; ``rows`` is the batch size of one replica.
    On JAX they are Keras variables that the model counts among its
    non-trainable variables while attached, so a stateless training step
    takes and returns them (:func:`audiornn.backend.carry_variable`).
    :meth:`reset` zeroes them.
    """

    def __init__(self, model, rows):
        def variable(size):
            return backend.carry_variable(rows, size)

        self.states = [[variable(size) for size in state_sizes(layer.cell)] for layer in model.recurrent]
        history = model.model_config.history
        self.lag_values = variable(history - 1) if history > 1 else None
        self.prediction = variable(1) if model.model_config.prediction_order else None
        self.frame = [variable(size) for size in model.frame_tier.state_sizes()] if model.frame_tier else []

    def variables(self):
        return [state for layer in self.states for state in layer] + self.frame + \
            [state for state in (self.lag_values, self.prediction) if state is not None]

    def reset(self):
        for state in self.variables():
            state.assign(ops.zeros(state.shape))

    @staticmethod
    def can_carry(model):
        """True when training can carry ``model``'s state between batches (a sequence model whose layers return
        it)."""
        return not model.model_config.many_to_one and all(
            getattr(layer, "return_state", False) for layer in model.recurrent)

    @classmethod
    def attach(cls, model, rows):
        """Give ``model``'s training and inference calls their own carry of ``rows`` rows; returns both.

        Create them under the distribution strategy's scope, so each replica carries its own rows.
        """
        for name in ("state_carry", "validation_carry"):
            object.__setattr__(model, name, cls(model, rows))
        return model.state_carry, model.validation_carry

    @staticmethod
    def detach(model):
        """Back to calls that start every sequence from a zero state."""
        for name in ("state_carry", "validation_carry"):
            object.__setattr__(model, name, None)
