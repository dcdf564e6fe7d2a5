"""The loop over time (audiornn.stepping): priming, chunks without seams, shards, the draw, compiled once."""

import numpy as np
import pytest
from audiornn.generation import generate
from audiornn.model import ModelConfig, build_model
from audiornn.stepping import SampleStream, StreamGroup

from conftest import CELLS, config_id, stepped_logits


@pytest.mark.slow
@pytest.mark.parametrize("config", CELLS, ids=config_id)
def test_priming_sets_the_same_state_as_the_sequence_model(config):
    model = build_model(config)
    classes = np.random.default_rng(1).integers(0, 256, (2, 40)).astype("int32")
    stream = SampleStream(model, count=2)
    stream.prime(classes[:, :23])  # a length that no frame or hop divides
    # After the prime, the next logits are those of the full model at position 23.
    continued = stepped_logits(model, classes[:, 22:24], stream.states)[0][:, 1]
    np.testing.assert_allclose(continued, np.asarray(model(classes))[:, 23], atol=1e-4, rtol=2e-5)


@pytest.mark.slow
@pytest.mark.parametrize("predictor", [{}, dict(linear_prediction=8, prediction_window=20, prediction_hop=3),
                                       dict(frame_size=8, frame_units=16)],
                         ids=["gru", "gru-lp8-hop3", "gru-frames8"])
def test_chunk_boundaries_do_not_change_the_output(gru_model, predictor):
    model = build_model(ModelConfig(num_layers=2, units=32, embedding_dim=8, **predictor)) if predictor else gru_model
    whole = generate(model, seconds=0.05, count=2, seed=3, chunk_seconds=1.0, progress=False)
    # Chunks of 98 samples: not a multiple of the predictor's hop or of a frame.
    chunked = generate(model, seconds=0.05, count=2, seed=3, chunk_seconds=0.0123, progress=False)
    np.testing.assert_array_equal(whole, chunked)
    assert whole.shape == (2, 400)
    assert not np.array_equal(whole[0], whole[1])  # the streams are different


@pytest.mark.slow
def test_a_last_shorter_chunk_runs_in_the_loop_compiled_for_the_full_chunks(gru_model, monkeypatch):
    from audiornn import stepping
    from audiornn.stepping import loop_size

    drawn, traced = [], []
    sample, loop = SampleStream.sample, stepping._sample_loop
    monkeypatch.setattr(SampleStream, "sample", lambda self, length, *rest: drawn.append(length) or
                        sample(self, length, *rest))
    # Each trace of the loop is a compilation (TensorFlow also compiles again for each new size, untraced)
    monkeypatch.setattr(stepping, "_sample_loop", lambda *arguments, **keywords: traced.append(1) or
                        loop(*arguments, **keywords))
    gru_model.compiled_loops.clear()
    outputs = [generate(gru_model, seconds=seconds, seed=2, chunk_seconds=0.1, progress=False)
               for seconds in (0.13, 0.1371, 0.119, 0.0015)]
    assert [output.shape[1] for output in outputs] == [1040, 1097, 952, 12]
    # Chunks of 800 samples, then the rest as it is, each in the one loop compiled for 1024
    assert drawn == [800, 240, 800, 297, 800, 152, 12]
    assert [loop.sizes for loop in gru_model.compiled_loops.values() if hasattr(loop, "sizes")] == [[1024]]
    assert len(traced) == 1
    np.testing.assert_array_equal(outputs[1][:, :1040], outputs[0])  # the same stream, however long
    sizes = []
    assert [loop_size(length, sizes, 80) for length in (80, 800, 880, 7920, 8000, 81)] == \
        [80, 1280, 1280, 10240, 10240, 1280]
    assert sizes == [80, 1280, 10240]


@pytest.mark.slow
@pytest.mark.parametrize("frames", [0, 8], ids=["gru", "gru-frames8"])
def test_streams_split_across_threads_sample_what_one_batch_would(gru_model, frames):
    model = build_model(ModelConfig(num_layers=1, units=16, embedding_dim=8, frame_size=frames, frame_units=16)) \
        if frames else gru_model
    one, three = (StreamGroup(model, count=6, seed=2, shards=shards) for shards in (1, 3))
    assert len(three.shards) == 3
    primer = np.random.default_rng(4).integers(0, 256, (6, 12))
    one.prime(primer)
    three.prime(primer)
    np.testing.assert_array_equal(one.sample(30), three.sample(30))
    np.testing.assert_array_equal(one.sample(7), three.sample(7))
    three.close()


def test_a_seed_reproduces_and_another_seed_differs(gru_model):
    first = generate(gru_model, seconds=0.02, seed=11, progress=False)
    assert np.array_equal(first, generate(gru_model, seconds=0.02, seed=11, progress=False))
    assert not np.array_equal(first, generate(gru_model, seconds=0.02, seed=12, progress=False))


def test_a_label_for_a_model_without_labels_is_refused_in_one_line(gru_model):
    from audiornn.errors import ParameterError

    for streams in (SampleStream(gru_model, count=2), StreamGroup(gru_model, count=2)):
        with pytest.raises(ParameterError, match="trained without labels"):
            streams.set_label(None)
        with pytest.raises(ParameterError, match="trained without labels"):
            streams.set_label("en")


def test_temperature_zero_is_argmax(gru_model):
    stream = SampleStream(gru_model, count=1, temperature=0)
    chosen = stream.sample(12)[0].astype("int32")
    silence = 128
    inputs = np.concatenate([[silence], chosen[:-1]])[None, :]
    expected = np.asarray(gru_model(inputs)).argmax(axis=-1)[0]
    np.testing.assert_array_equal(chosen, expected)


