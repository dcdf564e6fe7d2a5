"""Copy-synthesis scores of a vocoder: PESQ, STOI and log-mel distance, beside Griffin-Lim from the same frames.

For each held-out recording: its frames (:mod:`audiornn.features`), the
vocoder's audio from them (:func:`audiornn.vocoder.vocode`) and Griffin-Lim's
phase reconstruction from the same frames (librosa: the mel power inverted to
a linear spectrogram, then 32 iterations), which needs no network. Each is
compared with the recording as the model hears it (resampled to its rate,
mixed to mono, scaled to a peak of 1):

- **PESQ** (ITU-T P.862, the ``pesq`` package): narrow band at 8 kHz, wide
  band at 16 kHz; 1 (bad) to 4.5. It hears phase artefacts, which Griffin-Lim
  makes and a magnitude distance does not see.
- **STOI** (``pystoi``): intelligibility, 0 to 1. It needs about 0.4 s of
  speech once the recording's silent frames are left out; a shorter file has
  none (None), and the mean is over the files that have one (pystoi itself
  would return 1e-5, which averaged in as a score pulls the mean down).
- **log-mel distance**: the mean absolute difference of the log-mel frames in
  dB. Griffin-Lim rebuilds the very magnitudes it was given, so it wins this
  one by construction.
"""

import math
import warnings
from pathlib import Path

import numpy as np

from .audio_io import read_audio
from .config import REFINE_PASSES, VOCODE_TAIL
from .dsp import resample, to_mono
from .errors import AudioRNNError, ParameterError
from .features import audio_to_features

__all__ = ["format_resynthesis_table", "griffin_lim", "pitch_of", "pitch_scores", "reference_audio",
           "resynthesis_scores", "speech_scores"]

DB_PER_NEPER = 10.0 / math.log(10.0)  # natural-log power to dB


def griffin_lim(frames, sample_rate, config, *, iterations=32, seed=0):
    """Audio ``(frames * hop,)`` from log-mel frames ``(frames, bands)`` by Griffin-Lim (librosa), its random
    first phases drawn from ``seed`` (the same frames give the same audio and scores every time)."""
    import librosa

    frames = np.asarray(frames, np.float64)
    # librosa's centred STFT of frames * hop samples has one frame more than the features keep: the last again.
    values = np.concatenate([frames, frames[-1:]]).T
    spec = config.format
    if spec is None:
        magnitude = librosa.feature.inverse.mel_to_stft(np.exp(values), sr=sample_rate, n_fft=config.fft, power=2.0,
                                                        fmin=0.0, fmax=sample_rate / 2)
    else:  # the format's own bank, its magnitudes
        magnitude = librosa.feature.inverse.mel_to_stft(
            10.0 ** values if spec.log == "log10" else np.exp(values), sr=sample_rate, n_fft=spec.fft, power=1.0,
            fmin=spec.fmin, fmax=spec.fmax, htk=spec.htk, norm=spec.norm)
    with warnings.catch_warnings():
        # A recording shorter than one window is padded, as every recording's ends are.
        warnings.filterwarnings("ignore", message="n_fft=.* is too large for input signal")
        audio = librosa.griffinlim(magnitude, n_iter=iterations, hop_length=config.hop, win_length=config.window,
                                   n_fft=config.fft, window="hann", center=True, pad_mode="constant",
                                   length=frames.shape[0] * config.hop, random_state=seed)
    return audio.astype(np.float32)


def reference_audio(path, model, *, at_peak=True):
    """A recording as the model hears it: mono, at the model's rate, at a peak of 1 (``at_peak=False``: at its own
    level, as the copies come out)."""
    audio, rate = read_audio(path)
    mono = resample(to_mono(audio), source_rate=rate, target_rate=model.audio_config.sample_rate)
    return mono / max(float(np.max(np.abs(mono))), 1e-9) if at_peak else mono


def _stoi(reference, degraded, rate):
    """STOI, or None when the reference has too little speech for it (pystoi warns and returns 1e-5)."""
    import warnings

    from pystoi import stoi

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = float(stoi(reference, degraded, rate, extended=False))
    return None if any("Not enough STFT frames" in str(warning.message) for warning in caught) else value


