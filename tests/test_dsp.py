"""Properties of the pure signal functions."""

import numpy as np
import pytest
from audiornn import dsp
from audiornn.errors import ParameterError

from conftest import sine


@pytest.mark.parametrize("mu", [255, 127, 15])
def test_mu_law_round_trip_within_one_bin(mu):
    x = np.linspace(-1.0, 1.0, 20001)
    classes = dsp.mu_law_encode(x, mu=mu)
    assert classes.dtype == np.uint8
    assert classes.min() == 0 and classes.max() == mu
    decoded = dsp.mu_law_decode(classes, mu=mu)
    assert decoded.dtype == np.float32
    # The error is at most half a bin in the companded domain.
    compand = lambda v: np.sign(v) * np.log1p(mu * np.abs(v)) / np.log1p(mu)
    assert np.max(np.abs(compand(decoded.astype(np.float64)) - compand(x))) <= 1.0 / mu + 1e-6


def test_mu_law_is_monotonic_and_clips():
    x = np.linspace(-2.0, 2.0, 5001)
    classes = dsp.mu_law_encode(x).astype(int)
    assert np.all(np.diff(classes) >= 0)
    assert classes[0] == 0 and classes[-1] == 255
    # Small values are resolved much more finely than large ones.
    assert abs(dsp.mu_law_decode(np.array([128]))[0]) < 1e-3


@pytest.mark.parametrize("mu", [0, 256, -1, 2.5, True])
def test_mu_out_of_range_is_an_error(mu):
    with pytest.raises(ParameterError, match="mu must be an integer from 1 to 255"):
        dsp.mu_law_encode(np.zeros(4), mu=mu)


def test_decode_rejects_classes_beyond_mu():
    with pytest.raises(ParameterError, match=r"classes must lie in \[0, 15\]"):
        dsp.mu_law_decode(np.array([3, 200]), mu=15)


@pytest.mark.parametrize("coefficient", [0.0, 0.5, 0.95, 0.99])
def test_deemphasis_inverts_preemphasis(coefficient):
    x = np.random.default_rng(1).uniform(-1, 1, 4000).astype(np.float32)
    y, _ = dsp.preemphasis(x, coefficient=coefficient)
    restored, _ = dsp.deemphasis(y, coefficient=coefficient)
    np.testing.assert_allclose(restored, x, atol=1e-5)
    if coefficient:
        assert not np.allclose(y, x)


def test_emphasis_filters_carry_state_across_chunks():
    x = np.random.default_rng(2).uniform(-1, 1, 3001).astype(np.float32)
    whole_y, _ = dsp.preemphasis(x, coefficient=0.95)
    whole_x, _ = dsp.deemphasis(whole_y, coefficient=0.95)
    pre_state = de_state = None
    pieces_y, pieces_x = [], []
    for chunk in np.split(x, [1, 700, 701, 2000]):
        y, pre_state = dsp.preemphasis(chunk, coefficient=0.95, state=pre_state)
        restored, de_state = dsp.deemphasis(y, coefficient=0.95, state=de_state)
        pieces_y.append(y)
        pieces_x.append(restored)
    np.testing.assert_allclose(np.concatenate(pieces_y), whole_y, atol=1e-6)
    np.testing.assert_allclose(np.concatenate(pieces_x), whole_x, atol=1e-5)


@pytest.mark.parametrize("coefficient", [1.0, -0.1, float("nan"), "0.9"])
def test_preemphasis_outside_unit_interval_is_an_error(coefficient):
    with pytest.raises(ParameterError, match=r"preemphasis must be a number in \[0, 1\)"):
        dsp.preemphasis(np.zeros(3), coefficient=coefficient)


@pytest.mark.parametrize("source_rate", [8000, 11025, 16000, 44100, 48000])
def test_resampling_keeps_duration_and_frequency(source_rate):
    seconds, frequency, target = 2.0, 440.0, 8000
    audio = sine(frequency, seconds, source_rate)
    resampled = dsp.resample(audio, source_rate=source_rate, target_rate=target)
    assert abs(resampled.size - seconds * target) <= 1
    spectrum = np.abs(np.fft.rfft(resampled * np.hanning(resampled.size)))
    peak = np.fft.rfftfreq(resampled.size, 1 / target)[np.argmax(spectrum)]
    assert abs(peak - frequency) < 1.0


@pytest.mark.parametrize("rate", [0, 999, 200_000, 8000.0])
def test_sample_rate_out_of_range_is_an_error(rate):
    with pytest.raises(ParameterError, match="target_rate must be an integer number of Hz"):
        dsp.resample(np.zeros(10), source_rate=8000, target_rate=rate)


def test_to_mono_averages_channels():
    stereo = np.stack([np.ones(5, np.float32), np.zeros(5, np.float32)], axis=1)
    np.testing.assert_allclose(dsp.to_mono(stereo), 0.5)
    assert dsp.to_mono(np.ones(3)).shape == (3,)


def test_normalise_level_records_gain():
    audio = np.array([0.1, -0.25, 0.2], np.float32)
    scaled, gain = dsp.normalise_level(audio)
    assert np.max(np.abs(scaled)) == pytest.approx(1.0)
    np.testing.assert_allclose(scaled / gain, audio, rtol=1e-6)
    with pytest.raises(ParameterError, match="silent"):
        dsp.normalise_level(np.zeros(4))


def test_trim_silence_cuts_quiet_ends_only():
    rate = 8000
    tone = sine(300, 0.5, rate)
    audio = np.concatenate([np.zeros(rate), tone, np.zeros(rate // 2), tone, 1e-5 * np.ones(rate)])
    trimmed = dsp.trim_silence(audio, sample_rate=rate, threshold_db=40)
    # Both tones and the pause between them survive; the quiet ends go.
    assert 1.5 * rate - 200 <= trimmed.size <= 1.5 * rate + 200
    assert dsp.trim_silence(np.zeros(100), sample_rate=rate, threshold_db=40).size == 0
    # A DC offset is no sound: the silence about it is cut all the same
    offset = audio + 0.02
    np.testing.assert_array_equal(dsp.trim_silence(offset, sample_rate=rate, threshold_db=40), trimmed + 0.02)
    with pytest.raises(ParameterError, match="positive number of decibels"):
        dsp.trim_silence(audio, sample_rate=rate, threshold_db=-3)
