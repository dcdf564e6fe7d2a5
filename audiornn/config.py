"""Small frozen configuration dataclasses, validated on construction.

The audio config travels inside the dataset's metadata and the saved model,
so generation can never disagree with training about the sample rate, μ,
pre-emphasis or level.
"""

import dataclasses
import json
import logging
import math
import numbers
import sys
from pathlib import Path

import numpy as np

from . import dsp
from .errors import ParameterError

__all__ = ["FLAGS", "MODEL_OPTIONS", "PARTS", "REFINE_MOMENTUM", "REFINE_PASSES", "TRAIN_OPTIONS", "VOCODE_TAIL",
           "AudioConfig", "JSONConfig", "ModelConfig", "TrainConfig", "check_bool", "check_count", "check_input_noise",
           "check_positive_int", "config_from_dict", "option", "shown_labels"]

# The probability vocode takes off every class's before drawing (LPCNet's sampling, audiornn.stepping.choose):
# the hour-trained vocoder's copy-synthesis scored PESQ 1.87 without it and 2.06 with it (tail values tried on
# the vocoder of bench/vocoder.py --minutes 60 --side-by-side: which probability cut gives the best PESQ).
VOCODE_TAIL = 0.001
# Passes of audiornn.vocoder.follow_frames after the network (vocode's refine): on vocoder-16k's copy-synthesis of
# 20 + 20 files, seed 0 (bench/vocoder_refine.py), PESQ wide band rose from 1.57 and 1.71 to 2.79 and 3.07 in 16
# passes, 2.89 and 3.04 in 32, 2.95 and 3.14 in 64 (Griffin-Lim's 2.67 and 2.52); from noise instead of the
# network's audio, 1.32 and 1.41.
REFINE_PASSES = 32
# Each pass's spectrum pushed on by this share of its change since the last pass (fast Griffin-Lim's momentum,
# Perraudin et al. 2013): on the same files, seeds 0, 1 and 2, 32 passes scored 2.97, 2.92, 2.91 on its voices and
# 3.19, 3.03, 3.18 on the unseen voice, against 2.89, 2.78, 2.84 and 3.09, 2.95, 3.00 without (0.5: about half
# the gain; 0.9: more on the unseen voice, less on its voices, and more buzz; bench/vocoder_refine.py --momentum).
REFINE_MOMENTUM = 0.7


# -- the command line's names for the options ---------------------------------------------------------------------
# Each option's flag, its config field, its type and its help ("{default}" is filled in from the config's default).
# Messages name an option by its flag where they are raised (:func:`option`): in the API the field of the same
# name, with underscores, is meant.
# Frames in a vocoder's training window: in 30 minutes windows of 6 frames (480 samples at 8 kHz) scored PESQ
# 2.22 where windows of 2 scored 1.97, and fewer bits (bench/vocoder.py --variant seq-480:sequence_length=480:
# which window length gives the best PESQ; 12 frames lost in --variant seq-960:sequence_length=960).
VOCODER_WINDOW_FRAMES = 6

