"""Where generated audio goes (audiornn.sink): whole 16-bit files, room on the disk checked first, a full disk."""

import os
import re
import shutil

import numpy as np
import pytest
import soundfile
from audiornn import AudioConfig
from audiornn.errors import (
    ParameterError,
)
from audiornn.generation import generate
from audiornn.runs import load_model
from audiornn.model import ModelConfig, build_model

from conftest import SMALL_MODEL, sine


def test_output_files_are_16_bit_wav_at_the_model_rate(tmp_path):
    model = build_model(ModelConfig(num_layers=1, units=16, embedding_dim=8), AudioConfig(sample_rate=11025))
    paths = generate(model, seconds=0.1, count=3, seed=0, output=tmp_path / "out.wav", progress=False)
    assert [path.name for path in paths] == ["out_1.wav", "out_2.wav", "out_3.wav"]
    for path in paths:
        info = soundfile.info(str(path))
        assert (info.samplerate, info.channels, info.subtype, info.frames) == (11025, 1, "PCM_16", 1102)
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["out_1.wav", "out_2.wav", "out_3.wav"]


def test_a_disk_that_fills_while_writing_is_one_clear_line_and_leaves_nothing(gru_model, tmp_path, monkeypatch):
    import shutil

    import soundfile
    from audiornn import sink

    def full(self, data):
        raise soundfile.LibsndfileError(1, "System error")

    monkeypatch.setattr(soundfile.SoundFile, "write", full)
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(sink.shutil, "disk_usage", lambda path: usage._replace(free=1000))
    with pytest.raises(ParameterError, match=r"cannot write '.*a\.wav': the disk is full \(1.0 kB free\)") as caught:
        generate(gru_model, seconds=0.01, output=tmp_path / "a.wav", progress=False)
    assert list(tmp_path.iterdir()) == []
    # the machine refused the work, which bad input (exit 2) did not: the command line exits 1
    from audiornn.cli import main

    assert caught.value.exit_code == 74
    assert main(["generate", "--model", "speech", "--seconds", "0.01", "--output", str(tmp_path / "a.wav"),
                 "--quiet"]) == 74
    assert main(["generate", "--model", "speech", "--seconds", "-1", "--output", str(tmp_path / "a.wav"),
                 "--quiet"]) == 2
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_reaches_the_limit_on_file_size_says_so(gru_model, tmp_path):
    import resource

    generate(gru_model, seconds=2.0, progress=False)  # compiled before the limit: no cache entry written under it
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, hard))  # ulimit -f (Python ignores SIGXFSZ: writes fail)
    try:
        with pytest.raises(ParameterError, match=r"cannot write '.*a\.wav': the limit on file size \(20.0 kB\) is "
                                                 r"reached; nothing was left in its place: raise the limit on file "
                                                 r"size \(ulimit -f\) or write elsewhere$"):
            generate(gru_model, seconds=2.0, output=tmp_path / "a.wav", progress=False)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert list(tmp_path.iterdir()) == []


def test_the_disk_room_message_shows_its_numbers(tmp_path, monkeypatch):
    from audiornn import sink

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(sink.shutil, "disk_usage", lambda path: usage._replace(free=30_000))
    with pytest.raises(ParameterError, match=r"would take 32.0 kB but .* has 30.0 kB free"):
        sink.check_room(tmp_path / "a.wav", 2, 8000, 8000)


def test_generation_checks_the_disk_and_writes_rf64_past_the_wav_limit(tmp_path, monkeypatch):
    import shutil

    from audiornn import generation, sink
    from audiornn.model import build_model

    model = build_model(SMALL_MODEL)
    with pytest.raises(ParameterError, match=r"would take 16.0 TB but .* [kMGT]B free"):
        generation.generate(model, seconds=1e9, output=tmp_path / "huge.wav", progress=False)
    assert list(tmp_path.iterdir()) == []
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(sink.shutil, "disk_usage", lambda path: usage._replace(free=10 ** 13))
    paths = [tmp_path / "a.wav"]
    assert sink.check_room(paths[0], 1, 2 ** 31 + 100, 8000) == "RF64"
    assert sink.check_room(paths[0], 1, 2 ** 31 - 200, 8000) == "WAV"  # (the header and the INFO chunk fit)


