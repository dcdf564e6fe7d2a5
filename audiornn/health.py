"""Generation health: does generated audio keep going at its training audio's level, and hold its notes?

Bits per sample do not tell whether a stream falls silent after two seconds or
runs away into a loud drone: both are states a model's own samples can lead
it into and never leave (silence and a fixed drone are absorbing). This module
measures that cheaply, with numpy and scipy only, against the training audio:

- **Level**: the RMS of every 2 s window (a window every second) against the
  training audio's window levels: its 10th, 50th and 90th percentiles. A
  stream has *collapsed* when its level stays below a quarter of the training
  10th percentile for 4 s or more, and *run away* when it stays above four
  times the 90th percentile for 4 s or more. ``in_range`` is the share of
  windows within the 10th-90th percentile range widened by 2x either side.
- **Frozen**: a stream whose sound stops changing, a fixed chord or drone at
  any level (an absorbing state as much as silence): the longest stretch in
  which each 1 s block's spectrum (40 mel-spaced bands, floored 60 dB under
  the stream's loudest) differs from the one before by less than 1 dB on
  average, counting blocks louder than the collapse level only; named when
  4 s or more, unless the training audio itself has such a stretch (steady
  noise, rain or a loop whose period divides a second do: they are measured
  on it too). None of the 18 minutes of dev music and no stretch of the dev
  speech has one; the shipped music model's seed 3 settles into a quiet fixed
  chord after 2 s and is frozen for the remaining 28 (``bench/RESULTS.md``).
  Or a drone that wavers (its 1 s spectra change, its partials stay): one
  spectral peak held within its bin for 4 s or more, and half again as long
  as the training audio's longest hold (speech's 0.55 s, music's 2.65 s).
- **Loud bursts**: a stretch too short to be called run away, of 0.5 s or
  more, whose 50 ms frames all stand above twice the training 90th
  percentile: in the English and Russian prompts (8 and 16 kHz) such frames
  last 0.25 s at most, in the dev music none is that loud, and in 20 s of the
  shipped music and speech models' streams 0.2 s at most; a 16 kHz speech
  model trained for 4 minutes blasted for 0.65 to 1.15 s near full scale in
  every stream (3.4 times the 90th percentile), which the level of 2 s
  windows averaged away. Named, not counted as stuck: the stream goes on.
- **Few held tones** (where the training audio is tonal, half its sounding
  time or more in held partials, as music is): a stream with under a quarter
  of the training audio's held partials is named; a 16 kHz music model that
  made a steady wall of noise held 0 % against its training audio's 93 %.
- **Held partials** (for tonal material): the share of the sounding time (64
  ms frames, 10 ms apart, louder than the collapse level) in which a
  spectral peak (10 dB above the median of the 8 bins either side) stays
  within one bin for 200 ms or more, beside the same
  figure for the training audio: held notes show as horizontal lines in a
  spectrogram; a smear does not. A stream that fell silent holds nothing.

:class:`LevelReference` holds the training audio's figures (made from a
dataset, or from any audio); :func:`health` measures a stream against them and
:func:`format_health` says it in one line.
"""

import dataclasses
import math

import numpy as np
import scipy.ndimage
import scipy.signal

from .audio_io import decode_classes
from .errors import AudioFileError, DatasetError, ParameterError

__all__ = ["LevelReference", "format_health", "frozen_seconds", "health", "held_partials", "longest_hold",
           "reference_for", "summarise", "window_levels"]

