"""Command line: one parser with subcommands; handlers call library functions.

``AudioRNN.py`` runs :func:`main`; ``AudioRNNData.py`` and ``AudioRNNEval.py``
run the ``data`` and ``eval`` subcommands. Library functions never see
argparse: the parsed arguments are unpacked into keyword arguments here, and
:func:`main` is the one place that turns an :class:`AudioRNNError` into a
one-line message and exit code 2.
"""

import argparse
import logging
import sys
from pathlib import Path

from . import __version__
from .config import AudioConfig
from .errors import AudioRNNError

__all__ = ["DEFAULT_DEMO_FOLDER", "SAMPLE_DATA", "build_parser", "main"]

logger = logging.getLogger("audiornn")

REPOSITORY = Path(__file__).resolve().parent.parent
# The bundled sample of real speech, used by every command given no audio.
SAMPLE_DATA = REPOSITORY / "data"
DEFAULT_DEMO_FOLDER = Path("runs") / "demo"


def _add_audio_options(parser):
    defaults = AudioConfig()
    group = parser.add_argument_group("audio processing")
    group.add_argument("--sample-rate", type=int, default=defaults.sample_rate,
                       help="training rate in Hz; inputs are resampled to it (default %(default)s)")
    group.add_argument("--preemphasis", type=float, default=defaults.preemphasis,
                       help="pre-emphasis coefficient in [0, 1); 0 turns it off (default %(default)s)")
    group.add_argument("--mu", type=int, default=defaults.mu,
                       help="mu of the mu-law, 1..255; mu + 1 classes (default %(default)s)")


def _add_data_arguments(parser):
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="audio files or folders (searched recursively); default: the bundled "
                             "sample in data/")
    parser.add_argument("--output", "-o", required=True, metavar="DIR",
                        help="dataset folder to create")
    _add_audio_options(parser)
    parser.add_argument("--validation-fraction", type=float, default=0.1,
                        help="share of the audio held out for validation: whole files when there "
                             "are several, the tail when there is one (default %(default)s)")
    parser.add_argument("--trim-silence", type=float, default=None, metavar="DB",
                        help="cut each file's start and end quieter than DB decibels below its peak")
    parser.add_argument("--strict", action="store_true",
                        help="stop at the first unreadable, silent or broken file instead of "
                             "skipping it")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a different dataset already in DIR")


def _audio_config(arguments):
    return AudioConfig(sample_rate=arguments.sample_rate, mu=arguments.mu,
                       preemphasis=arguments.preemphasis)


def _inputs_or_sample(inputs):
    if inputs:
        return inputs
    logger.info("no INPUT given: using the bundled sample in %s", SAMPLE_DATA)
    return [SAMPLE_DATA]


def run_data(arguments):
    from .dataset import build_dataset

    dataset = build_dataset(
        _inputs_or_sample(arguments.inputs), arguments.output,
        audio_config=_audio_config(arguments),
        validation_fraction=arguments.validation_fraction,
        trim_silence_db=arguments.trim_silence, strict=arguments.strict,
        overwrite=arguments.overwrite, progress=not arguments.quiet)
    print(f"dataset: {dataset.path} ({dataset.seconds('train'):.1f} s training, "
          f"{dataset.seconds('validation'):.1f} s validation, "
          f"{dataset.metadata['skipped_count']} file(s) skipped)")
    return 0


def run_demo(arguments):
    from .dataset import build_dataset

    folder = Path(arguments.output)
    folder.mkdir(parents=True, exist_ok=True)
    dataset = build_dataset([SAMPLE_DATA], folder / "dataset", progress=not arguments.quiet)
    print(f"dataset: {dataset.path} ({dataset.seconds('train'):.1f} s training, "
          f"{dataset.seconds('validation'):.1f} s validation)")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="AudioRNN.py",
        description="Learn raw audio one sample at a time and generate new audio from it. "
                    "With no subcommand, runs the demo on the bundled sample in data/.")
    parser.add_argument("--version", action="version", version=f"audiornn {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true", help="no progress bars or info lines")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")

    data = subcommands.add_parser("data", parents=[common], help="build a dataset folder from audio files",
                                  description="Build a dataset folder: resample, pre-emphasise and "
                                              "mu-law encode audio files and folders.")
    _add_data_arguments(data)
    data.set_defaults(handler=run_data)

    demo = subcommands.add_parser("demo", parents=[common], help="the main job on the bundled sample (the default)")
    demo.add_argument("--output", "-o", default=str(DEFAULT_DEMO_FOLDER), metavar="DIR",
                      help="folder for everything the demo writes (default %(default)s)")
    demo.set_defaults(handler=run_demo)
    return parser


def main(argv=None, *, prog=None):
    """Run the command line; returns the exit code (0 ok, 2 bad input, 130 interrupted)."""
    parser = build_parser()
    if prog:
        parser.prog = prog
    arguments = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if arguments.command is None:
        arguments = parser.parse_args(["demo"])
    logging.basicConfig(level=logging.WARNING if arguments.quiet else logging.INFO,
                        format="%(levelname)s: %(message)s" if arguments.quiet else "%(message)s",
                        stream=sys.stderr)
    try:
        return arguments.handler(arguments)
    except AudioRNNError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
