"""Put in place, in the repository root, what `sh bench/gpu_train.sh` carries to a lent GPU machine (one command,
so that a session that is lent one spends its minutes training, not preparing):

    python bench/gpu_prepare.py [vocoder-16k|music] [--python-version 3.12]

- ``.whl/``: the wheels of what that machine lacks (JAX's Python there has no Keras, soundfile, librosa, g722),
  at the versions of Pipfile.lock, for its Python (``pip download --no-deps --only-binary=:all:``);
- ``.gpu/sounds/`` (vocoder-16k: the G.722 prompts of the voices it learns, as ``bench/common.py`` picks them) or
  ``.gpu/moh/`` (music: the music on hold);
- ``/.whl/`` and ``/.gpu/`` in ``.git/info/exclude``, so that git (and the device tool's copy of the tree) leaves
  them out unless named in ``carry``.

It ends by printing the size of what travels (at most 64 MiB may) and the call to make.
"""
import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# What the lent machine's Python lacks (it has JAX, NumPy, SciPy, scikit-learn and numba): gpu_train.sh
# installs these --no-deps.
WHEELS = ("keras", "namex", "optree", "soundfile", "cffi", "pycparser", "g722", "librosa", "audioread",
          "decorator", "pooch", "soxr", "platformdirs")
CARRY_LIMIT = 64 * 2 ** 20
# The calls, as bench/RESULTS.md reasons them (the vocoder: from the shipped weights, a fresh schedule).
CALLS = {"vocoder-16k": "sh bench/gpu_train.sh vocoder-16k 9 1024 570 vocoder-16k 0.002",
         "music": "sh bench/gpu_train.sh music 9 256 570"}


def locked_versions(names):
    lock = json.loads((ROOT / "Pipfile.lock").read_text())
    versions = {}
    for name in names:
        entry = lock["default"].get(name) or lock["develop"].get(name)
        if entry is None:
            sys.exit(f"{name} is not in Pipfile.lock: add it to the Pipfile, or take it out of WHEELS here")
        versions[name] = entry["version"]
    return versions


def download_wheels(folder, python_version):
    shutil.rmtree(folder, ignore_errors=True)     # other versions left from an earlier preparation would install too
    folder.mkdir()
    pins = [f"{name}=={version.lstrip('=')}" for name, version in locked_versions(WHEELS).items()]
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--python-version", python_version, "--platform", "manylinux2014_x86_64",
                    "--platform", "manylinux_2_28_x86_64", "--implementation", "cp", "--dest", str(folder), *pins],
                   check=True)


def copy_tree_files(files, source_root, target_root):
    for path in files:
        target = target_root / path.relative_to(source_root)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.stat().st_size != path.stat().st_size:
            shutil.copy2(path, target)


def copy_material(material):
    if material == "vocoder-16k":
        files = [path for name in common.VOCODER16K_TRAINING.values()
                 for path in common.dev_speech_files(common.SOUNDS / name, ".g722")]
        copy_tree_files(files, common.SOUNDS, ROOT / ".gpu" / "sounds")
    else:
        copy_tree_files(common.dev_music_files(), common.MUSIC, ROOT / ".gpu" / "moh")


def exclude_from_git():
    exclude = Path(subprocess.run(["git", "rev-parse", "--git-path", "info/exclude"], cwd=ROOT, check=True,
                                  capture_output=True, text=True).stdout.strip())
    exclude = exclude if exclude.is_absolute() else ROOT / exclude
    exclude.parent.mkdir(parents=True, exist_ok=True)
    lines = exclude.read_text().splitlines() if exclude.exists() else []
    missing = [line for line in ("/.whl/", "/.gpu/") if line not in lines]
    if missing:
        exclude.write_text("\n".join(lines + missing) + "\n")


def size(folder):
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("material", nargs="?", default="vocoder-16k", choices=sorted(CALLS))
    parser.add_argument("--python-version", default="3.12", help="the lent machine's Python (default 3.12)")
    args = parser.parse_args()
    exclude_from_git()
    download_wheels(ROOT / ".whl", args.python_version)
    copy_material(args.material)
    carried = {name: size(ROOT / name) for name in (".whl", ".gpu")}
    total = sum(carried.values())
    print(", ".join(f"{name}/ {count / 2 ** 20:.1f} MiB" for name, count in carried.items())
          + f": {total / 2 ** 20:.1f} MiB of the {CARRY_LIMIT // 2 ** 20} MiB a call carries")
    if total > CARRY_LIMIT:
        sys.exit("too much to carry: empty .gpu/ of another material's files (rm -r .gpu) and run this again")
    print(f'then, with the device tool: run(command="{CALLS[args.material]}", carry=[".whl", ".gpu"], '
          'timeout_s=600)')


if __name__ == "__main__":
    main()