WINDOW_SECONDS, WINDOW_HOP_SECONDS = 2.0, 1.0
COLLAPSE_FACTOR, RUNAWAY_FACTOR, SUSTAINED_SECONDS = 0.25, 4.0, 4.0
RANGE_WIDENING = 2.0
FRAME_SECONDS, FRAME_HOP_SECONDS, HOLD_SECONDS = 0.064, 0.010, 0.2
PEAK_ABOVE_MEDIAN_DB, PEAK_BELOW_MAX_DB, SOUNDING_DB = 10.0, 30.0, -60.0
# A peak stands PEAK_ABOVE_MEDIAN_DB above the median of the bins this far either side (about 125 Hz at 8 kHz),
# not above the whole spectrum's: the lowest bins of noise whose spectrum falls with frequency (all generated
# audio is de-emphasised) stood 20 dB above the whole spectrum's median, and noise read as 88 % held partials.
PEAK_NEIGHBOURS = 8
FREEZE_BLOCK_SECONDS, FREEZE_BANDS, FREEZE_CHANGE_DB, FREEZE_RANGE_DB = 1.0, 40, 1.0, 60.0
REFERENCE_SECONDS = 120.0  # the training audio's held partials are measured on this much of it, spread out
# ... in parts of at least this much of a file (all of a shorter one), each measured alone: a hold is not cut at a
# join (0.33 s of each of 358 prompts, joined, read real speech as 17 % held partials where it is 41 %).
REFERENCE_PART_SECONDS = 10.0
# A partial held SUSTAINED_SECONDS, and this many times as long as the training audio's longest hold, is a drone
# (speech holds one for 0.6 s at most; the shipped music for 2.65 s in the 120 s measured, 3.24 s over all its 18
# minutes: its streams held 250 Hz for 5 s, 391 Hz for 22 s, and were not named while a hold of 2 s or more in the
# training audio turned the check off)
HOLD_OVER_TRAINED = 1.5
LEVEL_REFERENCE_SECONDS = 3600.0  # its levels on at most this much (an equal share of each file): memory stays small
BURST_FRAME_SECONDS, BURST_SECONDS, BURST_FACTOR = 0.05, 0.5, 2.0  # loud bursts: frames this long, for this long,
# above this many times the training audio's 90th percentile
TONAL, FEW_TONES = 0.5, 0.25  # training audio this tonal (held partials) names a stream under this share of it


def window_levels(audio, rate, seconds=WINDOW_SECONDS, hop_seconds=WINDOW_HOP_SECONDS):
    """The RMS of every ``seconds`` window of ``audio``, one every ``hop_seconds`` (by default the level's 2 s
    windows a second apart; a loud burst's 50 ms frames end to end); a sound shorter than a window is one
    window."""
    audio = np.asarray(audio, dtype=np.float64)
    size, hop = max(1, int(seconds * rate)), max(1, int(hop_seconds * rate))
    if audio.size <= size:
        return np.array([np.sqrt(np.mean(audio ** 2))]) if audio.size else np.zeros(0)
    starts = np.arange(0, audio.size - size + 1, hop)
    power = np.concatenate([[0.0], np.cumsum(audio ** 2)])
    return np.sqrt((power[starts + size] - power[starts]) / size)


def held_partials(audio, rate, floor=None):
    """The share of the sounding frames of ``audio`` (RMS above ``floor``, by default ``SOUNDING_DB`` under full
    scale) in which a spectral peak (standing out of its neighbouring bins) stays within one bin for
    ``HOLD_SECONDS`` or more (0 when none sounds)."""
    held, sounding, _ = _held_frames(audio, rate, floor)
    return float(held / max(sounding, 1))


def longest_hold(audio, rate, floor=None):
    """The longest time, in seconds, one spectral peak of ``audio`` stays within one bin (of :func:`held_partials`'
    frames): a drone holds its partials while it wavers too slowly to leave their bins, which no speech does for
    seconds."""
    return _held_frames(audio, rate, floor)[2] * FRAME_HOP_SECONDS


