"""The library as a notebook calls it: what a user passes wrong is refused by name, what a user passes for
convenience (a shipped model's name, a dict of config fields, NumPy numbers) is taken."""

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import audiornn
from audiornn import AudioConfig, ModelConfig, ParameterError, RunError
from audiornn.evaluation import plot_history, sound_comparison
from audiornn.generation import generate
from audiornn.runs import load_run_model
from audiornn.model import build_model
from audiornn.stepping import SampleStream, StreamGroup, label_state
from audiornn.training import train

TINY = ModelConfig(num_layers=1, units=8, embedding_dim=4, lags=2, dense_units=8)


def test_a_shipped_models_name_is_taken_where_a_model_is_and_anything_else_is_refused():
    audio = generate("speech", seconds=0.01, progress=False)
    assert audio.shape == (1, 80) and audio.dtype == np.float32
    assert SampleStream("speech").model.audio_config.sample_rate == 8000
    for wrong in (None, 3, np.zeros(10)):
        with pytest.raises(ParameterError, match="model must be an audiornn model .* got"):
            generate(wrong, seconds=0.01, progress=False)


def test_a_prime_array_is_classes_and_a_length_a_positive_integer():
    model = build_model(TINY)
    stream = SampleStream(model)
    with pytest.raises(ParameterError, match="prime classes must lie from 0 to 255, got values from 300"):
        stream.prime(np.full(10, 300))
    pcm = (np.sin(np.arange(800) * 0.3) * 20000).astype(np.int16)  # a recording's int16 samples
    with pytest.raises(ParameterError, match=r"got values from -\d+ to \d+: integer samples of a recording, most "
                                             r"likely \(int16's lie from -32768 to 32767\): give its path"):
        stream.prime(pcm)
    with pytest.raises(ParameterError, match=r"got values from -40 to 12: integer samples of a recording"):
        stream.prime(np.array([-40, 3, 12]))  # (a quiet recording's samples lie within the classes' range)
    with pytest.raises(ParameterError, match="floats: audio, most likely") as said:
        stream.prime(np.random.default_rng(0).random(100))
    # its advice, followed as written, makes a prime
    assert "the first of what audiornn.audio_io.prepare_audio(audio, rate, audio_config=model.audio_config) " \
        "returns" in str(said.value)
    from audiornn.audio_io import prepare_audio

    stream.prime(prepare_audio(pcm / 32768, 8000, audio_config=model.audio_config)[0])
    with pytest.raises(ParameterError, match="floats: audio, most likely"):  # generate read them as class 0
        generate(model, seconds=0.01, prime=np.random.default_rng(0).random(100), progress=False)
    for length in (0, -1, 2.5):
        with pytest.raises(ParameterError, match="length must be a positive integer"):
            stream.sample(length)
    with pytest.raises(ParameterError, match="chunk_seconds must be a positive number"):
        generate(model, seconds=0.01, chunk_seconds=float("nan"), progress=False)


def test_integer_audio_arrays_are_read_as_samples_by_their_values(caplog):
    from audiornn.audio_io import audio_array

    pcm = (np.sin(np.arange(800) * 0.3) * 20000).astype(np.int16)
    expected = pcm / 32768.0
    np.testing.assert_array_equal(audio_array(pcm), expected)
    with caplog.at_level("INFO", logger="audiornn"):  # numpy.array of Python ints is int64: not 63-bit samples
        np.testing.assert_array_equal(audio_array(np.array(pcm.tolist())), expected)
    assert "int64 samples within 16-bit range are read as 16-bit samples" in caplog.text
    np.testing.assert_array_equal(audio_array(pcm.astype(np.int32) << 16), expected)  # 32-bit ones by 2^31
    np.testing.assert_array_equal(audio_array(np.array([0, 128, 255], np.uint8)), [-1.0, 0.0, 127 / 128])
    np.testing.assert_array_equal(audio_array(np.stack([pcm, pcm])), np.stack([expected, expected], axis=1))
    with pytest.raises(ParameterError, match="an array of <U1, not samples"):
        audio_array(np.array(["a", "b"]))


