"""The network: embedding of the previous class, recurrent layers, 256-way logits.

Shapes: inputs are class indices ``(batch, time)`` int32; the output is logits
``(batch, time, classes)`` in sequence mode, or ``(batch, classes)`` for the
``seed`` preset, which predicts only the sample after its window.

Every custom object is registered under the package name "audiornn" and
returns its constructor arguments from ``get_config``, so a saved ``.keras``
file loads back with equal outputs and carries its audio and model configs.

With ``frame_size`` F, a :class:`FrameTier` under it steps once every F
samples and conditions each sample of the next frame (SampleRNN's idea); the
sample tier's recurrent layers may then be none (a feed-forward sample tier).
A label's embedding and a vocoder's :class:`FeatureNet` condition it too; all
of them enter in :meth:`AudioRNN.condition`. The parts live in
:mod:`audiornn.layers`.

The model runs two ways: over whole sequences (``model(classes)``, training
and the seed preset) and one sample at a time from a state
(:meth:`AudioRNN.step`, generation and scoring). Both are defined here, side
by side, so a new layer or input adds its state in one place; tests check
that stepping gives the sequence model's logits.
"""

import math

import keras
import numpy as np
from keras import ops

from . import backend, dsp, features as spectra
from . import linear_prediction as lp
from .config import AudioConfig, ModelConfig
from .errors import ParameterError
from .layers import (BitsPerSample, FeatureNet, FrameTier, LSTMPCell, MuLawValues, StateCarry, recurrent_layer,
                     state_sizes)


__all__ = ["AudioRNN", "BitsPerSample", "FeatureNet", "FrameTier", "LSTMPCell", "ModelConfig", "MuLawValues",
           "StateCarry", "build_model", "flops_per_sample", "state_sizes"]