def _held_frames(audio, rate, floor=None):
    """:func:`held_partials`' counts, ``(frames held, frames sounding, the longest hold in frames)``."""
    audio = np.asarray(audio, dtype=np.float64)
    size, hop = int(FRAME_SECONDS * rate), int(FRAME_HOP_SECONDS * rate)
    if audio.size < size:
        return 0, 0, 0
    _, _, spectrum = scipy.signal.stft(audio, fs=rate, window="hann", nperseg=size, noverlap=size - hop,
                                       boundary=None, padded=False)
    decibels = 10 * np.log10(np.maximum(np.abs(spectrum.T) ** 2, 1e-20))  # (frames, bins)
    frames_rms = np.sqrt(np.mean(np.lib.stride_tricks.sliding_window_view(audio, size)[::hop] ** 2, axis=1))
    floor = 10 ** (SOUNDING_DB / 20) if floor is None else floor
    sounding = frames_rms[:len(decibels)] > floor
    top = decibels.max(axis=1, keepdims=True)
    middle = scipy.ndimage.median_filter(decibels, size=(1, 2 * PEAK_NEIGHBOURS + 1), mode="nearest")
    local = np.zeros_like(decibels, dtype=bool)
    local[:, 1:-1] = (decibels[:, 1:-1] > decibels[:, :-2]) & (decibels[:, 1:-1] >= decibels[:, 2:])
    peaks = local & (decibels > middle + PEAK_ABOVE_MEDIAN_DB) & (decibels > top - PEAK_BELOW_MAX_DB) \
        & sounding[:, None]
    near = peaks.copy()  # a peak "stays" while some peak is within one bin of it
    near[:, 1:] |= peaks[:, :-1]
    near[:, :-1] |= peaks[:, 1:]
    held = np.zeros(len(peaks), dtype=bool)
    frames, longest = int(round(HOLD_SECONDS / FRAME_HOP_SECONDS)), 0
    for column in near.T:
        edges = np.flatnonzero(np.diff(np.concatenate([[0], column.astype(np.int8), [0]])))
        for start, stop in zip(edges[::2], edges[1::2]):
            longest = max(longest, int(stop - start))
            if stop - start >= frames:
                held[start:stop] = True
    return int(np.count_nonzero(held & sounding)), int(np.count_nonzero(sounding)), longest


def reference_parts(sizes, rate):
    """Which parts of files of ``sizes`` samples the training audio's held partials are measured on:
    ``(index, samples from its start)`` for about ``REFERENCE_SECONDS`` in all, each ``REFERENCE_PART_SECONDS``
    or more of its file (all of a shorter one), a share of each file where that is enough; else files spread
    evenly over the audio's duration (a file of most of it is taken, wherever it is in the list)."""
    total, budget = sum(sizes), REFERENCE_SECONDS * rate
    if total <= budget:
        return [(index, size) for index, size in enumerate(sizes)]
    heads = [min(size, max(int(np.ceil(budget / total * size)), int(REFERENCE_PART_SECONDS * rate)))
             for size in sizes]
    count = min(len(sizes), int(np.ceil(len(sizes) * budget / sum(heads))))
    if count == len(sizes):
        return list(enumerate(heads))
    points = (np.arange(count) + 0.5) * total / count  # the files these moments of the audio fall in
    return [(index, heads[index]) for index in np.unique(np.searchsorted(np.cumsum(sizes), points, side="right"))]


def _longest_run(mask, hop_seconds, window_seconds=WINDOW_SECONDS):
    """The longest run of True in ``mask`` (windows of ``window_seconds``, ``hop_seconds`` apart), in seconds of
    audio it spans."""
    longest = run = 0
    for value in mask:
        run = run + 1 if value else 0
        longest = max(longest, run)
    return 0.0 if not longest else (longest - 1) * hop_seconds + window_seconds