def test_configs_take_numpy_numbers_and_dicts_of_their_fields(sine_dataset, tmp_path):
    config = AudioConfig(sample_rate=np.int64(8000), level=np.float32(0.5))
    assert type(config.sample_rate) is int and json.loads(json.dumps(config.to_dict()))["sample_rate"] == 8000
    assert type(ModelConfig(units=np.int64(32)).units) is int
    with pytest.raises(ParameterError, match="model_config: ModelConfig has no field 'unitz'"):
        train(sine_dataset, tmp_path / "run", model_config={"unitz": 8})
    with pytest.raises(ParameterError, match="train_config must be a TrainConfig .* got list"):
        train(sine_dataset, tmp_path / "run", train_config=[1])
    with pytest.raises(ParameterError, match=r"ModelConfig\(features=40\) is set from the dataset's frames.*none"):
        train(sine_dataset, tmp_path / "run", model_config=ModelConfig(features=40))
    assert not (tmp_path / "run").exists()
    with pytest.raises(ParameterError, match="build one from audio files with audiornn.build_dataset"):
        train([str(tmp_path / "a.wav")], tmp_path / "run")


def test_audio_given_as_arrays_where_files_are_taken_is_refused_by_name(tmp_path):
    with pytest.raises(ParameterError, match="audio inputs are the paths .* got ndarray: write an array"):
        audiornn.build_dataset(np.zeros(8000), tmp_path / "ds", progress=False)
    with pytest.raises(ParameterError, match="got ndarray"):
        audiornn.build_dataset([np.zeros(8000)], tmp_path / "ds", progress=False)
    with pytest.raises(ParameterError, match="labels is 'folders' or the path of a CSV list"):
        audiornn.build_dataset([str(tmp_path)], tmp_path / "ds", labels=True, progress=False)
    with pytest.raises(ParameterError, match="the label 1 is of type int: label names are text"):
        audiornn.build_dataset({1: [str(tmp_path)]}, tmp_path / "ds", progress=False)
    assert not (tmp_path / "ds").exists()


def test_labels_out_of_range_or_of_another_type_are_named():
    model = build_model(ModelConfig(num_layers=1, units=8, embedding_dim=4, lags=2, dense_units=8,
                                    labels=("en", "es")))
    with pytest.raises(ParameterError, match=r"label id 5 is out of range: the ids are 0 to 1 \(en, es\)"):
        label_state(model, 5, 1)
    with pytest.raises(ParameterError, match="a label is a name"):
        label_state(model, True, 1)
    assert label_state(model, "es", 2).tolist() == [1, 1]


@pytest.mark.slow
def test_plot_history_and_sound_comparison_refuse_what_they_cannot_draw(sine_run, sine_dataset, tmp_path):
    folder, _ = sine_run
    with pytest.raises(ParameterError, match=r"names: one name for each of the 2 run\(s\)"):
        plot_history([folder, folder], names=["a"])
    with pytest.raises(ParameterError, match="plot_history draws run folders .* got AudioRNN"):
        plot_history(build_model(TINY))
    with pytest.raises(RunError, match="does not exist: check the path"):
        plot_history(tmp_path / "nope")
    figure = plot_history(folder, names=["one"])
    assert figure.axes[0].get_legend_handles_labels()[1][0] == "one training"
    for seconds in (-1, float("nan"), "2"):
        with pytest.raises(ParameterError, match="seconds must be a positive number"):
            sound_comparison(folder, dataset=sine_dataset, seconds=seconds)
    made = generate(folder, seconds=0.1, progress=False)  # (1, samples), as generate returns one stream
    assert sound_comparison(folder, dataset=sine_dataset, seconds=0.1, generated=made) is not None
    # int16 samples drawn as the 32768ths they are (not as values of thousands); NaN refused
    pcm = sound_comparison(folder, dataset=sine_dataset, seconds=0.1, generated=(made * 32767).astype(np.int16))
    np.testing.assert_allclose(pcm.axes[0].get_lines()[0].get_ydata(), made.ravel()[:800], atol=1e-4)
    with pytest.raises(ParameterError, match="generated holds 800 NaN or infinite sample"):
        sound_comparison(folder, dataset=sine_dataset, seconds=0.1, generated=np.full(800, np.nan))
    with pytest.raises(ParameterError, match="generated is audio as an array"):
        sound_comparison(folder, dataset=sine_dataset, seconds=0.1, generated="out.wav")


