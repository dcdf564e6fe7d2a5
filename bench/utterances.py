"""A text-to-speech session: one process vocoding utterances of many lengths, one after another.

Usage: python bench/utterances.py [--model vocoder-16k] [--files 8] [--seed 0] [--refine N] [--unfolded]

A front end hands a vocoder one utterance at a time, each of its own length.
This loads ``--model`` (timed), makes the frames of ``--files`` prompts of the
voice it never heard (its format's frames, at their own level, as a front end
emits them; made before the timing) and vocodes them one after another in the
same process, as ``audiornn.vocode`` takes an array of frames: for each, its
length, the wall time from call to audio and the real-time factor (output
seconds per second). The first call compiles; the rest show whether each new
length compiles again. ``--unfolded``: ``fold=False`` (one stream an input, as
inputs under two fold segments are anyway). ``--refine``: the passes
(default: the library's).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import instructions_line, pick, quiet_tensorflow, unseen_voice  # noqa: E402

quiet_tensorflow()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="vocoder-16k", help="a vocoder (default vocoder-16k)")
    parser.add_argument("--files", type=int, default=8, help="utterances vocoded (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="which files are picked (default 0)")
    parser.add_argument("--refine", type=int, default=None, help="refining passes (default: the library's)")
    parser.add_argument("--unfolded", action="store_true", help="fold=False")
    arguments = parser.parse_args()

    started = time.perf_counter()
    import audiornn
    from audiornn.audio_io import read_audio
    from audiornn.dsp import to_mono
    from audiornn.features import audio_to_features
    from audiornn import backend
    imported = time.perf_counter()
    model = audiornn.load_model(arguments.model)
    loaded = time.perf_counter()
    print(f"{backend.name()}; {instructions_line()}; import {imported - started:.1f} s, load {loaded - imported:.1f} s",
          flush=True)
    name, files = unseen_voice(model)
    rate, config = model.audio_config.sample_rate, model.feature_config
    utterances = []
    for path in pick(files, arguments.files, arguments.seed):
        audio, file_rate = read_audio(path)
        utterances.append((path.name, audio_to_features(to_mono(audio), file_rate, config, own_level=True)))
    options = {"fold": not arguments.unfolded, "progress": False}
    if arguments.refine is not None:
        options["refine"] = arguments.refine
    total_seconds = total_wall = 0.0
    print(f"{'utterance':28s} {'frames':>6s} {'seconds':>7s} {'wall s':>7s} {'x real time':>11s}")
    for index, (file_name, frames) in enumerate(utterances):
        began = time.perf_counter()
        audio = audiornn.vocode(model, frames, **options)
        wall = time.perf_counter() - began
        seconds = np.shape(audio)[-1] / rate
        if index:
            total_seconds, total_wall = total_seconds + seconds, total_wall + wall
        print(f"{file_name:28s} {frames.shape[0]:6d} {seconds:7.2f} {wall:7.2f} {seconds / wall:11.2f}"
              f"{'  (first: compiles)' if not index else ''}", flush=True)
    if total_wall:
        print(f"after the first: {total_seconds:.1f} s of audio in {total_wall:.1f} s, "
              f"{total_seconds / total_wall:.2f}x real time ({name}'s prompts)")


if __name__ == "__main__":
    main()
