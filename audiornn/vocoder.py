"""Vocoding: audio from spectrogram frames, one sample at a time, by a model trained on features.

:func:`vocode` takes recordings (copy-synthesis: their frames are computed with
the model's own preprocessing, :mod:`audiornn.features`) or frames made
elsewhere (``.npy`` or arrays, checked against the model's settings), runs
them as the streams of one batch through the compiled sampling loop of
:mod:`audiornn.stepping`, a chunk of whole frames at a time with the state
carried, and writes each stream's audio when it is complete
(:class:`audiornn.sink.AudioSink`).
"""

import collections.abc
import dataclasses
import logging
import math
import os
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .audio_io import MOST_CHANNELS, QUIET_GAIN, audio_array, file_kind, decode_classes, prepare_audio, read_audio
from .dsp import resample, to_mono
from .features import FORMATS, audio_to_features, format_frames, frame_spectrum, frame_values, loud_level, mel_bank
from .config import REFINE_MOMENTUM, REFINE_PASSES, VOCODE_TAIL, bar_disabled, check_count, check_positive_int, check_positive_number, command
from .errors import AudioFileError, ParameterError
from .sink import AudioSink, check_output_type, check_room, output_paths
from .stepping import StreamGroup, chunks, frame_span, label_state, take_frames

__all__ = ["EMPTY_BAND_DB", "FOLD_SEGMENT_SECONDS", "FOLD_STREAMS", "LIMIT_DB", "REFINE_MOMENTUM", "REFINE_PASSES",
           "VOCODE_TAIL", "Fold", "check_refine", "check_units", "follow_frames", "level_shift", "load_features",
           "match_level", "read_npy", "vocode", "vocode_frames"]

logger = logging.getLogger("audiornn")

# Natural-log mel power is above log(floor) and, for audio of peak 1, below about log(fft ** 2 / 4).
LOG_RANGE_SLACK = 1.0


def _check_vocoder(model):
    if model.feature_net is None:
        raise ParameterError("this model reads no spectrogram features, so it cannot vocode: give a vocoder (a "
                             "model trained on a dataset built with --features, or the shipped 'vocoder' (8 kHz) or 'vocoder-16k' "
                             "(16 kHz))")


def read_npy(path):
    """The array in the ``.npy`` file ``path``, its header checked first: a file that is not one (an ``.npz``
    archive, text, a pickle), a dtype of Python objects or a header that promises more data than the file holds
    is refused in one line, before any memory is taken."""
    name = f"features '{path}'"
    try:
        with open(path, "rb") as handle:
            try:
                version = np.lib.format.read_magic(handle)
            except ValueError:
                handle.seek(0)
                head = handle.read(512)
                kind = file_kind(head)
                if not head.startswith(b"PK") and kind not in (None, "text"):  # audio named .npy
                    raise ParameterError(f"{name} is {kind}, named .npy: give it its own extension "
                                         f"and it is vocoded as a recording (copy-synthesis)") from None
                kind = "an .npz archive (a zip)" if head.startswith(b"PK") else "not a NumPy .npy file"
                raise ParameterError(f"{name} is {kind}: save the frames alone with numpy.save(path, frames), a "
                                     f"(frames, bands) float array") from None
            readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0,
                       (3, 0): np.lib.format.read_array_header_2_0}
            if version not in readers:
                raise ParameterError(f"{name} is a .npy file of version {version[0]}.{version[1]}, which NumPy does "
                                     f"not write: save it again with numpy.save")
            try:
                shape, _, dtype = readers[version](handle)
            except ValueError as error:
                raise ParameterError(f"{name} has a broken .npy header ({error})") from None
            offset = handle.tell()
        if dtype.hasobject:
            raise ParameterError(f"{name} holds Python objects, which are not read (a pickle can run code): save "
                                 f"a float array of (frames, bands)")
        if any(int(side) < 0 for side in shape):
            raise ParameterError(f"{name} has a broken .npy header (a negative shape, {shape}): save it again")
        needed, size = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize, os.path.getsize(path) - offset
        if needed > size:
            raise ParameterError(f"{name}: its header says {shape} of {dtype} ({needed:,} bytes) but the file holds "
                                 f"{size:,}: the file is cut short or damaged; save it again")
        return np.load(path, allow_pickle=False)
    except OSError as error:
        raise AudioFileError(f"cannot read {name}: {error.strerror or error}") from None


# Each unit a text-to-speech front end may give its frames in: the factor to natural-log power (None: linear).
UNITS = {"natural-log power": 1.0, "log10 of power": math.log(10), "dB (10 log10 of power)": math.log(10) / 10,
         "natural-log magnitude": 2.0, "log10 of magnitude": 2 * math.log(10), "linear power": None,
         "linear magnitude": None}
FACTOR_NAMES = {math.log(10): "ln(10)", math.log(10) / 10: "ln(10) / 10", 2 * math.log(10): "2 ln(10)",
                1 / math.log(10): "1 / ln(10)", 10 / math.log(10): "10 / ln(10)",
                1 / (2 * math.log(10)): "1 / (2 ln(10))"}
LEVEL_SLACK = 30.0  # natural-log power: 130 dB quieter or louder than audio of peak 1
FLOORED_SHARE = 0.05  # mel frames with more of their values at the floor than this: of quieter audio, likely
SPREAD_TOLERANCE = 1.8  # the frames' spread may be this many times smaller than the training frames'
# and no more than this many times larger: of 285 prompts of five voices, SpeechT5's frames vary 0.65 to 1.31 times
# as much as vocoder-16k's training frames (1.39 for the bundled 8 kHz prompts resampled up; 8 kHz mel frames at
# most 1.05), and the same frames in natural-log magnitude (log10's most common mix-up) 1.49 to 3.01 (5th
# percentile to most); 1.8 let a quarter of those through, as garbage at full scale.
SPREAD_ABOVE = 1.45
MIN_FRAMES_TO_JUDGE = 100  # a second of mel frames, 1.6 s of SpeechT5's: a shorter excerpt of real speech varies less than the whole of it
FLOOR_MARGIN = 1e-3  # a frame whose bands all lie within this of each other is flat
FLOOR_TOLERANCE = 1e-3  # a flat frame this near the floor (relatively) is at it: float16 rounds ln(1e-5) by 0.003
# A front end's frames with this share of their values more than FLOOR_SLACK_DB under its floor are of another
# format or unit (its front end never goes below the floor; a model predicting its frames may stray under it a
# little). HiFi-GAN's frames of the bundled prompts (8 kHz, resampled up: their top bands empty), given as
# SpeechT5's, have 16 to 23 % of their values there; of 12.6 s of a 16 kHz voice, 0.05 %; SpeechT5's own none.
# Fewer are named (and refused with frames that vary more than speech, not taken with --any-spread unsaid).
FLOOR_SLACK_DB, UNDER_FLOOR_SHARE = 12.0, 0.01
# A front end's frames that describe audio this far above a peak of 1 are refused: no recording is, and frames of
# int16 samples not divided by 32768 lie 90 dB up (vocoded, every sample would be cut at full scale).
TOO_LOUD_DB = 60.0