def test_the_review_of_these_checks_what_still_works(sine_run, tmp_path, monkeypatch):
    from audiornn.audio_io import find_audio_files
    from audiornn.files import make_folder
    from audiornn.stepping import StreamGroup

    with pytest.raises(ParameterError, match="floats: audio, most likely"):
        StreamGroup(build_model(TINY), count=2).prime(np.random.default_rng(0).random(100))
    with pytest.raises(ParameterError, match="a prime needs at least one class"):
        SampleStream(build_model(TINY)).prime([])
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert make_folder("~/runs/x", "--output") == tmp_path / "home" / "runs" / "x"
    assert (tmp_path / "home" / "runs" / "x").is_dir()
    folder, _ = sine_run
    assert plot_history(folder, names=[]) is not None  # no names: the folders'
    assert plot_history(folder, names=(name for name in ["g"])).axes[0].get_legend_handles_labels()[1][0] == \
        "g training"
    import soundfile

    wav = tmp_path / "a.wav"
    soundfile.write(str(wav), np.zeros(800), 8000)
    # An array of path strings is paths, as before; an array of samples is not.
    assert [Path(path) for path, _ in find_audio_files(np.array([str(wav)]))] == [wav]


def test_train_refuses_a_wrong_verbose_a_callback_that_is_not_one_and_a_batch_that_cannot_fit(sine_dataset,
                                                                                               tmp_path, capsys,
                                                                                               monkeypatch):
    from audiornn import TrainConfig, backend
    from audiornn.cli import main
    from audiornn.training import training_memory

    for wrong in ("yes", 3, 1.5):
        with pytest.raises(ParameterError, match=r"verbose must be 0 \(silent\), 1 .* got"):
            train(sine_dataset, tmp_path / "a", model_config=TINY, verbose=wrong)
    with pytest.raises(ParameterError, match="callbacks must be Keras callbacks .* got <built-in function print>"):
        train(sine_dataset, tmp_path / "a", model_config=TINY, callbacks=[print])
    # Ten million windows cannot fit in any machine's memory: refused at once, not after minutes of loading (on
    # the CPU: an accelerator's memory is its own)
    monkeypatch.setattr(backend, "on_cpu", lambda: True)
    absurd = TrainConfig(batch_size=10 ** 7, epochs=1)
    with pytest.raises(ParameterError, match=r"--batch-size 10,000,000 windows of --sequence-length 96 samples "
                                             r"need about [\d.]+ TB of memory to train on, more than the"):
        train(sine_dataset, tmp_path / "a", model_config=TINY, train_config=absurd)
    with pytest.raises(ParameterError, match=r"available: one window alone needs [\d.]+ [GT]B: ask for a shorter "
                                             r"--sequence-length"):  # a smaller batch would not do
        train(sine_dataset, tmp_path / "a", model_config=TINY,
              train_config=TrainConfig(sequence_length=10 ** 9, batch_size=8, epochs=1))
    assert main(["train", "--dataset", str(sine_dataset.path), "--output", str(tmp_path / "b"), "--batch-size",
                 str(10 ** 7), "--quiet"]) == 2
    assert "need about" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # nothing written
    # The estimate grows with what the step keeps: the batch, the window, the classes and the widths.
    small = training_memory(ModelConfig(), TrainConfig(), 256)
    assert training_memory(ModelConfig(), TrainConfig(batch_size=96), 256) == 2 * small
    assert training_memory(ModelConfig(units=512, dense_units=512), TrainConfig(), 256) > 1.5 * small
    # The default model's step (48 windows of 96) is tens of megabytes, as bench/training_memory.py measures it.
    assert 30e6 < small < 150e6


def test_a_failed_build_takes_away_the_folders_it_made_above_its_output(tmp_path, write_audio):
    from audiornn import build_dataset
    from audiornn.errors import AudioFileError

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.wav").write_text("not audio")
    (tmp_path / "kept").mkdir()
    with pytest.raises(AudioFileError, match="no usable audio"):
        build_dataset([tmp_path / "in"], tmp_path / "kept" / "new" / "deeper" / "ds", progress=False)
    assert (tmp_path / "kept").is_dir() and not (tmp_path / "kept" / "new").exists()  # what was there stays
    good = write_audio("in/tone.wav", np.sin(np.arange(8000) * 0.3).astype(np.float32) * 0.5, 8000)
    dataset = build_dataset([good], tmp_path / "kept" / "new" / "ds", progress=False)
    assert dataset.path == tmp_path / "kept" / "new" / "ds"


