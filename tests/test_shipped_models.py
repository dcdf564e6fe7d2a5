"""The models that ship with the package: listed, loaded, generated and vocoded by name, started from, credited."""

import json
from pathlib import Path

import audiornn
import keras
import numpy as np
import pytest
import soundfile
from audiornn.cli import main
from audiornn.errors import ModelFileError, ParameterError
from audiornn.features import audio_to_features
from audiornn.pretrained import MODELS_FOLDER, format_models_table, shipped_models
from audiornn.training import TrainConfig, train

NAMES = ("speech", "music", "vocoder", "vocoder-16k")
GENERATORS = ("speech", "music")
BUNDLED = Path(__file__).resolve().parent.parent / "data"


def test_every_model_ships_with_its_card():
    models = shipped_models()
    assert tuple(models) == NAMES
    for name, card in models.items():
        assert (MODELS_FOLDER / card["file"]).stat().st_size == card["bytes"] < 5_000_000
        # An hour or more on the developers' 2 cores, or on a GPU that its card names.
        assert card["training_minutes"] >= 60 or "GPU" in card.get("trained_on", "")
        assert "CC-BY-SA-3.0" in card["credit"]
        # Better than the linear predictor on its own validation audio, as a trained model must be.
        assert card["validation_bits_per_sample"] < card["baselines"]["linear_predictor_16"]
    # The vocoder's copy-synthesis of the voice it learned beats Griffin-Lim from the same frames.
    learned = models["vocoder"]["copy_synthesis"]["validation"]
    assert learned["files"] >= 20 and learned["vocoder_pesq"] > learned["griffin_lim_pesq"]
    # Each vocoder's card has its scores on held-out files of its voices and on a voice it never heard.
    for name in ("vocoder", "vocoder-16k"):
        assert set(models[name]["copy_synthesis"]) == {"validation", "unseen voice"}


def test_the_wideband_vocoder_loads_by_name_for_speecht5s_frames():
    model = audiornn.load_model("vocoder-16k")
    assert model.audio_config.sample_rate == 16000
    assert model.feature_config.kind == "speecht5" and model.feature_config.bands == 80
    card = shipped_models()["vocoder-16k"]
    assert "vocoder-16k" in card["description"] and "CC-BY-3.0" in card["credit"]
    # Trained on a lent GPU: the listing says where, and how many steps (the measure that travels between
    # machines; its minutes do not).
    assert f"vocoder-16k: trained on {card['trained_on']}, {card['optimizer_steps']:,} optimizer steps" in \
        format_models_table()


@pytest.mark.parametrize("name", GENERATORS)
def test_a_shipped_model_loads_and_generates_by_name(name):
    model = audiornn.load_model(name)
    assert model.audio_config.sample_rate == 8000 and not model.model_config.labels
    audio = audiornn.generate(model, seconds=0.2, seed=0, progress=False)
    assert audio.shape == (1, 1600) and np.all(np.isfinite(audio)) and np.abs(audio).max() > 0


@pytest.mark.slow
def test_the_shipped_vocoder_turns_a_recordings_frames_back_into_it(tmp_path):
    """By name from the command line, on a bundled prompt (the voice it learned): the output follows the
    input's loudness frame by frame. Without frames there is nothing to generate from, and it says so."""
    source = BUNDLED / "agent-user.wav"
    assert main(["vocode", "--model", "vocoder", str(source), "--output", str(tmp_path / "out.wav"), "--quiet"]) == 0
    model = audiornn.load_model("vocoder")
    original, rate = soundfile.read(source)
    vocoded, vocoded_rate = soundfile.read(tmp_path / "out.wav")
    assert vocoded_rate == rate == 8000 and abs(vocoded.size - original.size) < model.feature_config.hop
    length = min(original.size, vocoded.size)
    loudness = [audio_to_features(audio[:length], rate, model.feature_config).mean(axis=1)
                for audio in (original, vocoded)]
    assert np.corrcoef(*loudness)[0, 1] > 0.9
    with pytest.raises(ParameterError, match="vocoder"):
        audiornn.generate(model, seconds=0.1, progress=False)


