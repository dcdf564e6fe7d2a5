# Run once on JAX from the repository's root (KERAS_BACKEND=jax python tests/data/make_jax_run.py): a run
# folder trained on JAX (frame tier and LSTM, so both kinds of state cross), and the audio it generates there.
# The runs trained on TensorFlow (legacy_run, predictor_run) are the other direction. Then run
# tests/data/make_backend_reference.py on TensorFlow.
import shutil
import sys
from pathlib import Path

import keras
import numpy as np

sys.path.insert(0, "tests")
from backend_runs import sine_dataset  # noqa: E402

from audiornn.generation import generate  # noqa: E402
from audiornn.model import ModelConfig  # noqa: E402
from audiornn.runs import load_run_model  # noqa: E402
from audiornn.training import TrainConfig, train  # noqa: E402

assert keras.backend.backend() == "jax", "run with KERAS_BACKEND=jax"
work = Path("/tmp/audiornn-jax-run")
shutil.rmtree(work, ignore_errors=True)
work.mkdir()
dataset = sine_dataset(work)
out = Path("tests/data/jax_run")
shutil.rmtree(out, ignore_errors=True)
summary = train(dataset, out, model_config=ModelConfig(cell="lstm", num_layers=1, units=16, embedding_dim=8, lags=4,
                                                       dense_units=16, frame_size=4, frame_units=16),
                train_config=TrainConfig(epochs=2, steps_per_epoch=5, batch_size=8, sequence_length=32,
                                         warmup_steps=2), verbose=0)
audio = generate(load_run_model(out), seconds=0.05, count=2, seed=3, progress=False)
np.save("tests/data/jax_run_generated.npy", audio.astype("float32"))
print(summary["validation"], audio.shape)
