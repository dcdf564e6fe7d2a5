"""How well a dataset build tells one recording in two files from two recordings of one length.

Usage: python bench/same_recordings.py [--rate 16000]

A build skips a file that is the same recording as one read already, in another format, rate or level
(``audiornn.dataset.SAME_RECORDING_CORRELATION`` of the fingerprints ``_Recordings`` makes). This takes
the prompts of Asterisk's English and Spanish Allison (leaving out silences, beeps, tones and the
conference chimes) that are there as both ``.wav`` (8 kHz) and ``.g722`` (16 kHz), prepares each as a
build at ``--rate`` does, and prints the lowest similarities of a prompt's two files (one recording) and
the highest of two different ``.wav`` prompts whose lengths agree within ``SAME_LENGTH`` (the only pairs
a build compares). Prompts that are one recording under two names head that second list.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SOUNDS  # noqa: E402

LEFT_OUT = ("silence", "beep", "2tone", "confbridge-join", "confbridge-leave")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=16000)
    rate = parser.parse_args().rate
    from audiornn import AudioConfig
    from audiornn.audio_io import SAME_LENGTH, prepare_audio, read_audio
    from audiornn.dataset import SAME_RECORDING_CORRELATION, _Recordings

    config = AudioConfig(sample_rate=rate)
    recordings = _Recordings(config)

    def fingerprint(path):
        classes, _ = prepare_audio(*read_audio(path), audio_config=config, source=str(path))
        return classes.size, recordings.fingerprint(classes)

    wavs = sorted(path for voice in ("en_US_f_Allison", "es_MX_f_Allison")
                  for path in (SOUNDS / voice).rglob("*.wav")
                  if path.with_suffix(".g722").exists() and not any(part in str(path) for part in LEFT_OUT))
    wav = [fingerprint(path) for path in wavs]
    g722 = [fingerprint(path.with_suffix(".g722")) for path in wavs]
    same = sorted((recordings.similarity(one[1], other[1]), path.relative_to(SOUNDS))
                  for one, other, path in zip(wav, g722, wavs) if one[1] is not None and other[1] is not None)
    order = np.argsort([size for size, _ in wav])
    different = []
    for place, first in enumerate(order):
        for second in order[place + 1:]:
            if wav[second][0] > wav[first][0] / (1 - SAME_LENGTH):
                break
            if wav[first][1] is not None and wav[second][1] is not None:
                different.append((recordings.similarity(wav[first][1], wav[second][1]),
                                  wavs[first].relative_to(SOUNDS), wavs[second].relative_to(SOUNDS)))
    different.sort(reverse=True)
    print(f"{len(wavs)} prompts at {rate} Hz; a build calls two files one recording from "
          f"{SAME_RECORDING_CORRELATION} up")
    print(f"one recording (.wav and .g722), the lowest of {len(same)}:")
    for value, path in same[:5]:
        print(f"  {value:.4f}  {path}")
    print(f"two .wav prompts of one length, the highest of {len(different)} pairs:")
    for value, first, second in different[:12]:
        print(f"  {value:.4f}  {first}  {second}")


if __name__ == "__main__":
    main()
