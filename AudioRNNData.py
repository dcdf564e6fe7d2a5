#!/usr/bin/env python3
"""Build a dataset folder from audio files: the same as ``AudioRNN.py data``."""

import sys

from audiornn.cli import main

if __name__ == "__main__":
    sys.exit(main(["data", *sys.argv[1:]], prog="AudioRNNData.py"))