@pytest.mark.slow
def test_eval_of_a_run_whose_dataset_is_gone_or_rebuilt_scores_without_its_baselines(sine_run, sine_dataset,
                                                                                     tone_dataset, tmp_path, capsys,
                                                                                     caplog):
    import shutil

    from audiornn.cli import main
    from audiornn.commands import evaluate_command

    folder, _ = sine_run
    audio = [Path(sine_dataset.metadata["sources"][0]["path"])]
    gone, rebuilt = tmp_path / "gone", tmp_path / "rebuilt"
    for copy, dataset in ((gone, tmp_path / "nowhere"), (rebuilt, tone_dataset.path)):
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns(".lock"))
        config = json.loads((copy / "config.json").read_text())
        (copy / "config.json").write_text(json.dumps(dict(config, dataset=str(dataset))))
    # A run folder scored from a notebook fits the baselines on its own dataset, as eval does
    from audiornn.scoring import score_audio

    assert set(score_audio(str(folder), audio, progress=False)["baselines"]) >= {"unigram", "uniform"}
    assert score_audio(gone, audio, progress=False)["baselines"] == {}
    caplog.clear()
    with caplog.at_level("WARNING", logger="audiornn"):
        results, text, _ = evaluate_command(model=gone, audio=audio, progress=False)
    assert results["model"]["bits_per_sample"] > 0 and results["baselines"] == {}
    assert "moved or removed" not in caplog.text  # said once, in the report (the scoring said it again, as to Python)
    assert re.match(r"the run's dataset '.*nowhere' is not there \(moved or removed\): scored without the "
                    r"baselines fitted on it \(give --dataset DIR", text[0])
    results, text, _ = evaluate_command(model=rebuilt, audio=audio, progress=False)
    assert results["baselines"] == {} and "was built again from other audio or settings since the run trained" in text[0]
    # --sound needs the training audio, and a wrong --seconds is refused before the scoring it would lose
    capsys.readouterr()
    for flags, message in ((["--sound"], "--sound scores the generated audio against the model's training audio, "
                                         "and the run's dataset '"),
                           (["--sound", "--seconds", "0", "--dataset", str(tone_dataset.path)],
                            "--seconds (seconds=) must be a positive number")):
        held_to = [] if flags == ["--sound"] else ["--audio", str(audio[0])]  # --audio stands in for it
        assert main(["eval", "--model", str(gone), *held_to, *flags, "--quiet"]) == 2
        shown = capsys.readouterr()
        assert message in shown.err and "bits" not in shown.out


def test_what_the_second_api_probe_passed_wrong_is_refused_by_name(sine_run, tmp_path):
    from audiornn.health import LevelReference, health
    from audiornn.runs import load_model

    model = build_model(TINY)
    with pytest.raises(ParameterError, match=r"prime classes must have shape \(samples,\) .* or \(2, samples\)"):
        generate(model, seconds=0.01, prime=np.full((3, 80), 128), count=2, progress=False)
    assert generate(model, seconds=0.01, prime=np.full((2, 80), 128), count=2, progress=False).shape == (2, 80)
    with pytest.raises(ParameterError, match="output is the path of a .wav file"):
        generate(model, seconds=0.01, output=3, progress=False)
    with pytest.raises(ParameterError, match=r"--include-prime \(include_prime=\) starts the output with the prime: "
                                             r"give a prime too \(--prime, prime=\)"):
        generate(model, seconds=0.01, include_prime=True, progress=False)
    reference = LevelReference(p10=0.05, p50=0.1, p90=0.2, held_partials=0.3)
    audio = 0.1 * np.sin(np.arange(8000) * 0.2)
    assert health(audio, 8000, reference)["in_range"] == 1.0
    for wrong, message in (((audio[None], 8000, reference), r"one stream, a 1-D array .* got shape \(1, 8000\)"),
                           ((audio, 0, reference), "rate must be a positive integer"),
                           ((audio, 8000, None), "reference is a LevelReference"),
                           ((np.full(8000, np.nan), 8000, reference), "NaN or infinite")):
        with pytest.raises(ParameterError, match=message):
            health(*wrong)
    with pytest.raises(ParameterError, match="names are the runs' names in the legend, text"):
        plot_history([sine_run[0]], names=[None])
    assert plot_history(os.fsencode(sine_run[0])) is not None  # a path as bytes is a path
    with pytest.raises(audiornn.AudioRNNError, match="named by nothing"):
        load_model("")
    (tmp_path / "notes.keras").write_text("not a model")
    with pytest.raises(audiornn.AudioRNNError, match="it is not a .keras model"):
        load_model(tmp_path / "notes.keras")
    (tmp_path / "killed").mkdir()
    (tmp_path / "killed" / "config.json").write_text(json.dumps({"format": "audiornn-run"}))
    with pytest.raises(audiornn.AudioRNNError, match="run '.*killed' has no model yet: it completed no epoch"):
        load_model(tmp_path / "killed")
    from audiornn.files import hold_folder

    with hold_folder(tmp_path / "killed", what="run"):  # training, in its first epoch: not to be started again
        with pytest.raises(audiornn.AudioRNNError, match=f"run '.*killed' has no model yet: process {os.getpid()} is "
                                                         f"training it and has not finished its first epoch; wait"):
            load_model(tmp_path / "killed")
    (tmp_path / "empty").mkdir()
    with pytest.raises(audiornn.AudioRNNError, match=r"'.*empty' holds no audiornn run or model \(no config.json, no "
                                                     r"model.keras\): give a .keras file, a run folder"):
        load_model(tmp_path / "empty")