@pytest.mark.slow
def test_a_vocoder_of_ones_own_voice_starts_from_the_shipped_one(tmp_path):
    """Fine-tuning on a dataset with the same frames keeps the shipped vocoder's frame standardisation (its
    training frames', not the new dataset's) and trains on."""
    dataset = audiornn.build_dataset([BUNDLED / "agent-user.wav", BUNDLED / "vm-forward.wav"], tmp_path / "mel",
                                     features="mel", validation_fraction=0.5, progress=False)
    summary = train(dataset, tmp_path / "tuned", init_from="vocoder", verbose=0,
                    train_config=TrainConfig(epochs=1, steps_per_epoch=2, batch_size=4, sequence_length=160))
    shipped, tuned = audiornn.load_model("vocoder"), audiornn.load_run_model(tmp_path / "tuned")
    assert summary["epochs"] == 1 and tuned.feature_config == shipped.feature_config
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(tuned.feature_net.mean),
                                  keras.ops.convert_to_numpy(shipped.feature_net.mean))
    assert json.loads((tmp_path / "tuned" / "config.json").read_text())["init_from"] == \
        shipped_models()["vocoder"]["path"]


@pytest.mark.slow
def test_the_command_line_lists_generates_and_starts_from_a_name(tone_dataset, tmp_path, capsys):
    assert main(["models"]) == 0
    listing = capsys.readouterr().out
    for name, card in shipped_models().items():
        assert name in listing and f"{card['validation_bits_per_sample']:.3f}" in listing
    assert main(["generate", "--model", "speech", "--seconds", "0.1", "--output", str(tmp_path / "s.wav"),
                 "--quiet"]) == 0
    assert (tmp_path / "s.wav").is_file()
    summary = train(tone_dataset, tmp_path / "tuned", init_from="music", verbose=0,
                    train_config=TrainConfig(epochs=1, steps_per_epoch=2, batch_size=4, sequence_length=32))
    config = json.loads((tmp_path / "tuned" / "config.json").read_text())
    assert config["init_from"] == shipped_models()["music"]["path"] and summary["epochs"] == 1
    # the run says, and records, that its weights come from a shipped model under its card's licence
    card = shipped_models()["music"]
    assert config["init_from_lineage"] == [{"shipped": "music", "data": card["data"], "credit": card["credit"]}]
    assert "CC-BY-SA-3.0" in card["credit"]


def test_a_name_that_is_neither_a_model_nor_a_path_lists_the_names(tmp_path, capsys, monkeypatch):
    with pytest.raises(ModelFileError,
                       match=r"'violin' does not exist: .* shipped model \(speech, music, vocoder, vocoder-16k;"):
        audiornn.load_model("violin")
    assert main(["generate", "--model", "violin", "--output", str(tmp_path / "x.wav")]) == 2
    assert "speech, music, vocoder, vocoder-16k" in capsys.readouterr().err
    # A path that exists wins over a name.
    assert main(["generate", "--model", str(tmp_path), "--output", str(tmp_path / "x.wav")]) == 2
    assert "holds no audiornn run or model" in capsys.readouterr().err and not (tmp_path / "x.wav").exists()
    # ... and says so when it holds no model: a folder named as a shipped model, where the command runs.
    (tmp_path / "speech").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "--model", "speech", "--output", str(tmp_path / "x.wav")]) == 2
    err = capsys.readouterr().err
    assert "the folder 'speech' here hides the shipped model of that name: give its file, '" in err
    shipped = audiornn.shipped_models()["speech"]["path"]
    assert f"'{shipped}' (in Python audiornn.shipped_models()['speech']['path'])" in err
    assert audiornn.load_model(shipped).model_config == audiornn.load_model(Path(shipped)).model_config
    (tmp_path / "music").write_text("my notes on music")
    assert main(["generate", "--model", "music", "--output", str(tmp_path / "x.wav")]) == 2
    assert "the file 'music' here hides the shipped model of that name" in capsys.readouterr().err
    with pytest.raises(ModelFileError, match="got NoneType"):
        audiornn.load_model(None)
