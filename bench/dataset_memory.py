"""Memory of building and streaming 60 minutes of audio with a 1000-sample context.

Usage: python bench/dataset_memory.py [--minutes 60] [--work DIR]

Writes an hour of real recordings (the dev speech and music, looped, as
16 kHz stereo WAV so resampling and mixing run), builds a dataset from it, and
streams windows of 1000 samples in both target modes, each phase in its own
process so that each peak resident memory (ru_maxrss) is its own. The
original AudioRNN kept every window as float32 plus a one-hot target; its
size for the same audio is computed, not run.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import dev_music_files, dev_speech_files, peak_rss_mb  # noqa: E402

CONTEXT = 1000
BATCH = 32


def write_hour(folder, minutes):
    """``minutes`` one-minute 16 kHz stereo files cut from the looped dev recordings."""
    import scipy.signal

    pieces = [soundfile.read(str(path), dtype="float32")[0] for path in dev_speech_files() + dev_music_files()]
    audio = np.concatenate(pieces)
    audio = scipy.signal.resample_poly(audio, 2, 1).astype(np.float32)  # 8 kHz -> 16 kHz
    per_file = 60 * 16000
    needed = minutes * per_file
    audio = np.resize(audio, needed)
    for index in range(minutes):
        chunk = audio[index * per_file:(index + 1) * per_file]
        soundfile.write(str(folder / f"minute{index:03d}.wav"), np.stack([chunk, 0.8 * chunk], axis=1),
                        16000, subtype="PCM_16")


def phase_build(folder, output):
    from audiornn import build_dataset

    started = time.monotonic()
    dataset = build_dataset([folder], output, progress=False)
    return {"seconds": round(time.monotonic() - started, 2),
            "audio_minutes": round((dataset.samples("train") + dataset.samples("validation")) / 8000 / 60, 2),
            "dataset_bytes": sum(path.stat().st_size for path in Path(output).iterdir())}


def phase_stream(output, mode, batches, keras_wrapper):
    from audiornn import open_dataset
    from audiornn.windows import WindowSampler

    baseline = None
    if keras_wrapper:
        import keras  # noqa: F401  (the framework's own memory, measured apart)
        from audiornn.keras_data import WindowDataset
        baseline = peak_rss_mb()
    dataset = open_dataset(output)
    sampler = WindowSampler(dataset.array("train"), dataset.segments("train"), sequence_length=CONTEXT,
                            batch_size=BATCH, mode=mode, seed=0)
    source = WindowDataset(sampler) if keras_wrapper else sampler
    get = source.__getitem__ if keras_wrapper else sampler.batch
    count = min(batches or len(sampler), len(sampler))
    started, targets, checksum = time.monotonic(), 0, 0
    for index in range(count):
        inputs, target = get(index)
        targets += target.size
        checksum += int(inputs[:, -1].sum())
    elapsed = time.monotonic() - started
    return {"mode": mode, "keras_pydataset": keras_wrapper, "batches": count, "targets": targets,
            "targets_per_second": round(targets / elapsed), "rss_after_keras_import_mb": baseline,
            "checksum": checksum}


def run_phase(*arguments):
    result = subprocess.run([sys.executable, __file__, "--phase", *arguments], capture_output=True, text=True)
    if result.returncode:
        sys.exit(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--work", default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.phase:
        name, *rest = arguments.phase
        if name == "build":
            result = phase_build(Path(rest[0]), Path(rest[1]))
        else:
            result = phase_stream(Path(rest[0]), rest[1], int(rest[2]), rest[3] == "keras")
        result["peak_rss_mb"] = round(peak_rss_mb(), 1)
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory(dir=arguments.work) as work:
        work = Path(work)
        (work / "audio").mkdir()
        print(f"writing {arguments.minutes} minutes of 16 kHz stereo WAV ...", flush=True)
        write_hour(work / "audio", arguments.minutes)
        source_bytes = sum(path.stat().st_size for path in (work / "audio").iterdir())
        build = run_phase("build", str(work / "audio"), str(work / "dataset"))
        rows = [("build dataset", build)]
        for mode, batches, wrapper in [("sequence", 0, "numpy"), ("sequence", 0, "keras"),
                                       ("many_to_one", 20000, "numpy"), ("many_to_one", 20000, "keras")]:
            rows.append((f"stream {mode} ({wrapper})", run_phase("stream", str(work / "dataset"), mode,
                                                                 str(batches), wrapper)))
    samples = build["audio_minutes"] * 60 * 8000
    original_gb = samples * (CONTEXT * 4 + 256 * 4) / 1e9
    print(f"\naudio: {build['audio_minutes']} min at 8 kHz from {source_bytes / 1e6:.0f} MB of 16 kHz stereo WAV; "
          f"dataset on disk {build['dataset_bytes'] / 1e6:.1f} MB; built in {build['seconds']} s")
    print(f"{'phase':<26}{'peak RSS MiB':>14}{'of it Keras/TF':>16}{'targets/s':>14}")
    for name, row in rows:
        framework = row.get("rss_after_keras_import_mb")
        print(f"{name:<26}{row['peak_rss_mb']:>14.0f}{(f'{framework:.0f}' if framework else '-'):>16}"
              f"{row.get('targets_per_second', 0):>14,}")
    print(f"original AudioRNN layout for the same audio ({CONTEXT}-sample float32 windows + one-hot "
          f"targets): {original_gb:,.0f} GB")


if __name__ == "__main__":
    main()