TRAIN_OPTIONS = {
    # flag: (TrainConfig field, type, help); "{default}" is filled in from TrainConfig().
    "--sequence-length": ("sequence_length", int, "window length in samples (default {default}; a vocoder's: "
                                                  "six frames)"),
    "--batch-size": ("batch_size", int, "windows per batch, across all devices (default {default})"),
    "--epochs": ("epochs", int, "stop after this many epochs (default 20 when --minutes is not given)"),
    "--minutes": ("minutes", float, "stop after this many minutes of training; the learning-rate "
                                    "schedule spans them (the best model's score on all the validation audio "
                                    "comes after them: minutes more for hours of audio)"),
    "--steps-per-epoch": ("steps_per_epoch", int, "batches per epoch (default {default}: one pass over the training audio, at most 200 batches)"),
    "--learning-rate": ("learning_rate", float, "highest learning rate of the warm-up + cosine schedule "
                                                "(default {default}; a vocoder's: 0.003)"),
    "--patience": ("patience", int, "early stopping: epochs without a better validation loss, counted in the "
                                    "schedule's second half (default {default})"),
    "--preview-every": ("preview_every", int, "write a generated preview wav every N epochs "
                                              "(default {default}: never)"),
    "--health-every": ("health_every", int, "every N epochs, generate --health-streams streams of "
                                            "--health-seconds and measure their health against the training "
                                            "audio (history.csv's health_ columns; the healthiest epoch's model "
                                            "is kept as healthiest.keras; default {default}: never)"),
    "--health-streams": ("health_streams", int, "streams of each health check (default {default})"),
    "--health-seconds": ("health_seconds", float, "seconds of each health check's streams, at least 4 (default "
                                                  "{default})"),
    "--seed": ("seed", int, "random seed of weights and window draws (default {default})"),
    "--input-noise": ("input_noise", float, "noise injection: the largest standard deviation, in μ-law classes, "
                                            "of noise added to the training inputs, targets clean (default "
                                            "{default}: none)"),
}
MODEL_OPTIONS = {
    # flag: (ModelConfig field, type, help); "{default}" is filled in from ModelConfig().
    "--preset": ("preset", str, "'default' or 'seed' (the original AudioRNN, many-to-one, for comparison)"),
    "--cell": ("cell", str, "gru, lstm or lstmp (default {default})"),
    "--layers": ("num_layers", int, "recurrent layers of the sample tier (default {default}; 0: feed-forward, "
                                    "with --frame-size)"),
    "--units": ("units", int, "units per recurrent layer (default {default})"),
    "--embedding-dim": ("embedding_dim", int, "size of the previous-sample embedding (default {default})"),
    "--projection-units": ("projection_units", int, "LSTMP projection size (default units / 2)"),
    "--dense-units": ("dense_units", int, "a ReLU layer of this width before the output "
                                          "(default {default}; 0: none)"),
    "--dropout": ("dropout", float, "dropout after each recurrent layer (default {default})"),
    "--lags": ("lags", int, "also feed the values of the last N samples to the first layer (default {default})"),
    "--window": ("window", int, "the seed preset's context in samples (default {default})"),
    "--linear-prediction": ("linear_prediction", int, "order of an adaptive linear predictor inside the model "
                                                      "(default {default}; 0 or --no-linear-prediction: none)"),
    "--prediction-window": ("prediction_window", int, "the linear predictor's window in samples "
                                                      "(default {default})"),
    "--prediction-hop": ("prediction_hop", int, "refit the linear predictor every N samples (default {default})"),
    "--prior-cap": ("prior_cap", float, "the most the linear predictor's prior takes from any class, in nats "
                                        "(default {default}; 0: no cap)"),
    "--prediction-floor": ("prediction_floor", float, "the smallest residual scale the linear predictor gives "
                                                      "its prior, in values of full scale 1 (default {default})"),
    "--frame-size": ("frame_size", int, "a frame tier stepping once every N samples, conditioning the sample tier "
                                        "(default {default}: none; the training window must be a multiple of it)"),
    "--frame-units": ("frame_units", int, "the frame tier's GRU width (default {default})"),
    "--frame-layers": ("frame_layers", int, "the frame tier's GRU layers (default {default})"),
    "--label-dim": ("label_dim", int, "size of the label embedding of a labelled dataset's model (default {default})"),
    "--feature-units": ("feature_units", int, "a vocoder's frame-rate network width (default {default})"),
    "--feature-layers": ("feature_layers", int, "a vocoder's frame-rate convolutions of width 3 (default {default})"),
    "--feature-prediction": ("feature_prediction", int, "order of a vocoder's linear predictor fitted to each "
                                                        "frame's spectral envelope (default {default}; 0: none)"),
}
AUDIO_OPTIONS = {"sample_rate": "--sample-rate", "preemphasis": "--preemphasis", "mu": "--mu"}
# How audio files become a dataset beyond the audio settings (build_dataset's keyword arguments): the flags.
BUILD_OPTIONS = {"validation_fraction": "--validation-fraction", "trim_silence_db": "--trim-silence",
                 "strict": "--strict", "keep_near_copies": "--keep-near-copies", "exclude": "--exclude"}
VALIDATION_FRACTION = 0.1  # the share of the audio a dataset holds out for validation
FLAGS = {**{field: flag for options in (TRAIN_OPTIONS, MODEL_OPTIONS) for flag, (field, _, _) in options.items()},
         **AUDIO_OPTIONS, **BUILD_OPTIONS,
         # generate's and vocode's keywords beside their flags, as a notebook calls them (refine's says so too)
         **{name: f"--{name} ({name}=)" for name in ("seconds", "count", "temperature", "tail")},
         "laplace_prior": "--no-laplace-prior", "mixed_precision": "--mixed-precision"}

# Which model options set a part that another turns on: option -> (the option that turns it on, the part). An
# option given for a part the model lacks would be ignored, and is refused (ModelConfig.check_given); labels and
# features are turned on by the dataset, and checked against it when training starts.
PARTS = {"frame_units": ("frame_size", "the frame tier"), "frame_layers": ("frame_size", "the frame tier"),
         "prediction_window": ("linear_prediction", "the linear predictor"),
         "prediction_hop": ("linear_prediction", "the linear predictor"),
         "prediction_floor": ("linear_prediction", "the linear predictor"),
         "prior_cap": ("linear_prediction", "the linear predictor"),
         "label_dim": ("labels", "labels"), "feature_units": ("features", "features"),
         "feature_layers": ("features", "features"), "feature_prediction": ("features", "features")}


