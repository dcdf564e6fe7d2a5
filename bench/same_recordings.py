"""How well a dataset build tells one recording under one name in two files from two recordings of that name.

Usage: python bench/same_recordings.py [--rate 16000]

A build skips a file that is the same recording as one of its name read already, in another format, rate or
level (``audiornn.dataset.SAME_RECORDING_CORRELATION`` of the fingerprints ``_Recordings`` makes). This takes
the prompts of Asterisk's English and Spanish Allison (leaving out silences, beeps, tones and the conference
chimes), prepares each as a build at ``--rate`` does, and prints the lowest similarities of one recording in
two files (a prompt's ``.wav`` and ``.g722``, the ``.g722`` also shifted by 30 ms of silence in front, as an
export padded) and the highest of two recordings under one name (an English prompt and the Spanish, Russian,
Italian or Canadian French one of its name, whose lengths agree within ``SAME_LENGTH``: the only pairs a build
compares; a few are one recording, the prompts the languages share).
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
    parser.add_argument("--other-names", action="store_true",
                        help="instead: the highest similarities of two files of other names (and about one length) "
                             "among the .wav prompts of three voices, each with whether a build compares them")
    arguments = parser.parse_args()
    rate = arguments.rate
    from audiornn import AudioConfig
    from audiornn.audio_io import SAME_LENGTH, prepare_audio, read_audio
    from audiornn.dataset import SAME_RECORDING_CORRELATION, _Recordings
    from audiornn.errors import AudioFileError

    config = AudioConfig(sample_rate=rate)
    recordings = _Recordings(config)
    if arguments.other_names:
        return other_names(config, recordings, SAME_LENGTH, prepare_audio, read_audio, AudioFileError)

    def fingerprint(path, pad=0.0):
        audio, source_rate = read_audio(path)
        audio = np.concatenate([np.zeros((int(pad * source_rate), 1), np.float32), audio])
        classes, _ = prepare_audio(audio, source_rate, audio_config=config, source=str(path))
        return classes.size, recordings.fingerprint(classes)

    def prompts(voice):
        return {path.relative_to(SOUNDS / voice): path for path in (SOUNDS / voice).rglob("*.wav")
                if path.with_suffix(".g722").exists() and not any(part in str(path) for part in LEFT_OUT)}

    english = prompts("en_US_f_Allison")
    others = {voice: {path.relative_to(SOUNDS / voice).with_suffix(".wav"): path
                      for path in (SOUNDS / voice).rglob("*.g722") if not any(part in str(path) for part in LEFT_OUT)}
              for voice in ("es_MX_f_Allison", "ru_RU_f_IvrvoiceRU", "it_IT_m_Carlo", "fr_CA_f_June")}
    same, shifted, other = [], [], []
    for name, path in sorted(english.items()):
        wav = fingerprint(path)
        for pad, rows in ((0.0, same), (0.03, shifted)):
            g722 = fingerprint(path.with_suffix(".g722"), pad)
            if wav[1] is not None and g722[1] is not None:
                rows.append((recordings.similarity(wav[1], g722[1]), name))
        for voice, files in others.items():
            if name in files:
                try:
                    theirs = fingerprint(files[name])
                except AudioFileError:  # (an empty prompt)
                    continue
                if theirs[1] is not None and abs(theirs[0] - wav[0]) <= SAME_LENGTH * max(theirs[0], wav[0]):
                    other.append((recordings.similarity(wav[1], theirs[1]), f"{voice}/{name}"))
    print(f"{len(english)} English prompts at {rate} Hz; a build calls two files one recording from "
          f"{SAME_RECORDING_CORRELATION} up")
    for title, rows in (("one recording (.wav and .g722)", same), ("the .g722 30 ms later", shifted)):
        rows.sort()
        print(f"{title}, the lowest of {len(rows)}: " + ", ".join(f"{value:.3f} {name}" for value, name in rows[:5]))
    other.sort(reverse=True)
    print(f"An English prompt and another voice's of its name and length, the highest of {len(other)} pairs:")
    for value, name in other[:12]:
        print(f"  {value:.3f}  {name}")


def other_names(config, recordings, same_length, prepare_audio, read_audio, error):
    """Every pair of files of other names within ``same_length`` of each other's length, among the prompts of
    three voices: the highest fingerprint similarities, each with its loudness contours' correlation (a build
    compares a pair only from CONTOUR_CANDIDATE: _Recordings._of_other_names)."""
    from audiornn.dataset import CONTOUR_CANDIDATE, OTHER_NAME_CORRELATION

    files = []
    for voice in ("en_US_f_Allison", "es_MX_f_Allison", "ru_RU_f_IvrvoiceRU"):
        for path in sorted((SOUNDS / voice).rglob("*.wav")):
            if any(part in str(path) for part in LEFT_OUT):
                continue
            try:
                audio, source_rate = read_audio(path)
                classes, _ = prepare_audio(audio, source_rate, audio_config=config, source=str(path))
            except error:  # (an empty prompt)
                continue
            fingerprint = recordings.fingerprint(classes)
            if fingerprint is not None:
                files.append((f"{voice}/{path.relative_to(SOUNDS / voice)}", classes.size, fingerprint,
                              recordings.contour(fingerprint)))
    pairs = []
    for index, (name, size, fingerprint, contour) in enumerate(files):
        for other, theirs, print_, contour_ in files[:index]:
            if Path(other).stem != Path(name).stem and abs(theirs - size) <= same_length * max(theirs, size):
                pairs.append((recordings.similarity(fingerprint, print_), float(contour @ contour_), name, other))
    pairs.sort(reverse=True)
    print(f"{len(files)} prompts of three voices at {config.sample_rate} Hz, {len(pairs)} pairs of other names "
          f"within {same_length:.0%} of one length; a build calls a pair one recording from "
          f"{OTHER_NAME_CORRELATION}, where their loudness contours correlate from {CONTOUR_CANDIDATE}:")
    for similarity, contour, name, other in pairs[:20]:
        print(f"  {similarity:.3f} (contours {contour:.2f})  {name}  {other}")


if __name__ == "__main__":
    main()
