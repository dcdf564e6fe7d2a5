"""One exception family for the whole project.

Every error a user can cause is an :class:`AudioRNNError`; the scripts turn it
into a one-line message and a non-zero exit code. Messages say what was
received, what was expected, and how to fix it, naming the file or argument.
"""


class AudioRNNError(Exception):
    """Base class of every error audiornn raises on purpose."""


class ParameterError(AudioRNNError, ValueError):
    """A parameter value is out of range or of the wrong kind."""


class AudioFileError(AudioRNNError):
    """An audio file is missing, unreadable, empty, silent or not finite.

    ``reason`` names the kind of problem in one word ("missing", "unreadable",
    "empty", "not_finite", "out_of_range", "silent", "too_short", "sample_rate", "too_large"); datasets count skipped
    files by it.
    """

    def __init__(self, message, *, reason="unreadable"):
        super().__init__(message)
        self.reason = reason


class DatasetError(AudioRNNError):
    """A dataset folder is missing, incomplete, of another version or config."""


class ModelFileError(AudioRNNError):
    """A model file is missing, corrupt, or not a model of ours."""


class RunError(AudioRNNError):
    """A training run folder is missing, holds another run, or cannot resume."""


class WorkerLost(RunError):
    """A worker of a multi-worker run is gone; the others stop (the run resumes from its last epoch)."""
