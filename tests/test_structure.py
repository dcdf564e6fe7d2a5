"""The house: files saved by earlier versions still work, and imports run one way."""

import ast
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from audiornn.generation import generate
from audiornn.runs import load_run_model, read_run_json

REPOSITORY = Path(__file__).resolve().parent.parent
LEGACY_RUN = Path(__file__).resolve().parent / "data" / "legacy_run"


@pytest.mark.tf_only  # TensorFlow's random numbers made the saved audio (on JAX: tests/test_backends.py)
def test_a_run_saved_before_the_step_api_loads_and_generates_the_same_audio(tmp_path):
    # tests/data/legacy_run was written by commit cdc8646 (tests/data/make_legacy_run.py), with its
    # config's "peak" field and the generation code that reached into the layers' kernels.
    run = shutil.copytree(LEGACY_RUN, tmp_path / "run")
    model = load_run_model(run)
    assert model.model_config.laplace_prior and model.model_config.num_layers == 2
    expected = np.load(LEGACY_RUN.parent / "legacy_run_generated.npy")
    audio = generate(model, seconds=0.05, count=2, seed=3, progress=False)
    np.testing.assert_allclose(audio, expected, atol=1e-6)
    from audiornn.config import ModelConfig

    assert ModelConfig.from_saved(read_run_json(run, "config.json")["model"]) == model.model_config


@pytest.mark.tf_only
def test_a_run_saved_before_the_frame_tier_loads_and_generates_the_same_audio(tmp_path):
    # tests/data/predictor_run was written by commit b05676b (tests/data/make_predictor_run.py): the linear
    # predictor, and no frame_size in its config.
    run = shutil.copytree(LEGACY_RUN.parent / "predictor_run", tmp_path / "run")
    assert "frame_size" not in read_run_json(run, "config.json")["model"]
    model = load_run_model(run)
    assert model.model_config.linear_prediction == 4 and model.frame_tier is None
    from audiornn import dsp

    assert model.model_config.prediction_floor == dsp.PREDICTION_MIN_SCALE  # saved before the floor was a setting
    expected = np.load(LEGACY_RUN.parent / "predictor_run_generated.npy")
    np.testing.assert_allclose(generate(model, seconds=0.05, count=2, seed=3, progress=False), expected, atol=1e-6)


def _imports(module):
    """The audiornn modules and the third-party top-level packages that ``module`` imports anywhere."""
    tree = ast.parse((REPOSITORY / "audiornn" / f"{module}.py").read_text())
    ours, theirs = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [node.module.split(".")[0]] if node.module else [alias.name for alias in node.names]
            # "from . import __version__" takes a name from the package, not a module.
            ours.update(name if (REPOSITORY / "audiornn" / f"{name}.py").is_file() else "__init__"
                        for name in names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            theirs.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            theirs.update(alias.name.split(".")[0] for alias in node.names)
    return ours, theirs


def _closure(module):
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_imports(name)[0])
    return seen


def test_training_and_evaluation_do_not_import_each_other():
    assert "evaluation" not in _closure("training")
    assert "training" not in _closure("evaluation")
    for lower in ("runs", "scoring", "generation", "model"):
        assert not {"training", "evaluation", "cli"} & _closure(lower), lower


def test_training_imports_no_plotting():
    # Figures are evaluation's alone. (Keras 3 itself imports matplotlib.pyplot when it loads, for
    # keras.visualization, so a check of sys.modules after "import audiornn.training" cannot tell.)
    modules = _closure("training")
    assert {"runs", "scoring", "model"} <= modules
    assert not [name for name in modules if "matplotlib" in _imports(name)[1]]
    assert "matplotlib" in _imports("evaluation")[1]  # the check can see an import when there is one


def test_only_the_backend_module_imports_tensorflow_or_jax():
    # Everything else is keras.ops: audiornn runs on whichever backend Keras uses (audiornn/backend.py).
    for path in sorted((REPOSITORY / "audiornn").glob("*.py")):
        if path.stem != "backend":
            assert not {"tensorflow", "jax", "jaxlib"} & _imports(path.stem)[1], path.name
    assert {"tensorflow", "jax"} <= _imports("backend")[1]


@pytest.mark.slow
@pytest.mark.tf_only  # (it starts both backends' runs itself: once is enough)
def test_the_suite_runs_on_both_backends_side_by_side_and_shows_each_ones_output_whole(tmp_path):
    """tests/all_backends.py (the README's test command) on a suite of one test that waits for its twin on the
    other backend: it passes only if the two runs go side by side; it fails on JAX, whose status must come back."""
    (tmp_path / "test_twins.py").write_text(textwrap.dedent("""
        import time
        from pathlib import Path

        import keras

        def test_twins():
            mine = keras.backend.backend()
            print("running on", mine)
            Path(mine).write_text("here")
            other = Path("jax" if mine == "tensorflow" else "tensorflow")
            deadline = time.monotonic() + 120
            while not other.exists():
                assert time.monotonic() < deadline, "the other backend's run never came"
                time.sleep(0.1)
            assert mine == "tensorflow", "made to fail on JAX"
    """))
    result = subprocess.run([sys.executable, str(REPOSITORY / "tests" / "all_backends.py"), "test_twins.py", "-s",
                             "-p", "no:cacheprovider", "--rootdir", str(tmp_path)], capture_output=True, text=True,
                            timeout=600, cwd=tmp_path, env=dict(os.environ, AUDIORNN_TESTS_SIDE_BY_SIDE="1"))
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]  # JAX's failure, not lost
    out = result.stdout
    order = ["beside them, on jax", "running on tensorflow", "1 passed", "== tensorflow: exit status 0",
             "== the tests on jax", "running on jax", "made to fail on JAX", "1 failed", "== jax: exit status 1"]
    places = [out.find(text) for text in order]
    assert -1 not in places and places == sorted(places), out[-3000:]