def test_an_output_that_is_one_of_the_inputs_is_refused_before_any_work(gru_model, tmp_path, write_audio):
    from audiornn.vocoder import vocode

    prime = write_audio("prime.wav", sine(300.0, 0.2, 8000))
    before = prime.read_bytes()
    with pytest.raises(ParameterError, match="is one of the inputs: it would be written over"):
        generate(gru_model, seconds=0.01, prime=prime, output=prime, progress=False)
    with pytest.raises(ParameterError, match="is one of the inputs"):
        vocode(load_model("vocoder"), [prime], output=tmp_path / "prime.wav", progress=False)
    assert prime.read_bytes() == before


@pytest.mark.slow  # over 3 s on 2 cores
def test_a_file_already_at_output_is_kept_unless_overwrite(gru_model, tmp_path, capsys):
    import numpy as np
    from audiornn.cli import main
    from audiornn.vocoder import vocode

    earlier = tmp_path / "take.wav"
    soundfile.write(earlier, np.zeros(100), 8000)
    before = earlier.read_bytes()
    with pytest.raises(ParameterError, match=r"'.*take\.wav' exists: name another --output, or pass --overwrite \(overwrite=True\) to replace it"):
        generate(gru_model, seconds=0.01, output=earlier, progress=False)
    (tmp_path / "many_2.wav").write_bytes(before)
    with pytest.raises(ParameterError, match=r"many_2\.wav' exists"):  # one of the numbered files is enough
        generate(gru_model, seconds=0.01, count=3, output=tmp_path / "many.wav", progress=False)
    frames = np.zeros((3, 40), np.float32) - 5.0 + np.linspace(0.0, 1.0, 40, dtype=np.float32)
    with pytest.raises(ParameterError, match="exists"):
        vocode(load_model("vocoder"), frames, output=earlier, progress=False)
    model_file = tmp_path / "m.keras"
    gru_model.save(model_file)
    assert main(["generate", "--model", str(model_file), "--seconds", "0.01", "--output", str(earlier),
                 "--quiet"]) == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert earlier.read_bytes() == before and sorted(path.name for path in tmp_path.iterdir()) == [
        "m.keras", "many_2.wav", "take.wav"]  # nothing written, nothing lost
    assert main(["generate", "--model", str(model_file), "--seconds", "0.01", "--output", str(earlier),
                 "--overwrite", "--quiet"]) == 0
    assert soundfile.info(str(earlier)).frames == 80
    [path] = vocode(load_model("vocoder"), frames, output=earlier, progress=False, overwrite=True)
    assert soundfile.info(str(path)).frames == 3 * 80


@pytest.mark.slow
def test_vocode_out_of_room_names_its_own_remedy_and_a_full_disk_leaves_nothing(tmp_path, monkeypatch, capsys):
    import numpy as np
    from audiornn import sink
    from audiornn.cli import main
    from audiornn.vocoder import vocode

    model = load_model("vocoder")
    frames = np.zeros((20, model.feature_config.bands), np.float32) - 5.0 + np.linspace(
        0.0, 1.0, model.feature_config.bands, dtype=np.float32)  # (not flat: flat frames are refused)
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(sink.shutil, "disk_usage", lambda path: usage._replace(free=1000))
    with pytest.raises(ParameterError, match=r"vocode fewer or shorter inputs") as refused:
        vocode(model, frames, output=tmp_path / "a.wav", progress=False)
    assert "--seconds" not in str(refused.value)  # generate's flags, which vocode does not have
    np.save(tmp_path / "frames.npy", frames)
    assert main(["vocode", "--model", "vocoder", str(tmp_path / "frames.npy"), "--output", str(tmp_path / "b.wav"),
                 "--quiet"]) == 2
    assert "vocode fewer or shorter inputs" in capsys.readouterr().err
    monkeypatch.setattr(sink.shutil, "disk_usage", lambda path: usage._replace(free=5000))  # room for 3.2 kB

    def full(self, data):
        raise soundfile.LibsndfileError(1, "System error")

    monkeypatch.setattr(soundfile.SoundFile, "write", full)
    for fold in (True, False):
        with pytest.raises(ParameterError, match=r"cannot write '.*c\.wav': the disk is full \(5.0 kB free\)"):
            vocode(model, frames, output=tmp_path / "c.wav", progress=False, fold=fold)
        assert sorted(path.name for path in tmp_path.iterdir()) == ["frames.npy"]