def frozen_seconds(audio, rate, floor=0.0):
    """The longest stretch of ``audio`` (one channel) in which the sound stops changing: consecutive
    ``FREEZE_BLOCK_SECONDS`` blocks louder than ``floor`` (RMS) whose spectra, in ``FREEZE_BANDS`` mel-spaced bands
    floored ``FREEZE_RANGE_DB`` under the loudest, differ by less than ``FREEZE_CHANGE_DB`` on average."""
    audio = np.asarray(audio, dtype=np.float64)
    size = int(FREEZE_BLOCK_SECONDS * rate)
    blocks = audio[:audio.size // size * size].reshape(-1, size)
    if len(blocks) < 2:
        return 0.0
    frequencies, power = scipy.signal.welch(blocks, fs=rate, nperseg=min(size, int(0.128 * rate)), axis=-1)
    mel = 2595.0 * np.log10(1.0 + frequencies / 700.0)
    band = np.minimum((mel / mel[-1] * FREEZE_BANDS).astype(int), FREEZE_BANDS - 1)
    member = band[:, None] == np.unique(band)  # (bins, bands that have a bin)
    decibels = 10 * np.log10(np.maximum(power @ member / member.sum(axis=0), 1e-20))  # each band's mean power
    decibels = np.maximum(decibels, decibels.max() - FREEZE_RANGE_DB)
    change = np.mean(np.abs(np.diff(decibels, axis=0)), axis=1)
    loud = np.sqrt(np.mean(blocks ** 2, axis=1)) > floor
    still = (change < FREEZE_CHANGE_DB) & loud[1:] & loud[:-1]
    return _longest_run(still, FREEZE_BLOCK_SECONDS, 2 * FREEZE_BLOCK_SECONDS)


@dataclasses.dataclass(frozen=True)
class LevelReference:
    """The training audio's window levels (10th, 50th and 90th percentiles of :func:`window_levels`, over every
    training file), its :func:`held_partials`, its longest :func:`frozen_seconds` (0 on cards made before
    it was measured) and its :func:`longest_hold` (None on cards made before it was measured, or where no file
    is ``SUSTAINED_SECONDS`` long: a hold is then not judged). ``label``: the label of a labelled dataset's files
    it was measured on (:meth:`from_dataset`), else None."""

    p10: float
    p50: float
    p90: float
    held_partials: float
    frozen_seconds: float = 0.0
    longest_hold: float | None = None
    label: str | None = None

    @classmethod
    def from_audio(cls, pieces, rate, parts=None):
        """From pieces of real audio (each one file's samples). Held partials and the longest frozen stretch are
        measured on :func:`reference_parts` of them, each alone, or on ``parts`` (pieces of whole files, where
        ``pieces`` are shares of each)."""
        levels = np.concatenate([window_levels(piece, rate) for piece in pieces]) if pieces else np.zeros(0)
        if levels.size == 0 or not np.any(levels > 0):
            raise AudioFileError("no audio to measure the training level on")
        if parts is None:
            parts = [np.asarray(pieces[index])[:samples]
                     for index, samples in reference_parts([np.size(piece) for piece in pieces], rate)]
        p10, p50, p90 = (float(value) for value in np.percentile(levels, [10, 50, 90]))
        floor = COLLAPSE_FACTOR * p10
        held, sounding, longest = zip(*(_held_frames(part, rate, floor) for part in parts))
        # The longest hold of parts long enough to hold a partial for SUSTAINED_SECONDS: a clip of 1 s holds none
        # for 2 s, whatever it is cut from (none so long: not known, and a hold is not judged)
        long_enough = [frames for frames, part in zip(longest, parts) if np.size(part) >= SUSTAINED_SECONDS * rate]
        return cls(p10, p50, p90, float(sum(held) / max(sum(sounding), 1)),
                   max(frozen_seconds(part, rate, floor) for part in parts),
                   max(long_enough) * FRAME_HOP_SECONDS if long_enough else None)

    @classmethod
    def from_classes(cls, pieces, audio_config):
        """From pieces of prepared audio (classes, each one file's), decoded as generation decodes its classes."""
        return cls.from_audio([decode_classes(np.asarray(piece), audio_config)[0] for piece in pieces],
                              audio_config.sample_rate)

    @classmethod
    def from_dataset(cls, dataset, label=None):
        """From a dataset's training audio, decoded as generation decodes its classes; with ``label`` (a labelled
        dataset's label name), that label's files only."""
        array, config = dataset.array("train"), dataset.audio_config
        segments = [segment for segment in dataset.segments("train") if label is None or segment.label == label]
        share = min(1.0, LEVEL_REFERENCE_SECONDS * config.sample_rate / max(sum(s.length for s in segments), 1))

        def decoded(segment, samples):
            return decode_classes(np.asarray(array[segment.start:segment.start + samples]), config)[0]

        pieces = [decoded(segment, int(np.ceil(share * segment.length))) for segment in segments]
        parts = None if share >= 1 else [  # (of pieces that are whole files, from_audio takes them itself)
            decoded(segments[index], samples)
            for index, samples in reference_parts([segment.length for segment in segments], config.sample_rate)]
        return dataclasses.replace(cls.from_audio(pieces, config.sample_rate, parts=parts), label=label)


def reference_for(model, audio_config=None, audio=None, label=None):
    """The training levels to hold a model's streams to, or None: of ``audio`` (files or folders, prepared with
    ``audio_config``) when given, else of the run's own dataset (``model`` a run folder or a model file in one),
    else a shipped model's card (``model`` its name: its training levels, made by ``bench/health.py``). A run
    whose dataset was moved, removed or built again from other audio is a :class:`DatasetError` (its levels
    would not be the training audio's). ``label`` (a label's name): a labelled dataset's files of that label."""
    from pathlib import Path

    from .pretrained import shipped_models
    from .runs import usable_run_dataset

    if audio:
        from .scoring import audio_pieces

        return LevelReference.from_classes(audio_pieces(audio, audio_config)[0], audio_config)
    dataset, why_not = usable_run_dataset(model) if Path(str(model)).expanduser().exists() else (None, None)
    if why_not:
        raise DatasetError(f"{why_not}: give the audio it trained on to hold its streams to (--score-against "
                           f"AUDIO..., or reference_for(model, audio=...))")
    if dataset is not None:  # a labelled model's sound of one label: held to that label's audio
        from .scoring import reference_label

        return LevelReference.from_dataset(dataset, reference_label(dataset, label))
    card = shipped_models().get(str(model), {})
    return LevelReference(**card["training_levels"]) if "training_levels" in card else None


def health(audio, rate, reference):
    """How ``audio`` (one stream) keeps going against ``reference`` (a :class:`LevelReference`): its window
    levels, the share in range, the longest collapse, runaway and frozen stretch in seconds (named when
    ``SUSTAINED_SECONDS`` or longer) and its held partials beside the training audio's. Frozen is a sound whose
    spectrum stops changing for ``SUSTAINED_SECONDS`` or more where the training audio never does so that long,
    or one partial held in its bin (a drone that wavers, :func:`longest_hold`) that long and
    :data:`HOLD_OVER_TRAINED` times as long as the training audio's longest hold."""
    from .config import check_positive_int

    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise ParameterError(f"health measures one stream, a 1-D array of samples; got shape {audio.shape} (give "
                             f"each stream alone: health(audio[0], ...))")
    if audio.size and not np.all(np.isfinite(audio)):
        raise ParameterError("health needs audio of real numbers: this holds NaN or infinite samples")
    check_positive_int(rate, "rate")
    if not isinstance(reference, LevelReference):
        raise ParameterError(f"reference is a LevelReference (LevelReference.from_dataset(dataset), or "
                             f"reference_for(model)), got {type(reference).__name__}")
    levels = window_levels(audio, rate)
    low, high = reference.p10 / RANGE_WIDENING, reference.p90 * RANGE_WIDENING
    collapse = _longest_run(levels < COLLAPSE_FACTOR * reference.p10, WINDOW_HOP_SECONDS)
    runaway = _longest_run(levels > RUNAWAY_FACTOR * reference.p90, WINDOW_HOP_SECONDS)
    floor = COLLAPSE_FACTOR * reference.p10
    still = frozen_seconds(audio, rate, floor=floor)
    held, sounding, hold = _held_frames(audio, rate, floor)
    hold *= FRAME_HOP_SECONDS
    # Named only where the training audio never stays that still (steady noise or a loop does), and for a hold,
    # half again as long as its longest (the 120 s measured can miss the longest: music's 2.65 s there, 3.24 s in all)
    still_limit = SUSTAINED_SECONDS if reference.frozen_seconds is not None \
        and reference.frozen_seconds < SUSTAINED_SECONDS else math.inf
    hold_limit = math.inf if reference.longest_hold is None else \
        max(SUSTAINED_SECONDS, HOLD_OVER_TRAINED * reference.longest_hold)
    frozen = [seconds for seconds, limit in ((still, still_limit), (hold, hold_limit)) if seconds >= limit]
    burst = _longest_run(window_levels(audio, rate, BURST_FRAME_SECONDS, BURST_FRAME_SECONDS)
                         > BURST_FACTOR * reference.p90, BURST_FRAME_SECONDS, BURST_FRAME_SECONDS)
    partials = float(held / max(sounding, 1))
    toneless = reference.held_partials >= TONAL and partials < FEW_TONES * reference.held_partials \
        and np.size(audio) >= SUSTAINED_SECONDS * rate
    return {"seconds": float(np.size(audio) / rate), "levels": levels.tolist(),
            "level_median": float(np.median(levels)) if levels.size else 0.0,
            "in_range": float(np.mean((levels >= low) & (levels <= high))) if levels.size else 0.0,
            "collapse_seconds": collapse, "runaway_seconds": runaway,
            "frozen_seconds": max(frozen, default=still), "longest_hold": hold,
            "collapsed": collapse >= SUSTAINED_SECONDS, "ran_away": runaway >= SUSTAINED_SECONDS,
            "frozen": bool(frozen),
            "burst_seconds": burst, "burst": bool(burst >= BURST_SECONDS and runaway < SUSTAINED_SECONDS),
            "few_tones": bool(toneless),
            "held_partials": partials,
            "reference": dataclasses.asdict(reference)}


def summarise(reports, reference):
    """Several streams' :func:`health` reports as one: how many collapsed, ran away or froze, how many are stuck
    (any of the three), the share of all their windows in range, their mean held partials beside the training
    audio's."""
    inside = total = 0
    own = [report.get("reference") or dataclasses.asdict(reference) for report in reports]
    for report, levels in zip(reports, own):  # each stream's windows against what it was held to (its label's)
        windows = np.asarray(report["levels"], dtype=np.float64)
        inside += int(np.sum((windows >= levels["p10"] / RANGE_WIDENING) & (windows <= levels["p90"] * RANGE_WIDENING)))
        total += windows.size
    return {"streams": len(reports),
            "seconds": min(report["seconds"] for report in reports) if reports else 0.0,
            "collapsed": sum(bool(report["collapsed"]) for report in reports),
            "ran_away": sum(bool(report["ran_away"]) for report in reports),
            "frozen": sum(bool(report["frozen"]) for report in reports),
            "stuck": sum(bool(report["collapsed"] or report["ran_away"] or report["frozen"]) for report in reports),
            "burst": sum(bool(report.get("burst")) for report in reports),
            "few_tones": sum(bool(report.get("few_tones")) for report in reports),
            "in_range": inside / total if total else 0.0,
            "held_partials": float(np.mean([report["held_partials"] for report in reports])) if reports else 0.0,
            "training_held_partials": float(np.mean([levels["held_partials"] for levels in own])) if own
            else reference.held_partials}


def share_text(share):
    """A share as a percentage that does not round a flaw away: 99.6 % is not shown as 100 %, nor 0.4 % as 0 %
    (as many decimals as it takes, to three; past them "<0.001%", ">99.999%"); "-" for none (NaN)."""
    if share != share:
        return "-"
    if not 0 < share < 1:
        return f"{share:.0%}"
    for decimals in range(4):
        text = f"{100 * share:.{decimals}f}"
        if float(text) not in (0.0, 100.0):
            return f"{text}%"
    return "<0.001%" if share < 0.5 else ">99.999%"


def _against(against):
    """How the lines name what the streams are held to: the training audio, or ``against`` (``--score-against``, a
    dataset's path)."""
    return ("the training level", "training audio") if against is None else (f"the level of {against}", against)


def format_summary(summary, label="generated", seconds=None, against=None):
    """One line for several streams (:func:`summarise`) of ``seconds`` each: how many are stuck and how, the share
    of all their windows at the training level, their held partials beside the training audio's (or ``against``'s:
    what the streams were held to, when it is not their training audio)."""
    level, audio = _against(against)
    seconds = summary.get("seconds", SUSTAINED_SECONDS) if seconds is None else seconds  # (the shortest stream's)
    how = ", ".join(f"{summary[key]} {name}" for key, name in (("collapsed", "collapsed"), ("ran_away", "ran away"),
                                                               ("frozen", "frozen")) if summary[key])
    stuck = f"{summary['stuck']} stuck ({how})" if summary["stuck"] else (
        f"none can be called stuck (that takes {SUSTAINED_SECONDS:g} s)" if seconds < SUSTAINED_SECONDS else
        "none stuck (no collapse, no runaway, not frozen)")
    short = f" (shorter than {WINDOW_SECONDS:g} s: one window each)" if seconds < WINDOW_SECONDS else ""
    named = ", ".join(f"{summary[key]} {name}" for key, name in (("burst", "with LOUD BURSTS"),
                                                                 ("few_tones", "with FEW HELD TONES"))
                      if summary.get(key))
    stuck += f"; {named}" if named else ""
    return (f"health of {label}, {summary['streams']} streams{short}: {stuck}; {share_text(summary['in_range'])} of "
            f"their windows at {level}; held partials {summary['held_partials']:.0%} of the time "
            f"({audio} {summary['training_held_partials']:.0%})")


def format_health(report, label="generated", against=None):
    """One line: the level against the training audio's (or ``against``'s), collapse, runaway and a frozen sound
    named, held partials beside."""
    level, audio = _against(against)
    states = [f"COLLAPSED for {report['collapse_seconds']:.0f} s" if report["collapsed"] else "",
              f"RAN AWAY for {report['runaway_seconds']:.0f} s" if report["ran_away"] else "",
              f"FROZEN for {report['frozen_seconds']:.0f} s" if report.get("frozen") else "",
              f"a LOUD BURST of {report['burst_seconds']:.1f} s (over {BURST_FACTOR:g}x {level}'s 90th "
              f"percentile)" if report.get("burst") else "",
              "FEW HELD TONES" if report.get("few_tones") else ""]
    seconds = report.get("seconds", SUSTAINED_SECONDS)  # (a report saved before it was kept: long enough)
    state = ", ".join(part for part in states if part) or (
        f"too short to be called collapsed, run away or frozen (that takes {SUSTAINED_SECONDS:g} s)"
        if seconds < SUSTAINED_SECONDS else
        "no collapse, no runaway, not frozen" if "frozen" in report else "no collapse, no runaway")
    reference = report["reference"]
    windows = f"{len(report['levels'])} window(s) of {WINDOW_SECONDS:g} s" if seconds >= WINDOW_SECONDS else \
        f"one window of {seconds:.3g} s (shorter than {WINDOW_SECONDS:g} s)"
    return (f"health of {label}: {windows}, {share_text(report['in_range'])} "
            f"at {level} (median {report['level_median'] / max(reference['p50'], 1e-12):.2f}x its "
            f"median); {state}; held partials {report['held_partials']:.0%} of the time ({audio} "
            f"{reference['held_partials']:.0%})")
