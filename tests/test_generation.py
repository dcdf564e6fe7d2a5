"""Generation: step equals sequence, chunks leave no seam, files are whole, bad input is refused."""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile
from audiornn.cli import main
from audiornn.errors import (
    AudioFileError,
    ModelFileError,
    ParameterError,
)
from audiornn.generation import generate
from audiornn.model import ModelConfig, build_model
from audiornn.runs import load_run_model
from audiornn.stepping import SampleStream

from conftest import REPOSITORY, SINE_FREQUENCY, one_line, sine


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


@pytest.mark.slow
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
                           (silent, "silent"), (tmp_path, "is a folder, not an audio file")]:
        with pytest.raises(AudioFileError, match=message):
            generate(gru_model, seconds=0.01, prime=prime, progress=False)
    assert generate(gru_model, seconds=np.float32(0.01), progress=False).shape == (1, 80)  # a NumPy number too
    for kwargs, message in [({"seconds": 0}, "--seconds \\(seconds=\\) must be a positive number"),
                            ({"seconds": 1, "count": 0}, "--count \\(count=\\) must be a positive integer"),
                            ({"seconds": 1, "temperature": -1}, "--temperature \\(temperature=\\) must be 0"),
                            ({"seconds": 1, "tail": 0.004}, r"--tail \(tail=\) must be a probability .* below 1/256"),
                            ({"seconds": 1, "tail": -0.001}, "--tail \\(tail=\\) must be a probability"),
                            ({"seconds": 1, "output": tmp_path / "bad.wav" / "x.wav"}, "'.*bad.wav' is a file, not a "
                                                                                      "folder")]:
        with pytest.raises(ParameterError, match=message):
            generate(gru_model, progress=False, **kwargs)
    # into a folder that is not there yet: made, as data, train and eval make theirs
    [written] = generate(gru_model, seconds=0.01, output=tmp_path / "new" / "deeper" / "x.wav", progress=False)
    assert written == tmp_path / "new" / "deeper" / "x.wav" and written.is_file()
    # ... and not left behind, empty, by a generation refused
    with pytest.raises(ParameterError, match="--tail \\(tail=\\) must be a probability"):
        generate(gru_model, seconds=0.01, tail=-1.0, output=tmp_path / "never" / "x.wav", progress=False)
    assert not (tmp_path / "never").exists()
    # ... whose disk is measured all the same: the folder above it that exists
    from audiornn.sink import check_room

    with pytest.raises(ParameterError, match="would take .* but '.*' has .* free"):
        check_room(tmp_path / "never" / "deeper" / "x.wav", 1, 2 ** 62, 8000)


