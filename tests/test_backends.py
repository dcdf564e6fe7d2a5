"""Every Keras backend: saved runs cross between TensorFlow and JAX, the carried state survives JAX's
stateless steps, several JAX devices train data-parallel, JAX runs with TensorFlow absent, and mixed
precision trains on either. The suite runs once per backend (tests/all_backends.py)."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import soundfile
from audiornn.config import ModelConfig, TrainConfig
from audiornn.generation import generate
from audiornn.layers import StateCarry
from audiornn.runs import load_run_model, read_summary
from audiornn.scoring import score_classes
from audiornn.training import compile_model, train

from backend_runs import reference_classes, sine_dataset
from conftest import assert_same_until_a_near_tie

REPOSITORY = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
RUNS = ("legacy_run", "predictor_run", "jax_run")  # trained on TensorFlow, TensorFlow, JAX


@pytest.mark.slow
@pytest.mark.parametrize("name", RUNS)
def test_a_saved_run_scores_as_on_the_backend_that_made_the_reference_and_generates(name):
    reference = json.loads((DATA / "backend_reference.json").read_text())
    model = load_run_model(DATA / name)
    bits = score_classes(model, [reference_classes(model, REPOSITORY)], progress=False)["bits_per_sample"]
    assert bits == pytest.approx(reference[name], abs=1e-4), (keras.backend.backend(), reference["backend"])
    audio = generate(model, seconds=0.05, count=2, seed=3, progress=False)
    assert audio.shape == (2, 400) and np.all(np.isfinite(audio)) and np.abs(audio).max() > 0


@pytest.mark.slow
@pytest.mark.jax_only
def test_a_run_trained_on_jax_generates_the_same_audio_on_jax():
    # Each backend has its own random numbers: a seed repeats its audio on one backend, not across them
    # (TensorFlow's counterpart is tests/test_structure.py's saved runs). On one machine a seed repeats
    # exactly. The stored audio was made on another CPU, whose float rounding can move one draw that sits
    # on the boundary between two classes: the streams then part, so the stored audio must agree up to the
    # first sample where they differ, and there by one μ-law level (a different model or sampler differs
    # at once, and by more).
    model = load_run_model(DATA / "jax_run")
    audio = generate(model, seconds=0.05, count=2, seed=3, progress=False)
    np.testing.assert_array_equal(generate(model, seconds=0.05, count=2, seed=3, progress=False), audio)
    assert_same_until_a_near_tie(audio, np.load(DATA / "jax_run_generated.npy"), model.audio_config)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["predictor_run", "jax_run"])
def test_a_run_from_either_backend_resumes_here(name, tmp_path):
    (tmp_path / "audio").mkdir()
    dataset = sine_dataset(tmp_path / "audio")  # the audio both runs were trained on
    run = shutil.copytree(DATA / name, tmp_path / name)
    config = json.loads((run / "config.json").read_text())  # its dataset, rebuilt here (the same audio)
    config.update(dataset=str(dataset.path), dataset_fingerprint=dataset.metadata["recipe_fingerprint"])
    (run / "config.json").write_text(json.dumps(config))
    state = json.loads((run / "state.json").read_text())
    before = state["epochs_completed"]
    summary = train(resume=run, overrides={"epochs": before + 1}, verbose=0)
    assert summary["epochs"] == before + 1 and np.isfinite(summary["validation"]["bits_per_sample"])
    steps = json.loads((run / "state.json").read_text())["optimizer_steps"]
    assert steps == state["optimizer_steps"] + 5  # the saved optimizer went on: 5 steps an epoch


@pytest.mark.slow
def test_one_fit_batch_leaves_the_carry_holding_that_batchs_last_values():
    model = _small_model()
    carry, _ = StateCarry.attach(model, rows=4)
    rng = np.random.default_rng(0)
    inputs = rng.integers(0, 256, (4, 32)).astype("int32")
    model.fit(inputs, rng.integers(0, 256, (4, 32)).astype("int32"), batch_size=4, epochs=1, verbose=0,
              shuffle=False)
    history = model.model_config.history
    expected = np.asarray(model.values(inputs))[:, -(history - 1):, 0]
    np.testing.assert_allclose(np.asarray(carry.lag_values), expected, atol=1e-6)
    # ... and the recurrent state is the one the batch ended in: not zeros, and what a plain call ends in.
    state = np.asarray(carry.states[0][0])
    assert np.abs(state).max() > 0


def _small_model():
    from audiornn.model import build_model

    model = build_model(ModelConfig(units=8, embedding_dim=4, lags=4, dense_units=8), sequence_length=32)
    compile_model(model, TrainConfig())
    return model


@pytest.mark.slow
def test_mixed_precision_trains_in_bfloat16_with_float32_logits_and_resumes(sine_dataset, tmp_path):
    config = TrainConfig(epochs=1, steps_per_epoch=3, batch_size=8, sequence_length=32, mixed_precision="bfloat16")
    summary = train(sine_dataset, tmp_path / "run", model_config=ModelConfig(units=8, embedding_dim=4, dense_units=8),
                    train_config=config, verbose=0)
    assert np.isfinite(summary["validation"]["bits_per_sample"])
    assert keras.config.dtype_policy().name == "float32"  # the global policy is left as it was
    resumed = train(resume=tmp_path / "run", overrides={"epochs": 2}, verbose=0)
    assert resumed["epochs"] == 2 and np.isfinite(resumed["validation"]["bits_per_sample"])
    model = load_run_model(tmp_path / "run")
    audio = generate(model, seconds=0.02, count=1, seed=0, progress=False)
    assert np.all(np.isfinite(audio))


def test_mixed_precision_computes_the_layers_in_bfloat16_and_the_logits_in_float32():
    from audiornn.training import _dtype_policy

    with _dtype_policy(TrainConfig(mixed_precision="bfloat16")):
        model = _small_model()
    assert model.recurrent[0].compute_dtype == "bfloat16" and model.recurrent[0].variable_dtype == "float32"
    logits = model(np.zeros((2, 32), "int32"))
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"


def _python(script, env, timeout=600):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=timeout, cwd=REPOSITORY, env=env)


@pytest.mark.slow
@pytest.mark.jax_only
def test_two_jax_devices_train_data_parallel(sine_dataset, tmp_path):
    env = dict(os.environ, KERAS_BACKEND="jax", XLA_FLAGS="--xla_force_host_platform_device_count=2",
               PYTHONPATH=str(REPOSITORY))
    result = _python(f"""
        import json
        from audiornn import ModelConfig, TrainConfig
        from audiornn.training import train
        summary = train({str(sine_dataset.path)!r}, {str(tmp_path / "run")!r},
                        model_config=ModelConfig(units=16, embedding_dim=8, dense_units=16),
                        train_config=TrainConfig(epochs=3, steps_per_epoch=10, batch_size=8, sequence_length=32),
                        verbose=0)
        print(json.dumps(summary))
        """, env)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["devices"] == 2 and summary["epochs"] == 3
    assert summary["validation"]["bits_per_sample"] < 7.5  # it learned (8 bits is knowing nothing)
    assert read_summary(tmp_path / "run")["epochs"] == 3


@pytest.mark.slow
@pytest.mark.jax_only
def test_without_tensorflow_installed_audiornn_runs_on_jax(tmp_path):
    # TensorFlow made unimportable, KERAS_BACKEND unset: audiornn picks JAX, and the command line trains,
    # generates and scores; --tensorboard is refused in one line.
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(textwrap.dedent("""
        import importlib.machinery, sys
        class NoTensorFlow(importlib.machinery.PathFinder):
            @classmethod
            def find_spec(cls, name, path=None, target=None):
                if name == "tensorflow" or name.startswith("tensorflow."):
                    return None  # as if it were not installed
                return super().find_spec(name, path, target)
        sys.meta_path[:] = [NoTensorFlow if finder is importlib.machinery.PathFinder else finder
                            for finder in sys.meta_path]
        """))
    env = {key: value for key, value in os.environ.items() if key != "KERAS_BACKEND"}
    env["PYTHONPATH"] = os.pathsep.join([str(blocker), str(REPOSITORY)])
    run = tmp_path / "run"
    result = _python(f"""
        import importlib.util, sys
        from audiornn.cli import main
        assert importlib.util.find_spec("tensorflow") is None
        code = main(["train", "data", "--output", {str(run)!r}, "--epochs", "1", "--steps-per-epoch", "3",
                     "--units", "16", "--dense-units", "16", "--quiet"])
        assert code == 0, code
        assert main(["generate", "--model", {str(run)!r}, "--seconds", "0.1", "--output",
                     {str(tmp_path / "out.wav")!r}, "--quiet"]) == 0
        assert main(["eval", "--model", {str(run)!r}, "--output", {str(tmp_path)!r}, "--quiet"]) == 0
        assert main(["train", "--dataset", {str(run / "dataset")!r}, "--output", {str(tmp_path / "tb")!r},
                     "--tensorboard", "--quiet"]) == 2
        import keras
        print(keras.backend.backend(), "tensorflow" in sys.modules)
        """, env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "jax False"
    assert "TensorFlow is not installed" in result.stderr and not (tmp_path / "tb").exists()
    assert (tmp_path / "out.wav").stat().st_size > 1000


@pytest.mark.slow
def test_only_training_imports_tensorflow_beside_jax(sine_dataset, sine_run, tmp_path):
    # Keras imports an installed TensorFlow on any backend to seed training and to save a model; generating,
    # vocoding and scoring need none of it, and on JAX were paying its import (2 to 6 s a process) for nothing.
    run, _ = sine_run
    clip = tmp_path / "clip.wav"
    audio, rate = soundfile.read(REPOSITORY / "data" / "demo-thanks.wav")
    soundfile.write(clip, audio[rate // 4:rate // 2], rate)
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = _python(f"""
        import sys
        from audiornn.cli import main
        assert main(["generate", "--model", {str(run)!r}, "--seconds", "0.05", "--output",
                     {str(tmp_path / "out.wav")!r}, "--quiet"]) == 0
        assert main(["vocode", {str(clip)!r}, "--model", "vocoder", "--output", {str(tmp_path / "voc.wav")!r},
                     "--quiet"]) == 0
        assert main(["eval", "--model", {str(run)!r}, "--audio", {str(clip)!r}, "--output", {str(tmp_path)!r},
                     "--quiet"]) == 0
        print("imported:", "tensorflow" in sys.modules)
        assert main(["train", "--dataset", {str(sine_dataset.path)!r}, "--output", {str(tmp_path / "run")!r},
                     "--epochs", "1", "--steps-per-epoch", "2", "--units", "8", "--dense-units", "8", "--lags", "2",
                     "--batch-size", "4", "--sequence-length", "16", "--quiet"]) == 0
        print("imported:", "tensorflow" in sys.modules)
        """, env)
    assert result.returncode == 0, result.stderr[-3000:]
    tensorflow = keras.backend.backend() == "tensorflow"
    assert [line for line in result.stdout.splitlines() if line.startswith("imported:")] \
        == [f"imported: {tensorflow}", "imported: True"], result.stdout
    # and where it is imported beside JAX, its start-up lines are kept off the terminal as the backend's are
    assert not [noise for noise in ("E0000", "I0000", "W0000", "cuInit", "absl") if noise in result.stderr], \
        result.stderr


@pytest.mark.jax_only
def test_training_on_several_machines_is_refused_on_jax_in_one_line(sine_dataset, tmp_path, capsys, monkeypatch):
    from audiornn.cli import main

    for extra, config in ((["--distribute", "multiworker"], None), ([], '{"cluster": {}, "task": {}}')):
        if config:
            monkeypatch.setenv("TF_CONFIG", config)
        assert main(["train", "--dataset", str(sine_dataset.path), "--output", str(tmp_path / "run"), *extra,
                     "--quiet"]) == 2
        error = capsys.readouterr().err.strip()
        assert "TensorFlow's MultiWorkerMirroredStrategy" in error and len(error.splitlines()) == 1
        assert not (tmp_path / "run").exists()


def test_mirrored_over_the_one_device_of_a_cpu_says_it_trains_on_it_alone(caplog):
    from audiornn.backend import distribution

    with caplog.at_level("WARNING", logger="audiornn"):
        distribution("mirrored")
    said = " ".join(record.getMessage() for record in caplog.records)
    assert "--distribute mirrored: one device is visible" in said  # (this process has not split its CPU)
    assert ("XLA_FLAGS" if keras.backend.backend() == "jax" else "set_logical_device_configuration") in said
    caplog.clear()
    with caplog.at_level("WARNING", logger="audiornn"):
        distribution("auto")  # (auto asks for nothing: it says nothing)
    assert "one device is visible" not in caplog.text


@pytest.mark.slow
@pytest.mark.tf_only
def test_vocoding_inputs_of_several_lengths_does_not_warn_of_retracing(capfd, caplog):
    """A notebook vocoding inputs of several lengths got "5 out of the last 9 calls to functools.partial(<function
    frame_rate ...>) triggered tf.function retracing": the loops compile once a shape, by design."""
    import audiornn
    from audiornn.features import format_frames

    model = audiornn.load_model("vocoder-16k")
    seconds = np.arange(16000 * 14) / 16000
    speechless = 0.1 * np.sin(2 * np.pi * 150 * seconds) * (1 + np.sin(2 * np.pi * 3 * seconds))
    frames = format_frames(speechless, model.feature_config)
    with caplog.at_level("WARNING"):
        for length in (7, 13):  # 2 segments, then 4
            audiornn.vocode(model, [frames[:length * 16000 // 256]], seed=2, progress=False)
    assert "retracing" not in capfd.readouterr().err + caplog.text


def test_jax_lets_go_of_its_compiled_programs_when_they_crowd_the_process(caplog, monkeypatch):
    # XLA's programs outlive their models in JAX's caches, each holding memory maps: a process that compiled
    # hundreds crashed (a segmentation fault in XLA's next compilation) once it held the kernel's
    # vm.max_map_count of them; past a share of it, they are let go (TensorFlow's go with their functions)
    from audiornn import backend

    if keras.backend.backend() == "tensorflow":
        assert not backend.release_compiled_if_crowded(share=0.0)
        return
    import jax

    program = jax.jit(lambda values: values + 1)
    program(np.ones(3))
    assert not backend.release_compiled_if_crowded(share=1.0)  # a test process is far from the limit
    assert program._cache_size() == 1
    monkeypatch.setitem(backend._RELEASED, "after", None)
    with caplog.at_level("INFO", logger="audiornn"):
        assert backend.release_compiled_if_crowded(share=0.0)
    assert program._cache_size() == 0 and "let go of JAX's compiled programs (this process held" in caplog.text
    np.testing.assert_array_equal(program(np.ones(3)), np.full(3, 2.0))  # what is used again compiles again
    # and not again until the process holds a tenth of the limit more (maps held by something else, a memory-mapped
    # dataset, would have every call compile everything again)
    assert not backend.release_compiled_if_crowded(share=0.0) and program._cache_size() == 1


def test_tensorflows_retracing_note_is_left_out_and_its_other_warnings_are_not(caplog):
    # A notebook's third train() printed "5 out of the last 7 calls to <function ...> triggered tf.function
    # retracing": each model traces its own functions, by design
    import logging

    from audiornn import backend

    backend.start_quietly()
    with caplog.at_level("WARNING", logger="tensorflow"):
        logging.getLogger("tensorflow").warning("5 out of the last 7 calls to <function f at 0x7f> triggered "
                                                "tf.function retracing. Tracing is expensive")
        logging.getLogger("tensorflow").warning("another warning of TensorFlow's")
    assert "retracing" not in caplog.text and "another warning of TensorFlow's" in caplog.text


@pytest.mark.slow
@pytest.mark.jax_only
def test_an_eager_step_on_jax_compiles_nothing_new_once_warm(caplog):
    """A model's eager step with conds (the predictor refitted every 3 samples, a frame tier every 4) decides
    them in Python on JAX (backend.cond): JAX's lax.cond called eagerly compiled both branches again on every
    step, 0.7 s a step. Warm, a step compiles nothing, whichever branch it takes; traced, the cond stays a cond
    (the compiled loop of generation)."""
    import jax
    from audiornn import backend
    from audiornn.model import build_model

    model = build_model(ModelConfig(cell="gru", num_layers=1, units=8, embedding_dim=4, lags=2, dense_units=8,
                                    linear_prediction=4, prediction_window=8, prediction_hop=3, frame_size=4,
                                    frame_units=8))
    classes = np.random.default_rng(0).integers(0, 256, (2, 30)).astype("int32")
    states = model.initial_states(2)
    for step in range(12):  # warm: every branch taken, every position of the hop and the frame seen
        logits, states = model.step(classes[:, step], states)
    jax.config.update("jax_log_compiles", True)
    try:
        with caplog.at_level("WARNING", logger="jax"):
            stepped = []
            for step in range(12, 24):
                logits, states = model.step(classes[:, step], states)
                stepped.append(np.asarray(logits))
    finally:
        jax.config.update("jax_log_compiles", False)
    assert not [record for record in caplog.records if "ompil" in record.getMessage()], caplog.text[-2000:]
    np.testing.assert_allclose(np.stack(stepped, axis=1), np.asarray(model(classes[:, :24]))[:, 12:], atol=1e-4,
                               rtol=2e-5)
    traced = jax.jit(lambda flag: backend.cond(flag, lambda: flag * 2, lambda: flag * 3))
    assert int(traced(np.int32(1))) == 2 and int(traced(np.int32(0))) == 0 and int(traced(np.int32(5))) == 10


def test_compiled_functions_are_traced_as_written_on_both_backends(gru_model):
    # TensorFlow's autograph rewrote every function a loop calls before tracing it (13 of the 19 s of the first
    # vocode of the 16 kHz vocoder); without it, as on JAX, Python's `if` on a traced value is refused
    from audiornn import backend

    compiled = backend.compiled(lambda value: value + 1.0 if value > 0 else value - 1.0, gru_model)
    with pytest.raises(TypeError):
        compiled(keras.ops.convert_to_tensor(1.0))
    twice = backend.compiled(lambda value: keras.ops.where(value > 0, value + 1.0, value - 1.0), gru_model)
    assert float(twice(keras.ops.convert_to_tensor(1.0))) == 2.0


CACHE_SCRIPT = textwrap.dedent("""
    import jax, numpy as np
    hits = []
    jax.monitoring.register_event_listener(lambda event, **_: hits.append(event) if "cache_hits" in event else None)
    import audiornn
    from audiornn import backend
    from audiornn.config import ModelConfig
    from audiornn.model import build_model
    import keras
    keras.utils.set_random_seed(4)
    model = build_model(ModelConfig(units=8, embedding_dim=4, lags=2, dense_units=8))
    audio = audiornn.generate(model, seconds=0.01, seed=1, progress=False)
    print("KEPT", backend.use_compile_cache(), len(hits), float(np.abs(audio).sum()))
""")


@pytest.mark.slow
@pytest.mark.jax_only
def test_a_new_process_on_jax_reads_back_the_programs_an_earlier_one_compiled(tmp_path):
    """A new process's load and first call compiled everything again: 12 to 14 s of a 2-core machine before a first
    short utterance of vocoder-16k came out. JAX's programs are kept in audiornn's cache folder (under
    XDG_CACHE_HOME here), apart for each version and CPU, capped in size, and read back by the next process."""
    from audiornn import backend
    from jax import __version__

    def run(**settings):
        # (the suite's own cache settings left out, its minimum compile time, 0.5 s, too: audiornn's is tested)
        environment = {key: value for key, value in os.environ.items() if key not in (
            "JAX_COMPILATION_CACHE_DIR", "AUDIORNN_COMPILE_CACHE", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS")}
        environment.update(XDG_CACHE_HOME=str(tmp_path / "cache"), **settings)
        done = subprocess.run([sys.executable, "-c", CACHE_SCRIPT], env=environment, capture_output=True,
                              text=True, cwd=tmp_path, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        kept, hits, total = done.stdout.split("KEPT ")[1].split()
        return kept, int(hits), total

    def programs(where):
        return {path.name: path.stat().st_mtime_ns for path in where.glob("*-cache")}

    folder = tmp_path / "cache" / "audiornn" / f"jax-{__version__}-{backend.machine_tag()}"
    stale = folder.parent / "jax-0.0.1-0123456789ab"  # an earlier JAX's, unused for a month: removed
    stale.mkdir(parents=True)
    for path in ((stale / "entry-cache"), stale):
        path.touch()
        os.utime(path, (time.time() - 40 * 86400,) * 2)
    kept, hits, first = run()
    assert kept == str(folder) and hits == 0 and not stale.exists()
    written = programs(folder)
    assert written and len(list(folder.glob("*-atime"))) == len(written)  # the cap's bookkeeping (filelock)
    kept, hits, again = run()
    assert kept == str(folder) and again == first and hits >= len(written)  # read back: the same audio
    assert programs(folder).items() >= written.items()  # none written again (one near 0.1 s may be added)
    # A folder named: the same folder for each version and CPU inside it
    assert run(AUDIORNN_COMPILE_CACHE=str(tmp_path / "elsewhere"))[0] == str(tmp_path / "elsewhere" / folder.name)
    # None wanted: nothing kept, nothing read
    shutil.rmtree(folder)
    assert run(AUDIORNN_COMPILE_CACHE="0")[:2] == ("None", 0) and not folder.exists()
    # The user's own cache for JAX is left as it is
    kept, hits, _ = run(JAX_COMPILATION_CACHE_DIR=str(tmp_path / "own"), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    assert kept == "None" and list((tmp_path / "own").iterdir()) and not folder.exists()


def test_folders_of_compiled_programs_unused_for_a_month_are_removed(tmp_path):
    from audiornn import backend

    current = tmp_path / f"jax-0.9.9-{backend.machine_tag()}"
    folders = {name: tmp_path / name for name in ("jax-0.4.1-0123456789ab", "jax-0.5.0-0123456789ab",
                                                   "jax-0.4.1-fedcba987654", "jax-notes", "other")}
    for folder in [current, *folders.values()]:
        folder.mkdir()
        (folder / "entry-cache").write_bytes(b"x")
    month = time.time() - 31 * 86400
    for name in ("jax-0.4.1-0123456789ab", "jax-notes", "other", "jax-0.4.1-fedcba987654"):
        for path in (folders[name] / "entry-cache", folders[name]):
            os.utime(path, (month, month))
    os.utime(current, (month, month))  # (this process's own folder is kept, however old)
    (folders["jax-0.4.1-fedcba987654"] / "entry-atime").write_bytes(b"")  # read a moment ago by another JAX
    # a user's own folders of like names (a cache folder named by AUDIORNN_COMPILE_CACHE may lie among them)
    for name, inside in (("jax-export-202401011200", "results.csv"), ("jax-thesis-deadbeefcafe", "sub/entry-cache")):
        (tmp_path / name / inside).parent.mkdir(parents=True)
        (tmp_path / name / inside).write_text("mine")
        for path in (tmp_path / name / inside, *(tmp_path / name / inside).parents):
            if path != tmp_path and tmp_path in path.parents:
                os.utime(path, (month, month))
    assert backend.forget_unused_compile_caches(current) == [folders["jax-0.4.1-0123456789ab"]]
    assert {path.name for path in tmp_path.iterdir()} == {current.name, *folders, "jax-export-202401011200",
                                                          "jax-thesis-deadbeefcafe"} - {"jax-0.4.1-0123456789ab"}


def test_compiled_programs_are_kept_only_where_they_can_be(tmp_path, monkeypatch):
    from audiornn import backend

    tag = backend.machine_tag()
    assert len(tag) == 12 and int(tag, 16) >= 0 and backend.machine_tag() == tag
    blocked = tmp_path / "a file"
    blocked.write_text("")
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    monkeypatch.delenv("TF_XLA_FLAGS", raising=False)
    if keras.backend.backend() == "tensorflow":  # not kept on TensorFlow (a full home would fail every call)
        monkeypatch.setenv("AUDIORNN_COMPILE_CACHE", str(tmp_path / "cache"))
        monkeypatch.setitem(backend._COMPILE_CACHE, "decided", False)
        assert backend.use_compile_cache() is None and "TF_XLA_FLAGS" not in os.environ
        assert not (tmp_path / "cache").exists()
        return
    import jax

    own = jax.config.jax_compilation_cache_dir  # (the suite's: set before JAX started)
    jax.config.update("jax_compilation_cache_dir", None)
    try:
        # A folder that cannot be made, or no home folder to be found: each process compiles, as before
        for setting, failure in ((str(blocked / "cache"), None), ("", RuntimeError("could not determine the home "
                                                                                   "directory"))):
            monkeypatch.setenv("AUDIORNN_COMPILE_CACHE", setting)
            monkeypatch.setitem(backend._COMPILE_CACHE, "decided", False)
            if failure is not None:
                import platformdirs

                monkeypatch.setattr(platformdirs, "user_cache_dir", lambda *_: (_ for _ in ()).throw(failure))
            assert backend.use_compile_cache() is None and jax.config.jax_compilation_cache_dir is None
        monkeypatch.setenv("AUDIORNN_COMPILE_CACHE", str(tmp_path))
        assert backend.use_compile_cache() is None  # decided once a process
    finally:
        jax.config.update("jax_compilation_cache_dir", own)
