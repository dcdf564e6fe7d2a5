"""Evaluation: real PNG figures, baselines on signals of known entropy, scores, bad input."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from audiornn.cli import main
from audiornn.errors import AudioFileError, AudioRNNError, ParameterError, RunError
from audiornn.evaluation import (
    plot_contact_sheet,
    plot_history,
    plot_sound_comparison,
    read_history,
    save_figure,
    score_audio,
)
from audiornn.runs import load_run_model

from conftest import REPOSITORY, SINE_FREQUENCY, one_line, sine

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def fake_run(folder, rows):
    folder.mkdir()
    lines = ["epoch,loss,accuracy,bits_per_sample,val_loss,val_accuracy,val_bits_per_sample,learning_rate,seconds"]
    lines += [",".join(str(value) for value in row) for row in rows]
    (folder / "history.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_curves_of_several_runs_are_one_png_with_every_series(tmp_path):
    first = fake_run(tmp_path / "alpha", [(1, 5.0, 0.1, 7.2, 4.9, 0.1, 7.1, 1e-3, 2), (2, 4.0, 0.2, 5.8, 4.1, 0.2, 5.9, 1e-3, 2)])
    second = fake_run(tmp_path / "beta", [(1, 5.5, 0.1, 7.9, 5.4, 0.1, 7.8, 1e-3, 2)])
    figure = plot_history([first, second])
    labels = {line.get_label() for axis in figure.axes for line in axis.get_lines()}
    assert labels == {"alpha training", "alpha validation", "beta training", "beta validation"}
    bits_axis = [axis for axis in figure.axes if axis.get_title() == "bits per sample"][0]
    validation = [line for line in bits_axis.get_lines() if line.get_label() == "alpha validation"][0]
    np.testing.assert_allclose(validation.get_ydata(), [7.1, 5.9])
    path = save_figure(figure, tmp_path / "curves.png")
    assert path.read_bytes()[:8] == PNG_SIGNATURE and path.stat().st_size > 10_000


def test_curves_against_minutes_put_each_epoch_at_the_time_its_run_had_trained(tmp_path, capsys):
    slow = fake_run(tmp_path / "slow", [(1, 5.0, 0.1, 7.2, 4.9, 0.1, 7.1, 1e-3, 90), (2, 4.0, 0.2, 5.8, 4.1, 0.2, 5.9, 1e-3, 30)])
    fast = fake_run(tmp_path / "fast", [(1, 5.5, 0.1, 7.9, 5.4, 0.1, 7.8, 1e-3, 12), (2, 5.0, 0.1, 7.0, 5.0, 0.1, 6.9, 1e-3, 12),
                                        (3, 4.8, 0.1, 6.8, 4.8, 0.1, 6.7, 1e-3, 12)])
    figure = plot_history([slow, fast], x_axis="minutes")
    bits_axis = [axis for axis in figure.axes if axis.get_title() == "bits per sample"][0]
    lines = {line.get_label(): line for line in bits_axis.get_lines()}
    np.testing.assert_allclose(lines["slow validation"].get_xdata(), [1.5, 2.0])  # 90 s, then 30 s more
    np.testing.assert_allclose(lines["fast validation"].get_xdata(), [0.2, 0.4, 0.6])
    assert bits_axis.get_xlabel() == "minutes of training"
    np.testing.assert_allclose(plot_history(slow).axes[2].get_lines()[1].get_xdata(), [1, 2])  # epochs by default
    with pytest.raises(ParameterError, match="x_axis is one of epoch, minutes; got 'hours'"):
        plot_history(slow, x_axis="hours")
    # a history without its epochs' seconds cannot be placed in time: said, naming the run
    lines_ = (slow / "history.csv").read_text().splitlines()
    (slow / "history.csv").write_text("\n".join([lines_[0], lines_[1].rsplit(",", 1)[0] + ",", lines_[2]]) + "\n")
    with pytest.raises(RunError, match="'.*slow' has epochs without their seconds"):
        plot_history(slow, x_axis="minutes")
    # from the command line
    assert main(["eval", str(fast), "--x-axis", "minutes", "--quiet"]) == 0
    assert (fast / "curves.png").read_bytes()[:8] == PNG_SIGNATURE
    with pytest.raises(SystemExit):
        main(["eval", str(fast), "--x-axis", "hours"])
    assert "invalid choice: 'hours'" in capsys.readouterr().err


def test_curves_of_runs_of_other_rates_or_classes_name_them_in_the_legend(tmp_path, caplog):
    rows = [(1, 5.0, 0.1, 7.2, 4.9, 0.1, 7.1, 1e-3, 2)]
    runs = [fake_run(tmp_path / name, rows) for name in ("narrow", "wide", "coarse")]
    for run, rate, mu in zip(runs, (8000, 16000, 8000), (255, 255, 15)):
        (run / "config.json").write_text(json.dumps({"audio": {"sample_rate": rate, "mu": mu}}))
    with caplog.at_level("WARNING", logger="audiornn"):
        figure = plot_history(runs)
    labels = {line.get_label() for line in figure.axes[0].get_lines()}
    assert {"narrow (8 kHz, 256 classes) validation", "wide (16 kHz, 256 classes) validation",
            "coarse (8 kHz, 16 classes) validation"} <= labels
    assert "differ in sample rate or classes (narrow: 8000 Hz, 256 classes, wide: 16000 Hz" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="audiornn"):  # alike: their names alone, nothing said
        assert {line.get_label() for line in plot_history(runs[:1] * 2, names=["a", "b"]).axes[0].get_lines()} == \
            {"a training", "a validation", "b training", "b validation"}
    assert caplog.text == ""


def test_a_run_with_health_checks_gets_a_health_panel(tmp_path):
    folder = fake_run(tmp_path / "checked", [(1, 5.0, 0.1, 7.2, 4.9, 0.1, 7.1, 1e-3, 2),
                                             (2, 4.0, 0.2, 5.8, 4.1, 0.2, 5.9, 1e-3, 2)])
    lines = (folder / "history.csv").read_text().splitlines()
    lines[0] += ",sound_frechet,health_in_range,health_collapsed,health_ran_away,health_frozen,health_held_partials"
    lines[1] += ",,,,,,"  # no check on epoch 1
    lines[2] += ",,0.75,1,0,2,0.5"
    (folder / "history.csv").write_text("\n".join(lines) + "\n")
    plain = fake_run(tmp_path / "plain", [(1, 5.5, 0.1, 7.9, 5.4, 0.1, 7.8, 1e-3, 2)])
    assert len(plot_history(plain).axes) == 3  # no health panel without checks
    figure = plot_history([folder, plain])
    health = [axis for axis in figure.axes if axis.get_title().startswith("health")][0]
    [level] = health.get_lines()
    np.testing.assert_allclose(level.get_xdata(), [2])
    np.testing.assert_allclose(level.get_ydata(), [75])
    [stuck] = [line for axis in figure.axes for line in axis.get_lines() if line.get_label() == "checked streams stuck"]
    np.testing.assert_allclose(stuck.get_ydata(), [3])
    assert save_figure(figure, tmp_path / "curves.png").read_bytes()[:8] == PNG_SIGNATURE
    # The healthiest check (state.json's) is starred.
    (folder / "state.json").write_text(json.dumps({"epochs_completed": 2, "healthiest": {"epoch": 2}}))
    health = [axis for axis in plot_history(folder).axes if axis.get_title().startswith("health")][0]
    [star] = [line for line in health.get_lines() if line.get_label() == "checked healthiest (epoch 2)"]
    np.testing.assert_allclose(star.get_ydata(), [75])
    # Streams with loud bursts or few held tones (columns since the thirty-seventh session) beside the stuck
    lines[0] += ",health_stuck,health_burst,health_few_tones"
    lines[1] += ",,,"
    lines[2] += ",3,2,1"
    (folder / "history.csv").write_text("\n".join(lines) + "\n")
    [flawed] = [line for axis in plot_history(folder).axes for line in axis.get_lines()
                if line.get_label() == "checked with loud bursts or few held tones"]
    np.testing.assert_allclose(flawed.get_xdata(), [2])
    np.testing.assert_allclose(flawed.get_ydata(), [3])


def test_pictures_of_sound_are_pngs(tmp_path):
    rate = 8000
    generated, real = sine(300, 1.0, rate), sine(500, 1.2, rate)
    figure = plot_sound_comparison(generated, real, rate)
    waveform = figure.axes[0].get_lines()[0]
    assert waveform.get_xdata().size == rate  # cut to the same length
    # Levels over time in dB, under the spectrograms: a sine at 0.5 is 9 dB under full scale, silence at the floor
    quiet = plot_sound_comparison(np.concatenate([sine(300, 0.5, rate), np.zeros(rate // 2)]), real, rate)
    level = quiet.axes[4].get_lines()[0]
    assert quiet.axes[4].get_ylabel().startswith("level, dB")
    assert np.median(level.get_ydata()[level.get_xdata() < 0.45]) == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)),
                                                                                    abs=0.2)
    assert np.max(level.get_ydata()[level.get_xdata() > 0.55]) == -80.0
    assert save_figure(figure, tmp_path / "sound.png").read_bytes()[:8] == PNG_SIGNATURE
    assert figure._repr_png_()[:8] == PNG_SIGNATURE  # a notebook cell's value shows itself, without %matplotlib
    sheet = plot_contact_sheet({f"epoch {index}": sine(200 * index, 0.5, rate) for index in range(1, 6)}, rate,
                               columns=3)
    titles = [axis.get_title() for axis in sheet.axes if axis.get_visible() and axis.get_title()]
    assert titles == [f"epoch {index}" for index in range(1, 6)]
    assert save_figure(sheet, tmp_path / "sheet.png").read_bytes()[:8] == PNG_SIGNATURE


def test_a_contact_sheet_of_long_names_and_several_lengths_keeps_each_panel_readable():
    rate = 8000
    long = "runs/a-much-longer-run-name-than-usual-speech-16k"
    sounds = {f"{long} best.keras (epoch 12)": sine(300, 6.0, rate), f"{long} epoch-0003": sine(300, 2.0, rate)}
    notes = {label: "6.0 s: sound distance 123 (floor 45, ceiling 678)" for label in sounds}
    sheet = plot_contact_sheet(sounds, rate, notes=notes)
    shown = [axis for axis in sheet.axes if axis.get_title()]
    for axis in shown:  # wrapped within a panel's width, not running into the next panel's
        assert max(len(line) for line in axis.get_title().splitlines()) <= 40
        assert max(len(line) for line in axis.get_xlabel().splitlines()) <= 40
    # A 2 s preview beside a 6 s sound spans its own panel, not a third of a shared axis
    assert [round(axis.get_xlim()[1]) for axis in shown] == [6, 2]
    same = plot_contact_sheet({"a": sine(300, 1.0, rate), "b": sine(300, 1.0, rate)}, rate)
    assert same.axes[0].get_shared_x_axes().joined(same.axes[0], same.axes[1])


@pytest.mark.slow
def test_bad_evaluation_input_is_a_clear_error(tmp_path, sine_run, sine_dataset):
    (tmp_path / "empty_run").mkdir()
    with pytest.raises(RunError, match="has no history.csv"):
        read_history(tmp_path / "empty_run")
    (tmp_path / "empty_run" / "history.csv").write_text("epoch,loss\n")
    with pytest.raises(RunError, match="holds no epochs yet"):
        read_history(tmp_path / "empty_run")
    with pytest.raises(RunError, match="is a file, not a run folder"):  # a model file given as a run
        read_history(sine_run[0] / "model.keras")
    from audiornn.commands import evaluate_command

    (tmp_path / "copied").mkdir()
    shutil.copy(sine_run[0] / "history.csv", tmp_path / "copied" / "history.csv")
    written = evaluate_command([tmp_path / "copied" / "history.csv"], progress=False)[2]  # a history named itself
    assert written == [tmp_path / "copied" / "curves.png"] and written[0].is_file()
    (tmp_path / "binary.csv").write_bytes(bytes(range(128, 256)))
    with pytest.raises(RunError, match="is not a training history"):
        read_history(tmp_path / "binary.csv")
    (tmp_path / "broken.wav").write_bytes(b"not audio at all")
    with pytest.raises(AudioFileError, match="cannot read audio file '.*broken.wav'"):
        score_audio(load_run_model(sine_run[0]), [tmp_path / "broken.wav"], dataset=sine_dataset, progress=False)


@pytest.mark.slow
def test_eval_command_writes_curves_score_and_pictures(sine_run, sine_dataset, tmp_path, capsys, write_audio):
    folder, _ = sine_run
    held_out = write_audio("held.wav", sine(SINE_FREQUENCY, 1.5, 8000, amplitude=0.6))
    code = main(["eval", str(folder), "--model", str(folder), "--audio", str(held_out), "--sound",
                 "--contact-sheet", "--seconds", "1", "--json", str(tmp_path / "score.json"),
                 "--output", str(tmp_path), "--quiet"])
    assert code == 0
    output = capsys.readouterr().out
    assert "model" in output and "linear predictor 16" in output and "unigram" in output
    assert "sound distance to the training audio" in output and "(ceiling)" in output and "(floor)" in output
    score = json.loads((tmp_path / "score.json").read_text())
    assert score["model_file"] == str(folder.absolute()) and score["seed"] == 0  # what was scored, and how
    assert score["model"]["bits_per_sample"] < score["baselines"]["unigram"]
    sound = score["sound"]
    assert sound["seconds"] == 1.0 and sound["floor"]["frechet"] < sound["ceiling"]["frechet"]
    assert sound["model"]["frechet"] > 0 and sound["validation_bits_per_sample"] > 0
    # ... and to the --audio files, as a shipped model's is: the same sound, another reference, side by side
    assert "sound distance to --audio" in output and "a shipped one, is held to: read this table beside such a model's" in output
    assert sound["against_audio"]["model"]["frechet"] > 0
    assert sound["against_audio"]["model"]["frechet"] != sound["model"]["frechet"]
    # (files too short to hold a sound to are said so, and the rest of the evaluation stands)
    short = write_audio("short.wav", sine(SINE_FREQUENCY, 0.5, 8000, amplitude=0.6))
    assert main(["eval", "--model", str(folder), "--audio", str(short), "--sound", "--seconds", "1", "--json",
                 str(tmp_path / "short.json"), "--output", str(tmp_path / "short"), "--quiet"]) == 0
    assert "no sound distance to the --audio files: --audio '" in capsys.readouterr().out
    sound = json.loads((tmp_path / "short.json").read_text())["sound"]
    assert "against_audio" not in sound and sound["model"]["frechet"] > 0
    # The sound score carries the generated audio's health against the training audio's levels.
    assert "health of model (1 s, seed 0): one window of 1 s (shorter than 2 s)" in output
    assert sound["health"]["reference"]["p90"] >= sound["health"]["reference"]["p10"] > 0
    for name in ("curves.png", "sound.png", "contact_sheet.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_SIGNATURE
    assert main(["eval", str(tmp_path / "nothing"), "--quiet"]) == 2
    assert "nothing' does not exist: check the path" in capsys.readouterr().err


@pytest.mark.slow
def test_the_contact_sheet_notes_each_sounds_distance(sine_run):
    from audiornn.evaluation import checkpoint_previews, checkpoint_sound_notes

    folder, _ = sine_run
    sounds, rate = checkpoint_previews([folder], seconds=1.0)
    notes = checkpoint_sound_notes([folder], sounds)
    assert set(notes) == set(sounds)
    # with each sound's length: the distance grows with it, so sounds of other lengths do not compare by it
    assert all(note.startswith(f"{len(sounds[label]) / rate:.1f} s: sound distance ") for label, note in notes.items())
    assert checkpoint_sound_notes([folder], {f"{folder.name} short": np.ones(100) * 0.1}) == {}


def test_a_contact_sheet_of_runs_of_two_rates_is_refused_before_generating_and_names_each_models_epoch(
        sine_run, tmp_path, monkeypatch, capsys):
    import soundfile

    from audiornn import generation
    from audiornn.evaluation import checkpoint_previews

    folder, _ = sine_run
    wide = tmp_path / "wide"
    (wide / "previews").mkdir(parents=True)
    soundfile.write(str(wide / "previews" / "epoch_0001.wav"), sine(300, 0.5, 16000), 16000)
    made = []
    real = generation.generate
    monkeypatch.setattr(generation, "generate", lambda *a, **k: made.append(a) or real(*a, **k))
    with pytest.raises(AudioRNNError, match=f"different sample rates \\({folder.name}: 8000 Hz, wide: 16000 Hz\\).*"
                                            f"nothing was generated"):
        checkpoint_previews([folder, wide], seconds=0.2)
    assert made == []
    state = json.loads((folder / "state.json").read_text())
    sounds, rate = checkpoint_previews([folder], seconds=0.2)
    expected = [f"{folder.name} model.keras (epoch {state['best_epoch']})"]
    if state["epochs_completed"] != state["best_epoch"]:  # (the last epoch is drawn only where it is another)
        expected.append(f"{folder.name} last.keras (epoch {state['epochs_completed']})")
    assert list(sounds) == expected and rate == 8000 and len(made) == len(expected)
    # from the command line: the curves written before the sheet was refused are said, not left unmentioned
    (wide / "history.csv").write_text((folder / "history.csv").read_text())
    capsys.readouterr()
    assert main(["eval", str(folder), str(wide), "--contact-sheet", "--output", str(tmp_path / "out")]) == 2
    shown = capsys.readouterr()
    assert f"wrote {tmp_path / 'out' / 'curves.png'}" in shown.out and "different sample rates" in shown.err


@pytest.mark.slow  # over 3 s on 2 cores
def test_eval_sound_without_a_dataset_is_held_to_the_audio_given_and_a_json_in_a_missing_folder_is_made(
        sine_run, sine_dataset, tmp_path, capsys):
    folder, _ = sine_run
    model = folder / "model.keras"
    alone = tmp_path / "alone.keras"
    alone.write_bytes(model.read_bytes())
    held_out = sine_dataset.metadata["sources"][0]["path"]
    # no training audio and no --audio: nothing to hold the sound to, refused saying both ways
    assert main(["eval", "--model", str(alone), "--sound", "--seconds", "1", "--quiet"]) == 2
    shown = capsys.readouterr()
    assert "--sound scores the generated audio against the model's training audio: pass --dataset DIR" in shown.err
    assert "or --audio FILE..." in shown.err
    # a model without its dataset (a shipped one, a file copied out of its run) is held to the --audio given
    json_path = tmp_path / "sound.json"
    assert main(["eval", "--model", str(alone), "--audio", held_out, "--sound", "--seconds", "1", "--output",
                 str(tmp_path / "alone"), "--json", str(json_path), "--quiet"]) == 0
    shown = capsys.readouterr().out
    assert "sound distance to --audio" in shown and "at the level of --audio" in shown
    sound = json.loads(json_path.read_text())["sound"]
    assert sound["model"]["frechet"] > 0 and 0 <= sound["health"]["in_range"] <= 1
    assert (tmp_path / "alone" / "sound.png").is_file()
    # --json into a missing folder: made, as --output's is; taken away again when eval fails
    assert main(["eval", "--model", str(alone), "--sound", "--seconds", "1", "--json",
                 str(tmp_path / "gone" / "x.json"), "--quiet"]) == 2
    assert not (tmp_path / "gone").exists()
    assert main(["eval", "--model", str(folder), "--sound", "--seconds", "1", "--json",
                 str(tmp_path / "no" / "x.json"), "--quiet"]) == 0
    assert json.loads((tmp_path / "no" / "x.json").read_text())["sound"]["model"]["frechet"] > 0
    # --json into the --output folder, which eval makes
    assert main(["eval", str(folder), "--model", str(folder), "--seconds", "1", "--output", str(tmp_path / "figures"),
                 "--json", str(tmp_path / "figures" / "x.json"), "--quiet"]) == 0
    assert (tmp_path / "figures" / "x.json").is_file()


@pytest.mark.slow
def test_eval_replaces_its_own_figures_and_nothing_else_without_overwrite(sine_run, tmp_path, capsys):
    from matplotlib.figure import Figure

    from audiornn.files import is_figure

    folder, _ = sine_run
    out = tmp_path / "figures"
    assert main(["eval", str(folder), "--output", str(out), "--quiet"]) == 0
    assert is_figure(out / "curves.png")
    assert main(["eval", str(folder), "--output", str(out), "--quiet"]) == 0  # its own figure: replaced
    capsys.readouterr()
    Figure().savefig(out / "curves.png", format="png")  # a user's own matplotlib figure: refused
    assert main(["eval", str(folder), "--output", str(out), "--quiet"]) == 2
    assert "(not a figure audiornn drew)" in one_line(capsys)
    copy = tmp_path / "copy"  # in a run folder, where eval wrote them before they said audiornn: replaced
    shutil.copytree(folder, copy)
    Figure().savefig(copy / "curves.png", format="png")
    assert main(["eval", str(copy), "--quiet"]) == 0 and is_figure(copy / "curves.png")
    (out / "curves.png").write_bytes(b"my own picture")
    (tmp_path / "score.json").write_text('{"mine": 1}')
    assert main(["eval", str(folder), "--output", str(out), "--quiet"]) == 2
    error = one_line(capsys)
    assert "curves.png' (not a figure audiornn drew) already exists" in error and "--overwrite" in error
    assert (out / "curves.png").read_bytes() == b"my own picture" and not is_figure(out / "curves.png")
    assert main(["eval", "--model", str(folder), "--json", str(tmp_path / "score.json"), "--output", str(out),
                 "--quiet"]) == 2
    assert "--json" in one_line(capsys) and (tmp_path / "score.json").read_text() == '{"mine": 1}'
    assert main(["eval", str(folder), "--output", str(out), "--overwrite", "--quiet"]) == 0
    assert is_figure(out / "curves.png")
    # A folder under a figure's name, or as --json, is refused before any work, even with --overwrite; --json
    # without --model (nothing to write) is refused too.
    (tmp_path / "other" / "curves.png").mkdir(parents=True)
    for arguments, message in (([str(folder), "--output", str(tmp_path / "other"), "--overwrite"],
                                "curves.png' is a folder, where eval would write its figure"),
                               (["--model", str(folder), "--json", str(out), "--overwrite"], "is a folder: name a file"),
                               ([str(folder), "--json", str(tmp_path / "new.json")], "--json writes a model's scores")):
        assert main(["eval", *arguments, "--quiet"]) == 2
        assert message in one_line(capsys)
    # --json never writes over what eval reads, even with --overwrite: a file it scores, an audio file in a folder
    # it scores, the model, a run's own files; scores it wrote in the run before are replaced
    recording = tmp_path / "takes" / "take.wav"
    recording.parent.mkdir()
    shutil.copy(REPOSITORY / "data" / "agent-alreadyon.wav", recording)
    kept = {path: path.read_bytes() for path in (recording, copy / "config.json", copy / "model.keras")}
    for arguments, message in (
            (["--model", str(copy), "--audio", str(recording), "--json", str(recording)], "one of the files it scores"),
            (["--model", str(copy), "--audio", str(recording.parent), "--json", str(recording)],
             "an audio file in a folder given to --audio"),
            (["--model", str(copy / "model.keras"), "--audio", str(recording), "--json", str(copy / "model.keras")],
             "the model it scores"),
            (["--model", str(copy), "--audio", str(recording), "--json", str(copy / "config.json")],
             "a file of a run or dataset folder it reads")):
        assert main(["eval", *arguments, "--overwrite", "--quiet"]) == 2
        assert f"{message}: it would be written over with the scores, even with --overwrite" in one_line(capsys)
    assert all(path.read_bytes() == content for path, content in kept.items())
    # the run's own dataset, and the --labels list, are read too
    from audiornn.commands import evaluate_command
    from audiornn.runs import run_dataset_path

    metadata = Path(run_dataset_path(copy)) / "metadata.json"
    labels = tmp_path / "labels.csv"
    labels.write_text(f"{recording},a\n")
    before = metadata.read_bytes()
    for arguments, message in (
            (["--model", str(copy), "--json", str(metadata)], "a file of a run or dataset folder it reads"),
            (["--model", str(copy), "--audio", str(recording), "--labels", str(labels), "--json", str(labels)],
             "the --labels list it reads")):
        assert main(["eval", *arguments, "--overwrite", "--quiet"]) == 2
        assert message in one_line(capsys)
    assert metadata.read_bytes() == before and labels.read_text() == f"{recording},a\n"
    # the API takes one path, or a dict of one path, as well as lists
    for audio in (str(recording.parent), {"a": str(recording.parent)}):
        with pytest.raises(ParameterError, match="an audio file in a folder given to --audio"):
            evaluate_command(model=str(copy), audio=audio, json_path=str(recording), overwrite=True, progress=False)
    assert kept[recording] == recording.read_bytes()
    for _ in range(2):
        assert main(["eval", "--model", str(copy), "--audio", str(recording), "--json", str(copy / "score.json"),
                     "--overwrite", "--quiet"]) == 0
    assert "bits_per_sample" in json.loads((copy / "score.json").read_text())["model"]


@pytest.mark.slow
def test_eval_json_into_a_folder_that_cannot_be_written_is_refused_first(finished_run, tmp_path, monkeypatch, capsys):
    import tempfile

    def refuse(*arguments, **options):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)  # a read-only folder, even for root
    assert main(["eval", "--model", str(finished_run), "--audio", str(REPOSITORY / "data"),
                 "--json", str(tmp_path / "score.json"), "--quiet"]) == 74  # the machine's refusal, as train's
    error = one_line(capsys)
    assert "cannot write in" in error and "choose a folder you can write (nothing was done)" in error


def test_eval_output_is_made_or_refused_before_any_scoring(sine_run, sine_dataset, tmp_path, capsys):
    folder, _ = sine_run
    held_out = sine_dataset.metadata["sources"][0]["path"]
    assert main(["eval", "--model", str(folder), "--audio", held_out, "--output", "/dev/null/figures",
                 "--quiet"]) == 2
    shown = capsys.readouterr()
    assert "'/dev/null' is a file, not a folder" in shown.err and "bits/sample" not in shown.out
    assert main(["eval", str(folder), "--output", str(tmp_path / "new" / "figures"), "--quiet"]) == 0
    assert (tmp_path / "new" / "figures" / "curves.png").is_file()


def test_runs_of_one_name_are_told_apart_in_a_legend(tmp_path):
    from audiornn.evaluation import run_names

    assert run_names([tmp_path / "a", tmp_path / "b"]) == ["a", "b"]
    assert run_names([tmp_path / "exp1" / "run", tmp_path / "exp2" / "run", tmp_path / "c"]) == \
        ["exp1/run", "exp2/run", "c"]
    assert run_names([tmp_path / "x" / "exp" / "run", tmp_path / "y" / "exp" / "run"]) == ["x/exp/run", "y/exp/run"]
    assert run_names([tmp_path / "b", tmp_path / "b"]) == ["b", "b (2)"]  # the same run given twice


def test_characters_the_font_lacks_are_said_once_not_as_python_warnings(tmp_path, caplog):
    import warnings

    from matplotlib.figure import Figure

    figure = Figure()
    figure.subplots().set_title("runs/r1 é日本")
    with warnings.catch_warnings(record=True) as caught, caplog.at_level("WARNING", logger="audiornn"):
        warnings.simplefilter("always")
        path = save_figure(figure, tmp_path / "curves.png")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    assert not [warning for warning in caught if "missing from font" in str(warning.message)]
    assert "2 character(s) of its text (a run's name?) are not in the figure's font" in caplog.text


def test_an_eval_that_fails_takes_away_the_empty_output_folders_it_made(sine_run, tmp_path, capsys):
    folder, _ = sine_run
    assert main(["eval", "--model", str(folder), "--audio", str(tmp_path / "missing.wav"), "--output",
                 str(tmp_path / "figures" / "a" / "b"), "--quiet"]) == 2
    assert "missing.wav" in capsys.readouterr().err and not (tmp_path / "figures").exists()
    # one that wrote something before it failed keeps its folder, and what is in it
    wide = tmp_path / "wide"
    (wide / "previews").mkdir(parents=True)
    (wide / "history.csv").write_text((folder / "history.csv").read_text())
    import soundfile

    soundfile.write(str(wide / "previews" / "epoch_0001.wav"), sine(300, 0.5, 16000), 16000)
    assert main(["eval", str(folder), str(wide), "--contact-sheet", "--output", str(tmp_path / "kept"),
                 "--quiet"]) == 2
    assert [entry.name for entry in (tmp_path / "kept").iterdir()] == ["curves.png"]


def test_a_damaged_preview_is_named_on_the_contact_sheet(tmp_path):
    from audiornn.evaluation import checkpoint_previews

    run = tmp_path / "run"
    (run / "previews").mkdir(parents=True)
    (run / "previews" / "epoch_0001.wav").write_bytes(b"RIFF....not a wav")
    with pytest.raises(AudioRNNError, match=r"preview '.*epoch_0001.wav' cannot be read .*: remove it, or draw the "
                                            r"run without --contact-sheet"):
        checkpoint_previews([run])


def test_a_spectrograms_window_lasts_as_long_at_every_rate():
    from audiornn.evaluation import spectrogram_segment

    assert spectrogram_segment(8000, 10 ** 6) == 256  # 32 ms, as before at 8 kHz
    for rate in (16000, 22050, 44100, 48000):  # bins of 31 Hz or less, windows of 32 to 47 ms
        segment = spectrogram_segment(rate, 10 ** 6)
        assert rate / segment <= 32 and 0.032 <= segment / rate <= 0.047
    assert spectrogram_segment(1000, 2000) == 32  # a 2 s sound at 1 kHz: 32 ms, not a quarter of it
    assert spectrogram_segment(44100, 800) == 100  # a short sound: an eighth of it