@keras.saving.register_keras_serializable(package="audiornn")
class AudioRNN(keras.Model):
    """A softmax RNN over μ-law classes that carries its own configs.

    ``AudioRNN(model_config, audio_config)`` called on classes
    ``(batch, time)`` returns logits. ``model_config`` and ``audio_config``
    (dicts or dataclasses) come back from ``get_config``, so a saved file
    knows its sample rate, μ, pre-emphasis and level.

    Stepping, one sample at a time::

        states = model.initial_states(batch)
        constants = model.step_constants()      # once per run of steps
        logits, states = model.step(previous, states, constants)

    The state is a dict of tensors (a structure ``tf.while_loop`` carries):

    - ``"layers"``: one list per recurrent layer of its states, each
      ``(batch, size)`` float32 (a GRU has ``[h]``, an LSTM ``[h, c]``);
    - ``"lags"``: ``(batch, history - 1)``, the decoded values of the
      samples before ``previous``, newest first (when the model reads values:
      ``history`` is the lags or the linear predictor's window, the longer);
    - with the linear predictor (``linear_prediction`` > 0): ``"prediction"``
      ``(batch, 1)``, its prediction of ``previous``; ``"coefficients"``
      ``(batch, order)`` and ``"scale"`` ``(batch,)``, its last fit; a
      vocoder's predictor fitted to the frames (``frame_prediction``) has
      only ``"prediction"``: its fit comes with each frame;
    - ``"position"``, a scalar int32, the steps taken, when the model counts
      them (the linear predictor refits every
      ``prediction_hop`` of them, and the frame tier every ``frame_size``);
    - with the frame tier (``frame_size`` F > 0): ``"frame"``, its layers'
      states, ``(batch, frame_units)`` each; ``"conditioning"``
      ``(batch, F, embedding_dim)``, the current frame's conditioning;
    - with labels: ``"label"`` ``(batch,)`` int32, each stream's label id
      (change it to continue in another voice);
    - ``"window"``: ``(batch, window)`` int32, the last classes read (the
      seed preset, which re-reads a window instead of carrying a state).

    Conditioning (the frame tier's, the label's, the spectrogram features')
    enters the sample tier in one place, :meth:`condition`, the same way in
    both paths. A labelled model (``model_config.labels``) is called on
    ``{"classes": (batch, time), "label": (batch,)}`` instead of the classes
    alone; a vocoder (``model_config.features``, with its ``feature_config``)
    also on ``"features"``: the frames of the window with the feature network's
    margins, ``(batch, time / hop + 2 margin, bands)``, the window starting on
    a frame. A step takes its sample's feature vector (from
    :meth:`feature_vectors`, once per frame) as ``features``, and, with the
    predictor fitted to the frames, the frame's fit (:meth:`frame_predictors`)
    as ``predictor``: not conditioning but the centre and scale of the Laplace
    prior, as the adaptive predictor's are.
    """

    def __init__(self, model_config=None, audio_config=None, feature_config=None, **kwargs):
        super().__init__(**kwargs)
        from .features import FeatureConfig

        if isinstance(model_config, dict) or model_config is None:
            model_config = ModelConfig.from_saved(model_config or {}, source="model_config")
        if isinstance(audio_config, dict) or audio_config is None:
            audio_config = AudioConfig.from_dict(audio_config or {}, source="audio_config")
        if isinstance(feature_config, dict):
            feature_config = FeatureConfig.from_dict(feature_config, source="feature_config")
        if bool(model_config.features) != (feature_config is not None) or (
                feature_config is not None and feature_config.bands != model_config.features):
            raise ParameterError(f"a model reading features ({model_config.features} bands) needs their feature "
                                 f"config, with as many bands; got {feature_config}")
        self.model_config, self.audio_config, self.feature_config = model_config, audio_config, feature_config
        classes = audio_config.num_classes
        if model_config.many_to_one:
            # The original: scaled sample values, a dense layer with batch-norm,
            # the input skipped past it, then two GRUs; one target per window.
            self.values = MuLawValues(audio_config.mu, name="mu_law_values")
            self.dense_in = keras.layers.Dense(model_config.embedding_dim, activation="relu", name="dense_in")
            self.norm = keras.layers.BatchNormalization(name="batch_norm")
            self.skip = keras.layers.Concatenate(name="input_skip")
            self.recurrent = [recurrent_layer(model_config, index, index + 1 < model_config.num_layers)
                              for index in range(model_config.num_layers)]
        else:
            self.embedding = keras.layers.Embedding(classes, model_config.embedding_dim, name="embedding")
            if model_config.history:
                self.values = MuLawValues(audio_config.mu, name="mu_law_values")
            self.recurrent = [recurrent_layer(model_config, index, True, return_state=True)
                              for index in range(model_config.num_layers)]
        self.feature_net = FeatureNet(model_config.feature_units, model_config.feature_layers, name="feature_net") \
            if model_config.features else None
        # A vocoder's predictor from the frames' envelope: fixed matrices of the feature and audio configs.
        self.envelope = spectra.envelope_matrices(feature_config, audio_config.sample_rate, audio_config.preemphasis,
                                                  model_config.frame_prediction) \
            if model_config.frame_prediction else None
        self.label_embedding = keras.layers.Embedding(len(model_config.labels), model_config.label_dim,
                                                      name="label_embedding") if model_config.labels else None
        self.frame_tier = FrameTier(model_config.frame_size, model_config.frame_units, model_config.frame_layers,
                                    model_config.embedding_dim, audio_config.mu, name="frame_tier") \
            if model_config.frame_size else None
        self.dropouts = [keras.layers.Dropout(model_config.dropout, name=f"dropout_{index}")
                         for index in range(model_config.num_layers)] if model_config.dropout else []
        self.dense = keras.layers.Dense(model_config.dense_units, activation="relu", name="dense") \
            if model_config.dense_units else None
        # With the linear predictor, the network starts by adding nothing to its distribution.
        start = "zeros" if model_config.prediction_order else "glorot_uniform"
        # The logits (and the prior's peak) in float32 under mixed precision: the softmax and loss need it.
        self.logits = keras.layers.Dense(classes, kernel_initializer=start, name="logits", dtype="float32")
        # Saved under "peak", its name before it was called the Laplace prior: old files load.
        self.peak = keras.layers.Dense(2, kernel_initializer=start, name="peak", dtype="float32") if model_config.laplace_prior else None
        self.class_values = dsp.mu_law_decode(np.arange(classes), mu=audio_config.mu).astype("float32")
        # log of each class's width in values: a density over values becomes probabilities of classes.
        self.log_widths = np.log(np.gradient(self.class_values.astype("float64"))).astype("float32")
        self.silence = int(dsp.mu_law_encode(np.zeros(1), mu=audio_config.mu)[0])
        # Not tracked attributes: the carries are training state, never saved with the model.
        object.__setattr__(self, "state_carry", None)
        object.__setattr__(self, "validation_carry", None)
        # Compiled loops (sampling, priming, scoring, a vocoder's frame rate): audiornn.backend.compiled_once.
        object.__setattr__(self, "compiled_loops", {})

    def build(self, input_shape=None):
        # Create every sublayer's weights with one forward pass on a dummy batch,
        # so a loaded model gets its variables before the weights are restored.
        self.call(self.example_inputs(1, self.shortest_window()))
        self.built = True

    def shortest_window(self):
        """The shortest window the model can be called on (a frame of the frame tier and of the features)."""
        if self.model_config.many_to_one:
            return self.model_config.window
        return math.lcm(self.model_config.frame_size or 1, self.feature_config.hop if self.feature_net else 1, 2)

    def example_inputs(self, batch, length):
        """Zeros shaped as the model's inputs: classes ``(batch, length)``, with a label when labelled and
        the frames of the window when the model reads features."""
        classes = np.zeros((batch, length), dtype="int32")
        if self.label_embedding is None and self.feature_net is None:
            return classes
        inputs = {"classes": classes}
        if self.label_embedding is not None:
            inputs["label"] = np.zeros((batch,), "int32")
        if self.feature_net is not None:
            inputs["features"] = np.zeros((batch, length // self.feature_config.hop + 2 * self.feature_net.margin,
                                           self.feature_config.bands), "float32")
        return inputs

    def feature_vectors(self, frames):
        """The feature network over frames with its margins: ``(batch, frames, bands)`` -> one vector per
        frame but the margins, ``(batch, frames - 2 margin, feature_units)``."""
        return self.feature_net(frames)

    def label_ids(self, names):
        """Label names (one, or a list) -> their ids as an int32 array; an unknown one is refused."""
        known = self.model_config.labels
        if not known:
            raise ParameterError("this model was trained without labels: leave the label out")
        names = [names] if isinstance(names, str) else list(names)
        missing = [name for name in names if name not in known]
        if missing or not names:
            raise ParameterError(f"unknown label {', '.join(map(repr, missing)) or '(none given)'}: this model "
                                 f"knows {', '.join(known)}")
        return np.array([known.index(name) for name in names], dtype="int32")

    def frame_predictors(self, frames):
        """A vocoder's predictor fitted to each frame's envelope, for frames with the feature network's
        margins ``(batch, frames, bands)``: coefficients ``(batch, frames - 2 margin, order)`` and scales
        ``(batch, frames - 2 margin)``, the frames :meth:`feature_vectors` gives vectors for."""
        margin = self.feature_net.margin
        inner = frames[:, margin:ops.shape(frames)[1] - margin]
        return lp.fit_to_frames(inner, self.envelope, self.model_config.frame_prediction,
                                floor=self.model_config.prediction_floor)

    def _unpack(self, inputs):
        """``(classes, label vectors, feature vectors per sample, the frames' predictor per sample)`` from what
        the model is called on (None for what the model does not read)."""
        if isinstance(inputs, dict):
            classes, label, frames = inputs["classes"], inputs.get("label"), inputs.get("features")
        else:
            classes, label, frames = inputs, None, None
        if self.label_embedding is not None:
            if label is None:
                raise ParameterError(f"this model was trained with labels ({', '.join(self.model_config.labels)}): "
                                     f"call it on {{'classes': ..., 'label': ...}}")
            label = self.label_embedding(ops.cast(label, "int32"))
        else:
            label = None
        features = predictor = None
        if self.feature_net is not None:
            if frames is None:
                raise ParameterError("this model is a vocoder: call it on {'classes': ..., 'features': frames}")
            hop = self.feature_config.hop
            features = ops.repeat(self.feature_vectors(frames), hop, axis=1)
            if self.envelope is not None:
                predictor = tuple(ops.repeat(part, hop, axis=1) for part in self.frame_predictors(frames))
        return classes, label, features, predictor

    def condition(self, inputs, frame=None, label=None, features=None):
        """The one place where conditioning enters the sample tier: ``inputs`` (the embedding's and value
        features, ``(batch, time, ...)`` in the sequence path, ``(batch, ...)`` in a step; None when a step
        has none) with the frame tier's conditioning, the label's vector and the spectrogram features'
        vector appended, in that order."""
        if label is not None and inputs is not None and len(inputs.shape) == 3:
            label = ops.broadcast_to(label[:, None, :], (*ops.shape(inputs)[:2], ops.shape(label)[-1]))
        parts = [part for part in (inputs, frame, label, features) if part is not None]
        return ops.concatenate(parts, axis=-1) if len(parts) > 1 else (parts[0] if parts else None)

    # -- whole sequences -----------------------------------------------------------------------

    def call(self, inputs, training=False):
        classes, label, spectral, predictor = self._unpack(inputs)
        carry = self.state_carry if training else self.validation_carry
        prior = None
        if self.model_config.many_to_one:
            values = self.values(classes)
            hidden = self.skip([self.norm(self.dense_in(values), training=training), values])
        else:
            hidden, frame = self.embedding(classes), None
            if self.model_config.history:
                before, previous = (None, None) if carry is None else (
                    None if state is None else ops.stop_gradient(ops.convert_to_tensor(state))
                    for state in (carry.lag_values, carry.prediction))
                features, prior, last = self.value_features(classes, before, previous, predictor)
                hidden = ops.concatenate([hidden, features], axis=-1)
                if self.frame_tier is not None:
                    frame = self._frame_conditioning(classes, before, carry, training, label)
                if carry is not None:
                    for state, value in zip((carry.lag_values, carry.prediction), last):
                        if state is not None:
                            state.assign(ops.cast(value, state.dtype))
            hidden = self.condition(hidden, frame, label, spectral)
        for index, layer in enumerate(self.recurrent):
            initial = None if carry is None else [
                ops.cast(ops.stop_gradient(ops.convert_to_tensor(state)), layer.compute_dtype)
                for state in carry.states[index]]
            hidden = layer(hidden, initial_state=initial, training=training)
            if getattr(layer, "return_state", False):
                hidden, *final = hidden
                if carry is not None:
                    for state, value in zip(carry.states[index], final):
                        state.assign(ops.cast(value, state.dtype))
            if self.dropouts:
                hidden = self.dropouts[index](hidden, training=training)
        return self.head(hidden, prior)

    def head(self, hidden, prior=None):
        """The recurrent stack's output to logits (through the dense layer and the Laplace prior when there are).

        ``prior``: the linear predictor's ``(prediction, scale)``, each shaped
        like ``hidden`` without its last axis; the Laplace prior is then centred
        on the prediction and spread by the scale, which the network corrects
        (in units of the scale) instead of predicting from nothing.
        """
        if self.dense is not None:
            hidden = self.dense(hidden)
        logits = self.logits(hidden)
        if self.peak is None:
            return logits
        centre, sharpness = ops.split(self.peak(hidden), 2, axis=-1)
        values = ops.convert_to_tensor(self.class_values, dtype=logits.dtype)
        if prior is None:
            return logits - ops.softplus(sharpness) * ops.abs(values - ops.tanh(centre))
        prediction, scale = (ops.cast(part, logits.dtype)[..., None] for part in prior)
        centre = prediction + scale * centre
        spread = scale * ops.exp(ops.clip(sharpness, -8.0, 8.0))
        # A density over values, as probabilities of classes; a class beyond prior_cap nats is left
        # to the logits, so one surprise (a click after silence) cannot cost thousands of nats.
        distance = ops.abs(values - centre) / spread
        if self.model_config.prior_cap:
            distance = ops.minimum(distance, self.model_config.prior_cap)
        return logits + ops.convert_to_tensor(self.log_widths, dtype=logits.dtype) - distance

    def value_features(self, classes, before=None, previous=None, predictor=None):
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
        config = self.model_config
        values, padded = self._history_values(classes, before)
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
                coefficients, scale = (ops.repeat(part, hop, axis=1)[:, :length] for part in (coefficients, scale))
        if order:
            prediction = lp.predict(coefficients, recent[..., :order])
            previous = ops.zeros_like(values[:, :1]) if previous is None else ops.cast(previous, values.dtype)
            error = values - ops.concatenate([previous, prediction[:, :-1]], axis=1)
            features += [prediction[..., None], error[..., None]]
            prior, last_prediction = (prediction, scale), prediction[:, -1:]
        last_values = padded[:, ops.shape(padded)[1] - (history - 1):]
        return ops.concatenate(features, axis=-1), prior, (last_values, last_prediction)

    def _history_values(self, classes, before=None):
        """The decoded values of ``classes`` ``(batch, time)``, and the same after the ``history - 1``
        values before them (``before``, oldest first; zeros when None)."""
        values = self.values(classes)[..., 0]
        history = self.model_config.history
        padded = ops.pad(values, [[0, 0], [history - 1, 0]]) if before is None \
            else ops.concatenate([ops.cast(before, values.dtype), values], axis=1)
        return values, padded

    def _frame_conditioning(self, classes, before, carry, training, label=None):
        """The frame tier over a window: ``(batch, time, embedding_dim)``, its state carried when ``carry`` is.

        Step t of frame k (t = kF .. kF + F - 1) reads the conditioning that the
        frame tier made from the F values ending at sample kF, its first input,
        as :meth:`step` does when it reaches kF.
        """
        size = self.model_config.frame_size
        length = classes.shape[1]
        if length is not None and length % size:
            raise ValueError(f"a window of {length} samples is not a whole number of frames of {size} samples")
        values, padded = self._history_values(classes, before)
        start = self.model_config.history - size
        frames = padded[:, start:start + ops.shape(values)[1]]
        initial = None if carry is None else [ops.stop_gradient(ops.convert_to_tensor(state)) for state in carry.frame]
        conditioning, finals = self.frame_tier(frames, initial_states=initial, training=training, label=label)
        if carry is not None:
            for state, value in zip(carry.frame, finals):
                state.assign(ops.cast(value, state.dtype))
        return conditioning

    # -- carried state in training -------------------------------------------------------------

    def can_carry_state(self):
        """True when training can carry the state between batches (a sequence model whose layers return it)."""
        return not self.model_config.many_to_one and all(
            getattr(layer, "return_state", False) for layer in self.recurrent)

    def attach_carry(self, rows):
        """Give training and inference calls their own :class:`StateCarry` of ``rows`` rows; returns both.

        Create it under the distribution strategy's scope, so each replica carries its own rows.
        """
        for name in ("state_carry", "validation_carry"):
            object.__setattr__(self, name, StateCarry(self, rows))
        return self.state_carry, self.validation_carry

    @property
    def non_trainable_variables(self):
        """Keras' list, with the carried state's variables while a carry is attached on JAX: its training and
        evaluation steps are stateless, and carry (and return) exactly these."""
        variables = super().non_trainable_variables
        carries = [carry for carry in (getattr(self, "state_carry", None), getattr(self, "validation_carry", None))
                   if carry is not None]
        if carries and not backend.is_tensorflow():
            variables = variables + [variable for carry in carries for variable in carry.variables()]
        return variables

    def detach_carry(self):
        """Back to calls that start every sequence from a zero state."""
        for name in ("state_carry", "validation_carry"):
            object.__setattr__(self, name, None)

    # -- one step at a time --------------------------------------------------------------------

    def initial_states(self, batch, label=None):
        """The state before the first sample (zeros; silence for the seed preset's window).

        ``label``: a labelled model's label for every stream, as names
        (:meth:`label_ids`) or ids, one for all or one per stream.
        """
        def zeros(*shape):
            return ops.zeros(shape, "float32")

        if self.model_config.many_to_one:
            return {"window": ops.full((batch, self.model_config.window), self.silence, "int32")}
        states = {"layers": [[zeros(batch, int(size)) for size in state_sizes(layer.cell)]
                             for layer in self.recurrent]}
        if self.model_config.history:
            states["lags"] = zeros(batch, self.model_config.history - 1)
        order = self.model_config.linear_prediction
        if order:
            states.update(prediction=zeros(batch, 1), coefficients=zeros(batch, order), scale=zeros(batch))
        elif self.envelope is not None:
            states["prediction"] = zeros(batch, 1)
        if self.frame_tier is not None:
            states.update(frame=[zeros(batch, size) for size in self.frame_tier.state_sizes()],
                          conditioning=zeros(batch, self.model_config.frame_size, self.model_config.embedding_dim))
        if self.model_config.counts_steps:
            states["position"] = ops.convert_to_tensor(0, "int32")
        if self.label_embedding is not None:
            states["label"] = ops.convert_to_tensor(self.label_state(label, batch))
        elif label is not None:
            self.label_ids(label)  # refused: no labels
        return states

    def label_state(self, label, batch):
        """``label`` (names or ids, one for all or one per stream) as ``(batch,)`` int32 ids."""
        if label is None:
            raise ParameterError(f"this model was trained with labels: give a label, one of "
                                 f"{', '.join(self.model_config.labels)}")
        ids = np.asarray(label)
        if ids.dtype.kind in "USO":
            ids = self.label_ids(ids.reshape(-1).tolist())
        ids = np.asarray(ids, dtype="int32").reshape(-1)
        if ids.size == 1:
            ids = np.repeat(ids, batch)
        if ids.shape != (batch,) or ids.min() < 0 or ids.max() >= len(self.model_config.labels):
            raise ParameterError(f"give one label for all {batch} streams or one each, of "
                                 f"{', '.join(self.model_config.labels)}; got {label!r}")
        return ids

    def step_constants(self):
        """What a run of steps computes once from the current weights, for :meth:`step`.

        The first GRU layer's input side folded into a lookup: the embedding
        of each class times the input kernel (plus the input bias) is one row
        of a ``(classes, 3 * units)`` table, so a step needs a gather instead
        of a matrix product. Empty when the first layer is not such a GRU.
        A label's rows (``"label_kernel"``) and a vocoder's features' rows
        (``"feature_kernel"``) come apart: a stream's label is the same for a
        whole loop and its features change once a frame, so their shares of
        the product are made once (:meth:`loop_extras`), not once a sample.
        """
        if self.model_config.many_to_one or self.model_config.cell != "gru" or not self.recurrent:
            return {}
        layer = self.recurrent[0]
        cell = layer.cell
        if not (cell.reset_after and cell.use_bias) or layer.go_backwards:
            return {}
        width = self.model_config.embedding_dim
        kernel, bias = ops.convert_to_tensor(cell.kernel), ops.convert_to_tensor(cell.bias)
        constants = {"table": ops.matmul(ops.convert_to_tensor(self.embedding.embeddings), kernel[:width]) + bias[0],
                     "recurrent_kernel": ops.convert_to_tensor(cell.recurrent_kernel), "recurrent_bias": bias[1]}
        config = self.model_config
        labels = config.label_dim if config.labels else 0
        features = config.feature_units if config.features else 0
        rest = width + config.input_features - labels - features  # rows of the lags, predictor and frame tier
        if rest > width:
            constants["lag_kernel"] = kernel[width:rest]
        if labels:
            constants["label_kernel"] = kernel[rest:rest + labels]
        if features:
            constants["feature_kernel"] = kernel[rest + labels:]
        return constants

    def feature_products(self, vectors, constants):
        """A vocoder's feature vectors ``(batch, frames, feature_units)`` times the first GRU's feature rows,
        once per frame (LPCNet's frame-rate product): what :meth:`step` takes as ``feature_product``. None
        when the first layer is not folded (the step then multiplies the vector itself)."""
        return ops.matmul(vectors, constants["feature_kernel"]) if "feature_kernel" in constants else None

    def frame_rate(self, frames, constants=None):
        """A vocoder's frame-rate network (LPCNet's): what its steps read from each frame, made once a frame
        from ``frames`` ``(batch, frames, bands)`` with the feature network's margins, for :meth:`loop_extras`:
        ``{"feature_product" (with folded ``constants``, by default :meth:`step_constants`; else "features"):
        (frames - 2 margin, batch, units),
        "predictor" (with one): (coefficients (frames - 2 margin, batch, order), scales (frames - 2 margin,
        batch))}``.

        Each frame's values are the same whatever ``frames`` spans, to the bit, so a stream generated in
        chunks is the stream generated in one pass: the work is mapped over the frames, each made alone
        from its own margins (the same shapes, so the same rounding, for any number of frames; a product or
        a sum over many frames at once rounds otherwise for another number of them).
        """
        constants = self.step_constants() if constants is None else constants
        (batch, length, bands), width = ops.shape(frames), 1 + 2 * self.feature_net.margin
        name = "feature_product" if "feature_kernel" in constants else "features"

        def one_frame(index):
            window = ops.slice(frames, (0, index, 0), (batch, width, bands))
            vector = self.feature_vectors(window)
            product = self.feature_products(vector, constants)
            made = {name: (vector if product is None else product)[:, 0]}
            if self.envelope is not None:
                made["predictor"] = tuple(part[:, 0] for part in self.frame_predictors(window))
            return made

        return ops.map(one_frame, ops.arange(length - width + 1, dtype="int32"))

    def loop_extras(self, states, per_frame, constants):
        """``frame index -> step keywords`` for a loop of steps from ``states``, reading ``per_frame`` (a
        vocoder's :meth:`frame_rate`; None: no features). What changes less often than a sample is made once:
        the streams' label product for the whole loop, a vocoder's frame-rate values once a frame."""
        fixed = {}
        if self.label_embedding is not None and "label_kernel" in constants:
            fixed["label_product"] = ops.matmul(self.label_embedding(states["label"]), constants["label_kernel"])
        if per_frame is None:
            return lambda index: fixed
        return lambda index: {**fixed, **keras.tree.map_structure(lambda part: ops.take(part, index, axis=0),
                                                                 per_frame)}

    def step(self, previous, states, constants=None, features=None, feature_product=None, label_product=None,
             predictor=None):
        """One sample: ``previous`` ``(batch,)`` int32 classes -> logits ``(batch, classes)`` and new states.

        ``states`` as :meth:`initial_states` describes; ``constants`` from
        :meth:`step_constants` (computed here when not given); ``features`` a
        vocoder's vector for this sample, ``(batch, feature_units)``: its
        frame's row of :meth:`feature_vectors` (or, with folded constants, its
        row of :meth:`feature_products` as ``feature_product``); with folded
        constants, ``label_product`` is the streams' label times the first
        layer's label rows, made once a loop (:meth:`loop_extras`);
        ``predictor`` a vocoder's coefficients ``(batch, order)`` and scales
        ``(batch,)`` fitted to this sample's frame (its row of
        :meth:`frame_predictors`). Equals the sequence model's logits at the
        same position.
        """
        if self.model_config.many_to_one:
            window = ops.concatenate([states["window"][:, 1:], ops.cast(previous, "int32")[:, None]], axis=1)
            return self(window, training=False), {"window": window}
        constants = self.step_constants() if constants is None else constants
        config = self.model_config
        vector = features
        new_states, features, prior, frame, label = {}, [], None, None, None
        if self.label_embedding is not None:
            new_states["label"] = states["label"]
            if label_product is None or self.frame_tier is not None:  # else the label's product is all it needs
                label = self.label_embedding(states["label"])
        if config.history:
            value = ops.take(ops.convert_to_tensor(self.class_values), previous, axis=0)[:, None]
            recent = ops.concatenate([value, states["lags"]], axis=1)  # (batch, history), newest first
            new_states["lags"] = recent[:, :-1]
            features.append(recent[:, :config.lags])
            if config.linear_prediction:
                def refit():
                    return lp.fit_predictor(recent[:, :config.prediction_window], config.linear_prediction,
                                            floor=config.prediction_floor, newest_first=True)

                coefficients, scale = refit() if config.prediction_hop == 1 else ops.cond(
                    ops.equal(states["position"] % config.prediction_hop, 0), refit,
                    lambda: (states["coefficients"], states["scale"]))
                new_states.update(coefficients=coefficients, scale=scale)
            elif config.frame_prediction:
                if predictor is None:
                    raise ParameterError("this vocoder's step takes its frame's predictor (predictor=(coefficients, "
                                         "scales), from frame_predictors or loop_extras)")
                coefficients, scale = predictor
            if config.prediction_order:
                prediction = lp.predict(coefficients, recent[:, :config.prediction_order])[:, None]
                features += [prediction, value - states["prediction"]]
                new_states["prediction"], prior = prediction, (prediction[:, 0], scale)
            if self.frame_tier is not None:
                size = config.frame_size

                def next_frame():  # the last F values, oldest first
                    return self.frame_tier.step(ops.flip(recent[:, :size], axis=1), states["frame"], label)

                conditioning, new_states["frame"] = ops.cond(
                    ops.equal(states["position"] % size, 0), next_frame,
                    lambda: (states["conditioning"], states["frame"]))
                new_states["conditioning"] = conditioning
                frame = ops.take(conditioning, states["position"] % size, axis=1)
            if config.counts_steps:
                new_states["position"] = states["position"] + 1
        folded = bool(constants)
        if (self.feature_net is None) != (vector is None and feature_product is None) or (
                feature_product is not None and "feature_kernel" not in constants):
            raise ParameterError("a vocoder's step takes its sample's feature vector (features=..., or with folded "
                                 "constants its feature_product=...), and only a vocoder's")
        values = ops.concatenate(features, axis=1) if features else None
        layers, new_states["layers"] = self.recurrent, []
        if folded:
            # The label's and the features' shares of the first layer's product come apart (made once a loop
            # and once a frame); the rest is as condition() has it.
            extras = [feature_product if feature_product is not None or vector is None
                      else ops.matmul(vector, constants["feature_kernel"])]
            if self.label_embedding is not None:
                extras.append(label_product if label_product is not None
                              else ops.matmul(label, constants["label_kernel"]))
            extras = [extra for extra in extras if extra is not None]
            hidden = _folded_gru_step(constants, previous, self.condition(values, frame), states["layers"][0][0],
                                      sum(extras[1:], extras[0]) if extras else None)
            new_states["layers"].append([hidden])
            layers = layers[1:]
        else:
            features = self.condition(values, frame, label, vector)
            hidden = self.embedding(previous)
            if features is not None:
                hidden = ops.concatenate([hidden, features], axis=1)
        for layer, layer_states in zip(layers, states["layers"][len(new_states["layers"]):]):
            hidden, layer_states = layer.cell(hidden, list(layer_states), training=False)
            new_states["layers"].append(list(layer_states) if isinstance(layer_states, (list, tuple))
                                        else [layer_states])
        return self.head(hidden, prior), new_states

    def get_config(self):
        return {**super().get_config(), "model_config": self.model_config.to_dict(),
                "audio_config": self.audio_config.to_dict(),
                **({"feature_config": self.feature_config.to_dict()} if self.feature_config else {})}

    def build_for_fit(self, inputs_shape, targets_shape):
        """Build the compiled loss and metrics from shapes alone, before ``fit``.

        Keras (3.15) otherwise builds them in ``fit`` from a first batch that it
        averages across replicas with ``strategy.reduce``, which fails under
        MultiWorkerMirroredStrategy for integer windows; built here,
        :meth:`_maybe_symbolic_build` has nothing left to do.
        """
        self._symbolic_build(data_batch=(self.example_inputs(*inputs_shape), np.zeros(targets_shape, "int32")))

    def get_metrics_result(self):
        results = super().get_metrics_result()
        if backend.in_multi_worker_replica():
            # Keras (3.15) averages each replica's value across workers along axis 0, which a scalar
            # does not have (tensorflow#72388): one element per replica averages to the global mean.
            results = {name: ops.reshape(value, (1,)) for name, value in results.items()}
        return results

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        metrics, loss = getattr(self, "_compile_metrics", None), getattr(self, "_compile_loss", None)
        if self.built and (metrics is None or metrics.built) and (loss is None or loss.built):
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)


