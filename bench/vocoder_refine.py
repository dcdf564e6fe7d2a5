"""A vocoder's audio brought to its frames band by band (``vocode --refine``), against the network's audio as drawn
and against Griffin-Lim: copy-synthesis of the 20 + 20 files ``bench/shipped_models.py score`` scores.

Usage: python bench/vocoder_refine.py [--models vocoder-16k vocoder] [--passes 0 8 16 32 64] [--seeds 0 1]
                                      [--momentum 0 0.7] [--work /tmp/audiornn-shipped]

Each shipped vocoder's held-out files of its voices and of the voice it never heard are vocoded once a seed with
no refinement (``refine=0``, as ``vocode`` cuts it at full scale), then refined by each number of passes
(:func:`audiornn.vocoder.follow_frames`, then cut again), at each ``--momentum`` (by default ``vocode``'s). The
controls, at the default number of passes and momentum: the same
refinement of Griffin-Lim's audio (does the network give it anything Griffin-Lim does not?) and of white noise at
the audio's level (does the network give it anything at all?). Also what a pass costs.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from shipped_models import MATERIALS, scored_files  # noqa: E402

common.quiet_tensorflow()

MEASURES = ("pesq", "stoi", "log_mel_db", "f0_cents", "buzz")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["vocoder-16k", "vocoder"], choices=["vocoder-16k", "vocoder"])
    parser.add_argument("--passes", type=int, nargs="+", default=[0, 8, 16, 32, 64])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--momentum", type=float, nargs="+", help="each pass pushed on by this share of its "
                        "change (follow_frames' momentum); default vocode's")
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--work", default="/tmp/audiornn-shipped")
    args = parser.parse_args()
    import numpy as np

    import audiornn
    from audiornn.config import REFINE_MOMENTUM, REFINE_PASSES
    from audiornn.resynthesis import griffin_lim, pitch_of, reference_audio, speech_scores
    from audiornn.vocoder import follow_frames, load_features, vocode_frames

    momenta = args.momentum or [REFINE_MOMENTUM]
    work = Path(args.work)
    print(common.instructions_line(), flush=True)
    for material in args.models:
        MATERIALS[material]["dataset"](work / f"{material}-dataset")
        model = audiornn.load_model(material)
        config, rate = model.feature_config, model.audio_config.sample_rate
        for seed in args.seeds:
            for name, files in scored_files(material, work, args.files).items():
                frames = [load_features(path, model) for path in files]
                started = time.monotonic()
                drawn = vocode_frames(model, frames, [f"'{path}'" for path in files], seed=seed, progress=False,
                                      refine=0)
                vocoded = time.monotonic() - started
                rows, spent, seconds = {}, 0.0, 0.0
                for path, own, audio in zip(files, frames, drawn):
                    reference = reference_audio(path, model)
                    rebuilt = griffin_lim(own, rate, config, seed=seed)
                    audio = np.asarray(audio, np.float64)
                    pitch = pitch_of(reference[:min(reference.size, audio.size, rebuilt.size)].astype(np.float64), rate)
                    noise = np.random.default_rng(seed).standard_normal(audio.size) * float(np.std(audio))
                    starts = {f"network, {count} passes" + (f", momentum {momentum:g}" if len(momenta) > 1 and count
                                                            else ""): (audio, count, momentum)
                              for count in args.passes for momentum in (momenta if count else momenta[:1])}
                    starts.update({f"Griffin-Lim, {REFINE_PASSES} passes": (rebuilt[:audio.size], REFINE_PASSES,
                                                                            REFINE_MOMENTUM),
                                   f"noise, {REFINE_PASSES} passes": (noise, REFINE_PASSES, REFINE_MOMENTUM),
                                   "Griffin-Lim": (rebuilt, 0, 0.0)})
                    timed = f"network, {REFINE_PASSES} passes" + (f", momentum {REFINE_MOMENTUM:g}"
                                                                  if len(momenta) > 1 else "")
                    for label, (start, count, momentum) in starts.items():
                        clock = time.monotonic()
                        made = np.clip(follow_frames(start, own, config, rate, count, momentum=momentum), -1.0, 1.0)
                        if label == timed:
                            spent, seconds = spent + time.monotonic() - clock, seconds + audio.size / rate
                        rows.setdefault(label, []).append(speech_scores(reference, made, rate, config, pitch))
                print(f"\n{material}, {name}, seed {seed}: {len(files)} files, {seconds:.0f} s; vocoded (folded, no "
                      f"refinement) in {vocoded:.1f} s, {REFINE_PASSES} passes in {spent:.1f} s "
                      f"({seconds / max(spent, 1e-9):.0f}x real time)", flush=True)
                print(f"  {'':<36}" + "".join(f"{measure:>12}" for measure in MEASURES))
                for label, scores in rows.items():
                    means = [np.mean([row[measure] for row in scores if row[measure] is not None])
                             for measure in MEASURES]
                    print(f"  {label:<36}" + "".join(f"{value:>12.3f}" for value in means), flush=True)


if __name__ == "__main__":
    main()