def _in_model_units(frames, unit, config):
    """``frames`` read as ``unit``, in the model's unit (:attr:`FeatureConfig.unit`)."""
    factor = UNITS[unit]
    if factor is None:
        power = np.log(np.maximum(frames, 1e-10)) * (2.0 if unit == "linear magnitude" else 1.0)
        return power / config.to_log_power
    return frames * (factor / config.to_log_power)


def _how(unit, config):
    """How to turn ``unit`` into the model's unit, in words."""
    factor = UNITS[unit]
    if factor is None:
        return {"linear power": "take the natural log", "linear magnitude": "take twice the natural log"}[unit] + \
            ("" if config.unit == "natural-log power" else f", then divide by {config.to_log_power:.4g}")
    ratio = factor / config.to_log_power
    name = next((text for value, text in FACTOR_NAMES.items() if math.isclose(value, ratio)), None)
    return f"multiply by {name} = {ratio:.4g}" if name else f"multiply by {ratio:.4g}"


AMBIGUOUS = 1.3  # two units whose spreads lie closer than this to the training frames' are both named


def _likely_unit(frames, deviation, config):
    """The units whose conversion gives ``frames`` the spread (each band's deviation over time, the median band)
    nearest the model's training frames', the nearest first and any within :data:`AMBIGUOUS` of it: ``(units,
    spread ratio in the model's unit)``. The spread does not move with the level of the audio, as the mean
    does; units whose spreads differ little (natural-log magnitude and log10 of power: 2 against 2.3) cannot be
    told apart by it."""
    def distance(converted):
        return abs(math.log(max(float(np.median(np.std(converted, axis=0) / deviation)), 1e-12)))

    units = [name for name in UNITS if UNITS[name] is not None or frames.min() > 0]
    distances = {name: distance(_in_model_units(frames.astype(np.float64), name, config)) for name in units}
    ranked = sorted(distances, key=distances.get)
    near = [name for name in ranked if distances[name] - distances[ranked[0]] < math.log(AMBIGUOUS)]
    # Of those, for a front end's format, a unit front ends give their frames in first (natural-log magnitude,
    # HiFi-GAN's and Vocos', for SpeechT5's log10: the most common mix-up, which log10 of power cannot be told from)
    if config.format is not None:
        given = {spec.unit for spec in FORMATS.values()}
        near.sort(key=lambda name: name not in given)
    spread = float(np.median(np.std(frames.astype(np.float64), axis=0) / deviation))
    return near, spread