def test_resynthesis_of_a_model_that_is_not_a_vocoder_is_one_line(tmp_path, capsys):
    from audiornn.cli import SAMPLE_DATA, main

    assert main(["eval", "--model", "speech", "--audio", str(SAMPLE_DATA / "agent-user.wav"), "--resynthesis",
                 "--output", str(tmp_path), "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert "reads no spectrogram features" in error and "Traceback" not in error and len(error.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_failure_while_opening_the_outputs_leaves_no_file_and_keeps_the_old_ones(gru_model, tmp_path, monkeypatch):
    import resource

    import numpy as np
    from audiornn import sink

    earlier = tmp_path / "k_2.wav"
    soundfile.write(earlier, np.zeros(100), 8000)
    before = earlier.read_bytes()
    opened = []
    real = soundfile.SoundFile

    def interrupted(*arguments, **options):  # Ctrl-C while the third file is being opened
        if len(opened) == 2:
            raise KeyboardInterrupt
        opened.append(arguments[0])
        return real(*arguments, **options)

    monkeypatch.setattr(soundfile, "SoundFile", interrupted)
    with pytest.raises(KeyboardInterrupt):
        generate(gru_model, seconds=0.01, count=4, output=tmp_path / "k.wav", overwrite=True, progress=False)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["k_2.wav"] and earlier.read_bytes() == before
    # More files than the process may open: the limit is raised where the system allows it, else refused at once
    limits = []
    monkeypatch.setattr(resource, "getrlimit", lambda kind: (1024, 4096))
    monkeypatch.setattr(resource, "setrlimit", lambda kind, values: limits.append(values))
    sink.output_paths(tmp_path / "many.wav", 2000)
    assert limits == [(2000 + sink.OPEN_FILES_SPARE, 4096)]
    with pytest.raises(ParameterError, match=r"5,000 output files written at once need 5,256 open files, more than "
                                             r"this system allows one process \(4,096\)"):
        sink.output_paths(tmp_path / "many.wav", 5000)

    def capped(kind, values):  # an unlimited hard limit, but a cap of the system's below it
        raise ValueError("not allowed")

    monkeypatch.setattr(resource, "getrlimit", lambda kind: (256, resource.RLIM_INFINITY))
    monkeypatch.setattr(resource, "setrlimit", capped)
    with pytest.raises(ParameterError, match=r"the system does not allow this process more than 256"):
        sink.output_paths(tmp_path / "many.wav", 3000)
    # A folder that cannot be written is said as such, not as too many streams
    import tempfile

    monkeypatch.undo()

    def refused(*arguments, **options):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(PermissionError):
        generate(gru_model, seconds=0.01, output=tmp_path / "p.wav", progress=False)


def test_sizes_are_said_in_a_unit_that_reads():
    from audiornn.sink import size_text

    assert size_text(3200) == "3.2 kB" and size_text(1.1e9) == "1.1 GB" and size_text(2e15) == "2,000.0 TB"
    assert size_text(2e300) == "2e+288 TB"  # not three hundred digits


def test_audio_audiornn_wrote_says_so_and_a_dataset_built_on_it_warns(tmp_path, caplog):
    import shutil

    import audiornn
    from audiornn.cli import SAMPLE_DATA
    from audiornn.sink import made_by_audiornn

    folder = tmp_path / "takes"
    folder.mkdir()
    shutil.copy(SAMPLE_DATA / "agent-user.wav", folder / "real.wav")
    audiornn.generate("speech", seconds=0.3, output=folder / "made.wav", progress=False)
    assert made_by_audiornn(folder / "made.wav") == "generate" and made_by_audiornn(folder / "real.wav") is None
    with caplog.at_level("WARNING", logger="audiornn"):
        audiornn.build_dataset(folder, tmp_path / "ds", progress=False, keep_near_copies=True)
    assert "made.wav' was written by audiornn (generate), not recorded" in caplog.text
    assert "real.wav" not in caplog.text


def test_a_bad_file_among_evals_audio_is_named_with_what_to_do(tmp_path, capsys):
    import shutil

    from audiornn.cli import SAMPLE_DATA, main

    folder = tmp_path / "audio"
    folder.mkdir()
    shutil.copy(SAMPLE_DATA / "agent-user.wav", folder / "a.wav")
    (folder / "zz_empty.g722").write_bytes(b"")
    assert main(["eval", "--model", "speech", "--audio", str(folder), "--output", str(tmp_path / "out"),
                 "--json", str(tmp_path / "scores.json"), "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert "zz_empty.g722' is empty (0 bytes): every file of --audio is scored, so leave it out of --audio" in error
    assert not (tmp_path / "scores.json").exists() and len(error.splitlines()) == 1
    # several bad files: every one named in one error, not one a run
    (folder / "b.wav").write_text("not audio")
    (folder / "c.wav").write_bytes(b"")
    assert main(["eval", "--model", "speech", "--audio", str(folder), "--output", str(tmp_path / "out"),
                 "--json", str(tmp_path / "scores.json"), "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert "3 of the 4 files cannot be used: " in error and "so leave them out of --audio" in error
    assert all(f"{name}'" in error for name in ("b.wav", "c.wav", "zz_empty.g722")) and len(error.splitlines()) == 1


def test_outputs_keep_their_suffix_and_a_folder_that_cannot_be_written_is_named(tmp_path, monkeypatch):
    import errno
    import tempfile

    from audiornn.errors import ParameterError
    from audiornn.sink import output_paths

    assert [path.name for path in output_paths(tmp_path / "b.WAV", 2)] == ["b_1.WAV", "b_2.WAV"]
    # A folder (generate's --output takes a file): said so, with a file in it to name (a probe's 'out/' was told
    # "must name a .wav file, got 'out'", its slash gone)
    for folder in (f"{tmp_path}/new/", tmp_path):
        with pytest.raises(ParameterError, match=rf"--output '{folder}' is a folder: name a .wav file to write in "
                                                 rf"it, as in '{str(folder).rstrip('/')}/generated.wav'"):
            output_paths(folder, 1)
    with pytest.raises(ParameterError, match=f"--output must name a .wav file, got '{tmp_path}/take.mp3'"):
        output_paths(tmp_path / "take.mp3", 1)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    with pytest.raises(ParameterError, match=rf"--output '{tmp_path}/x.wav': cannot write in '{tmp_path}' "
                                             rf"\(Read-only file system\): choose a folder on a disk that is not "
                                             rf"read-only \(nothing was done\)") as refused:
        output_paths(tmp_path / "x.wav", 1)
    assert refused.value.exit_code == 74  # the machine refused it (as a write refused later), not a wrong argument
    # A folder not for writing at all (a probe's /proc: "No such file or directory") was told to free space
    # (and is a wrong argument, exit 2, where mending the machine would not help)
    for number, advice, code in ((errno.ENOENT, "choose a folder you can write", 2), (errno.ENOSPC, "free space", 74)):
        monkeypatch.setattr(tempfile, "TemporaryFile", lambda *args, **kwargs: (_ for _ in ()).throw(
            OSError(number, os.strerror(number))))
        with pytest.raises(ParameterError, match=rf"\({os.strerror(number)}\): {advice} \(nothing was done\)") \
                as refused:
            output_paths(tmp_path / "x.wav", 1)
        assert refused.value.exit_code == code


def test_a_folder_that_cannot_be_made_is_the_machines_refusal(tmp_path, monkeypatch):
    import errno
    from pathlib import Path

    from audiornn.errors import RunError
    from audiornn.files import make_folder

    def refuse(*arguments, **options):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", refuse)  # a folder root cannot write either
    with pytest.raises(RunError, match=rf"--output '{tmp_path}/runs': cannot create it \(Permission denied\): "
                                       rf"choose a folder you can write$") as refused:
        make_folder(tmp_path / "runs", "--output", RunError)
    assert refused.value.exit_code == 74
    monkeypatch.undo()
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(ParameterError, match="is a file, not a folder") as wrong:  # a wrong argument: exit 2
        make_folder(blocked / "runs", "--output")
    assert wrong.value.exit_code == 2


def test_a_file_another_process_wrote_meanwhile_is_kept_without_overwrite(tmp_path):
    import numpy as np
    from audiornn.sink import AudioSink

    path = tmp_path / "take.wav"
    with pytest.raises(ParameterError, match="take.wav' was written by another process while this one ran: it is "
                                             "kept, and this one's was not written; .*--overwrite"):
        with AudioSink([path], 1, AudioConfig(), overwrite=False) as sink:
            sink.put(0, np.zeros(100, np.float32))
            soundfile.write(str(path), np.full(50, 0.5), 8000)  # the other process's, checked after ours was
    assert soundfile.read(str(path))[0].size == 50 and [entry.name for entry in tmp_path.iterdir()] == ["take.wav"]
    with AudioSink([path], 1, AudioConfig(), overwrite=True) as sink:  # --overwrite: replaced
        sink.put(0, np.zeros(100, np.float32))
    assert soundfile.read(str(path))[0].size == 100


def test_decoded_audio_beyond_full_scale_is_cut_and_said_when_the_sink_closes(tmp_path, caplog):
    from audiornn import AudioConfig, dsp
    from audiornn.sink import AudioSink, beyond_full_scale_unsaid

    config = AudioConfig(level=0.5)
    loud = dsp.mu_law_encode(np.concatenate([np.zeros(50), np.full(10, 0.99), np.zeros(40)]).astype(np.float32))
    quiet = dsp.mu_law_encode(np.zeros(100, np.float32))
    with caplog.at_level("WARNING", logger="audiornn"):
        with AudioSink([tmp_path / "a.wav", tmp_path / "b.wav"], 2, config) as sink:
            sink.emit(np.stack([quiet, loud]))
    # the file that holds them is named, not every file written (a.wav ran within full scale)
    assert re.search(r"\d+ generated sample\(s\) in '[^']*b.wav' \(\d+ % of them\) ran beyond full scale, up "
                     r"to \d+\.\d dB over, and were cut there: a model early in its training overshoots far; a "
                     r"trained one draws a few peaks past its recordings' loudest, whose level \(0.50 of full scale, "
                     r"from its dataset\) leaves 6.0 dB of room", caplog.text)
    assert "a.wav" not in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="audiornn"):  # returned, not written: the rows of the array named
        with AudioSink(None, 2, config) as sink:
            sink.emit(np.stack([quiet, loud]))
    assert re.search(r"generated sample\(s\) in row 1 of the audio returned \(\d+ % of them\) ran beyond", caplog.text)
    audio, _ = soundfile.read(str(tmp_path / "b.wav"))
    assert np.max(np.abs(audio)) <= 1.0 and np.max(np.abs(audio)) > 0.99
    caplog.clear()
    with caplog.at_level("WARNING", logger="audiornn"):
        with AudioSink(None, 1, config) as sink:
            sink.emit(quiet[None])
        with beyond_full_scale_unsaid(), AudioSink(None, 1, config) as sink:  # training's previews
            sink.emit(loud[None])
    assert "beyond full scale" not in caplog.text and np.max(np.abs(sink.audio())) == 1.0


def test_the_cut_warning_of_a_model_whose_recordings_reach_full_scale_says_no_room(caplog):
    # A level of 1 (or more: a pre-emphasised peak) leaves no room; it was said as "-0.0 dB of room"
    from audiornn import AudioConfig, dsp
    from audiornn.sink import AudioSink

    loud = dsp.mu_law_encode(np.concatenate([np.zeros(50), np.full(10, 0.99), np.zeros(40)]).astype(np.float32))
    for level in (1.0, 1.5):
        caplog.clear()
        with caplog.at_level("WARNING", logger="audiornn"):
            with AudioSink(None, 1, AudioConfig(level=level)) as sink:
                sink.emit(loud[None])
        assert f"whose level ({level:.2f} of full scale, from its dataset) leaves none" in caplog.text, caplog.text