def speech_scores(reference, degraded, rate, config, reference_pitch=None):
    """PESQ (narrow band at 8 kHz, wide at 16), STOI (None when too little speech), log-mel distance in dB and
    :func:`pitch_scores` of ``degraded`` against ``reference`` (1-D, at ``rate``; the shorter length of the
    two). ``reference_pitch``: the reference's, when several copies of it are scored (:func:`pitch_of`)."""
    from pesq import pesq

    length = min(reference.size, degraded.size)
    reference, degraded = reference[:length].astype(np.float64), degraded[:length].astype(np.float64)
    frames = [audio_to_features(audio, rate, config) for audio in (reference, degraded)]
    try:
        quality = float(pesq(rate, reference, degraded, "wb" if rate >= 16000 else "nb"))
    except Exception as error:  # the package raises its own kinds for silent or too short audio
        raise AudioRNNError(f"PESQ cannot score this audio ({type(error).__name__}: {error})") from None
    return {"pesq": quality, "stoi": _stoi(reference, degraded, rate),
            "log_mel_db": float(np.mean(np.abs(frames[0] - frames[1]))) * DB_PER_NEPER,
            **pitch_scores(reference, degraded, rate, reference_pitch)}


PITCH_RANGE = (60.0, 500.0)  # Hz: men's voices to women's and children's