def check_units(frames, model, name, any_spread=False):
    """Refuse frames that are not in the model's units (natural-log mel power for ``mel``, a front end's own
    for its format), naming the likely unit: by their range, then by their spread against the training
    frames' (the feature network's standardisation, which travels in the model)."""
    config = model.feature_config
    spec = config.format
    if spec is None:
        low, high = math.log(config.floor), math.log(config.fft ** 2 / 4)
    else:
        low = math.log10(spec.floor) if spec.log == "log10" else math.log(spec.floor)
        high = math.log(config.fft ** 2 / 4) / config.to_log_power
    deviation = np.asarray(model.feature_net.deviation, dtype=np.float64)
    # Frames flat across the bands tell nothing of the units, and their jump would pass for another unit's spread:
    # digital silence (a front end's padding, a recording's silent ends) at the floor, or at another unit's floor.
    flat = np.ptp(frames, axis=1) <= FLOOR_MARGIN
    sounding = frames[~flat]
    enough = sounding.shape[0] >= MIN_FRAMES_TO_JUDGE
    varied = sounding.shape[0] > 1 and float(np.min(np.std(sounding, axis=0))) > 0
    judged = enough and varied
    units, spread = _likely_unit(sounding, deviation, config) if judged else ([config.unit], 1.0)
    if not judged:
        # A spectrum's shape across bands tells the units of a few frames no better than chance (measured on the
        # bundled speech: 10-frame excerpts of natural-log power and of log10 overlap): only their range is checked.
        # (100 frames, 16 of them flat: "84 ... are too few", not "100 ... too few (100 or more)")
        flat_count = frames.shape[0] - sounding.shape[0]
        if not sounding.shape[0]:
            why = f"all {flat_count} frame(s) are flat (every band alike), which tells nothing of their units' spread"
        elif not enough:
            counted = f"{sounding.shape[0]} frame(s)" + (f" that are not flat (of {frames.shape[0]}: the other "
                                                         f"{flat_count} have every band alike)" if flat_count else "")
            why = f"{counted} are too few to tell their units by their spread ({MIN_FRAMES_TO_JUDGE} or more are " \
                  f"needed)"
        else:
            why = "a band that never changes tells nothing of their units' spread"
        logger.warning("features %s: %s; only their range was checked: make sure they are %s",
                       name, why, config.describe())
    # Judged by their spread, frames may lie anywhere a level away (quieter audio is lower); else by their range.
    slack = (LEVEL_SLACK if judged else LOG_RANGE_SLACK) / config.to_log_power
    # A front end's values never go below its floor, at any level: many that do are of another format (HiFi-GAN's
    # natural-log frames of pauses, read as SpeechT5's log10, lie 20 dB and more under its floor). A model's
    # prediction may stray a little under it: FLOOR_SLACK_DB, for a share of values.
    under = float(np.mean(frames < low - FLOOR_SLACK_DB / _decibels_per_unit(config))) if spec is not None else 0.0
    under_floor = under >= UNDER_FLOOR_SHARE
    stray = f"their lowest value, {frames.min():.3g}, lies {(low - frames.min()) * _decibels_per_unit(config):.0f} " \
            f"dB under the floor of {config.kind}'s frames ({low:.3g}), which its front end never goes below" \
        if under else ""
    out_of_range = frames.min() < low - slack or frames.max() > high + slack or under_floor
    lively = spread >= SPREAD_ABOVE and not any_spread  # refused for that alone, said so below
    if stray and not under_floor and not lively:  # (refused for their spread, it is said there)
        logger.warning("features %s: %s: frames of another format or unit? (taken: a model's prediction may stray "
                       "under it a little; numpy.maximum(frames, %.3g) lifts them to it)", name, stray, low)
    if not out_of_range and not lively and (config.unit in units or spread > 1 / SPREAD_TOLERANCE):
        # In the model's unit, a flat frame off the floor is no sound a front end makes: zero padding
        above = flat & (np.abs(frames[:, 0] - low) > max(FLOOR_MARGIN, FLOOR_TOLERANCE * abs(low)))  # (float16)
        if np.any(above):
            first = int(np.flatnonzero(above)[0])
            raise ParameterError(f"features {name}: {np.count_nonzero(above)} of their {frames.shape[0]} frames are "
                                 f"flat, every band at {float(frames[first, 0]):.3g} (the first is frame {first}), "
                                 f"which no front end makes of sound: silence lies at the floor, {low:.3g}; "
                                 f"padding? cut those frames off, or set them to the floor (zeros are not silence)")
        return
    others = [unit for unit in units if unit != config.unit]
    likely = f"; they look like {others[0]}: {_how(others[0], config)}" if others else \
        f": convert them to {config.unit}"
    floored = float(np.mean(frames <= low + 1e-3))
    top = float(np.max(np.asarray(model.feature_net.mean, np.float64) + 2 * deviation))
    if spec is None and judged and spread < 1 / SPREAD_TOLERANCE and floored > FLOORED_SHARE and \
            frames.max() < top - 1.0 and not out_of_range:
        # mel frames are made at a peak of 1: of quieter audio, more of them sit at the floor and their spread
        # shrinks as another unit's would (-20 dB looked like log10 of power)
        raise ParameterError(
            f"features {name} look like {config.kind} frames of audio quieter than a peak of 1: "
            f"{floored:.0%} of their values sit at the floor (ln {config.floor:g} = {low:.2f}) and the loudest, "
            f"{frames.max():.2f}, lies {10 * (top - frames.max()) / math.log(10):.0f} dB below the training "
            f"frames' loud bands; this vocoder reads {config.kind} frames made of audio scaled to a peak of 1 "
            f"(audiornn.features.log_mel(audio / abs(audio).max(), rate, config)), or give the recording itself")
    if len(others) > 1:  # spreads this close cannot be told apart: both are named
        likely += " (or " + ", or ".join(f"{unit}: {_how(unit, config)}" for unit in others[1:]) + \
            "; check which unit your front end gives)"
    # Frames of another format with as many bands are in its unit: converted, they would still be read at this
    # model's rate, hop and band edges (a HiFi-GAN's 22,050 Hz frames made 1.38 times too long).
    formats = {kind: f"{kind}'s ({spec.sample_rate} Hz, bands from {spec.fmin:g} to {spec.fmax:g} Hz)"
               for kind, spec in FORMATS.items()
               if spec is not config.format and spec.bands == config.bands and spec.unit in others}
    if formats:
        likely += (f". If they are {' or '.join(formats.values())}, converting them will not do: this vocoder "
                   f"reads {config.kind} frames at {model.audio_config.sample_rate} Hz; use a vocoder trained on "
                   f"theirs (--features {next(iter(formats))})")
    if lively and not out_of_range and stray:  # no --any-spread for them
        likely += f"; and {stray}"
    elif lively and not out_of_range:  # the model's unit cannot be ruled out: livelier than speech is
        likely += (f". If they are {config.unit}, only livelier than speech (which varies at most about "
                   f"{SPREAD_ABOVE:g} times as much), pass --any-spread (any_spread=True)")
    below = f"; {under:.1%} of them lie over {FLOOR_SLACK_DB:g} dB under its floor ({spec.log} of magnitude " \
            f"floored at {spec.floor:g}), which its front end never goes below" if under_floor else ""
    if under_floor:  # or in the model's unit but for those: a prediction that undershoots its floor
        likely = (likely if others else ": frames of another format") + (
            f"; if they are {config.unit} but for a model's prediction that undershoots the floor, "
            f"numpy.maximum(frames, {low:.3g}) lifts them to it")
    raise ParameterError(f"features {name} are not in the model's units ({config.describe()}: {config.unit}, from "
                         f"{low:.1f} to about {high:.1f} at a peak of 1; theirs range from "
                         f"{frames.min():.3g} to {frames.max():.3g}"
                         + (f" and vary {spread:.2g} times as much as the model's training frames" if judged else "")
                         + f"{below}){likely}")


# A band whose mean lies this far below the median band's (against the training frames') is taken as empty, not
# as quiet: the top bands of a recording of a lower rate, resampled up (at 16 kHz from 8 kHz, about 46 dB below).
# On the 40 files `bench/shipped_models.py score vocoder-16k` scores, no band of a full-band recording is; at
# 20 dB some were, which moved the level it read.
EMPTY_BAND_DB = 30.0


def level_shift(frames, model):
    """How far above the model's training frames (of audio at a peak of 1) a front end's ``frames`` lie, in
    their unit: their loud level against the training frames' (:func:`audiornn.features.loud_level`, the
    model's ``frame_level``), the loud frames' power, which follows a recording's peak to about 1.3 dB. A model
    trained before it kept that level: the mean over frames and bands against the training frames' (the feature
    network's mean; it also counts the pauses, and wanders 3 to 5 dB), leaving out the bands :data:`EMPTY_BAND_DB`
    below the median band (the empty top of a recording of a lower rate, resampled up, pulled it 10 dB down). 0
    for ``mel`` frames, made at a peak of 1."""
    config = model.feature_config
    if config.format is None:
        return 0.0
    if getattr(model, "frame_level", None) is not None:
        return (loud_level(frames, config) - model.frame_level) / config.to_log_power
    differences = np.mean(frames, axis=0, dtype=np.float64) - np.asarray(model.feature_net.mean, np.float64)
    kept = differences >= np.median(differences) - EMPTY_BAND_DB / _decibels_per_unit(config)
    return float(np.mean(differences[kept]))


# A stretch of the vocoder's audio whose power runs more than this above what its frames describe is brought
# down to it (match_level): the frames say how loud each 16 ms is, and a copy 4 times the power is the model's
# error (a blare), not the recording's. On 30 s of a voice vocoder-16k never heard (bench/vocoder_long_look.py),
# 4 to 6 % of its 50 ms frames ran 6 dB or more above the original's, for up to 0.65 s at a time.
LIMIT_DB = 6.0
LIMIT_PASSES = 4
# The vocoder's audio, at the model's training level, raised more than this beyond what its frames' level asks
# has its energy elsewhere than its frames put it: vocoder-16k on 6.4 s of a voice it never heard was raised 10 dB
# more than that at temperature 1, 17 at 0.7, 73 at 0.5 (its audio all but silent, raised into noise louder than
# the speech) and more at 0 (into a full-scale tone). And a copy whose own frames lie more than FOLLOW_DB (their
# mean absolute difference in dB over the louder half of the frames, in the bands within FOLLOW_WITHIN_DB of each
# frame's loudest) from the given ones does not follow them: there, 4.1 dB at temperature 1, 5.0 at 0.85, 15.8 at
# 0.7, 41 at 0.5; at 1, the bundled 8 kHz prompts resampled up, 8.4 (over all bands, 12.4: their empty top band).
RAISE_DB = 24.0
FOLLOW_DB, FOLLOW_WITHIN_DB = 12.0, 40.0


