"""The frames text-to-speech front ends emit (speecht5, hifigan, vocos) and 16 kHz input: equal to the front ends'
own code, their rates fixed, a vocoder trained on them taking their frames at any level; raw G.722 files read."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import soundfile
from audiornn import AudioConfig, build_dataset
from audiornn.audio_io import find_audio_files, read_audio
from audiornn.cli import main
from audiornn.errors import AudioFileError, ParameterError
from audiornn.features import FORMATS, FeatureConfig, format_frames, frame_count, rate_for
from audiornn.model import ModelConfig
from audiornn.runs import load_run_model
from audiornn.training import TrainConfig, train
from audiornn.vocoder import FOLLOW_DB, load_features, vocode

from conftest import sine

REPOSITORY = Path(__file__).resolve().parent.parent
REFERENCE = Path(__file__).resolve().parent / "data" / "format_frames.npz"


def _reference_audio(rate):
    """The audio tests/data/make_format_frames.py gave each front end's code."""
    audio, source = soundfile.read(str(REPOSITORY / "data" / "vm-forward.wav"), dtype="float64")
    common = math.gcd(rate, source)
    audio = scipy.signal.resample_poly(audio[:2 * source] * 0.5, rate // common, source // common)
    return audio + 1e-3 * np.random.default_rng(0).standard_normal(audio.size)


def test_a_feature_config_of_ones_own_is_at_the_packages_top_level():
    import audiornn

    assert audiornn.FeatureConfig is FeatureConfig and "FeatureConfig" in audiornn.__all__


@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_each_formats_frames_equal_its_front_ends_own_code(kind):
    reference = np.load(REFERENCE)[kind]
    config = FeatureConfig.for_format(kind)
    audio = _reference_audio(FORMATS[kind].sample_rate)
    if kind != "speecht5":  # torch read float32 audio; transformers float64
        audio = audio.astype(np.float32)
    ours = format_frames(audio, config)
    assert ours.shape == reference.shape
    np.testing.assert_allclose(ours, reference, atol=1e-4, rtol=0)
    # The frames carry the audio's level: 12 dB quieter audio, every value lower by 12 dB in the format's unit.
    quieter = format_frames(audio * 10 ** (-12 / 20), config)
    per_unit = 20.0 if FORMATS[kind].log == "log10" else 20 / math.log(10)  # dB of magnitude per unit
    loud = reference > np.percentile(reference, 50)
    assert np.median(reference[loud] - quieter[loud]) * per_unit == pytest.approx(12.0, abs=0.05)


def test_a_format_fixes_its_settings_and_its_sample_rate(tmp_path, capsys):
    config = FeatureConfig.for_format("speecht5")
    assert (config.bands, config.hop, config.fft) == (80, 256, 1024)
    assert FeatureConfig(kind="speecht5") == config  # the kind alone: its format's settings
    with pytest.raises(ParameterError, match="fixed settings"):
        FeatureConfig(kind="speecht5", bands=40, hop=256, window=1024, fft=1024, floor=1e-10)
    # 40 bands asked of a format of 80 is refused, though 40 is the mel kind's own (it once became 80 unsaid)
    with pytest.raises(ParameterError, match=r"got bands 40 \(the format's: 80\)"):
        FeatureConfig(kind="speecht5", bands=40)
    assert FeatureConfig(kind="speecht5", bands=80) == config and FeatureConfig().bands == 40
    assert FeatureConfig(bands=64).hop == 80 and FeatureConfig.from_dict(config.to_dict()) == config
    assert rate_for("speecht5", None) == 16000 and rate_for("mel", None) is None
    with pytest.raises(ParameterError, match="--features hifigan are made at 22050 Hz .* not at --sample-rate 16000"):
        rate_for("hifigan", 16000)
    with pytest.raises(ParameterError, match="16000 Hz"):
        build_dataset([REPOSITORY / "data" / "vm-forward.wav"], tmp_path / "ds", features="speecht5",
                      audio_config=AudioConfig(sample_rate=8000), progress=False)
    code = main(["data", str(REPOSITORY / "data" / "vm-forward.wav"), "--output", str(tmp_path / "ds"),
                 "--features", "speecht5", "--sample-rate", "8000"])
    assert code != 0 and "--features speecht5 are made at 16000 Hz" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()


def _g722(path, audio):
    import G722

    path.write_bytes(bytes(G722.G722(16000, 64000).encode(np.round(audio * 32767).astype(np.int16))))
    return path


def test_copy_synthesis_of_frames_is_refused_naming_what_it_needs(tmp_path):
    from audiornn.resynthesis import resynthesis_scores

    np.save(tmp_path / "frames.npy", np.zeros((100, 80), np.float32))
    with pytest.raises(ParameterError, match=r"frames.npy' holds frames, not a recording: .*give recordings"):
        resynthesis_scores("vocoder-16k", [tmp_path / "frames.npy"])


def test_a_missing_g722_or_pesq_package_is_named_with_how_to_install_it(tmp_path, monkeypatch):
    import sys

    from audiornn.resynthesis import resynthesis_scores

    path = _g722(tmp_path / "tone.g722", sine(500.0, 0.2, 16000))
    monkeypatch.setitem(sys.modules, "G722", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "pesq", None)
    with pytest.raises(AudioFileError, match="tone.g722.*needs the g722 package \\(pip install g722\\)"):
        read_audio(path)
    with pytest.raises(Exception, match=r"need pesq: install them \(pip install 'audiornn\[vocoder-scores\]'"):
        resynthesis_scores(None, [path])


def test_raw_g722_named_wav_and_frames_given_as_audio_are_named_for_what_they_are(tmp_path):
    tone = sine(300.0, 0.5, 16000, amplitude=0.5)
    _g722(tmp_path / "take.g722", tone).rename(tmp_path / "take.wav")
    with pytest.raises(AudioFileError, match=r"take.wav'.*none of the headers soundfile knows: raw G.722 is read "
                                             r"under the \.g722 extension"):
        read_audio(tmp_path / "take.wav")
    np.save(tmp_path / "frames.npy", np.zeros((10, 80), np.float32))
    with pytest.raises(AudioFileError, match=r"frames.npy'.*it is a NumPy .npy file: spectrogram frames are "
                                             r"vocode's input"):
        read_audio(tmp_path / "frames.npy")
    (tmp_path / "phone.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A " + bytes(64))
    with pytest.raises(AudioFileError, match=r"phone.m4a'.*a format soundfile does not read: convert it to FLAC or "
                                             r"WAV, for example: ffmpeg"):
        read_audio(tmp_path / "phone.m4a")
    (tmp_path / "notes.wav").write_text("not audio\n")
    with pytest.raises(AudioFileError) as refused:
        read_audio(tmp_path / "notes.wav")
    assert "(it " not in str(refused.value)  # text: nothing more to say than that it is not audio


def test_raw_g722_files_are_read_at_16_khz_and_other_files_named_g722_are_refused(tmp_path, caplog):
    tone = sine(5000.0, 1.0, 16000, amplitude=0.5)  # above 4 kHz: only wide band carries it
    audio, rate = read_audio(_g722(tmp_path / "tone.g722", tone))
    assert rate == 16000 and audio.shape == (16000, 1)
    spectrum = np.abs(np.fft.rfft(audio[:, 0]))
    assert abs(np.argmax(spectrum) * 16000 / 16000 - 5000.0) < 5
    assert np.sqrt(np.mean(audio[2000:, 0] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.1)
    wav = tmp_path / "really.g722"
    soundfile.write(str(wav), tone, 16000, format="WAV")
    with pytest.raises(AudioFileError, match="really.g722.*raw G.722 audio, but this is a WAV file"):
        read_audio(wav)
    (tmp_path / "notes.g722").write_text("not audio at all\n" * 10)
    with pytest.raises(AudioFileError, match="notes.g722.*this is text"):
        read_audio(tmp_path / "notes.g722")
    # Raw 16-bit samples named .g722 (Asterisk's .sln16) decode as full-scale noise: read, with a warning.
    raw = tmp_path / "samples.g722"
    (sine(300.0, 1.0, 16000, amplitude=0.5) * 32767).astype("<i2").tofile(raw)
    with caplog.at_level("WARNING", logger="audiornn"):
        read_audio(raw)
        read_audio(tmp_path / "tone.g722")
    assert caplog.text.count("decodes as noise at full scale: is it really G.722?") == 1 and "samples.g722" in caplog.text
    assert "It is read as it is" in caplog.text and "sox -t raw -r 16000 -e signed -b 16" in caplog.text
    with pytest.raises(AudioFileError, match=r"samples.g722' decodes as noise .*--strict stops at the first bad"):
        build_dataset([raw, tmp_path / "tone.g722"], tmp_path / "strict", strict=True, progress=False)
    assert not (tmp_path / "strict").exists()
    (tmp_path / "empty.g722").write_bytes(b"")
    with pytest.raises(AudioFileError, match="empty"):
        read_audio(tmp_path / "empty.g722")
    np.save(tmp_path / "frames.npy", np.zeros((10, 80)))
    (tmp_path / "frames.npy").rename(tmp_path / "frames.g722")
    (tmp_path / "song.g722").write_bytes(b"\xff\xfb\x90\x00" + bytes(400))  # an MP3 frame, no ID3 tag
    (tmp_path / "accents.g722").write_text("h\u00e9llo, d\u00e9j\u00e0 vu\n" * 20, encoding="utf-8")
    for name, kind in (("frames.g722", "a NumPy .npy file"), ("song.g722", "an MP3 file"), ("accents.g722", "text")):
        with pytest.raises(AudioFileError, match=f"{name}.*this is {kind}"):
            read_audio(tmp_path / name)


def test_a_folder_with_a_recording_in_two_formats_gives_it_once_at_the_higher_rate(tmp_path, capsys):
    folder = tmp_path / "prompts"
    folder.mkdir()
    for name in ("hello", "bye"):
        soundfile.write(str(folder / f"{name}.wav"), sine(300.0, 0.5, 8000), 8000)
        _g722(folder / f"{name}.g722", sine(300.0, 0.5, 16000))
    soundfile.write(str(folder / "only.wav"), sine(300.0, 0.5, 8000), 8000)
    soundfile.write(str(folder / "kept.wav"), sine(300.0, 0.5, 8000), 8000)
    soundfile.write(str(folder / "kept.g722"), sine(300.0, 0.5, 16000), 16000, format="WAV")  # not G.722
    assert sorted(label for _, label in find_audio_files([folder])) == ["bye.g722", "hello.g722", "kept.wav",
                                                                        "only.wav"]
    # Across the inputs too: named beside its folder, or twice in two formats, a recording is read once (else
    # one copy could train and the other be held out).
    assert sorted(label for _, label in find_audio_files([folder, folder / "hello.wav"])) == [
        "bye.g722", "hello.g722", "kept.wav", "only.wav"]
    assert [label for _, label in find_audio_files([folder / "bye.wav", folder / "bye.g722"])] == ["bye.g722"]
    # What was left out is told: the build's line counts it, its metadata names each (with -q, they were said
    # nowhere, and "0 file(s) skipped" read as if every file was in)
    other = {}
    find_audio_files([folder], other)
    assert other == {**{str(folder / f"{name}.wav"): str(folder / f"{name}.g722") for name in ("bye", "hello")},
                     str(folder / "kept.g722"): str(folder / "kept.wav")}
    (tmp_path / "again").symlink_to(folder)  # the folder named twice, once by a link: each file is said once
    twice = {}
    find_audio_files([folder, tmp_path / "again"], twice)
    assert twice == other
    assert main(["data", str(folder), "--output", str(tmp_path / "ds"), "--sample-rate", "16000", "--quiet"]) == 0
    assert ", 2 file(s) skipped: 2 duplicate; 3 left out as another format of a file read)" in capsys.readouterr().out
    metadata = json.loads((tmp_path / "ds" / "metadata.json").read_text())
    assert metadata["other_formats"] == other and metadata["skipped_count"] == 2  # (one tone in all)
    # A copy at a lower rate put beside one read changes nothing to build: reused, and its line counts it
    soundfile.write(str(folder / "only.flac"), sine(300.0, 0.5, 4000), 4000)
    assert main(["data", str(folder), "--output", str(tmp_path / "ds"), "--sample-rate", "16000", "--quiet"]) == 0
    assert "; 4 left out as another format of a file read)" in capsys.readouterr().out
    assert json.loads((tmp_path / "ds" / "metadata.json").read_text()) == metadata  # reused as it was
    for name in ("take.001", "take.002"):  # names that do not end in an audio extension are not one recording
        soundfile.write(str(tmp_path / name), sine(300.0, 0.5, 8000), 8000, format="WAV")
    assert [label for _, label in find_audio_files([tmp_path / "take.001", tmp_path / "take.002"])] == [
        "take.001", "take.002"]


def test_of_files_of_one_name_but_another_length_the_longest_is_read(tmp_path, caplog):
    """A .g722 cut short beside its whole .wav, or another take under the same name, is not the .wav in another
    format: the longest is read (not the one of the highest rate, the fragment), and the others named, once."""
    folder = tmp_path / "prompts"
    folder.mkdir()
    soundfile.write(str(folder / "busy.wav"), sine(300.0, 2.5, 8000), 8000)
    _g722(folder / "busy.g722", sine(300.0, 2.5, 16000))
    (folder / "busy.g722").write_bytes((folder / "busy.g722").read_bytes()[:200])  # cut short: 0.025 s
    soundfile.write(str(folder / "take.wav"), sine(300.0, 1.0, 8000), 8000)
    soundfile.write(str(folder / "take.WAV"), sine(500.0, 1.5, 8000), 8000)
    _g722(folder / "same.g722", sine(300.0, 1.0, 16000))
    soundfile.write(str(folder / "same.wav"), sine(300.0, 1.0, 8000), 8000)
    with caplog.at_level("WARNING", logger="audiornn"):
        labels = sorted(label for _, label in find_audio_files([folder, folder / "busy.wav"]))
    assert labels == ["busy.wav", "same.g722", "take.WAV"]
    assert caplog.text.count("share a name but not a length") == 2  # busy and take, each once
    assert "busy.g722' (0.03 s) and" in caplog.text and "busy.wav' (2.50 s) share a name but not a length: the " \
        "longest is read, and" in caplog.text and "busy.g722' left out (a copy cut short" in caplog.text


def test_raw_samples_named_g722_do_not_displace_the_recording_beside_them(tmp_path, caplog):
    # Asterisk's .sln16 (raw 16-bit, twice G.722's bytes a second) under .g722 beside the prompt's .wav: it
    # looked four times as long, so the .wav was left out as "a copy cut short" and the noise read alone
    folder = tmp_path / "prompts"
    folder.mkdir()
    soundfile.write(str(folder / "hello.wav"), sine(300.0, 1.0, 8000), 8000)
    (sine(300.0, 1.0, 16000, amplitude=0.5) * 32767).astype("<i2").tofile(folder / "hello.g722")
    with caplog.at_level("WARNING", logger="audiornn"):
        assert [label for _, label in find_audio_files([folder])] == ["hello.wav"]
    assert "share a name but not a length" not in caplog.text
    # An empty .g722 beside a header-only .wav (the Russian prompts' is.g722 and is.wav): the unreadable file joins
    # the other, not called a longer take that leaves the .wav out, before the .wav was read anyway
    (folder / "is.g722").write_bytes(b"")
    soundfile.write(str(folder / "is.wav"), np.zeros(0), 8000)
    caplog.clear()
    with caplog.at_level("WARNING", logger="audiornn"):
        assert sorted(label for _, label in find_audio_files([folder])) == ["hello.wav", "is.wav"]
    assert "share a name but not a length" not in caplog.text


def _loud_power_db(made, frames):
    """dB of ``made``'s power over ``frames``' (SpeechT5's log10 magnitudes) in the louder half of ``frames``."""
    made, frames = made[:frames.shape[0]], frames[:made.shape[0]]
    wanted, got = (np.sum(10.0 ** (2.0 * values.astype(np.float64)), axis=1) for values in (frames, made))
    loud = wanted >= np.median(wanted)
    return 10 * np.log10(np.sum(got[loud]) / np.sum(wanted[loud]))


@pytest.fixture(scope="module")
def speecht5_vocoder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wide")
    generator = np.random.default_rng(3)
    for index in range(3):
        pieces = [sine(generator.choice([300.0, 900.0, 3000.0, 6000.0]), 0.1, 16000, phase=index) for _ in range(15)]
        _g722(folder / f"tones{index}.g722", np.concatenate(pieces) * 0.8)
    # The format sets the rate: no audio_config needed.
    dataset = build_dataset([folder], folder / "dataset", features="speecht5", validation_fraction=0.34,
                            progress=False)
    assert dataset.audio_config.sample_rate == 16000
    run = folder / "run"
    train(dataset, run, verbose=0, model_config=ModelConfig(units=16, embedding_dim=8, lags=4, dense_units=16,
                                                            feature_units=8),
          train_config=TrainConfig(epochs=1, steps_per_epoch=20, batch_size=8, sequence_length=512, warmup_steps=2,
                                   learning_rate=1e-2))
    return load_run_model(run), folder


@pytest.mark.slow
def test_a_speecht5_vocoder_takes_its_front_ends_frames_at_any_level(speecht5_vocoder, tmp_path, caplog):
    model, folder = speecht5_vocoder
    assert model.feature_config.kind == "speecht5" and model.audio_config.sample_rate == 16000
    audio = np.concatenate([read_audio(folder / f"tones{index}.g722")[0][:, 0] for index in range(3)])
    frames = format_frames(audio * 0.5, model.feature_config)  # as the front end makes them, at its level
    np.save(tmp_path / "tts.npy", frames)
    loud = vocode(model, tmp_path / "tts.npy", seed=5, progress=False, fold=False)[0]
    quiet = vocode(model, frames - 12 / 20, seed=5, progress=False, fold=False)[0]  # 12 dB quieter, log10 units
    assert loud.size == frames.shape[0] * 256
    ratio_db = 20 * np.log10(np.sqrt(np.mean(quiet ** 2)) / np.sqrt(np.mean(loud ** 2)))
    assert ratio_db == pytest.approx(-12.0, abs=0.5)
    # ... and the output lies where the frames say: the power of their loud half within 1 dB.
    assert abs(_loud_power_db(format_frames(loud, model.feature_config), frames)) < 1.0
    with pytest.raises(ParameterError, match="natural-log magnitude: multiply by 1 / ln\\(10\\)") as refused:
        load_features(frames * np.log(10), model)
    # HiFi-GAN's frames are natural-log magnitude too, of 80 bands: converting them would read them at 16 kHz.
    assert "hifigan's (22050 Hz, bands from 0 to 8000 Hz), converting them will not do" in str(refused.value)
    assert "--features hifigan" in str(refused.value)
    for bands_first in (np.zeros((80, 100), np.float32), np.zeros((80, 40), np.float32)):  # frame counts of a format's bands
        with pytest.raises(ParameterError, match=r"transpose a \(bands, frames\) array"):
            load_features(bands_first, model)
    with pytest.raises(ParameterError, match=r"have shape \(1, 80, 100\);.*\(transpose a \(bands, frames\) array: "
                                             r"frames\[0\]\.T[;)]"):
        load_features(np.zeros((1, 80, 100), np.float32), model)  # a batch of one, its bands first
    with pytest.raises(ParameterError, match=r"speecht5 frames \(80 mel bands"):
        load_features(frames[:, :40], model)
    # what the probes passed wrong: an empty array, a NaN (where), integers, frames flat but off the floor
    with pytest.raises(ParameterError, match=r"have shape \(100, 0\).*\(an empty array: it holds no values\)"):
        load_features(np.zeros((100, 0), np.float32), model)
    broken = frames.copy()
    broken[7, 3] = np.nan
    with pytest.raises(ParameterError, match=r"NaN or infinite values: 1 of them, in 1 of their \d+ frames \(the "
                                             r"first is frame 7\)"):
        load_features(broken, model)
    with caplog.at_level("WARNING", logger="audiornn"):
        load_features(np.round(frames).astype(np.int32), model)
    assert "are integers (int32): frames are real numbers" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="audiornn"), pytest.raises(ParameterError, match="which no front end "
                                                                                           "makes of sound"):
        load_features(np.full((150, 80), -3.0, np.float32), model)
    assert "all 150 frame(s) are flat (every band alike), which tells nothing of their units' spread" \
        in caplog.text and "silence" not in caplog.text.split("ERROR")[0]


@pytest.mark.slow
def test_a_front_ends_vocoder_keeps_the_loud_level_of_its_training_frames(speecht5_vocoder):
    from audiornn.dataset import open_dataset
    from audiornn.features import loud_level
    from audiornn.vocoder import level_shift

    model, folder = speecht5_vocoder  # back from its file
    dataset = open_dataset(folder / "dataset")
    frames = dataset.frames("train")
    levels = [loud_level(frames[entry["frames_start"]:entry["frames_start"] + entry["frames"]], model.feature_config)
              for entry in dataset.metadata["sources"] if entry["split"] == "train"]
    assert len(levels) == 2 and model.frame_level == pytest.approx(np.mean(levels), abs=1e-6)
    # The recordings (at 0.8) read, on the whole, where they lie against the dataset's files (at a peak of 1).
    shifts = [level_shift(load_features(folder / f"tones{index}.g722", model), model) for index in range(3)]
    assert np.mean(shifts) == pytest.approx(math.log10(0.8), abs=0.05)


@pytest.mark.slow
def test_frames_of_audio_louder_than_full_scale_are_said_to_be_cut(speecht5_vocoder, caplog):
    model, folder = speecht5_vocoder
    audio = np.concatenate([read_audio(folder / f"tones{index}.g722")[0][:, 0] for index in range(3)])
    frames = format_frames(audio, model.feature_config) + 2.0  # 40 dB up: far past full scale
    with caplog.at_level("WARNING", logger="audiornn"):
        loud = vocode(model, frames, seed=1, progress=False, fold=False)
    # cut at full scale, as said (and as a file is written), in the audio returned too
    assert np.abs(loud).max() == 1.0 and "the audio vocoded from the given array" in caplog.text
    assert "peaks" in caplog.text and "above full scale" in caplog.text


@pytest.mark.slow
def test_a_recording_of_a_lower_rate_keeps_its_level_and_is_said_to_lack_the_top_band(speecht5_vocoder, tmp_path,
                                                                                      caplog):
    from audiornn.dsp import resample
    from audiornn.vocoder import level_shift

    model, folder = speecht5_vocoder
    audio = np.concatenate([read_audio(folder / f"tones{index}.g722")[0][:, 0] for index in range(3)])
    narrow = resample(audio, source_rate=16000, target_rate=8000)
    soundfile.write(tmp_path / "narrow.wav", narrow, 8000)
    with caplog.at_level("WARNING", logger="audiornn"):
        frames = load_features(tmp_path / "narrow.wav", model)
    assert "narrow.wav' is at 8000 Hz, below the model's 16000 Hz" in caplog.text
    # The top bands, empty, do not pull the level down (their mean did: the rest then read 10 dB too loud).
    wide = format_frames(audio, model.feature_config)
    assert level_shift(frames, model) == pytest.approx(level_shift(wide, model), abs=0.1)
    assert np.mean(frames) - np.mean(wide) < -0.3  # where the mean over all bands lies


@pytest.mark.slow
def test_the_readmes_recipe_vocodes_frames_made_by_speecht5s_own_feature_extractor(tmp_path):
    """The shipped ``vocoder-16k`` behind frames made by transformers' SpeechT5FeatureExtractor (of a bundled
    prompt at half its level), from the command line as the README shows it."""
    frames = np.load(REFERENCE)["speecht5"]
    np.save(tmp_path / "tts.npy", frames)
    assert main(["vocode", "--model", "vocoder-16k", str(tmp_path / "tts.npy"), "--output",
                 str(tmp_path / "speech.wav"), "--seed", "1", "--quiet"]) == 0
    audio, rate = soundfile.read(str(tmp_path / "speech.wav"))
    assert rate == 16000 and audio.size == frames.shape[0] * 256 and np.all(np.isfinite(audio))
    made = format_frames(audio, FeatureConfig.for_format("speecht5"))[:frames.shape[0]]
    # At the frames' level (speech at half its level): not the training audio's ...
    assert abs(_loud_power_db(made, frames)) < 1.0
    # ... and loud where they are loud, frame by frame. The vocoder's level wanders by about 3 dB over a second
    # (over seeds 0-23 this correlation runs 0.81-0.97 on both backends; the median frame is 0.06-0.24 log10 units
    # off), while the same output two frames (32 ms) late correlates at 0.67 at most.
    made_level, level = made.mean(axis=1), frames[:made.shape[0]].mean(axis=1)
    assert np.corrcoef(made_level, level)[0, 1] > 0.75
    assert np.median(np.abs(made_level - level)) < 0.3


def test_the_level_of_a_front_ends_frames_leaves_out_empty_bands_only():
    from types import SimpleNamespace

    from audiornn.vocoder import EMPTY_BAND_DB, level_shift

    model = SimpleNamespace(feature_config=FeatureConfig.for_format("speecht5"),
                            feature_net=SimpleNamespace(mean=np.linspace(-1.0, -2.0, 80)))
    frames = np.asarray(model.feature_net.mean) + 0.3 + 0.2 * np.random.default_rng(0).standard_normal((200, 80))
    assert level_shift(frames, model) == pytest.approx(np.mean(frames) - np.mean(model.feature_net.mean))
    quiet = frames.copy()
    quiet[:, -10:] -= (EMPTY_BAND_DB - 5) / 20  # quiet bands (log10 of magnitude: 20 dB a unit) count
    assert level_shift(quiet, model) == pytest.approx(np.mean(quiet) - np.mean(model.feature_net.mean))
    empty = frames.copy()
    empty[:, -17:] = -10.0  # the floor: a recording of half the rate, resampled up
    assert level_shift(empty, model) == pytest.approx(level_shift(frames, model), abs=0.02)
    assert np.mean(empty) - np.mean(model.feature_net.mean) < level_shift(frames, model) - 1.0


def _bundled_speech_at_16_khz(name):
    from audiornn.dsp import resample

    audio, rate = soundfile.read(str(REPOSITORY / "data" / name), dtype="float64")
    return resample(audio, source_rate=rate, target_rate=16000)


def test_a_front_ends_frames_are_read_by_their_loud_frames_so_pauses_do_not_move_their_level():
    from types import SimpleNamespace

    from audiornn.features import loud_level
    from audiornn.vocoder import level_shift

    config = FeatureConfig.for_format("speecht5")
    audio = _bundled_speech_at_16_khz("agent-alreadyon.wav")
    frames = format_frames(audio, config)
    paused = format_frames(np.concatenate([audio, np.zeros(audio.size // 4)]), config)  # a quarter more: silence
    feature_net = SimpleNamespace(mean=np.mean(frames, axis=0))
    model = SimpleNamespace(feature_config=config, feature_net=feature_net, frame_level=loud_level(frames, config))
    assert level_shift(frames, model) == pytest.approx(0.0, abs=1e-9)
    assert abs(level_shift(paused, model)) < 0.05  # 1 dB (log10 of magnitude: 20 dB a unit)
    assert level_shift(frames - 12 / 20, model) == pytest.approx(-0.6, abs=1e-6)  # 12 dB quieter reads so
    # A model trained before it kept the level: the mean, which counts the pauses' floor (-10) with the speech.
    before = SimpleNamespace(feature_config=config, feature_net=feature_net)
    assert level_shift(frames, before) == pytest.approx(0.0, abs=1e-6)
    assert level_shift(paused, before) < -1.0


def test_the_shipped_16_khz_vocoder_reads_a_recordings_frames_at_the_recordings_level():
    """``vocoder-16k`` keeps its training frames' loud level (of 16 kHz prompts at a peak of 1): the bundled
    prompts, 8 kHz recordings resampled up (nothing above 4 kHz) at two levels, read within 5 dB of their peak
    (the 16 kHz prompts themselves: within 1.4 dB), half as far off as the mean over frames and bands read."""
    from types import SimpleNamespace

    import audiornn
    from audiornn.vocoder import level_shift

    model = audiornn.load_model("vocoder-16k")
    assert model.frame_level is not None
    before = SimpleNamespace(feature_config=model.feature_config, feature_net=model.feature_net)
    errors = {"loud": [], "mean": []}
    for path in sorted((REPOSITORY / "data").glob("*.wav")):
        audio = _bundled_speech_at_16_khz(path.name)
        for peak in (1.0, 0.25):
            frames = format_frames(audio / np.abs(audio).max() * peak, model.feature_config)
            assert level_shift(frames, model) == pytest.approx(math.log10(peak), abs=0.25), path.name
            errors["loud"].append(abs(level_shift(frames, model) - math.log10(peak)))
            errors["mean"].append(abs(level_shift(frames, before) - math.log10(peak)))
    assert len(errors["loud"]) >= 10 and np.mean(errors["loud"]) < 0.5 * np.mean(errors["mean"])


def test_frames_with_digital_silence_are_judged_by_their_sounding_frames_and_unscaled_samples_are_refused():
    """Frames at the floor in every band (a front end's padding, a recording's silent ends) once passed for another
    unit's spread, and the advice given made the audio 13 dB too loud; frames of int16 samples were vocoded as
    full-scale noise."""
    import audiornn

    model = audiornn.load_model("vocoder-16k")
    audio = _bundled_speech_at_16_khz("agent-alreadyon.wav")
    for seconds in (0.2, 1.0):
        silence = np.zeros(int(seconds * 16000))
        frames = format_frames(np.concatenate([silence, audio, silence]), model.feature_config)
        assert np.mean(np.max(frames, axis=1) <= -10 + 1e-3) > 0.05  # at SpeechT5's floor, log10(1e-10)
        assert np.array_equal(load_features(frames, model), frames)
    with pytest.raises(ParameterError, match="natural-log magnitude: multiply by 1 / ln"):  # still told apart
        load_features(format_frames(np.concatenate([audio, np.zeros(16000)]), model.feature_config) * np.log(10),
                      model)
    with pytest.raises(ParameterError, match=r"describe audio 8\d dB above full scale .*divide them by 32768"):
        load_features(format_frames(audio * 32768, model.feature_config), model)
    assert load_features(format_frames(audio * 100, model.feature_config), model).shape[1] == 80  # 40 dB: cut
    with pytest.raises(ParameterError, match=r"200 of their 200 frames are flat, every band at 0 .*zeros are not "
                                             r"silence"):
        load_features(np.zeros((200, 80), np.float32), model)
    speech = format_frames(audio, model.feature_config)
    with pytest.raises(ParameterError, match=rf"6 of their {speech.shape[0] + 6} frames are flat, every band at 0 "
                                             rf"\(the first is frame {speech.shape[0]}\).*padding\?"):
        load_features(np.concatenate([speech, np.zeros((6, 80), np.float32)]), model)  # zero padding, mixed in
    assert np.all(load_features(np.full((200, 80), -10.0, np.float32), model) == -10.0)  # silence: the floor
    mel = audiornn.load_model("vocoder")  # its floor, ln(1e-5), rounded by float16: silence still
    assert load_features(np.full((200, 40), np.log(1e-5), np.float16), mel).shape == (200, 40)
    # 1-D audio: its rate given (an array cannot tell it; 22 kHz read as 16 kHz came out 38 % longer)
    with pytest.raises(ParameterError, match=r"is 1-D: audio, whose sample rate an array cannot tell: give it "
                                             r"\(sample_rate=16000 if it is at the model's\)"):
        load_features(audio, model)
    faster = scipy.signal.resample_poly(audio, 441, 320)  # at 22,050 Hz
    assert abs(load_features(faster, model, sample_rate=22050).shape[0] - speech.shape[0]) <= 1
    as_int16 = np.round(audio * 32767).astype(np.int16)  # scipy.io.wavfile.read's samples: scaled, not refused
    sounding = speech > -4  # (16-bit rounding's noise fills the empty bands above 4 kHz)
    assert np.mean(np.abs(load_features(as_int16, model, sample_rate=16000) - speech)[sounding]) < 0.01


def test_a_pipe_given_as_audio_is_named_as_such(tmp_path):
    import os

    os.mkfifo(tmp_path / "stream.wav")
    with pytest.raises(AudioFileError, match="'.*stream.wav' is not a file but a pipe or a device: save the audio"):
        read_audio(tmp_path / "stream.wav")
    with pytest.raises(AudioFileError, match="'.*gone.wav' does not exist: check the path"):
        read_audio(tmp_path / "gone.wav")


@pytest.mark.slow
def test_copy_synthesis_of_a_lower_rate_recording_says_so_once(caplog):
    from audiornn.resynthesis import resynthesis_scores

    with caplog.at_level("WARNING", logger="audiornn"):
        scores = resynthesis_scores("vocoder-16k", [REPOSITORY / "data" / "demo-thanks.wav"])
    assert caplog.text.count("demo-thanks.wav' is at 8000 Hz, below the model's 16000 Hz") == 1
    assert scores["vocoder"]["pesq"] > 1.0
    # the figure's original is drawn at the recording's own level, which the copies follow (not at a peak of 1)
    audio, _ = soundfile.read(str(REPOSITORY / "data" / "demo-thanks.wav"))
    example = scores["example"]
    assert np.max(np.abs(example["original"])) == pytest.approx(np.max(np.abs(audio)), rel=0.02)

    def rms_db(samples):
        return 10 * np.log10(np.mean(np.square(samples)))

    for copy in ("vocoder", "griffin_lim"):
        assert abs(rms_db(example[copy]) - rms_db(example["original"])) < 3.0


@pytest.mark.parametrize("kind", ["speecht5", "hifigan"])
def test_a_blare_beyond_what_the_frames_describe_is_brought_down_and_the_rest_is_left(kind):
    from audiornn.vocoder import LIMIT_DB, match_level

    config = FeatureConfig.for_format(kind)
    rate = config.format.sample_rate
    time = np.arange(2 * rate) / rate
    described = 0.1 * np.sin(2 * np.pi * 200 * time) * (1 + 0.5 * np.sin(2 * np.pi * 3 * time))
    frames = format_frames(described, config)
    made = described.copy()
    blare = slice(int(0.9 * rate), int(1.1 * rate))
    made[blare] *= 4.0          # 12 dB beyond the frames, a fifth of a second
    bump = slice(int(0.3 * rate), int(0.5 * rate))
    made[bump] *= 1.25          # 2 dB: within LIMIT_DB, the model's to keep

    out = match_level(made.astype(np.float32), frames, config)

    def level(audio, part):
        return 10 * np.log10(np.mean(np.asarray(audio[part], np.float64) ** 2))

    middle = slice(blare.start + rate // 20, blare.stop - rate // 20)
    assert level(made, middle) - level(described, middle) == pytest.approx(12.0, abs=0.2)
    assert level(out, middle) - level(described, middle) <= LIMIT_DB + 0.5
    kept = slice(bump.start + rate // 20, bump.stop - rate // 20)
    # Away from the blare the audio is only scaled (one gain for the whole: the level match), the 2 dB bump kept,
    # and at the frames' level: the blare no longer weighs on the match (it put the rest 6 dB too quiet)
    far = slice(int(1.5 * rate), int(1.9 * rate))
    assert level(out, far) - level(described, far) == pytest.approx(0.0, abs=0.5)
    scale = np.sqrt(np.mean(out[far].astype(np.float64) ** 2) / np.mean(made[far] ** 2))
    np.testing.assert_allclose(out[kept], made[kept] * scale, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(out[: rate // 2], made[: rate // 2] * scale, rtol=1e-4, atol=1e-6)


def test_vocoder_16k_takes_frames_of_the_bundled_prompts_and_refuses_ones_that_vary_far_more(tmp_path):
    # Natural-log magnitude given for SpeechT5's log10 varied 1.49 to 3 times as much as the training frames, and a
    # quarter of them (up to 1.8 times) were vocoded as garbage at full scale.
    from audiornn.dsp import resample
    import audiornn

    model = audiornn.load_model("vocoder-16k")
    deviation = np.asarray(model.feature_net.deviation, np.float64)
    for path in sorted(REPOSITORY.glob("data/*.wav")):  # 8 kHz resampled up: the emptiest top bands, the most spread
        audio, rate = read_audio(path)
        frames = format_frames(resample(audio[:, 0], source_rate=rate, target_rate=16000), model.feature_config)
        np.testing.assert_array_equal(load_features(frames, model), frames)
    spread = float(np.median(np.std(frames.astype(np.float64), axis=0) / deviation))
    livelier = frames.mean(axis=0) + (frames - frames.mean(axis=0)) * (1.6 / spread)
    with pytest.raises(ParameterError, match=r"vary 1.6 times as much as the model's training frames\); they look "
                                             r"like .*natural-log magnitude: multiply by 1 / ln\(10\).*If they are "
                                             r"log10 of magnitude, only livelier than speech .* pass --any-spread"):
        load_features(livelier, model)
    np.testing.assert_array_equal(load_features(livelier, model, any_spread=True), livelier.astype(np.float32))


def test_frames_of_audio_far_beyond_full_scale_are_said_to_distort_with_the_share_cut(caplog):
    from audiornn.vocoder import match_level

    config = FeatureConfig.for_format("speecht5")
    rate = config.format.sample_rate
    time = np.arange(rate) / rate
    burst = (time > 0.5) & (time < 0.505)
    for gain, distorted in ((np.where(burst, 2.0, 0.5), False), (40.0, True)):  # a short peak, then far too loud
        described = gain * np.sin(2 * np.pi * 220 * time)  # frames of audio `gain` times full scale
        caplog.clear()
        with caplog.at_level("WARNING", logger="audiornn"):
            out = match_level((0.1 * described).astype(np.float32), format_frames(described, config), config)
        cut = float(np.mean(np.abs(out) >= 1.0))
        assert f"{100 * cut:.2g} % of its samples are cut at full scale" in caplog.text
        assert ("it is distorted throughout" in caplog.text) == distorted


def test_audio_that_does_not_follow_its_frames_is_said_so_and_not_raised_into_a_blast(caplog):
    """vocoder-16k at --temperature 0 drew audio all but silent in the frames' bands, which the level match raised
    71 dB into a full-scale tone (92 % of the samples cut), and the warning blamed the frames' unit."""
    from audiornn.vocoder import RAISE_DB, match_level

    config = FeatureConfig.for_format("speecht5")
    rate = config.format.sample_rate
    time = np.arange(2 * rate) / rate
    described = 0.1 * np.sin(2 * np.pi * 200 * time) * (1 + 0.5 * np.sin(2 * np.pi * 3 * time))
    frames = format_frames(described, config)
    with caplog.at_level("WARNING", logger="audiornn"):
        kept = match_level((0.5 * described).astype(np.float32), frames, config, "'a.npy'", expected_db=-6.0)
    assert caplog.text == "" and np.sqrt(np.mean(kept ** 2)) == pytest.approx(np.sqrt(np.mean(described ** 2)),
                                                                             rel=0.05)
    # Its energy above the frames' top band (7.6 kHz), almost none in them
    junk = (1e-6 * described + 0.003 * np.sin(2 * np.pi * 7950 * time)).astype(np.float32)
    for temperature, why in ((0.0, "sampled at --temperature 0 (temperature=): below 1 a vocoder's draws fall apart"),
                             (1.0, "frames unlike those the model learned")):
        caplog.clear()
        with caplog.at_level("WARNING", logger="audiornn"):
            out = match_level(junk, frames, config, "'a.npy'", expected_db=0.0, temperature=temperature)
        raised = 10 * np.log10(np.mean(out.astype(np.float64) ** 2) / np.mean(junk.astype(np.float64) ** 2))
        assert raised == pytest.approx(RAISE_DB, abs=0.01)  # raised no further than that beyond what was expected
        assert np.mean(np.abs(out) >= 1.0) == 0.0 and "cut at full scale" not in caplog.text
        assert "the audio vocoded from 'a.npy' does not follow its frames: its own frames lie " in caplog.text
        assert f"(raised {RAISE_DB:g} dB more only); {why}" in caplog.text
    # Noise over every band at the frames' level: matched, but said not to follow them
    caplog.clear()
    noise = np.random.default_rng(0).standard_normal(time.size).astype(np.float32)
    with caplog.at_level("WARNING", logger="audiornn"):
        match_level(noise, frames, config, "'a.npy'", expected_db=0.0)
    apart = float(caplog.text.split("its own frames lie ")[1].split(" dB")[0])
    assert apart > FOLLOW_DB and "more only" not in caplog.text


@pytest.mark.slow
def test_vocoder_16k_at_temperature_0_is_said_to_fall_apart_and_is_not_blasted(caplog):
    import audiornn

    model = audiornn.load_model("vocoder-16k")
    audio = _bundled_speech_at_16_khz("vm-forward.wav")[:16000]
    audio = 0.5 * audio / np.abs(audio).max()
    frames = format_frames(audio, model.feature_config)
    with caplog.at_level("WARNING", logger="audiornn"):
        [out] = audiornn.vocode(model, [frames], temperature=0.0, seed=1, progress=False)
    out = np.asarray(out, np.float64)
    assert "does not follow its frames" in caplog.text and "--temperature 0 (temperature=): below 1" in caplog.text
    assert np.mean(np.abs(out) >= 1.0) < 0.001 and np.sqrt(np.mean(out ** 2)) < np.sqrt(np.mean(audio ** 2))
    # Left unrefined: the passes would have raised its rounding noise to the frames, 55 dB beyond the cap
    assert "it is left unrefined" in caplog.text
    [unrefined] = audiornn.vocode(model, [frames], temperature=0.0, seed=1, progress=False, refine=0)
    np.testing.assert_array_equal(out, unrefined)


def test_values_under_a_front_ends_floor_are_of_another_format_and_natural_log_magnitude_is_named_first(caplog):
    """HiFi-GAN's frames given to vocoder-16k with --any-spread were vocoded 1.38 times too long: a front end never
    goes below its floor (SpeechT5's -10), and frames well under it are of another format or unit."""
    import audiornn

    model = audiornn.load_model("vocoder-16k")
    frames = np.concatenate([format_frames(_bundled_speech_at_16_khz(name), model.feature_config)
                             for name in ("vm-forward.wav", "agent-user.wav")])
    assert frames.min() >= -10.0
    # In natural-log magnitude (log10's most common mix-up, which log10 of power cannot be told from by the
    # spread): that unit is named first
    with pytest.raises(ParameterError, match=r"they look like natural-log magnitude: multiply by 1 / ln\(10\)") as \
            caught:
        load_features(frames * math.log(10), model)
    assert "pass --any-spread" not in str(caught.value)
    assert "times as much as the model's training frames; " in str(caught.value) and \
        "% of them lie over 12 dB under its floor (log10 of magnitude floored at 1e-10), which its front end never " \
        "goes below)" in str(caught.value)
    # 2 % of the values 20 dB under the floor: refused whatever the options
    under = frames.copy()
    under.reshape(-1)[::50] = -11.0
    with pytest.raises(ParameterError, match=r"; 2.0% of them lie over 12 dB under its floor"):
        load_features(under, model, any_spread=True)
    # A model's prediction in the model's unit that undershoots the floor: how to lift it
    with pytest.raises(ParameterError, match=r"; if they are log10 of magnitude but for a model's prediction that "
                                             r"undershoots the floor, numpy.maximum\(frames, -10\) lifts them to it"):
        load_features(under, model)
    # A few stray values (a model's prediction may stray under it a little): taken, and named
    stray = frames.copy()
    stray[5, 3] = -11.0
    with caplog.at_level("WARNING", logger="audiornn"):
        np.testing.assert_array_equal(load_features(stray, model), stray)
    assert "their lowest value, -11, lies 20 dB under the floor of speecht5's frames (-10)" in caplog.text
    assert "(taken: a model's prediction may stray under it a little; numpy.maximum(frames, -10) lifts" in caplog.text
    caplog.clear()
    lively = stray.mean(axis=0) + (stray - stray.mean(axis=0)) * 1.6
    lively[5, 3] = -11.0
    with pytest.raises(ParameterError, match="lies 20 dB under the floor") as caught:
        load_features(lively, model)
    assert "--any-spread" not in str(caught.value)
    with caplog.at_level("WARNING", logger="audiornn"):
        np.testing.assert_array_equal(load_features(lively, model, any_spread=True), lively.astype(np.float32))
    assert "their lowest value, -11, lies 20 dB under the floor" in caplog.text and "(taken: " in caplog.text


def test_square_frames_that_look_turned_are_said_to(caplog):
    """80 frames of SpeechT5's 80 bands given as (bands, frames) were vocoded as frames, to noise, without a word."""
    import audiornn

    model = audiornn.load_model("vocoder-16k")
    frames = format_frames(_bundled_speech_at_16_khz("vm-forward.wav"), model.feature_config)[40:120]
    assert frames.shape == (80, 80)
    with caplog.at_level("WARNING", logger="audiornn"):
        load_features(frames, model)
    assert "square" not in caplog.text
    with caplog.at_level("WARNING", logger="audiornn"):
        load_features(np.ascontiguousarray(frames.T), model)
    assert "are square (80 x 80), read as (frames, bands)" in caplog.text and "give frames.T" in caplog.text


@pytest.mark.parametrize("kind", ["mel", "speecht5", "hifigan", "vocos"])
def test_refining_brings_audio_to_its_frames_band_by_band_and_zero_passes_leave_it(kind):
    from audiornn.dsp import resample
    from audiornn.features import log_mel
    from audiornn.vocoder import follow_frames

    config = FeatureConfig() if kind == "mel" else FeatureConfig.for_format(kind)
    rate = 8000 if kind == "mel" else config.format.sample_rate
    audio, source = soundfile.read(str(REPOSITORY / "data" / "vm-forward.wav"), dtype="float64")
    speech = resample(audio[:2 * source], source_rate=source, target_rate=rate)

    def frames_of(samples):
        if kind == "mel":
            return log_mel(samples.astype(np.float32), rate, config).astype(np.float64)
        return format_frames(samples, config)[:frame_count(samples.size, config.hop)].astype(np.float64)

    def apart_db(samples):  # over each frame's bands within 40 dB of its loudest: the speech, not the empty top
        made, given = frames_of(samples), frames_of(speech)
        kept = given >= given.max(axis=1, keepdims=True) - 40 / (config.to_log_power * 10 / math.log(10))
        return float(np.mean(np.abs(made - given)[kept])) * config.to_log_power * 10 / math.log(10)

    noise = np.random.default_rng(0).standard_normal(speech.size) * np.std(speech)
    np.testing.assert_array_equal(follow_frames(noise, frames_of(speech), config, rate, 0), noise)
    refined = follow_frames(noise, frames_of(speech), config, rate, 16)
    assert refined.size == speech.size
    assert apart_db(noise) > 8.0 and apart_db(refined) < 1.5
    # The level follows the frames' (no normalisation): within a dB of the speech's
    rms = [10 * np.log10(np.mean(samples ** 2)) for samples in (refined, speech)]
    assert rms[0] == pytest.approx(rms[1], abs=1.0)


def test_refining_with_momentum_comes_closer_to_the_frames_in_as_many_passes():
    from audiornn.config import REFINE_MOMENTUM
    from audiornn.dsp import resample
    from audiornn.vocoder import follow_frames

    config = FeatureConfig.for_format("speecht5")
    rate = config.format.sample_rate
    audio, source = soundfile.read(str(REPOSITORY / "data" / "vm-forward.wav"), dtype="float64")
    speech = resample(audio[:2 * source], source_rate=source, target_rate=rate)
    frames = format_frames(speech, config)[:frame_count(speech.size, config.hop)]
    loud = frames >= frames.max(axis=1, keepdims=True) - 2  # each frame's bands within 40 dB of its loudest

    def apart_db(samples):
        return float(np.mean(np.abs(format_frames(samples, config)[:len(frames)] - frames)[loud])) * 20

    noise = np.random.default_rng(0).standard_normal(speech.size) * np.std(speech)
    plain, pushed = (follow_frames(noise, frames, config, rate, 16, momentum=momentum)
                     for momentum in (0.0, REFINE_MOMENTUM))
    # (at 4 passes it is further, as it overshoots; at 8 a tie)
    assert REFINE_MOMENTUM > 0 and apart_db(pushed) < 0.8 * apart_db(plain)
    np.testing.assert_array_equal(follow_frames(noise, frames, config, rate, 1, momentum=REFINE_MOMENTUM),
                                  follow_frames(noise, frames, config, rate, 1, momentum=0.0))  # (from the second)
    for wrong in (1.0, -0.1, "0.5", True):
        with pytest.raises(ParameterError, match=f"momentum is a share of each pass's change, 0 .* got {wrong!r}"):
            follow_frames(noise, frames, config, rate, 2, momentum=wrong)


def test_refining_takes_down_the_noise_between_the_harmonics_and_keeps_them():
    from audiornn.vocoder import follow_frames

    config = FeatureConfig.for_format("speecht5")
    rate = config.format.sample_rate
    time = np.arange(rate) / rate
    voice = sum(0.1 / harmonic * np.sin(2 * np.pi * 200 * harmonic * time) for harmonic in range(1, 11))
    noisy = voice + 0.01 * np.random.default_rng(1).standard_normal(time.size)  # the network's noise, 20 dB down
    refined = follow_frames(noisy, format_frames(voice, config)[:rate // config.hop], config, rate, 32)

    def power_at(samples, hertz):  # dB, the middle half second, 2 Hz bins
        part = samples[rate // 4:3 * rate // 4] * np.hanning(rate // 2)
        spectrum = np.abs(np.fft.rfft(part)) ** 2
        return 10 * np.log10(np.sum(spectrum[np.round(np.asarray(hertz) / 2).astype(int)]))

    between = [300, 500, 700, 900, 1100]  # halfway between harmonics, within SpeechT5's narrow low bands
    on = [200, 400, 600, 800, 1000]
    assert power_at(noisy, between) - power_at(voice, between) > 40  # the voice has none there
    assert power_at(refined, between) < power_at(noisy, between) - 20
    assert power_at(refined, on) == pytest.approx(power_at(voice, on), abs=1.0)


@pytest.mark.slow
def test_vocode_refines_by_default_and_refine_0_gives_the_networks_audio(tmp_path, capsys):
    config = FeatureConfig.for_format("speecht5")
    frames = format_frames(0.5 * _bundled_speech_at_16_khz("vm-forward.wav")[:24000], config)
    np.save(tmp_path / "tts.npy", frames)

    def vocoded(seed, *options):
        name = f"out{len(list(tmp_path.glob('*.wav')))}.wav"
        assert main(["vocode", "--model", "vocoder-16k", str(tmp_path / "tts.npy"), "--seed", str(seed), *options,
                     "--output", str(tmp_path / name), "--quiet"]) == 0
        return soundfile.read(str(tmp_path / name))[0]

    def apart_db(audio):  # the louder half of the frames, their bands within 40 dB of each frame's loudest
        made, given = format_frames(audio, config)[:frames.shape[0]], frames.astype(np.float64)
        loud = given.max(axis=1) >= np.median(given.max(axis=1))
        kept = loud[:, None] & (given >= given.max(axis=1, keepdims=True) - 2)  # log10 of magnitude: 40 dB
        return float(np.mean(np.abs(made - given)[kept])) * 20

    # A draw that follows its frames (8 kHz speech raised to 16 kHz is unlike the frames the model learned: on some
    # backend and CPU a draw strays, and vocode rightly leaves that one unrefined)
    seed = next(seed for seed in range(1, 6) if apart_db(vocoded(seed, "--refine", "0")) <= FOLLOW_DB)
    network, refined = vocoded(seed, "--refine", "0"), vocoded(seed)
    assert network.size == refined.size == frames.shape[0] * config.hop
    assert apart_db(network) > 3.0 and apart_db(refined) < apart_db(network) / 2
    assert main(["vocode", "--model", "vocoder-16k", str(tmp_path / "tts.npy"), "--refine", "-1",
                 "--output", str(tmp_path / "no.wav"), "--quiet"]) == 2
    assert "--refine (refine=) must be 0 or a positive integer, got -1" in capsys.readouterr().err
    assert not (tmp_path / "no.wav").exists()


def test_refining_refuses_what_it_cannot_refine_in_one_line():
    from audiornn.vocoder import MOST_REFINE_PASSES, follow_frames

    config = FeatureConfig.for_format("speecht5")
    audio = (0.1 * np.random.default_rng(0).standard_normal(16000)).astype(np.float32)
    frames = format_frames(audio, config)[:62]
    for wrong, message in (((audio, frames[:, 0]), r"finite frames of \(frames, 80\) .* got shape \(62,\)"),
                           ((audio, frames[:, :40]), r"got shape \(62, 40\)"),
                           ((audio, np.full_like(frames, np.inf)), "got non-finite values in shape"),
                           ((audio.astype(np.int16), frames), "refines 1-D float audio .* got int16"),
                           ((audio[:, None], frames), r"got float32 of shape \(16000, 1\)")):
        with pytest.raises(ParameterError, match=message):
            follow_frames(*wrong, config, 16000, 4)
    with pytest.raises(ParameterError, match=f"--refine \\(refine=\\) {MOST_REFINE_PASSES + 1} passes are more than"):
        follow_frames(audio, frames, config, 16000, MOST_REFINE_PASSES + 1)
    assert follow_frames(audio[:10], frames, config, 16000, 2).dtype == np.float32  # (shorter than a window)
