"""Small frozen configuration dataclasses, validated on construction.

The audio config travels inside the dataset's metadata and the saved model,
so generation can never disagree with training about the sample rate, μ,
pre-emphasis or level.
"""

import dataclasses
import json

import numpy as np

from . import dsp
from .errors import ParameterError

__all__ = ["AudioConfig", "check_bool", "check_count", "check_positive_int", "config_from_dict"]


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


class _JSONMixin:
    def to_dict(self):
        return dataclasses.asdict(self)

    def to_json(self):
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, values, *, source="config"):
        return config_from_dict(cls, values, source=source)


@dataclasses.dataclass(frozen=True)
class AudioConfig(_JSONMixin):
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
