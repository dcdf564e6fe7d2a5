"""What is wrong with a vocoder's copy-synthesis, measured where it cannot be heard: pitch, periodicity, voicing.

Usage: python bench/vocoder_look.py MODEL BENCH_JSON [--files 20] [--seed 0]

MODEL is a vocoder (a run folder or ``.keras`` file); BENCH_JSON the
``vocoder.json`` that ``bench/vocoder.py`` wrote, whose copy-synthesis file
lists (validation files and the unseen voice) are used again. For each set,
the original, the vocoder's audio and Griffin-Lim's from the same frames:

- pitch: ``librosa.pyin`` (70 to 450 Hz, a frame every 10 ms) on all three;
  the share of the original's voiced frames the copy loses, of its unvoiced
  frames the copy voices (a buzz where there should be hiss or silence), and
  the F0 error in cents on the frames voiced in both;
- periodicity: in the frames the original is voiced in (pyin's probability
  above 0.5), the energy within a quarter of F0 of the original's harmonics
  over the energy between them, by 1 kHz band (1024-point spectra), median
  over the frames.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import quiet_tensorflow  # noqa: E402

quiet_tensorflow()

SETS = {"validation": "resynthesis validation", "unseen voice": "resynthesis unseen voice"}
BANDS = range(0, 4000, 1000)
SPECTRUM = 1024


def _pitch(audio, rate, hop):
    import librosa

    f0, voiced, probability = librosa.pyin(np.asarray(audio, "float64"), fmin=70, fmax=450, sr=rate,
                                           frame_length=SPECTRUM, hop_length=hop)
    return f0, voiced, probability


def _periodicity(audio, f0, voiced, rate, hop):
    """Per voiced frame and band: dB of energy near the harmonics of ``f0`` over the energy between them."""
    import librosa

    power = np.abs(librosa.stft(np.asarray(audio, "float64"), n_fft=SPECTRUM, hop_length=hop)) ** 2
    frequencies = librosa.fft_frequencies(sr=rate, n_fft=SPECTRUM)
    rows = []
    for frame in np.flatnonzero(voiced[:power.shape[1]]):
        harmonic = frequencies / f0[frame]
        near = np.abs(harmonic - np.round(harmonic)) < 0.25
        row = []
        for low in BANDS:
            band = (frequencies >= max(low, 0.5 * f0[frame])) & (frequencies < low + 1000)
            row.append(10 * np.log10((power[band & near, frame].sum() + 1e-12)
                                     / (power[band & ~near, frame].sum() + 1e-12)))
        rows.append(row)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="a vocoder: run folder or .keras file")
    parser.add_argument("bench_json", help="the vocoder.json of bench/vocoder.py (its file lists)")
    parser.add_argument("--files", type=int, default=20, help="files of each set (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed of the vocoder (default 0)")
    arguments = parser.parse_args()

    from audiornn.resynthesis import griffin_lim, reference_audio
    from audiornn.runs import load_run_model
    from audiornn.vocoder import load_features, vocode

    model = load_run_model(arguments.model)
    rate, config = model.audio_config.sample_rate, model.feature_config
    hop = config.hop
    bench = json.loads(Path(arguments.bench_json).read_text())
    results = {}
    for name, key in SETS.items():
        files = bench[key]["files"][:arguments.files]
        frames = [load_features(path, model) for path in files]
        vocoded = vocode(model, frames, seed=arguments.seed, progress=False)
        kinds = ("original", "vocoder", "griffin_lim")
        pitch = {kind: {"lost": [], "added": [], "cents": []} for kind in kinds[1:]}
        periodic = {kind: [] for kind in kinds}
        for path, own, audio in zip(files, frames, vocoded):
            reference = reference_audio(path, model)
            rebuilt = griffin_lim(own, rate, config, seed=arguments.seed)
            length = min(len(reference), len(audio), len(rebuilt))
            sounds = dict(zip(kinds, (reference[:length], np.asarray(audio)[:length], rebuilt[:length])))
            f0, voiced, probability = _pitch(sounds["original"], rate, hop)
            for kind, sound in sounds.items():
                periodic[kind] += _periodicity(sound, f0, voiced & (probability > 0.5), rate, hop)
                if kind == "original":
                    continue
                own_f0, own_voiced, _ = _pitch(sound, rate, hop)
                both = voiced & own_voiced
                pitch[kind]["lost"].append((voiced & ~own_voiced).sum() / max(1, voiced.sum()))
                pitch[kind]["added"].append((~voiced & own_voiced).sum() / max(1, (~voiced).sum()))
                pitch[kind]["cents"] += list(1200 * np.abs(np.log2(own_f0[both] / f0[both])))
        results[name] = {"files": len(files), "pitch": {}, "periodicity": {}}
        print(f"\n{name} ({len(files)} files)")
        print(f"{'pitch':<14}{'voiced lost':>12}{'unvoiced voiced':>17}{'F0 median':>11}{'within 50 c':>13}"
              f"{'over 200 c':>12}")
        for kind, values in pitch.items():
            cents = np.asarray(values["cents"])
            row = {"voiced_lost": float(np.mean(values["lost"])), "unvoiced_voiced": float(np.mean(values["added"])),
                   "median_cents": float(np.median(cents)), "within_50_cents": float(np.mean(cents < 50)),
                   "over_200_cents": float(np.mean(cents > 200)), "frames": int(cents.size)}
            results[name]["pitch"][kind] = row
            print(f"{kind:<14}{row['voiced_lost']:>12.1%}{row['unvoiced_voiced']:>17.1%}{row['median_cents']:>9.0f} c"
                  f"{row['within_50_cents']:>13.1%}{row['over_200_cents']:>12.1%}")
        print(f"{'harmonics dB':<14}" + "".join(f"{f'{low}-{low + 1000} Hz':>13}" for low in BANDS))
        for kind, rows in periodic.items():
            medians = np.median(np.asarray(rows), axis=0)
            results[name]["periodicity"][kind] = [float(value) for value in medians]
            print(f"{kind:<14}" + "".join(f"{value:>13.1f}" for value in medians))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
