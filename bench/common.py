"""Shared helpers of the benchmarks: the dev recordings and resource readings."""

import os
import resource
import sys
from pathlib import Path

# The Asterisk prompt sets; AUDIORNN_BENCH_SOUNDS names a copy of that folder elsewhere, with the music on hold
# beside it in moh/ (a lent GPU machine has no Debian packages: bench/gpu_train.sh carries what it needs there).
SOUNDS = Path(os.environ.get("AUDIORNN_BENCH_SOUNDS", "/usr/share/asterisk/sounds"))
SPEECH = SOUNDS / "en_US_f_Allison"
MUSIC = SOUNDS.parent / "moh"
INSTALL_HINT = ("apt-get update && apt-get install -y --no-install-recommends "
                "asterisk-core-sounds-en-wav asterisk-core-sounds-es-wav asterisk-core-sounds-ru-wav "
                "asterisk-moh-opsound-wav")
# The vocoder learns one voice (Allison) in two languages and is scored on a voice it never heard as well.
VOCODER_TRAINING = {"en": "en_US_f_Allison", "es": "es_MX_f_Allison"}
VOCODER_UNSEEN = "ru_RU_f_IvrvoiceRU"
# The 16 kHz vocoder learns three voices, two women's and a man's (the G.722 prompts, 16 kHz), and is scored on
# a fourth woman's it never heard. Debian's only man at 16 kHz is Carlo (asterisk-core-sounds-it-g722).
VOCODER16K_TRAINING = {"en": "en_US_f_Allison", "ru": "ru_RU_f_IvrvoiceRU", "it": "it_IT_m_Carlo"}
VOCODER16K_UNSEEN = "fr_CA_f_June"
INSTALL_HINT_16K = ("apt-get update && apt-get install -y --no-install-recommends asterisk-core-sounds-en-g722 "
                    "asterisk-core-sounds-ru-g722 asterisk-core-sounds-it-g722 asterisk-core-sounds-fr-g722")


def dev_speech_files(folder=SPEECH, suffix=".wav"):
    """The 24 minutes of 8 kHz English speech (or another prompt set's ``folder``; ``suffix=".g722"``: its 16 kHz
    G.722 prompts), leaving out silence, beeps and tones."""
    if not folder.is_dir() or not any(folder.rglob(f"*{suffix}")):
        sys.exit(f"the dev speech is not installed; run: {INSTALL_HINT if suffix == '.wav' else INSTALL_HINT_16K}")
    leave_out = ("beep", "confbridge-join", "confbridge-leave")
    return sorted(path for path in folder.rglob(f"*{suffix}")
                  if "silence" not in path.parts and not path.name.startswith(leave_out)
                  and "2tone" not in path.name)


def dev_music_files():
    if not MUSIC.is_dir():
        sys.exit(f"the dev music is not installed; run: {INSTALL_HINT}")
    return sorted(MUSIC.glob("*.wav"))


def peak_rss_mb():
    """Peak resident memory of this process so far, in MiB.

    Linux's VmHWM belongs to this address space; ``ru_maxrss`` would also
    count the peak of the parent this process was forked from.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dev_speech_dataset(folder, *, sample_rate=8000):
    """Build (or reuse) the dataset of the 24 minutes of dev speech in ``folder``."""
    from audiornn import AudioConfig, build_dataset

    return build_dataset(dev_speech_files(), Path(folder), audio_config=AudioConfig(sample_rate=sample_rate),
                         progress=False)


def dev_vocoder_dataset(folder, *, sample_rate=8000):
    """Build (or reuse) the vocoder's dataset in ``folder``: the US English and Mexican Spanish prompts of one
    voice (Allison, 54 minutes), with their 40-band log-mel frames (``--features mel``)."""
    from audiornn import AudioConfig, build_dataset

    files = [path for folder_name in VOCODER_TRAINING.values() for path in dev_speech_files(SOUNDS / folder_name)]
    return build_dataset(files, Path(folder), audio_config=AudioConfig(sample_rate=sample_rate), features="mel",
                         progress=False)


def dev_vocoder16k_dataset(folder):
    """Build (or reuse) the 16 kHz vocoder's dataset in ``folder``: three voices' G.722 prompts (71 minutes), with
    SpeechT5's frames (``--features speecht5``)."""
    from audiornn import AudioConfig, build_dataset

    files = [path for name in VOCODER16K_TRAINING.values() for path in dev_speech_files(SOUNDS / name, ".g722")]
    return build_dataset(files, Path(folder), audio_config=AudioConfig(sample_rate=16000), features="speecht5",
                         progress=False)


def dev_music_dataset(folder, *, sample_rate=8000, trim_silence_db=None):
    """Build (or reuse) the dataset of the 18 minutes of dev music (8 kHz recordings) in ``folder``
    (``trim_silence_db``: each piece's quiet start and fade-out cut, as ``--trim-silence``)."""
    from audiornn import AudioConfig, build_dataset

    return build_dataset(dev_music_files(), Path(folder), audio_config=AudioConfig(sample_rate=sample_rate),
                         trim_silence_db=trim_silence_db, progress=False)


# The shipped music model's data: each piece's quiet start and fade-out (below 40 dB under its loudest 20 ms)
# cut, 15 s of the 18 minutes. Fade-outs were the only quiet the music had, always going on into silence:
# bench/collapse_fixes.py.
MUSIC_TRIM_DB = 40.0


def shipped_music_dataset(folder):
    """The shipped music model's dataset (the dev music, trimmed by :data:`MUSIC_TRIM_DB`) in ``folder``."""
    return dev_music_dataset(folder, trim_silence_db=MUSIC_TRIM_DB)


def cpu_flags():
    """``(model name, set of flags)`` of this machine's CPU, from /proc/cpuinfo."""
    with open("/proc/cpuinfo") as info:
        lines = info.read().splitlines()
    flags = next((line for line in lines if line.startswith("flags")), "").split(":")[-1].split()
    name = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "?")
    return name, set(flags)


INSTRUCTIONS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")  # what matmul and bfloat16 speed hang on


def instructions_line():
    """``"avx2 yes, avx512f no, ..."``: which of :data:`INSTRUCTIONS` this machine's CPU has."""
    flags = cpu_flags()[1]
    return ", ".join(f"{flag} {'yes' if flag in flags else 'no'}" for flag in INSTRUCTIONS)


def unseen_voice(model):
    """The voice a shipped vocoder never heard, at the model's rate: its name and recordings (the Russian 8 kHz
    prompts for the 8 kHz vocoder, June's 16 kHz G.722 prompts for a 16 kHz one)."""
    if model.audio_config.sample_rate == 16000:
        return VOCODER16K_UNSEEN, sorted(dev_speech_files(SOUNDS / VOCODER16K_UNSEEN, ".g722"))
    return VOCODER_UNSEEN, sorted(dev_speech_files(SOUNDS / VOCODER_UNSEEN))


def pick(files, count, seed=0):
    """``count`` of ``files`` (all when fewer), drawn without replacement from ``seed``, in their order."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [files[index] for index in sorted(rng.choice(len(files), min(count, len(files)), replace=False))]


def run_jobs(function, jobs, *, side_by_side=False):
    """``function(*job)`` for each job: one after the other, or all at the same time in processes of their own
    (each then has its share of the machine, and all the same share of whatever else runs on it)."""
    if not side_by_side:
        return [function(*job) for job in jobs]
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(len(jobs)) as pool:
        return pool.starmap(function, jobs)


def quiet_tensorflow():
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
