"""audiornn: learn raw audio one sample at a time, and generate new audio from it."""

__version__ = "0.1.0"

from .config import AudioConfig  # noqa: E402
from .dataset import Dataset, build_dataset, open_dataset  # noqa: E402
from .errors import (  # noqa: E402
    AudioFileError,
    AudioRNNError,
    DatasetError,
    ModelFileError,
    ParameterError,
    RunError,
)