def option(field):
    """How messages name a config field: its command-line flag (``--sequence-length``), or the field itself."""
    return FLAGS.get(field, field)


def shown_labels(labels):
    """Label names as a line shows them, joined by commas: one with a space or a comma in quotes ("labels 'a b'",
    not "labels a b", which reads as two)."""
    return ", ".join(repr(label) if any(mark in label for mark in " ,\t") else label for label in labels)


def check_input_noise(value):
    """``value`` if it is a valid ``input_noise`` (μ-law classes, 0 to below 64), else a ParameterError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 64:
        raise ParameterError(f"{option('input_noise')} must be a number of μ-law classes, at least 0 (no noise) "
                             f"and below 64, got {value!r}")
    return value


def plain_numbers(config):
    """NumPy scalars among a (frozen) dataclass's fields as Python's own (``np.int64(8000)`` -> ``8000``): the
    checks take them, and the config is written to JSON."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if isinstance(value, np.generic):
            object.__setattr__(config, field.name, value.item())


def as_config(value, kind, name):
    """``value`` given for a config of class ``kind`` (named ``name``): None, an instance, or a dict of its fields
    (made into one); anything else, or a dict with fields ``kind`` lacks, is refused by name."""
    if value is None or isinstance(value, kind):
        return value
    if isinstance(value, dict):
        known = {field.name for field in dataclasses.fields(kind)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ParameterError(f"{name}: {kind.__name__} has no field {', '.join(map(repr, unknown))}; its fields: "
                                 f"{', '.join(sorted(known))}")
        return kind(**value)
    raise ParameterError(f"{name} must be a {kind.__name__} (or a dict of its fields), got {type(value).__name__}")


def check_positive_number(value, name):
    """``value`` as a float if it is a positive finite number (not a bool), else a ParameterError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < math.inf:
        raise ParameterError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def check_positive_int(value, name):
    """``value`` as an int if it is a positive integer (not a bool), else a ParameterError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ParameterError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_count(value, name):
    """``value`` as an int if it is 0 or a positive integer (not a bool), else a ParameterError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ParameterError(f"{name} must be 0 or a positive integer, got {value!r}")
    return int(value)


def check_bool(value, name):
    """``value`` if it is True or False, else a ParameterError naming ``name``."""
    if not isinstance(value, bool):
        raise ParameterError(f"{name} must be true or false, got {value!r}")
    return value


def config_from_dict(cls, values, *, source="config"):
    """Build dataclass ``cls`` from a dict, naming unknown or bad keys."""
    if not isinstance(values, dict):
        raise ParameterError(f"{source}: expected a JSON object for {cls.__name__}, got {values!r}")
    known = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ParameterError(
            f"{source}: unknown {cls.__name__} keys {unknown}; expected some of {sorted(known)}"
        )
    try:
        return cls(**values)
    except TypeError as error:
        raise ParameterError(f"{source}: {error}") from None


class JSONConfig:
    """to_dict / to_json / from_dict for the frozen config dataclasses."""

    def to_dict(self):
        """The fields as JSON has them (a tuple as a list)."""
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in dataclasses.asdict(self).items()}

    def to_json(self):
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, values, *, source="config"):
        return config_from_dict(cls, values, source=source)


@dataclasses.dataclass(frozen=True)
class AudioConfig(JSONConfig):
    """How raw audio becomes classes, and back.

    sample_rate: training rate in Hz; every input is resampled to it.
    mu: μ of the μ-law; there are ``mu + 1`` classes.
    preemphasis: coefficient of the pre-emphasis filter (0 turns it off).
    level: amplitude that restores decoded audio to the typical level of the
        recordings (each file is normalised to full scale before encoding;
        ``level`` is the median of the inverse gains). Set by the dataset.
    """

    sample_rate: int = 8000
    mu: int = 255
    preemphasis: float = 0.95
    level: float = 1.0

    def __post_init__(self):
        plain_numbers(self)
        dsp.check_sample_rate(self.sample_rate)
        dsp.check_mu(self.mu)
        dsp.check_preemphasis(self.preemphasis)
        if isinstance(self.level, bool) or not isinstance(self.level, (int, float)) \
                or not 0.0 < float(self.level) < float("inf"):
            raise ParameterError(f"level must be a positive finite number, got {self.level!r}")

    @property
    def num_classes(self):
        return self.mu + 1

    def same_processing(self, other):
        """True when ``other`` turns audio into the same classes (level aside)."""
        return (self.sample_rate, self.mu, self.preemphasis) == (
            other.sample_rate, other.mu, other.preemphasis)

    def describe_difference(self, other):
        """A readable list of the processing fields that differ from ``other``."""
        fields = ("sample_rate", "mu", "preemphasis")
        return ", ".join(
            f"{name} {getattr(self, name)!r} vs {getattr(other, name)!r}"
            for name in fields if getattr(self, name) != getattr(other, name)
        )


CELLS = ("gru", "lstm", "lstmp")
PRESETS = ("default", "seed")


@dataclasses.dataclass(frozen=True)
class ModelConfig(JSONConfig):
    """The network's shape.

    preset: "default" (sequence model) or "seed" (the original AudioRNN:
        dense + batch-norm + input skip + two GRUs on sample values,
        many-to-one over a fixed ``window``; see :attr:`many_to_one`).
    cell: "gru", "lstm" or "lstmp" (LSTM with a recurrent projection).
    num_layers, units: the recurrent stack.
    embedding_dim: size of the previous-class embedding.
    projection_units: LSTMP's projected state size (0: units // 2).
    dropout: dropout between recurrent layers while training.
    lags: also feed the decoded values of the last ``lags`` samples (the
        previous one included) to the first layer, beside the embedding:
        the short-term evidence a linear predictor uses, given directly
        instead of learned into the state (0: embedding only). The seed
        preset reads its window directly and ignores it.
    window: the seed preset's context length in samples.
    dense_units: a ReLU layer of this width between the recurrent stack and
        the logits (0: none). It runs over all time steps at once, so its
        capacity is cheaper than a recurrent layer's: on two cores one GRU
        layer with it trains ~1.5x faster than two GRU layers and learns more
        in the same minutes. Generating, a step reads it from memory once a
        sample: 256 (512 before) makes one stream 1.35x faster at the same
        bits (`python bench/one_stream.py`: does a narrower output tier cost
        bits?); models saved with 512 keep it.
    laplace_prior: add the log of a Laplace density to the logits,
        ``-sharpness * |value(class) - centre|`` over the classes' decoded
        values, with the centre and sharpness predicted from the network's
        output: the shape of a next-sample distribution given directly, so
        the 256 output weights only have to learn the corrections (called
        "peak" before, which ``--no-peak`` and old files still say).
    linear_prediction: the order of an adaptive linear predictor inside the
        model (0: none). Every ``prediction_hop`` samples it is fitted to the last
        ``prediction_window`` decoded values; its prediction and last error
        are inputs, and the Laplace prior is centred on the prediction with
        the scale its residual gives, so an untrained network already scores
        about what linear prediction does, on any material. Needs the
        Laplace prior.
    prediction_window: the predictor's analysis window in samples.
    prediction_floor: the smallest scale the predictor's residual gives the
        prior (in decoded values, full scale 1): without it a model that
        has not learned silence well, generating from silence, stays silent
        (each sample near zero makes the next fit's scale smaller still); the
        network can still sharpen the prior below it.
    prior_cap: the most the linear predictor's prior takes from any class, in
        nats (0: no cap). A cap keeps one surprise (a click after silence)
        from costing thousands of nats, but the classes beyond it are left
        to the logits, which learn there the odds of a surprise: generating,
        a briefly trained model can jump to them and stay.
    prediction_hop: refit the predictor every this many samples (counted
        from where the state starts; training windows must be a multiple of
        it): fitting is most of the predictor's cost when generating.
    frame_size: F, the frame tier's frame length in samples (0: no frame
        tier). A recurrent network (SampleRNN's idea) that steps once every F
        samples, reading the last F samples (μ-law companded), so its context
        costs 1/F of a per-sample layer's; its output is projected to F
        conditioning vectors of ``embedding_dim``, one per sample of the next
        frame, read by the sample tier beside the embedding. Its state is
        carried across training windows like the sample tier's; training
        windows must be a multiple of F.
    frame_units, frame_layers: the frame tier's GRU width and depth.
    features: the spectrogram bands a vocoder reads (0: none; set from a
        dataset with features by training). Its frames go through
        ``feature_layers`` non-causal convolutions of width 3 and
        ``feature_units`` (each frame sees as many frames either side; LPCNet's
        frame-rate network), and every sample of a frame reads the result.
    feature_prediction: a vocoder's linear predictor of this order (0: none),
        fitted to each frame's spectral envelope instead of to past samples
        (LPCNet's): the log-mel bands interpolated to a power spectrum, its
        autocorrelation after the pre-emphasis, Levinson-Durbin. Its prediction
        and last error are inputs and the Laplace prior is centred on it with
        the residual scale the frame gives, as the adaptive predictor's are,
        so the frames' envelope shapes the output from the first step and the
        network models what the envelope leaves (LPCNet's excitation). Used
        only by a model that reads features and has no ``linear_prediction``;
        needs the Laplace prior. Models saved before it existed have none.
    labels: the label names of a labelled model (speakers, languages,
        instruments; set from the dataset by training, empty: none), in the
        order of their ids. A learned embedding of ``label_dim`` values per
        label is read by every step of the sample tier (and by the frame tier),
        beside the other conditioning.

    With a frame tier, ``num_layers`` may be 0: the sample tier is then
    feed-forward (the embedding, the lags and the conditioning through the
    dense layer), which trains without a per-sample loop.
    """

    preset: str = "default"
    cell: str = "gru"
    num_layers: int = 1
    units: int = 256
    embedding_dim: int = 64
    projection_units: int = 0
    dropout: float = 0.0
    lags: int = 32
    window: int = 1000
    dense_units: int = 256
    laplace_prior: bool = True
    linear_prediction: int = 0
    prediction_window: int = 128
    prediction_hop: int = 4
    prediction_floor: float = dsp.PREDICTION_FLOOR
    prior_cap: float = 16.0
    frame_size: int = 0
    frame_units: int = 512
    frame_layers: int = 1
    labels: tuple = ()
    label_dim: int = 16
    features: int = 0
    feature_units: int = 128
    feature_layers: int = 2
    feature_prediction: int = 16

    def __post_init__(self):
        plain_numbers(self)
        if isinstance(self.labels, str) or not isinstance(self.labels, (list, tuple)) \
                or not all(isinstance(name, str) and name for name in self.labels) \
                or len(set(self.labels)) != len(self.labels):
            raise ParameterError(f"labels must be a list of distinct label names, got {self.labels!r}")
        object.__setattr__(self, "labels", tuple(self.labels))  # from JSON a list: the frozen config holds a tuple
        check_positive_int(self.label_dim, option("label_dim"))
        check_count(self.features, "features")
        check_positive_int(self.feature_units, option("feature_units"))
        check_positive_int(self.feature_layers, option("feature_layers"))
        if isinstance(self.feature_prediction, bool) or not isinstance(self.feature_prediction, int) \
                or not 0 <= self.feature_prediction <= 64:
            raise ParameterError(f"{option('feature_prediction')} must be an order from 0 (off) to 64, "
                                 f"got {self.feature_prediction!r}")
        if self.features and self.feature_prediction and not self.linear_prediction and not self.laplace_prior:
            raise ParameterError(f"{option('feature_prediction')} ({self.feature_prediction}) centres the Laplace prior on its "
                                 f"prediction: set it to 0 as well to leave the prior out")
        if self.preset not in PRESETS:
            raise ParameterError(f"{option('preset')} must be one of {PRESETS}, got {self.preset!r}")
        if self.cell not in CELLS:
            raise ParameterError(f"{option('cell')} must be one of {CELLS}, got {self.cell!r}")
        for name in ("units", "embedding_dim", "window", "frame_units", "frame_layers"):
            check_positive_int(getattr(self, name), option(name))
        for name in ("num_layers", "projection_units", "dense_units", "frame_size"):
            check_count(getattr(self, name), option(name))
        check_bool(self.laplace_prior, "laplace_prior")
        if isinstance(self.lags, bool) or not isinstance(self.lags, int) or not 0 <= self.lags <= 1024:
            raise ParameterError(f"{option('lags')} must be an integer from 0 to 1024, got {self.lags!r}")
        if not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise ParameterError(f"{option('dropout')} must be a number in [0, 1), got {self.dropout!r}")
        if isinstance(self.linear_prediction, bool) or not isinstance(self.linear_prediction, int) \
                or not 0 <= self.linear_prediction <= 64:
            raise ParameterError(f"{option('linear_prediction')} must be an order from 0 (off) to 64, "
                                 f"got {self.linear_prediction!r}")
        if self.frame_size == 1 or self.frame_size > 1024:
            raise ParameterError(f"{option('frame_size')} must be 0 (no frame tier) or from 2 to 1024 samples, "
                                 f"got {self.frame_size!r}")
        if self.many_to_one:
            if self.num_layers < 1:
                raise ParameterError(f"the {self.preset} preset needs {option('num_layers')} of at least 1, got {self.num_layers}")
            if self.labels or self.features:
                raise ParameterError(f"labels and features need a sequence model; the {self.preset} preset does not "
                                     f"read them: use the default preset, or a dataset without them")
            if self.frame_size:
                raise ParameterError(f"{option('frame_size')} ({self.frame_size}) needs a sequence model; the {self.preset} "
                                     f"preset reads a window of {self.window} samples instead: leave the frame "
                                     f"tier out, or use the default preset")
        elif self.num_layers < 1 and not self.frame_size:
            raise ParameterError(f"{option('num_layers')} (0), a feed-forward sample tier, needs a frame tier to carry "
                                 f"the context: give {option('frame_size')} (a frame length in samples) too, or at "
                                 f"least one layer")
        check_positive_int(self.prediction_window, option("prediction_window"))
        check_positive_int(self.prediction_hop, option("prediction_hop"))
        if isinstance(self.prediction_floor, bool) or not isinstance(self.prediction_floor, (int, float)) \
                or not 0 < self.prediction_floor < 1:
            raise ParameterError(f"{option('prediction_floor')} must be a number between 0 and 1 (exclusive), "
                                 f"got {self.prediction_floor!r}")
        if isinstance(self.prior_cap, bool) or not isinstance(self.prior_cap, (int, float)) \
                or not 0 <= self.prior_cap < math.inf:
            raise ParameterError(f"{option('prior_cap')} must be 0 (no cap) or a positive number of nats, got {self.prior_cap!r}")
        if self.linear_prediction:
            if self.prediction_window <= self.linear_prediction:
                raise ParameterError(f"{option('prediction_window')} ({self.prediction_window}) must be longer than the order "
                                     f"of {option('linear_prediction')} ({self.linear_prediction})")
            if self.many_to_one:
                raise ParameterError(f"{option('linear_prediction')} ({self.linear_prediction}) needs a sequence model; "
                                     f"the {self.preset} preset reads a window instead")
            if not self.laplace_prior:
                raise ParameterError(f"{option('linear_prediction')} ({self.linear_prediction}) centres the Laplace prior "
                                     f"on its prediction: set the linear prediction to 0 as well to leave the "
                                     f"prior out")

    @classmethod
    def from_options(cls, options):
        """A model config from the options a user gave (``preset`` "seed": :meth:`seed`'s), refusing an option
        that sets a part the model will not have (:data:`PARTS`; labels and features come with the dataset)."""
        defaults = cls()
        if "window" in options and options.get("preset") != "seed":
            raise ParameterError(f"{option('window')} sets the seed preset's context, and this model is the default "
                                 f"preset, which carries its context in the recurrent state (windows of "
                                 f"{option('sequence_length')}): give --preset seed too, or leave "
                                 f"{option('window')} out")
        for field, (needs, part) in PARTS.items():
            if field in options and needs not in ("labels", "features") \
                    and not options.get(needs, getattr(defaults, needs)):
                raise ParameterError(f"{option(field)} sets {part}, which this model does not have: give "
                                     f"{option(needs)} too, or leave {option(field)} out")
        return cls.seed(**options) if options.get("preset") == "seed" else cls(**options)

    @property
    def many_to_one(self):
        """The seed preset's mode: one target per window of ``window`` samples, no carried state."""
        return self.preset == "seed"

    @property
    def history(self):
        """How many decoded values a step reads: the lags, the predictor's window or a frame, the longest."""
        return max(self.lags, self.prediction_window if self.linear_prediction else 0, self.frame_size,
                   self.frame_prediction)

    @property
    def frame_prediction(self):
        """The order of the predictor fitted to the frames (``feature_prediction``) when the model has it, else 0."""
        return self.feature_prediction if self.features and not self.linear_prediction else 0

    @property
    def prediction_order(self):
        """The order of the model's linear predictor, fitted to past samples or to the frames (0: none)."""
        return self.linear_prediction or self.frame_prediction

    @property
    def counts_steps(self):
        """True when a step's work depends on its position (a predictor refit or a frame every so many)."""
        return bool(self.linear_prediction or self.frame_size)

    def check_sequence_length(self, sequence_length):
        """Refuse training windows that would not start every predictor refit or frame at the same place."""
        for period, name, reason in ((self.prediction_hop if self.linear_prediction else 0, "prediction_hop",
                                      "the linear predictor refits at the same places"),
                                     (self.frame_size, "frame_size", "frames start at the same places")):
            if period and sequence_length % period:
                raise ParameterError(f"{option('sequence_length')} ({sequence_length}) must be a multiple of {option(name)} "
                                     f"({period}), so that {reason} when the state is carried")
        return sequence_length

    @property
    def input_features(self):
        """Inputs to the sample tier beside the embedding: the lags, the prediction and its last error, then
        the conditioning (the frame tier's, the label's)."""
        return self.lags + (2 if self.prediction_order else 0) + self.conditioning_dim

    @property
    def conditioning_dim(self):
        """Per-sample conditioning values the sample tier reads: the frame tier's, the label's, the features'."""
        return (self.embedding_dim if self.frame_size else 0) + (self.label_dim if self.labels else 0) \
            + (self.feature_units if self.features else 0)

    @classmethod
    def from_saved(cls, values, *, source="model config"):
        """A config as saved in a model file or run folder, by this or an earlier version.

        Files written before the Laplace prior existed had none; files
        written before it was renamed call it "peak"; files written before
        the linear predictor existed had none, whatever today's default, and
        those written before its floor and cap were settings used the old ones.
        """
        if not isinstance(values, dict):
            return config_from_dict(cls, values, source=source)
        values = dict(values)
        if "laplace_prior" not in values:
            values["laplace_prior"] = values.pop("peak", False)
        values.setdefault("linear_prediction", 0)
        values.setdefault("prediction_floor", dsp.PREDICTION_MIN_SCALE)
        values.setdefault("prior_cap", 16.0)
        values.setdefault("frame_size", 0)
        values.setdefault("feature_prediction", 0)
        return config_from_dict(cls, values, source=source)

    @classmethod
    def seed(cls, **overrides):
        """The original AudioRNN's setup: two GRUs of 128, a 1000-sample window."""
        values = dict(preset="seed", cell="gru", num_layers=2, units=128, window=1000, lags=0, laplace_prior=False,
                      dense_units=0, linear_prediction=0, frame_size=0, feature_prediction=0)
        values.update(overrides)
        return cls(**values)


MIXED_PRECISION = ("", "bfloat16")
HEALTH_SECONDS_LEAST = 4.0  # audiornn.health.SUSTAINED_SECONDS: the shortest stretch a stuck state is named after


class _DefaultInt(int):
    """A default left as it is, told from the same value given (:func:`is_default`)."""


class _DefaultFloat(float):
    """A default left as it is, told from the same value given (:func:`is_default`)."""


def is_default(value):
    """Whether a :class:`TrainConfig` field holds its default as it was left, not the same value given (a vocoder's
    own defaults replace the former alone: :func:`audiornn.training.vocoder_train_config`)."""
    return isinstance(value, (_DefaultInt, _DefaultFloat))


@dataclasses.dataclass(frozen=True)
class TrainConfig(JSONConfig):
    """How to train.

    sequence_length, batch_size: window length and global batch (split across
        replicas when training on several devices).
    epochs / minutes: stop after this many epochs or this much training time
        (the learning-rate schedule spans whichever is given; minutes wins).
        With neither (both 0, the default), 20 epochs (:attr:`total_epochs`).
    steps_per_epoch: batches per epoch (0: one pass over the training audio,
        at most 200 batches, so epochs stay short and checkpoints frequent).
    learning_rate: the highest learning rate of the schedule: a linear warm-up over
        ``warmup_steps``, then a cosine decay to ``final_learning_rate_fraction``
        of it at the end of the budget.
    clipnorm: gradient clipping by global norm.
    patience: stop after this many epochs without a better validation loss,
        counted once the schedule is half over (the learning rate below half
        its peak; :data:`audiornn.training.PATIENCE_FROM`).
    validation_steps: batches of the per-epoch validation score (an evenly
        spread, fixed subset); the full validation audio is scored at the end.
    preview_every, preview_seconds: write a generated preview every N epochs.
    health_every, health_streams, health_seconds: every N epochs (0: never),
        generate ``health_streams`` streams of ``health_seconds`` from the
        model in training and measure them against the training audio
        (:mod:`audiornn.health`): the share of their 2 s windows at the
        training level, streams collapsed, run away and frozen go into the
        history, and the healthiest epoch's model is kept beside the best
        (:data:`audiornn.runs.HEALTHIEST_MODEL`). The streams are at least 4 s
        long: a collapse, runaway or freeze is named after 4 s; 20 by default,
        as checks of 12 s saw 1 frozen stream in 16 where 30 s streams of the
        same model froze in 13 of 32 (``bench/RESULTS.md``). Whether a training ends
        in an absorbing state is not read off its bits (``bench/RESULTS.md``,
        generation health): this is how to see it, and to pick an epoch by it.
    carry_state: truncated backpropagation through time: each row of a
        training batch continues where the same row of the previous batch
        ended, and the recurrent state (and lag values) are carried over, so
        the network learns from context longer than ``sequence_length`` and
        no position starts cold (sequence models; the seed preset ignores it).
    input_noise: the largest standard deviation, in μ-law classes, of the
        noise added to the training inputs (each window draws its own from 0
        to below this; the targets stay clean; 0: none). LPCNet's noise
        injection, meant to teach the network to pull back from its own
        errors; on music it made generated streams fall silent more often
        (``bench/collapse_fixes.py``), so it is off by default.
    mixed_precision: "" (float32) or "bfloat16": the layers compute in
        bfloat16 with float32 weights (Keras' "mixed_bfloat16" policy); the
        logits, the softmax and the loss stay float32. Generation and scoring
        compute in float32 whatever the training did.
    """

    sequence_length: int = _DefaultInt(96)
    batch_size: int = 48
    epochs: int = 0
    minutes: float = 0.0
    steps_per_epoch: int = 0
    learning_rate: float = _DefaultFloat(1e-2)
    final_learning_rate_fraction: float = 0.01
    warmup_steps: int = 50
    clipnorm: float = 1.0
    patience: int = 10
    validation_steps: int = 32
    preview_every: int = 0
    preview_seconds: float = 2.0
    health_every: int = 0
    health_streams: int = 8
    health_seconds: float = 20.0
    seed: int = 0
    tensorboard: bool = False
    carry_state: bool = True
    mixed_precision: str = ""
    input_noise: float = 0.0

    def __post_init__(self):
        plain_numbers(self)
        for name in ("sequence_length", "batch_size", "validation_steps", "patience", "health_streams"):
            check_positive_int(getattr(self, name), option(name))
        for name in ("epochs", "steps_per_epoch", "warmup_steps", "preview_every", "health_every", "seed"):
            check_count(getattr(self, name), option(name))
        for name in ("carry_state", "tensorboard"):
            check_bool(getattr(self, name), option(name))
        if self.mixed_precision not in MIXED_PRECISION:
            raise ParameterError(f"{option('mixed_precision')} must be one of {', '.join(map(repr, MIXED_PRECISION))}, "
                                 f"got {self.mixed_precision!r}")
        for name in ("learning_rate", "clipnorm", "preview_seconds", "health_seconds"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 < value < math.inf:
                raise ParameterError(f"{option(name)} must be a positive number, got {value!r}")
        if self.health_seconds < HEALTH_SECONDS_LEAST:
            raise ParameterError(f"{option('health_seconds')} must be at least {HEALTH_SECONDS_LEAST:g} (a collapse, "
                                 f"runaway or freeze is named after {HEALTH_SECONDS_LEAST:g} s), got "
                                 f"{self.health_seconds!r}")
        check_input_noise(self.input_noise)
        if not isinstance(self.minutes, (int, float)) or not 0 <= self.minutes < math.inf:
            raise ParameterError(f"{option('minutes')} must be a positive number (or 0 for no time limit), "
                                 f"got {self.minutes!r}")
        if not 0 < self.final_learning_rate_fraction <= 1:
            raise ParameterError(f"final_learning_rate_fraction must be in (0, 1], "
                                 f"got {self.final_learning_rate_fraction!r}")

    @property
    def total_epochs(self):
        """The epoch limit given to ``fit`` (a time budget alone allows many)."""
        return self.epochs or (100_000 if self.minutes else 20)


class LevelNamed(logging.Formatter):
    """Info lines as they are; a warning or an error named so ("warning: ..."): the command line's lines, with
    --quiet or without it, and a notebook's."""

    def format(self, record):
        line = super().format(record)
        return line if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {line}"


def in_notebook():
    """Whether this runs in a Jupyter kernel (IPython's ZMQ shell, or one made from it, as Colab's), whose output
    is no terminal."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return any(kind.__name__ == "ZMQInteractiveShell" for kind in type(shell).__mro__)


# A package install's commands for the repository's scripts (pyproject.toml's [project.scripts])
INSTALLED_COMMANDS = {"AudioRNN.py": "audiornn", "AudioRNNData.py": "audiornn-data", "AudioRNNEval.py": "audiornn-eval"}
_SCRIPTS_FOLDER = Path(__file__).resolve().parent.parent


def command(script="AudioRNN.py"):
    """How a message names one of the scripts for the user to run: a package install's command (``audiornn``,
    ``audiornn-data``, ``audiornn-eval``) where the user runs one of those (an editable install's too, whose
    package lies beside the clone's scripts, but not in the folder the user works in) or the package lies
    without the scripts, and ``python AudioRNN.py`` where the package lies in a clone beside them."""
    running = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    if running in INSTALLED_COMMANDS.values() or not (_SCRIPTS_FOLDER / script).is_file():
        return INSTALLED_COMMANDS[script]
    return f"python {script}"


def bar_disabled(progress):
    """tqdm's ``disable`` for a progress bar where ``progress`` is asked: shown on a terminal and in a notebook
    (whose output is no terminal: tqdm's own None hid every bar there), not written into a log file."""
    if not progress:
        return True
    return False if in_notebook() else None


class _CellOutput(logging.StreamHandler):
    """A handler that writes to ``sys.stderr`` as it is when a line is written (a cell's, captured or not)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):  # (StreamHandler sets it: the one of the moment is read instead)
        pass


def show_in_notebook():
    """In a Jupyter kernel, the library's info lines and warnings shown in the cell's output (Python shows no info
    line without a handler, and a notebook has none): a handler of the "audiornn" logger's own, unless it has one
    already or the notebook set up logging before (the root logger has a handler); ``logging.getLogger(
    "audiornn").propagate = True`` and its handlers removed undo it."""
    audiornn = logging.getLogger("audiornn")
    if not in_notebook() or audiornn.handlers or logging.getLogger().handlers:
        return
    handler = _CellOutput()
    handler.setFormatter(LevelNamed())
    audiornn.addHandler(handler)
    if audiornn.level == logging.NOTSET:
        audiornn.setLevel(logging.INFO)
    audiornn.propagate = False  # (not twice where the notebook's root logger has a handler too)
