# Run once with the code of commit b05676b (the last before the frame tier), PYTHONPATH set to its checkout: a run
# folder with the linear predictor, the newest option then, and the audio it generates. From that checkout's root.
import shutil, sys
from pathlib import Path
import numpy as np, soundfile
sys.path.insert(0, "tests")
from conftest import sine
from audiornn import build_dataset
from audiornn.model import ModelConfig
from audiornn.training import TrainConfig, train
from audiornn.runs import load_run_model
from audiornn.generation import generate
work = Path("/tmp/predictor"); shutil.rmtree(work, ignore_errors=True); work.mkdir()
rng = np.random.default_rng(0)
for i in range(3):
    soundfile.write(str(work / f"a{i}.wav"), sine(300 + 40 * i, 1.0, 8000) + 0.01 * rng.standard_normal(8000).astype("float32"), 8000)
ds = build_dataset([work], work / "dataset", validation_fraction=0.34, progress=False)
out = Path("tests/data/predictor_run"); shutil.rmtree(out, ignore_errors=True)
summary = train(ds, out, model_config=ModelConfig(num_layers=1, units=16, embedding_dim=8, lags=4, dense_units=16,
                                                  linear_prediction=4, prediction_window=12, prediction_hop=2),
                train_config=TrainConfig(epochs=2, steps_per_epoch=5, batch_size=8, sequence_length=32, warmup_steps=2),
                verbose=0)
model = load_run_model(out)
audio = generate(model, seconds=0.05, count=2, seed=3, progress=False)
np.save("tests/data/predictor_run_generated.npy", audio.astype("float32"))
print(summary["validation"], audio.shape)
