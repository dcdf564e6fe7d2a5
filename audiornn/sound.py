"""How generated audio sounds, as a number: a distance to real audio, between a floor and a ceiling.

Bits per sample say how well a model predicts; they do not say whether what
it generates sounds like the recordings. This module measures that, with
numpy and scipy only (no downloaded network):

- **Fréchet distance of log-mel frames** (:func:`sound_distance`): each
  sound is cut into 25 ms frames every 10 ms (the usual analysis frames of
  speech and music: short enough that a frame is about stationary, long
  enough to resolve pitch harmonics), each frame's power spectrum is pooled
  into 40 mel bands from 0 Hz to the Nyquist frequency of the model's rate
  (the ear's frequency resolution, and the same bands whatever the rate)
  and taken in dB; a Gaussian is fitted to the frame vectors of each sound
  and the distance between the two Gaussians is the Fréchet distance,
  ``|m1 - m2|^2 + tr(S1 + S2 - 2 (S1 S2)^1/2)`` (as in FAD/FID, with log-mel
  frames instead of a network's embedding). It compares both the average
  spectrum (the means) and how the spectrum moves from frame to frame (the
  covariances: voiced/unvoiced alternation, onsets, pitch sweeps). 0 is
  the same distribution; units are dB squared.
- **Long-term average spectrum difference** (``spectrum_db``): the mean
  absolute difference, over the 40 bands, of the two sounds' average mel
  spectra in dB: "2.5 dB too bright or too dull on average", which a person
  can read.

A number means little alone, so :func:`sound_report` anchors it on the same
real audio between a **floor**, held-out real audio against the training
audio (what "sounds like the data" scores) and a **ceiling**, audio from the
16th-order linear predictor fitted on the training audio and driven by
Laplace noise of its residual scale (what a model that knows only the
average short-term spectrum scores). Floor, ceiling and model are measured
on the same length of audio, because the Fréchet distance of a short sound
carries more estimation noise than that of a long one.
"""

import dataclasses

import numpy as np
import scipy.linalg
import scipy.signal

from .audio_io import SILENCE_PEAK, decode_classes
from .errors import AudioFileError, ParameterError

__all__ = ["SoundStatistics", "format_sound_report", "log_mel_frames", "octave_levels", "sound_distance", "sound_report",
           "sound_statistics"]

FRAME_SECONDS, HOP_SECONDS, BANDS = 0.025, 0.010, 40
MIN_FRAMES = 50  # a Gaussian over 40 bands needs more frames than bands: half a second
FLOOR_DB = -100.0  # digital silence is this quiet, not minus infinity


def _mel(frequency):
    return 2595.0 * np.log10(1.0 + frequency / 700.0)