@pytest.mark.slow  # over 3 s on 2 cores
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
    # The command is one library call, which a notebook can make too: what it says goes to say().
    from audiornn.commands import generate_command

    said = []
    paths = generate_command(folder, seconds=1, output=tmp_path / "api.wav", score_against=[real.parent],
                             progress=False, say=said.append)
    assert [path.name for path in paths] == ["api.wav"] and paths[0].is_file()
    assert said[0] == f"wrote {paths[0]}" and said[1].startswith("health of api.wav")
    assert "sound distance to --score-against" in said[2]
    said.clear()  # quiet, several streams: one table, a row for each file between the floor and the ceiling
    paths = generate_command(folder, seconds=1, count=3, output=tmp_path / "q.wav", score_against=[real.parent],
                             progress=False, say=said.append)
    table = said[-1].splitlines()
    assert table[0].startswith("sound distance to --score-against")
    assert [line.split()[0] for line in table[1:4]] == ["q_1.wav", "q_2.wav", "q_3.wav"]
    assert table[4].startswith("linear predictor 16 (ceiling)") and len(table) == 7
    assert table[5] == "(1.0 s each; no floor: no held-out audio beside the reference to measure one on; lower is " \
                       "closer to real audio)"  # (no floor: no position, and why)
    assert table[6].startswith("(the 3 sounds' mean average spectrum against --score-against: level ")
    assert "real held-out" not in table[6]  # (none to measure)
    # A file that starts with its prime is judged on what was generated after it, not on the prime (the reference
    # itself would score as real audio)
    said.clear()
    [primed] = generate_command(folder, seconds=1, output=tmp_path / "primed.wav", score_against=[real.parent],
                                prime=real, include_prime=True, progress=False, say=said.append)
    assert soundfile.info(str(primed)).frames == 3 * 8000
    assert said[1] == "(the health and sound below are of the 1 s generated after the prime, which the files " \
                      "start with)"
    assert "(1.0 s each" in said[3] and said[2].startswith("health of primed.wav")
    assert sum("sound distance" in line for line in said) == 1
    # A recording scored against is never written over, and what is written into its folder is not part of
    # what the stream is held to: the same stream scores the same written beside it or into it.
    before = real.read_bytes()
    assert main(["generate", "--model", str(folder), "--seconds", "1", "--output", str(real),
                 "--score-against", str(real.parent), "--quiet"]) == 2
    assert "is one of the inputs" in capsys.readouterr().err and real.read_bytes() == before
    twin = real.with_suffix(".flac")  # the same recording in another format: the scored copy is the flac
    soundfile.write(str(twin), sine(SINE_FREQUENCY, 2.0, 16000, amplitude=0.6), 16000)
    assert main(["generate", "--model", str(folder), "--seconds", "1", "--output", str(real),
                 "--score-against", str(real.parent), "--quiet"]) == 2
    assert real.read_bytes() == before
    twin.unlink()
    lines = []
    for output in (tmp_path / "beside.wav", real.parent / "into.wav"):
        generate_command(folder, seconds=1, output=output, score_against=[real.parent], progress=False, seed=3,
                         say=lines.append)
    assert lines[1].replace("beside.wav", "X") == lines[4].replace("into.wav", "X")


@pytest.mark.slow
def test_score_against_a_short_reference_names_it_before_generating(finished_run, tmp_path, write_audio, capsys):
    short = write_audio("one.wav", np.full(1, 0.5, np.float32))
    output = tmp_path / "out.wav"
    assert main(["generate", "--model", str(finished_run), "--seconds", "1", "--output", str(output),
                 "--score-against", str(short), "--quiet"]) == 2
    error = one_line(capsys)
    assert f"--score-against '{short}' is too short" in error and "training audio" not in error
    assert not output.exists()
    silent = write_audio("silence.wav", np.zeros(8000, np.float32))
    assert main(["generate", "--model", str(finished_run), "--seconds", "1", "--output", str(output),
                 "--score-against", str(silent), "--quiet"]) == 2
    assert f"--score-against: '{silent}' is silent" in one_line(capsys) and not output.exists()


@pytest.mark.slow
def test_generated_audio_too_short_to_score_is_kept_with_a_warning(finished_run, tmp_path, caplog, capsys):
    output = tmp_path / "out.wav"
    assert main(["generate", "--model", str(finished_run), "--seconds", "0.05", "--output", str(output),
                 "--score-against", str(REPOSITORY / "data" / "vm-forward.wav"), "--quiet"]) == 0
    assert output.is_file()
    assert "kept but not scored" in caplog.text and "too short" in caplog.text


@pytest.mark.slow
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


