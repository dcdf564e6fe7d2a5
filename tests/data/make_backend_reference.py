# Run on TensorFlow from the repository's root, after make_jax_run.py (python tests/data/make_backend_reference.py):
# each saved run's bits per sample on the first 4,000 samples of a bundled recording, scored here, which
# tests/test_backends.py expects on every backend.
import json
import sys
from pathlib import Path

import keras

sys.path.insert(0, "tests")
from backend_runs import reference_classes  # noqa: E402

from audiornn.runs import load_run_model  # noqa: E402
from audiornn.scoring import score_classes  # noqa: E402

assert keras.backend.backend() == "tensorflow", "run with KERAS_BACKEND=tensorflow"
reference = {"backend": "tensorflow"}
for name in ("legacy_run", "predictor_run", "jax_run"):
    model = load_run_model(Path("tests/data") / name)
    reference[name] = score_classes(model, [reference_classes(model, Path("."))], progress=False)["bits_per_sample"]
Path("tests/data/backend_reference.json").write_text(json.dumps(reference, indent=1) + "\n")
print(reference)
