"""The level a vocoder of a front end's frames reads them at: each estimate against the truth, and what the truth buys.

Usage: python bench/vocoder_level.py [--model vocoder-16k] [--work /tmp/audiornn-shipped] [--files 20]
                                     [--seeds 0 1]

A front end's frames carry the level of their audio; the vocoder was trained on frames of audio at a peak of 1,
so ``vocode`` reads them shifted by :func:`audiornn.vocoder.level_shift`. On the files ``bench/shipped_models.py
score`` scores (``--files`` of the model's held-out files, from its dataset in ``WORK/MODEL-dataset``, and of
the voice it never heard):

- each estimate's error against the truth, log10 of the recording's peak in the format's unit (the mean over
  files and its spread), for the recording and for a copy resampled to 8 kHz and back (empty above 4 kHz):
  the mean over all bands (before 2026-12-05), the median band, the mean leaving out the bands
  ``EMPTY_BAND_DB`` below the median band (a model that keeps no ``frame_level``) and ``level_shift``'s loud
  frames (a model that keeps one: its training frames' ``audiornn.features.loud_level``);
- with ``--seeds``: copy-synthesis PESQ and STOI of the vocoder with ``level_shift`` and with the truth put in
  its place (not something a text-to-speech model's frames have: what reading the level exactly would buy).
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import quiet_tensorflow  # noqa: E402
from shipped_models import scored_files  # noqa: E402

quiet_tensorflow()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vocoder-16k")
    parser.add_argument("--work", type=Path, default=Path("/tmp/audiornn-shipped"))
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="*", default=[])
    arguments = parser.parse_args()

    import math
    from types import SimpleNamespace

    import audiornn
    import audiornn.vocoder as vocoder
    from audiornn.audio_io import read_audio
    from audiornn.dsp import resample
    from audiornn.features import LOUD_PERCENTILE, audio_to_features
    from audiornn.resynthesis import resynthesis_scores

    model = audiornn.load_model(arguments.model)
    config, rate = model.feature_config, model.audio_config.sample_rate
    if config.format is None:
        parser.error(f"{arguments.model} reads mel frames, made at a peak of 1: it reads no level")
    training = np.asarray(model.feature_net.mean, np.float64)
    unit = 2.0 / config.to_log_power  # log of magnitude in the format's unit, per natural log of magnitude
    kept_before = SimpleNamespace(feature_config=config, feature_net=model.feature_net)  # no frame_level kept
    estimates = {"mean of all bands (before)": lambda frames: float(np.mean(frames) - np.mean(training)),
                 "median band": lambda frames: float(np.median(np.mean(frames, axis=0) - training)),
                 f"mean, bands {vocoder.EMPTY_BAND_DB:g} dB below the median left out":
                     lambda frames: vocoder.level_shift(frames, kept_before)}
    if model.frame_level is not None:
        estimates[f"level_shift: loud frames ({LOUD_PERCENTILE:g}th percentile)"] = \
            lambda frames: vocoder.level_shift(frames, model)
    files = scored_files(arguments.model, arguments.work, arguments.files)
    truths = {}
    for name, chosen in files.items():
        errors = {estimate: ([], []) for estimate in estimates}
        for path in chosen:
            audio = read_audio(path)[0][:, 0].astype(np.float64)
            truth = unit * math.log(float(np.max(np.abs(audio))))
            narrow = resample(resample(audio, source_rate=rate, target_rate=rate // 2), source_rate=rate // 2,
                              target_rate=rate)
            made = [audio_to_features(copy, rate, config, own_level=True) for copy in (audio, narrow)]
            truths[vocoder.load_features(path, model).tobytes()] = truth
            for estimate, function in estimates.items():
                for errors_of, frames in zip(errors[estimate], made):
                    errors_of.append(function(frames) - truth)
        print(f"{arguments.model}, {name}: {len(chosen)} files; error against log10 of the peak ({config.unit}), "
              f"mean and spread")
        print(f"  {'estimate':<58} {'recording':>16} {'resampled to ' + str(rate // 2):>22}")
        for estimate, (whole, narrow) in errors.items():
            print(f"  {estimate:<58} {np.mean(whole):+8.3f} {np.std(whole):6.3f}   "
                  f"{np.mean(narrow):+11.3f} {np.std(narrow):6.3f}", flush=True)

    estimated = vocoder.level_shift
    for seed in arguments.seeds:
        for way, shift in (("level_shift", estimated), ("the truth", lambda frames, _: truths[frames.tobytes()])):
            vocoder.level_shift = shift
            for name, chosen in files.items():
                scores = resynthesis_scores(model, chosen, seed=seed)["vocoder"]
                print(f"seed {seed}, {way:<12} {name:<13} PESQ {scores['pesq']:.3f}  STOI {scores['stoi']:.3f}",
                      flush=True)
    vocoder.level_shift = estimated


if __name__ == "__main__":
    main()