def test_an_empty_label_name_and_a_write_refused_for_its_size_are_said(tmp_path, capsys):
    import errno

    from audiornn.cli import main
    from audiornn.files import write_advice

    assert main(["generate", "--model", "speech", "--label", "en,", "--output", str(tmp_path / "a.wav"),
                 "--quiet"]) == 2
    assert "--label 'en,' holds an empty name" in capsys.readouterr().err
    assert write_advice(OSError(errno.EFBIG, "File too large")).startswith("raise the limit on file size (ulimit -f)")
    assert write_advice(OSError(errno.ENOSPC, "No space left on device")) == "free space"


def test_the_review_of_the_probe_mends(speech_like_folder, tmp_path, monkeypatch, sine_run, capsys):
    from audiornn import build_dataset
    from audiornn.audio_io import find_audio_files
    from audiornn.cli import main
    from audiornn.commands import evaluate_command
    from audiornn.errors import AudioFileError, DatasetError
    from audiornn.runs import load_model

    # What differs is judged on resolved paths: the same folder given relative, then absolute, is the same files
    monkeypatch.chdir(speech_like_folder.parent)
    build_dataset([speech_like_folder.name], tmp_path / "ds", progress=False)
    first = sorted(speech_like_folder.rglob("*.wav"))[0]
    first.write_bytes(first.read_bytes() + b"\0\0")
    with pytest.raises(DatasetError, match=r"different dataset \(the same files and settings, but a file's size"):
        build_dataset([speech_like_folder.resolve()], tmp_path / "ds", progress=False)
    # A run (or dataset) given itself as an input is said to be one, not "holds no audio files"
    with pytest.raises(AudioFileError, match=r"input '.*sine' is an audiornn run folder: .* give the recordings "
                                             r"themselves \(a run is given to generate and eval as --model RUN, and "
                                             r"to train as --resume RUN"):
        find_audio_files([sine_run[0]])
    with pytest.raises(AudioFileError, match=r"dataset folder: .*\(a dataset is given to train and eval as --dataset "
                                             r"DIR \(dataset=\)\)"):
        find_audio_files([tmp_path / "ds"])
    # train INPUT that fails to build takes away the run folders it made for it, its lock too (a probe found
    # RUN/.lock and two folders above it left), and leaves a folder that was there
    assert main(["train", str(tmp_path / "ds"), "--output", str(tmp_path / "a" / "b" / "run"), "--quiet"]) == 2
    assert not (tmp_path / "a").exists()
    (tmp_path / "mine").mkdir()
    assert main(["train", str(tmp_path / "missing"), "--output", str(tmp_path / "mine" / "run"), "--quiet"]) == 2
    assert [path.name for path in tmp_path.joinpath("mine").iterdir()] == []
    # eval's --output and --json folders made, then taken away when it fails
    with pytest.raises(audiornn.AudioRNNError, match="missing.wav' does not exist"):
        evaluate_command(model=sine_run[0], output=tmp_path / "new" / "figures", json_path=tmp_path / "no" / "x.json",
                         audio=[tmp_path / "missing.wav"], progress=False)
    assert not (tmp_path / "new").exists() and not (tmp_path / "no").exists()
    # A run with epochs whose model is gone is not "a run that completed no epoch"
    copy = tmp_path / "copy"
    shutil.copytree(sine_run[0], copy, ignore=shutil.ignore_patterns(".lock", "model.keras"))
    with pytest.raises(audiornn.AudioRNNError, match=r"has lost its best model \('model.keras' is missing\) but keeps "
                                                     r"its last epoch's"):
        load_model(copy)
    # --resume names the labels flag the user gave
    assert main(["train", "--resume", str(sine_run[0]), "--labels-from-folders", "--quiet"]) == 2
    assert "--labels-from-folders does not apply to it" in capsys.readouterr().err