def test_a_tail_is_never_drawn_and_the_rest_keep_their_odds():
    from audiornn.generation import choose

    # 40,000 streams, one draw each: two likely classes and a few improbable ones.
    probabilities = np.full(256, 1e-12)
    probabilities[[10, 20]] = 0.6, 0.396
    probabilities[[30, 40, 50, 60]] = 0.001
    logits = np.log(np.tile(probabilities / probabilities.sum(), (40_000, 1))).astype("float32")

    def counts(tail):
        chosen = np.asarray(choose(logits, seed=np.int64(3), position=np.int64(0), temperature=1.0, tail=tail))
        return np.bincount(chosen, minlength=256)

    plain, cut = counts(0.0), counts(0.002)
    assert plain[[30, 40, 50, 60]].sum() > 80  # 160 expected: drawn at their odds without a tail
    assert cut[[30, 40, 50, 60]].sum() == 0 and cut[[10, 20]].sum() == 40_000
    # What is left keeps its odds: (0.6 - 0.002) : (0.396 - 0.002).
    assert abs(cut[10] / 40_000 - 0.598 / 0.992) < 0.01


@pytest.mark.parametrize("classes", [256, 250, 16, 2])
def test_the_two_level_inverse_cdf_draws_the_class_whose_running_sum_passes_the_threshold(classes):
    from audiornn.stepping import inverse_cdf

    generator = np.random.default_rng(classes)
    weights = generator.exponential(size=(3000, classes)) ** 4  # a few classes hold most of the weight
    weights[generator.random(weights.shape) < 0.3] = 0.0  # and some none (a tail's work)
    weights[:, 0] += 1e-3  # every row has some
    uniform = np.concatenate([generator.random(2997), [0.0, 1 - 2 ** -24, 0.5]]).astype(np.float32)
    weights = weights.astype(np.float32)
    chosen = np.asarray(inverse_cdf(weights, uniform))
    running = np.cumsum(weights.astype(np.float64), axis=1)
    threshold = uniform.astype(np.float64) * running[:, -1]
    expected = np.minimum((running <= threshold[:, None]).sum(axis=1), classes - 1)
    # Rounding may move a draw that lies within a hair of a class boundary; nowhere else may it differ.
    near = np.abs(running - threshold[:, None]).min(axis=1) <= 1e-5 * running[:, -1]
    np.testing.assert_array_equal(chosen[~near], expected[~near])
    assert near.mean() < 0.01
    assert np.all(weights[np.arange(len(chosen)), chosen] > 0)  # never a class without weight


def test_streams_of_a_model_share_its_compiled_loops_and_read_its_current_weights():
    model = build_model(ModelConfig(units=16, embedding_dim=8, lags=4), sequence_length=16)
    first = SampleStream(model, count=2, temperature=0).sample(20)
    loops = dict(model.compiled_loops)
    np.testing.assert_array_equal(SampleStream(model, count=2, temperature=0).sample(20), first)
    assert model.compiled_loops == loops  # the second stream compiled nothing
    # Weights changed after compiling are what the next stream reads (the loops are not frozen copies).
    kernel, bias = model.logits.get_weights()
    bias[7] = 1000.0
    model.logits.set_weights([kernel, bias])
    assert (SampleStream(model, count=2, temperature=0).sample(20) == 7).all()
    assert model.compiled_loops == loops
    SampleStream(model, count=3, temperature=0).sample(5)  # another shape: its own loop
    assert len(model.compiled_loops) == len(loops) + 1


def _murmur_uniform(seed, key, position):
    """keyed_uniform written again in numpy: murmur3's finaliser over seed, key, position's low and high words."""
    def mix(value):
        value = np.uint64(value) & np.uint64(0xFFFFFFFF)
        for multiplier, shift in ((0x85EBCA6B, 16), (0xC2B2AE35, 13)):
            value = ((value ^ (value >> np.uint64(shift))) * np.uint64(multiplier)) & np.uint64(0xFFFFFFFF)
        return value ^ (value >> np.uint64(16))

    state = mix(seed ^ 0x9E3779B9)
    for word in (key, position & 0xFFFFFFFF, position >> 32):
        state = mix(state ^ np.uint64(word))
    return float(state >> np.uint64(8)) / (1 << 24)


def test_a_keyed_draw_is_the_streams_own_whatever_its_batch_and_the_same_on_every_backend():
    from audiornn import backend
    from audiornn.stepping import keyed_uniform
    from keras import ops

    index = backend.index_dtype()

    def draw(keys, position, seed=7):
        return np.asarray(keyed_uniform(ops.convert_to_tensor(np.asarray(keys, "int32")),
                                        ops.convert_to_tensor(seed, index), ops.convert_to_tensor(position, index)))

    alone, batch = draw([5], 1000), draw([0, 5, 9], 1000)
    assert alone[0] == batch[1] and len(set(batch.tolist())) == 3
    assert [_murmur_uniform(7, key, 1000) for key in (0, 5, 9)] == pytest.approx(batch.tolist(), abs=1e-7)
    assert draw([3], 12)[0] != draw([3], 12, seed=8)[0]
    numbers = np.concatenate([draw(np.arange(16), position) for position in range(300)])
    assert 0 <= numbers.min() and numbers.max() < 1
    assert abs(numbers.mean() - 0.5) < 0.03 and abs(numbers.std() - 12 ** -0.5) < 0.02


def test_a_seed_outside_32_bits_is_refused_in_one_line(gru_model):
    from audiornn.errors import ParameterError

    for seed in (2 ** 31, -2 ** 31 - 1, 10 ** 30, 1.5, True):
        with pytest.raises(ParameterError, match="seed must be a whole number"):
            SampleStream(gru_model, seed=seed)
    assert SampleStream(gru_model, seed=-5).seed == -5
