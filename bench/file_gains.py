"""How far each real recording is raised to full scale when a dataset is built: the largest gains.

Usage: python bench/file_gains.py

``prepare_audio`` warns of a file raised more than ``QUIET_GAIN`` (60 dB) to
full scale as nearly silent. This reads the Asterisk prompts (English, Russian
and Italian, 8 kHz wav and 16 kHz G.722) and the music on hold, prepares each
as a dataset build does, and prints the three largest gains of each set, to
show how far real recordings stay below that line.
"""

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import MUSIC, SOUNDS  # noqa: E402

SETS = ((SOUNDS / "en_US_f_Allison", ".wav", 8000), (MUSIC, ".wav", 8000),
        (SOUNDS / "ru_RU_f_IvrvoiceRU", ".g722", 16000), (SOUNDS / "it_IT_m_Carlo", ".g722", 16000))


def main():
    from audiornn import AudioConfig
    from audiornn.audio_io import QUIET_GAIN, prepare_audio, read_audio
    from audiornn.errors import AudioFileError

    print(f"warned above: {20 * math.log10(QUIET_GAIN):.0f} dB")
    for folder, suffix, rate in SETS:
        gains = []
        for path in sorted(folder.rglob(f"*{suffix}")):
            if "silence" in path.parts:
                continue
            try:
                audio, source_rate = read_audio(path)
                gains.append((prepare_audio(audio, source_rate, audio_config=AudioConfig(sample_rate=rate),
                                            source=str(path))[1], path.name))
            except AudioFileError:
                continue
        gains.sort()
        shown = ", ".join(f"{name} {20 * math.log10(gain):.1f} dB" for gain, name in gains[-3:])
        print(f"{folder.name} ({suffix}, {len(gains)} files): largest {shown}")


if __name__ == "__main__":
    main()
