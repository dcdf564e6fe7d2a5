"""audiornn: learn raw audio one sample at a time, and generate new audio from it.

``import audiornn`` is light (numpy, scipy, soundfile); the names that need
Keras (models, training, generation, evaluation) are imported on first use.
"""

__version__ = "0.1.0"


def _choose_backend():
    """Keras' backend: ``KERAS_BACKEND`` when set, else JAX when TensorFlow is not installed (and JAX is)."""
    import importlib.util
    import os
    import sys

    if "KERAS_BACKEND" in os.environ or "keras" in sys.modules:
        return
    if importlib.util.find_spec("tensorflow") is None and importlib.util.find_spec("jax") is not None:
        os.environ["KERAS_BACKEND"] = "jax"


_choose_backend()


def _quiet_tqdm():
    """tqdm's notebook bars need ipywidgets; without it, tqdm's plain bars (shown in a notebook: see
    :func:`audiornn.config.bar_disabled`) and not its warning that asks for it at every ``import audiornn``."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        import tqdm.auto  # noqa: F401


_quiet_tqdm()

from .config import AudioConfig, ModelConfig, TrainConfig, show_in_notebook  # noqa: E402

show_in_notebook()
from .dataset import Dataset, build_dataset, open_dataset  # noqa: E402
from .errors import (  # noqa: E402
    AudioFileError,
    AudioRNNError,
    DatasetError,
    ModelFileError,
    ParameterError,
    RunError,
)

_LAZY = {
    "build_model": "model", "FeatureConfig": "features",
    "train": "training", "load_run_model": "runs", "load_model": "runs", "shipped_models": "pretrained",
    "generate": "generation", "SampleStream": "stepping", "vocode": "vocoder",
    "plot_history": "evaluation", "score_audio": "scoring", "sound_comparison": "evaluation",
}

__all__ = ["AudioConfig", "AudioFileError", "AudioRNNError", "Dataset", "DatasetError", "ModelConfig",
           "ModelFileError", "ParameterError", "RunError", "TrainConfig", "__version__", "build_dataset",
           "open_dataset", *_LAZY]


# The modules that need no Keras: a name of theirs does not start the backend.
_LIGHT = {"backend", "config", "dataset", "errors", "features", "pretrained", "dsp", "audio_io", "labels", "files"}


def _start_backend(module):
    """On the first name that needs Keras, start it the way the command line does: the backend's start-up lines
    (absl's preamble, the CUDA probe of a machine without a GPU, CPU-feature notes) kept out of the notebook
    (:func:`audiornn.backend.start_quietly`; the modules that import Keras call it too)."""
    import importlib

    if module not in _LIGHT:
        importlib.import_module(".backend", __name__).start_quietly()  # not "from . import": it would come here


def __getattr__(name):
    import importlib

    if name in _LAZY:
        _start_backend(_LAZY[name])
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    if name in _modules():  # a module, on first use: audiornn.scoring.identify
        _start_backend(name)
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'audiornn' has no attribute {name!r}")


def _modules():
    """The package's modules by name (not models/, the shipped models' folder)."""
    import pkgutil

    return {module.name for module in pkgutil.iter_modules(__path__) if not module.ispkg
            and not module.name.startswith("_")}


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | _modules())
