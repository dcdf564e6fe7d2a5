"""Where one stream's generation step spends its time: the sample loop timed whole and with parts taken out.

Usage: python bench/step_profile.py [--model MODEL] [--steps 8000] [--repeats 3]

One stream (batch 1), the compiled sample loop of ``audiornn.stepping`` (as
``generate`` runs it), ``--steps`` samples per call, best of ``--repeats``.
Each row takes one more part out of the step, so the differences between rows
are what each part costs:

- ``whole step``: the network and the draw (inverse CDF of the softmax); a
  vocoder's frames (silence) are made once a frame by its frame-rate network
  inside the timed call, as ``vocode`` makes them;
- ``argmax``: the draw replaced by argmax (what the draw costs);
- ``no prior``: and the Laplace prior of the output left out;
- ``no output layers``: and the dense layer and the 256-way output (the GRU's
  state stands for the logits);
- ``no history``: and the lags and predictor features (the GRU reads only its
  input table);
- ``empty loop``: a loop that only counts and writes its output.

The weights are the model's (untrained by default: timing does not depend on
them). Microseconds per sample and each row's share of the whole.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import quiet_tensorflow  # noqa: E402

quiet_tensorflow()


def profile(model, steps, repeats):
    """``[(row, microseconds per sample)]`` for one stream."""
    from keras import ops

    from audiornn import backend, history
    from audiornn.stepping import choose, frame_rate, run_steps

    vocoder = model.feature_net is not None
    if vocoder:  # frames of silence in the model's units: the step's cost does not depend on their values
        hop, margin = model.feature_config.hop, model.feature_net.margin
        frames = ops.zeros((1, steps // hop + 1 + 2 * margin, model.feature_config.bands), "float32")

    def loop(emit_choice, strip):
        def run(previous, states, seed):
            saved = {}
            if "prior" in strip or "head" in strip:
                saved["head"] = model.head
                model.head = (lambda hidden, prior=None: hidden[:, :256]) if "head" in strip \
                    else (lambda hidden, prior=None: model.logits(model.dense(hidden)))
            if "history" in strip:
                saved["step_history"], saved["step_constants"] = history.step_history, model.step_constants
                history.step_history = lambda model_, previous, states, new_states, *rest: (
                    new_states.update({name: value for name, value in states.items()
                                       if name not in ("layers", "label")}), (None, None, None))[1]
                model.step_constants = lambda: {name: value for name, value in saved["step_constants"]().items()
                                                if name != "sample_kernel"}
            try:
                def emit(step, logits, carry):
                    chosen = choose(logits, seed=seed, position=ops.cast(step, seed.dtype), temperature=1.0) if emit_choice \
                        else ops.cast(ops.argmax(logits, axis=-1), "int32")
                    return chosen, ops.slice_update(carry[1], (0, step), chosen[:, None])

                return run_steps(model, states, steps, lambda step, carry: carry[0], emit,
                                 (previous, ops.zeros((1, steps), "int32")),
                                 frame_rate(model, frames) if vocoder else None)[1][1]
            finally:
                for name, value in saved.items():
                    setattr(history if name == "step_history" else model, name, value)
        return backend.compiled(run, model)

    def empty(previous, states, seed):
        def body(step, output):
            return step + 1, ops.slice_update(output, (0, step), ops.reshape(step, (1, 1)))
        return ops.while_loop(lambda step, output: step < steps, body,
                              (ops.convert_to_tensor(0, "int32"), ops.zeros((1, steps), "int32")))[1]

    rows = [("whole step", loop(True, ())), ("argmax", loop(False, ())), ("no prior", loop(False, ("prior",))),
            ("no output layers", loop(False, ("head",))),
            ("no history", loop(False, ("head", "history"))),
            ("empty loop", backend.compiled(empty, model))]
    states = model.initial_states(1)
    previous = ops.full((1,), model.silence, "int32")
    seed = ops.convert_to_tensor(0, backend.index_dtype())
    results = []
    for name, function in rows:
        function(previous, states, seed)  # compile
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            ops.convert_to_numpy(function(previous, states, seed))
            best = min(best, time.perf_counter() - started)
        results.append((name, best / steps * 1e6))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="a .keras model, run folder or shipped model's name (default: the default "
                                        "configuration, untrained)")
    parser.add_argument("--steps", type=int, default=8000, help="samples per timed call (default 8000)")
    parser.add_argument("--repeats", type=int, default=3, help="calls timed, the best kept (default 3)")
    arguments = parser.parse_args()

    from audiornn import load_model
    from audiornn.model import ModelConfig, build_model

    model = load_model(arguments.model) if arguments.model else build_model(ModelConfig())
    if model.label_embedding is not None:
        parser.error("profile a model without labels (a label is not fed here)")
    results = profile(model, arguments.steps, arguments.repeats)
    whole = results[0][1]
    print(f"one stream, {arguments.steps} samples per call, best of {arguments.repeats}")
    print(f"{'':20s} {'us/sample':>10s} {'samples/s':>10s} {'of whole':>9s} {'this part':>10s}")
    for index, (name, micro) in enumerate(results):
        part = micro - results[index + 1][1] if index + 1 < len(results) else micro
        print(f"{name:20s} {micro:10.2f} {1e6 / micro:10,.0f} {micro / whole:9.1%} {part:10.2f}")


if __name__ == "__main__":
    main()
