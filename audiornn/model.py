"""The network: embedding of the previous class, conditioning, recurrent layers, 256-way logits.

Inputs are class indices ``(batch, time)`` int32 (a labelled model or a vocoder:
a dict with ``"label"`` and ``"features"`` too); the output is logits ``(batch,
time, classes)``, or ``(batch, classes)`` for the ``seed`` preset, which
predicts only the sample after its window. Saved ``.keras`` files carry the
audio, model and feature configs and load back with equal outputs.

The model runs two ways, defined side by side: over whole sequences
(``model(inputs)``, training) and one sample from a state (:meth:`AudioRNN.step`,
which :mod:`audiornn.stepping` runs through time for generation, scoring and
vocoding); tests check that stepping gives the sequence model's logits.

Conditioning enters the sample tier in one place, :meth:`AudioRNN.conditioning`:
the value features and the frame tier's (:mod:`audiornn.history`), a label's
embedding and a vocoder's :class:`FeatureNet` (:mod:`audiornn.layers`). To
add a kind: make its layer in ``__init__``, give its vector to
``conditioning`` (and its width to ``condition_widths``); the sequence path,
the step and the folded first layer's kernel rows follow from those two.
"""

import math

from .backend import start_quietly

start_quietly()  # before Keras: a notebook's first import keeps the backend's start-up lines out
import keras
import numpy as np
from keras import ops

from . import backend, dsp, features as spectra, history, stepping
from . import linear_prediction as lp
from .config import AudioConfig, ModelConfig, shown_labels
from .errors import ParameterError
from .multiworker import MultiWorkerModel
from .stepping import flops_per_sample  # noqa: F401 (its name here before the loop over time had a module)
from .layers import (BitsPerSample, FeatureNet, FrameTier, LSTMPCell, MuLawValues, StateCarry, hold, recurrent_layer,
                     state_sizes)


__all__ = ["AudioRNN", "BitsPerSample", "FeatureNet", "FrameTier", "LSTMPCell", "ModelConfig", "MuLawValues",
           "StateCarry", "build_model", "state_sizes"]


