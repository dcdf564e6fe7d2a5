"""One exception family for the whole project.

Every error a user can cause is an :class:`AudioRNNError`; the scripts turn it
into a one-line message and a non-zero exit code. Messages say what was
received, what was expected, and how to fix it, naming the file or argument.
"""


# The command line's exit codes: bad input; a write the machine refused (sysexits.h's EX_IOERR: not 1, which
# Python gives an uncaught exception, so that a script or a scheduler tells a full disk from a crash)
BAD_INPUT_EXIT, MACHINE_REFUSED_EXIT = 2, 74


class AudioRNNError(Exception):
    """Base class of every error audiornn raises on purpose. ``exit_code``: the command line's, 2 for bad input
    (what to change is in the command), 74 where the machine refused the work (:func:`refused_by_machine`)."""

    exit_code = BAD_INPUT_EXIT


def refused_by_machine(error):
    """``error`` marked as the machine's refusal of a write (a full disk, a quota, a file size limit, no
    permission, a read-only disk), not bad input: the same command works once that is mended, and the command
    line exits 74 for it, not 2 (a script or a scheduler can tell the two)."""
    error.exit_code = MACHINE_REFUSED_EXIT
    return error


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
