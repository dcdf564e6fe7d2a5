"""The scripts: thin wrappers whose errors are one clear line and exit code 2."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from audiornn import open_dataset
from audiornn.cli import main
from audiornn.errors import ParameterError

REPOSITORY = Path(__file__).resolve().parent.parent


def test_data_subcommand_builds_a_dataset(speech_like_folder, tmp_path, capsys):
    code = main(["data", str(speech_like_folder), "--output", str(tmp_path / "ds"), "--sample-rate",
                 "16000", "--mu", "127", "--preemphasis", "0.9", "--validation-fraction", "0.2",
                 "--trim-silence", "50", "--quiet"])
    assert code == 0
    dataset = open_dataset(tmp_path / "ds")
    assert (dataset.audio_config.sample_rate, dataset.audio_config.mu,
            dataset.audio_config.preemphasis) == (16000, 127, 0.9)
    assert dataset.metadata["trim_silence_db"] == 50
    assert "dataset: " in capsys.readouterr().out


def test_the_data_command_says_why_files_were_skipped_and_keeps_near_copies_when_asked(tmp_path, capsys):
    first, rate = soundfile.read(str(REPOSITORY / "data" / "agent-user.wav"), dtype="float32")
    for folder, level in (("a", 1.0), ("b", 0.5)):  # one recording at two levels under one name
        (tmp_path / folder).mkdir()
        soundfile.write(str(tmp_path / folder / "take.wav"), level * first, rate)
    (tmp_path / "a" / "empty.wav").write_bytes(b"")
    inputs = [str(tmp_path / "a"), str(tmp_path / "b")]
    assert main(["data", *inputs, "--output", str(tmp_path / "ds"), "--quiet"]) == 0
    assert "2 file(s) skipped: 1 duplicate, 1 empty)" in capsys.readouterr().out
    assert main(["data", *inputs, "--output", str(tmp_path / "all"), "--quiet", "--keep-near-copies"]) == 0
    assert "1 file(s) skipped: 1 empty)" in capsys.readouterr().out
    assert open_dataset(tmp_path / "all").metadata["keep_near_copies"] is True


@pytest.mark.parametrize("arguments, message", [
    (["data", "/no/such/file.wav", "--output", "{tmp}/ds"], "input '/no/such/file.wav' does not exist"),
    (["data", "{data}", "--output", "{tmp}/ds", "--mu", "300"], "mu must be an integer from 1 to 255"),
    (["data", "{data}", "--output", "{tmp}/ds", "--preemphasis", "1.5"], r"preemphasis must be a number"),
    (["data", "{data}", "--output", "{tmp}/ds", "--sample-rate", "50"], "--sample-rate must be"),
    (["data", "{data}", "--output", "/dev/null/ds"], "'/dev/null' is a file, not a folder: choose another"),
    (["train", "{data}", "--output", "{tmp}/run", "--init-from", "vocoder-16k", "--features", "hifigan"],
     "--features hifigan is made at 22050 Hz and --init-from 'vocoder-16k' was trained at 16000 Hz: give its own "
     "--features speecht5"),
    (["train", "{data}", "--output", "/dev/null/run"], "'/dev/null' is a file, not a folder: choose another --output"),
    (["train", "{data}", "--output", "{tmp}/run", "--window", "500"],
     "--window sets the seed preset's context, and this model is the default preset.*give --preset seed too"),
    (["train", "{data}", "--output", "{tmp}/run", "--preset", "seed", "--sequence-length", "500"],
     "the seed preset reads windows of --window samples \\(default 1000\\), not --sequence-length"),
    (["train", "{data}", "--output", "{tmp}/run", "--validation-fraction", "0"],
     "--validation-fraction 0 holds out no audio, and training needs some"),
    (["train", "{data}", "--output", "{tmp}/run", "--trim-silence", "-3"], "--trim-silence must be a positive"),
    (["train", "--dataset", "{data}", "--output", "{tmp}/run", "--strict"],
     "--strict says how INPUT audio becomes the run's dataset; with --dataset the dataset is built already"),
    (["train", "--resume", "{tmp}/run", "--validation-fraction", "0.2", "--trim-silence", "40"],
     "--validation-fraction, --trim-silence say how INPUT audio becomes the run's dataset; with --resume"),
    (["train", "{data}", "--output", "{tmp}/run", "--health-seconds", "8"],
     "--health-seconds sizes the health checks of --health-every N, and no check is asked for"),
    (["train", "{data}", "--output", "{tmp}/run", "--health-every", "0", "--health-streams", "4"],
     "--health-streams sizes the health checks of --health-every N, and no check is asked for"),
])
def test_bad_arguments_give_one_line_and_exit_code_2(arguments, message, speech_like_folder, tmp_path, capsys):
    filled = [item.format(tmp=tmp_path, data=speech_like_folder) for item in arguments]
    assert main(filled + ["--quiet"]) == 2
    assert not (tmp_path / "run").exists() and not (tmp_path / "ds").exists()  # refused before anything is made
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert error.startswith("AudioRNN.py: error: ")
    import re
    assert re.search(message, error)


def test_missing_folders_above_an_output_are_created(speech_like_folder, tmp_path):
    from audiornn.runs import prepare_run_folder

    assert main(["data", str(speech_like_folder), "--output", str(tmp_path / "datasets" / "speech"), "--quiet"]) == 0
    assert (tmp_path / "datasets" / "speech" / "metadata.json").is_file()
    assert prepare_run_folder(tmp_path / "runs" / "a" / "run").is_dir()


@pytest.mark.slow
def test_data_script_is_the_same_command(speech_like_folder, tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPOSITORY / "AudioRNNData.py"), str(speech_like_folder), "--output",
         str(tmp_path / "ds"), "--quiet"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert open_dataset(tmp_path / "ds").samples("train") > 0
    again = subprocess.run(
        [sys.executable, str(REPOSITORY / "AudioRNNData.py"), str(tmp_path / "nothing"), "--output",
         str(tmp_path / "ds2")], capture_output=True, text=True, timeout=120)
    assert again.returncode == 2
    assert "AudioRNNData.py: error: input" in again.stderr and "does not exist" in again.stderr
    assert "Traceback" not in again.stderr
    # a warning reads as one with --quiet or without it; info lines (shown without it) are not named
    for quiet in ([], ["--quiet"]):
        sample = subprocess.run([sys.executable, str(REPOSITORY / "AudioRNNData.py"), "--output",
                                 str(tmp_path / f"sample{len(quiet)}"), *quiet], capture_output=True, text=True,
                                timeout=120)
        assert sample.returncode == 0, sample.stderr
        lines = sample.stderr.splitlines()
        assert [line for line in lines if "no INPUT given" in line][0].startswith("warning: no INPUT given: ")
        assert not [line for line in lines if line.startswith(("WARNING", "INFO"))], sample.stderr


@pytest.mark.slow
def test_train_subcommand_builds_trains_and_resumes(speech_like_folder, tmp_path, capsys):
    import json

    run = tmp_path / "run"
    small = ["--layers", "1", "--units", "16", "--embedding-dim", "8", "--lags", "4", "--batch-size", "8",
             "--sequence-length", "32", "--steps-per-epoch", "3", "--quiet"]
    assert main(["train", str(speech_like_folder), "--output", str(run), "--epochs", "1",
                 "--no-carry-state", "--input-noise", "3", "--validation-fraction", "0.2", "--trim-silence", "50",
                 *small]) == 0
    assert "best model: " in capsys.readouterr().out
    built = json.loads((run / "dataset" / "metadata.json").read_text())  # INPUT built as the data command builds
    assert (built["validation_fraction"], built["trim_silence_db"]) == (0.2, 50)
    config = json.loads((run / "config.json").read_text())
    assert config["training"]["carry_state"] is False and config["model"]["units"] == 16
    assert config["training"]["input_noise"] == 3.0
    assert (run / "dataset" / "metadata.json").is_file()
    capsys.readouterr()
    # Health checks can start on a resume: epoch 2 is checked, and train names the healthiest model.
    assert main(["train", "--resume", str(run), "--epochs", "2", "--health-every", "1", "--health-streams", "2",
                 "--health-seconds", "4", "--quiet"]) == 0
    shown = capsys.readouterr().out
    assert f"healthiest model: {run / 'healthiest.keras'} (epoch 2): " in shown
    # a check whose streams were all stuck is named the least bad, not a healthy model
    from audiornn.cli import _healthiest_line

    made = {"model": "run/healthiest.keras", "epoch": 3, "streams": 4, "in_range": 0.5}
    assert "not a healthy model" in _healthiest_line({**made, "stuck": 4})
    assert _healthiest_line({**made, "stuck": 3}).endswith("3 of 4 streams stuck, 50% of windows at the training level")
    assert _healthiest_line({**made, "stuck": 0, "burst": 2, "few_tones": 1}).endswith(
        "0 of 4 streams stuck, 2 with loud bursts, 1 with few held tones, 50% of windows at the training level")
    rows = (run / "history.csv").read_text().splitlines()
    epochs = [line.split(",")[0] for line in rows[1:]]
    assert epochs == ["1", "2"]
    in_range = rows[0].split(",").index("health_in_range")
    assert [line.split(",")[in_range] == "" for line in rows[1:]] == [True, False]
    # A resume whose checks are made otherwise does not compare them with epoch 2's, nor write over its model.
    checked = (run / "healthiest.keras").read_bytes()
    assert main(["train", "--resume", str(run), "--epochs", "3", "--health-seconds", "5", "--quiet"]) == 0
    assert "(epoch 3)" in capsys.readouterr().out
    assert (run / "healthiest-epoch0002.keras").read_bytes() == checked
    assert json.loads((run / "state.json").read_text())["healthiest"]["seconds"] == 5.0
    # With the healthiest model gone (deleted, or a copy of the run without it), there is nothing to keep: the
    # resume goes on.
    (run / "healthiest.keras").unlink()
    assert main(["train", "--resume", str(run), "--epochs", "4", "--health-seconds", "6", "--quiet"]) == 0
    assert (run / "healthiest.keras").is_file() and not (run / "healthiest-epoch0003.keras").exists()
    (run / "healthiest.keras").unlink()  # removed by hand: the summary no longer names it
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--epochs", "5", "--health-every", "0", "--quiet"]) == 0
    assert "healthiest model" not in capsys.readouterr().out
    # Model options, --no-peak (the Laplace prior's old flag) among them, cannot change a run being resumed.
    assert main(["train", "--resume", str(run), "--no-peak", "--quiet"]) == 2
    assert "differs from the run's" in capsys.readouterr().err
    # Nor do the flags of a new run's audio (they were trained on without a word before)
    history = (run / "history.csv").read_text()
    assert main(["train", "--resume", str(run), "--features", "mel", "--overwrite", "--quiet"]) == 2
    assert "--features, --overwrite do not apply to it" in capsys.readouterr().err
    assert (run / "history.csv").read_text() == history
    # A second new run into the same folder is refused without --overwrite.
    assert main(["train", str(speech_like_folder), "--output", str(run), *small]) == 2
    assert "already holds a run" in capsys.readouterr().err
    # --overwrite starts over from other audio too: the run's own dataset is rebuilt from it.
    other = tmp_path / "other"
    other.mkdir()
    for path in sorted(path for path in speech_like_folder.iterdir() if path.is_file())[:3]:
        shutil.copy(path, other / path.name)
    assert main(["train", str(other), "--output", str(run), "--epochs", "1", "--overwrite", *small]) == 0
    metadata = json.loads((run / "dataset" / "metadata.json").read_text())
    assert {Path(entry["path"]).parent for entry in metadata["sources"]} == {other}
    # An --overwrite refused for its options leaves the run and its dataset as they were ...
    built = (run / "dataset" / "metadata.json").read_bytes()
    assert main(["train", str(speech_like_folder), "--output", str(run), "--overwrite", "--health-every", "1",
                 "--health-streams", "100000", "--health-seconds", "100000", *small]) == 2
    assert "need about" in capsys.readouterr().err and (run / "dataset" / "metadata.json").read_bytes() == built
    # ... and a refused resume records none of its options.
    saved = (run / "config.json").read_bytes()
    assert main(["train", "--resume", str(run), "--epochs", "1", "--learning-rate", "0.5", "--quiet"]) == 2
    assert "already used its budget" in capsys.readouterr().err and (run / "config.json").read_bytes() == saved
    assert main(["train", "--resume", str(run), "--epochs", "2", "--health-seconds", "6", "--quiet"]) == 2
    assert "makes no health checks" in capsys.readouterr().err and (run / "config.json").read_bytes() == saved
    # A run whose own dataset was rebuilt from other audio since does not go on on it.
    assert main(["data", str(speech_like_folder), "--output", str(run / "dataset"), "--overwrite", "--quiet"]) == 0
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet"]) == 2
    assert "was built again from other audio or settings since the run trained on it: the run cannot go on" \
        in capsys.readouterr().err


def test_a_thin_scripts_help_bears_its_own_name(capsys):
    with pytest.raises(SystemExit):
        main(["data", "--help"], prog="AudioRNNData.py")
    shown = capsys.readouterr().out
    assert shown.startswith("usage: AudioRNNData.py [-h]") and "AudioRNN.py data" not in shown
    assert "raw G.722 as .g722" in " ".join(shown.split())


def test_a_wrong_option_is_said_with_the_usage_of_the_script_or_command_it_went_to(capsys, tmp_path, monkeypatch):
    from audiornn import __version__

    with pytest.raises(SystemExit):
        main(["eval", "--bogus"], prog="AudioRNNEval.py")
    shown = capsys.readouterr().err
    assert shown.startswith("usage: AudioRNNEval.py [-h]") and "COMMAND" not in shown
    assert shown.rstrip().endswith("AudioRNNEval.py: error: unrecognized arguments: --bogus")
    with pytest.raises(SystemExit):
        main(["train", "--dataset", "x", "--output", "y", "--bogus"])
    assert "AudioRNN.py train: error: unrecognized arguments: --bogus" in capsys.readouterr().err
    # a file named with a leading dash: how to give it
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-take.wav").write_bytes(b"")
    with pytest.raises(SystemExit):
        main(["data", "-take.wav", "--output", "out"], prog="AudioRNNData.py")
    assert "'-take.wav' is a file: give names that start with '-' after '--', as in -- -take.wav" in \
        capsys.readouterr().err
    # each script says the version, as AudioRNN.py does
    assert main(["eval", "--version"], prog="AudioRNNEval.py") == 0
    assert capsys.readouterr().out.strip() == f"audiornn {__version__}"


def test_the_help_names_the_configs_defaults_without_importing_keras():
    # The help reads its defaults from the config dataclasses, which need no Keras.
    script = (
        "import sys\n"
        "from audiornn.cli import build_parser\n"
        "text = build_parser()._subparsers._group_actions[0].choices['train'].format_help()\n"
        "print(' '.join(text.split()))\n"
        "print('keras' in sys.modules, 'tensorflow' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=REPOSITORY)
    assert result.returncode == 0, result.stderr
    text, imported = result.stdout.strip().splitlines()
    assert imported == "False False"
    from audiornn.config import ModelConfig, TrainConfig

    train, model = TrainConfig(), ModelConfig()
    for flag, value in [("--sequence-length", train.sequence_length), ("--batch-size", train.batch_size),
                        ("--learning-rate", train.learning_rate), ("--layers", model.num_layers),
                        ("--dense-units", model.dense_units), ("--units", model.units), ("--lags", model.lags)]:
        help_text = text.rsplit(flag, 1)[1].split(" --", 1)[0]  # the last mention is its help entry
        assert f"(default {value}" in help_text, (flag, help_text)


@pytest.mark.slow
def test_output_to_a_file_is_plain_lines_one_per_epoch(speech_like_folder, tmp_path):
    """What a log file or CI holds: no escape codes, one line per epoch, no TensorFlow start-up lines."""
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}

    def run(*arguments):
        with open(tmp_path / "out.txt", "w") as out, open(tmp_path / "err.txt", "w") as err:
            code = subprocess.run([sys.executable, str(REPOSITORY / "AudioRNN.py"), *arguments], stdout=out,
                                  stderr=err, timeout=600, cwd=tmp_path, env=environment).returncode
        return code, (tmp_path / "out.txt").read_text(), (tmp_path / "err.txt").read_text()

    code, out, err = run("train", str(speech_like_folder), "--output", str(tmp_path / "run"), "--epochs", "3",
                         "--steps-per-epoch", "2", "--units", "8", "--dense-units", "8", "--lags", "2",
                         "--batch-size", "4", "--sequence-length", "16")
    assert code == 0, err
    assert "\x1b" not in out + err and "\r" not in out + err
    epoch_lines = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epoch_lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert all("val_bits_per_sample" in line for line in epoch_lines)
    for noise in ("absl", "cuda", "cpu_feature_guard", "I0000", "E0000"):
        assert noise not in err, (noise, err)
    assert "training 1 x GRU 8" in err  # our own info lines stay
    code, out, err = run("generate", "--model", str(tmp_path / "run"), "--seconds", "0.5", "--output",
                         str(tmp_path / "out.wav"))
    assert code == 0, err
    assert "\x1b" not in out + err
    written, health = out.strip().splitlines()  # what was written, then how it keeps going (audiornn.health)
    assert written == f"wrote {tmp_path / 'out.wav'}" and health.startswith("health of out.wav: one window of 0.5 s (shorter than 2 s)")
    assert not [noise for noise in ("absl", "cuda", "I0000", "E0000") if noise in err], err


@pytest.mark.slow
def test_training_a_vocoder_prints_no_native_error_lines(speech_like_folder, tmp_path):
    # (TensorFlow's gradient of repeating each frame's vector transposed int32 indices, which oneDNN turned down
    # with an "E0000 ... oneDNN supports DT_INT32 only on platforms with AVX-512" line in every vocoder training)
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    built = subprocess.run([sys.executable, str(REPOSITORY / "AudioRNNData.py"), str(speech_like_folder), "--features",
                            "mel", "--output", str(tmp_path / "mel"), "--quiet"], capture_output=True, text=True,
                           timeout=600, cwd=tmp_path, env=environment)
    assert built.returncode == 0, built.stderr[-3000:]
    result = subprocess.run([sys.executable, str(REPOSITORY / "AudioRNN.py"), "train", "--dataset",
                             str(tmp_path / "mel"), "--output", str(tmp_path / "run"), "--epochs", "1",
                             "--steps-per-epoch", "2", "--units", "8", "--dense-units", "8", "--batch-size", "4",
                             "--quiet"], capture_output=True, text=True, timeout=600, cwd=tmp_path, env=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "(1 epoch, " in result.stdout
    assert not [noise for noise in ("E0000", "I0000", "W0000", "oneDNN", "cuInit") if noise in result.stderr], \
        result.stderr


@pytest.mark.tf_only
def test_multiworker_without_tf_config_is_refused(sine_dataset, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert main(["train", "--dataset", str(sine_dataset.path), "--output", str(tmp_path / "run"), "--distribute",
                 "multiworker", "--quiet"]) == 2
    assert "--distribute multiworker needs TF_CONFIG" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_the_demo_builds_its_own_dataset_again_when_the_sample_changed(tmp_path, speech_like_folder, monkeypatch):
    from audiornn import commands, training

    class Trained(Exception):
        pass

    def train(dataset, *args, **kwargs):
        raise Trained(dataset)

    monkeypatch.setattr(training, "train", train)
    built = []
    for touched in (False, False, True):
        if touched:  # a file's date changed (a git checkout, a touch): the recipe differs
            take = speech_like_folder / "take1.wav"
            os.utime(take, (take.stat().st_atime, take.stat().st_mtime + 100))
        with pytest.raises(Trained) as reached:
            commands.demo(tmp_path / "demo", speech_like_folder, progress=False, say=lambda line: None)
        built.append(reached.value.args[0].metadata["recipe_fingerprint"])
    assert built[0] == built[1] != built[2]  # reused while unchanged, built again (not refused) once touched


@pytest.mark.slow
def test_the_demo_draws_the_audio_it_generated_and_does_not_make_it_again(tmp_path, speech_like_folder, monkeypatch):
    # (sound.png's 4 s were generated a second time, and a clipping warning came twice, with two shares)
    from audiornn import commands, generation

    made = []
    real = generation.generate

    def counted(*args, **kwargs):
        made.append(kwargs.get("seconds"))
        return real(*args, **kwargs)

    monkeypatch.setattr(generation, "generate", counted)
    commands.demo(tmp_path / "demo", speech_like_folder, minutes=0.05, seconds=1.0, progress=False,
                  say=lambda line: None)
    assert made == [1.0]
    assert (tmp_path / "demo" / "sound.png").is_file()


def test_the_demo_writes_only_into_its_own_folder(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "score.json").write_text('{"mine": true}')
    assert main(["demo", "--output", str(folder), "--quiet"]) == 2
    assert "holds no audiornn demo" in capsys.readouterr().err
    assert json.loads((folder / "score.json").read_text()) == {"mine": True}
    assert sorted(entry.name for entry in folder.iterdir()) == ["score.json"]
    # --seconds and --minutes are checked before the minutes of training, not after
    for flags, message in ((["--seconds", "0"], "--seconds (seconds=) must be a positive number"),
                           (["--minutes", "-1"], "--minutes must be a positive number")):
        assert main(["demo", "--output", str(tmp_path / "new"), *flags, "--quiet"]) == 2
        assert message in capsys.readouterr().err and not (tmp_path / "new").exists()
    # With no subcommand the demo runs, and takes its own options (not an "unrecognized arguments" error)
    assert main(["--output", str(tmp_path / "new"), "--minutes", "-1", "--quiet"]) == 2
    assert "--minutes must be a positive number" in capsys.readouterr().err and not (tmp_path / "new").exists()
    with pytest.raises(SystemExit) as stopped:  # an option before a command belongs to that command
        main(["-q", "train", "data"])
    assert stopped.value.code == 2 and "-q goes after the command: AudioRNN.py train -q ..." in capsys.readouterr().err
    # The shell's *.wav with a file named -old.wav: "-o ld.wav", which the real --output would silently replace
    for command in (["data", "-old.wav", "take.wav", "--output", str(tmp_path / "ds")],
                    ["train", "-dash.wav", "--dataset", str(tmp_path / "ds"), "--output", str(tmp_path / "run")]):
        with pytest.raises(SystemExit) as stopped:
            main(command)
        assert stopped.value.code == 2 and re.search(r"given twice \('(ld|ash).wav', then '.*'\): name it once. A file "
                                                     r"whose name starts with '-' is read as an option: write it "
                                                     r"./-NAME", capsys.readouterr().err)
    assert not (tmp_path / "ds").exists()
    # A demo folder with a file of the user's beside it is said to be that, not "no demo"
    (tmp_path / "demo" / "run").mkdir(parents=True)
    (tmp_path / "demo" / "run" / "config.json").write_text(json.dumps({"format": "audiornn-run"}))
    (tmp_path / "demo" / "mynote.txt").write_text("mine")
    assert main(["demo", "--output", str(tmp_path / "demo"), "--quiet"]) == 2
    assert "holds mynote.txt beside an audiornn demo" in capsys.readouterr().err


def test_tensorboard_without_its_package_is_refused_before_training(sine_dataset, tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *rest: None if name == "tensorboard"
                        else real(name, *rest))
    assert main(["train", "--dataset", str(sine_dataset.path), "--output", str(tmp_path / "run"), "--tensorboard",
                 "--epochs", "1", "--quiet"]) == 2
    assert "the tensorboard package, which is not installed: install it" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_messages_name_what_the_user_typed(sine_run, tmp_path, write_audio, capsys, caplog):
    folder, _ = sine_run
    assert main(["generate", "--model", str(folder), "--prime", str(tmp_path / "missing.wav"), "--output",
                 str(tmp_path / "x.wav"), "--quiet"]) == 2
    assert "missing.wav' does not exist" in capsys.readouterr().err
    assert main(["data", str(REPOSITORY / "data"), "--output", str(tmp_path / "ds"), "--validation-fraction", "0.9",
                 "--quiet"]) == 2
    assert "--validation-fraction must be a number from 0 to 0.5" in capsys.readouterr().err
    tiny = write_audio("tiny/ten.wav", np.linspace(-0.5, 0.5, 10).astype(np.float32))
    assert main(["data", str(tiny.parent), "--output", str(tmp_path / "tiny_ds")]) == 0
    assert "shorter than one training window" in caplog.text


@pytest.mark.slow
def test_the_train_command_is_one_library_call_that_loads_its_starting_point_once(sine_run, tmp_path, monkeypatch):
    from audiornn import commands, runs
    from audiornn.cli import SAMPLE_DATA

    loads = []
    real = runs.load_run_model
    monkeypatch.setattr(runs, "load_run_model", lambda *a, **k: loads.append(a) or real(*a, **k))
    import audiornn.training as training

    monkeypatch.setattr(training, "load_run_model", runs.load_run_model)
    summary = commands.train_command([SAMPLE_DATA / "agent-user.wav", SAMPLE_DATA / "vm-forward.wav"],
                                     output=tmp_path / "run", init_from=sine_run[0], progress=False, verbose=0,
                                     train_options={"epochs": 1, "steps_per_epoch": 2, "batch_size": 4,
                                                    "sequence_length": 64})
    # Its audio settings build RUN/dataset and its weights start the run: one load of it (the run's own best
    # model is loaded after, to score it).
    assert [args[0] for args in loads].count(sine_run[0]) == 1
    assert summary["epochs"] == 1 and (tmp_path / "run" / "dataset" / "metadata.json").is_file()
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["init_from"] == str(sine_run[0].resolve())
    with pytest.raises(ParameterError, match="--init-from takes the model from a trained one: --units 9 would change it"):
        commands.train_command([], output=tmp_path / "other", init_from=sine_run[0], model_options={"units": 9})


def test_init_from_refuses_input_it_cannot_train_on_before_building_anything(tmp_path, capsys):
    from audiornn.cli import SAMPLE_DATA

    run = tmp_path / "run"
    inputs = [str(SAMPLE_DATA / "vm-forward.wav"), str(SAMPLE_DATA / "agent-user.wav")]
    assert main(["train", *inputs, "--output", str(run), "--init-from", "vocoder", "--epochs", "1", "--quiet"]) == 2
    assert "is a vocoder of 40 mel bands, a frame every 80 samples: add --features mel" in capsys.readouterr().err
    assert not run.exists()  # nothing built: the corrected command starts clean
    assert main(["train", *inputs, "--output", str(run), "--init-from", "speech", "--features", "mel",
                 "--epochs", "1", "--quiet"]) == 2
    assert "reads no spectrogram frames" in capsys.readouterr().err and not run.exists()
    # Frames of another kind than the vocoder's, at its rate: refused before RUN/dataset is built of them
    assert main(["train", *inputs, "--output", str(run), "--init-from", "vocoder-16k", "--features", "mel",
                 "--epochs", "1", "--quiet"]) == 2
    assert "not of --features mel: give --features speecht5" in capsys.readouterr().err and not run.exists()


def test_no_input_uses_the_bundled_sample_and_says_so_even_quiet(tmp_path, caplog, capsys):
    with caplog.at_level("WARNING", logger="audiornn"):
        assert main(["train", "--output", str(tmp_path / "run"), "--epochs", "0", "--quiet"]) == 2
        assert "no INPUT" not in caplog.text  # a refused command is one line: the warning comes after the checks
        assert main(["data", "--output", str(tmp_path / "ds"), "--quiet"]) == 0
    assert "no INPUT given: using the bundled sample in" in caplog.text
    assert {Path(source["path"]).parent for source in open_dataset(tmp_path / "ds").metadata["sources"]} \
        == {REPOSITORY / "data"}


@pytest.mark.slow
def test_tensorboard_writes_its_event_files_with_no_native_log_lines(sine_dataset, tmp_path):
    # The tensorboard package comes with the install (Pipfile, audiornn[tensorflow]); on JAX, TensorFlow starts
    # its runtime only when the first event is written, and its CUDA probe's error line stays off the terminal.
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, str(REPOSITORY / "AudioRNN.py"), "train", "--dataset",
                             str(sine_dataset.path), "--output", str(tmp_path / "run"), "--tensorboard", "--epochs",
                             "1", "--steps-per-epoch", "2", "--units", "8", "--dense-units", "8", "--lags", "2",
                             "--batch-size", "4", "--sequence-length", "16", "--quiet"],
                            capture_output=True, text=True, timeout=600, cwd=tmp_path, env=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    assert {path.parent.name for path in (tmp_path / "run" / "logs").rglob("events.out.tfevents.*")} \
        == {"train", "validation"}
    assert "run: " in result.stdout and "(1 epoch, " in result.stdout
    assert not [noise for noise in ("E0000", "I0000", "W0000", "cuInit") if noise in result.stderr], result.stderr


def test_an_interrupted_generate_says_that_nothing_was_kept(sine_run, tmp_path, monkeypatch, caplog):
    from audiornn import generation

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(generation, "generate", interrupted)
    assert main(["generate", "--model", str(sine_run[0]), "--seconds", "1", "--output", str(tmp_path / "x.wav")]) \
        == 130
    assert "interrupted: nothing generated was kept (a file is written only once it is complete)" in caplog.text
    assert not (tmp_path / "x.wav").exists()


def test_a_package_install_has_the_three_scripts_as_commands(monkeypatch, capsys):
    # pip install audiornn gave the library only: no command, and no python -m audiornn
    import importlib
    import tomllib

    scripts = tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]["scripts"]
    assert set(scripts) == {"audiornn", "audiornn-data", "audiornn-eval"}
    for command, target in scripts.items():
        module, function = target.split(":")
        monkeypatch.setattr(sys, "argv", [command, "--help"])
        with pytest.raises(SystemExit) as stopped:
            getattr(importlib.import_module(module), function)()
        assert stopped.value.code == 0
        usage = capsys.readouterr().out
        assert usage.startswith(f"usage: {command} "), usage[:200]
        assert ("--dataset" in usage) == (command == "audiornn-eval")  # each its own command's options
    result = subprocess.run([sys.executable, "-m", "audiornn", "--version"], capture_output=True, text=True,
                            timeout=300, cwd=REPOSITORY)
    assert result.returncode == 0 and result.stdout.startswith("audiornn "), result.stderr[-2000:]


def test_the_demo_of_a_package_install_says_where_the_sample_is(monkeypatch, tmp_path, capsys):
    # A package install has no data/ beside it: the demo says so, and what to do, before any work
    import audiornn.cli

    monkeypatch.setattr(audiornn.cli, "SAMPLE_DATA", tmp_path / "site-packages" / "data")
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--output", str(tmp_path / "demo")]) == 2
    said = capsys.readouterr().err
    assert "not in a package install" in said and "audiornn-data AUDIO... --output DIR" in said, said
    assert not (tmp_path / "demo").exists()


def test_messages_name_the_commands_of_a_package_install_where_the_scripts_are_not_beside_it(monkeypatch, tmp_path):
    # In a clone they say 'python AudioRNNData.py ...'; a package install has no such script, only its command
    import audiornn.config
    from audiornn import open_dataset
    from audiornn.errors import DatasetError, ModelFileError
    from audiornn.runs import load_model

    with pytest.raises(DatasetError, match=r"build one with 'python AudioRNNData.py AUDIO\.\.\. --output"):
        open_dataset(tmp_path / "nothing")
    monkeypatch.setattr(audiornn.config, "_SCRIPTS_FOLDER", tmp_path / "site-packages")
    with pytest.raises(DatasetError, match=r"build one with 'audiornn-data AUDIO\.\.\. --output"):
        open_dataset(tmp_path / "nothing")
    with pytest.raises(ModelFileError, match=r"'audiornn models' lists them"):
        load_model(str(tmp_path / "no-such-model"))
    # an editable install: the scripts lie beside the package, but the user runs its commands, elsewhere
    monkeypatch.undo()
    monkeypatch.setattr(sys, "argv", ["/home/user/.venv/bin/audiornn", "train"])
    with pytest.raises(DatasetError, match=r"build one with 'audiornn-data AUDIO\.\.\. --output"):
        open_dataset(tmp_path / "nothing")


def test_a_write_refused_by_the_machine_names_the_folder_not_its_working_files(monkeypatch, capsys):
    import errno

    import audiornn.cli as cli

    for path, shown in (("/runs/one/.lock", "cannot write in '/runs/one': Read-only file system"),
                        ("/figures/.curves.partial-21141-rzl1pxov.png", "cannot write in '/figures'"),
                        ("/figures/curves.png", "cannot write '/figures/curves.png'"),
                        ("/out/.take.wav", "cannot write '/out/.take.wav'")):  # (a user's own hidden file)
        def refused(arguments, path=path):
            raise OSError(errno.EROFS, "Read-only file system", path)

        monkeypatch.setattr(cli, "run_models", refused)
        assert main(["models"]) == 74
        said = capsys.readouterr().err
        assert shown in said and ".partial-" not in said and ".lock" not in said, said
        assert "Read-only file system" in said
