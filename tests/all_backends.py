"""The test suite on each Keras backend: TensorFlow (everything but the JAX-only tests) and JAX (everything but
the TensorFlow-only ones). Arguments go to pytest on both.

    python -m pipenv run tests            # the README's test command
    python tests/all_backends.py -x -k vocoder

With two cores or more the two runs go side by side (on 2 cores the suite then takes about three quarters of
the time of one run after the other: much of each is Python, tracing and compiling on one core): TensorFlow's
output is shown as it comes, JAX's is kept in a file and shown, as it comes, once TensorFlow's run ends.
AUDIORNN_TESTS_SIDE_BY_SIDE=0 runs them one after the other instead (=1: side by side on one core too).
Options naming one place for a run's files (--basetemp, --junitxml) would be shared by the two runs side by side:
give them with AUDIORNN_TESTS_SIDE_BY_SIDE=0.

Exits with the first failing run's status (pytest's 5, no tests collected, included); a backend that is not
installed is a failure too, since CI must run both.
"""

import importlib.util
import os
import subprocess
import sys
import tempfile
import time

RUNS = (("tensorflow", "not jax_only"), ("jax", "not tf_only"))


def command(backend, markers, arguments):
    return [sys.executable, "-m", "pytest", "-m", markers, *arguments], dict(os.environ, KERAS_BACKEND=backend)


def cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def follow(log, process):
    """Copy ``log`` (a file a running ``process`` writes) to standard output until the process ends."""
    with open(log, "rb") as source:
        while True:
            ended = process.poll() is not None
            chunk = source.read()
            if chunk:
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
            elif ended:
                return process.wait()
            else:
                time.sleep(1)


def main(arguments):
    status = 0
    runs = []
    for backend, markers in RUNS:
        if importlib.util.find_spec(backend) is None:
            print(f"== {backend} is not installed: install it (python -m pipenv sync --dev) to test on it",
                  flush=True)
            status = status or 1
        else:
            runs.append((backend, markers))
    chosen = os.environ.get("AUDIORNN_TESTS_SIDE_BY_SIDE", "")
    beside = len(runs) > 1 and (chosen == "1" or (cores() > 1 and chosen != "0"))
    started = time.monotonic()
    if beside:
        (first, first_markers), (second, second_markers) = runs
        with tempfile.TemporaryDirectory(prefix="audiornn-tests-") as folder:
            log = os.path.join(folder, f"{second}.log")
            print(f"== the tests on {first} (-m '{first_markers}') and, beside them, on {second} "
                  f"(-m '{second_markers}'; its output follows {first}'s)", flush=True)
            second_command, second_environment = command(second, second_markers, arguments)
            with open(log, "wb") as output:
                other = subprocess.Popen(second_command, env=second_environment, stdin=subprocess.DEVNULL,
                                         stdout=output, stderr=subprocess.STDOUT)
            try:
                first_command, first_environment = command(first, first_markers, arguments)
                code = subprocess.call(first_command, env=first_environment)
                print(f"== {first}: exit status {code} after {(time.monotonic() - started) / 60:.1f} min",
                      flush=True)
                print(f"== the tests on {second} (-m '{second_markers}'), run beside {first}'s", flush=True)
                second_code = follow(log, other)
            finally:
                if other.poll() is None:
                    other.terminate()
                    other.wait()
            print(f"== {second}: exit status {second_code} after {(time.monotonic() - started) / 60:.1f} min",
                  flush=True)
            return status or code or second_code
    for backend, markers in runs:
        print(f"== the tests on {backend} (-m '{markers}')", flush=True)
        started = time.monotonic()
        run_command, environment = command(backend, markers, arguments)
        code = subprocess.call(run_command, env=environment)
        print(f"== {backend}: exit status {code} after {(time.monotonic() - started) / 60:.1f} min", flush=True)
        status = status or code
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
