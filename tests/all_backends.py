"""The test suite on each Keras backend, one after the other: TensorFlow (everything but the JAX-only
tests), then JAX (everything but the TensorFlow-only ones). Arguments go to pytest on both.

    python -m pipenv run tests            # the README's test command
    python tests/all_backends.py -x -k vocoder

Exits with the first failing run's status (pytest's 5, no tests collected, included); a backend
that is not installed is a failure too, since CI must run both.
"""

import importlib.util
import os
import subprocess
import sys
import time

RUNS = (("tensorflow", "not jax_only"), ("jax", "not tf_only"))


def main(arguments):
    status = 0
    for backend, markers in RUNS:
        if importlib.util.find_spec(backend) is None:
            print(f"== {backend} is not installed: install it (python -m pipenv sync --dev) to test on it",
                  flush=True)
            status = status or 1
            continue
        print(f"== the tests on {backend} (-m '{markers}')", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, "-m", "pytest", "-m", markers, *arguments],
                               env=dict(os.environ, KERAS_BACKEND=backend))
        print(f"== {backend}: exit status {code} after {(time.monotonic() - started) / 60:.1f} min", flush=True)
        status = status or code
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
