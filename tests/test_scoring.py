"""Scoring: bits per sample of models and baselines on held-out audio, the context probe."""

import os
import re
from pathlib import Path

import numpy as np
import pytest
from audiornn import dsp
from audiornn.baselines import LinearPredictor, score_baselines, unigram_bits
from audiornn.evaluation import score_audio
from audiornn.runs import load_run_model

from conftest import SINE_FREQUENCY, sine


def test_uniform_random_classes_score_eight_bits_for_every_baseline():
    generator = np.random.default_rng(0)
    train, test = generator.integers(0, 256, 200_000), generator.integers(0, 256, 50_000)
    scores = score_baselines([train.astype(np.uint8)], [test.astype(np.uint8)])
    assert set(scores) == {"uniform", "unigram", "linear_predictor_16"}
    for name, bits in scores.items():
        assert bits == pytest.approx(8.0, abs=0.05), name


def test_a_sine_scores_far_lower_with_the_linear_predictor_than_the_histogram():
    classes = dsp.mu_law_encode(sine(440, 4.0, 8000, amplitude=0.8)
                                + 0.001 * np.random.default_rng(1).standard_normal(32000))
    train, test = classes[:24000], classes[24000:]
    histogram = unigram_bits([train], [test], mu=255)
    predictor = LinearPredictor().fit([train]).bits([test])
    assert histogram > 5.0
    assert predictor < histogram - 3.0


def test_a_model_that_learned_a_sine_scores_below_its_baselines(sine_run, sine_dataset, write_audio):
    folder, _ = sine_run
    held_out = write_audio("held_out.wav", sine(SINE_FREQUENCY, 1.5, 8000, amplitude=0.6, phase=2.5))
    score = score_audio(load_run_model(folder), [held_out], dataset=sine_dataset, progress=False)
    bits = score["model"]["bits_per_sample"]
    assert bits < score["baselines"]["unigram"] - 2.0
    assert bits < score["baselines"]["uniform"] - 4.0
    assert score["model"]["targets"] == 12000 - 1
    assert score["seconds"] == pytest.approx(1.5)


def test_a_score_of_less_than_a_second_says_it_tells_little(sine_run, sine_dataset, write_audio, caplog):
    folder, _ = sine_run
    short = write_audio("short.wav", sine(SINE_FREQUENCY, 0.05, 8000, amplitude=0.6))
    with caplog.at_level("WARNING", logger="audiornn"):
        score_audio(load_run_model(folder), [short], dataset=sine_dataset, progress=False)
    assert "only 0.05 s of audio were scored (400 samples in 1 file(s)): bits per sample of so little audio tell " \
           "little" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="audiornn"):
        score_audio(load_run_model(folder), [write_audio(f"short{index}.wav", sine(SINE_FREQUENCY, 0.05, 8000,
                                                                                   amplitude=0.6, phase=index))
                                             for index in range(21)], dataset=sine_dataset, progress=False)
    assert "were scored" not in caplog.text  # 21 of them: 1.05 s


def test_the_context_probe_resets_the_state_and_scores_the_same_samples(sine_run, sine_dataset):
    from audiornn.scoring import dataset_pieces, score_classes

    model = load_run_model(sine_run[0])
    pieces = dataset_pieces(sine_dataset, "validation")
    carried = score_classes(model, pieces, progress=False)
    longer = score_classes(model, pieces, progress=False, reset_every=10 ** 6)
    short = score_classes(model, pieces, progress=False, reset_every=16)
    assert carried["targets"] == longer["targets"] == short["targets"] == sum(piece.size - 1 for piece in pieces)
    assert abs(longer["bits_per_sample"] - carried["bits_per_sample"]) < 1e-4
    assert short["bits_per_sample"] > carried["bits_per_sample"] + 0.05  # 16 samples of context are not enough


def test_a_long_score_off_a_terminal_says_once_how_long_it_has_left(sine_run, sine_dataset, monkeypatch, caplog):
    import audiornn.scoring as scoring

    model = load_run_model(sine_run[0])
    pieces = scoring.dataset_pieces(sine_dataset, "validation")
    import audiornn.stepping as stepping

    monkeypatch.setattr(stepping, "TIME_LEFT_AFTER", 0.0)
    monkeypatch.setattr(stepping, "TIME_LEFT_AT_LEAST", 0.0)  # (a real one is half a minute or more)
    with caplog.at_level("INFO", logger="audiornn"):
        scoring.score_classes(model, pieces, progress=True, chunk=64)  # pytest's output is no terminal: no bar
        scoring.score_classes(model, pieces, progress=False, chunk=64)
    assert len(re.findall(r"scoring [\d,]+ targets: about \d+ s left", caplog.text)) == 1


