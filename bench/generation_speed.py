"""Generation speed: stateful compiled sampling against the original's window-per-sample predict.

Usage: python bench/generation_speed.py [--model MODEL] [--seconds 4]
       python bench/generation_speed.py --all [--vocoder vocoder] [--files 20] [--seconds 4]
       python bench/generation_speed.py --shards [--models default vocoder vocoder-16k]

``--shards``: how many streams a shard should take (``StreamGroup``'s
``min_shard``): each model's 2, 4, 8 and 16 streams in one shard and in one a
core, 1 s of samples a call as ``generate`` and ``vocode`` run them (a
vocoder's frames made up), best of 3.

``--all``: everything the speed questions ask, in one process and one table,
side by side on this machine's CPU (its instructions named): the default
model's one stream and 32 streams in float32 and in bfloat16 (Keras'
``mixed_bfloat16``), its training targets per second in both, where one
stream's step goes (``bench/step_profile.py``'s rows), and the vocoder's
copy-synthesis of ``--files`` files of the unseen voice joined into 30 s
inputs, one stream an input against folded (``bench/fold.py``'s measure:
PESQ, STOI and speed). Speeds are also given as real-time factors at 8 and
16 kHz (a sample costs the same at either rate).

Measures, on one model (the default configuration, or --model), in one run:
one stream, 32 streams together, and the original AudioRNN's approach
(``model.predict`` over the last 1000 samples for every new sample, argmax)
on the same model. Prints samples per second, real-time factors at the
model's rate, the model's FLOPs per sample, and the fraction of this
machine's reachable FLOP/s (a large float32 matmul) the loop achieves.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import quiet_tensorflow  # noqa: E402

quiet_tensorflow()


def reachable_gflops():
    """float32 matmul GFLOP/s of this machine through TensorFlow (2048 x 2048, best of 5)."""
    import tensorflow as tf

    a = tf.random.normal((2048, 2048))
    b = tf.random.normal((2048, 2048))
    tf.linalg.matmul(a, b).numpy()
    best = 0.0
    for _ in range(5):
        started = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        best = max(best, 2 * 2048 ** 3 / (time.perf_counter() - started) / 1e9)
    return best


def time_streams(model, count, seconds, label=None):
    """Samples per second of ``count`` streams, as `generate` runs them (one-second chunks)."""
    try:
        from audiornn.stepping import StreamGroup
    except ImportError:  # code from before the loop over time had its own module (bench/generation_speed_ab.py)
        from audiornn.generation import StreamGroup

    rate = model.audio_config.sample_rate
    group = StreamGroup(model, count=count, seed=0, label=label)
    group.sample(rate)  # compile
    started, produced = time.perf_counter(), 0
    while produced < seconds * rate:
        produced += group.sample(rate).shape[1]
    elapsed = time.perf_counter() - started
    group.close()
    return count * produced / elapsed


def time_original(model, samples=40, window=1000):
    import numpy as np

    inputs = np.full((1, window), 128, dtype="int32")
    model.predict(inputs, verbose=0)
    started = time.perf_counter()
    for _ in range(samples):
        logits = model.predict(inputs, verbose=0)[0, -1]
        inputs = np.concatenate([inputs[:, 1:], [[int(np.argmax(logits))]]], axis=1)
    return samples / (time.perf_counter() - started)


def one_table(arguments):
    """``--all``: every speed row of the default model and the vocoder, side by side, as one table."""
    import tempfile

    import audiornn
    from audiornn.model import ModelConfig, build_model
    from bfloat16 import generation_samples_per_second, training_targets_per_second, with_policy
    from common import instructions_line, pick, unseen_voice
    from fold import joined_inputs, measure
    from step_profile import profile

    print(f"CPU: {instructions_line()}", flush=True)
    rows = []  # (what, value, unit, samples per second or None)
    for policy in ("float32", "mixed_bfloat16"):
        name = "float32" if policy == "float32" else "bfloat16"
        for count in (1, 32):
            speed = with_policy(policy, lambda: generation_samples_per_second(count, arguments.seconds))
            rows.append((f"generate, default model, {count} stream{'s' * (count > 1)}, {name}", speed, "samples/s",
                         speed))
        speed = with_policy(policy, lambda: training_targets_per_second(arguments.seconds))
        rows.append((f"train, default model, {name}", speed, "targets/s", None))
        print(f"{name}: done", flush=True)
    for part, micro in profile(build_model(ModelConfig()), 8000, 3):
        rows.append((f"one stream's step: {part}", micro, "us/sample", None))
    model = audiornn.load_model(arguments.vocoder)
    files = pick(unseen_voice(model)[1], arguments.files)
    rate = model.audio_config.sample_rate
    with tempfile.TemporaryDirectory() as folder:
        paths = joined_inputs(model, files, 30.0, folder)
        for fold in (False, True):
            result = measure(model, paths, fold, [1])
            name = "folded" if fold else "one stream an input"
            rows.append((f"vocode {arguments.vocoder} ({rate} Hz), {name}: PESQ {result['pesq']:.3f}, STOI "
                         f"{result['stoi']:.3f}", result["realtime"] * rate, "samples/s", result["realtime"] * rate))
    print(f"\n{'':<72}{'value':>12} {'unit':<10}{'x real time 8 kHz':>18}{'16 kHz':>8}")
    for what, value, unit, speed in rows:
        times = f"{speed / 8000:>18.1f}{speed / 16000:>8.1f}" if speed else ""
        print(f"{what:<72}{value:>12,.1f} {unit:<10}{times}")


def shard_table(arguments):
    """``--shards``: samples per second of a few streams in one shard against one shard a core."""
    import os

    import numpy as np

    import audiornn
    from audiornn import stepping
    from audiornn.model import ModelConfig, build_model
    from common import instructions_line

    cores = len(os.sched_getaffinity(0))
    print(f"cores {cores}; CPU: {instructions_line()}", flush=True)
    print(f"{'model':<14}{'streams':>8}{'1 shard':>12}{f'{cores} shards':>12}{'ratio':>8}   samples/s")
    for name in arguments.models:
        model = build_model(ModelConfig()) if name == "default" else audiornn.load_model(name)
        rate, config = model.audio_config.sample_rate, model.feature_config
        frames = None if model.feature_net is None else \
            np.random.default_rng(0).normal(-2.0, 0.3, (rate // config.hop * 2, config.bands)).astype(np.float32)
        for count in (2, 4, 8, 16):
            speeds = []
            for shards in (1, cores):
                with stepping.StreamGroup(model, count=count, seed=1, keys=np.arange(count), shards=shards) as group:
                    best = np.inf
                    for _ in range(3):  # the first compiles
                        started = time.perf_counter()
                        if frames is None:
                            group.sample(rate)
                        else:
                            span = stepping.frame_span(-1, rate, config.hop, model.feature_net.margin)
                            group.sample(rate, np.stack([stepping.take_frames(frames, span)] * count))
                        best = min(best, time.perf_counter() - started)
                speeds.append(count * rate / best)
            print(f"{name:<14}{count:>8}{speeds[0]:>12,.0f}{speeds[1]:>12,.0f}{speeds[1] / speeds[0]:>7.2f}x",
                  flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="a .keras model or run folder (default: the default configuration)")
    parser.add_argument("--seconds", type=float, default=4.0, help="audio timed per measurement")
    parser.add_argument("--all", action="store_true", help="every speed row, side by side, as one table")
    parser.add_argument("--vocoder", default="vocoder", help="--all: the vocoder whose vocode is timed")
    parser.add_argument("--files", type=int, default=20, help="--all: files of the unseen voice to vocode, "
                                                                    "joined into 30 s inputs (default 20)")
    parser.add_argument("--shards", action="store_true", help="streams in one shard against one shard a core")
    parser.add_argument("--models", nargs="+", default=["default", "vocoder", "vocoder-16k"],
                        help="--shards: the models (default: the default configuration and the shipped vocoders)")
    arguments = parser.parse_args()
    if arguments.shards:
        return shard_table(arguments)
    if arguments.all:
        return one_table(arguments)

    import tensorflow as tf

    from audiornn.model import ModelConfig, build_model
    from audiornn.stepping import flops_per_sample
    from audiornn.runs import load_run_model

    model = load_run_model(arguments.model) if arguments.model else build_model(ModelConfig())
    rate = model.audio_config.sample_rate
    nominal = flops_per_sample(model)
    config = model.model_config
    # Generation folds the first GRU layer's embedding product into a table lookup.
    folded = 2 * config.embedding_dim * 3 * config.units if config.cell == "gru" and not config.many_to_one else 0
    flops = nominal - folded
    print(f"model: {config}\nFLOPs per sample: {nominal / 1e6:.2f} M in the network, {flops / 1e6:.2f} M "
          f"executed per generated sample; threads: "
          f"{tf.config.threading.get_intra_op_parallelism_threads() or 'all'} cores", flush=True)
    peak = reachable_gflops()
    print(f"reachable float32 matmul: {peak:.1f} GFLOP/s", flush=True)
    rows = [("1 stream", time_streams(model, 1, arguments.seconds)),
            ("32 streams", time_streams(model, 32, arguments.seconds / 2)),
            ("original: predict per sample", time_original(model))]
    print(f"\n{'':<32}{'samples/s':>12}{'x real time':>13}{'GFLOP/s':>10}{'of reachable':>14}")
    for name, speed in rows:
        # The original runs the whole network over its 1000-sample window for every sample.
        work = speed * flops / 1e9 if not name.startswith("original") else speed * nominal * 1000 / 1e9
        print(f"{name:<32}{speed:>12,.0f}{speed / rate:>13.2f}{work:>10.1f}{work / peak:>13.0%}")
    print(f"speed-up of 1 stream over the original approach: {rows[0][1] / rows[2][1]:,.0f}x; "
          f"32 streams: {rows[1][1] / rows[2][1]:,.0f}x")


if __name__ == "__main__":
    main()