def test_a_quiet_recording_read_by_a_front_ends_vocoder_is_not_said_to_be_raised(write_audio, caplog):
    from audiornn.runs import load_model
    from audiornn.vocoder import load_features

    model = load_model("vocoder-16k")
    quiet = write_audio("quiet.wav", 5e-3 * np.sin(np.arange(16000) * 0.2).astype(np.float32), 16000)
    with caplog.at_level("WARNING", logger="audiornn"):
        frames = load_features(quiet, model)  # its frames keep its level: nothing raised
    assert frames.shape[1] == 80 and caplog.text == ""
    # 66 dB down: said to be nearly silent, and that the vocoded audio is as quiet (not raised, as a dataset's is)
    quieter = write_audio("quieter.wav", 5e-4 * np.sin(np.arange(16000) * 0.2).astype(np.float32), 16000)
    with caplog.at_level("WARNING", logger="audiornn"):
        load_features(quieter, model)
    assert "quieter.wav' is nearly silent (its peak is 66 dB below full scale)" in caplog.text
    assert "the vocoded audio is as quiet" in caplog.text and "raised" not in caplog.text


def test_vocodes_arguments_are_checked_as_generates_are(tmp_path):
    from audiornn import vocode
    from audiornn.runs import load_model

    model, frames = load_model("vocoder-16k"), np.full((3, 80), -2.0, np.float32)
    for value in (0, -1, float("nan")):
        with pytest.raises(ParameterError, match="chunk_seconds must be a positive number"):
            vocode(model, frames, chunk_seconds=value, progress=False)
    with pytest.raises(ParameterError, match=r"output is the path of a .wav file or a folder to write \(or None.*got int"):
        vocode(model, frames, output=5, progress=False)
    with pytest.raises(ParameterError, match="fold is True .* or False .*, got 'no'"):
        vocode(model, frames, fold="no", output=tmp_path / "v.wav", progress=False)
    assert not any(tmp_path.iterdir())  # refused before anything was written


@pytest.mark.slow
def test_the_modules_are_reached_from_a_plain_import(tmp_path):
    import subprocess
    import sys

    script = ("import sys, audiornn\n"
              "assert 'audiornn.scoring' not in sys.modules and 'audiornn.keras_data' not in sys.modules\n"
              "print(audiornn.scoring.identify.__name__, audiornn.keras_data.window_datasets.__name__)\n"
              "assert {'scoring', 'train', 'generate'} <= set(dir(audiornn)) and 'models' not in dir(audiornn)\n"
              "assert not hasattr(audiornn, 'scoring.x') and not hasattr(audiornn, '.') and not hasattr(audiornn, '')\n"
              "for name in ('models', 'nothing', '_secret'):\n"
              "    try:\n"
              "        getattr(audiornn, name)\n"
              "    except AttributeError as error:\n"
              "        print(error)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(Path(audiornn.__file__).parent.parent)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["identify window_datasets",
                                          "module 'audiornn' has no attribute 'models'",
                                          "module 'audiornn' has no attribute 'nothing'",
                                          "module 'audiornn' has no attribute '_secret'"]


@pytest.mark.slow
def test_a_notebooks_first_model_starts_the_backend_without_its_native_lines(tmp_path):
    import subprocess
    import sys

    from audiornn import backend

    names = "import audiornn\nprint(audiornn.load_model('speech').audio_config.sample_rate)\n"
    modules = ("from audiornn.generation import generate\nfrom audiornn.training import load_run_model\n"
               "print(generate(load_run_model('speech'), seconds=0.01, progress=False).shape[1])\n")

    def run(script, **settings):
        environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
        environment.update(settings, PYTHONPATH=str(Path(audiornn.__file__).parent.parent))
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                                cwd=tmp_path, env=environment)
        assert result.returncode == 0 and result.stdout in ("8000\n", "80\n"), result.stderr
        return result.stderr

    assert run(names) == ""
    assert run(modules) == ""  # as examples/quickstart.ipynb imports
    data = Path(audiornn.__file__).parent.parent / "data"
    training = ("import audiornn\n"  # train touches the devices before it makes a model
                f"dataset = audiornn.build_dataset([r'{data}'], 'ds', progress=False)\n"  # (56 s: two files are said to
                # be too little to learn from)
                "audiornn.train(dataset, 'run', verbose=0, model_config=audiornn.ModelConfig(units=8, dense_units=8, "
                "lags=2), train_config=audiornn.TrainConfig(epochs=1, steps_per_epoch=2, batch_size=4, "
                "sequence_length=32))\nprint(8000)\n")
    assert run(training) == ""
    # An import starts no runtime: what must be set before it starts can still be set after the import
    configure = ("from audiornn.training import train\n" + (
        "import tensorflow as tf\ntf.config.threading.set_intra_op_parallelism_threads(1)\n"
        if backend.is_tensorflow() else "import jax\njax.config.update('jax_num_cpu_devices', 2)\n") + "print(8000)\n")
    run(configure)
    if backend.is_tensorflow():  # the user's own setting is theirs: TensorFlow's lines come (JAX prints none)
        assert "I0000" in run(names, TF_CPP_MIN_LOG_LEVEL="0")


