#!/usr/bin/env python3
"""AudioRNN: build datasets, train, generate and evaluate (``--help`` lists the commands).

With no arguments, runs the demo on the bundled sample in data/.
"""

import sys

from audiornn.cli import script

if __name__ == "__main__":
    sys.exit(script())
