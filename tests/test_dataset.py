"""Building, reading and refusing dataset folders."""

import json
import re
import shutil
from pathlib import Path

import audiornn.dataset as dataset_module
import numpy as np
import pytest
import scipy.signal
import soundfile
from audiornn import AudioConfig, build_dataset, dsp, open_dataset
from audiornn.cli import main
from audiornn.dataset import plan_validation
from audiornn.errors import AudioFileError, DatasetError, ParameterError
from audiornn.training import TrainConfig, train

from conftest import REPOSITORY, SMALL_MODEL, SMALL_TRAINING, sine

SAMPLE_DATA = REPOSITORY / "data"


def test_build_reads_mixed_formats_rates_and_channels(speech_like_folder, tmp_path):
    dataset = build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    sources = dataset.metadata["sources"]
    assert {entry["label"] for entry in sources} == {
        "sub/take0.flac", "take1.wav", "sub/take2.flac", "take3.wav", "sub/take4.flac"}
    assert {entry["original_rate"] for entry in sources} == {8000, 16000, 44100, 22050}
    # Every file is resampled to 8 kHz: 1.0 + 0.25 * index seconds each.
    assert dataset.samples("train") + dataset.samples("validation") == pytest.approx(
        8000 * sum(1.0 + 0.25 * index for index in range(5)), abs=5)
    train = np.asarray(dataset.array("train"))
    assert train.dtype == np.uint8 and train.min() < 60 and train.max() > 195
    assert set(path.name for path in (tmp_path / "ds").iterdir()) == {
        "metadata.json", "train.u8", "validation.u8"}


def test_wideband_files_built_at_a_lower_rate_are_said_to_lose_their_high_band(write_audio, speech_like_folder,
                                                                               tmp_path, caplog):
    from conftest import sine

    files = [write_audio(f"wide{index}.wav", sine(300 + 100 * index, 1.0, 16000), rate=16000) for index in range(2)]
    with caplog.at_level("INFO", logger="audiornn"):
        build_dataset(files, tmp_path / "ds", progress=False)  # (the default 8 kHz)
    assert "the 2 file(s) of '" in caplog.text and "are all at 16000 Hz or more, resampled down to its 8000 Hz: " \
        "what they hold above 4000 Hz is left out (--sample-rate 16000 keeps it up to 8000 Hz)" in caplog.text
    caplog.clear()
    with caplog.at_level("INFO", logger="audiornn"):  # some at the dataset's rate: as one expects, unsaid
        build_dataset([speech_like_folder], tmp_path / "mixed", progress=False)
    assert "resampled down" not in caplog.text


def test_metadata_survives_a_round_trip(speech_like_folder, tmp_path, caplog):
    config = AudioConfig(sample_rate=16000, mu=127, preemphasis=0.9)
    with caplog.at_level("WARNING"):
        built = build_dataset([speech_like_folder], tmp_path / "ds", audio_config=config,
                              validation_fraction=0.2, progress=False)
    # The 8 kHz files are resampled up, and said to hold nothing above 4 kHz.
    assert "2 of the 5 file(s)" in caplog.text and "lower rate (8000 Hz) than its 16000 Hz" in caplog.text
    assert "nothing above half their rate (4000 Hz)" in caplog.text and "-g722 packages' .g722" in caplog.text
    assert "or build at their rate (--sample-rate 8000)" in caplog.text and "(take" in caplog.text  # named
    reopened = open_dataset(tmp_path / "ds", audio_config=config)
    assert reopened.metadata == built.metadata
    assert reopened.audio_config.same_processing(config)
    assert reopened.audio_config.level == pytest.approx(
        np.median([1 / entry["gain"] for entry in built.metadata["sources"]]))
    for split in ("train", "validation"):
        np.testing.assert_array_equal(reopened.array(split), built.array(split))
        segments = reopened.segments(split)
        assert sum(segment.length for segment in segments) == reopened.samples(split)
        assert [segment.start for segment in segments] == list(
            np.cumsum([0] + [segment.length for segment in segments[:-1]]))
    assert reopened.array("train").max() <= 127


def test_a_dataset_opened_before_its_folder_was_built_again_is_refused_not_read_as_the_new_one(
        speech_like_folder, write_audio, tmp_path):
    # A notebook's Dataset read the new build's bytes with its own metadata (or, from a smaller build, crashed in
    # numpy's memory map)
    first = build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    again = open_dataset(tmp_path / "ds")
    (tmp_path / "ds" / "metadata.json").write_text((tmp_path / "ds" / "metadata.json").read_text())  # the same
    assert again.array("train").size == first.samples("train")
    write_audio("other/tone.wav", sine(300, 2.0, 8000))
    write_audio("other/tone2.wav", sine(500, 1.0, 8000))
    rebuilt = build_dataset([tmp_path / "other"], tmp_path / "ds", overwrite=True, progress=False)
    for split in ("train", "validation"):
        with pytest.raises(DatasetError, match=r"dataset '.*ds' was built again since it was opened: open it "
                                               r"again \(audiornn.open_dataset\('.*ds'\)\)"):
            first.array(split)
    assert rebuilt.array("train").size == rebuilt.samples("train") < first.samples("train")
    shutil.rmtree(tmp_path / "ds")
    with pytest.raises(DatasetError, match="was removed since it was opened"):
        rebuilt.array("validation")


def test_a_dataset_opened_by_a_relative_path_is_read_after_the_working_folder_changes(
        speech_like_folder, tmp_path, monkeypatch):
    # Its arrays are mapped when first read: opened as 'ds', then a notebook's os.chdir, it was said "removed"
    build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    monkeypatch.chdir(tmp_path)
    dataset = open_dataset("ds")
    monkeypatch.chdir(speech_like_folder)
    assert dataset.path == tmp_path / "ds"
    assert dataset.array("train").size == dataset.samples("train") > 0
    assert "ds" in repr(dataset)


def test_split_holds_out_whole_files_without_overlap(speech_like_folder, tmp_path):
    dataset = build_dataset([speech_like_folder], tmp_path / "ds", validation_fraction=0.2,
                            progress=False)
    by_split = {split: {entry["path"] for entry in dataset.metadata["sources"] if entry["split"] == split}
                for split in ("train", "validation")}
    assert by_split["validation"] and by_split["train"]
    assert not by_split["train"] & by_split["validation"]
    assert all(entry["offset_in_file"] == 0 for entry in dataset.metadata["sources"])
    again = build_dataset([speech_like_folder], tmp_path / "ds2", validation_fraction=0.2,
                          progress=False)
    assert again.metadata["sources"] == dataset.metadata["sources"]


def test_one_file_holds_out_its_tail(write_audio, tmp_path):
    path = write_audio("one.wav", sine(300, 2.0, 8000))
    dataset = build_dataset([path], tmp_path / "ds", validation_fraction=0.25, progress=False)
    train, validation = dataset.segments("train"), dataset.segments("validation")
    assert len(train) == len(validation) == 1
    assert train[0].length == 12000 and validation[0].length == 4000
    assert dataset.metadata["sources"][1]["offset_in_file"] == 12000


def test_plan_validation_is_deterministic_and_bounded():
    lengths = [1000] * 20
    labels = [f"file{index}.wav" for index in range(20)]
    plan = plan_validation(lengths, labels, fraction=0.1)
    assert plan == plan_validation(lengths, labels, fraction=0.1)
    held = [index for index, cut in plan if cut == 0]
    assert len(held) == 2
    assert all(cut in (0, 1000) for _, cut in plan)
    assert plan_validation(lengths, labels, fraction=0.0) == [(index, 1000) for index in range(20)]
    # A file too short to be scored is not held out, nor its tail while a longer one is there (a probe's 10-sample
    # file was all of a build's validation audio)
    for order in ([10, 39000], [39000, 10]):
        plan = dict(plan_validation(order, ["ten.wav", "long.wav"][::1 if order[0] == 10 else -1], fraction=0.1,
                                    shortest=97))
        short, long = order.index(10), order.index(39000)
        assert plan[short] == 10 and plan[long] == 39000 - 3901
    assert plan_validation([500, 500], ["a", "b"], fraction=0.5, shortest=97) \
        == plan_validation([500, 500], ["a", "b"], fraction=0.5)  # (none that short: as before)


