"""How much context a model uses: its bits per sample with the state reset every N samples.

Usage: python bench/context_probe.py --model RUN [--resets 512 2048 8000]

Scores the run's best model on all of its validation audio with the state
carried (as summary.json does) and with the state started from zero every
N samples; the loss from a reset every N samples is what the model takes
from more than N samples of the past.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import quiet_tensorflow  # noqa: E402

quiet_tensorflow()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a run folder (its dataset must be where it was)")
    parser.add_argument("--resets", type=int, nargs="+", default=[512, 2048, 8000])
    arguments = parser.parse_args()

    from audiornn.dataset import as_dataset
    from audiornn.runs import load_run_model, run_dataset_path
    from audiornn.scoring import dataset_pieces

    model = load_run_model(arguments.model)
    pieces = dataset_pieces(as_dataset(run_dataset_path(arguments.model)), "validation")
    rate = model.audio_config.sample_rate
    print(f"model: {arguments.model}; {sum(piece.size for piece in pieces) / rate / 60:.1f} min of validation audio")
    scores = probe(model, pieces, arguments.resets)
    print(f"{'state reset every':<26}{'bits/sample':>12}{'loss':>8}")
    for every, bits in scores.items():
        name = f"{every} samples ({every / rate * 1000:.0f} ms)" if every else "never (carried)"
        print(f"{name:<26}{bits:>12.3f}{bits - scores[None]:>8.3f}")


def probe(model, pieces, resets=(512, 2048, 8000)):
    """``{N: bits with the state reset every N samples, ..., None: bits with it carried}``."""
    from audiornn.scoring import score_classes

    scores = {every: score_classes(model, pieces, progress=False, reset_every=every)["bits_per_sample"]
              for every in sorted(resets)}
    scores[None] = score_classes(model, pieces, progress=False)["bits_per_sample"]
    return scores


if __name__ == "__main__":
    main()
