"""Starting a new run from a trained model (--init-from): its weights, a new optimizer, its origin recorded."""

import dataclasses
import json

import numpy as np
import pytest
from audiornn import build_dataset
from audiornn.cli import main
from audiornn.config import AudioConfig
from audiornn.errors import DatasetError, ParameterError
from audiornn.model import ModelConfig
from audiornn.runs import load_run_model
from audiornn.training import TrainConfig, train

TINY = ModelConfig(units=8, embedding_dim=4, lags=2, dense_units=8)
QUICK = dict(steps_per_epoch=3, batch_size=4, sequence_length=16, warmup_steps=1)


@pytest.fixture(scope="module")
def source(tone_dataset, tmp_path_factory):
    run = tmp_path_factory.mktemp("source") / "run"
    train(tone_dataset, run, model_config=TINY, train_config=TrainConfig(epochs=2, **QUICK), verbose=0)
    return run


@pytest.mark.slow
def test_a_new_run_starts_from_the_weights_with_a_new_optimizer_and_records_its_origin(source, sine_dataset, tmp_path,
                                                                                      monkeypatch):
    from audiornn import training

    seen = {}
    real = training._fit

    def before_the_first_step(folder, dataset, model, *arguments, **options):
        seen["weights"] = [np.array(weight) for weight in model.get_weights()]
        seen["steps"] = int(model.optimizer.iterations.numpy())
        return real(folder, dataset, model, *arguments, **options)

    monkeypatch.setattr(training, "_fit", before_the_first_step)
    run = tmp_path / "tuned"
    summary = train(sine_dataset, run, train_config=TrainConfig(epochs=1, learning_rate=1e-3, **QUICK),
                    init_from=source, verbose=0)
    original = load_run_model(source)
    assert seen["steps"] == 0
    for ours, theirs in zip(seen["weights"], original.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    config = json.loads((run / "config.json").read_text())
    assert config["init_from"] == str(source.resolve()) and config["model"] == original.model_config.to_dict()
    assert summary["epochs"] == 1
    tuned = load_run_model(run)
    assert any(not np.array_equal(a, b) for a, b in zip(tuned.get_weights(), original.get_weights()))


@pytest.mark.slow  # over 3 s on 2 cores
def test_a_fine_tune_measures_where_it_started_as_its_epochs_are_measured_and_records_its_lineage(
        source, sine_dataset, tmp_path, caplog):
    # A learning rate too small to move the weights: the first epoch's quick validation is the start's
    still = TrainConfig(epochs=1, learning_rate=1e-12, **QUICK)
    with caplog.at_level("INFO", logger="audiornn"):
        summary = train(sine_dataset, tmp_path / "tuned", train_config=still, init_from=source, verbose=0)
    history = (tmp_path / "tuned" / "history.csv").read_text().splitlines()
    epoch_bits = float(history[1].split(",")[history[0].split(",").index("val_bits_per_sample")])
    assert summary["start_model"] == str(source)
    assert summary["start_val_bits_per_sample_quick"] == pytest.approx(epoch_bits, abs=1e-4)
    assert f"'{source}' before training: {summary['start_val_bits_per_sample_quick']:.4f} bits per sample on the " \
           f"quick validation" in caplog.text
    state = json.loads((tmp_path / "tuned" / "state.json").read_text())
    assert state["start_val_loss"] == pytest.approx(summary["start_val_bits_per_sample_quick"] * np.log(2))
    # A run started from that run: the lineage goes back through it to the first
    train(sine_dataset, tmp_path / "again", train_config=still, init_from=tmp_path / "tuned", verbose=0)
    lineage = json.loads((tmp_path / "again" / "config.json").read_text())["init_from_lineage"]
    assert lineage == [{"path": str((tmp_path / "tuned").resolve())}, {"path": str(source.resolve())}]


def test_a_fine_tune_says_whether_it_beat_the_model_it_started_from(caplog):
    from audiornn.training import _say_start

    summary = {"run": "runs/mine", "start_model": "speech", "start_val_bits_per_sample_quick": 5.0,
               "best_val_bits_per_sample_quick": 5.1}
    with caplog.at_level("INFO", logger="audiornn"):
        _say_start(summary, ModelConfig())
        _say_start(dict(summary, best_val_bits_per_sample_quick=4.8), ModelConfig())
        _say_start(dict(summary, start_model="vocoder-16k"), ModelConfig(features=80))
    worse, better, vocoder = (record for record in caplog.records)
    assert worse.levelname == "WARNING" and worse.getMessage().startswith(
        "no epoch beat the model the run started from: 'speech' scored 5.0000 bits per sample on the quick "
        "validation before training, the best epoch 5.1000. On this dataset's validation audio it is the better "
        "model: train again with a lower --learning-rate, or use it instead.")
    assert better.levelname == "INFO" and better.getMessage() == (
        "the best epoch: 4.8000 bits per sample on the quick validation, 0.2000 below 'speech' before training "
        "(5.0000).")
    assert "compare their copy-synthesis too (python AudioRNNEval.py --resynthesis --audio HELD_OUT --model " \
           "'vocoder-16k', then --model 'runs/mine')" in vocoder.getMessage()
    _say_start(dict(summary, start_val_bits_per_sample_quick=None), ModelConfig())  # a run not started from one
    assert len(caplog.records) == 3


@pytest.mark.slow
def test_architecture_options_and_other_audio_settings_are_refused(source, tone_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--dataset", str(tone_dataset.path), "--output", str(run), "--init-from", str(source),
                 "--units", "64", "--no-linear-prediction", "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "--init-from takes the model from a trained one: --units 64, --linear-prediction 0 would change it" in error
    own = load_run_model(source).model_config
    # the option set named with both values; those left at the defaults that differ from the model's, apart
    with pytest.raises(ParameterError, match=rf"the model comes from --init-from '.*' \(--units 64 given, "
                                             rf"{own.units} there; .* at the defaults, not the model's\): leave the "
                                             rf"model options out \(model_config=None\)"):
        train(tone_dataset, run, model_config=ModelConfig(units=64), init_from=source, verbose=0)
    # one field changed: that one named, not its labels (a tuple)
    with pytest.raises(ParameterError, match=r"--init-from '.*' \(--dropout 0.1 given, 0.0 there\): leave"):
        train(tone_dataset, run, model_config=dataclasses.replace(own, dropout=0.1), init_from=source, verbose=0)
    other = build_dataset([tone_dataset.path.parent], tmp_path / "mu15", audio_config=AudioConfig(mu=15),
                          validation_fraction=0.34, progress=False)
    with pytest.raises(DatasetError, match=r"processes audio otherwise than --init-from .*\(mu 15 vs 255"):
        train(other, run, init_from=source, train_config=TrainConfig(epochs=1, **QUICK), verbose=0)
    assert not run.exists()


@pytest.mark.slow
def test_input_audio_is_built_with_the_models_settings(source, tone_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    folder = str(tone_dataset.path.parent)
    assert main(["train", folder, "--output", str(run), "--init-from", str(source), "--mu", "15", "--quiet"]) == 2
    assert "was trained with other audio settings (mu 15 vs 255" in capsys.readouterr().err
    assert main(["train", folder, "--output", str(run), "--init-from", str(source), "--epochs", "1",
                 "--steps-per-epoch", "2", "--batch-size", "4", "--sequence-length", "16", "--quiet"]) == 0
    built = json.loads((run / "dataset" / "metadata.json").read_text())["audio"]
    assert built["mu"] == 255 and built["preemphasis"] == 0.95


def test_init_from_with_resume_is_refused(source, capsys):
    assert main(["train", "--resume", str(source), "--init-from", str(source), "--quiet"]) == 2
    assert "--init-from starts a new run from a trained model; --resume continues a run" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("options", [dict(frame_size=8, frame_units=8), dict(linear_prediction=4, prediction_window=16),
                                     dict(num_layers=0, frame_size=8, frame_units=8)],
                         ids=["frame-tier", "predictor", "feed-forward-frames"])
def test_every_tier_starts_from_its_weights(tone_dataset, tmp_path, options):
    config = ModelConfig(**{**TINY.to_dict(), **options})
    quick = TrainConfig(epochs=1, **QUICK)
    train(tone_dataset, tmp_path / "source", model_config=config, train_config=quick, verbose=0)
    train(tone_dataset, tmp_path / "tuned", init_from=tmp_path / "source", train_config=quick, verbose=0)
    source, tuned = (load_run_model(tmp_path / name) for name in ("source", "tuned"))
    assert tuned.model_config == source.model_config
    assert [weight.shape for weight in tuned.get_weights()] == [weight.shape for weight in source.get_weights()]


def test_a_shipped_model_given_to_init_from_is_named_as_given(tmp_path):
    from audiornn.cli import SAMPLE_DATA

    dataset = build_dataset([SAMPLE_DATA / "agent-user.wav", SAMPLE_DATA / "demo-thanks.wav"], tmp_path / "mel",
                            features="mel", progress=False)
    with pytest.raises(Exception, match=r"^--init-from 'vocoder-16k' is a vocoder of other frames than dataset") as error:
        train(dataset, tmp_path / "run", init_from="vocoder-16k", verbose=0)
    assert "audiornn/models" not in str(error.value)  # not the file inside the package
