"""Shared fixtures: made-up audio written to temporary files."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _share_compiled_programs():
    """One cache of compiled XLA programs for the whole run of the suite (and the scripts it starts), made before
    the backend starts and removed when the run ends: the suite builds the same small models hundreds of times,
    and on JAX a program compiled for one test is then read back by the next (a module of tests 21 % faster on
    2 cores: tests/test_init_from.py took 146 s where it took 184 s without, the two side by side). Only JAX's:
    TensorFlow's (TF_XLA_FLAGS=--tf_xla_persistent_cache_directory) gained nothing the same way (248 s against
    244 s for test_init_from.py and test_generation.py). A cache the user set is left as it is."""
    # (audiornn's own folder of compiled programs, in the user's cache: not filled by the suite's hundreds of models)
    os.environ["AUDIORNN_COMPILE_CACHE"] = "0"
    if "JAX_COMPILATION_CACHE_DIR" in os.environ:
        return
    folder = tempfile.mkdtemp(prefix="audiornn-tests-jax-cache-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = folder
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")


_share_compiled_programs()

from pathlib import Path

import numpy as np
import pytest
import soundfile
from audiornn.config import AudioConfig, ModelConfig


def pytest_collection_modifyitems(config, items):
    """Tests marked for the other backend are left out (deselected, as ``-m`` would): on TensorFlow the
    ``jax_only`` ones, on JAX the ``tf_only`` ones, so ``pytest -m "not slow"`` runs on either as it is."""
    import keras

    other = "jax_only" if keras.backend.backend() == "tensorflow" else "tf_only"
    left_out = [item for item in items if other in item.keywords]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if other not in item.keywords]


@pytest.fixture(autouse=True)
def _compiled_programs_let_go_when_crowded():
    """After each test, JAX's caches of compiled programs emptied where they crowd the process (as the library's
    entry points do before they compile): the suite compiles thousands, and a process holding the kernel's
    vm.max_map_count of memory maps crashes in XLA's next compilation."""
    yield
    from audiornn import backend

    backend.release_compiled_if_crowded()


def sine(frequency, seconds, rate, amplitude=0.5, phase=0.0):
    time = np.arange(int(round(seconds * rate))) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * time + phase)).astype(np.float32)