def match_level(audio, frames, config, name="the given frames", expected_db=None, temperature=1.0, refine=0,
                on_pass=None):
    """``audio`` scaled so that its frames lie where ``frames`` do (a front end's frames carry the level of
    the audio they describe): the power of the louder half of the frames, summed over the bands (so a copy
    whose spectrum leans otherwise is matched by where its energy is, not by its emptiest bands). Each frame
    that then runs more than :data:`LIMIT_DB` above its given frame's power is brought down to that (the gains
    interpolated between the frames' centres) and the level matched again without the blares, and what
    still runs beyond full scale is cut there (the vocoder's audio is decoded uncut: cut before, a copy scaled
    down was cut far below full scale). ``expected_db``: the gain (power, dB) the frames' level asks of audio
    at the model's training level (:func:`level_shift`); raised more than :data:`RAISE_DB` beyond it, the audio
    had its energy elsewhere than its frames put it (sampling at a low ``temperature``), and is raised no further.
    Audio whose frames then lie more than :data:`FOLLOW_DB` from the given ones is said not to follow them.
    ``refine``: passes of :func:`follow_frames` after that judgement (audio that does not follow its frames is
    left as it is), before the cut at full scale; ``on_pass`` as :func:`follow_frames` takes it."""
    made = format_frames(audio, config)
    count = min(made.shape[0], frames.shape[0])
    if count == 0:
        return audio
    wanted, have = _frame_power(frames[:count], config), _frame_power(made[:count], config)
    loud = wanted >= np.median(wanted)
    spec = config.format
    pad = spec.fft // 2 if spec.padding == "center" else (spec.fft - spec.hop) // 2
    centres = np.arange(count) * spec.hop + spec.fft // 2 - pad
    blared = np.zeros(count, bool)
    before = float(np.mean(np.square(audio, dtype=np.float64)))
    for _ in range(LIMIT_PASSES):
        # Matched on the loud frames that are not blares: a blare's power put the rest too quiet
        matched = loud & ~blared if np.any(loud & ~blared) else loud
        scale = float(np.sum(wanted[matched])) / max(float(np.sum(have[matched])), 1e-300)
        audio, have = audio * math.sqrt(scale), have * scale
        cut = np.maximum(10 * np.log10(np.maximum(have, 1e-300) / np.maximum(wanted, 1e-300)) - LIMIT_DB, 0.0)
        if not np.any(cut > 0):
            break
        blared |= cut > 0
        audio = audio * np.interp(np.arange(audio.size), centres, 10 ** (-cut / 20)).astype(audio.dtype)
        have = _frame_power(format_frames(audio, config)[:count], config)
    raised = 10 * math.log10(max(float(np.mean(np.square(audio, dtype=np.float64))), 1e-300) / max(before, 1e-300))
    beyond = raised - expected_db - RAISE_DB if expected_db is not None else 0.0
    if beyond > 0:  # not raised past what the frames' level asks by more than RAISE_DB
        audio = audio * 10 ** (-beyond / 20)
    made, given = format_frames(audio, config)[:count], np.asarray(frames[:count], np.float64)
    # Over the louder half of the frames, their bands within FOLLOW_WITHIN_DB of each frame's loudest (an empty
    # top band, of audio of a lower rate resampled up, is the model's to fill with a little noise)
    judged = loud[:, None] & (given >= given.max(axis=1, keepdims=True) - FOLLOW_WITHIN_DB / _decibels_per_unit(config))
    apart = float(np.mean(np.abs(made - given)[judged])) * _decibels_per_unit(config)
    following = apart <= FOLLOW_DB
    if not following:
        colder = f"sampled at --temperature {temperature:g} (temperature=): below 1 a vocoder's draws fall apart into noise or a " \
                 f"tone; leave it at 1" if temperature < 1 else \
            "frames unlike those the model learned: of another format, another sample rate, or not speech"
        logger.warning("the audio vocoded from %s does not follow its frames: its own frames lie %.1f dB from them on "
                       "average over the louder half (a copy that follows them: 4 to 9 dB)%s; %s", name, apart,
                       f", and it had to be raised {raised - expected_db:.0f} dB more than their level asks "
                       f"(raised {RAISE_DB:g} dB more only)" if beyond > 0 else "", colder +
                       ("; it is left unrefined (refining would rebuild it from its noise)" if refine else ""))
    if following:  # (refining audio that does not follow its frames would raise its noise to them, pass by pass)
        audio = follow_frames(audio, frames, config, config.format.sample_rate, refine, on_pass)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 1.0:
        share = float(np.mean(np.abs(audio) > 1.0))
        logger.warning("the audio vocoded from %s, at the level its frames describe, peaks %.1f dB above full "
                       "scale: %s of its samples are cut at full scale%s", name, 20 * math.log10(peak),
                       f"{100 * share:.2g} %", " (frames of quieter audio leave room)" if share < CUT_MUCH else
                       ": it is distorted throughout; the frames describe audio far louder than full scale (their "
                       "level, or their unit, is not the one the model's format gives them)")
    return np.clip(audio, -1.0, 1.0)


# A pass moves a band by at most this (dB, either way): a band the network left empty is not raised into its
# rounding noise at once.
REFINE_STEP_DB = 12.0
MOST_REFINE_PASSES = 1000  # more is refused: 32 bring the loud frames within about half a dB of theirs


def check_refine(passes):
    """``passes`` (``--refine``, ``refine=``) as an int if it is 0 to :data:`MOST_REFINE_PASSES`."""
    if check_count(passes, "--refine (refine=)") > MOST_REFINE_PASSES:
        raise ParameterError(f"--refine (refine=) {passes} passes are more than {MOST_REFINE_PASSES}: they stop "
                             f"gaining long before (32 bring the loud frames within about half a dB of theirs)")
    return int(passes)


