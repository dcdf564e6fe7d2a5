"""Windows cut on the fly equal naive slicing, never straddle files, and stream to Keras."""

import numpy as np
import pytest
from audiornn import build_dataset
from audiornn.dataset import Segment
from audiornn.errors import DatasetError, ParameterError
from audiornn.windows import WindowSampler

ARRAY = np.arange(1000, dtype=np.int64) % 251
SEGMENTS = [Segment(0, 300, "a"), Segment(300, 50, "b"), Segment(350, 650, "c")]


def naive_windows(array, segments, length):
    """Every window of length + 1 that lies inside one segment, by plain slicing."""
    return {(segment.source, start): array[start:start + length + 1]
            for segment in segments for start in range(segment.start, segment.start + segment.length - length)}


@pytest.mark.parametrize("mode", ["sequence", "many_to_one"])
def test_training_windows_equal_naive_slices_inside_one_file(mode):
    sampler = WindowSampler(ARRAY.astype(np.uint8), SEGMENTS, sequence_length=64, batch_size=16,
                            mode=mode, shuffle=True, steps=20, seed=3)
    naive = naive_windows(ARRAY, SEGMENTS, 64)
    starts = {start for _, start in naive}
    for index in range(len(sampler)):
        inputs, targets = sampler.batch(index)
        offsets = sampler.offsets(index)
        assert inputs.shape == (16, 64) and inputs.dtype == np.int32
        assert targets.shape == ((16, 64) if mode == "sequence" else (16,))
        for row, start in enumerate(offsets):
            assert start in starts  # never straddles a file boundary (file "b" is too short)
            window = ARRAY[start:start + 65]
            np.testing.assert_array_equal(inputs[row], window[:-1])
            np.testing.assert_array_equal(targets[row], window[1:] if mode == "sequence" else window[-1])


def test_training_draws_are_seeded_and_change_each_epoch():
    make = lambda seed: WindowSampler(ARRAY, SEGMENTS, sequence_length=32, batch_size=8, seed=seed, steps=4)
    first, same, other = make(1), make(1), make(2)
    np.testing.assert_array_equal(first.offsets(2), same.offsets(2))
    assert not np.array_equal(first.offsets(2), other.offsets(2))
    before = first.offsets(0)
    first.epoch += 1
    assert not np.array_equal(before, first.offsets(0))
    # Offsets cover every file able to hold a window, with both ends reachable.
    many = WindowSampler(ARRAY, SEGMENTS, sequence_length=32, batch_size=4096, seed=0, steps=1).offsets(0)
    assert {0, 300 - 33, 300, 350 - 33, 350, 1000 - 33} <= set(many.tolist())
    assert not np.any((many > 300 - 33) & (many < 300))
    assert not np.any((many > 350 - 33) & (many < 350))


def test_validation_windows_are_consecutive_and_fixed():
    sampler = WindowSampler(ARRAY, SEGMENTS, sequence_length=100, batch_size=3, shuffle=False)
    offsets = np.concatenate([sampler.offsets(index) for index in range(len(sampler))])
    # Targets tile each long-enough file from its start, one window after another.
    expected = [0, 100, 350, 450, 550, 650, 750, 850]
    np.testing.assert_array_equal(offsets, expected)
    sampler.epoch = 5
    np.testing.assert_array_equal(sampler.offsets(0), expected[:3])
    inputs, targets = sampler.batch(len(sampler) - 1)
    assert inputs.shape == (2, 100)  # the last batch is short rather than padded
    np.testing.assert_array_equal(targets[-1], ARRAY[851:951])


def test_input_noise_moves_only_the_inputs_within_the_classes_and_is_reproducible():
    audio = (np.arange(1000) * 7 % 256).astype(np.uint8)  # every class, the ends included
    clean = WindowSampler(audio, SEGMENTS, sequence_length=64, batch_size=64, seed=3, steps=3)
    noisy = WindowSampler(audio, SEGMENTS, sequence_length=64, batch_size=64, seed=3, steps=3, input_noise=4.0)
    (clean_inputs, clean_targets), (inputs, targets) = clean.batch(1), noisy.batch(1)
    np.testing.assert_array_equal(targets, clean_targets)  # the targets stay the audio
    difference = inputs - clean_inputs
    assert inputs.min() >= 0 and inputs.max() <= 255 and inputs.dtype == np.int32
    assert 0.05 < np.mean(difference != 0) < 0.95
    # Each window draws its own scale from 0 to 4 classes: some windows are nearly clean, some far off.
    spread = difference[(clean_inputs > 20) & (clean_inputs < 235)].std()
    assert 1.5 < spread < 3.5  # sqrt(mean of u^2 * 16) = 2.3 classes for u uniform in 0..1
    rows = np.abs(difference).mean(axis=1)
    assert rows.min() < 0.5 < 2.0 < rows.max()
    np.testing.assert_array_equal(noisy.batch(1)[0], inputs)
    assert not np.array_equal(noisy.batch(2)[0] - clean.batch(2)[0], difference)
    noisy.epoch += 1
    assert not np.array_equal(noisy.batch(1)[0] - clean.batch(1, epoch=1)[0], difference)
    # A labelled sampler's classes get the same noise; its labels none.
    labelled = WindowSampler(audio, SEGMENTS, sequence_length=64, batch_size=64, seed=3, steps=3, input_noise=4.0,
                             labels=[0, 1, 2])
    batch = labelled.batch(1)[0]
    np.testing.assert_array_equal(batch["classes"], inputs)
    np.testing.assert_array_equal(batch["label"], [{0: 0, 350: 2}[0 if start < 300 else 350]
                                                   for start in labelled.offsets(1)])


