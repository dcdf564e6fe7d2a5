"""How much of the time a music model's streams are duller than its training music.

Usage: python bench/music_brightness.py MODEL [MODEL ...] [--work /tmp/w/health]
       (MODEL: a shipped name, a .keras file or a run folder)

The health measures (``audiornn.health``) see silence, a runaway and a sound
that stops changing; a quiet murmur of bass partials that keeps moving passes
them all. This counts it: the share of 1 s blocks (louder than the collapse
level) whose energy above 1 kHz, against their whole energy, falls below the
training music's 5th percentile, over 32 streams of 30 s at temperature 1
(one call, seed 1), and the streams that spend more than half their blocks
there. The training music is the shipped music model's (the dev music, trimmed).
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import quiet_tensorflow, shipped_music_dataset  # noqa: E402

quiet_tensorflow()

SPLIT_HZ, BLOCK_SECONDS, STREAMS, SECONDS = 1000.0, 1.0, 32, 30.0


def brightness(audio, rate, floor):
    """Each ``BLOCK_SECONDS`` block's energy above ``SPLIT_HZ`` against its whole energy, in dB, and whether the
    block is louder than ``floor`` (RMS)."""
    import numpy as np
    import scipy.signal

    size = int(BLOCK_SECONDS * rate)
    blocks = np.asarray(audio, dtype=np.float64)[:len(audio) // size * size].reshape(-1, size)
    frequencies, power = scipy.signal.welch(blocks, fs=rate, nperseg=1024, axis=-1)
    share = power[:, frequencies >= SPLIT_HZ].sum(axis=1) / np.maximum(power.sum(axis=1), 1e-20)
    return 10 * np.log10(np.maximum(share, 1e-12)), np.sqrt(np.mean(blocks ** 2, axis=1)) > floor


def main():
    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--work", default="/tmp/w/health", help="where the trimmed dev music's dataset is built "
                                                                "(or reused)")
    arguments = parser.parse_args()

    import audiornn
    from audiornn.audio_io import decode_classes
    from audiornn.health import COLLAPSE_FACTOR, LevelReference

    dataset = shipped_music_dataset(Path(arguments.work) / "music-trimmed")
    rate, floor = dataset.audio_config.sample_rate, COLLAPSE_FACTOR * LevelReference.from_dataset(dataset).p10
    array = dataset.array("train")
    real = [brightness(decode_classes(np.asarray(array[segment.start:segment.start + segment.length]),
                                      dataset.audio_config)[0], rate, floor) for segment in dataset.segments("train")]
    shares = np.concatenate([share[loud] for share, loud in real])
    dull = np.percentile(shares, 5)
    print(f"training music: energy above {SPLIT_HZ:g} Hz in 1 s blocks, median {np.median(shares):.1f} dB of the "
          f"whole, 5th percentile {dull:.1f} dB")
    for name in arguments.models:
        audio = np.asarray(audiornn.generate(audiornn.load_model(name), seconds=SECONDS, count=STREAMS, seed=1,
                                             progress=False))
        per_stream = []
        for stream in audio:
            share, loud = brightness(stream, rate, floor)
            per_stream.append(np.mean((share < dull) & loud))
        per_stream = np.array(per_stream)
        print(f"{name}: blocks duller than the music's 5th percentile {np.mean(per_stream):.0%}; streams dull more "
              f"than half the time {np.sum(per_stream > 0.5)} of {STREAMS}", flush=True)


if __name__ == "__main__":
    main()
