"""A vocoder over half a minute, several seeds: does its level follow the original's from start to end?

Usage: python bench/vocoder_long_look.py [--model vocoder-16k] [--voice fr_CA_f_June] [--seconds 30]
                                         [--seeds 0 1 2] [--figure bench/vocoder_long.png] [--no-fold]
                                         [--limit-db 6]

Prompts of one Asterisk voice (the one the model never heard by default), drawn at random and joined with
0.3 s of silence between them into ``--seconds`` of speech, are vocoded from their frames as a user's
``vocode`` call does (folded unless ``--no-fold``), once a seed. Per seed: the level in 50 ms frames
against the original's (where the original speaks, within 35 dB of its loudest frame; and in its pauses),
the share of speech frames running 6 dB or more louder than the original's and the longest such stretch, the peak and the share of samples at full
scale, PESQ wide band and STOI on the whole. The figure: each spectrogram under the original's, and the
levels over time in one panel. ``--limit-db``: ``audiornn.vocoder.LIMIT_DB`` for this run (``inf``: the
vocoded audio left as loud as the model made it, as before the limit).
"""

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SOUNDS, dev_speech_files, pick, quiet_tensorflow  # noqa: E402

quiet_tensorflow()

FRAME_SECONDS = 0.05
SPEAKING_DB = 35.0   # a frame within this of the loudest is speech
LOUD_DB = 6.0        # a frame this much louder than the original's runs away


def joined_prompts(voice, seconds, rate, seed):
    from audiornn.audio_io import read_audio
    from audiornn.dsp import resample

    files = pick(dev_speech_files(SOUNDS / voice, ".g722"), 10_000, seed)
    order = np.random.default_rng(seed).permutation(len(files))
    pieces, total, gap = [], 0, np.zeros(int(0.3 * rate), np.float32)
    for index in order:
        audio, source_rate = read_audio(files[index])
        mono = resample(audio.mean(axis=1), source_rate=source_rate, target_rate=rate).astype(np.float32)
        pieces += [mono, gap]
        total += mono.size + gap.size
        if total >= seconds * rate:
            break
    return np.concatenate(pieces)[: int(seconds * rate)]


def frame_levels(audio, rate):
    hop = int(FRAME_SECONDS * rate)
    frames = audio[: audio.size // hop * hop].reshape(-1, hop).astype(np.float64)
    return 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-12)


def longest_run(mask):
    best = run = 0
    for flag in mask:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="vocoder-16k")
    parser.add_argument("--voice", default="fr_CA_f_June", help="an Asterisk prompt set (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--draw-seed", type=int, default=0, help="which prompts are drawn (default 0)")
    parser.add_argument("--no-fold", action="store_true", help="one stream an input, not folded")
    parser.add_argument("--figure", default="bench/vocoder_long.png")
    parser.add_argument("--limit-db", type=float, help="audiornn.vocoder.LIMIT_DB for this run (inf: no limit)")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import librosa
    import librosa.display
    import matplotlib.pyplot as plt
    import soundfile

    import audiornn
    from audiornn.resynthesis import speech_scores

    if args.limit_db is not None:
        import audiornn.vocoder

        audiornn.vocoder.LIMIT_DB = args.limit_db
    model = audiornn.load_model(args.model)
    rate = model.audio_config.sample_rate
    original = joined_prompts(args.voice, args.seconds, rate, args.draw_seed)
    rows = {"original": original}
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / f"{args.voice}-{args.seconds:g}s.wav"
        soundfile.write(path, original, rate, subtype="FLOAT")
        for seed in args.seeds:
            audio = audiornn.vocode(model, str(path), seed=seed, fold=not args.no_fold, progress=False)[0]
            rows[f"seed {seed}"] = np.asarray(audio, np.float32)[: original.size]

    reference = frame_levels(original, rate)
    speaking = reference >= reference.max() - SPEAKING_DB
    print(f"{args.model}, {args.voice}: {original.size / rate:.1f} s, {np.mean(speaking):.0%} of 50 ms frames "
          f"speech; {'one stream' if args.no_fold else 'folded'}")
    print(f"{'':<10}{'level vs original, dB':>24}{'pauses':>9}{'frames':>9}{'longest':>9}{'peak':>7}"
          f"{'at full':>9}{'PESQ':>7}{'STOI':>7}")
    print(f"{'':<10}{'speech: median  p10  p90':>24}{'median':>9}{'+6 dB':>9}{'+6 dB s':>9}{'':>7}"
          f"{'scale':>9}{'WB':>7}{'':>7}")
    for name, audio in rows.items():
        if name == "original":
            continue
        levels = frame_levels(audio, rate)[: reference.size]
        difference = levels - reference[: levels.size]
        talk = difference[speaking[: levels.size]]
        pause = difference[~speaking[: levels.size]]
        loud = (difference >= LOUD_DB) & speaking[: levels.size]
        scores = speech_scores(original, audio, rate, model.feature_config)
        print(f"{name:<10}{np.median(talk):>+9.1f}{np.percentile(talk, 10):>+7.1f}{np.percentile(talk, 90):>+8.1f}"
              f"{np.median(pause) if pause.size else float('nan'):>+9.1f}{np.mean(loud):>9.1%}"
              f"{longest_run(loud) * FRAME_SECONDS:>9.2f}{np.max(np.abs(audio)):>7.2f}"
              f"{np.mean(np.abs(audio) >= 0.999):>9.2%}{scores['pesq']:>7.2f}{scores['stoi']:>7.3f}")

    figure, axes = plt.subplots(len(rows) + 1, 1, figsize=(14, 2.0 * (len(rows) + 1)), sharex=True)
    for axis, (name, audio) in zip(axes, rows.items()):
        spectrum = librosa.amplitude_to_db(np.abs(librosa.stft(audio.astype(np.float64), n_fft=512,
                                                                hop_length=160)), ref=1.0)
        librosa.display.specshow(spectrum, sr=rate, hop_length=160, x_axis="time", y_axis="hz", ax=axis,
                                 vmin=-90, vmax=10)
        axis.set_title(f"{name}: peak {np.max(np.abs(audio)):.2f}", fontsize=9)
        axis.set_xlabel("")
    times = np.arange(reference.size) * FRAME_SECONDS
    for name, audio in rows.items():
        levels = frame_levels(audio, rate)
        axes[-1].plot(times[: levels.size], levels[: times.size], lw=1.6 if name == "original" else 0.8,
                      color="k" if name == "original" else None, label=name)
    axes[-1].set_ylim(reference.max() - 60, reference.max() + 12)
    axes[-1].set_ylabel("level, dB (50 ms)")
    axes[-1].set_xlabel("time, s")
    axes[-1].legend(fontsize=8, ncol=len(rows), loc="lower right")
    limit = "" if args.limit_db is None else f", LIMIT_DB {args.limit_db:g}"
    figure.suptitle(f"{args.model}: {args.voice}, {original.size / rate:.0f} s of prompts, "
                    f"{'one stream' if args.no_fold else 'folded'}{limit}", fontsize=10)
    figure.tight_layout()
    figure.savefig(args.figure, dpi=60)
    print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