def pitch_of(audio, rate):
    """``librosa.pyin``'s F0 and voicing, a frame every 10 ms, 64 ms long (two periods of the lowest pitch)."""
    import librosa

    length = 2 ** math.ceil(math.log2(0.064 * rate))
    if audio.size < length:
        return np.zeros(0), np.zeros(0, bool)
    f0, voiced, _ = librosa.pyin(np.asarray(audio, np.float64), fmin=PITCH_RANGE[0], fmax=PITCH_RANGE[1], sr=rate,
                                 frame_length=length, hop_length=rate // 100)
    return f0, voiced


def pitch_scores(reference, degraded, rate, reference_pitch=None):
    """The copy's pitch against the reference's (``librosa.pyin``): ``f0_cents``, the median error in cents
    over the frames voiced in both, and ``buzz``, the share of the reference's unvoiced frames (pauses,
    fricatives) that come out voiced. None where there is no such frame. ``reference_pitch``: the
    reference's :func:`pitch_of`, made once for several copies."""
    f0, voiced = pitch_of(reference, rate) if reference_pitch is None else reference_pitch
    copy_f0, copy_voiced = pitch_of(degraded, rate)
    count = min(voiced.size, copy_voiced.size)
    voiced, copy_voiced, f0, copy_f0 = voiced[:count], copy_voiced[:count], f0[:count], copy_f0[:count]
    both = voiced & copy_voiced
    cents = 1200 * np.abs(np.log2(copy_f0[both] / f0[both]))
    return {"f0_cents": float(np.median(cents)) if both.any() else None,
            "buzz": float(np.mean(copy_voiced[~voiced])) if (~voiced).any() else None}


def resynthesis_scores(model, files, *, seed=0, temperature=1.0, progress=False, tail=VOCODE_TAIL, label=None,
                       fold=True, refine=REFINE_PASSES):
    """PESQ, STOI and log-mel distance of the vocoder's and Griffin-Lim's copy-synthesis of ``files``.

    Returns ``{"files": [...], "vocoder": {...}, "griffin_lim": {...}}`` with
    each measure's mean over the files (STOI's over the files long enough
    for it, counted in ``"stoi_files"``; None when none is), ``"per_file"`` rows, and the first
    file's three sounds (``"example"``: original, vocoder, Griffin-Lim) for a
    figure. The pesq package needs a sample rate of 8 or 16 kHz. ``tail`` and
    ``label`` (a labelled vocoder's: one for all files or one each): as
    :func:`audiornn.vocode` takes them, and ``fold`` and ``refine``.
    """
    from .stepping import label_state
    from .vocoder import check_refine, load_features, vocode_frames

    import importlib.util

    missing = [name for name in ("pesq", "pystoi") if importlib.util.find_spec(name) is None]
    if missing:
        raise AudioRNNError(f"copy-synthesis scores need {' and '.join(missing)}: install them "
                            f"(pip install 'audiornn[vocoder-scores]'; pesq builds from source, with a C compiler)")
    from .runs import as_model

    model = as_model(model)
    rate, config = model.audio_config.sample_rate, model.feature_config
    if rate not in (8000, 16000):
        raise AudioRNNError(f"PESQ scores audio at 8 or 16 kHz; this model's rate is {rate} Hz")
    files = [str(path) for path in files]
    for path in files:
        if Path(path).suffix.lower() in (".npy", ".npz"):
            raise ParameterError(f"'{path}' holds frames, not a recording: copy-synthesis is scored against the "
                                 f"recording its frames are made of; give recordings (vocode takes frames)")
    label = label_state(model, label, len(files))  # checked before any work
    refine = check_refine(refine)
    frames = [load_features(path, model) for path in files]
    for path, own in zip(files, frames):  # PESQ needs a quarter of a second: refused before the vocoding
        if own.shape[0] * config.hop < rate / 4:
            raise AudioRNNError(f"'{path}' lasts {own.shape[0] * config.hop / rate:.3g} s; PESQ scores a quarter of "
                                f"a second or more: leave it out of the files scored")
    vocoded = vocode_frames(model, frames, [f"'{path}'" for path in files], seed=seed, temperature=temperature,
                            progress=progress, tail=tail, label=label, fold=fold,
                            refine=refine)
    rows, example = [], None
    for path, own, audio in zip(files, frames, vocoded):
        reference = reference_audio(path, model)
        rebuilt = griffin_lim(own, rate, config, seed=seed)
        try:
            pitch = pitch_of(reference[:min(reference.size, len(audio), rebuilt.size)].astype(np.float64), rate)
            rows.append({"file": path, "vocoder": speech_scores(reference, audio, rate, config, pitch),
                         "griffin_lim": speech_scores(reference, rebuilt, rate, config, pitch)})
        except AudioRNNError as error:
            raise AudioRNNError(f"'{path}': {error}: leave it out of the files scored") from None
        if example is None:  # drawn at the level the copies follow: a front end's frames carry the recording's
            # own (scored at a peak of 1, as mel frames are made)
            example = {"original": reference if config.format is None else reference_audio(path, model, at_peak=False),
                       "vocoder": np.asarray(audio), "griffin_lim": rebuilt}
    summary = {"files": files, "per_file": rows, "example": example, "refine": refine}
    for method in ("vocoder", "griffin_lim"):
        summary[method] = {measure: _mean([row[method][measure] for row in rows])
                           for measure in ("pesq", "stoi", "log_mel_db", "f0_cents", "buzz")}
    # The reference alone decides which frames STOI keeps, so both methods have it for the same files.
    summary["stoi_files"] = sum(row["vocoder"]["stoi"] is not None for row in rows)
    return summary


def _mean(values):
    """The mean of the values that are not None (None if none is)."""
    values = [value for value in values if value is not None]
    return float(np.mean(values)) if values else None


def format_resynthesis_table(scores):
    """The means as a small text table."""
    lines = [f"{'copy-synthesis':<16}{'PESQ':>8}{'STOI':>8}{'log-mel dB':>12}{'F0 cents':>10}{'buzz':>7}"]
    for method, name in (("vocoder", "vocoder"), ("griffin_lim", "Griffin-Lim")):
        row = scores[method]
        stoi = "-" if row["stoi"] is None else f"{row['stoi']:.3f}"
        cents = "-" if row.get("f0_cents") is None else f"{row['f0_cents']:.1f}"
        buzz = "-" if row.get("buzz") is None else f"{row['buzz']:.0%}"
        lines.append(f"{name:<16}{row['pesq']:>8.2f}{stoi:>8}{row['log_mel_db']:>12.2f}{cents:>10}{buzz:>7}")
    count, scored = len(scores["files"]), scores["stoi_files"]
    if scored < count:
        lines.append(f"(STOI over {scored} of the {count} files: the others have too little speech for it, "
                     f"about 0.4 s once silences are left out)")
    refine = scores.get("refine")
    if refine is not None:
        lines.append(f"(the vocoder's audio brought to its frames band by band in {refine} passes, as vocode makes it: "
                     f"--refine {refine})" if refine else "(the network's audio as drawn, not refined: --refine 0)")
    distance = "both are brought to the frames' magnitudes, so both come near them in the distance" if refine else \
        "Griffin-Lim rebuilds the very magnitudes it is given, so it wins the distance by construction"
    lines.append(f"({count} file(s); PESQ 1-4.5 (wide band at 16 kHz, narrow at 8) and STOI 0-1 higher is better, "
                 f"the distance lower; F0 cents: the median pitch error where both are voiced; buzz: the share of the "
                 f"original's unvoiced frames that come out voiced, lower is better; {distance})")
    return "\n".join(lines)
