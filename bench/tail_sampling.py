"""LPCNet's sampling tail on the shipped generative models: deeper pauses, or streams that get stuck?

Usage: python bench/tail_sampling.py [--models speech music] [--tails 0 0.001 0.002] [--streams 8]
                                     [--seconds 20] [--work /tmp/w/health]

``generate --tail P`` takes P off every class's probability before drawing (the vocoder's default is 0.001;
generate's is 0). The shipped speech model's pauses are shallower than real speech's (its silence is drawn from
a distribution whose improbable classes are noise). For each model and tail: ``--streams`` streams of
``--seconds`` (seeds 1 to N, drawn together), their health against the training audio
(:func:`audiornn.health.health`: streams stuck, loud bursts, few held tones, windows at the training level, held
partials) and the depth of their pauses: the 5th and 10th percentiles of 50 ms window levels in dB of full scale,
beside the training audio's (the dev datasets of ``bench/health.py``, built or reused under ``--work``).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu_flags, quiet_tensorflow  # noqa: E402
from health import DATASETS  # noqa: E402

quiet_tensorflow()

PAUSE_WINDOW_SECONDS = 0.05
TRAINING_SECONDS = 600.0  # of the training audio, for its pause depth


def pause_depth(pieces, rate):
    """The 5th and 10th percentiles of 50 ms window levels (RMS) of ``pieces``, in dB of full scale."""
    from audiornn.health import window_levels

    levels = np.concatenate([window_levels(piece, rate, PAUSE_WINDOW_SECONDS, PAUSE_WINDOW_SECONDS)
                             for piece in pieces])
    return tuple(20 * np.log10(max(float(np.percentile(levels, share)), 1e-7)) for share in (5, 10))


def training_pieces(dataset):
    """Up to ``TRAINING_SECONDS`` of the dataset's training audio, a piece a file, decoded as generation is."""
    from audiornn.audio_io import decode_classes
    from audiornn.scoring import dataset_pieces

    pieces, left = [], int(TRAINING_SECONDS * dataset.audio_config.sample_rate)
    for piece in dataset_pieces(dataset, "train"):
        if left <= 0:
            break
        pieces.append(decode_classes(np.asarray(piece[:left]), dataset.audio_config)[0])
        left -= pieces[-1].size
    return pieces


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["speech", "music"], choices=sorted(DATASETS))
    parser.add_argument("--tails", nargs="+", type=float, default=[0.0, 0.001, 0.002])
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--work", default="/tmp/w/health", help="where the dev datasets are built (or reused)")
    arguments = parser.parse_args()

    import audiornn
    from audiornn.health import LevelReference, health, summarise

    name, flags = cpu_flags()
    print(f"{name}; {' '.join(sorted(flags & {'avx2', 'avx512f', 'avx512_bf16', 'amx_bf16'}))}")
    print(f"{'model':<8}{'tail':>7}{'stuck':>7}{'bursts':>8}{'few tones':>10}{'in range':>10}{'held':>7}"
          f"{'median':>8}{'p5 dB':>8}{'p10 dB':>8}{'seconds':>9}")
    for material in arguments.models:
        build, folder = DATASETS[material]
        dataset = build(Path(arguments.work) / folder)
        reference = LevelReference.from_dataset(dataset)
        rate = dataset.audio_config.sample_rate
        real = pause_depth(training_pieces(dataset), rate)
        print(f"{material:<8}{'real':>7}{'':>7}{'':>8}{'':>10}{'':>10}{reference.held_partials:>7.0%}{1.0:>8.2f}"
              f"{real[0]:>8.1f}{real[1]:>8.1f}")
        model = audiornn.load_model(material)
        for tail in arguments.tails:
            started = time.perf_counter()
            audio = np.asarray(audiornn.generate(model, seconds=arguments.seconds, count=arguments.streams, seed=1,
                                                 tail=tail, progress=False))
            reports = [health(stream, rate, reference) for stream in audio]
            figures = summarise(reports, reference)
            median = float(np.median([report["level_median"] for report in reports])) / reference.p50
            depth = pause_depth(list(audio), rate)
            print(f"{material:<8}{tail:>7g}{figures['stuck']:>7}{figures['burst']:>8}{figures['few_tones']:>10}"
                  f"{figures['in_range']:>10.0%}{figures['held_partials']:>7.0%}{median:>8.2f}{depth[0]:>8.1f}"
                  f"{depth[1]:>8.1f}{time.perf_counter() - started:>9.0f}", flush=True)


if __name__ == "__main__":
    main()
