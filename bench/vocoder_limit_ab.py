"""The blare limit (``audiornn.vocoder.LIMIT_DB``) on and off, on vocoder-16k's copy-synthesis: the 20 + 20 files
``bench/shipped_models.py score`` scores, seeds 0 and 1, one process.

Usage: python bench/vocoder_limit_ab.py [--work /tmp/s31/w] [--seeds 0 1]

Builds (or reuses) the vocoder-16k dataset in ``WORK/vocoder-16k-dataset`` to draw the held-out files from, then
scores the shipped weights with ``LIMIT_DB`` set to infinity (no limit, as before it) and to its value.
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402
from shipped_models import scored_files  # noqa: E402

common.quiet_tensorflow()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", default="/tmp/audiornn-shipped")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    import audiornn
    import audiornn.vocoder as vocoder
    from audiornn.resynthesis import resynthesis_scores

    work = Path(args.work)
    common.dev_vocoder16k_dataset(work / "vocoder-16k-dataset")
    files = scored_files("vocoder-16k", work, 20)
    model = audiornn.load_model("vocoder-16k")
    value = vocoder.LIMIT_DB
    for seed in args.seeds:
        for limit in (float("inf"), value):
            vocoder.LIMIT_DB = limit
            started = time.monotonic()
            for name, chosen in files.items():
                scores = resynthesis_scores(model, chosen, seed=seed)["vocoder"]
                print(f"seed {seed}, LIMIT_DB {limit:g}, {name:<13} " + "  ".join(
                    f"{key} {value:.3f}" for key, value in scores.items() if value is not None), flush=True)
            print(f"  {time.monotonic() - started:.0f} s", flush=True)
    vocoder.LIMIT_DB = value


if __name__ == "__main__":
    main()