def test_long_generation_off_a_terminal_says_once_how_long_it_has_left(sine_run, monkeypatch, caplog):
    import audiornn.stepping as stepping
    from audiornn.generation import generate

    monkeypatch.setattr(stepping, "TIME_LEFT_AFTER", 0.0)
    monkeypatch.setattr(stepping, "TIME_LEFT_AT_LEAST", 0.0)
    with caplog.at_level("INFO", logger="audiornn"):
        generate(load_run_model(sine_run[0]), seconds=1.0, count=2, seed=0, chunk_seconds=0.1)  # no terminal: no bar
    assert len(re.findall(r"generating 2 stream\(s\) of 1 s: about \d+ s left", caplog.text)) == 1


def test_time_left_is_said_in_seconds_under_a_minute_and_a_half_and_not_for_short_work(monkeypatch, caplog):
    from audiornn import stepping

    for per_piece, expected in ((5.0, "about 45 s left"), (20.0, "about 3 minutes left"), (1.0, None)):
        clock = iter(np.arange(0.0, 1000.0, per_piece))
        monkeypatch.setattr(stepping.time, "monotonic", lambda: next(clock))
        caplog.clear()
        with caplog.at_level("INFO", logger="audiornn"):
            left = stepping.TimeLeft(12, "vocoding")
            for _ in range(12):
                left.done(1)
        said = [record.getMessage() for record in caplog.records]
        # timed from the first piece's end, said once after 10 s: the pieces left at that pace
        assert said == ([] if expected is None else [f"vocoding: {expected}"]), said


def test_training_audio_under_another_name_or_format_is_said_not_to_be_held_out(sine_run, sine_dataset, tmp_path,
                                                                                 caplog):
    import shutil
    from pathlib import Path

    import soundfile
    from audiornn.scoring import score_audio

    sources = sine_dataset.metadata["sources"]
    trained = [source["path"] for source in sources if source["split"] == "train"]
    held = [source["path"] for source in sources if source["split"] == "validation" and source["path"] not in trained]
    copy = Path(shutil.copyfile(trained[0], tmp_path / "renamed copy.wav"))  # byte for byte, another name
    audio, rate = soundfile.read(trained[1])
    quieter = tmp_path / "export.flac"  # another format and level
    soundfile.write(str(quieter), 0.5 * audio, rate)
    with caplog.at_level("WARNING", logger="audiornn"):
        score = score_audio(str(sine_run[0]), [str(copy), str(quieter), *held[:1]], progress=False)
    assert score["in_training"] == [str(copy), str(quieter)]
    assert f"'{copy}' holds the audio of training file '{trained[0]}' of dataset '{sine_dataset.path}' (byte for " \
           f"byte, under another name)" in caplog.text
    assert f"'{quieter}' holds the audio of training file '{trained[1]}'" in caplog.text
    assert f"2 of the {2 + len(held[:1])} file(s) scored" in caplog.text


def test_a_training_file_recorded_by_a_relative_path_is_not_said_to_be_a_copy_of_itself(tmp_path, monkeypatch,
                                                                                        caplog):
    # (a dataset built from "rec" in its folder recorded "rec/a.wav"; scoring "rec/a.wav" from there said it held
    # the audio of training file 'rec/a.wav' "byte for byte, under another name")
    from audiornn import build_dataset
    from audiornn.scoring import _in_training, audio_pieces
    from conftest import REPOSITORY

    folder = tmp_path / "rec"
    folder.mkdir()
    for name in ("agent-user.wav", "demo-thanks.wav", "dir-instr.wav"):
        (folder / name).write_bytes((REPOSITORY / "data" / name).read_bytes())
    monkeypatch.chdir(tmp_path)
    dataset = build_dataset(["rec"], tmp_path / "dataset", validation_fraction=0.34, progress=False)
    trained = [source["path"] for source in dataset.metadata["sources"] if source["split"] == "train"]
    assert not Path(trained[0]).is_absolute()  # (as the build was given it)
    copy = tmp_path / "renamed.wav"
    copy.write_bytes(Path(trained[0]).read_bytes())
    files = [trained[0], str(copy)]
    with caplog.at_level("WARNING", logger="audiornn"):
        found = _in_training(files, dataset, audio_pieces(files, dataset.audio_config)[0])
    assert found == files
    assert f"'{copy}' holds the audio of training file '{trained[0]}'" in caplog.text  # a copy is one
    assert f"'{trained[0]}' holds" not in caplog.text


