"""Generation: step equals sequence, chunks leave no seam, files are whole, bad input is refused."""

import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile
from conftest import REPOSITORY, SINE_FREQUENCY, SMALL_MODEL, one_line, sine

from audiornn import AudioConfig
from audiornn.cli import main
from audiornn.errors import (
    AudioFileError,
    ModelFileError,
    ParameterError,
)
from audiornn.generation import generate
from audiornn.model import ModelConfig, build_model
from audiornn.runs import load_run_model
from audiornn.stepping import SampleStream, StreamGroup

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
    return build_model(ModelConfig(num_layers=2, units=32, embedding_dim=8), AudioConfig(level=0.5))


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


@pytest.mark.parametrize("config", CELLS, ids=config_id)
def test_priming_sets_the_same_state_as_the_sequence_model(config):
    model = build_model(config)
    classes = np.random.default_rng(1).integers(0, 256, (2, 40)).astype("int32")
    stream = SampleStream(model, count=2)
    stream.prime(classes[:, :23])  # a length that no frame or hop divides
    # After the prime, the next logits are those of the full model at position 23.
    continued = stepped_logits(model, classes[:, 22:24], stream.states)[0][:, 1]
    np.testing.assert_allclose(continued, np.asarray(model(classes))[:, 23], atol=1e-4, rtol=2e-5)


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


def test_a_last_shorter_chunk_is_drawn_in_tenths_of_a_chunk_so_few_loop_lengths_compile(gru_model, monkeypatch):
    from audiornn.stepping import loop_length

    drawn = []
    sample = SampleStream.sample
    monkeypatch.setattr(SampleStream, "sample", lambda self, length, *rest: drawn.append(length) or
                        sample(self, length, *rest))
    outputs = [generate(gru_model, seconds=seconds, seed=2, chunk_seconds=0.1, progress=False)
               for seconds in (0.13, 0.1371, 0.119, 0.0015)]
    assert [output.shape[1] for output in outputs] == [1040, 1097, 952, 12]
    # Chunks of 800 samples, then the rest rounded up to a tenth of a chunk: a few lengths for any length.
    assert drawn == [800, 240, 800, 320, 800, 160, 80]
    np.testing.assert_array_equal(outputs[1][:, :1040], outputs[0])  # the dropped samples change nothing
    assert [loop_length(length, 8000, 80) for length in (80, 800, 880, 7920, 8000)] == [800, 800, 1600, 8000, 8000]


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


def test_output_files_are_16_bit_wav_at_the_model_rate(tmp_path):
    model = build_model(ModelConfig(num_layers=1, units=16, embedding_dim=8), AudioConfig(sample_rate=11025))
    paths = generate(model, seconds=0.1, count=3, seed=0, output=tmp_path / "out.wav", progress=False)
    assert [path.name for path in paths] == ["out_1.wav", "out_2.wav", "out_3.wav"]
    for path in paths:
        info = soundfile.info(str(path))
        assert (info.samplerate, info.channels, info.subtype, info.frames) == (11025, 1, "PCM_16", 1102)
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["out_1.wav", "out_2.wav", "out_3.wav"]


def test_priming_changes_the_output_and_is_excluded_unless_asked(gru_model, write_audio):
    prime = write_audio("prime.flac", sine(300, 0.05, 22050), rate=22050)
    plain = generate(gru_model, seconds=0.02, seed=5, progress=False)
    primed = generate(gru_model, seconds=0.02, seed=5, prime=prime, progress=False)
    assert primed.shape == plain.shape == (1, 160)
    assert not np.array_equal(plain, primed)
    with_prime = generate(gru_model, seconds=0.02, seed=5, prime=prime, include_prime=True, progress=False)
    assert with_prime.shape == (1, 400 + 160)
    np.testing.assert_allclose(with_prime[0, 400:], primed[0], atol=1e-6)


