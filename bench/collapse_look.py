"""Why a stream falls silent: the model's next-sample distributions as it generates, beside real audio's.

Usage: python bench/collapse_look.py [--model music] [--seed 2] [--seconds 3] [--real FILE] [--figure PATH]

Generates one stream (temperature 1) and reads every step's distribution
back from the sequence model on the stream's own classes (the step path
equals it): per 50 ms, the stream's level, the entropy of the distribution
in bits, the probability it gives the classes within two μ-law steps of
silence, and the probability of the class that was drawn. The same figures
for real audio (``--real``: a recording of the model's material, by default
the first validation file of the dev music) show what the model does where
the audio really is quiet. ``--figure`` draws the stream's spectrogram above
the four curves, real audio beside it.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import quiet_tensorflow  # noqa: E402

quiet_tensorflow()

HOP_SECONDS = 0.05
QUIET = 1e-3  # RMS of a 50 ms stretch below this (-60 dB under full scale) counts as quiet


def step_figures(model, classes):
    """Per step: entropy (bits), probability within two steps of silence, probability of the next class."""
    from keras import ops

    from audiornn.audio_io import decode_classes

    logits = np.asarray(ops.convert_to_numpy(model(np.asarray(classes, np.int32)[None, :-1])), np.float64)[0]
    logits -= logits.max(axis=1, keepdims=True)
    probabilities = np.exp(logits)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    entropy = -(probabilities * np.log2(np.maximum(probabilities, 1e-30))).sum(axis=1)
    near = np.abs(np.arange(probabilities.shape[1]) - model.silence) <= 2
    silence = probabilities[:, near].sum(axis=1)
    drawn = probabilities[np.arange(len(classes) - 1), np.asarray(classes[1:], np.int64)]
    audio = decode_classes(np.asarray(classes, np.uint8), model.audio_config)[0][1:]
    return audio, entropy, silence, drawn


def per_hop(values, hop, rms=False):
    count = len(values) // hop
    parts = np.asarray(values[:count * hop]).reshape(count, hop)
    return np.sqrt(np.mean(parts ** 2, axis=1)) if rms else parts.mean(axis=1)


def describe(name, rate, audio, entropy, silence, drawn):
    hop = int(HOP_SECONDS * rate)
    level, bits = per_hop(audio, hop, rms=True), per_hop(entropy, hop)
    quiet = level < QUIET
    print(f"{name}: level (RMS) median {np.median(level):.4f}; entropy {np.mean(entropy):.2f} bits on average, "
          f"{np.mean(bits[quiet]) if quiet.any() else float('nan'):.2f} in its quiet 50 ms stretches (below -60 dB) "
          f"({quiet.mean():.0%} of them); near silence {np.mean(silence):.3f}; drawn class's probability "
          f"{np.mean(drawn):.3f}")
    return level, bits, per_hop(silence, hop), per_hop(drawn, hop)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="music", help="a shipped model's name, .keras file or run (default music)")
    parser.add_argument("--seed", type=int, default=2, help="sampling seed (default 2: falls silent on music)")
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds generated (default 3)")
    parser.add_argument("--real", help="real audio of the model's material (default: a dev music file)")
    parser.add_argument("--figure", help="write the picture here (.png)")
    arguments = parser.parse_args()

    from audiornn import load_model
    from audiornn.audio_io import prepare_audio, read_audio
    from common import dev_music_files

    model = load_model(arguments.model)
    rate = model.audio_config.sample_rate
    from audiornn.stepping import SampleStream

    stream = SampleStream(model, count=1, seed=arguments.seed)
    generated = np.concatenate([[model.silence], stream.sample(int(arguments.seconds * rate))[0]])
    real_path = arguments.real or str(dev_music_files()[0])
    audio, source_rate = read_audio(real_path)
    real = prepare_audio(audio, source_rate, audio_config=model.audio_config, source=real_path)[0]
    real = real[:int(arguments.seconds * rate) + 1]
    rows = {f"generated, seed {arguments.seed}": describe(f"generated (seed {arguments.seed})", rate,
                                                          *step_figures(model, generated)),
            f"real: {Path(real_path).name}": describe(f"real ({Path(real_path).name})", rate,
                                                      *step_figures(model, real))}
    if arguments.figure:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(4, 2, figsize=(12, 8), sharex=True, sharey="row")
        for column, (name, (level, bits, silence, drawn)) in enumerate(rows.items()):
            time = np.arange(level.size) * HOP_SECONDS
            for row, (values, label) in enumerate(((20 * np.log10(np.maximum(level, 1e-5)), "level dB"),
                                                   (bits, "entropy, bits"), (silence, "p(near silence)"),
                                                   (drawn, "p(drawn class)"))):
                axes[row, column].plot(time, values)
                axes[row, column].set_ylabel(label)
            axes[0, column].set_title(name)
            axes[-1, column].set_xlabel("seconds")
        figure.tight_layout()
        figure.savefig(arguments.figure, dpi=80)
        print(f"figure: {arguments.figure}")


if __name__ == "__main__":
    main()
