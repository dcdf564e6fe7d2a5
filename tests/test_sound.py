"""The sound distance: properties on made-up signals and on the bundled speech, and bad input."""

from pathlib import Path

import numpy as np
import pytest
from audiornn import AudioConfig, build_dataset
from audiornn.audio_io import decode_classes
from audiornn.errors import AudioFileError, ParameterError
from audiornn.scoring import dataset_pieces
from audiornn.sound import (
    SoundReference,
    format_sound_report,
    log_mel_frames,
    sound_distance,
)

from conftest import sine

RATE = 8000
BUNDLED = Path(__file__).resolve().parent.parent / "data"


def noisy_sine(frequency, seconds=2.0, seed=0):
    return sine(frequency, seconds, RATE) + 0.01 * np.random.default_rng(seed).standard_normal(int(seconds * RATE))


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    """The bundled speech, one array per prompt, decoded at the dataset's level; and the dataset."""
    folder = tmp_path_factory.mktemp("speech") / "dataset"
    dataset = build_dataset([BUNDLED], folder, progress=False)
    decoded = {split: [decode_classes(piece, dataset.audio_config)[0] for piece in dataset_pieces(dataset, split)]
               for split in ("train", "validation")}
    return dataset, decoded


def test_frames_are_40_bands_every_10_ms_up_to_nyquist():
    frames = log_mel_frames(noisy_sine(1000.0, 1.0), RATE)
    assert frames.shape == (1 + (RATE - 200) // 80, 40)
    # A 1 kHz tone is loudest in the band around 1 kHz, not at the edges.
    assert 3 < np.argmax(frames.mean(axis=0)) < 30
    high = log_mel_frames(noisy_sine(3500.0, 1.0), RATE)
    assert np.argmax(high.mean(axis=0)) > np.argmax(frames.mean(axis=0))


def test_identical_audio_scores_about_zero_and_the_same_inputs_the_same_number():
    audio = noisy_sine(440.0)
    distance = sound_distance(audio, audio, RATE)
    assert distance["frechet"] < 1e-3 and distance["spectrum_db"] < 1e-9
    assert sound_distance(noisy_sine(440.0, seed=1), audio, RATE) == sound_distance(noisy_sine(440.0, seed=1),
                                                                                    audio, RATE)
    # A list of numbers is one signal, as an array is; a missing rate is named
    assert sound_distance(noisy_sine(440.0, seed=1).tolist(), audio, RATE) == sound_distance(
        noisy_sine(440.0, seed=1), audio, RATE)
    with pytest.raises(ParameterError, match=r"rate \(the audio's sample rate, in Hz\) must be a positive number"):
        sound_distance(audio, audio)


def test_a_sine_of_another_frequency_is_farther_than_the_same_sine():
    reference = noisy_sine(440.0, seed=0)
    same = sound_distance(noisy_sine(440.0, seed=1), reference, RATE)
    other = sound_distance(noisy_sine(1300.0, seed=1), reference, RATE)
    assert other["frechet"] > 10 * max(same["frechet"], 1.0)
    assert other["spectrum_db"] > same["spectrum_db"] + 5


def test_white_noise_is_farther_from_speech_than_other_speech(speech):
    _, decoded = speech
    train, held_out = decoded["train"], decoded["validation"]
    noise = 0.1 * np.random.default_rng(0).standard_normal(sum(piece.size for piece in held_out))
    between_speech = sound_distance(held_out, train, RATE)
    noise_to_speech = sound_distance(noise, train, RATE)
    assert noise_to_speech["frechet"] > 2 * between_speech["frechet"]


def test_on_the_bundled_sample_the_floor_is_below_the_ceiling(speech):
    dataset, _ = speech
    reference = SoundReference(dataset_pieces(dataset, "train"), dataset_pieces(dataset, "validation"),
                               dataset.audio_config)
    held_out = np.concatenate([decode_classes(piece, dataset.audio_config)[0]
                               for piece in dataset_pieces(dataset, "validation")])[:3 * RATE]
    floor, ceiling = reference.anchors(3 * RATE)
    assert floor["frechet"] < ceiling["frechet"]
    # Real held-out speech of that length stands at the floor, to within the excerpt's own variation.
    report = reference.report(held_out)
    assert report["position"] is not None and report["position"] < 0.2
    assert "floor" in format_sound_report(report) and "ceiling" in format_sound_report(report)
    noise = reference.report(0.05 * np.random.default_rng(1).standard_normal(3 * RATE))
    assert noise["position"] > 1.0  # white noise is worse than the linear predictor's audio


def test_the_report_says_the_level_and_each_octave_against_the_training_audio(speech):
    import scipy.signal

    dataset, decoded = speech
    reference = SoundReference(dataset_pieces(dataset, "train"), dataset_pieces(dataset, "validation"),
                               dataset.audio_config)
    held_out = np.concatenate(decoded["validation"])[:3 * RATE]
    louder = reference.report(2.0 * held_out)  # 6 dB louder, the same shape
    same = reference.report(held_out)
    assert louder["octaves"]["level_db"] == pytest.approx(same["octaves"]["level_db"] + 20 * np.log10(2), abs=0.01)
    assert [octave["db"] for octave in louder["octaves"]["octaves"]] == pytest.approx(
        [octave["db"] for octave in same["octaves"]["octaves"]], abs=0.01)
    assert [(octave["low_hz"], octave["high_hz"]) for octave in same["octaves"]["octaves"]] == [
        (0, 500), (500, 1000), (1000, 2000), (2000, 4000)]  # up to the rate's Nyquist frequency
    assert same["floor_octaves"]["level_db"] == pytest.approx(same["octaves"]["level_db"], abs=0.5)  # (the floor's
    # excerpt is this one, less its silent ends)
    # Above 2 kHz taken out: its top octave far below the level, the octaves below it above
    dull = reference.report(scipy.signal.sosfilt(scipy.signal.butter(8, 1800, fs=RATE, output="sos"), held_out))
    octaves = [octave["db"] - mine["db"] for octave, mine in zip(dull["octaves"]["octaves"],
                                                                 same["octaves"]["octaves"])]
    assert octaves[3] < -20 and all(change > -1 for change in octaves[:2])
    table = format_sound_report(dull)
    assert "(its average spectrum against the training audio: level " in table
    assert f"2-4 kHz {dull['octaves']['octaves'][3]['db']:+.1f} dB; real held-out audio of this length: level " \
           f"{same['octaves']['level_db']:+.1f} dB" in table


def test_a_sound_longer_than_the_held_out_audio_has_no_floor_and_says_why(speech):
    dataset, _ = speech
    held_out = dataset_pieces(dataset, "validation")
    reference = SoundReference(dataset_pieces(dataset, "train"), held_out, dataset.audio_config)
    seconds = reference.held_out_samples / RATE  # (its files without their silent ends)
    longer = 0.05 * np.random.default_rng(1).standard_normal(int((seconds + 2) * RATE))
    report = reference.report(longer)
    # a floor from less audio than the sound would be farther than the sound's own: none, and said
    assert report["floor"] is None and report["position"] is None and report["ceiling"]["frechet"] > 0
    assert report["no_floor"] == f"no floor: the held-out audio (without its silent ends) is {seconds:.1f} s, " \
                                 f"shorter than the sound"
    assert report["no_floor"] in format_sound_report(report)
    within = reference.report(longer[:int(seconds * RATE) - RATE])
    assert within["floor"] is not None and within["no_floor"] is None
    alone = SoundReference(dataset_pieces(dataset, "train"), [], dataset.audio_config).report(longer)
    assert alone["floor"] is None and "no held-out audio beside the reference" in alone["no_floor"]


def test_short_or_silent_audio_is_a_clear_error():
    reference = noisy_sine(440.0)
    with pytest.raises(AudioFileError, match="too short for the sound distance .* at least 50 frames"):
        sound_distance(noisy_sine(440.0, seconds=0.2), reference, RATE)
    with pytest.raises(AudioFileError, match="the generated audio is silent"):
        sound_distance(np.zeros(RATE * 2), reference, RATE)
    with pytest.raises(AudioFileError, match="the real audio is silent"):
        sound_distance(reference, np.zeros(RATE * 2), RATE)
    with pytest.raises(ParameterError, match=r"expected a 1-D signal .* got shape \(16000, 1\)"):
        sound_distance(reference[:, None], reference, RATE)
    assert AudioConfig().sample_rate == RATE


def test_the_demo_holds_a_sound_longer_than_the_held_out_audio_by_its_start(speech):
    from audiornn.commands import _demo_sound

    dataset, _ = speech
    held = SoundReference.from_dataset(dataset).held_out_samples  # its files without their silent ends
    assert 0.95 * sum(piece.size for piece in dataset_pieces(dataset, "validation")) < held
    generated = 0.05 * np.random.default_rng(2).standard_normal(held + 3 * RATE)
    score = {}
    line = _demo_sound(score, dataset, generated, generated.size / RATE)
    # measured on as much as there is held-out audio, so that it has its floor and stands between floor and ceiling
    assert score["sound"]["floor"] is not None and score["sound"]["position"] is not None
    assert score["sound"]["seconds"] == pytest.approx(held / RATE)
    assert f"generated (its first {held / RATE:.1f} s)" in line
    shorter = {}
    assert "generated (2 s)" in _demo_sound(shorter, dataset, generated[:2 * RATE], 2)
    assert shorter["sound"]["seconds"] == pytest.approx(2.0)


def test_the_floor_leaves_out_the_silence_a_held_out_file_starts_with():
    from audiornn.audio_io import prepare_audio

    config = AudioConfig()

    def classes(audio):
        return prepare_audio(audio, RATE, audio_config=config)[0]

    tone = [classes(noisy_sine(440.0 + 30 * index, seed=index)) for index in range(4)]
    silent_start = np.concatenate([np.zeros(RATE // 2, np.float32), noisy_sine(470.0, seed=9)[:RATE]])
    for offset in (0.0, 0.01, 0.02):  # the file's mean taken out moves its padding off the middle class
        padded = SoundReference(tone, [classes(silent_start + np.float32(offset))], config)
        assert padded.held_out_samples == RATE, offset  # the half second of silence is left out
    fading = np.concatenate([np.linspace(0, 1, RATE, dtype=np.float32) * noisy_sine(470.0, seed=9)[:RATE],
                             noisy_sine(470.0, seed=8)[:RATE]])
    for mu in (255, 15, 3):  # a quiet fade-in is real audio, at any number of classes
        coarse = AudioConfig(mu=mu)
        kept = SoundReference([prepare_audio(piece, RATE, audio_config=coarse)[0] for piece in
                               (noisy_sine(440.0, seed=1), noisy_sine(500.0, seed=2))],
                              [prepare_audio(fading, RATE, audio_config=coarse)[0]], coarse)
        assert kept.held_out_samples >= 2 * RATE - RATE // 100, mu
    padded = SoundReference(tone, [classes(silent_start)], config)
    report = padded.report(noisy_sine(455.0, seed=7)[:RATE])
    assert report["position"] is not None and report["floor"]["frechet"] < report["ceiling"]["frechet"]
    # A floor no lower than the ceiling places nothing, and says why
    floor, ceiling = padded.anchors(RATE)
    padded._anchors[RATE] = (ceiling, floor, padded._anchors[RATE][2])
    report = padded.report(noisy_sine(455.0, seed=7)[:RATE])
    assert report["position"] is None
    assert "no position: the floor is not below the ceiling" in format_sound_report(report)
    from audiornn.sound import distance_note  # (a preview's line and a contact sheet's caption said nothing of it)

    assert distance_note(report).endswith(": the floor is not below the ceiling, no position)")
    # A sound closer than real held-out audio is said to be so
    closest = report["model"]["frechet"]
    padded._anchors[RATE] = ({**floor, "frechet": closest + 10}, {**ceiling, "frechet": closest + 20}, None)
    shown = format_sound_report(padded.report(noisy_sine(455.0, seed=7)[:RATE]))
    assert "the model stands at -" in shown and "below 0 is closer to the training audio than real held-out" in shown