def mel_filterbank(rate, fft_size, bands=BANDS):
    """Triangular filters ``(bands, fft_size // 2 + 1)`` evenly spaced on the mel scale up to ``rate / 2``."""
    edges_mel = np.linspace(0.0, _mel(rate / 2.0), bands + 2)
    edges = 700.0 * (10.0 ** (edges_mel / 2595.0) - 1.0)
    frequencies = np.linspace(0.0, rate / 2.0, fft_size // 2 + 1)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (frequencies - lower) / (centre - lower)
    falling = (upper - frequencies) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def log_mel_frames(audio, rate):
    """Log-mel frame vectors ``(frames, BANDS)`` in dB of a 1-D signal at ``rate`` Hz."""
    audio = np.asarray(audio, dtype=np.float64)
    frame, hop = int(round(FRAME_SECONDS * rate)), int(round(HOP_SECONDS * rate))
    fft_size = 1 << (frame - 1).bit_length()
    if audio.size < frame:
        return np.zeros((0, BANDS))
    _, _, spectrum = scipy.signal.stft(audio, fs=rate, window="hann", nperseg=frame, noverlap=frame - hop,
                                       nfft=fft_size, boundary=None, padded=False)
    power = np.abs(spectrum) ** 2  # (frequencies, frames)
    mel_power = mel_filterbank(rate, fft_size) @ power
    return np.maximum(10.0 * np.log10(mel_power.T + 1e-30), FLOOR_DB)


@dataclasses.dataclass(frozen=True)
class SoundStatistics:
    """What the distance needs of a sound: the Gaussian of its log-mel frames, its average spectrum."""

    mean: np.ndarray  # (BANDS,) dB
    covariance: np.ndarray  # (BANDS, BANDS)
    spectrum_db: np.ndarray  # (BANDS,) the average mel power spectrum, in dB
    frames: int
    seconds: float


def sound_statistics(audio, rate, *, name="audio"):
    """:class:`SoundStatistics` of a signal, or of a list of signals (no frame spans two of them).

    Raises :class:`AudioFileError` naming ``name`` when the audio is silent or
    shorter than half a second.
    """
    from .config import check_positive_number

    rate = check_positive_number(rate, "rate (the audio's sample rate, in Hz)")
    # One signal: an array, or a list of numbers; else a list of signals
    pieces = [audio] if isinstance(audio, np.ndarray) else list(audio)
    if pieces and all(np.ndim(piece) == 0 for piece in pieces):
        pieces = [pieces]
    pieces = [np.asarray(piece, dtype=np.float64) for piece in pieces]
    if any(piece.ndim != 1 for piece in pieces):
        raise ParameterError(f"{name}: expected a 1-D signal or a list of them (mono), got shape "
                             f"{np.shape(audio)}")
    seconds = sum(piece.size for piece in pieces) / rate
    if not pieces or max(float(np.max(np.abs(piece), initial=0.0)) for piece in pieces) < SILENCE_PEAK:
        raise AudioFileError(f"{name} is silent: the sound distance needs audio with sound in it",
                             reason="silent")
    frames = np.concatenate([log_mel_frames(piece, rate) for piece in pieces])
    if frames.shape[0] < MIN_FRAMES:
        raise AudioFileError(f"{name} is too short for the sound distance ({seconds:.2f} s): it needs at least "
                             f"{MIN_FRAMES} frames of {HOP_SECONDS * 1000:g} ms, about "
                             f"{(MIN_FRAMES - 1) * HOP_SECONDS + FRAME_SECONDS:.2f} s", reason="short")
    average = np.mean(10.0 ** (frames / 10.0), axis=0)
    return SoundStatistics(mean=frames.mean(axis=0), covariance=np.cov(frames, rowvar=False),
                           spectrum_db=10.0 * np.log10(average + 1e-30), frames=frames.shape[0], seconds=seconds)


def _frechet(first, second):
    difference = first.mean - second.mean
    # A little on the diagonal keeps the square root defined for sounds whose frames barely vary (a sine).
    ridge = 1e-6 * np.eye(difference.size)
    root = scipy.linalg.sqrtm((first.covariance + ridge) @ (second.covariance + ridge))
    trace = np.trace(first.covariance) + np.trace(second.covariance) - 2.0 * np.trace(np.real(root))
    return float(max(0.0, difference @ difference + trace))


def sound_distance(generated, reference, rate=None):
    """``{"frechet", "spectrum_db"}`` between two sounds (arrays at ``rate``, or :class:`SoundStatistics`)."""
    generated, reference = (value if isinstance(value, SoundStatistics) else sound_statistics(value, rate, name=name)
                            for value, name in ((generated, "the generated audio"), (reference, "the real audio")))
    return {"frechet": _frechet(generated, reference),
            "spectrum_db": float(np.mean(np.abs(generated.spectrum_db - reference.spectrum_db)))}


OCTAVE_EDGES_HZ = (0.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0)


def octave_levels(generated, reference, rate):
    """How ``generated``'s average spectrum stands against ``reference``'s (:class:`SoundStatistics` of both):
    ``{"level_db": how much louder it is (negative: quieter), "octaves": [{"low_hz", "high_hz", "db"}, ...]}``,
    each octave up to ``rate / 2`` (0-500 Hz, 500 Hz-1 kHz, ...) louder or quieter than that level (its shape:
    a high band 6 dB weak). What the one number of ``spectrum_db`` averages away."""
    edges_mel = np.linspace(0.0, _mel(rate / 2.0), BANDS + 2)
    centres = 700.0 * (10.0 ** (edges_mel[1:-1] / 2595.0) - 1.0)
    powers = [10.0 ** (statistics.spectrum_db / 10.0) for statistics in (generated, reference)]

    def ratio(inside):
        return float(10.0 * np.log10((np.sum(powers[0][inside]) + 1e-30) / (np.sum(powers[1][inside]) + 1e-30)))

    level = ratio(np.ones(BANDS, dtype=bool))
    top = [edge for edge in OCTAVE_EDGES_HZ if edge < rate / 2.0] + [rate / 2.0]
    octaves = [{"low_hz": float(low), "high_hz": float(high), "db": ratio(inside) - level}
               for low, high in zip(top[:-1], top[1:]) for inside in [(centres >= low) & (centres < high)]
               if inside.any()]
    return {"level_db": level, "octaves": octaves}


def format_octave_levels(levels):
    """``level +3.8 dB, by octave against that level 0-0.5 kHz -0.5, 0.5-1 kHz +3.3, ... dB``"""
    octaves = ", ".join(f"{level['low_hz'] / 1000:g}-{level['high_hz'] / 1000:g} kHz {level['db']:+.1f}"
                        for level in levels["octaves"])
    return f"level {levels['level_db']:+.1f} dB, by octave against that level {octaves} dB"


SILENT_ENDS_SECONDS = 0.02  # a run of one class this long at a held-out file's start or end is its padding


def _without_silent_ends(classes, shortest):
    """``classes`` without the digital silence it starts or ends with: a run of one class, ``shortest`` samples
    or more (a file's padding is one class throughout, whatever its DC offset, once the file's mean is taken
    out, pre-emphasised and quantised). A piece that is silence throughout is kept whole."""
    changes = np.flatnonzero(np.diff(classes.astype(np.int16)))
    if not changes.size:
        return classes
    start, stop = changes[0] + 1, changes[-1] + 1  # the first sample after the leading run; the trailing run's
    start = start if start >= shortest else 0
    stop = stop if classes.size - stop >= shortest else classes.size
    return classes[start:stop]


def _excerpt(pieces, samples):
    """The first ``samples`` samples of ``pieces`` (a list of arrays), still as separate pieces."""
    taken, left = [], samples
    for piece in pieces:
        if left <= 0:
            break
        taken.append(piece[:left])
        left -= min(left, piece.size)
    return taken


class SoundReference:
    """The training audio's statistics and the floor and ceiling, ready to score generated sounds.

    ``SoundReference(train_classes, held_out_classes, audio_config)``; then
    :meth:`report` for any number of generated sounds. The floor and ceiling
    are computed for each length once.
    """

    def __init__(self, train_classes, held_out_classes, audio_config, *, order=16, name="the training audio"):
        from .baselines import LinearPredictor

        self.audio_config, self.rate = audio_config, audio_config.sample_rate
        # Decoded as generated audio is: de-emphasis, the recordings' level.
        training = [decode_classes(np.asarray(piece), audio_config)[0] for piece in train_classes]
        # The floor's real audio without the digital silence a file may start or end with (0.85 s of it before a
        # piece of music set a floor above the ceiling)
        shortest = int(SILENT_ENDS_SECONDS * self.rate)
        self.held_out = [decode_classes(_without_silent_ends(np.asarray(piece), shortest), audio_config)[0]
                         for piece in held_out_classes]
        self.held_out_samples = sum(piece.size for piece in self.held_out)  # the longest sound with a floor
        self.statistics = sound_statistics(training, self.rate, name=name)
        self.predictor = LinearPredictor(mu=audio_config.mu, order=order).fit_filter(list(train_classes))
        self._anchors = {}
        self._train_classes = [np.asarray(piece) for piece in train_classes]  # (for levels(): one byte a sample)

    def levels(self):
        """The training levels of the same audio (:class:`audiornn.health.LevelReference`), for the health line of
        what this scores: read once for both."""
        from .health import LevelReference

        return LevelReference.from_classes(self._train_classes, self.audio_config)

    def anchors(self, samples):
        """``(floor, ceiling)`` distances for sounds of ``samples`` samples."""
        return self._anchored(samples)[:2]

    def _anchored(self, samples):
        """``(floor, ceiling, the floor's octave levels or None)`` for sounds of ``samples`` samples."""
        if samples not in self._anchors:
            # Only as long as the sound: a distance measured on fewer frames is larger, and would not be its floor
            held = sound_statistics(_excerpt(self.held_out, samples), self.rate, name="the held-out audio") \
                if self.held_out_samples >= samples else None
            floor = None if held is None else sound_distance(held, self.statistics)
            predicted, _ = decode_classes(self.predictor.synthesise(samples), self.audio_config)
            ceiling = sound_distance(sound_statistics(predicted, self.rate, name="the predictor's audio"),
                                     self.statistics)
            self._anchors[samples] = (floor, ceiling,
                                      None if held is None else octave_levels(held, self.statistics, self.rate))
        return self._anchors[samples]

    @classmethod
    def from_dataset(cls, dataset, label=None):
        """The reference of a dataset: its training audio, and its validation audio for the floor; with ``label``
        (a labelled dataset's label name), that label's files only."""
        from .scoring import dataset_pieces

        held_out = dataset_pieces(dataset, "validation", label) if dataset.samples("validation") else []
        return cls(dataset_pieces(dataset, "train", label), held_out, dataset.audio_config,
                   name="the training audio" if label is None else f"the training audio of label {label!r}")

    def report(self, generated):
        """:func:`sound_report` of one generated sound (1-D audio at the model's rate)."""
        generated = np.asarray(generated, dtype=np.float64)
        statistics = sound_statistics(generated, self.rate, name="the generated audio")
        model = sound_distance(statistics, self.statistics)
        floor, ceiling, floor_octaves = self._anchored(generated.size)
        position = None
        if floor is not None and ceiling["frechet"] > floor["frechet"]:
            position = (model["frechet"] - floor["frechet"]) / (ceiling["frechet"] - floor["frechet"])
        held = self.held_out_samples / self.rate
        return {"model": model, "floor": floor, "ceiling": ceiling, "position": position,
                "seconds": generated.size / self.rate,
                "octaves": octave_levels(statistics, self.statistics, self.rate), "floor_octaves": floor_octaves,
                "no_position": "no position: the floor is not below the ceiling (this much held-out audio is unlike "
                               "the training audio as a whole, so the two do not bound a sound of this length)"
                if floor is not None and position is None else None,
                "no_floor": None if floor is not None else
                f"no floor: the held-out audio (without its silent ends) is {held:.1f} s, shorter than the sound"
                if held else "no floor: no held-out audio beside the reference to measure one on"}


def sound_report(generated, train_classes, held_out_classes, audio_config):
    """The sound distance of ``generated`` to the training audio, beside the floor and the ceiling.

    Returns ``{"model", "floor", "ceiling"}`` (each ``{"frechet", "spectrum_db"}``;
    the floor is None without held-out audio), ``"position"``: where the model
    stands from floor (0) to ceiling (1), and ``"seconds"``.
    """
    return SoundReference(train_classes, held_out_classes, audio_config).report(generated)


def distance_note(report):
    """A report's distance with its floor and ceiling, in a few words (a preview's line, a contact sheet's
    caption): ``sound distance 5808 (floor 21458, ceiling 10919: the floor is not below the ceiling, no
    position)``."""
    floor = "-" if report["floor"] is None else f"{report['floor']['frechet']:.0f}"
    unbounded = ": the floor is not below the ceiling, no position" if report.get("no_position") else ""
    return (f"sound distance {report['model']['frechet']:.0f} (floor {floor}, ceiling "
            f"{report['ceiling']['frechet']:.0f}{unbounded})")


def format_sound_report(report, *, label="model", reference="the training audio"):
    """The report as a small text table; ``reference`` names the real audio it was measured against."""
    return format_sound_reports([report], [label], reference=reference)


def format_sound_reports(reports, labels, *, reference="the training audio"):
    """Reports of sounds of one length against one reference as one table: the floor and the ceiling (the first
    report's: they depend only on the length) around a row for each sound."""
    first = reports[0]
    rows = [("real held-out audio (floor)", first["floor"]),
            *((label, report["model"]) for label, report in zip(labels, reports)),
            ("linear predictor 16 (ceiling)", first["ceiling"])]
    lines = [f"{f'sound distance to {reference}':<38}{'Frechet':>9}{'spectrum dB':>13}"]
    for name, row in rows:
        if row is not None:
            lines.append(f"{name:<38}{row['frechet']:>9.1f}{row['spectrum_db']:>13.2f}")
    positions = [report["position"] for report in reports if report["position"] is not None]
    if positions:
        where = f"the model stands at {positions[0]:.2f}" if len(reports) == 1 else \
            f"the sounds stand at {min(positions):.2f} to {max(positions):.2f}"
        below = "; below 0 is closer to the training audio than real held-out audio of this length is (a sound " \
            "much like a few training files can be)" if min(positions) < 0 else ""
        lines.append(f"({first['seconds']:.1f} s each; {where} of the way from the floor to the ceiling; lower is "
                     f"closer to real audio{below})")
    elif first.get("no_floor") or first.get("no_position"):
        lines.append(f"({first['seconds']:.1f} s each; {first.get('no_floor') or first['no_position']}; lower is "
                     f"closer to real audio)")
    if all(report.get("octaves") for report in reports):  # (reports saved before they were measured have none)
        mean = {"level_db": float(np.mean([report["octaves"]["level_db"] for report in reports])),
                "octaves": [dict(octave, db=float(np.mean([report["octaves"]["octaves"][index]["db"]
                                                           for report in reports])))
                            for index, octave in enumerate(first["octaves"]["octaves"])]}
        what = "its" if len(reports) == 1 else f"the {len(reports)} sounds' mean"
        real = f"; real held-out audio of this length: {format_octave_levels(first['floor_octaves'])}" \
            if first.get("floor_octaves") else ""
        lines.append(f"({what} average spectrum against {reference}: {format_octave_levels(mean)}{real})")
    return "\n".join(lines)