def test_numpy_numbers_for_temperature_and_tail_and_uint8_classes_for_a_step_are_taken():
    model = build_model(TINY)
    cold = generate(model, seconds=0.01, temperature=np.float32(0.5), progress=False)
    np.testing.assert_array_equal(cold, generate(model, seconds=0.01, temperature=0.5, progress=False))
    assert np.array_equal(generate(model, seconds=0.01, temperature=np.int64(0), progress=False),
                          generate(model, seconds=0.01, temperature=0, progress=False))
    from audiornn.stepping import check_tail

    assert check_tail(np.float32(0.001), model) == pytest.approx(0.001)
    stream = SampleStream(model)
    classes = stream.sample(5)  # uint8, as SampleStream gives them
    states = model.initial_states(1)
    logits, _ = model.step(classes[:, -1], states)
    again, _ = model.step(classes[:, -1].astype("int32"), states)
    np.testing.assert_array_equal(np.asarray(logits), np.asarray(again))


def test_a_sample_streams_keys_shard_and_frames_are_checked_by_name():
    model = build_model(TINY)
    for kwargs, message in ((dict(keys=[1, 2, 3]), r"keys: one whole number per stream \(2\), got 3"),
                            (dict(first_stream=-1), r"0 <= first_stream <= total_streams - count; got -1 and 2"),
                            (dict(total_streams=1), r"got 0 and 1")):  # two streams of one batch drew the same
        with pytest.raises(ParameterError, match=message):
            SampleStream(model, count=2, **kwargs)
    with pytest.raises(ParameterError, match=r"a vocoder's streams take their frames: sample\(length, frames=...\)"):
        SampleStream("vocoder").sample(10)
    with pytest.raises(ParameterError, match="frames are for a vocoder's streams"):
        SampleStream(model).sample(10, frames=np.zeros((1, 5, 40)))


@pytest.mark.slow
def test_a_vocoder_streams_frames_are_checked_before_any_draw():
    # Too few frames were stretched over the loop's size without a word (a probe's 1 frame for 800 samples), and
    # none were a numpy error: the rows a draw needs are named, from where the stream stands
    stream = SampleStream("vocoder", count=2)
    for shape in ((2, 3, 40), (2, 0, 40), (15, 40), (2, 15, 7), (1, 15, 40)):
        with pytest.raises(ParameterError, match=rf"sample\(800, frames\): frames of shape \(2, 15 or more, 40\) "
                                                 rf"for 2 stream\(s\) drawing 800 samples from sample 0 .* got shape "
                                                 rf"{re.escape(str(shape))}"):
            stream.sample(800, np.zeros(shape, np.float32))
    assert stream.sample(800, np.zeros((2, 15, 40), np.float32)).shape == (2, 800)
    with pytest.raises(ParameterError, match=r"frames of shape \(2, 6 or more, 40\) for 2 stream\(s\) drawing 80 "
                                             r"samples from sample 800"):
        stream.sample(80, np.zeros((2, 5, 40), np.float32))
    # A group of shards says it of the whole group, before any shard draws (and so gets out of step)
    group = StreamGroup("vocoder", count=4, shards=2)
    with pytest.raises(ParameterError, match=r"frames of shape \(4, 15 or more, 40\) for 4 stream\(s\)"):
        group.sample(800, np.zeros((3, 15, 40), np.float32))
    assert [shard.position for shard in group.shards] == [0, 0]
    assert group.sample(800, np.zeros((4, 15, 40), np.float32)).shape == (4, 800)


