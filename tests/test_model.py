"""The network: shapes, configs, and save/load equality of every cell and the seed preset."""


import keras
import numpy as np
import pytest
from audiornn import AudioConfig
from audiornn.errors import ParameterError
from audiornn.model import AudioRNN, ModelConfig, StateCarry, build_model
from audiornn.stepping import flops_per_sample

from conftest import CELLS, config_id, stepped_logits

CONFIGS = [ModelConfig(cell="gru", num_layers=2, units=24, embedding_dim=8),
           ModelConfig(cell="lstm", num_layers=1, units=24, embedding_dim=8, dropout=0.1, dense_units=12, laplace_prior=True),
           ModelConfig(cell="lstmp", num_layers=2, units=24, projection_units=10, embedding_dim=8),
           ModelConfig(cell="gru", num_layers=1, units=24, embedding_dim=8, lags=4, linear_prediction=6,
                       prediction_window=16, prediction_hop=2),
           ModelConfig(num_layers=0, embedding_dim=8, lags=4, dense_units=12, frame_size=11, frame_units=8),
           ModelConfig.seed(units=16, window=40, embedding_dim=8)]


def config_name(config):
    return f"{config.preset}-{config.cell if config.num_layers else 'ff'}" \
        + ("-lp" if config.linear_prediction else "") + ("-frames" if config.frame_size else "")


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS, ids=config_name)
def test_shapes_and_output_range(config):
    model = build_model(config, AudioConfig(mu=127))
    length = config.window if config.many_to_one else 33
    classes = np.random.default_rng(0).integers(0, 128, (3, length)).astype("int32")
    logits = np.asarray(model(classes))
    assert logits.shape == ((3, 128) if config.many_to_one else (3, 33, 128))
    assert np.all(np.isfinite(logits))
    probabilities = np.asarray(keras.ops.softmax(logits))
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)
    if not config.many_to_one:
        # Causal: changing a later input leaves earlier outputs alone.
        changed = classes.copy()
        changed[:, 20] = (changed[:, 20] + 1) % 128
        np.testing.assert_allclose(np.asarray(model(changed))[:, :20], logits[:, :20], atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS, ids=config_name)
def test_save_and_load_give_equal_outputs_and_configs(config, tmp_path):
    audio = AudioConfig(sample_rate=16000, mu=255, preemphasis=0.9, level=0.3)
    model = build_model(config, audio)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, AudioRNN)
    assert loaded.model_config == config and loaded.audio_config == audio
    length = config.window if config.many_to_one else 55
    classes = np.random.default_rng(1).integers(0, 256, (2, length)).astype("int32")
    np.testing.assert_allclose(np.asarray(loaded(classes)), np.asarray(model(classes)), atol=1e-6)


@pytest.mark.slow
def test_a_model_makes_its_weights_from_shapes_alone_when_built_or_loaded(tmp_path, monkeypatch):
    # Called on arrays, each of the build's operations ran alone (on JAX each compiled: 13 s to load vocoder-16k)
    seen, call = [], AudioRNN.call
    monkeypatch.setattr(AudioRNN, "call", lambda self, inputs, *rest, **keywords: seen.append(inputs) or
                        call(self, inputs, *rest, **keywords))
    model = build_model(ModelConfig(units=8, embedding_dim=4, lags=4, dense_units=8, frame_size=4, frame_units=8),
                        sequence_length=16)
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert len(seen) == 3  # built, traced at the training window's length, loaded
    assert not any(isinstance(inputs, np.ndarray) for inputs in seen)  # symbolic values (shapes), not arrays
    classes = np.random.default_rng(1).integers(0, 256, (2, 16)).astype("int32")
    np.testing.assert_array_equal(np.asarray(loaded(classes)), np.asarray(model(classes)))
    with pytest.raises(ValueError, match="^a window of 18 samples is not a whole number of frames of 4 samples$"):
        build_model(ModelConfig(units=8, embedding_dim=4, lags=4, dense_units=8, frame_size=4, frame_units=8),
                    sequence_length=18)


def test_lstmp_state_is_projected():
    model = build_model(ModelConfig(cell="lstmp", num_layers=1, units=32, projection_units=12))
    cell = model.recurrent[0].cell
    assert cell.state_size == [12, 32]
    assert tuple(cell.recurrent_kernel.shape) == (12, 128)


def test_flops_per_sample_counts_the_matrices():
    model = build_model(ModelConfig(num_layers=2, units=256, embedding_dim=64, lags=32, laplace_prior=False, dense_units=0,
                                    linear_prediction=0))
    # Layer 1: (64 + 32 + 256) x 768, layer 2: (256 + 256) x 768, logits 256 x 256; x 2 for multiply-add.
    assert flops_per_sample(model) == 2 * ((64 + 32 + 256) * 768 + 512 * 768 + 256 * 256)
    wide = build_model(ModelConfig(num_layers=1, units=256, embedding_dim=64, lags=32, dense_units=512,
                                   linear_prediction=0))
    # The dense layer 256 x 512, then the logits and the Laplace prior's two outputs from its 512.
    assert flops_per_sample(wide) == 2 * ((64 + 32 + 256) * 768 + 256 * 512 + 512 * 256 + 512 * 2)
    # The predictor's two inputs widen the first layer; its fit (17 lags over 128 values, Levinson) once a hop.
    predictor = build_model(ModelConfig(num_layers=1, units=256, embedding_dim=64, lags=32, dense_units=512,
                                        linear_prediction=16, prediction_window=128, prediction_hop=4))
    assert flops_per_sample(predictor) == \
        flops_per_sample(wide) + 2 * 2 * 768 + (2 * 128 * 17 + 2 * 16 * 16) // 4 + 2 * 16