@pytest.mark.slow
def test_quiet_generation_of_many_streams_says_them_in_two_lines_and_names_the_stuck_ones(sine_run, tmp_path,
                                                                                         monkeypatch):
    import audiornn.health
    from audiornn.commands import generate_command

    folder, _ = sine_run
    real = audiornn.health.health
    calls = []

    def second_collapses(audio, rate, reference):
        report = real(audio, rate, reference)
        calls.append(report)
        return report | {"collapsed": True, "collapse_seconds": 4.0} if len(calls) == 2 else report

    monkeypatch.setattr(audiornn.health, "health", second_collapses)
    said = []
    paths = generate_command(folder, seconds=0.3, count=3, seed=0, output=tmp_path / "many.wav", progress=False,
                             say=said.append)
    assert [path.name for path in paths] == ["many_1.wav", "many_2.wav", "many_3.wav"]
    assert said[0] == f"wrote 3 files: {paths[0]} ... {paths[2]}"
    assert said[1].startswith("health of many_2.wav: ") and "COLLAPSED for 4 s" in said[1]
    assert said[2].startswith("health of many_1.wav ... many_3.wav, 3 streams (shorter than 2 s: one window each): "
                              "1 stuck (1 collapsed); ")
    assert len(said) == 3
    said.clear()  # with progress (not quiet), a line per file as before
    generate_command(folder, seconds=0.3, count=2, seed=0, output=tmp_path / "few.wav", say=said.append)
    assert said[:2] == [f"wrote {tmp_path / 'few_1.wav'}", f"wrote {tmp_path / 'few_2.wav'}"] and len(said) == 4


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
        # Past the first chunk (its loop compiled: a compile under load can outlast the grace an interrupt has,
        # and the command is then stopped hard, its partial file left for the next run to remove).
        while not [entry for entry in tmp_path.iterdir() if ".long.partial-" in entry.name
                   and entry.stat().st_size > 44 + 2 * 8000]:
            assert time.monotonic() < deadline and process.poll() is None, "generation never started writing"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _, error = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait(timeout=30)
    assert process.returncode == 143 and "interrupted" in error, error[-2000:]  # 128 + SIGTERM, as a shell says
    assert sorted(entry.name for entry in tmp_path.iterdir()) == []  # no partial; the stale one was removed too


@pytest.mark.slow
def test_audio_of_a_lower_rate_than_the_models_is_said_to_lack_the_top_band(sine_run, write_audio, tmp_path,
                                                                          caplog):
    from audiornn.commands import generate_command
    from audiornn.scoring import score_audio

    folder, _ = sine_run
    low = write_audio("low/a.wav", sine(SINE_FREQUENCY, 2.0, 4000, amplitude=0.6), 4000)
    same = write_audio("same/b.wav", sine(SINE_FREQUENCY, 2.0, 8000, amplitude=0.6))
    said = "at a lower rate (4000 Hz) than the model's 8000 Hz: resampled up, they hold nothing above 2000 Hz"
    score_audio(folder, [low, same], progress=False)
    assert f"1 of the 2 file(s) of the audio scored ('{low}') {said}" in caplog.text
    caplog.clear()
    generate_command(folder, seconds=0.5, prime=low, score_against=[low.parent], output=tmp_path / "g.wav",
                     progress=False, say=lambda line: None)
    assert f"the prime '{low}' is at 4000 Hz, below the model's 8000 Hz: resampled up, it holds nothing above " \
           f"2000 Hz" in caplog.text
    assert f"the file(s) of --score-against ('{low}') {said}" in caplog.text
    caplog.clear()
    score_audio(folder, [same], progress=False)
    assert "lower rate" not in caplog.text


@pytest.mark.slow
def test_quiet_output_of_several_streams_gives_a_stream_with_a_loud_burst_its_own_line(sine_run, tmp_path,
                                                                                     monkeypatch):
    # (brief output lists only streams that are stuck; a burst or few held tones is not stuck, and was left out)
    import audiornn.health as health_module
    from audiornn.commands import generate_command

    real = health_module.health
    made = []

    def second_bursts(audio, rate, reference):
        report = real(audio, rate, reference)
        made.append(report)
        if len(made) == 2:
            report.update(burst=True, burst_seconds=0.8)
        return report

    monkeypatch.setattr(health_module, "health", second_bursts)
    said = []
    generate_command(sine_run[0], seconds=1, count=3, output=tmp_path / "q.wav", progress=False, say=said.append)
    lines = [line for line in said if line.startswith("health of q")]
    assert [line.split(":")[0] for line in lines] == ["health of q_2.wav",
                                                      "health of q_1.wav ... q_3.wav, 3 streams (shorter than 2 s"]
    assert "a LOUD BURST of 0.8 s" in lines[0] and "1 with LOUD BURSTS" in lines[1]