@keras.saving.register_keras_serializable(package="audiornn")
class AudioRNN(MultiWorkerModel):
    """A softmax RNN over μ-law classes that carries its own configs (dicts or dataclasses, back from
    ``get_config``, so a saved file knows its sample rate, μ, pre-emphasis and level).

    One sample at a time: ``states = model.initial_states(batch, label)``, ``constants =
    model.step_constants()`` (once per run of steps), ``logits, states = model.step(previous, states,
    constants)``. A vocoder is called on the frames of the window with the feature network's margins,
    ``(batch, time / hop + 2 margin, bands)``, the window starting on a frame; a step takes its sample's
    feature vector (:meth:`feature_vectors`) and, with the predictor fitted to the frames, the frame's fit
    (:meth:`frame_predictors`): not conditioning but the Laplace prior's centre and scale.
    """

    def __init__(self, model_config=None, audio_config=None, feature_config=None, frame_level=None, **kwargs):
        backend.use_compile_cache()  # (JAX: before a model's weights are made, which compiles their initializers)
        backend.start_runtime_quietly()  # a notebook's first model: the backend's device probe kept out of it
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
        # A front end's vocoder: the loud level of its training frames (audiornn.features.loud_level, the mean over
        # the training files), which vocode reads a front end's frames against; None for a model trained before
        # it was kept (its frames are read by their mean, audiornn.vocoder.level_shift).
        self.frame_level = None if frame_level is None else float(frame_level)
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
        # Create every sublayer's weights with one forward pass on a dummy batch, so a loaded model gets its
        # variables before the weights are restored. The pass is symbolic (shapes only): run eagerly, JAX compiled
        # each of its operations alone (the 16 kHz vocoder took 13 s to load, 4.7 s symbolically; TensorFlow 3.5
        # and 1.5 s).
        self.trace(self.shortest_window())
        self.built = True

    def trace(self, length):
        """The model called symbolically (shapes only, no computation) on an example window of ``length``
        samples: creates any weights not yet made, and checks that the model takes such windows."""
        if self.model_config.frame_size and not self.model_config.many_to_one:  # (said here: traced, Keras wraps it)
            history.check_whole_frames(length, self.model_config.frame_size)
        self.compute_output_spec(keras.tree.map_structure(lambda array: keras.KerasTensor(array.shape, array.dtype),
                                                          self.example_inputs(1, length)))

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
                raise ParameterError(f"this model was trained with labels ({shown_labels(self.model_config.labels)}): "
                                     f"call it on {{'classes': ..., 'label': ...}}")
            label = self.label_embedding(ops.cast(label, "int32"))
        else:
            label = None
        features = predictor = None
        if self.feature_net is not None:
            if frames is None:
                raise ParameterError("this model is a vocoder: call it on {'classes': ..., 'features': frames}")
            hop = self.feature_config.hop
            features = hold(self.feature_vectors(frames), hop)
            if self.envelope is not None:
                predictor = tuple(hold(part, hop) for part in self.frame_predictors(frames))
        return classes, label, features, predictor

    def conditioning(self, inputs, frame=None, label=None, features=None):
        """The one place where conditioning enters the sample tier: its parts by name, in the order they are
        appended to the embedding of the previous class (None for a part the model lacks). ``"sample"``: what
        changes every sample, ``inputs`` (the value features) and the frame tier's conditioning ``frame``;
        ``"label"``: the label's vector; ``"features"``: a vocoder's frame vector. Shapes ``(batch, time,
        ...)`` in the sequence path, ``(batch, ...)`` in a step.

        A new kind of conditioning is a new layer and one more part here, with its width in
        :meth:`condition_widths`: :meth:`condition` appends it, :meth:`step_constants` gives it its own rows
        of the first layer's kernel, and :meth:`step` multiplies it (or takes its product, made less often
        than once a sample, as ``NAME_product``).
        """
        sample = [part for part in (inputs, frame) if part is not None]
        return {"sample": ops.concatenate(sample, axis=-1) if len(sample) > 1 else (sample[0] if sample else None),
                "label": label, "features": features}

    def condition_widths(self):
        """The width of each part of :meth:`conditioning`, in its order (0: the model lacks it)."""
        config = self.model_config
        widths = {"label": config.label_dim if config.labels else 0,
                  "features": config.feature_units if config.features else 0}
        return {"sample": config.input_features - sum(widths.values()), **widths}

    def condition(self, inputs, frame=None, label=None, features=None):
        """:meth:`conditioning`'s parts appended, in order (a label's vector repeated over a sequence's time)."""
        if label is not None and inputs is not None and len(inputs.shape) == 3:
            label = ops.broadcast_to(label[:, None, :], (*ops.shape(inputs)[:2], ops.shape(label)[-1]))
        parts = [part for part in self.conditioning(inputs, frame, label, features).values() if part is not None]
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
                features, prior, last = history.value_features(self, classes, before, previous, predictor)
                hidden = ops.concatenate([hidden, features], axis=-1)
                if self.frame_tier is not None:
                    frame = history.frame_conditioning(self, classes, before, carry, training, label)
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

    # -- carried state in training -------------------------------------------------------------

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

    # -- one step at a time --------------------------------------------------------------------

    def initial_states(self, batch, label=None):
        """The state before the first sample (zeros; silence for the seed preset's window): a dict of tensors.

        ``"layers"``: each recurrent layer's states, ``(batch, size)`` each (a GRU ``[h]``, an LSTM ``[h, c]``);
        ``"lags"``: ``(batch, history - 1)``, the values of the samples before ``previous``, newest first;
        the linear predictor's ``"prediction"`` ``(batch, 1)`` of ``previous`` and its last fit,
        ``"coefficients"`` ``(batch, order)`` and ``"scale"`` ``(batch,)`` (a predictor fitted to the frames:
        only ``"prediction"``); ``"position"``, the steps taken (int32), when the predictor refits every
        ``prediction_hop`` or the frame tier steps every ``frame_size``; the frame tier's ``"frame"`` states and
        its current ``"conditioning"`` ``(batch, F, embedding_dim)``; ``"label"`` ``(batch,)`` int32 (change it
        to go on in another voice); the seed preset's ``"window"`` ``(batch, window)`` of the last classes.

        ``label``: a labelled model's label for every stream, as names or ids,
        one for all or one per stream (:func:`audiornn.stepping.label_state`).
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
        label = stepping.label_state(self, label, batch)
        if label is not None:
            states["label"] = ops.convert_to_tensor(label)
        return states

    def step_constants(self):
        """What a run of steps computes once from the current weights, for :meth:`step`.

        The first GRU layer's input side folded into a lookup: the embedding
        of each class times the input kernel (plus the input bias) is one row
        of a ``(classes, 3 * units)`` table, so a step needs a gather instead
        of a matrix product. Empty when the first layer is not such a GRU.
        Each part of :meth:`conditioning` has its rows of the kernel,
        ``"NAME_kernel"``: a stream's label is the same for a whole loop and a
        vocoder's features change once a frame, so their shares of the product
        are made that often (:func:`audiornn.stepping.loop_extras`).
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
        start = width
        for name, size in self.condition_widths().items():
            if size:
                constants[f"{name}_kernel"] = kernel[start:start + size]
            start += size
        return constants

    def step(self, previous, states, constants=None, features=None, feature_product=None, label_product=None,
             predictor=None):
        """One sample: ``previous`` ``(batch,)`` int32 classes -> logits ``(batch, classes)`` and new states.

        ``states`` as :meth:`initial_states` describes; ``constants`` from :meth:`step_constants` (computed here
        when not given); ``features`` a vocoder's vector for this sample, ``(batch, feature_units)``: its frame's
        row of :meth:`feature_vectors`. With folded constants a conditioning's share of the first layer may come
        made (:func:`audiornn.stepping.loop_extras`): ``feature_product`` (once a frame) and ``label_product``
        (once a loop) instead of the vector. ``predictor``: a vocoder's coefficients ``(batch, order)`` and
        scales ``(batch,)`` fitted to this sample's frame (its row of :meth:`frame_predictors`). Equals the
        sequence model's logits at the same position.
        """
        previous = ops.cast(previous, "int32")  # (SampleStream's classes are uint8, which TensorFlow's gather refuses)
        if self.model_config.many_to_one:
            window = ops.concatenate([states["window"][:, 1:], previous[:, None]], axis=1)
            return self(window, training=False), {"window": window}
        constants = self.step_constants() if constants is None else constants
        products = {"label": label_product, "features": feature_product}
        new_states, label = {}, None
        if self.label_embedding is not None:
            new_states["label"] = states["label"]
            if label_product is None or self.frame_tier is not None:  # else the label's product is all it needs
                label = self.label_embedding(states["label"])
        values, prior, frame = history.step_history(self, previous, states, new_states, predictor, label)
        if (self.feature_net is None) != (features is None and feature_product is None) or (
                feature_product is not None and "features_kernel" not in constants):
            raise ParameterError("a vocoder's step takes its sample's feature vector (features=..., or with folded "
                                 "constants its feature_product=...), and only a vocoder's")
        parts = self.conditioning(values, frame, label, features)
        layers, new_states["layers"] = self.recurrent, []
        if constants:
            # The first GRU folded: each conditioning's share of its input product apart (made, or multiplied
            # here by its rows of the kernel).
            shares = [products[name] if products.get(name) is not None else ops.matmul(part, constants[f"{name}_kernel"])
                      for name, part in parts.items() if name != "sample" and
                      (part is not None or products.get(name) is not None)]
            hidden = _folded_gru_step(constants, previous, parts["sample"], states["layers"][0][0],
                                      sum(shares[1:], shares[0]) if shares else None)
            new_states["layers"].append([hidden])
            layers = layers[1:]
        else:
            conditioning = self.condition(*parts.values())
            hidden = self.embedding(previous)
            if conditioning is not None:
                hidden = ops.concatenate([hidden, conditioning], axis=1)
        for layer, layer_states in zip(layers, states["layers"][len(new_states["layers"]):]):
            hidden, layer_states = layer.cell(hidden, list(layer_states), training=False)
            new_states["layers"].append(list(layer_states) if isinstance(layer_states, (list, tuple))
                                        else [layer_states])
        return self.head(hidden, prior), new_states

    def get_config(self):
        return {**super().get_config(), "model_config": self.model_config.to_dict(),
                "audio_config": self.audio_config.to_dict(),
                **({"feature_config": self.feature_config.to_dict()} if self.feature_config else {}),
                **({"frame_level": self.frame_level} if self.frame_level is not None else {})}


def _folded_gru_step(constants, previous, features, state, extra=None):
    """One step of a first GRU layer from :meth:`AudioRNN.step_constants` (Keras' reset-after GRU, gates z, r, h):
    ``features`` the per-sample conditioning; ``extra`` the other conditionings' shares of the input product."""
    inputs = ops.take(constants["table"], previous, axis=0)
    if "sample_kernel" in constants:
        inputs = inputs + ops.matmul(features, constants["sample_kernel"])
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
    model.build()
    if not model_config.many_to_one and sequence_length:
        model.trace(sequence_length)
    return model
