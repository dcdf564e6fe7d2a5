"""Generation speed of two versions of the code side by side, on one model, in alternating rounds.

Usage: python bench/generation_speed_ab.py OLD_TREE NEW_TREE [--model speech] [--rounds 3]

Each tree is a checkout of the repository (``git worktree add /tmp/old COMMIT``).
Every round times, in a fresh process per tree, one stream (4 s of audio) and 32
streams (2 s each) the way ``bench/generation_speed.py`` does (one-second chunks
after one chunk to compile), old first then new, so that a machine whose speed
drifts slows both alike. Prints each round and the means, and the new code's
speed as a share of the old's.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

ONE_TREE = """
import json, sys
sys.path.insert(0, sys.argv[1])
sys.path.insert(1, sys.argv[3])
import audiornn
from generation_speed import time_streams
model = audiornn.load_model(sys.argv[2])
print(json.dumps({"one": time_streams(model, 1, 4.0), "many": time_streams(model, 32, 2.0)}))
"""


def measure(tree, model):
    output = subprocess.run([sys.executable, "-c", ONE_TREE, str(Path(tree).resolve()), model,
                             str(Path(__file__).resolve().parent)], check=True, capture_output=True, text=True,
                            cwd=tree).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old", help="a checkout of the old code")
    parser.add_argument("new", help="a checkout of the new code")
    parser.add_argument("--model", default="speech", help="a shipped model's name, run folder or .keras file")
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    results = {"old": [], "new": []}
    print(f"{'round':<8}{'old 1 stream':>14}{'new 1 stream':>14}{'old 32':>12}{'new 32':>12}  (samples/s)")
    for index in range(arguments.rounds):
        for name in ("old", "new"):
            results[name].append(measure(getattr(arguments, name), arguments.model))
        old, new = results["old"][-1], results["new"][-1]
        print(f"{index + 1:<8}{old['one']:>14,.0f}{new['one']:>14,.0f}{old['many']:>12,.0f}{new['many']:>12,.0f}",
              flush=True)
    means = {name: {kind: sum(row[kind] for row in rows) / len(rows) for kind in ("one", "many")}
             for name, rows in results.items()}
    print(f"{'mean':<8}{means['old']['one']:>14,.0f}{means['new']['one']:>14,.0f}{means['old']['many']:>12,.0f}"
          f"{means['new']['many']:>12,.0f}")
    print(f"new / old: 1 stream {means['new']['one'] / means['old']['one']:.3f}, "
          f"32 streams {means['new']['many'] / means['old']['many']:.3f}")


if __name__ == "__main__":
    main()