@pytest.fixture
def write_audio(tmp_path):
    """write_audio(name, audio, rate, subtype) -> path of a new audio file under tmp_path."""

    def write(name, audio, rate=8000, subtype="PCM_16"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(str(path), audio, rate, subtype=subtype)
        return path

    return write


@pytest.fixture
def speech_like_folder(tmp_path, write_audio):
    """Five files of tones plus noise at mixed rates and channel counts."""
    generator = np.random.default_rng(0)
    for index, (rate, channels) in enumerate([(8000, 1), (16000, 2), (44100, 1), (22050, 2), (8000, 1)]):
        mono = sine(200 + 50 * index, 1.0 + 0.25 * index, rate) \
            + 0.05 * generator.standard_normal(int(round((1.0 + 0.25 * index) * rate))).astype(np.float32)
        audio = mono if channels == 1 else np.stack([mono, 0.5 * mono], axis=1)
        write_audio(f"recordings/take{index}.wav" if index % 2 else f"recordings/sub/take{index}.flac",
                    audio, rate)
    (tmp_path / "recordings" / "notes.txt").write_text("not audio")
    return tmp_path / "recordings"


SINE_FREQUENCY = 437.0  # incommensurate with 8 kHz, so every phase occurs


@pytest.fixture(scope="session")
def sine_dataset(tmp_path_factory):
    """A dataset of a 400 Hz sine with a little noise: 4 files of 3 seconds at 8 kHz."""
    from audiornn import build_dataset

    folder = tmp_path_factory.mktemp("sine")
    generator = np.random.default_rng(7)
    for index in range(4):
        audio = sine(SINE_FREQUENCY, 3.0, 8000, amplitude=0.6, phase=index) \
            + 0.002 * generator.standard_normal(24000).astype(np.float32)
        soundfile.write(str(folder / f"sine{index}.wav"), audio, 8000, subtype="PCM_16")
    return build_dataset([folder], folder / "dataset", validation_fraction=0.25, progress=False)


@pytest.fixture(scope="session")
def sine_run(sine_dataset, tmp_path_factory):
    """A small GRU trained on the sine: (run folder, summary)."""
    from audiornn.model import ModelConfig
    from audiornn.training import TrainConfig, train

    folder = tmp_path_factory.mktemp("runs") / "sine"
    summary = train(sine_dataset, folder,
                    model_config=ModelConfig(num_layers=1, units=64, embedding_dim=32, dense_units=64),
                    train_config=TrainConfig(epochs=4, steps_per_epoch=40, batch_size=32, sequence_length=64,
                                             learning_rate=1e-2, warmup_steps=10),
                    verbose=0)
    return folder, summary


@pytest.fixture(scope="session")
def tone_dataset(tmp_path_factory):
    """Three one-second tones with a little noise at 8 kHz, one of them held out: a dataset to train a tiny
    model on in seconds."""
    from audiornn import build_dataset

    folder = tmp_path_factory.mktemp("tones")
    generator = np.random.default_rng(3)
    for index in range(3):
        audio = sine(300 + 70 * index, 1.0, 8000) + 0.01 * generator.standard_normal(8000).astype(np.float32)
        soundfile.write(str(folder / f"tone{index}.wav"), audio, 8000)
    return build_dataset([folder], folder / "dataset", validation_fraction=0.34, progress=False)


def unigram_bits(classes, classes_total=256):
    """Entropy in bits of the class histogram of ``classes``."""
    counts = np.bincount(np.asarray(classes, dtype=np.int64), minlength=classes_total).astype(np.float64)
    probabilities = counts[counts > 0] / counts.sum()
    return float(-(probabilities * np.log2(probabilities)).sum())


# -- a small finished run, and what tests of messages and litter look at --------------------------------------

REPOSITORY = Path(__file__).resolve().parent.parent
SMALL_MODEL = ModelConfig(units=8, embedding_dim=4, lags=2, dense_units=8)
SMALL_TRAINING = dict(steps_per_epoch=3, batch_size=4, sequence_length=16, warmup_steps=1)


@pytest.fixture
def finished_run(tone_dataset, tmp_path):
    """A run of one epoch of a small model on the tone dataset."""
    from audiornn.training import TrainConfig, train

    run = tmp_path / "run"
    train(tone_dataset, run, model_config=SMALL_MODEL, train_config=TrainConfig(epochs=1, **SMALL_TRAINING), verbose=0)
    return run


def one_line(capsys):
    """What the command wrote to standard error, which must be one line."""
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1, error
    return error


def hidden(folder):
    """The hidden entries of ``folder`` (temporary files), its lock aside."""
    return sorted(entry.name for entry in Path(folder).iterdir() if entry.name.startswith(".") and entry.name != ".lock")


# -- models of every kind of cell and tier, and a step-by-step run of one ---------------------------------

CELLS = [ModelConfig(cell="gru", num_layers=2, units=32, embedding_dim=8),
         ModelConfig(cell="gru", num_layers=1, units=32, embedding_dim=8, lags=6, dense_units=24, laplace_prior=True,
                     linear_prediction=0),
         ModelConfig(cell="lstm", num_layers=2, units=32, embedding_dim=8),
         ModelConfig(cell="lstmp", num_layers=2, units=32, projection_units=12, embedding_dim=8),
         ModelConfig(cell="gru", num_layers=1, units=32, embedding_dim=8, lags=6, dense_units=24, linear_prediction=8,
                     prediction_window=20),
         ModelConfig(cell="gru", num_layers=2, units=32, embedding_dim=8, lags=0, linear_prediction=8,
                     prediction_window=20, prediction_hop=3),
         # Frame tiers: over a GRU sample tier, over a feed-forward one (two frame layers), and beside the
         # predictor (an LSTM sample tier, frames of 5, refits every 2).
         ModelConfig(cell="gru", num_layers=1, units=32, embedding_dim=8, lags=6, dense_units=24, frame_size=4,
                     frame_units=16),
         ModelConfig(num_layers=0, embedding_dim=8, lags=3, dense_units=24, frame_size=8, frame_units=16,
                     frame_layers=2),
         ModelConfig(cell="lstm", num_layers=1, units=16, embedding_dim=8, lags=0, frame_size=5, frame_units=12,
                     linear_prediction=4, prediction_window=10, prediction_hop=2)]

def config_id(config):
    return f"{config.cell if config.num_layers else 'ff'}-lags{config.lags}" \
        + (f"-lp{config.linear_prediction}-hop{config.prediction_hop}" if config.linear_prediction else "") \
        + (f"-frames{config.frame_size}x{config.frame_layers}" if config.frame_size else "")

def stepped_logits(model, classes, states=None):
    """Logits ``(batch, time, classes)`` from :meth:`AudioRNN.step`, one sample at a time, and the last states."""
    states = model.initial_states(classes.shape[0]) if states is None else states
    outputs = []
    for step in range(classes.shape[1]):
        logits, states = model.step(classes[:, step], states)
        outputs.append(np.asarray(logits))
    return np.stack(outputs, axis=1), states

@pytest.fixture(scope="module")
def gru_model():
    from audiornn.model import build_model

    return build_model(ModelConfig(num_layers=2, units=32, embedding_dim=8), AudioConfig(level=0.5))


def classes_of(audio, audio_config):
    """The μ-law classes that ``decode_classes`` turned into ``audio`` (rows): level and de-emphasis undone."""
    from audiornn import dsp

    emphasised = np.atleast_2d(audio) / audio_config.level
    decoded = emphasised.copy()
    decoded[:, 1:] -= audio_config.preemphasis * emphasised[:, :-1]
    return dsp.mu_law_encode(decoded, mu=audio_config.mu)


def assert_same_until_a_near_tie(made, expected, audio_config, *, at_least=64):
    """``made`` is ``expected`` (audio rows) up to where a draw sat on the boundary between two classes and
    rounding (another CPU, another batch size) moved it: the streams part there, by one μ-law level, and not
    before ``at_least`` samples (a different model or sampler differs at once, and by more)."""
    made, expected = np.atleast_2d(made), np.atleast_2d(expected)
    assert made.shape == expected.shape
    for ours, theirs in zip(classes_of(made, audio_config), classes_of(expected, audio_config)):
        differ = np.flatnonzero(ours != theirs)
        first = differ[0] if differ.size else ours.size
        assert first >= at_least, f"the audio differs from sample {first}"
        if differ.size:
            assert abs(int(ours[first]) - int(theirs[first])) == 1
