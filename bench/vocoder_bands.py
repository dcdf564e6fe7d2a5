"""Where a 16 kHz vocoder's copy-synthesis loses to Griffin-Lim: below 4 kHz or above, and the ceiling of its classes.

Usage: python bench/vocoder_bands.py [--model vocoder-16k] [--work /tmp/audiornn-shipped] [--files 20]
                                     [--figure bench/vocoder_bands.png]

On the files ``bench/shipped_models.py score`` scores (``--files`` of the model's held-out files, from its
dataset in ``WORK/MODEL-dataset``, and of the voice it never heard), the mean of each row's PESQ wide band:

- the vocoder's copy and Griffin-Lim's from the same frames, as ``score`` gives them;
- the ceiling of the model's classes: the recording pre-emphasised, μ-law quantised to its classes and
  de-emphasised, as the model's targets are, with no model at all;
- each copy's band below 4 kHz with the recording's band above, and the other way round (12th-order
  Butterworth both ways, zero phase): which band its loss lies in;
- PESQ narrow band of each copy and of the recording at 8 kHz;
- the level of each copy's band above 4 kHz against the recording's, in dB;
- on the unseen voice, the 8 kHz vocoder (which never heard it either) from its own frames, narrow band,
  beside its Griffin-Lim.

The figure: for each set, the average spectrum of the recordings, the vocoder's copies and Griffin-Lim's (Welch,
1,024 samples, the power averaged over the files), and each file's PESQ with the vocoder's band below 4 kHz
(the original's above) against Griffin-Lim's the same way.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import quiet_tensorflow  # noqa: E402
from shipped_models import scored_files  # noqa: E402

quiet_tensorflow()

SPLIT_HZ = 4000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="vocoder-16k", help="a shipped 16 kHz vocoder (default %(default)s)")
    parser.add_argument("--work", default="/tmp/audiornn-shipped", help="holds MODEL-dataset (default %(default)s)")
    parser.add_argument("--files", type=int, default=20, help="files of each set (default %(default)s)")
    parser.add_argument("--figure", default="bench/vocoder_bands.png", help="(default %(default)s)")
    arguments = parser.parse_args()

    import scipy.signal
    from pesq import pesq

    import audiornn
    from audiornn.dsp import deemphasis, mu_law_decode, mu_law_encode, preemphasis, resample
    from audiornn.resynthesis import griffin_lim, reference_audio
    from audiornn.vocoder import load_features, vocode

    model, narrow = audiornn.load_model(arguments.model), audiornn.load_model("vocoder")
    audio_config = model.audio_config
    rate = audio_config.sample_rate
    if rate != 16000:
        sys.exit(f"{arguments.model} works at {rate} Hz; this benchmark splits 16 kHz audio at {SPLIT_HZ} Hz")
    low, high = (scipy.signal.butter(12, SPLIT_HZ, kind, fs=rate, output="sos") for kind in ("low", "high"))

    def score(reference, copy, at=rate):
        length = min(reference.size, copy.size)
        return float(pesq(at, reference[:length], copy[:length], "wb" if at == 16000 else "nb"))

    def classes_only(reference):  # the model's targets: pre-emphasised, at a peak of 1, in mu + 1 classes
        emphasised = preemphasis(reference, coefficient=audio_config.preemphasis)[0]
        peak = float(np.max(np.abs(emphasised)))
        quantised = mu_law_decode(mu_law_encode(emphasised / peak, mu=audio_config.mu), mu=audio_config.mu) * peak
        return deemphasis(quantised, coefficient=audio_config.preemphasis)[0].astype(np.float64)

    def at_8k(audio):
        return resample(audio.astype(np.float32), source_rate=rate, target_rate=8000).astype(np.float64)

    from audiornn.evaluation import save_figure
    from matplotlib.figure import Figure

    sets = scored_files(arguments.model, Path(arguments.work), arguments.files)
    figure = Figure(figsize=(13, 4.2 * len(sets)), layout="constrained")
    panels = figure.subplots(len(sets), 2, squeeze=False)
    for (name, files), (spectra, scatter) in zip(sets.items(), panels):
        start = time.time()
        copies = vocode(model, files, seed=0, progress=False)
        rows, power = [], {}
        for path, copy in zip(files, copies):
            reference = reference_audio(path, model).astype(np.float64)
            rebuilt = griffin_lim(load_features(path, model), rate, model.feature_config, seed=0).astype(np.float64)
            length = min(reference.size, len(copy), rebuilt.size)
            reference, copy, rebuilt = reference[:length], np.asarray(copy, np.float64)[:length], rebuilt[:length]
            bands = {key: (scipy.signal.sosfiltfilt(low, audio), scipy.signal.sosfiltfilt(high, audio))
                     for key, audio in (("original", reference), ("vocoder", copy), ("Griffin-Lim", rebuilt))}
            for key, audio in (("original", reference), ("vocoder", copy), ("Griffin-Lim", rebuilt)):
                frequencies, density = scipy.signal.welch(audio, fs=rate, nperseg=1024)
                power[key] = power.get(key, 0) + density / len(files)
            row = {"classes only (no model)": score(reference, classes_only(reference))}
            for method in ("vocoder", "Griffin-Lim"):
                own, original = bands[method], bands["original"]
                row[f"{method}"] = score(reference, copy if method == "vocoder" else rebuilt)
                row[f"{method} below 4 kHz, original above"] = score(reference, own[0] + original[1])
                row[f"original below 4 kHz, {method} above"] = score(reference, original[0] + own[1])
                row[f"{method}, narrow band at 8 kHz"] = score(
                    at_8k(reference), at_8k(copy if method == "vocoder" else rebuilt), 8000)
                row[f"{method} above 4 kHz, dB against the original"] = (
                    10 * np.log10(np.sum(own[1] ** 2) / max(np.sum(original[1] ** 2), 1e-12)))
            rows.append(row)
        if name == "unseen voice":  # the 8 kHz vocoder never heard this voice either
            for row, path, copy in zip(rows, files, vocode(narrow, files, seed=0, progress=False)):
                reference = reference_audio(path, narrow).astype(np.float64)
                rebuilt = griffin_lim(load_features(path, narrow), 8000, narrow.feature_config, seed=0)
                row["8 kHz vocoder from its frames, narrow band"] = score(reference, np.asarray(copy, np.float64),
                                                                          8000)
                row["its Griffin-Lim, narrow band"] = score(reference, rebuilt.astype(np.float64), 8000)
        print(f"{arguments.model}, {name}: {len(files)} files ({time.time() - start:.0f} s)")
        for key in rows[0]:
            print(f"  {key:<48}{np.mean([row[key] for row in rows]):8.2f}")
        sys.stdout.flush()
        for key, density in power.items():
            spectra.plot(frequencies, 10 * np.log10(density + 1e-20), label=key)
        spectra.axvline(SPLIT_HZ, color="grey", linestyle=":")
        spectra.set(title=f"{name}: average spectrum of {len(files)} files", xlabel="Hz", ylabel="dB")
        spectra.legend()
        ours = [row["vocoder below 4 kHz, original above"] for row in rows]
        theirs = [row["Griffin-Lim below 4 kHz, original above"] for row in rows]
        scatter.plot(theirs, ours, "o")
        scatter.plot([1, 4.5], [1, 4.5], color="grey", linestyle=":")
        scatter.set(title=f"{name}: PESQ a file, below 4 kHz made (above: the original's)",
                    xlabel="Griffin-Lim", ylabel=arguments.model, xlim=(1, 4.5), ylim=(1, 4.5))
    print(f"wrote {save_figure(figure, arguments.figure)}")


if __name__ == "__main__":
    main()
