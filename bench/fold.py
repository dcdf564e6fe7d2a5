"""Folded vocoding: which segment, warm-up and fade keep copy-synthesis as good as one stream, and how fast?

Usage: python bench/fold.py [--model vocoder] [--files 20] [--seconds 30] [--seeds 1 2]
                            [--variant WARMUP,FADE]... [--streams 32] [--segment-seconds 3] [--refine 0 32]

Joins ``--files`` files of the unseen voice (never in the shipped vocoders'
training: the Russian prompts for an 8 kHz model, June's G.722 prompts for a
16 kHz one) into inputs of ``--seconds`` each, and vocodes them
(copy-synthesis: their own frames) unfolded, one stream per input, and folded
(``audiornn.vocode(..., fold=True)``) with each ``--variant`` of warm-up and
fade seconds. For each: PESQ (narrow band at 8 kHz, wide at 16) and STOI
against the joined recordings, each input's mean over the ``--seeds``, and the
speed of the second of two runs (the first compiles): output seconds per
second of wall time. And the seams' level jumps: at each seam where the
recording is loud on both sides (over -30 dB), how much the copy's level over
the 40 ms after the seam differs from its level over 30 to 10 ms before it,
less the recording's own change there ("jump dB": their standard deviation;
"over 6 dB": the share that large), beside the same at 600 random points of
each copy ("anywhere"): a segment that starts too quiet or too loud jumps. Each row for each ``--refine`` (passes bringing
the audio to its frames: ``vocode(..., refine=N)``; default the library's).
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu_flags, pick, quiet_tensorflow, unseen_voice  # noqa: E402

quiet_tensorflow()


def joined_inputs(model, files, seconds, folder):
    """The recordings read at the model's rate, joined end to end and cut into inputs of ``seconds`` (the
    rest dropped): the written paths."""
    import soundfile

    from audiornn.audio_io import read_audio
    from audiornn.dsp import resample, to_mono

    rate = model.audio_config.sample_rate
    audio = np.concatenate([resample(to_mono(read_audio(path)[0]), source_rate=read_audio(path)[1],
                                     target_rate=rate) for path in files])
    size = int(seconds * rate)
    paths = []
    for index in range(audio.size // size):
        paths.append(Path(folder) / f"joined_{index + 1}.wav")
        soundfile.write(paths[-1], audio[index * size:(index + 1) * size], rate, subtype="PCM_16")
    return paths


LOUD_DB = -30.0  # a seam is judged where the recording is this loud on both sides


def jumps(reference, copy, points, rate):
    """At each of ``points`` (sample indices) where ``reference`` is loud on both sides: the copy's change of level
    across it (the 40 ms after against 30 to 10 ms before, dB) less the reference's."""
    def level(audio, start, stop):
        return 20 * np.log10(np.sqrt(np.mean(np.square(audio[start:stop], dtype=np.float64))) + 1e-9)

    before, after = (int(0.03 * rate), int(0.01 * rate)), int(0.04 * rate)
    found = []
    for point in points:
        if point - before[0] < 0 or point + after > min(reference.size, copy.size):
            continue
        was, now = level(reference, point - before[0], point - before[1]), level(reference, point, point + after)
        if min(was, now) < LOUD_DB:
            continue
        found.append(level(copy, point, point + after) - level(copy, point - before[0], point - before[1])
                     - (now - was))
    return found