@pytest.mark.parametrize("values, message", [
    ({"cell": "rnn"}, "cell must be one of"),
    ({"units": 0}, "units must be a positive integer"),
    ({"num_layers": -1}, "--layers must be 0 or a positive integer"),
    ({"num_layers": 0}, r"--layers \(0\), a feed-forward sample tier, needs a frame tier"),
    ({"frame_size": 1}, "--frame-size must be 0 .* or from 2 to 1024"),
    ({"frame_size": 16, "frame_units": 0}, "--frame-units must be a positive integer"),
    ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\)"),
    ({"preset": "wavenet"}, "preset must be one of"),
    ({"laplace_prior": "yes"}, "laplace_prior must be true or false, got 'yes'"),
    ({"dense_units": -1}, "--dense-units must be 0 or a positive integer"),
])
def test_model_config_is_validated(values, message):
    with pytest.raises(ParameterError, match=message):
        ModelConfig(**values)


@pytest.mark.slow
@pytest.mark.parametrize("cell, predictor", [("gru", dict(linear_prediction=0)), ("lstm", dict(linear_prediction=0)),
                                             ("lstmp", dict(linear_prediction=0)),
                                             ("gru", dict(linear_prediction=6, prediction_window=30, prediction_hop=5)),
                                             ("gru", dict(frame_size=5, frame_units=12, frame_layers=2,
                                                          linear_prediction=0)),
                                             ("gru", dict(num_layers=0, frame_size=5, frame_units=12,
                                                          linear_prediction=0))])
def test_a_carried_state_continues_the_sequence_exactly(cell, predictor):
    """Two training calls with a carry equal one call on the whole sequence."""
    config = ModelConfig(cell=cell, units=16, embedding_dim=8, lags=4, **({"num_layers": 1} | predictor))
    model = build_model(config, AudioConfig())
    classes = np.random.default_rng(0).integers(0, 256, size=(3, 40)).astype("int32")
    whole = np.asarray(model(classes, training=False))
    training_carry, validation_carry = StateCarry.attach(model, rows=3)
    assert isinstance(training_carry, StateCarry) and model.state_carry is training_carry
    first = np.asarray(model(classes[:, :25], training=True))
    second = np.asarray(model(classes[:, 25:], training=True))
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-5)
    # Inference calls continue with their own carry, the same way.
    model(classes[:, :25], training=False)
    np.testing.assert_allclose(np.asarray(model(classes[:, 25:], training=False)), whole[:, 25:], atol=1e-5)
    training_carry.reset()
    np.testing.assert_allclose(np.asarray(model(classes[:, :25], training=True)), whole[:, :25], atol=1e-5)
    # Detached, every call starts cold again.
    StateCarry.detach(model)
    assert model.state_carry is None and model.validation_carry is None
    cold = np.asarray(model(classes[:, 25:], training=False))
    np.testing.assert_allclose(np.asarray(model(classes[:, 25:], training=True)), cold, atol=1e-6)
    assert not np.allclose(cold, whole[:, 25:], atol=1e-3)


def test_the_laplace_prior_is_on_by_default_and_older_files_load_as_they_were():
    config = ModelConfig(num_layers=1, units=16, embedding_dim=8, lags=4)
    assert config.laplace_prior and not ModelConfig.seed().laplace_prior
    model = build_model(config, AudioConfig())
    assert model.peak is not None and "peak" in {layer.name for layer in model.layers}
    saved = build_model(ModelConfig(num_layers=1, units=16, embedding_dim=8, lags=4, laplace_prior=False,
                                    linear_prediction=0),
                        AudioConfig()).get_config()
    del saved["model_config"]["laplace_prior"]  # as written before the prior existed
    restored = AudioRNN.from_config(saved)
    assert restored.peak is None and restored.model_config.laplace_prior is False
    saved["model_config"]["peak"] = True  # as written while it was called the peak
    restored = AudioRNN.from_config(saved)
    assert restored.peak is not None and restored.model_config.laplace_prior is True


def test_the_seed_preset_keeps_the_original_layers_whatever_the_defaults():
    # The default model has a dense layer before the logits; the original had none.
    assert ModelConfig().dense_units and not ModelConfig.seed().dense_units
    model = build_model(ModelConfig.seed(units=8, window=16, embedding_dim=4))
    assert model.dense is None and model.peak is None
    assert [layer.name for layer in model.recurrent] == ["gru_0", "gru_1"]


@pytest.mark.slow
@pytest.mark.parametrize("config", CELLS, ids=config_id)
def test_step_by_step_logits_equal_the_sequence_model(config):
    model = build_model(config)
    classes = np.random.default_rng(0).integers(0, 256, (3, 40)).astype("int32")
    stepped, _ = stepped_logits(model, classes)
    # (float32: the predictor's Levinson-Durbin rounds differently over a sequence than in a step)
    np.testing.assert_allclose(stepped, np.asarray(model(classes)), atol=1e-4, rtol=2e-5)
    # The folded first-GRU table is only a faster way to the same step.
    states = model.initial_states(3)
    without = model.step(classes[:, 0], states, constants={})[0]
    np.testing.assert_allclose(np.asarray(without), stepped[:, 0], atol=1e-5)


def test_hold_repeats_each_step_for_its_hop_as_repeat_does():
    from audiornn.layers import hold

    rng = np.random.default_rng(0)
    for shape in ((2, 5), (2, 5, 3), (1, 1, 4)):
        values = rng.normal(size=shape).astype("float32")
        held = keras.ops.convert_to_numpy(hold(keras.ops.convert_to_tensor(values), 4))
        np.testing.assert_array_equal(held, np.repeat(values, 4, axis=1))
