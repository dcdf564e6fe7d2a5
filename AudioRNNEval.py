#!/usr/bin/env python3
"""Plot training curves, score held-out audio beside baselines, and draw the sound.

The same as ``AudioRNN.py eval``; ``--help`` lists the options.
"""

import sys

from audiornn.cli import script

if __name__ == "__main__":
    sys.exit(script(["eval", *sys.argv[1:]], prog="AudioRNNEval.py"))
