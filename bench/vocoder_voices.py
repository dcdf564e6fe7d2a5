"""A vocoder's copy-synthesis voice by voice, and a close look at one file.

Usage: python bench/vocoder_voices.py [--model vocoder-16k] [--work DIR] [--files 6]
                                      [--look it_IT_m_Carlo/screen-callee-options.g722 --start 1.5 --stop 3.0]
                                      [--figure bench/vocoder16k.png] [--look-only]

For each voice of the model's held-out files (its dataset in ``WORK/vocoder-16k-dataset``, as
``bench/shipped_models.py`` builds it; the voice is the prompt set's folder) and for the voice it never heard,
``--files`` of the 40 longest files: PESQ, STOI, median F0 error and buzz of the vocoder's copy-synthesis
beside Griffin-Lim's from the same frames. Then the ``--look`` file (relative to the prompt sets' folder)
from ``--start`` to ``--stop`` seconds: original, the vocoder's audio as ``vocode`` makes it (refined), the
network's alone (``refine=0``) and Griffin-Lim side by side, waveforms and spectrograms, with the peak of each
(``--look-only``: that alone).
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SOUNDS, VOCODER16K_TRAINING, VOCODER_TRAINING, pick, quiet_tensorflow, unseen_voice  # noqa: E402

quiet_tensorflow()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="vocoder-16k")
    parser.add_argument("--work", default="/tmp/audiornn-shipped", help="holds MODEL-dataset (default %(default)s)")
    parser.add_argument("--files", type=int, default=6, help="files of each voice (default %(default)s)")
    parser.add_argument("--look", default="it_IT_m_Carlo/screen-callee-options.g722")
    parser.add_argument("--start", type=float, default=1.5)
    parser.add_argument("--stop", type=float, default=3.0)
    parser.add_argument("--figure", default="bench/vocoder16k.png")
    parser.add_argument("--look-only", action="store_true", help="only the close look, not the table by voice")
    arguments = parser.parse_args()

    import audiornn
    from audiornn.audio_io import read_audio
    from audiornn.dataset import open_dataset
    from audiornn.evaluation import plot_sounds, save_figure
    from audiornn.resynthesis import griffin_lim, reference_audio, resynthesis_scores
    from audiornn.config import REFINE_PASSES
    from audiornn.vocoder import load_features, vocode

    model = audiornn.load_model(arguments.model)
    dataset = open_dataset(Path(arguments.work) / f"{arguments.model}-dataset")
    held = sorted({entry["path"] for entry in dataset.metadata["sources"] if entry["split"] == "validation"})
    voices = {}
    for path in held:  # a prompt set's folder names its voice; read here under SOUNDS wherever it was built
        parts = Path(path).parts
        voice = next((part for part in parts if part in VOCODER16K_TRAINING.values() or
                      part in VOCODER_TRAINING.values()), Path(path).parent.name)
        voices.setdefault(voice, []).append(str(SOUNDS.joinpath(*parts[parts.index(voice):])))
    name, unseen = unseen_voice(model)
    voices[f"{name} (unseen)"] = [str(path) for path in unseen]

    def seconds(path):  # the longest files make the most of each PESQ
        return Path(path).stat().st_size if path.endswith(".g722") else read_audio(path)[0].shape[0]

    print(f"{'voice':<26}{'PESQ':>6}{'(GL)':>7}{'STOI':>8}{'(GL)':>8}{'F0 cents':>10}{'buzz':>7}{'(GL)':>6}", flush=True)
    for voice, files in ({} if arguments.look_only else voices).items():
        chosen = pick(sorted(files, key=seconds, reverse=True)[:40], arguments.files)
        scores = resynthesis_scores(model, chosen, seed=0)
        ours, theirs = scores["vocoder"], scores["griffin_lim"]
        print(f"{voice:<26}{ours['pesq']:>6.2f}{theirs['pesq']:>7.2f}{ours['stoi']:>8.3f}{theirs['stoi']:>8.3f}"
              f"{ours['f0_cents']:>10.0f}{ours['buzz']:>7.0%}{theirs['buzz']:>6.0%}", flush=True)

    path = SOUNDS / arguments.look
    rate = model.audio_config.sample_rate
    frames = load_features(path, model)
    sounds = [reference_audio(path, model), vocode(model, [path], seed=0, progress=False)[0],
              vocode(model, [path], seed=0, progress=False, refine=0)[0],
              griffin_lim(frames, rate, model.feature_config, seed=0)]
    start, stop = int(arguments.start * rate), int(arguments.stop * rate)
    names = [f"{label}, peak {np.max(np.abs(audio)):.2f}" for label, audio in
             zip((f"original ({arguments.look}, {arguments.start:g} to {arguments.stop:g} s)",
                  f"{arguments.model}, refined ({REFINE_PASSES} passes, as vocode makes it)",
                  f"{arguments.model}, the network's audio alone (--refine 0)", "Griffin-Lim"), sounds)]
    save_figure(plot_sounds([np.clip(audio[start:stop], -1, 1) for audio in sounds], rate, names=names),
                arguments.figure)
    print(f"wrote {arguments.figure}")


if __name__ == "__main__":
    main()
