"""bfloat16 against float32 on this machine's CPU: matmul, training steps and generation, side by side.

Usage: python bench/bfloat16.py [--seconds 20]

Says which of the instructions that make bfloat16 fast the CPU has (AVX512-BF16, AMX-BF16), then measures, in
one process, float32 and Keras' ``mixed_bfloat16`` policy (what ``train --mixed-precision bfloat16`` uses):

- TensorFlow matmul GFLOP/s on a large shape (2048^3), a training window's dense layer (4608x512x768) and
  one recurrent step's (48x512x768);
- training targets per second of today's default model on random classes (its default batch and window),
  ``train_on_batch`` for ``--seconds`` after two steps that compile;
- generation samples per second of the same model built under each policy, 1 and 32 streams.

Bits after ten minutes are worth measuring only where bfloat16 is faster; the output says which.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import cpu_flags, instructions_line, quiet_tensorflow  # noqa: E402

quiet_tensorflow()


def matmul_gflops(shape, dtype, repeats=5):
    import tensorflow as tf

    m, k, n = shape
    a, b = tf.cast(tf.random.normal((m, k)), dtype), tf.cast(tf.random.normal((k, n)), dtype)
    tf.linalg.matmul(a, b).numpy()
    best = 0.0
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(max(1, int(2e9 // (2 * m * k * n)))):
            result = tf.linalg.matmul(a, b)
        result.numpy()
        calls = max(1, int(2e9 // (2 * m * k * n)))
        best = max(best, calls * 2 * m * k * n / (time.perf_counter() - started) / 1e9)
    return best


def with_policy(policy, function):
    import keras

    saved = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        return function()
    finally:
        keras.config.set_dtype_policy(saved)


def training_targets_per_second(seconds):
    from audiornn import ModelConfig, TrainConfig
    from audiornn.model import build_model
    from audiornn.training import compile_model

    config = TrainConfig()
    model = build_model(ModelConfig())
    compile_model(model, config)
    rng = np.random.default_rng(0)
    shape = (config.batch_size, config.sequence_length)
    inputs, targets = rng.integers(0, 256, shape).astype("int32"), rng.integers(0, 256, shape).astype("int32")
    for _ in range(2):
        model.train_on_batch(inputs, targets)
    started, steps = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        model.train_on_batch(inputs, targets)
        steps += 1
    return steps * inputs.size / (time.perf_counter() - started)


def generation_samples_per_second(count, seconds):
    from audiornn import ModelConfig
    from audiornn.model import build_model
    from audiornn.stepping import StreamGroup

    model = build_model(ModelConfig())
    rate = model.audio_config.sample_rate
    group = StreamGroup(model, count=count, seed=0)
    group.sample(rate // 4)  # compiles
    started, produced = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        group.sample(rate // 4)
        produced += rate // 4
    group.close()
    return produced * count / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measuring time of each row (default 20)")
    arguments = parser.parse_args()
    print(f"CPU: {cpu_flags()[0]}; {instructions_line()}")
    rows = []
    for shape in ((2048, 2048, 2048), (4608, 512, 768), (48, 512, 768)):
        values = [matmul_gflops(shape, dtype) for dtype in ("float32", "bfloat16")]
        rows.append((f"matmul {'x'.join(map(str, shape))} GFLOP/s", *values))
    for policy_rows in (("training targets/s (default model)", lambda: training_targets_per_second(arguments.seconds)),
                        ("generation samples/s, 1 stream", lambda: generation_samples_per_second(1, arguments.seconds)),
                        ("generation samples/s, 32 streams",
                         lambda: generation_samples_per_second(32, arguments.seconds))):
        label, function = policy_rows
        rows.append((label, with_policy("float32", function), with_policy("mixed_bfloat16", function)))
        print(f"{label}: done", flush=True)
    print(f"\n{'':<40}{'float32':>12}{'bfloat16':>12}{'bf16 / f32':>12}")
    for label, single, half in rows:
        print(f"{label:<40}{single:>12,.1f}{half:>12,.1f}{half / single:>12.2f}")
    training = rows[3]
    verdict = "faster: measure bits after ten minutes" if training[2] / training[1] >= 1.3 else \
        "not 1.3x faster: float32 stays the default here"
    print(f"\nbfloat16 training is {training[2] / training[1]:.2f}x float32 on this CPU: {verdict}")


if __name__ == "__main__":
    main()