def test_rebuilding_the_same_dataset_reuses_it_and_a_different_one_is_refused(
        speech_like_folder, tmp_path):
    first = build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    created = first.metadata["created"]
    again = build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    assert again.metadata["created"] == created
    with pytest.raises(DatasetError, match=r"already holds a different dataset \(--mu 255 then, 63 now\).*--overwrite"):
        build_dataset([speech_like_folder], tmp_path / "ds", audio_config=AudioConfig(mu=63),
                      progress=False)
    # What differs is said: a file added, one gone, one edited (only its size or date tells).
    files = sorted(path for path in speech_like_folder.rglob("*") if path.suffix in (".wav", ".flac"))
    with pytest.raises(DatasetError, match=r"different dataset \(1 file\(s\) gone: '.*'\)"):
        build_dataset(files[1:], tmp_path / "ds", progress=False)
    with pytest.raises(DatasetError, match=r"--validation-fraction 0.1 then, 0.2 now"):
        build_dataset([speech_like_folder], tmp_path / "ds", validation_fraction=0.2, progress=False)
    edited = files[0].read_bytes()
    files[0].write_bytes(edited + b"\0\0")
    with pytest.raises(DatasetError, match=r"the same files and settings, but a file's size or date has changed"):
        build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    files[0].write_bytes(edited)
    replaced = build_dataset([speech_like_folder], tmp_path / "ds", audio_config=AudioConfig(mu=63),
                             overwrite=True, progress=False)
    assert replaced.audio_config.mu == 63 and open_dataset(tmp_path / "ds").audio_config.mu == 63