def test_speech_at_another_rate_is_told_by_its_sound_as_a_training_file(tmp_path, caplog):
    import librosa
    import soundfile
    from audiornn import build_dataset
    from audiornn.scoring import _in_training, audio_pieces
    from conftest import REPOSITORY

    files = [REPOSITORY / "data" / name for name in ("agent-user.wav", "demo-thanks.wav", "dir-instr.wav")]
    dataset = build_dataset(files, tmp_path / "dataset", validation_fraction=0.34, progress=False)
    trained = [source["path"] for source in dataset.metadata["sources"] if source["split"] == "train"]
    audio, rate = soundfile.read(trained[0])
    export = tmp_path / "export.flac"  # another name, format, rate and level: not byte for byte once prepared
    soundfile.write(str(export), 0.7 * librosa.resample(audio, orig_sr=rate, target_sr=16000), 16000)
    pieces, scored = audio_pieces([export], dataset.audio_config)
    with caplog.at_level("WARNING", logger="audiornn"):
        assert _in_training(scored, dataset, pieces) == [str(export)]
    assert f"'{export}' holds the audio of training file '{trained[0]}' of dataset '{dataset.path}' (what sounds " \
           f"like the same recording: its coarse spectrogram moves with that file's, correlation" in caplog.text


@pytest.mark.slow
def test_scoring_a_models_own_training_audio_is_said_not_to_be_held_out(sine_run, sine_dataset, caplog):
    from audiornn.scoring import format_score_table, score_audio

    sources = sine_dataset.metadata["sources"]
    trained = [source["path"] for source in sources if source["split"] == "train"]
    held = [source["path"] for source in sources if source["split"] == "validation" and source["path"] not in trained]
    with caplog.at_level("WARNING", logger="audiornn"):
        score = score_audio(str(sine_run[0]), [trained[0], *held[:1]], progress=False)
    assert score["in_training"] == [trained[0]]
    assert f"1 of the {1 + len(held[:1])} file(s) scored ('{trained[0]}') are training audio" in caplog.text
    assert "in 2 file(s), 1 of them training audio;" in format_score_table(score)
    # the run's model loaded in a notebook and given as an object is scored as its path is (it had no baselines
    # and no check, and said nothing)
    loaded = score_audio(load_run_model(sine_run[0]), [trained[0], *held[:1]], progress=False)
    assert loaded["baselines"] == score["baselines"] and loaded["in_training"] == [trained[0]]
    # a model with no dataset to check against says that nothing was checked, not that nothing was found
    from audiornn.model import build_model

    unchecked = score_audio(build_model(load_run_model(sine_run[0]).model_config), held[:1], progress=False)
    assert unchecked["in_training"] is None and unchecked["baselines"] == {}
    assert "not checked against the model's training audio" in format_score_table(unchecked)
    # a source recorded by a relative path (a build run elsewhere) is not matched against the folder of today
    from types import SimpleNamespace

    from audiornn.scoring import _in_training

    relative = SimpleNamespace(metadata={"sources": [{"path": "sine0.wav", "split": "train"}]})
    assert _in_training([os.path.abspath("sine0.wav")], relative) == []
    caplog.clear()
    if held:
        with caplog.at_level("WARNING", logger="audiornn"):
            alone = score_audio(str(sine_run[0]), held[:1], progress=False)
        assert alone["in_training"] == [] and "training audio" not in caplog.text
        assert "s of held-out audio in 1 file(s)" in format_score_table(alone)
    # without the model's dataset (a shipped model's), what it trained on is not known: not called held out
    unknown = dict(score, dataset=None, in_training=[])
    assert "s of audio in 2 file(s), not checked against the model's training audio;" in format_score_table(unknown)
