"""The frame tier: context beyond the lags, carried across chunks and runs, refused where it cannot work."""

import json

import numpy as np
import pytest
from audiornn.cli import main
from audiornn.errors import ParameterError
from audiornn.generation import generate
from audiornn.model import FrameTier, ModelConfig, build_model
from audiornn.runs import load_run_model
from audiornn.scoring import score_classes
from audiornn.stepping import flops_per_sample
from audiornn.training import TrainConfig, train

SMALL = dict(embedding_dim=8, lags=2, dense_units=16, frame_size=8, frame_units=16)


@pytest.mark.slow
def test_the_frame_tier_carries_context_beyond_the_lags():
    """With two lags and a feed-forward sample tier, sample 3 changes the logits 40 samples later only
    through the frame tier."""
    classes = np.random.default_rng(0).integers(0, 256, (1, 64)).astype("int32")
    changed = classes.copy()
    changed[0, 3] = (changed[0, 3] + 100) % 256
    model = build_model(ModelConfig(num_layers=0, linear_prediction=0, **SMALL))  # the predictor reads 128 back

    def late_change():
        return np.abs(np.asarray(model(changed))[0, 40:] - np.asarray(model(classes))[0, 40:]).max()

    assert late_change() > 1e-4
    projection = model.frame_tier.output_projection
    projection.set_weights([np.zeros_like(weight) for weight in projection.get_weights()])
    assert late_change() == 0.0
    # Without a frame tier a feed-forward sample tier cannot be asked for: its context would be the lags alone.
    with pytest.raises(ParameterError, match="needs a frame tier"):
        ModelConfig(num_layers=0, embedding_dim=8, lags=2)


def test_the_frame_tier_steps_once_a_frame_and_as_over_a_sequence():
    tier = FrameTier(frame_size=4, units=8, layers=2, conditioning=3)
    values = np.random.default_rng(1).uniform(-1, 1, (2, 12)).astype("float32")
    conditioning, finals = tier(values)
    assert tuple(conditioning.shape) == (2, 12, 3) and len(finals) == 2
    states = [np.zeros((2, 8), "float32")] * 2
    for frame in range(3):
        stepped, states = tier.step(values[:, 4 * frame:4 * frame + 4], states)
        np.testing.assert_allclose(np.asarray(stepped), np.asarray(conditioning)[:, 4 * frame:4 * frame + 4],
                                   atol=1e-5)
    for final, state in zip(finals, states):
        np.testing.assert_allclose(np.asarray(final), np.asarray(state), atol=1e-5)


@pytest.mark.slow
def test_scoring_in_chunks_and_with_resets_carries_the_frame_tier():
    model = build_model(ModelConfig(num_layers=1, units=16, **SMALL))
    generator = np.random.default_rng(2)
    pieces = [generator.integers(100, 156, 700), generator.integers(100, 156, 500)]
    whole = score_classes(model, pieces, chunk=4000, progress=False)
    chunked = score_classes(model, pieces, chunk=90, progress=False)  # chunks that are not whole frames
    assert chunked["targets"] == whole["targets"] == 1198
    assert chunked["bits_per_sample"] == pytest.approx(whole["bits_per_sample"], abs=1e-4)
    reset = score_classes(model, pieces, reset_every=64, progress=False)
    assert reset["targets"] == whole["targets"] and reset["bits_per_sample"] != whole["bits_per_sample"]


def test_flops_count_the_frame_tier_once_a_frame():
    base = dict(num_layers=1, units=256, embedding_dim=64, lags=32, dense_units=512)
    without = build_model(ModelConfig(**base))
    tiered = build_model(ModelConfig(**base, frame_size=16, frame_units=512))
    # The conditioning widens the sample tier's first layer by 64 inputs; once a frame of 16: the frame
    # GRU (16 values + 512 state to 3 x 512) and its projection to 16 x 64 conditioning values.
    assert flops_per_sample(tiered) == flops_per_sample(without) + 2 * 64 * 768 \
        + (2 * (16 + 512) * 1536 + 2 * 512 * 16 * 64) // 16


@pytest.mark.slow
def test_a_frame_tier_model_trains_resumes_and_generates(sine_dataset, tmp_path):
    run = tmp_path / "run"
    config = ModelConfig(num_layers=0, embedding_dim=8, lags=4, dense_units=32, frame_size=16, frame_units=32)
    schedule = dict(steps_per_epoch=6, batch_size=8, sequence_length=128, warmup_steps=2)
    summary = train(sine_dataset, run, model_config=config, train_config=TrainConfig(epochs=2, **schedule), verbose=0)
    assert summary["carried_state"] and summary["epochs"] == 2
    train(resume=run, overrides={"epochs": 3}, verbose=0)
    history = (run / "history.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in history[1:]] == ["1", "2", "3"]
    model = load_run_model(run)
    assert model.model_config == config and model.frame_tier is not None
    first = generate(model, seconds=0.03, count=2, seed=5, progress=False)
    np.testing.assert_array_equal(first, generate(model, seconds=0.03, count=2, seed=5, progress=False))
    assert first.shape == (2, 240) and np.all(np.isfinite(first))


@pytest.mark.slow
def test_frame_settings_that_cannot_work_are_refused_naming_both_values(sine_dataset, tmp_path, capsys):
    config = ModelConfig(num_layers=1, units=16, **SMALL)
    with pytest.raises(ParameterError, match=r"--sequence-length \(100\) must be a multiple of --frame-size \(8\)"):
        train(sine_dataset, tmp_path / "run", model_config=config,
              train_config=TrainConfig(sequence_length=100, epochs=1), verbose=0)
    assert not (tmp_path / "run").exists()
    with pytest.raises(ParameterError, match="--frame-size .* needs a sequence model; the seed preset"):
        ModelConfig.seed(frame_size=16)
    dataset = ["--dataset", str(sine_dataset.path), "--quiet"]
    assert main(["train", *dataset, "--output", str(tmp_path / "cli"), "--frame-size", "16",
                 "--sequence-length", "100"]) == 2
    assert "--sequence-length (100) must be a multiple of --frame-size (16)" in capsys.readouterr().err
    assert main(["train", *dataset, "--output", str(tmp_path / "cli"), "--preset", "seed", "--frame-size", "16"]) == 2
    assert "--frame-size (16) needs a sequence model" in capsys.readouterr().err
    run = tmp_path / "small"
    assert main(["train", *dataset, "--output", str(run), "--frame-size", "8", "--frame-units", "8", "--units", "8",
                 "--embedding-dim", "4", "--lags", "2", "--dense-units", "8", "--sequence-length", "32",
                 "--batch-size", "4", "--steps-per-epoch", "2", "--epochs", "1"]) == 0
    capsys.readouterr()
    # A resume keeps the model: another frame size is refused with both values, the same one is accepted,
    # and a window that the run's frames do not divide is refused before the run's config is rewritten.
    assert main(["train", "--resume", str(run), "--frame-size", "16", "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "--frame-size (16) differs from the run's" in error and "trained with --frame-size (8)" in error
    before = (run / "config.json").read_text()
    assert main(["train", "--resume", str(run), "--sequence-length", "36", "--quiet"]) == 2
    assert "--sequence-length (36) must be a multiple of --frame-size (8)" in capsys.readouterr().err
    assert (run / "config.json").read_text() == before
    assert main(["train", "--resume", str(run), "--frame-size", "8", "--epochs", "2", "--quiet"]) == 0
    assert json.loads((run / "config.json").read_text())["model"]["frame_size"] == 8