def _folded_gru_step(constants, previous, features, state, extra=None):
    """One step of a first GRU layer from :meth:`AudioRNN.step_constants` (Keras' reset-after GRU, gates z, r, h);
    ``extra``: a share of the input product made elsewhere (a vocoder's features, once a frame)."""
    inputs = ops.take(constants["table"], previous, axis=0)
    if "lag_kernel" in constants:
        inputs = inputs + ops.matmul(features, constants["lag_kernel"])
    if extra is not None:
        inputs = inputs + extra
    inner = ops.matmul(state, constants["recurrent_kernel"]) + constants["recurrent_bias"]
    x_z, x_r, x_h = ops.split(inputs, 3, axis=-1)
    r_z, r_r, r_h = ops.split(inner, 3, axis=-1)
    update, reset = ops.sigmoid(x_z + r_z), ops.sigmoid(x_r + r_r)
    candidate = ops.tanh(x_h + reset * r_h)
    return update * state + (1.0 - update) * candidate


def build_model(model_config=None, audio_config=None, *, sequence_length=None, feature_config=None):
    """A built :class:`AudioRNN` (weights created) for the given configs."""
    model_config = model_config or ModelConfig()
    model = AudioRNN(model_config, audio_config or AudioConfig(), feature_config)
    length = model_config.window if model_config.many_to_one else (sequence_length or model.shortest_window())
    model(model.example_inputs(1, length))
    return model