def measure(model, paths, fold, seeds, refine):
    """PESQ and STOI (means over inputs and seeds), the speed of the second run of each seed, and the level jumps
    at the seams and anywhere."""
    from audiornn import vocoder
    from audiornn.resynthesis import reference_audio, speech_scores

    rate, config = model.audio_config.sample_rate, model.feature_config
    references = [reference_audio(path, model) for path in paths]
    scores, speeds, seams, anywhere = [], [], [], []
    for seed in seeds:
        vocoder.vocode(model, paths[:1], seed=seed, progress=False, fold=fold, refine=refine)  # compiles
        started = time.perf_counter()
        audio = vocoder.vocode(model, paths, seed=seed, progress=False, fold=fold, refine=refine)
        speeds.append(sum(len(row) for row in audio) / rate / (time.perf_counter() - started))
        scores += [speech_scores(reference, row, rate, config) for reference, row in zip(references, audio)]
        for reference, row in zip(references, audio):
            plan = vocoder.Fold.plan(len(row) // config.hop, rate / config.hop, True)  # (the seams of a folded copy)
            seams += jumps(reference, row, [index * plan.segment * config.hop for index in range(1, plan.count)], rate)
            anywhere += jumps(reference, row, np.random.default_rng(seed).integers(0, len(row), 600), rate)
    return {"pesq": float(np.mean([row["pesq"] for row in scores])),
            "stoi": float(np.mean([row["stoi"] for row in scores if row["stoi"] is not None])),
            "realtime": float(np.mean(speeds)), "seams": np.asarray(seams), "anywhere": np.asarray(anywhere)}


def jump_columns(row):
    """The seams' jumps and those anywhere, as columns."""
    return "".join(f"{np.std(row[key]):>9.2f}{np.mean(np.abs(row[key]) > 6):>9.0%}" if row[key].size else f"{'-':>9}{'-':>9}"
                   for key in ("seams", "anywhere")) + f"{row['seams'].size:>7}"  # (no seams: inputs too short to fold)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="vocoder")
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--streams", type=int, default=None, help="segments per long input (default: the library's)")
    parser.add_argument("--segment-seconds", type=float, default=None,
                        help="the shortest segment (default: the library's FOLD_SEGMENT_SECONDS)")
    parser.add_argument("--without-unfolded", action="store_true", help="leave out the one-stream row")
    parser.add_argument("--variant", action="append", default=[], metavar="WARMUP,FADE",
                        help="warm-up and fade seconds of a folded run (default: the library's)")
    parser.add_argument("--refine", type=int, nargs="+", default=None, metavar="N",
                        help="passes bringing the audio to its frames, one row each (default: the library's)")
    arguments = parser.parse_args()
    import os

    import audiornn
    from audiornn import vocoder

    model = audiornn.load_model(arguments.model)
    voice, files = unseen_voice(model)
    files = pick(files, arguments.files)
    flags = cpu_flags()[1]
    print(f"cores {len(os.sched_getaffinity(0))}; CPU has " + ", ".join(
        flag for flag in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if flag in flags))
    if arguments.streams:
        vocoder.FOLD_STREAMS = arguments.streams
    if arguments.segment_seconds:
        vocoder.FOLD_SEGMENT_SECONDS = arguments.segment_seconds
    variants = [tuple(float(value) for value in text.split(",")) for text in arguments.variant] or \
        [(vocoder.FOLD_WARMUP_SECONDS, vocoder.FOLD_FADE_SECONDS)]
    with tempfile.TemporaryDirectory() as folder:
        paths = joined_inputs(model, files, arguments.seconds, folder)
        hop, rate = model.feature_config.hop, model.audio_config.sample_rate
        segments = vocoder.Fold.plan(int(arguments.seconds * rate) // hop, rate / hop, True).count
        print(f"{len(paths)} input(s) of {arguments.seconds:g} s from {len(files)} files of {voice}; "
              f"model {arguments.model}, seeds {arguments.seeds}, {segments} segments an input (segments of "
              f"{vocoder.FOLD_SEGMENT_SECONDS:g} s or more, at most {vocoder.FOLD_STREAMS})")
        print(f"{'':<34}{'':>7}{'':>8}{'':>13}{'seams':>18}{'anywhere':>18}")
        print(f"{'vocoding':<34}{'PESQ':>7}{'STOI':>8}{'x real time':>13}{'jump dB':>9}{'over 6':>9}"
              f"{'jump dB':>9}{'over 6':>9}{'seams':>7}")
        for refine in arguments.refine or [vocoder.REFINE_PASSES]:
            passes = f", refine {refine}" if arguments.refine else ""
            if not arguments.without_unfolded:  # (its "seams": where the folded copies' are)
                row = measure(model, paths, False, arguments.seeds, refine)
                print(f"{'one stream an input' + passes:<34}{row['pesq']:>7.3f}{row['stoi']:>8.3f}"
                      f"{row['realtime']:>13.1f}{jump_columns(row)}", flush=True)
            for warmup, fade in variants:
                vocoder.FOLD_WARMUP_SECONDS, vocoder.FOLD_FADE_SECONDS = warmup, fade
                name = f"folded, warm-up {warmup:g} s, fade {fade:g} s" + passes
                row = measure(model, paths, True, arguments.seeds, refine)
                print(f"{name:<34}{row['pesq']:>7.3f}{row['stoi']:>8.3f}{row['realtime']:>13.1f}"
                      f"{jump_columns(row)}", flush=True)


if __name__ == "__main__":
    main()