def follow_frames(audio, frames, config, sample_rate, passes=REFINE_PASSES, on_pass=None, momentum=REFINE_MOMENTUM):
    """``audio`` brought to the frames it was made from, band by band, its phases kept: each pass takes its
    short-time Fourier transform the way the frames are made, each frame's mel bands against the given
    ``frames`` (a gain of at most :data:`REFINE_STEP_DB` either way), the gains spread over the FFT bins by the
    bank's triangles (weighted by them; a bin outside the bank is left as it is) and the audio
    made again by the inverse transform (librosa's). The network's audio carries the phase and the harmonics'
    fine structure, which the frames do not; its bands stray from the frames by 4 to 9 dB, which passes bring to
    within a fraction of a dB (noise between the harmonics, where the frames' bands are low, is taken down).
    ``momentum`` (0 to below 1): each pass's spectrum pushed on by that share of its change since the pass before
    (fast Griffin-Lim's; 0: none). The audio keeps its length (float32); uncut (it may run beyond full scale). No
    passes: ``audio`` as it is. ``on_pass``: called after each pass (a progress bar's ``update``)."""
    import librosa

    passes = check_refine(passes)
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float, np.floating, np.integer)) \
            or not 0 <= momentum < 1:
        raise ParameterError(f"follow_frames' momentum is a share of each pass's change, 0 (none) to below 1, got "
                             f"{momentum!r} (default {REFINE_MOMENTUM})")
    audio, frames = np.asarray(audio), np.asarray(frames)
    if audio.ndim != 1 or not np.issubdtype(audio.dtype, np.floating):
        raise ParameterError(f"follow_frames refines 1-D float audio (samples at a full scale of 1), got "
                             f"{audio.dtype} of shape {audio.shape}")
    shaped = frames.ndim == 2 and frames.shape[1] == config.bands
    if not shaped or not np.all(np.isfinite(frames)):
        raise ParameterError(f"follow_frames takes finite frames of (frames, {config.bands}) for "
                             f"{config.describe()}, got {'' if not shaped else 'non-finite values in '}shape "
                             f"{frames.shape}")
    if passes == 0 or audio.size == 0 or frames.shape[0] == 0:
        return audio if passes == 0 else audio.astype(np.float32)
    audio = audio.astype(np.float32)
    bank = mel_bank(config, sample_rate).astype(np.float32)
    lowest = frame_values(np.zeros((bank.shape[1], 1), np.float32), config, bank)  # the floor, in the frames' unit
    given = np.maximum(np.asarray(frames, np.float32).T, lowest)
    step = REFINE_STEP_DB / 20 * math.log(10)  # natural-log magnitude
    weight = bank.sum(axis=0)
    spread = (bank / np.where(weight > 0, weight, np.inf)).T  # (bins, bands); a bin outside the bank: gain 1
    size, previous = audio.size, None
    for _ in range(passes):
        spectrum, pad, padded = frame_spectrum(audio, config)
        have = frame_values(np.abs(spectrum), config, bank)
        wanted = given[:, np.minimum(np.arange(have.shape[1]), given.shape[1] - 1)]  # the last again past the end
        gains = np.exp(np.clip((wanted - have) * (config.to_log_power / 2), -step, step))
        spectrum *= spread @ (gains - 1) + 1
        if momentum and previous is not None:
            spectrum, previous = spectrum + momentum * (spectrum - previous), spectrum
        else:
            previous = spectrum
        audio = librosa.istft(spectrum, hop_length=config.hop, win_length=config.window, n_fft=config.fft,
                              window="hann", center=False, length=padded)[pad:pad + size]
        if on_pass is not None:
            on_pass()
    return audio.astype(np.float32, copy=False)


CUT_MUCH = 0.01  # a share of samples cut at full scale above which the vocoded audio is distorted throughout


def _frame_power(values, config):
    """Each frame's power, summed over the bands."""
    return np.sum(np.exp(np.asarray(values, np.float64) * config.to_log_power), axis=1)