def flops_per_sample(model):
    """Multiply-adds x 2 of one generation step (one new sample, one stream)."""
    total = 0
    for layer in model.recurrent:
        for weight in layer.trainable_weights:
            # Matrices only: a GRU's bias is 2-D too (input and recurrent halves).
            if weight.name in ("kernel", "recurrent_kernel", "projection"):
                total += 2 * int(np.prod(weight.shape))
    for layer in (model.dense, model.logits, model.peak):
        if layer is not None:
            total += 2 * int(np.prod(layer.kernel.shape))
    config = model.model_config
    if model.frame_tier is not None:
        # Once a frame: the frame tier's GRUs and its projection to a frame of conditioning.
        tier = model.frame_tier
        frame = sum(2 * int(np.prod(weight.shape)) for layer in tier.recurrent for weight in layer.trainable_weights
                    if weight.name in ("kernel", "recurrent_kernel"))
        total += (frame + 2 * int(np.prod(tier.output_projection.kernel.shape))) // config.frame_size
    if model.feature_net is not None:
        # Once a frame: the feature network's convolutions and output layer.
        total += sum(2 * int(np.prod(weight.shape)) for weight in model.feature_net.trainable_weights
                     if len(weight.shape) > 1) // model.feature_config.hop
    if config.linear_prediction:
        # The predictor's fit (autocorrelation, Levinson-Durbin) once a hop, and its prediction.
        order = config.linear_prediction
        total += (2 * config.prediction_window * (order + 1) + 2 * order * order) // config.prediction_hop + 2 * order
    elif model.envelope is not None:
        # Once a frame: the envelope's spectrum and autocorrelation, Levinson-Durbin; then the prediction.
        order = config.frame_prediction
        to_bins, to_lags, _ = model.envelope
        total += 2 * (to_bins.size + to_lags.size + order * order) // model.feature_config.hop + 2 * order
    return total
