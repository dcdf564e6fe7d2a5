"""``python -m audiornn``: what AudioRNN.py does (``--help`` lists the commands)."""

import sys

from audiornn.cli import script

sys.exit(script(name="python -m audiornn"))