@pytest.mark.parametrize("kwargs, message", [
    ({"input_noise": -1}, "--input-noise must be a number of μ-law classes, at least 0 .* and below 64"),
    ({"input_noise": 64}, "--input-noise must be a number of μ-law classes"),
    ({"input_noise": "2"}, "--input-noise must be a number of μ-law classes"),
    ({"input_noise": 2, "shuffle": False}, "input noise is for training batches only"),
])
def test_bad_input_noise_is_refused(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        WindowSampler(ARRAY, SEGMENTS, sequence_length=8, batch_size=2, **kwargs)


def test_files_shorter_than_a_window_are_said_when_they_hold_much_of_the_audio_or_a_whole_label(caplog):
    array = np.zeros(2000, np.uint8)
    segments = [Segment(0, 1500, "long", "a"), Segment(1500, 300, "clip1", "b"), Segment(1800, 200, "clip2", "b")]
    with caplog.at_level("WARNING", logger="audiornn"):
        WindowSampler(array, segments, sequence_length=400, batch_size=2, labels=[0, 1, 1])
    assert ("2 training file(s) (25% of its audio) are shorter than a window of 401 samples and never in a batch "
            "(all the audio of label b): a shorter --sequence-length reaches them (their longest is 300 samples)"
            in caplog.text)
    caplog.clear()
    with caplog.at_level("WARNING", logger="audiornn"):
        WindowSampler(array, [Segment(0, 1500, "long"), Segment(1500, 440, "clip"), Segment(1940, 60, "tiny")],
                      sequence_length=250, batch_size=2)
        WindowSampler(array, segments, sequence_length=400, batch_size=2, shuffle=False, name="validation")
    assert "shorter than a window" not in caplog.text  # 3%, and validation scores every file whole at the end


def test_audio_shorter_than_a_window_is_a_clear_error():
    with pytest.raises(DatasetError, match="no file of at least 1001 samples.*shorter --sequence-length"):
        WindowSampler(ARRAY, SEGMENTS, sequence_length=1000, batch_size=2, name="validation")


@pytest.mark.parametrize("kwargs, message", [
    ({"sequence_length": 0}, "sequence_length must be a positive integer"),
    ({"batch_size": -4}, "batch_size must be a positive integer"),
    ({"mode": "many"}, "mode must be one of"),
])
def test_bad_window_parameters_are_errors(kwargs, message):
    arguments = dict(sequence_length=8, batch_size=2)
    arguments.update(kwargs)
    with pytest.raises(ParameterError, match=message):
        WindowSampler(ARRAY, SEGMENTS, **arguments)


def test_keras_datasets_stream_from_a_dataset_folder(speech_like_folder, tmp_path):
    from audiornn.keras_data import window_datasets

    dataset = build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    training, validation = window_datasets(dataset, sequence_length=256, batch_size=4, seed=1)
    inputs, targets = training[0]
    assert inputs.shape == targets.shape == (4, 256)
    np.testing.assert_array_equal(inputs[:, 1:], targets[:, :-1])
    first_epoch = training[0][0].copy()
    training.on_epoch_end()
    assert not np.array_equal(first_epoch, training[0][0])
    assert len(training) == -(-sum(s.length - 256 for s in dataset.segments("train")) // (4 * 256))
    valid_inputs, _ = validation[0]
    np.testing.assert_array_equal(valid_inputs[0], dataset.array("validation")[:256])


def test_carried_rows_continue_from_batch_to_batch_and_jump_to_the_next_file():
    sampler = WindowSampler(ARRAY, SEGMENTS, sequence_length=60, batch_size=8, seed=4, steps=40, carry=True)
    ends = {0: 300, 350: 1000}  # file "b" (50 samples) is too short for a window and is skipped
    jumps = 0
    for index in range(len(sampler) - 1):
        now, after = sampler.offsets(index), sampler.offsets(index + 1)
        for start, following in zip(now, after):
            file_start = max(begin for begin in ends if begin <= start)
            assert start + 61 <= ends[file_start]  # never straddles a file boundary
            if following != start + 60:
                # Only when the next window would not fit: then the next file's start.
                assert start + 60 + 61 > ends[file_start]
                assert following == (350 if file_start == 0 else 0)
                jumps += 1
    assert jumps > 0
    inputs, targets = sampler.batch(3)
    np.testing.assert_array_equal(targets[:, :-1], inputs[:, 1:])
    np.testing.assert_array_equal(sampler.offsets(5), sampler.offsets(5, epoch=0))
    assert not np.array_equal(sampler.offsets(5, epoch=1), sampler.offsets(5))
    with pytest.raises(ParameterError, match="carry"):
        WindowSampler(ARRAY, SEGMENTS, sequence_length=32, batch_size=8, mode="many_to_one", carry=True)


def test_carried_validation_rows_start_evenly_spread_and_read_on():
    sampler = WindowSampler(ARRAY, SEGMENTS, sequence_length=20, batch_size=4, shuffle=False, carry=True)
    table = np.stack([sampler.offsets(index) for index in range(len(sampler))])
    # Rows start at the windows 0, 1/4, 2/4 and 3/4 of the way through all 940 windows of the files.
    np.testing.assert_array_equal(table[0], [0, 235, 510, 745])
    np.testing.assert_array_equal(table[1], [20, 255, 530, 765])
    # Together the rows cover about as many targets as the audio has samples, the same every epoch.
    assert len(sampler) * 4 * 20 >= 300 + 50 + 650 - 3 * 20
    sampler.epoch = 3
    np.testing.assert_array_equal(np.stack([sampler.offsets(index) for index in range(len(sampler))]), table)
    assert len(WindowSampler(ARRAY, SEGMENTS, sequence_length=20, batch_size=4, shuffle=False, carry=True,
                             max_steps=2)) == 2