def test_a_model_trained_on_a_sine_generates_the_sine(sine_run, tmp_path):
    folder, _ = sine_run
    model = load_run_model(folder)
    [path] = generate(model, seconds=2.0, temperature=0.5, seed=1, output=tmp_path / "sine.wav", progress=False)
    audio, rate = soundfile.read(str(path))
    audio = audio[rate // 2:]  # after it settles
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
    peak = np.fft.rfftfreq(audio.size, 1 / rate)[np.argmax(spectrum)]
    assert abs(peak - SINE_FREQUENCY) < 10
    assert np.sqrt(np.mean(audio ** 2)) > 0.05


def test_seed_preset_generates_with_a_sliding_window():
    model = build_model(ModelConfig.seed(units=8, window=16, embedding_dim=4))
    audio = generate(model, seconds=0.005, seed=0, progress=False)
    assert audio.shape == (1, 40) and np.all(np.abs(audio) <= 1)
    stream = SampleStream(model, count=1, temperature=0)
    chosen = stream.sample(3)[0]
    window = np.full((1, 16), 128, "int32")
    window = np.concatenate([window[:, 1:], [[128]]], axis=1)
    assert chosen[0] == np.asarray(model(window)).argmax()


def test_interrupted_generation_leaves_no_file(gru_model, tmp_path, monkeypatch):
    calls = []
    real = SampleStream.sample

    def interrupt_second_chunk(self, length):
        calls.append(length)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, length)

    monkeypatch.setattr(SampleStream, "sample", interrupt_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        generate(gru_model, seconds=0.05, chunk_seconds=0.01, output=tmp_path / "out.wav", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_bad_generation_input_is_refused(gru_model, tmp_path, write_audio):
    with pytest.raises(ModelFileError, match="does not exist"):
        load_run_model(tmp_path / "none.keras")
    (tmp_path / "corrupt.keras").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ModelFileError, match="cannot load model"):
        load_run_model(tmp_path / "corrupt.keras")
    import keras
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    plain.save(tmp_path / "plain.keras")
    with pytest.raises(ModelFileError, match="not an audiornn model"):
        load_run_model(tmp_path / "plain.keras")
    (tmp_path / "bad.wav").write_bytes(b"not audio")
    empty = write_audio("empty.wav", np.zeros(0, np.float32))
    silent = write_audio("silent.wav", np.zeros(800, np.float32))
    for prime, message in [(tmp_path / "bad.wav", "cannot read audio file"), (empty, "empty"),
                           (silent, "silent")]:
        with pytest.raises(AudioFileError, match=message):
            generate(gru_model, seconds=0.01, prime=prime, progress=False)
    for kwargs, message in [({"seconds": 0}, "seconds must be a positive number"),
                            ({"seconds": 1, "count": 0}, "count must be a positive integer"),
                            ({"seconds": 1, "temperature": -1}, "temperature must be 0"),
                            ({"seconds": 1, "tail": 0.004}, r"tail must be a probability .* below 1/256"),
                            ({"seconds": 1, "tail": -0.001}, "tail must be a probability"),
                            ({"seconds": 1, "output": tmp_path / "no" / "x.wav"}, "does not exist")]:
        with pytest.raises(ParameterError, match=message):
            generate(gru_model, progress=False, **kwargs)


def test_generate_scores_what_it_wrote_against_real_audio(sine_run, tmp_path, write_audio, capsys):
    from audiornn.cli import main

    folder, _ = sine_run
    real = write_audio("real/a.wav", sine(SINE_FREQUENCY, 2.0, 8000, amplitude=0.6))
    code = main(["generate", "--model", str(folder), "--seconds", "1", "--count", "2", "--output",
                 str(tmp_path / "out.wav"), "--score-against", str(real.parent), "--quiet"])
    assert code == 0
    output = capsys.readouterr().out
    assert "out_1.wav" in output and "out_2.wav" in output and "(ceiling)" in output
    assert "sound distance to --score-against" in output
    # A wrong path is refused before anything is generated.
    assert main(["generate", "--model", str(folder), "--seconds", "1", "--output", str(tmp_path / "new.wav"),
                 "--score-against", str(tmp_path / "missing"), "--quiet"]) == 2
    assert not (tmp_path / "new.wav").exists()


def test_a_disk_that_fills_while_writing_is_one_clear_line_and_leaves_nothing(gru_model, tmp_path, monkeypatch):
    import shutil

    import soundfile

    from audiornn import sink

    def full(self, data):
        raise soundfile.LibsndfileError(1, "System error")

    monkeypatch.setattr(soundfile.SoundFile, "write", full)
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(sink.shutil, "disk_usage", lambda path: usage._replace(free=1000))
    with pytest.raises(ParameterError, match=r"cannot write '.*a\.wav': the disk is full \(1.0 kB free\)"):
        generate(gru_model, seconds=0.01, output=tmp_path / "a.wav", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_score_against_a_short_reference_names_it_before_generating(finished_run, tmp_path, write_audio, capsys):
    short = write_audio("one.wav", np.full(1, 0.5, np.float32))
    output = tmp_path / "out.wav"
    assert main(["generate", "--model", str(finished_run), "--seconds", "1", "--output", str(output),
                 "--score-against", str(short), "--quiet"]) == 2
    error = one_line(capsys)
    assert f"--score-against '{short}' is too short" in error and "training audio" not in error
    assert not output.exists()


def test_generated_audio_too_short_to_score_is_kept_with_a_warning(finished_run, tmp_path, caplog, capsys):
    output = tmp_path / "out.wav"
    assert main(["generate", "--model", str(finished_run), "--seconds", "0.05", "--output", str(output),
                 "--score-against", str(REPOSITORY / "data" / "vm-forward.wav"), "--quiet"]) == 0
    assert output.is_file()
    assert "kept but not scored" in caplog.text and "too short" in caplog.text


def test_the_disk_room_message_shows_its_numbers(tmp_path, monkeypatch):
    from audiornn import sink

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(sink.shutil, "disk_usage", lambda path: usage._replace(free=30_000))
    with pytest.raises(ParameterError, match=r"would take 32.0 kB but .* has 30.0 kB free"):
        sink.check_room(tmp_path / "a.wav", 2, 8000, 8000)


def test_an_absurd_count_is_refused_before_anything_is_built(finished_run, tmp_path, capsys):
    output = tmp_path / "out"
    output.mkdir()
    assert main(["generate", "--model", str(finished_run), "--count", "100000000", "--seconds", "1",
                 "--output", str(output / "x.wav"), "--quiet"]) == 2
    assert "--count" in one_line(capsys)
    assert list(output.iterdir()) == []
    from audiornn import generation
    from audiornn.runs import load_run_model

    with pytest.raises(ParameterError, match="streams need about .* of memory"):
        generation.generate(load_run_model(finished_run), seconds=0.001, count=10 ** 9, progress=False)


def test_generation_checks_the_disk_and_writes_rf64_past_the_wav_limit(tmp_path, monkeypatch):
    import shutil

    from audiornn import generation, sink
    from audiornn.model import build_model

    model = build_model(SMALL_MODEL)
    with pytest.raises(ParameterError, match=r"would take 16.0 TB but .* [kMGT]B free"):
        generation.generate(model, seconds=1e9, output=tmp_path / "huge.wav", progress=False)
    assert list(tmp_path.iterdir()) == []
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(sink.shutil, "disk_usage", lambda path: usage._replace(free=10 ** 13))
    paths = [tmp_path / "a.wav"]
    assert sink.check_room(paths[0], 1, 2 ** 31 + 100, 8000) == "RF64"
    assert sink.check_room(paths[0], 1, 2 ** 31 - 100, 8000) == "WAV"


@pytest.mark.slow
def test_sigterm_during_generation_leaves_nothing_and_stale_partials_are_removed(sine_run, tmp_path):
    folder, _ = sine_run
    stale = tmp_path / ".old.partial-999999999-x1y2.wav"  # a writer that was killed long ago (no such process)
    stale.write_bytes(b"half")
    process = subprocess.Popen([sys.executable, str(REPOSITORY / "AudioRNN.py"), "generate", "--model", str(folder),
                                "--seconds", "600", "--output", str(tmp_path / "long.wav"), "--quiet"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 120
        while not [entry for entry in tmp_path.iterdir() if ".long.partial-" in entry.name]:
            assert time.monotonic() < deadline and process.poll() is None, "generation never started writing"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _, error = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait(timeout=30)
    assert process.returncode == 130 and "interrupted" in error
    assert sorted(entry.name for entry in tmp_path.iterdir()) == []  # no partial; the stale one was removed too
