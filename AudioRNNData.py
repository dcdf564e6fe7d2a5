#!/usr/bin/env python3
"""Build a dataset folder from audio files: the same as ``AudioRNN.py data``."""

import sys

from audiornn.cli import script

if __name__ == "__main__":
    sys.exit(script(["data", *sys.argv[1:]], prog="AudioRNNData.py"))