def test_output_folder_with_other_files_is_never_touched(speech_like_folder, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(DatasetError, match="'.*mine' is not empty and holds no audiornn dataset"):
        build_dataset([speech_like_folder], tmp_path / "mine", overwrite=True, progress=False)
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


def test_corrupt_file_among_good_ones_is_skipped_and_counted(speech_like_folder, tmp_path):
    (speech_like_folder / "broken.wav").write_bytes(b"RIFF\x00\x00garbage that is not audio")
    dataset = build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    assert dataset.metadata["skipped_count"] == 1
    assert dataset.metadata["skipped"]["unreadable"] == [str(speech_like_folder / "broken.wav")]
    assert len({entry["path"] for entry in dataset.metadata["sources"]}) == 5
    with pytest.raises(AudioFileError, match="cannot read audio file '.*broken.wav'.*--strict"):
        build_dataset([speech_like_folder], tmp_path / "strict", strict=True, progress=False)
    assert not (tmp_path / "strict").exists()


def test_interrupted_build_leaves_no_folder(speech_like_folder, tmp_path, monkeypatch):
    calls = []
    real = dataset_module.prepare_audio

    def interrupt_on_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(dataset_module, "prepare_audio", interrupt_on_third)
    with pytest.raises(KeyboardInterrupt):
        build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    assert list(tmp_path.iterdir()) == [speech_like_folder]


def test_full_disk_is_a_clear_error_and_leaves_nothing(speech_like_folder, tmp_path, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(dataset_module, "_write_splits", no_space)
    with pytest.raises(DatasetError, match="could not write dataset .*No space left on device") as caught:
        build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    assert list(tmp_path.iterdir()) == [speech_like_folder]
    assert caught.value.exit_code == 74  # the machine refused it; bad input is 2
    from audiornn.cli import main

    assert main(["data", str(speech_like_folder), "--output", str(tmp_path / "ds"), "--quiet"]) == 74
    assert list(tmp_path.iterdir()) == [speech_like_folder]


@pytest.mark.parametrize("make, message", [
    (lambda folder, write: folder / "missing.wav", "input '.*missing.wav' does not exist"),
    (lambda folder, write: folder, "folder '.*' holds no audio files"),
    (lambda folder, write: write("silent.wav", np.zeros(8000, np.float32)), "silent"),
    (lambda folder, write: write("nan.wav", np.full(800, np.nan, np.float32), subtype="FLOAT"),
     "NaN or infinite"),
    (lambda folder, write: write("inf.wav", np.array([0.1, np.inf] * 50, np.float32), subtype="FLOAT"),
     "NaN or infinite"),
    (lambda folder, write: write("empty.wav", np.zeros(0, np.float32)), "empty"),
])
def test_bad_inputs_are_clear_errors(make, message, tmp_path, write_audio):
    folder = tmp_path / "in"
    folder.mkdir()
    with pytest.raises(AudioFileError, match=message):
        build_dataset([make(folder, write_audio)], tmp_path / "ds", progress=False)
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize("kwargs, message", [
    ({"audio_config": None, "validation_fraction": 0.9}, "--validation-fraction must be"),
    ({"audio_config": None, "trim_silence_db": 0}, "--trim-silence must be a positive"),
])
def test_bad_build_parameters_are_errors(kwargs, message, speech_like_folder, tmp_path):
    with pytest.raises(ParameterError, match=message):
        build_dataset([speech_like_folder], tmp_path / "ds", progress=False, **kwargs)


def test_trim_silence_shortens_padded_files(write_audio, tmp_path, caplog):
    padded = np.concatenate([np.zeros(8000), sine(300, 1.0, 8000), np.zeros(8000)]).astype(np.float32)
    path = write_audio("padded.wav", padded)
    plain = build_dataset([path], tmp_path / "a", progress=False)
    with caplog.at_level("WARNING", logger="audiornn"):
        trimmed = build_dataset([path], tmp_path / "b", trim_silence_db=40, progress=False)
    total = lambda dataset: dataset.samples("train") + dataset.samples("validation")
    assert total(plain) == 24000
    assert 7800 <= total(trimmed) <= 8400 and "kept" not in caplog.text
    # A threshold far too small (a fraction, not decibels) cuts the sound itself: said
    swept = write_audio("swept.wav", (np.linspace(0.05, 0.9, 8000) * np.sin(np.arange(8000) * 0.3)).astype(
        np.float32))
    with caplog.at_level("WARNING", logger="audiornn"):
        build_dataset([swept], tmp_path / "c", trim_silence_db=0.5, progress=False)
    assert re.search(r"swept.wav': trimming what is 0.5 dB below its peak kept 0.\d\d s of 1.00 s", caplog.text)


def test_reading_checks_version_files_and_config(speech_like_folder, tmp_path):
    build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    with pytest.raises(DatasetError, match="other audio settings.*sample_rate 8000 vs 16000"):
        open_dataset(tmp_path / "ds", audio_config=AudioConfig(sample_rate=16000))
    metadata_path = tmp_path / "ds" / "metadata.json"
    metadata = json.loads(metadata_path.read_text())
    metadata_path.write_text(json.dumps(dict(metadata, format_version=99)))
    with pytest.raises(DatasetError, match="format version 99; this audiornn reads versions 1 and 2"):
        open_dataset(tmp_path / "ds")
    metadata_path.write_text(json.dumps(metadata))
    with open(tmp_path / "ds" / "train.u8", "ab") as handle:
        handle.write(b"\x00")
    with pytest.raises(DatasetError, match="train.u8 holds .* bytes but the metadata says"):
        open_dataset(tmp_path / "ds")
    with pytest.raises(DatasetError, match="does not exist: build one"):
        open_dataset(tmp_path / "nowhere")
    for output in (None, ""):
        with pytest.raises(ParameterError, match=r"output is the folder to build the dataset in \(a path\), got"):
            build_dataset([speech_like_folder], output, progress=False)
    with pytest.raises(DatasetError, match="is a file, not a dataset folder"):
        open_dataset(tmp_path / "ds" / "train.u8")
    with pytest.raises(DatasetError, match="is not an audiornn dataset"):
        open_dataset(speech_like_folder)


def test_float_and_24_bit_files_are_read(write_audio, tmp_path):
    a = write_audio("a.wav", sine(200, 1.0, 48000), rate=48000, subtype="FLOAT")
    b = write_audio("b.aiff", sine(300, 1.0, 48000), rate=48000, subtype="PCM_24")  # not a copy: both are read
    dataset = build_dataset([a, b], tmp_path / "ds", progress=False)
    assert dataset.samples("train") + dataset.samples("validation") == 16000
    assert soundfile.info(str(b)).subtype == "PCM_24"


def test_skipped_files_are_counted_by_their_reason(speech_like_folder, tmp_path, write_audio, caplog):
    write_audio("recordings/quiet.wav", np.zeros(4000, np.float32))
    write_audio("recordings/broken_values.wav", np.full(400, np.nan, np.float32), subtype="FLOAT")
    (speech_like_folder / "garbage.flac").write_bytes(b"fLaC but nothing more")
    write_audio("recordings/header_says_800.wav", sine(100.0, 0.5, 800), 800)  # stopped the whole build before
    write_audio("recordings/offset.wav", np.full(8000, 0.4, np.float32))  # made a full-scale constant before
    write_audio("recordings/dxd.wav", sine(440.0, 0.1, 352800), 352800)  # a real rate above 192 kHz: taken
    (speech_like_folder / "nothing.wav").write_bytes(b"")  # an empty file is empty, whatever its name
    (speech_like_folder / "page.mp3").write_text("<html>404 not found</html>")  # a download gone wrong
    with caplog.at_level("WARNING", logger="audiornn"):
        dataset = build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    skipped = {reason: [Path(path).name for path in paths] for reason, paths in dataset.metadata["skipped"].items()}
    assert skipped == {"silent": ["offset.wav", "quiet.wav"], "not_finite": ["broken_values.wav"],
                       "unreadable": ["garbage.flac", "page.mp3"], "sample_rate": ["header_says_800.wav"],
                       "empty": ["nothing.wav"]}
    assert dataset.metadata["skipped_count"] == 7
    assert re.search(r"page.mp3': not audio that soundfile can read \(damaged, or another format under this name\)",
                     caplog.text) and "does not exist" not in caplog.text
    assert any(entry["path"].endswith("dxd.wav") and entry["original_rate"] == 352800
               for entry in dataset.metadata["sources"])
    with pytest.raises(AudioFileError, match=r"header_says_800.wav' says its sample rate is 800 Hz, outside"):
        build_dataset([speech_like_folder / "header_says_800.wav"], tmp_path / "strict", strict=True, progress=False)


@pytest.mark.parametrize("samples", ['"abc"', "Infinity", "1e400"])
def test_metadata_with_a_number_that_is_not_one_is_a_clear_error(speech_like_folder, tmp_path, samples):
    dataset = build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    path = dataset.path / "metadata.json"
    text = path.read_text()
    value = json.loads(text)["splits"]["train"]["samples"]
    path.write_text(text.replace(f'"samples": {value}', f'"samples": {samples}', 1))
    with pytest.raises(DatasetError, match="malformed metadata.*rebuild it"):
        open_dataset(dataset.path)


def test_features_of_short_audio_and_low_rates_raise_no_warnings():
    import warnings

    from audiornn.features import FeatureConfig, log_mel

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config = FeatureConfig.for_rate(1000)
        assert config.bands < 40  # fewer bands for a low rate, as promised: none of them empty
        assert log_mel(np.zeros(2000, np.float32) + 0.1, 1000, config).shape == (200, config.bands)
        assert log_mel(sine(440, 0.005, 8000), 8000, FeatureConfig.for_rate(8000)).shape == (1, 40)
    assert FeatureConfig.for_rate(8000).bands == 40


@pytest.mark.parametrize("start", [10 ** 12, -5, "12", 1.5])
def test_a_source_outside_its_array_is_refused_when_the_dataset_is_opened(tone_dataset, tmp_path, start):
    copy = Path(shutil.copytree(tone_dataset.path, tmp_path / "dataset"))
    metadata = json.loads((copy / "metadata.json").read_text())
    metadata["sources"][-1]["start"] = start
    (copy / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(DatasetError, match=r"metadata.json': \w+ source \d+ .* the metadata is damaged"):
        open_dataset(copy)
    with pytest.raises(DatasetError):
        train(copy, tmp_path / "run", model_config=SMALL_MODEL, train_config=TrainConfig(epochs=1, **SMALL_TRAINING), verbose=0)
    assert not (tmp_path / "run").exists()


def test_sources_that_overlap_or_overrun_are_refused(tone_dataset, tmp_path):
    copy = Path(shutil.copytree(tone_dataset.path, tmp_path / "dataset"))
    metadata = json.loads((copy / "metadata.json").read_text())
    metadata["sources"][0]["samples"] = 10 ** 9
    (copy / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(DatasetError, match="the metadata is damaged"):
        open_dataset(copy)


def test_a_dataset_overwrite_that_cannot_finish_leaves_the_old_dataset_whole(tmp_path, monkeypatch):
    from audiornn import dataset as dataset_module

    output = tmp_path / "dataset"
    build_dataset([REPOSITORY / "data"], output, progress=False)
    before = (output / "metadata.json").read_text()
    real = dataset_module.os.replace

    def replace(source, destination):
        if Path(destination) == output and ".partial-" in Path(source).name and "-build" in Path(source).name:
            raise OSError(28, "No space left on device")  # the new folder, into place
        return real(source, destination)

    monkeypatch.setattr(dataset_module.os, "replace", replace)
    with pytest.raises(DatasetError, match="nothing was left behind"):
        build_dataset([REPOSITORY / "data"], output, audio_config=AudioConfig(preemphasis=0.9), overwrite=True,
                      progress=False)
    assert (output / "metadata.json").read_text() == before and open_dataset(output)
    assert [entry.name for entry in tmp_path.iterdir()] == ["dataset"]


def test_a_dataset_overwrite_killed_between_its_two_renames_gets_the_old_dataset_back(tmp_path, caplog):
    import subprocess
    import sys

    output = tmp_path / "dataset"
    build_dataset([REPOSITORY / "data"], output, progress=False)
    before = (output / "metadata.json").read_text()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(gone.stdout)  # a process that has ended: what a kill leaves
    retired = tmp_path / f".dataset.partial-{pid}-old"
    output.rename(retired)  # the old dataset moved aside, then the kill before the new one moved into place
    (tmp_path / f".dataset.partial-{pid}-build").mkdir()
    with pytest.raises(DatasetError, match=re.escape(f"a build that replaced it was stopped half-way and left the "
                                                     f"old one at '{retired}': put it back")):
        open_dataset(output)
    with caplog.at_level("INFO"):
        build_dataset([REPOSITORY / "data"], output, progress=False)  # the same command again
    assert "left the old dataset aside" in caplog.text and "it is put back" in caplog.text
    assert "is up to date with its inputs; reusing it" in caplog.text  # judged as any dataset there: not rebuilt
    assert (output / "metadata.json").read_text() == before and open_dataset(output)
    assert [entry.name for entry in tmp_path.iterdir()] == ["dataset"]


def test_dataset_overwrite_never_replaces_a_folder_that_is_not_ours(tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    (other / "metadata.json").write_text('{"project": "mine"}')
    (other / "results.csv").write_text("precious")
    assert main(["data", str(REPOSITORY / "data"), "--output", str(other), "--overwrite", "--quiet"]) == 2
    assert "not an audiornn dataset's" in capsys.readouterr().err
    assert (other / "results.csv").read_text() == "precious"
    # A real dataset that also holds the user's own file: --overwrite would delete it, so it is refused.
    ours = tmp_path / "ours"
    assert main(["data", str(REPOSITORY / "data"), "--output", str(ours), "--quiet"]) == 0
    (ours / "notes.txt").write_text("mine")
    assert main(["data", str(REPOSITORY / "data"), "--output", str(ours), "--overwrite", "--preemphasis", "0.9",
                 "--quiet"]) == 2
    assert "notes.txt, which are not part of it" in capsys.readouterr().err
    assert (ours / "notes.txt").read_text() == "mine"


def test_a_file_too_short_for_a_frame_of_training_names_itself(tmp_path):
    from audiornn.errors import DatasetError

    soundfile.write(str(tmp_path / "tiny.wav"), sine(440.0, 0.0015, 8000), 8000)
    with pytest.raises(DatasetError, match=r"tiny\.wav' \(12 samples\) is held out in part"):
        build_dataset([tmp_path / "tiny.wav"], tmp_path / "ds", features="mel", progress=False)


def test_files_below_a_front_ends_rate_are_said_to_lack_the_band_above_half_their_own(speech_like_folder, tmp_path,
                                                                                     caplog):
    with caplog.at_level("WARNING"):
        build_dataset([speech_like_folder], tmp_path / "ds", features="hifigan", validation_fraction=0.2,
                      progress=False)
    rates = sorted({entry["original_rate"] for entry in open_dataset(tmp_path / "ds").metadata["sources"]
                    if entry["original_rate"] < 22050})
    assert len(rates) >= 2  # each rate's own limit is named, not the lowest's alone
    assert f"nothing above half their rate ({', '.join(f'{rate / 2:g}' for rate in rates)} Hz)" in caplog.text
    # G.722 is 16 kHz: no answer for a 22,050 Hz format; and the format, not --sample-rate, sets the rate.
    assert "g722" not in caplog.text and "the format fixes the rate" in caplog.text


def test_a_damaged_dataset_is_built_again_from_its_inputs_and_strict_checks_a_reused_one(
        speech_like_folder, tmp_path, caplog):
    (speech_like_folder / "broken.wav").write_text("not audio")
    first = build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    expected = (tmp_path / "ds" / "train.u8").read_bytes()
    with open(tmp_path / "ds" / "train.u8", "r+b") as handle:
        handle.truncate(100)  # cut short: the inputs have not changed, so it was "reused" and failed to open
    with caplog.at_level("WARNING", logger="audiornn"):
        again = build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    assert "as it is damaged (dataset" in caplog.text and "train.u8 holds 100 bytes" in caplog.text
    assert (tmp_path / "ds" / "train.u8").read_bytes() == expected and again.metadata["created"]
    (tmp_path / "ds" / "validation.u8").unlink()
    with pytest.raises(DatasetError, match="validation.u8 is missing but the metadata says"):
        open_dataset(tmp_path / "ds")
    (tmp_path / "ds" / "notes.txt").write_text("mine")  # not the dataset's: the folder is left as it is
    with pytest.raises(DatasetError, match="also holds notes.txt, which are not part of it: move them away"):
        build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    assert (tmp_path / "ds" / "notes.txt").read_text() == "mine"
    (tmp_path / "ds" / "notes.txt").unlink()
    build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    # broken.wav is skipped: --strict on the same inputs fails though the dataset is reused
    assert first.metadata["skipped_count"] == 1
    with pytest.raises(AudioFileError, match=r"1 input file\(s\) were skipped when .* --strict stops"):
        build_dataset([speech_like_folder], tmp_path / "ds", strict=True, progress=False)


def test_names_that_are_not_utf8_are_read_and_a_label_of_one_is_refused_by_name(tmp_path):
    import os

    folder = tmp_path / "in"
    for raw, source in ((b"caf\xe9.wav", "agent-user.wav"), (b"ok.wav", "vm-forward.wav")):  # Latin-1, from a zip
        (folder / "\udce9quipe").mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLE_DATA / source, os.path.join(os.fsencode(folder / "\udce9quipe"), raw))
    dataset = build_dataset([folder], tmp_path / "ds", progress=False)
    assert dataset.metadata["skipped_count"] == 0
    assert sorted(entry["label"] for entry in dataset.metadata["sources"])[0] == "\udce9quipe/caf\udce9.wav"
    with pytest.raises(ParameterError, match=r"the label b'\\xe9quipe' is not UTF-8 text: rename it"):
        build_dataset([folder], tmp_path / "labelled", labels="folders", progress=False)


def test_a_recording_whose_chosen_format_is_damaged_is_read_in_the_other(tmp_path, caplog):
    speech, rate = soundfile.read(str(SAMPLE_DATA / "agent-user.wav"), dtype="float32")
    folder = tmp_path / "in"
    folder.mkdir()
    soundfile.write(str(folder / "interview.wav"), speech, rate)
    soundfile.write(str(folder / "interview.flac"), scipy.signal.resample_poly(speech, 2, 1), 2 * rate)
    whole = (folder / "interview.flac").read_bytes()
    (folder / "interview.flac").write_bytes(whole[:int(0.8 * len(whole))])  # its header whole: chosen, for its rate
    with caplog.at_level("WARNING", logger="audiornn"):
        dataset = build_dataset([folder], tmp_path / "ds", progress=False)
    assert re.search(r"cannot read audio file '.*interview.flac': .*: read '.*interview.wav', the same recording in "
                     r"another format, instead", caplog.text)
    assert {Path(entry["path"]).name for entry in dataset.metadata["sources"]} == {"interview.wav"}
    assert dataset.metadata["skipped_count"] == 0
    with pytest.raises(AudioFileError, match="interview.flac.*--strict stops at the first bad file"):
        build_dataset([folder], tmp_path / "strict", strict=True, progress=False)
    soundfile.write(str(folder / "interview.wav"), speech[:rate], rate)  # another take, a second long: not it
    with pytest.raises(AudioFileError, match="no usable audio among the 1 input file"):
        build_dataset([folder], tmp_path / "other", progress=False)


def test_a_wav_cut_off_short_of_what_its_header_promises_is_said(tmp_path, caplog):
    from audiornn.audio_io import read_audio

    whole = (SAMPLE_DATA / "agent-user.wav").read_bytes()
    (tmp_path / "copy.wav").write_bytes(whole[:len(whole) // 3])  # an interrupted copy
    with caplog.at_level("WARNING", logger="audiornn"):
        audio, rate = read_audio(tmp_path / "copy.wav")
        read_audio(SAMPLE_DATA / "agent-user.wav")
    assert audio.shape[0] < len(whole) // 6
    assert caplog.text.count("ends early") == 1 and re.search(r"copy.wav' ends early: its header promises 4.91 s, "
                                                              r"it holds 1.6\d s", caplog.text)
    streamed = bytearray(whole)  # what ffmpeg writes to a pipe: sizes it cannot know, as placeholders
    streamed[4:8] = streamed[40:44] = b"\xff\xff\xff\xff"
    (tmp_path / "piped.wav").write_bytes(bytes(streamed))
    caplog.clear()
    with caplog.at_level("WARNING", logger="audiornn"):
        assert read_audio(tmp_path / "piped.wav")[0].shape[0] > len(whole) // 3
    assert "ends early" not in caplog.text


def test_a_folder_takes_the_names_au_nist_aiff_c_and_broadcast_wav_files_go_by(write_audio, tmp_path):
    from audiornn.audio_io import find_audio_files

    for index, (name, format) in enumerate((("a.snd", "AU"), ("b.sph", "NIST"), ("c.aifc", "AIFF"), ("d.bwf", "WAV"))):
        path = tmp_path / "in" / name
        path.parent.mkdir(exist_ok=True)
        soundfile.write(str(path), sine(300.0 + 100 * index, 0.5, 8000), 8000, format=format)
    assert sorted(label for _, label in find_audio_files([tmp_path / "in"])) == ["a.snd", "b.sph", "c.aifc", "d.bwf"]
    assert build_dataset([tmp_path / "in"], tmp_path / "ds", progress=False).metadata["skipped_count"] == 0


def test_a_folder_of_recordings_with_runs_other_formats_and_broken_links_in_it(speech_like_folder, tmp_path,
                                                                                caplog):
    from audiornn.audio_io import find_audio_files

    taken = sorted(label for _, label in find_audio_files([speech_like_folder]))
    run = speech_like_folder / "run"  # train INPUT --output INPUT/run, then a second run from the same folder
    (run / "previews").mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"format": "audiornn-run"}))
    shutil.copy(speech_like_folder / "take1.wav", run / "previews" / "epoch_0001.wav")
    (run / "dataset").mkdir()
    (run / "dataset" / "metadata.json").write_text(json.dumps({"format": "audiornn-dataset"}))
    (speech_like_folder / "voice.m4a").write_bytes(b"\0" * 100)
    (speech_like_folder / "memo.aac").write_bytes(b"\0" * 100)
    (speech_like_folder / "prompt.ulaw").write_bytes(b"\0" * 100)  # Asterisk's headerless formats are named too
    (speech_like_folder / "gone.wav").symlink_to(tmp_path / "nowhere.wav")
    with caplog.at_level("WARNING", logger="audiornn"):
        again = sorted(label for _, label in find_audio_files([speech_like_folder]))
    assert again == taken  # the run's previews, the other formats and the broken link are not taken, and said
    assert re.search(r"left out 1 file\(s\) in '.*run', an audiornn run inside input", caplog.text)
    assert "passed over 3 file(s) in input" in caplog.text and "1 .aac, 1 .m4a, 1 .ulaw" in caplog.text
    assert "passed over 1 link(s) in input" in caplog.text
    with pytest.raises(AudioFileError, match=r"'.*gone.wav' does not exist \(a link to '.*nowhere.wav', which"):
        find_audio_files([speech_like_folder / "gone.wav"])
    assert (run / "previews" / "epoch_0001.wav") in [path for path, _ in find_audio_files([run / "previews"])]


def test_a_link_beside_the_file_it_points_to_is_not_taken_for_it(speech_like_folder, tmp_path, caplog):
    # (a link named "link to take1.wav" beside take1.wav was said to be "one recording in several formats", taken
    # in its place, and so named in the dataset's sources and in eval's copies)
    from audiornn.audio_io import find_audio_files

    taken = sorted(label for _, label in find_audio_files([speech_like_folder]))
    (speech_like_folder / "a link to take1.wav").symlink_to(speech_like_folder / "take1.wav")
    (speech_like_folder / "other").mkdir()
    (speech_like_folder / "other" / "take1 again.wav").symlink_to(speech_like_folder / "take1.wav")
    outside = tmp_path / "elsewhere" / "far.wav"
    outside.parent.mkdir()
    shutil.copy(speech_like_folder / "take1.wav", outside)
    (speech_like_folder / "linked far.wav").symlink_to(outside)  # two ways in to a file elsewhere: the first taken
    (speech_like_folder / "far again.wav").symlink_to(outside)
    with caplog.at_level("INFO", logger="audiornn"):
        found = sorted(label for _, label in find_audio_files([speech_like_folder]))
    assert found == sorted(taken + ["far again.wav"])  # its first link in sorted order
    assert "several formats" not in caplog.text


def test_integers_saved_as_floats_and_channels_that_cancel_are_said(write_audio, tmp_path, caplog):
    speech, rate = soundfile.read(str(SAMPLE_DATA / "agent-user.wav"), dtype="float32")
    folder = tmp_path / "in"
    write_audio("in/good.wav", speech, rate)
    write_audio("in/int16.wav", speech * 32767, rate, subtype="FLOAT")  # soundfile.write(int16.astype(float32))
    write_audio("in/inverted.wav", np.stack([speech, -speech], axis=1), rate)
    other, _ = soundfile.read(str(SAMPLE_DATA / "vm-forward.wav"), dtype="float32")
    write_audio("in/nearly.wav", np.stack([other, -0.95 * other], axis=1), rate)
    with caplog.at_level("WARNING", logger="audiornn"):
        dataset = build_dataset([folder], tmp_path / "ds", progress=False)
    assert re.search(r"int16.wav' holds samples up to 2\d+(\.\d+)?, 8\d dB beyond full scale \(-1 to 1\): integer "
                     r"samples saved as floats\? Divide 16-bit ones by 32768", caplog.text)
    assert re.search(r"inverted.wav': its channels cancel when mixed to mono \(the mix is silent: one channel is the "
                     r"other upside down\): keep one channel", caplog.text)
    assert re.search(r"nearly.wav': its channels cancel when mixed to mono \(the mix is \d\d dB below its channels",
                     caplog.text)
    assert {reason: [Path(path).name for path in paths] for reason, paths in dataset.metadata["skipped"].items()} \
        == {"out_of_range": ["int16.wav"], "silent": ["inverted.wav"]}
    assert dataset.metadata["audio"]["level"] < 1.0


def test_a_nearly_silent_file_is_said_to_be_raised_to_full_scale(write_audio, tmp_path, caplog):
    hiss = write_audio("hiss.wav", 1e-4 * np.random.default_rng(0).standard_normal(8000).astype(np.float32))
    speech = write_audio("tone.wav", sine(300.0, 1.0, 8000))
    with caplog.at_level("WARNING", logger="audiornn"):
        build_dataset([hiss, speech], tmp_path / "ds", progress=False)
    assert re.search(r"hiss.wav' is nearly silent \(its loudest, pre-emphasised, is 6\d dB below", caplog.text)
    assert "tone.wav" not in caplog.text


def test_a_copy_of_a_file_under_another_name_is_read_once(speech_like_folder, tmp_path, caplog):
    (speech_like_folder / "backup").mkdir()
    for path in sorted(speech_like_folder.glob("*.wav")):
        shutil.copy(path, speech_like_folder / "backup" / path.name)  # the same audio in a backup folder
    with caplog.at_level("WARNING", logger="audiornn"):
        dataset = build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    copies = dataset.metadata["skipped"]["duplicate"]
    assert sorted(Path(path).name for path in copies) == ["take1.wav", "take3.wav"]
    assert "holds the same audio as" in caplog.text
    assert len({entry["path"] for entry in dataset.metadata["sources"]}) == 5  # each recording once, in one split
    # A copy is not a bad file: --strict builds (and reuses) such a dataset
    assert build_dataset([speech_like_folder], tmp_path / "strict", strict=True, progress=False).metadata[
        "skipped_count"] == 2
    build_dataset([speech_like_folder], tmp_path / "strict", strict=True, progress=False)


def test_one_recording_in_another_format_rate_and_level_is_read_once_at_its_highest_rate(tmp_path, caplog):
    # Asterisk's .wav and .g722 unpacked side by side, an export at another rate: not byte for byte the same
    first, rate = soundfile.read(str(SAMPLE_DATA / "agent-user.wav"), dtype="float32")
    second, _ = soundfile.read(str(SAMPLE_DATA / "vm-forward.wav"), dtype="float32")
    length = min(first.size, second.size)
    for folder in ("wav", "flac", "other"):
        (tmp_path / folder).mkdir()
    soundfile.write(str(tmp_path / "wav" / "one.wav"), first[:length], rate)
    soundfile.write(str(tmp_path / "other" / "one.wav"), second[:length], rate)  # another recording of that name
    # the same, 0.7 of full scale, at twice the rate, 30 ms later (an export padded)
    louder = 0.7 * scipy.signal.resample_poly(np.concatenate([np.zeros(240), first[:length]]), 2, 1) / np.max(
        np.abs(first))
    soundfile.write(str(tmp_path / "flac" / "one.flac"), louder, 2 * rate)
    for seed in (1, 2):  # steady noises of one name and length share a spectrum, not a recording
        noise = 0.1 * np.random.default_rng(seed).standard_normal(length)
        soundfile.write(str(tmp_path / ("wav" if seed == 1 else "other") / "noise.wav"), noise, rate)
    with caplog.at_level("WARNING", logger="audiornn"):
        dataset = build_dataset([tmp_path / "wav", tmp_path / "flac", tmp_path / "other"], tmp_path / "ds",
                                progress=False)
    assert dataset.metadata["skipped"] == {"duplicate": [str(tmp_path / "wav" / "one.wav")]}  # the higher rate kept
    assert re.search(r"wav/one.wav' \(8000 Hz\) holds what sounds like the same recording \(its coarse spectrogram "
                     r"moves with that file's, correlation 0\.9\d; another format, rate or level of it\) as "
                     r"'.*one.flac' \(16000 Hz\): skipped, and the copy at the higher rate read in its place; if they "
                     r"are different recordings .* pass --keep-near-copies \(keep_near_copies=True\)", caplog.text)
    kept = {str(Path(entry["path"]).relative_to(tmp_path)) for entry in dataset.metadata["sources"]}
    assert kept == {"flac/one.flac", "other/one.wav", "wav/noise.wav", "other/noise.wav"}
    np.testing.assert_array_equal(  # the arrays hold the copy kept, read from its place in the pool
        np.concatenate([dataset.array(split)[segment.start:segment.start + segment.length]
                        for split in ("train", "validation") for segment in dataset.segments(split)
                        if segment.source.endswith("one.flac")])[:100],
        build_dataset([tmp_path / "flac"], tmp_path / "alone", progress=False).array("train")[:100])
    # Different recordings that look alike (two voices reading the same words the same way): kept when asked,
    # and a dataset built otherwise is said to differ by that
    kept = build_dataset([tmp_path / "wav", tmp_path / "flac", tmp_path / "other"], tmp_path / "all",
                         progress=False, keep_near_copies=True)
    assert kept.metadata["skipped_count"] == 0 and len({entry["path"] for entry in kept.metadata["sources"]}) == 5
    with pytest.raises(DatasetError, match="--keep-near-copies not given then, given now"):
        build_dataset([tmp_path / "wav", tmp_path / "flac", tmp_path / "other"], tmp_path / "ds", progress=False,
                      keep_near_copies=True)


def test_fingerprints_are_compared_many_at_once_as_one_by_one():
    from audiornn.dataset import SHIFT_FRAMES, _Recordings

    def one_by_one(one, other):  # the correlation of the double-centred log powers at the best shift
        best = 0.0
        for shift in range(-SHIFT_FRAMES, SHIFT_FRAMES + 1):
            first, second = (one[shift:], other) if shift >= 0 else (one, other[-shift:])
            count = min(len(first), len(second))
            moves = [values[:count] - values[:count].mean(axis=0) for values in (first, second)]
            moves = [(move - move.mean(axis=1, keepdims=True)).ravel() for move in moves]
            best = max(best, float(np.corrcoef(*moves)[0, 1]))
        return best

    rng = np.random.default_rng(0)
    base = rng.standard_normal((60, 8)).cumsum(axis=0).astype(np.float32)
    one = base[2:58] + 0.3 * rng.standard_normal((56, 8)).astype(np.float32)
    others = np.stack([base[:57] + scale * rng.standard_normal((57, 8)).astype(np.float32)
                       for scale in (0.1, 1.0, 3.0, 10.0)])
    many = _Recordings.similarities(one, others)
    np.testing.assert_allclose(many, [one_by_one(one, other) for other in others], atol=1e-6)
    assert many[0] > 0.9 > many[-1] and np.all(np.diff(many) < 0)
    still = np.full((57, 8), -6.0, np.float32)  # digital silence: holds still, alike nothing
    assert _Recordings.similarity(one, still) == 0.0 and _Recordings.similarity(still, still) == 0.0


def test_the_same_audio_under_two_labels_is_kept_and_said(speech_like_folder, tmp_path, caplog):
    take = speech_like_folder / "take1.wav"
    shutil.copy(take, tmp_path / "copy.wav")
    with caplog.at_level("WARNING", logger="audiornn"):
        dataset = build_dataset({"en": [take, speech_like_folder / "take3.wav"], "es": [tmp_path / "copy.wav"]},
                                tmp_path / "ds", progress=False)
    assert dataset.metadata["skipped_count"] == 0
    assert re.search(r"copy.wav' \(label es\) holds the same audio as '.*take1.wav' \(label en\)", caplog.text)


def test_a_validation_split_too_short_to_score_is_said_at_build_time(tmp_path, caplog):
    folder = tmp_path / "audio"
    folder.mkdir()
    soundfile.write(str(folder / "long.wav"), sine(300.0, 3.0, 8000), 8000)
    soundfile.write(str(folder / "tiny.wav"), sine(300.0, 0.0125, 8000), 8000)  # 100 samples
    with caplog.at_level("WARNING", logger="audiornn"):  # (it was held out whole, all of the validation audio)
        dataset = build_dataset([folder], tmp_path / "dataset", progress=False, features="mel")
    # long.wav's tail (a tenth, to whole frames)
    assert dataset.samples("validation") == 2480 and "validation audio is" not in caplog.text
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    for name in ("one", "two"):  # every file that short: a tail of the last is held out, and that is said
        soundfile.write(str(tiny / f"{name}.wav"), sine(300.0, 0.0125, 8000), 8000)
    with caplog.at_level("WARNING", logger="audiornn"):
        dataset = build_dataset([tiny], tmp_path / "tiny_dataset", progress=False, features="mel")
    assert dataset.samples("validation") == 20  # (the last one's tail)
    assert "the validation audio is 0.003 s, and its longest piece" in caplog.text and "two.wav" in caplog.text
    assert "(481 by default, 6 frames) and refuses a validation split with none that long" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="audiornn"):  # windows of 97 samples: 100 are enough
        build_dataset([folder], tmp_path / "dataset2", progress=False)
    assert "validation audio is" not in caplog.text and "no validation audio" not in caplog.text
    with caplog.at_level("WARNING", logger="audiornn"):
        build_dataset([folder], tmp_path / "dataset3", progress=False, validation_fraction=0)
    assert "the dataset holds no validation audio (--validation-fraction 0): training needs some" in caplog.text


def test_a_dataset_another_build_made_meanwhile_is_kept(tmp_path, monkeypatch):
    """Two builds into one new --output at once (two processes, two notebook cells): the one that ends last
    does not replace the other's without --overwrite; from the same inputs, it uses it."""
    for name, pitch in (("a", 300.0), ("b", 500.0)):
        (tmp_path / name).mkdir()
        for index in range(3):
            soundfile.write(str(tmp_path / name / f"{index}.wav"), sine(pitch + index, 1.0, 8000), 8000)
    encode, output = dataset_module._encode_files, tmp_path / "dataset"

    def meanwhile(other):
        def encode_after_another(*args, **kwargs):
            monkeypatch.setattr(dataset_module, "_encode_files", encode)
            elsewhere = tmp_path / "elsewhere"  # (another process's build: its own partial folder)
            build_dataset([tmp_path / other], elsewhere / "dataset", progress=False)
            (elsewhere / "dataset").rename(output)  # the other build ends first
            elsewhere.rmdir()
            return encode(*args, **kwargs)
        monkeypatch.setattr(dataset_module, "_encode_files", encode_after_another)

    meanwhile("b")
    with pytest.raises(DatasetError, match="'.*dataset' was built by another build while this one ran .*--overwrite"):
        build_dataset([tmp_path / "a"], output, progress=False)
    assert "/b/" in open_dataset(output).metadata["sources"][0]["path"]  # the other's, whole
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a", "b", "dataset"]  # nothing left behind
    shutil.rmtree(output)
    meanwhile("a")
    assert "/a/" in build_dataset([tmp_path / "a"], output, progress=False).metadata["sources"][0]["path"]


def test_a_long_file_is_read_a_block_at_a_time_into_the_same_mono_and_one_too_long_is_skipped_and_named(
        tmp_path, monkeypatch, caplog):
    import audiornn.audio_io as audio_io

    rng = np.random.default_rng(0)
    stereo = rng.uniform(-0.3, 0.3, (5000, 2)).astype(np.float32)
    stereo[4321, 1] = 0.9  # the loudest sample, in one channel, in the last block
    (tmp_path / "in").mkdir()
    soundfile.write(str(tmp_path / "in" / "long.wav"), stereo, 8000, subtype="FLOAT")
    monkeypatch.setattr(audio_io, "MONO_BLOCK_FRAMES", 1000)
    mono, rate, channels, peak = audio_io.read_mono(tmp_path / "in" / "long.wav")
    whole, _ = audio_io.read_audio(tmp_path / "in" / "long.wav")
    np.testing.assert_array_equal(mono, dsp.to_mono(whole))  # as the whole file mixed at once
    assert (rate, channels, mono.dtype) == (8000, 2, np.float32) and peak == pytest.approx(0.9)

    soundfile.write(str(tmp_path / "in" / "other.wav"), sine(300.0, 1.0, 8000), 8000)
    real = audio_io.dsp.resample

    def short_of_memory(audio, **rates):  # what numpy raises for an array the machine has no room for
        if audio.size == 5000:
            raise MemoryError("Unable to allocate 2.37 GiB for an array with shape (317520000,)")
        return real(audio, **rates)

    monkeypatch.setattr(audio_io.dsp, "resample", short_of_memory)
    with caplog.at_level("WARNING", logger="audiornn"):
        dataset = build_dataset([tmp_path / "in"], tmp_path / "ds", progress=False)
    assert dataset.metadata["skipped"] == {"too_large": [str(tmp_path / "in" / "long.wav")]}
    assert re.search(r"long.wav' is too long to prepare in this machine's free memory \(0 minutes at 8000 Hz\): cut "
                     r"it into shorter pieces \(sox IN.wav OUT.wav trim 0 600 : newfile : restart", caplog.text)

    def no_room(*args, **kwargs):
        raise MemoryError("Unable to allocate")

    monkeypatch.setattr(audio_io.soundfile.SoundFile, "read", no_room)
    with pytest.raises(AudioFileError, match=r"long.wav' is too long to read into this machine's free memory "
                                             r"\(0 minutes, 0.00 GB on disk\): cut it into shorter pieces") as error:
        audio_io.read_mono(tmp_path / "in" / "long.wav")
    assert error.value.reason == "too_large"


def test_a_dc_offset_is_taken_off_and_a_click_that_sets_the_level_is_said(caplog):
    from audiornn.audio_io import prepare_audio

    speech, rate = soundfile.read(str(REPOSITORY / "data" / "agent-user.wav"), dtype="float32")
    speech = 0.3 * speech / np.max(np.abs(speech))
    clean = prepare_audio(speech, rate)[0]
    # Recorded quieter through a card with an offset: silence sat 57 classes off the middle, the rest squeezed
    offset = prepare_audio(0.2 * speech + 0.05, rate)[0]
    assert abs(int(np.median(offset)) - int(np.median(clean))) <= 1
    assert np.mean(np.abs(offset.astype(int) - clean.astype(int)) <= 1) > 0.95
    assert not caplog.text
    clicked = speech / 3  # speech at 0.1, a click at full scale
    clicked[clicked.size // 2] = 1.0
    with caplog.at_level("WARNING", logger="audiornn"):
        prepare_audio(clicked, rate, source="'clicked.wav'")
    assert re.search(r"'clicked.wav': its loudest samples stand \d\d dB above the loudest 0.1 % of the rest \(a click "
                     r"or a glitch\?\), and set its level", caplog.text)


def test_a_build_that_cannot_fit_is_refused_before_it_starts(speech_like_folder, tmp_path, monkeypatch, caplog):
    import collections

    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(dataset_module.shutil, "disk_usage", lambda path: usage(10 ** 9, 10 ** 9 - 50_000, 50_000))
    with pytest.raises(DatasetError, match=r"building '.*ds' needs about [\d.]+ kB while it runs \([\d.]+ minutes of "
                                           r"audio at 8000 Hz, held twice.*'.*' has 50.0 kB free: free space or choose "
                                           r"another --output \(nothing was written\)"):
        build_dataset([speech_like_folder], tmp_path / "ds", progress=False)
    assert [path.name for path in tmp_path.iterdir() if path != speech_like_folder] == []
    with caplog.at_level("WARNING", logger="audiornn"):  # trimmed, it may fit: said, and tried
        build_dataset([speech_like_folder], tmp_path / "trimmed", progress=False, trim_silence_db=40)
    assert "what --trim-silence cuts may make it fit" in caplog.text


def test_a_long_file_is_said_as_it_is_read(speech_like_folder, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(dataset_module, "LONG_FILE_BYTES", 1)
    with caplog.at_level("INFO", logger="audiornn"):
        build_dataset([speech_like_folder / "take1.wav"], tmp_path / "ds", progress=False)
    assert re.search(r"reading '.*take1.wav' \(0 minutes, 0.00 GB on disk\): the bar moves on once it is encoded",
                     caplog.text)


def test_a_near_copy_is_found_among_many_of_its_name_whatever_how_many_are_compared_at_once(monkeypatch):
    from audiornn.dataset import _Recordings

    rng = np.random.default_rng(3)
    recordings = _Recordings(AudioConfig())
    takes = [scipy.signal.lfilter([1.0], [1.0, -0.9], rng.standard_normal(8000)) * np.repeat(
        rng.uniform(0.05, 1.0, 40), 200) for _ in range(6)]  # six takes of noise bursts, each its own rhythm
    for key, take in enumerate(takes):
        classes = dsp.mu_law_encode((take / np.max(np.abs(take))).astype(np.float32))
        recordings.add("take", classes.size, recordings.fingerprint(classes), key, classes)
    copy = dsp.mu_law_encode((0.5 * takes[3] / np.max(np.abs(takes[3]))).astype(np.float32))  # 6 dB quieter
    found = [recordings.find(copy, "take")[0]]
    monkeypatch.setattr(dataset_module, "PEER_VALUES", 1)  # one at a time
    found.append(recordings.find(copy, "take")[0])
    assert found == [3, 3]
    # under another name, the copy is found too (from a higher correlation); another take is not
    key, _, alike = recordings.find(copy, "other")
    assert key == 3 and alike >= dataset_module.OTHER_NAME_CORRELATION
    fresh = rng.standard_normal(8000) * np.repeat(rng.uniform(0.05, 1.0, 40), 200)
    assert recordings.find(dsp.mu_law_encode((fresh / np.max(np.abs(fresh))).astype(np.float32)), "other")[0] is None


def test_a_copy_under_another_name_at_another_level_is_left_out_and_said_so(tmp_path, caplog):
    # A probe's backup_3.flac, a copy of 3.wav at half its level, was held out while 3.wav was trained on (and
    # Asterisk's own English prompts hold one recording under two names: privacy-thankyou and auth-thankyou)
    takes = sorted(path for path in SAMPLE_DATA.iterdir() if path.suffix == ".wav")
    (tmp_path / "in").mkdir()
    for index, path in enumerate(takes):
        audio, rate = soundfile.read(str(path), dtype="float32")
        soundfile.write(str(tmp_path / "in" / f"{index}.wav"), audio, rate)
        soundfile.write(str(tmp_path / "in" / f"backup_{index}.flac"), 0.5 * audio, rate)
    with caplog.at_level("WARNING", logger="audiornn"):
        dataset = build_dataset([tmp_path / "in"], tmp_path / "ds", progress=False)
    assert sorted(dataset.metadata["skipped"]["duplicate"]) == sorted(
        str(tmp_path / "in" / f"backup_{index}.flac") for index in range(len(takes)))  # (read after the originals)
    assert re.search(r"backup_0.flac' holds what sounds like the same recording \(its coarse spectrogram moves with "
                     r"that file's, correlation 1.00; a copy under another name, at another level, format or rate\) "
                     r"as '.*in/0.wav': skipped", caplog.text)
    assert {Path(segment.source).name for split in ("train", "validation") for segment in dataset.segments(split)} \
        == {f"{index}.wav" for index in range(len(takes))}


def test_a_dataset_of_an_older_builder_is_not_called_up_to_date(speech_like_folder, tmp_path, caplog):
    from audiornn.dataset import BUILDER, dataset_builder

    output = tmp_path / "dataset"
    build_dataset([speech_like_folder], output, progress=False)
    metadata = json.loads((output / "metadata.json").read_text())
    assert metadata["builder"] == BUILDER == dataset_builder(metadata)
    built = (output / "train.u8").read_bytes()
    # What an audiornn of 2026-12-04 wrote: no builder recorded, dated before each file was taken less its mean
    del metadata["builder"]
    assert dataset_builder(metadata) == BUILDER  # made today: today's builder
    metadata["created"] = "2026-12-04T10:00:00+0000"
    (output / "metadata.json").write_text(json.dumps(metadata))
    assert dataset_builder(metadata) == 1
    for created, builder in ((1733000000, 1), ("2026-12-06T00:00:00", 2), ("not a date", 1)):  # odd ones: no crash
        assert dataset_builder({"created": created}) == builder
    assert dataset_builder({"builder": "2", "created": "2026-12-04T10:00:00+0000"}) == 2
    with pytest.raises(DatasetError, match=r"holds a dataset of the same files and settings built \(2026-12-04\) by "
                                           r"an older audiornn; today's takes each file less its mean .* near-copies "
                                           r".* build it into another --output .* or again here with --overwrite"):
        build_dataset([speech_like_folder], output, progress=False)
    assert json.loads((output / "metadata.json").read_text())["created"].startswith("2026-12-04")  # unchanged
    rebuilt = build_dataset([speech_like_folder], output, progress=False, overwrite=True)
    assert rebuilt.metadata["builder"] == BUILDER and (output / "train.u8").read_bytes() == built
    caplog.set_level("INFO", logger="audiornn")
    build_dataset([speech_like_folder], output, progress=False)  # and then reused as today's
    assert "is up to date with its inputs; reusing it" in caplog.text


def test_too_little_audio_to_learn_from_or_score_on_is_said_at_build(write_audio, tmp_path, caplog):
    # (0.2 s built a dataset of 20 ms of validation audio without a word, and trained 30 epochs of one batch)
    write_audio("short/clip.wav", 0.5 * np.sin(2 * np.pi * 440 * np.arange(1600) / 8000), 8000)
    with caplog.at_level("WARNING", logger="audiornn"):
        build_dataset([tmp_path / "short"], tmp_path / "ds", progress=False)
    assert re.search(r"holds 0.1\d s of training audio and 0.0\d s of validation audio: a model learns little from "
                     r"so little and its scores on so little validation audio say little \(the bundled sample",
                     caplog.text)
    caplog.clear()
    with caplog.at_level("WARNING", logger="audiornn"):
        build_dataset([SAMPLE_DATA], tmp_path / "bundled", progress=False)
    assert "learns little" not in caplog.text and "say little" not in caplog.text


def test_a_folder_of_audio_given_as_a_dataset_is_told_how_to_build_one_in_python_too(speech_like_folder, tmp_path):
    with pytest.raises(DatasetError, match=r"is not an audiornn dataset \(no metadata.json\): build one with 'python "
                                           r"AudioRNNData.py AUDIO... --output DIR' \(audiornn.build_dataset\(AUDIO, "
                                           r"DIR\)\); '.*sub' holds audio files: build a dataset of them first"):
        open_dataset(speech_like_folder / "sub")
    with pytest.raises(DatasetError, match=r"does not exist: build one with .* \(audiornn.build_dataset\(AUDIO, "
                                           r"'.*nowhere'\)\)"):
        open_dataset(tmp_path / "nowhere")
    for output in (None, ""):
        with pytest.raises(ParameterError, match=r"output is the folder to build the dataset in \(a path\), got"):
            build_dataset([speech_like_folder], output, progress=False)


@pytest.mark.parametrize("rate", [8000, 16000])
def test_a_copy_under_another_name_filtered_otherwise_is_told_by_its_fine_spectrum(rate, tmp_path, caplog):
    # Asterisk's vm-goodbye.g722 and vm-goodbye.wav, copied as a.g722 and b.wav (a probe's), were both kept: the
    # two were filtered otherwise and their waveforms moved together 0.73 where 0.9 was asked. Here: a prompt, and
    # the same prompt through three all-pass filters (its spectrum kept, its waveform not: 0.71), in a dataset at 8
    # and at 16 kHz (a window of 64 ms was too long for the excerpt at 16 kHz: a review's)
    speech, source = soundfile.read(str(SAMPLE_DATA / "vm-forward.wav"))

    def allpass(audio, radius, hertz):
        angle = 2 * np.pi * hertz / source
        denominator = [1.0, -2 * radius * np.cos(angle), radius ** 2]
        return scipy.signal.lfilter(denominator[::-1], denominator, audio)

    (tmp_path / "prompts").mkdir()
    soundfile.write(str(tmp_path / "prompts" / "a.wav"), speech, source)
    dispersed = allpass(allpass(allpass(speech, 0.95, 300), 0.9, 800), 0.9, 2000)
    soundfile.write(str(tmp_path / "prompts" / "b.flac"), dispersed, source)
    with caplog.at_level("WARNING", logger="audiornn"):
        dataset = build_dataset([tmp_path / "prompts"], tmp_path / "ds", audio_config=AudioConfig(sample_rate=rate),
                                progress=False)
    assert {Path(entry["path"]).name for entry in dataset.metadata["sources"]} == {"a.wav"}
    assert "b.flac' holds what sounds like the same recording" in caplog.text and "a copy under another name" \
        in caplog.text


def test_one_instruments_notes_of_one_length_under_other_names_are_kept(tmp_path, caplog):
    # A review's synthetic notes a semitone apart, one envelope and length, moved together 0.975 in the coarse
    # fingerprint, above the bar for other names: their waveforms do not
    rate = 16000
    time = np.arange(4 * rate) / rate
    envelope = np.minimum(time / 0.01, 1) * np.exp(-1.5 * time) * (time < 3) \
        + (time >= 3) * np.exp(-4.5) * np.exp(-8 * (time - 3))  # struck, held, released
    (tmp_path / "notes").mkdir()

    def note(midi):
        frequency = 440 * 2 ** ((midi - 69) / 12)
        tone = sum(np.sin(2 * np.pi * frequency * harmonic * time) / harmonic for harmonic in range(1, 12))
        return (0.9 * tone * envelope / np.max(np.abs(tone * envelope))).astype(np.float32)

    for midi in (60, 61, 62):
        soundfile.write(str(tmp_path / "notes" / f"note{midi}.wav"), note(midi), rate, subtype="FLOAT")
    with caplog.at_level("WARNING", logger="audiornn"):
        dataset = build_dataset([tmp_path / "notes"], tmp_path / "ds", audio_config=AudioConfig(sample_rate=rate),
                                progress=False)
    assert dataset.metadata["skipped"] == {} and "same recording" not in caplog.text
    assert len({entry["path"] for entry in dataset.metadata["sources"]}) == 3


def test_files_of_the_input_folders_can_be_left_out_by_pattern(speech_like_folder, write_audio, tmp_path, caplog,
                                                                 capsys):
    # The Asterisk prompts hold silence/, beeps and tones beside the speech: a messy folder had to be copied and
    # pruned by hand before it could be built
    noise = np.random.default_rng(1).standard_normal(8000).astype(np.float32) * 0.1
    for name in ("recordings/silence/1.wav", "recordings/silence/2.wav", "recordings/beep.wav",
                 "recordings/sub/ascending-2tone.wav"):
        write_audio(name, noise)
    named = write_audio("elsewhere/beep-named.wav", noise)
    patterns = ["silence", "beep*", "*2tone*", "nothing-like-this*"]
    with caplog.at_level("INFO", logger="audiornn"):
        dataset = build_dataset([speech_like_folder, named], tmp_path / "ds", exclude=patterns, progress=False)
    sources = {Path(entry["path"]).name for entry in dataset.metadata["sources"]}
    assert sources == {"beep-named.wav", "take0.flac", "take1.wav", "take2.flac", "take3.wav", "take4.flac"}
    assert dataset.metadata["exclude"] == patterns
    said = caplog.text
    assert "left out 4 of the 9 audio file(s) of folder" in said  # (a file named directly is never left out)
    assert "--exclude 'nothing-like-this*' left out no file of the input folders" in said
    # the same build again is reused; without the patterns it is another dataset
    assert build_dataset([speech_like_folder, named], tmp_path / "ds", exclude=patterns,
                         progress=False).path == dataset.path
    with pytest.raises(DatasetError, match=r"4 file\(s\) new"):
        build_dataset([speech_like_folder, named], tmp_path / "ds", progress=False)
    # mistakes said before any work
    with pytest.raises(AudioFileError, match=r"--exclude '\*' leaves out all 9 audio file\(s\) of folder"):
        build_dataset([speech_like_folder], tmp_path / "none", exclude="*", progress=False)
    with pytest.raises(ParameterError, match=r"--exclude '/silence'.*without the leading '/'"):
        build_dataset([speech_like_folder], tmp_path / "none", exclude=["/silence"], progress=False)
    for pattern in ("", ".", "./", "../x"):
        with pytest.raises(ParameterError, match=r"--exclude takes glob patterns"):
            build_dataset([speech_like_folder], tmp_path / "none", exclude=[pattern], progress=False)
    assert not (tmp_path / "none").exists()
    # on the command line, one pattern a flag
    assert main(["data", str(speech_like_folder), "--output", str(tmp_path / "cli"), "--exclude", "silence",
                 "--exclude", "sub/*", "--quiet"]) == 0
    built = open_dataset(tmp_path / "cli")
    assert {Path(entry["path"]).name for entry in built.metadata["sources"]} == {"beep.wav", "take1.wav",
                                                                                 "take3.wav"}


def test_exclusion_patterns_match_as_gitignore_has_them():
    from audiornn.audio_io import Exclusion

    tree = ["a.wav", "beep1.wav", "silence/s1.wav", "silence/sub/s2.wav", "voices/beeps/b.wav",
            "voices/silence_not/x.wav", "nested/deep/z.wav", "nested/deep/beep2.wav"]

    def left(*patterns, folder="in"):
        exclusion = Exclusion(list(patterns))
        return sorted(path for path in tree if exclusion.leaves_out(path, Exclusion.folder_parts(folder)))

    assert left("silence") == ["silence/s1.wav", "silence/sub/s2.wav"]  # a folder's name: all of it
    assert left("beep*") == ["beep1.wav", "nested/deep/beep2.wav", "voices/beeps/b.wav"]  # names at any depth
    assert left("silence/*") == left("silence/**") == left("./silence/") == left("silence\\") \
        == ["silence/s1.wav", "silence/sub/s2.wav"]  # from the folder's start, '*' crossing folders
    assert left("nested/deep") == left("nested/*") == ["nested/deep/beep2.wav", "nested/deep/z.wav"]
    assert left("**/beep*") == left("beep*") and left("**/deep/z*") == ["nested/deep/z.wav"]
    assert left("deep/z*") == []  # (with a '/': from the start of the path below the folder)
    assert left("in/silence") == left("silence")  # the input folder's path in front, as typed from here
    assert left("in/silence", folder="./in/") == left("silence") and left("in/silence", folder=None) == []
    assert left("SILENCE") == []  # case-sensitive
    exclusion = Exclusion(["beep*", "silence"])
    assert [exclusion.leaves_out(path) for path in ("beep1.wav", "silence/s1.wav", "a.wav")] == [True, True, False]
    assert exclusion.matched == {"beep*": 1, "silence": 1}
