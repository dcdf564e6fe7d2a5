"""Do two versions of the code generate the same audio from the saved runs in tests/data, on one backend?

Usage: KERAS_BACKEND=jax python bench/saved_runs_ab.py OLD_TREE NEW_TREE

Each tree (a checkout, ``git worktree add /tmp/old COMMIT``) generates 0.1 s of two streams at seed 3 from
each saved run of ``tests/data`` (the legacy run, the predictor run, the JAX-trained run), in a process of its
own; prints, for each run, whether the two are equal to the bit and their largest difference.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ONE_TREE = """
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
from audiornn.generation import generate
from audiornn.runs import load_run_model
runs = ("jax_run", "legacy_run", "predictor_run")
np.savez(sys.argv[2], **{name: generate(load_run_model(f"{sys.argv[1]}/tests/data/{name}"), seconds=0.1, count=2,
                                        seed=3, progress=False) for name in runs})
"""


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as work:
        outputs = []
        for tree in sys.argv[1:]:
            outputs.append(Path(work) / f"{len(outputs)}.npz")
            subprocess.run([sys.executable, "-c", ONE_TREE, str(Path(tree).resolve()), str(outputs[-1])], check=True,
                           cwd=tree, capture_output=True)
        old, new = (np.load(path) for path in outputs)
        print(f"backend: {os.environ.get('KERAS_BACKEND', 'tensorflow')}")
        for name in old.files:
            print(f"{name:<15} equal to the bit: {np.array_equal(old[name], new[name])}; largest difference "
                  f"{np.abs(old[name] - new[name]).max():.3g}")


if __name__ == "__main__":
    main()