def test_overrides_of_another_type_and_a_label_list_named_folder_are_told_what_to_give(tmp_path):
    from audiornn import build_dataset
    from audiornn.training import train

    with pytest.raises(ParameterError, match=r"overrides is a dict of TrainConfig fields, .*got list \(dict\(pairs\)"):
        train(resume=tmp_path / "run", overrides=[("minutes", 0.3)])
    # on a new run they were dropped without a word (it trained its train_config's epochs)
    with pytest.raises(ParameterError, match=r"overrides change what a resumed run was configured with \(resume=RUN\); "
                                             r"a new run takes its settings in train_config: "
                                             r"train_config=TrainConfig\(epochs=3\)"):
        train(tmp_path / "dataset", tmp_path / "new", overrides={"epochs": 3})
    assert not (tmp_path / "new").exists()
    with pytest.raises(ParameterError, match=r"label list '.*folder' does not exist: .*\(or label by folder: "
                                             r"--labels-from-folders, labels=\"folders\"\)"):
        build_dataset([tmp_path], tmp_path / "dataset", labels="folder", progress=False)


def test_generate_makes_the_same_take_by_default_and_a_new_one_with_seed_none():
    import numpy as np

    model = audiornn.load_model("speech")
    assert audiornn.load_model(model) is model  # a model already loaded, given back (as generate takes one)
    same = [audiornn.generate(model, seconds=0.1, progress=False) for _ in range(2)]
    new = [audiornn.generate(model, seconds=0.1, seed=None, progress=False) for _ in range(2)]
    assert np.array_equal(*same) and not np.array_equal(*new)


@pytest.mark.slow
def test_sound_comparison_draws_a_model_alone_without_real_audio_and_says_when_the_real_audio_is_short(
        sine_run, sine_dataset, caplog):
    folder, _ = sine_run
    alone = sound_comparison("speech", seconds=0.2)  # a shipped model: no dataset at hand, none given
    titles = [axis.get_title() for axis in alone.axes if axis.get_title()]
    assert titles == ["generated (no real audio given to draw beside it)"]
    assert alone.axes[0].get_lines()[0].get_xdata().size == int(0.2 * 8000)
    # a run's model, by its folder or loaded from it, is drawn beside its own dataset's held-out audio
    for model in (folder, load_run_model(folder)):
        titles = [axis.get_title() for axis in sound_comparison(model, seconds=0.2).axes if axis.get_title()]
        assert titles == ["generated", f"real: held-out audio of dataset '{sine_dataset.path.name}'"]
    held = sine_dataset.samples("validation") / 8000
    with caplog.at_level("WARNING", logger="audiornn"):
        figure = sound_comparison(folder, dataset=sine_dataset, seconds=held + 5)
    assert f"the real audio to draw beside the generated is {held:.2f} s, not the {held + 5:g} s asked" in caplog.text
    assert [line.get_xdata().size for axis in figure.axes[:2] for line in axis.get_lines()] == \
        [sine_dataset.samples("validation")] * 2
    # the real panel says what it is: the dataset's held-out audio, or the files given (and how many more)
    assert figure.axes[1].get_title() == f"real: held-out audio of dataset '{sine_dataset.path.name}'"
    files = sorted(entry["path"] for entry in sine_dataset.metadata["sources"])
    given = sound_comparison(folder, audio=files, seconds=4.0)
    assert given.axes[1].get_title() == f"real: {Path(files[0]).name} and 1 more"


def test_in_a_jupyter_kernel_bars_and_info_lines_show(monkeypatch, capsys):
    # A kernel's output is no terminal: tqdm's own choice hid every bar there, and Python showed no info line
    import logging
    import sys
    import types

    from audiornn.config import bar_disabled, in_notebook, show_in_notebook

    assert not in_notebook() and bar_disabled(True) is None and bar_disabled(False) is True
    kernel = type("Shell", (type("ZMQInteractiveShell", (), {}),), {})()  # Colab's shell is made from Jupyter's
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: kernel))
    assert in_notebook() and bar_disabled(True) is False and bar_disabled(False) is True
    logger = logging.getLogger("audiornn")
    configured = logging.getLogger()
    monkeypatch.setattr(configured, "handlers", [logging.NullHandler()])  # a notebook that set up logging: its own
    monkeypatch.setattr(logger, "handlers", [])
    show_in_notebook()
    assert logger.handlers == []
    monkeypatch.setattr(configured, "handlers", [])
    monkeypatch.setattr(logger, "propagate", True)
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    show_in_notebook()
    assert len(logger.handlers) == 1 and not logger.propagate
    logger.info("an info line")
    logger.warning("a warning")
    assert capsys.readouterr().err.splitlines()[-2:] == ["an info line", "warning: a warning"]
    show_in_notebook()  # not a second handler
    assert len(logger.handlers) == 1
