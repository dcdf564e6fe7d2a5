"""A new process's first vocode: import, load, the first call (which compiles) and a second, each timed.

Usage: python bench/first_call.py [--model vocoder-16k] [--rounds 2] [--file 5]

A user who vocodes from the command line, or starts a notebook, pays for the
load and the first call's compilation in every new process. Each round runs
three fresh processes one after the other on the backend in KERAS_BACKEND:
compiled programs not kept (``AUDIORNN_COMPILE_CACHE=0``), then kept in an
empty folder (the first process writes them), then read back from it (every
later process). Each process loads ``--model``, makes the frames of one prompt
of the voice it never heard (``--file``: which, in name order) and vocodes them
twice. (audiornn.backend.use_compile_cache: JAX's persistent compilation cache.
On TensorFlow nothing is kept, and the three rows differ only by chance.)
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import instructions_line, quiet_tensorflow  # noqa: E402


def one_process(model_name, file_index):
    """In the child: the times, as one line of numbers."""
    started = time.perf_counter()
    import audiornn
    from audiornn.audio_io import read_audio
    from audiornn.dsp import to_mono
    from audiornn.features import audio_to_features
    from common import unseen_voice

    imported = time.perf_counter()
    model = audiornn.load_model(model_name)
    loaded = time.perf_counter()
    _, files = unseen_voice(model)
    audio, rate = read_audio(files[file_index % len(files)])
    frames = audio_to_features(to_mono(audio), rate, model.feature_config, own_level=True)
    times = []
    for _ in range(2):
        began = time.perf_counter()
        made = audiornn.vocode(model, frames, progress=False)
        times.append(time.perf_counter() - began)
    seconds = made.shape[-1] / model.audio_config.sample_rate
    print("TIMES", imported - started, loaded - imported, times[0], times[1], seconds, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="vocoder-16k", help="a vocoder (default vocoder-16k)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of three processes (default 2)")
    parser.add_argument("--file", type=int, default=5, help="which prompt of the unseen voice (default 5)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    quiet_tensorflow()
    if arguments.child:
        return one_process(arguments.model, arguments.file)
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    print(f"{backend}; {instructions_line()}; {arguments.model}, prompt {arguments.file} of the unseen voice")
    print(f"{'compiled programs':24s} {'import s':>8s} {'load s':>7s} {'1st call':>8s} {'2nd call':>8s} "
          f"{'audio s':>7s} {'load + 1st':>10s}")
    for _ in range(arguments.rounds):
        with tempfile.TemporaryDirectory(prefix="audiornn-first-call-") as folder:
            for label, cache in (("not kept", "0"), ("kept, empty folder", folder), ("read back", folder)):
                environment = {**os.environ, "AUDIORNN_COMPILE_CACHE": cache}
                for own in ("JAX_COMPILATION_CACHE_DIR", "TF_XLA_FLAGS"):  # (a cache of the user's own: not here)
                    environment.pop(own, None)
                done = subprocess.run([sys.executable, __file__, "--child", "--model", arguments.model,
                                       "--file", str(arguments.file)], env=environment, capture_output=True,
                                      text=True, check=False)
                line = next((line for line in done.stdout.splitlines() if line.startswith("TIMES")), None)
                if line is None:
                    sys.exit(f"the child failed ({done.returncode}):\n{done.stderr[-3000:]}")
                imported, loaded, first, second, seconds = map(float, line.split()[1:])
                print(f"{label:24s} {imported:8.1f} {loaded:7.1f} {first:8.1f} {second:8.1f} {seconds:7.2f} "
                      f"{loaded + first:10.1f}", flush=True)


if __name__ == "__main__":
    main()