def _audio_frames(audio, rate, model, name):
    """A recording's frames, made the model's way: ``mel`` at a peak of 1, a front end's format at the
    recording's own level (as the front end makes them)."""
    config = model.feature_config
    if config.format is None:
        return prepare_audio(audio, rate, audio_config=model.audio_config, source=name, features=config)[2]
    # Its checks only (empty, silent, NaN): the frames keep the recording's level, so it is not raised
    prepare_audio(audio, rate, audio_config=model.audio_config, source=name, quiet_warning=False)
    if rate < model.audio_config.sample_rate:
        logger.warning("%s is at %d Hz, below the model's %d Hz: resampled up, its frames hold nothing above %d Hz, "
                       "and the vocoder's audio lacks that band too (give a recording made at %d Hz or more)",
                       name, rate, model.audio_config.sample_rate, rate // 2, model.audio_config.sample_rate)
    mono = resample(to_mono(audio), source_rate=rate, target_rate=model.audio_config.sample_rate)
    peak = float(np.max(np.abs(mono))) if mono.size else 0.0
    if peak < 1 / QUIET_GAIN:  # (the frames keep the level: near silence in, near silence out)
        logger.warning("%s is nearly silent (its peak is %s below full scale): its frames describe that, and the "
                       "vocoded audio is as quiet (if it is not meant as silence, check the recording)", name,
                       f"{-20 * np.log10(peak):.0f} dB" if peak > 0 else "far")
    return audio_to_features(mono, model.audio_config.sample_rate, config, own_level=True)


def _input_name(source):
    """An input as messages name it: ``'PATH'``, or "the given array"."""
    return f"'{source}'" if isinstance(source, (str, os.PathLike)) else "the given array"


def load_features(source, model, sample_rate=None, any_spread=False):
    """The frames ``(frames, bands)`` float32 of one input: an audio file (its frames, made the model's way),
    a ``.npy`` file or an array of frames (checked against the model's settings and units), or 1-D audio at
    ``sample_rate`` (which an array cannot tell, so it must be given). ``any_spread``: frames in the model's unit
    that vary more than speech does (:data:`SPREAD_ABOVE`) are taken, not refused as likely in another unit."""
    _check_vocoder(model)
    config = model.feature_config
    name = _input_name(source)
    if isinstance(source, (str, os.PathLike)):
        if Path(source).expanduser().is_dir():
            raise ParameterError(f"{name} is a folder: vocode takes audio files or .npy frames, one stream each; "
                                 f"name the files")
        if Path(source).suffix.lower() in (".npy", ".npz"):  # an archive is named as such by read_npy
            frames = read_npy(Path(source).expanduser())
        else:
            audio, rate = read_audio(source)
            return _audio_frames(audio, rate, model, name)
    else:
        frames = np.asarray(source)
        if frames.ndim <= 1 and frames.size == 0:  # (2-D ones are said with the shape expected, below)
            raise ParameterError(f"{name} is empty (shape {frames.shape}): give frames as one (frames, "
                                 f"{config.bands}) array, or audio")
        if frames.ndim == 1 and frames.size < config.window and sample_rate is None:
            # A frame's values, more likely than so little audio (with a sample_rate it is audio, as a file is)
            raise ParameterError(f"{name} is 1-D, read as audio, and its {frames.size} samples are fewer than one "
                                 f"frame's window ({config.window}): give frames as one (frames, {config.bands}) "
                                 f"array (numpy.stack(rows)), not a list of rows")
        if frames.ndim == 1 or (sample_rate is not None and _channels(frames, config)):  # audio, at the rate given
            if sample_rate is None:
                raise ParameterError(f"{name} is 1-D: audio, whose sample rate an array cannot tell: give it "
                                     f"(sample_rate={model.audio_config.sample_rate} if it is at the model's), or "
                                     f"give frames as one (frames, {config.bands}) array")
            rate = check_positive_int(sample_rate, "sample_rate")
            audio = audio_array(frames, name)  # (integer samples scaled; librosa's (channels, samples) turned)
            return _audio_frames(audio[:, None] if audio.ndim == 1 else audio, rate, model, name)
    given_shape = frames.shape
    if frames.ndim == 3 and frames.shape[0] == 1:  # a front end's output with its batch axis: (1, frames, bands)
        frames = frames[0]
    if frames.ndim != 2 or frames.shape[1] != config.bands or frames.shape[0] < 1:
        advice = _shape_advice(frames, config)
        if frames.shape != given_shape:  # its batch axis of one dropped: the advice is for frames[0]
            advice = advice.replace("frames.T", "frames[0].T")
        raise ParameterError(f"features {name} have shape {given_shape}; the model reads (frames, {config.bands}): "
                             f"{config.describe()} at {model.audio_config.sample_rate} Hz{advice}")
    if frames.dtype.kind not in "fiu":
        raise ParameterError(f"features {name} are of type {frames.dtype}, not real numbers: save a float array")
    if frames.dtype.kind in "iu":  # a front end's frames are real numbers: whole ones were rounded, or are not frames
        logger.warning("features %s are integers (%s): frames are real numbers, and rounded ones are read a little off "
                       "(save the float array the front end gives)", name, frames.dtype)
    frames = frames.astype(np.float32)
    if not np.all(np.isfinite(frames)):
        bad = ~np.isfinite(frames)
        first = int(np.flatnonzero(bad.any(axis=1))[0])
        raise ParameterError(f"features {name} have NaN or infinite values: {int(np.count_nonzero(bad))} of them, in "
                             f"{int(np.count_nonzero(bad.any(axis=1)))} of their {frames.shape[0]} frames (the first is "
                             f"frame {first}): repair or cut those frames")
    if frames.shape[0] == frames.shape[1] > 1:
        _say_if_turned(frames, model, name)
    check_units(frames, model, name, any_spread=any_spread)
    above = level_shift(frames, model) * _decibels_per_unit(config)  # dB above a peak of 1
    if above > TOO_LOUD_DB:
        raise ParameterError(
            f"features {name} describe audio {above:.0f} dB above full scale (a peak of 1), which no recording "
            f"is: were they made of samples not scaled to [-1, 1]? int16 samples lie 90 dB up (divide them by "
            f"32768 before making the frames, or subtract {20 * math.log10(32768) / _decibels_per_unit(config):.3g} "
            f"from these)")
    return frames


# A square array's shape cannot tell (frames, bands) from (bands, frames): its mean over time is compared with the
# training frames' mean band profile, read as given and turned. Of 175 excerpts of 80 SpeechT5 frames of speech
# (the bundled prompts at 16 kHz, a minute of June's), each read as given correlated 0.10 or more better than
# turned; of 1,227 of 40 mel frames, 3 % read turned 0.05 better: a warning, not a refusal.
TURNED_BETTER = 0.05


def _say_if_turned(frames, model, name):
    """Warn when square ``frames`` look like ``(bands, frames)``: their band profile read turned is more like the
    training frames' than as given."""
    mean = np.asarray(model.feature_net.mean, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):  # (constant frames: no correlation, NaN, taken as 0)
        given, turned = [float(np.nan_to_num(np.corrcoef(np.mean(values, axis=0, dtype=np.float64), mean)[0, 1]))
                         for values in (frames, frames.T)]
    if turned > given + TURNED_BETTER:
        logger.warning("features %s are square (%d x %d), read as (frames, bands); their mean over time is less like "
                       "the model's training frames' band profile than their mean read turned (correlation %.2f "
                       "against %.2f): if they are (bands, frames), give frames.T", name, frames.shape[0],
                       frames.shape[1], given, turned)


def _decibels_per_unit(config):
    """The dB of power that one of the frames' units is."""
    return config.to_log_power * 10.0 / math.log(10.0)


def _channels(array, config):
    """Whether a 2-D array looks like audio of a few channels rather than frames: one axis of at most
    MOST_CHANNELS, the other longer than a frame's window, and neither as many as the frames' bands."""
    return array.ndim == 2 and config.bands not in array.shape and min(array.shape) <= MOST_CHANNELS \
        and max(array.shape) >= config.window


def _shape_advice(frames, config):
    """What to do with frames of the wrong shape, where the shape says it: a (bands, frames) array, a batch of
    one, or frames of another number of bands (another format's, for another vocoder)."""
    shape = frames.shape
    if 0 in shape:
        return " (an empty array: it holds no values)"
    if frames.ndim == 3:
        return (f" (a batch of {shape[0]}: one input is one stream; give each its own .npy, or the whole array to "
                f"audiornn.vocode, which takes a batch as that many inputs)")
    bands = {config.bands, 40, *(spec.bands for spec in FORMATS.values())}  # the numbers of bands frames come in
    if frames.ndim == 2 and shape[1] != config.bands and (shape[0] == config.bands or (shape[0] in bands
                                                                                       and shape[1] not in bands)):
        if shape[1] in bands:  # (80, 40) may be either
            return (f" (transpose a (bands, frames) array: frames.T; or these are {shape[0]} frames of {shape[1]} "
                    f"bands: frames of another format, for a vocoder trained on them)")
        return " (transpose a (bands, frames) array: frames.T)"
    if frames.ndim == 2 and shape[0] == 1 and shape[1] >= config.window:
        return " (one row of audio, as generate() returns it: give audio[0], 1-D audio at the model's rate)"
    if _channels(frames, config):
        return (f" (audio of {min(shape)} channels, most likely: give its sample_rate, and it is read as audio, its "
                f"channels mixed)")
    if frames.ndim == 2 and shape[0] >= 1 and shape[1] != config.bands:
        return (f" (these frames have {shape[1]} bands: frames of another format, for a vocoder trained on them; "
                f"{command()} models lists the shipped ones)")
    return ""


# Folding (WaveRNN's fold_with_overlap): a long input is cut into segments vocoded as the streams of one batch.
# bench/fold.py chose these: "which segment, warm-up and fade keep folded copy-synthesis as good as one stream?"
FOLD_SEGMENT_SECONDS = 3.0  # the shortest segment (a seam a second cost 0.05 PESQ): an input under two is not folded
FOLD_STREAMS = 32  # at most this many segments an input (a power of two; 2 cores' throughput levels off there)
# Each segment starts this early, so that its state has settled on the frames before it: started 0.05 s early (a
# choice by PESQ, which hardly hears a seam), a segment came in up to 11 dB too quiet or loud, the level across its
# seam jumping over 6 dB at 22 % of the seams at 16 kHz and 31 % at 8 kHz; 0.3 s early, as often as anywhere else
# (bench/fold.py's "jump" columns, thirty-seventh session)
FOLD_WARMUP_SECONDS = 0.3
FOLD_FADE_SECONDS = 0.01  # the last of those samples are cross-faded (equal power) with the segment before


@dataclasses.dataclass(frozen=True)
class Fold:
    """How one input of ``frames`` frames is vocoded: ``count`` segments of ``segment`` frames (the last
    shorter), segment ``s`` a stream from frame ``s * segment - warmup`` (its first frame stands in before
    the input's start) for ``segment + warmup`` frames; its last ``fade`` frames before its own start are
    cross-faded with the end of the segment before, the others dropped. One segment: the input as one
    stream."""

    frames: int
    segment: int
    warmup: int = 0
    fade: int = 0

    @classmethod
    def plan(cls, frames, frames_per_second, fold=True):
        """The fold of an input of ``frames`` frames (``fold=False``: one stream), from its length alone, so
        an input is vocoded the same whatever else is in the batch."""
        shortest = max(1, int(round(FOLD_SEGMENT_SECONDS * frames_per_second)))
        # A power of two, so that few batch sizes compile (each new one does, once).
        count = min(FOLD_STREAMS, 2 ** int(math.log2(max(1, frames // shortest))))
        if not fold or count < 2:
            return cls(frames, frames)
        segment = -(-frames // count)
        return cls(frames, segment, max(1, int(round(FOLD_WARMUP_SECONDS * frames_per_second))),
                   max(1, int(round(FOLD_FADE_SECONDS * frames_per_second))))

    @property
    def count(self):
        return -(-self.frames // self.segment)

    @property
    def length(self):
        """Frames each stream runs for."""
        return self.segment + self.warmup if self.count > 1 else self.frames

    def starts(self):
        """Each segment's stream's first frame."""
        return [index * self.segment - self.warmup for index in range(self.count)]

    def join(self, pieces, hop):
        """The input's audio from its segments' (each from its stream's first sample): ``(frames * hop,)``."""
        total, segment, warmup, fade = self.frames * hop, self.segment * hop, self.warmup * hop, self.fade * hop
        audio = np.zeros(total, np.float32)
        angle = (np.arange(fade) + 0.5) / fade * (np.pi / 2)
        for index, piece in enumerate(pieces):
            begin = index * segment - warmup  # where the stream's first sample lies in the input
            keep = max(0, index * segment - fade if index else 0)
            stop = min(total, (index + 1) * segment)  # one segment: segment is frames, warmup 0
            part = piece[keep - begin:stop - begin]
            if index:
                part = part.copy()
                part[:fade] = audio[keep:keep + fade] * np.cos(angle) + part[:fade] * np.sin(angle)
            audio[keep:keep + part.size] = part
        return audio


def vocode(model, inputs, *, temperature=1.0, seed=0, output=None, chunk_seconds=1.0, progress=True,
           tail=VOCODE_TAIL, label=None, fold=True, overwrite=False, sample_rate=None, any_spread=False,
           refine=REFINE_PASSES):
    """Audio from spectrogram frames: one stream per input, run together as one batch.

    inputs: one input or a list (audio files of any format and rate, ``.npy``
        frames, arrays of frames, arrays of audio at ``sample_rate``: 1-D,
        ``(samples, channels)`` or librosa's ``(channels, samples)``, floats or
        integer samples; :func:`load_features`).
    output: a ``.wav`` path (several inputs: ``NAME_1.wav`` ...; a folder, there or named with a trailing
        ``/``: a ``.wav`` named after each input file, ``utt1.npy`` to ``utt1.wav``), written chunk
        by chunk and renamed into place only when complete; without it the
        audio is returned (an array ``(streams, samples)``, or a list when the
        inputs' lengths differ). Each stream has ``frames * hop`` samples. A
        file already there is refused unless ``overwrite``.
    temperature, seed: as in :func:`audiornn.generation.generate`; the same
        seed draws the same random numbers whatever ``chunk_seconds`` and
        whatever other inputs are vocoded with it (each stream draws from the
        seed and its segment's number, :func:`audiornn.stepping.keyed_uniform`).
        The arithmetic of a batch differs in its last bits with its size, so a
        draw that falls that close to a class boundary can take the other class,
        and from there the copies part: the same sound, other samples (an input
        vocoded beside others against alone, or on the other backend; README).
    tail: the probability taken off every class's before drawing, so the
        improbable classes are never drawn (LPCNet's sampling; 0: none): the
        far classes' small share otherwise adds clicks and noise between
        the harmonics (:data:`VOCODE_TAIL`).
    label: a labelled vocoder's label (a name, or one per input); required
        for such a vocoder, refused for another.
    fold: cut an input of twice :data:`FOLD_SEGMENT_SECONDS` or more into at
        most :data:`FOLD_STREAMS` segments vocoded as streams of the batch, each
        started early and cross-faded with the one before (:class:`Fold`):
        many times faster on several cores. ``False``: each input one
        stream, written as it is made.
    any_spread: take frames in the model's unit that vary more than speech
        does, which are otherwise refused as likely in another unit
        (:func:`load_features`).
    refine: passes bringing the network's audio to its frames band by band,
        its phases kept (:func:`follow_frames`; :data:`REFINE_PASSES`; 0: the
        network's audio as drawn). The whole input is kept until it is done.

    A front end's frames (a format of :data:`audiornn.features.FORMATS`)
    may be at any level: they are read at the level of the model's training
    frames, and the output is put back at theirs (12 dB quieter frames, 12 dB
    quieter audio; :func:`level_shift`, :func:`match_level`). The ``mel``
    frames of the 8 kHz ``vocoder`` are of audio scaled to a peak of 1, so its
    output comes out at its training audio's level whatever the recording's
    (a recording 60 dB down is vocoded about as loud as one at full scale).
    """
    from .runs import as_model

    model = as_model(model)
    _check_vocoder(model)
    if isinstance(inputs, (dict, np.generic)) or not (isinstance(inputs, (str, os.PathLike, collections.abc.Iterable))
                                              or hasattr(inputs, "__array__")):
        raise ParameterError(f"vocode's inputs are audio files, .npy frames or arrays of frames (one, or several); "
                             f"got {type(inputs).__name__}")
    if hasattr(inputs, "__array__"):  # an array, or a framework's tensor
        inputs = np.asarray(inputs)
    single = isinstance(inputs, (str, os.PathLike)) or (isinstance(inputs, np.ndarray) and inputs.ndim <= 2)
    inputs = [inputs] if single else [np.asarray(source) if hasattr(source, "__array__") else source
                                      for source in inputs]
    if not inputs:
        raise ParameterError("vocode needs at least one input: audio files or features")
    for source in inputs:  # a list of numbers or of rows is one array's values, not inputs: asked for as one
        if not isinstance(source, (str, os.PathLike, np.ndarray)) or (isinstance(source, np.ndarray)
                                                                       and source.ndim == 0):
            kind = "0-d array" if isinstance(source, np.ndarray) else type(source).__name__
            raise ParameterError(f"vocode's inputs are audio files, .npy frames or arrays of frames; got a list of "
                                 f"{kind}: give one array of frames as numpy.asarray(frames), a list of inputs as a "
                                 f"list of arrays or paths")
    check_refine(refine)
    chunk_seconds = check_positive_number(chunk_seconds, "chunk_seconds")
    check_output_type(output, folder=True)
    if not isinstance(fold, (bool, np.bool_)):
        raise ParameterError(f"fold is True (a long input cut into segments vocoded together) or False (each input "
                             f"one stream), got {fold!r}")
    paths = None if output is None else output_paths(output, len(inputs), inputs, overwrite, by_input_name=True)
    return vocode_frames(model, [load_features(source, model, sample_rate, any_spread) for source in inputs],
                         [_input_name(source) for source in inputs], paths=paths, temperature=temperature, seed=seed,
                         chunk_seconds=chunk_seconds, progress=progress, tail=tail, label=label, fold=fold,
                         overwrite=overwrite, refine=refine)


def vocode_frames(model, given, names, *, paths=None, temperature=1.0, seed=0, chunk_seconds=1.0, progress=True,
                  tail=VOCODE_TAIL, label=None, fold=True, overwrite=False, refine=REFINE_PASSES):
    """:func:`vocode` of frames already read (:func:`load_features`), each named as its messages name it
    (``names``), written to ``paths`` (checked by :func:`audiornn.sink.output_paths`) or returned."""
    config, rate, count, level = model.feature_config, model.audio_config.sample_rate, len(given), \
        np.float32(model.audio_config.level)
    # A front end's frames, at any level, are read at the level of the model's training frames; the output is
    # put back at theirs (match_level).
    shifts = [level_shift(piece, model) for piece in given]
    frames = [piece - shift for piece, shift in zip(given, shifts)]
    labels = label_state(model, label, count)
    hop, margin = config.hop, model.feature_net.margin
    folds = [Fold.plan(piece.shape[0], rate / hop, fold) for piece in frames]
    owner = np.repeat(np.arange(count), [plan.count for plan in folds])  # each stream's input
    starts = np.concatenate([plan.starts() for plan in folds])
    keys = np.concatenate([np.arange(plan.count) for plan in folds])
    lengths = [piece.shape[0] * hop for piece in frames]
    total = max(plan.length for plan in folds) * hop
    chunk = max(1, int(round(chunk_seconds * rate / hop))) * hop  # whole frames
    wav = check_room(paths and paths[0], count, max(lengths), rate, advice="vocode fewer or shorter inputs")
    refine = check_refine(refine)
    buffered = config.format is not None or refine > 0 or any(plan.count > 1 for plan in folds)
    stream = StreamGroup(model, count=owner.size, temperature=temperature, seed=seed, tail=tail, keys=keys,
                         label=None if labels is None else np.asarray(labels)[owner])
    drawn_classes = np.zeros((owner.size, total), np.uint8) if buffered else None
    cause = ("the vocoder's audio ran louder than the recording (or the frames) it was made from, whose level it "
             "keeps (audio that peaks near full scale leaves little room)") if config.format is not None else (
        "this vocoder's frames are of audio scaled to a peak of 1, and its audio comes out at its training audio's "
        "level whatever the recording's (a louder peak than the recording's was drawn)")
    with stream, AudioSink(paths, count, model.audio_config, wav, lengths=lengths, overwrite=overwrite,
                           cause=cause, made_by="vocode") as sink:
        for done, length in chunks(total, chunk, count=owner.size, rate=rate, desc="vocoding", progress=progress,
                                   speedup=sum(lengths) / total / owner.size):
            # The steps read the sample before the chunk through the chunk's last but one; the sink cuts each
            # stream at its length.
            span = frame_span(done - 1, length, hop, margin)
            classes = stream.sample(length, np.stack([take_frames(frames[source], span + start)
                                                      for source, start in zip(owner, starts)]))
            if buffered:
                drawn_classes[:, done:done + length] = classes
            else:
                sink.emit(classes)
        # (bar_disabled's None is tqdm's: hidden where stderr is not a terminal, as in a log file)
        refining = tqdm(total=refine * count, desc="refining", unit="pass", delay=1.0,
                        disable=bar_disabled(progress) if buffered and refine else True)
        with refining:
            for index, plan in enumerate(folds if buffered else ()):
                # A front end's frames: cut at full scale only once put at their level (cut before, a copy
                # scaled down after was cut far below full scale)
                pieces = [decode_classes(row, model.audio_config, clip=False)[0]
                          for row in drawn_classes[owner == index]]
                audio = plan.join(pieces, hop)
                # The mel frames are of audio at a peak of 1, and the network's audio is at the training level
                if config.format is None and refine:
                    audio = follow_frames(audio / level, given[index], config, rate, refine, refining.update) * level
                sink.put(index, audio if config.format is None else match_level(
                    audio, given[index], config, names[index], temperature=temperature, refine=refine,
                    on_pass=refining.update,
                    expected_db=float(shifts[index]) * _decibels_per_unit(config)))
    return paths if paths is not None else sink.audio()
