"""Training: learns a made-up signal, resumes without gaps, stops safely, refuses bad input."""

import csv
import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from audiornn import AudioConfig, build_dataset
from audiornn.errors import DatasetError, ParameterError, RunError
from audiornn.model import ModelConfig
from audiornn.runs import load_run_model
from audiornn.training import TrainConfig, TrainingDiverged, learning_rate_at, train

from conftest import SMALL_MODEL, SMALL_TRAINING, unigram_bits

TINY = ModelConfig(num_layers=1, units=16, embedding_dim=8)
QUICK = dict(batch_size=8, sequence_length=32, steps_per_epoch=5, validation_steps=4)


def history(folder):
    with open(Path(folder) / "history.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_training_on_a_sine_beats_the_unigram_baseline(sine_run, sine_dataset):
    folder, summary = sine_run
    baseline = unigram_bits(sine_dataset.array("validation"))
    assert baseline > 5.0
    assert summary["validation"]["bits_per_sample"] < baseline - 2.0
    assert summary["carried_state"]  # truncated backpropagation through time by default
    rows = history(folder)
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3, 4]
    assert float(rows[-1]["val_bits_per_sample"]) < float(rows[0]["val_bits_per_sample"])
    assert {"loss", "accuracy", "bits_per_sample", "val_loss", "val_accuracy", "val_bits_per_sample",
            "learning_rate"} <= set(rows[0])
    for name in ("config.json", "state.json", "model.keras", "last.keras", "summary.json"):
        assert (folder / name).is_file()
    config = json.loads((folder / "config.json").read_text())
    assert config["audio"] == sine_dataset.audio_config.to_dict()
    assert load_run_model(folder).audio_config == sine_dataset.audio_config


@pytest.mark.slow
def test_resume_after_an_interruption_continues_the_same_history(sine_dataset, tmp_path, caplog):
    class Interrupt(keras.callbacks.Callback):
        def __init__(self, at):
            super().__init__()
            self.at = at

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == self.at and batch == 2:
                raise KeyboardInterrupt

    # Interrupted in its first epoch, a run has nothing to resume, and says so.
    with pytest.raises(KeyboardInterrupt), caplog.at_level("WARNING"):
        train(sine_dataset, tmp_path / "first", model_config=TINY,
              train_config=TrainConfig(epochs=4, **QUICK), callbacks=[Interrupt(at=0)], verbose=0)
    assert "before the first epoch was completed: nothing to resume" in caplog.text
    # ... and the same command starts it again, without --overwrite: nothing of it is lost
    caplog.clear()
    with caplog.at_level("INFO", logger="audiornn"):
        assert train(sine_dataset, tmp_path / "first", model_config=TINY, train_config=TrainConfig(epochs=1, **QUICK),
                     verbose=0)["epochs"] == 1
    assert "holds a run that completed no epoch (stopped in its first): it is started again" in caplog.text
    # a run that lost its state.json keeps its models: not taken for one that saved nothing
    (tmp_path / "first" / "state.json").unlink()
    with pytest.raises(RunError, match="already holds a run: continue it with '--resume"):
        train(sine_dataset, tmp_path / "first", model_config=TINY, train_config=TrainConfig(epochs=1, **QUICK),
              verbose=0)
    assert (tmp_path / "first" / "model.keras").is_file()
    caplog.clear()
    with pytest.raises(KeyboardInterrupt), caplog.at_level("WARNING"):
        train(sine_dataset, tmp_path / "run", model_config=TINY,
              train_config=TrainConfig(epochs=4, **QUICK), callbacks=[Interrupt(at=2)], verbose=0)
    assert "epoch 2, the last completed, is saved" in caplog.text and f"--resume {tmp_path / 'run'}" in caplog.text
    assert [row["epoch"] for row in history(tmp_path / "run")] == ["1", "2"]
    optimizer_steps = keras.models.load_model(tmp_path / "run" / "last.keras").optimizer.iterations.numpy()
    assert optimizer_steps == 10
    summary = train(resume=tmp_path / "run", verbose=0)
    assert summary["epochs"] == 4
    assert [row["epoch"] for row in history(tmp_path / "run")] == ["1", "2", "3", "4"]
    assert keras.models.load_model(tmp_path / "run" / "last.keras").optimizer.iterations.numpy() == 20
    # A row written after the last checkpoint (a kill between the two) is dropped on resume.
    with open(tmp_path / "run" / "history.csv", "a") as handle:
        handle.write("5,9,0,9,9,0,9,0.001,1\n")
    train(resume=tmp_path / "run", overrides={"epochs": 6}, verbose=0)
    assert [row["epoch"] for row in history(tmp_path / "run")] == ["1", "2", "3", "4", "5", "6"]
    assert float(history(tmp_path / "run")[4]["loss"]) != 9.0


@pytest.mark.slow  # over 3 s on 2 cores
def test_input_noise_reaches_the_training_batches_only_and_a_run_from_before_it_can_take_it(sine_run, tmp_path):
    import shutil

    from audiornn.dataset import open_dataset
    from audiornn.training import _samplers

    run = tmp_path / "run"
    shutil.copytree(sine_run[0], run)
    config = json.loads((run / "config.json").read_text())
    dataset = open_dataset(config["dataset"])
    training, validation = _samplers(dataset, ModelConfig(), TrainConfig(input_noise=3.0, **QUICK), epoch=0)
    assert (training.input_noise, validation.input_noise) == (3.0, 0.0)
    for sampler, split, noisy in ((training, "train", True), (validation, "validation", False)):
        clean = np.asarray(dataset.array(split))[sampler.offsets(0)[:, None] + np.arange(QUICK["sequence_length"])]
        assert np.array_equal(sampler.batch(0)[0], clean) is not noisy
    # A run saved before the option existed has no input_noise in its config: it resumes with the option given.
    del config["training"]["input_noise"]
    (run / "config.json").write_text(json.dumps(config))
    epochs = json.loads((run / "state.json").read_text())["epochs_completed"]
    train(resume=run, overrides={"epochs": epochs + 1, "input_noise": 2.0}, verbose=0)
    assert json.loads((run / "config.json").read_text())["training"]["input_noise"] == 2.0
    with pytest.raises(ParameterError, match="cannot override noise_level on resume: not a training option"):
        train(resume=run, overrides={"noise_level": 2.0}, verbose=0)


@pytest.mark.slow
def test_a_nan_loss_stops_with_a_clear_message_and_keeps_the_last_good_model(sine_dataset, tmp_path):
    class Poison(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                for weight in self.model.trainable_weights:
                    weight.assign(np.full(weight.shape, np.nan, dtype="float32"))

    with pytest.raises(TrainingDiverged, match=r"NaN or infinite in epoch 2.*epoch 1\) is kept.*--resume"):
        train(sine_dataset, tmp_path / "run", model_config=TINY, train_config=TrainConfig(epochs=3, **QUICK),
              callbacks=[Poison()], verbose=0)
    model = load_run_model(tmp_path / "run" / "last.keras")
    assert all(np.all(np.isfinite(weight.numpy())) for weight in model.weights)
    assert len(history(tmp_path / "run")) == 1
    # In the first epoch there is no good model: the message says to start again, not to resume
    with pytest.raises(TrainingDiverged, match=r"epoch 1, batch 1, before any epoch was saved: start the run again "
                                               r"with a lower learning rate \(the same command with "
                                               r"--learning-rate 0.01, the default, or lower: 1e\+30 is 1e\+32 "
                                               r"times it\)"):
        train(sine_dataset, tmp_path / "first", model_config=TINY, train_config=TrainConfig(
            epochs=1, **(QUICK | {"learning_rate": 1e30})), verbose=0)
    assert not (tmp_path / "first" / "last.keras").exists()
    # ... which it does, with no --overwrite: nothing of the first try was saved
    assert train(sine_dataset, tmp_path / "first", model_config=TINY, train_config=TrainConfig(epochs=1, **QUICK),
                 verbose=0)["epochs"] == 1


@pytest.mark.slow
def test_an_epoch_far_worse_than_a_uniform_guess_stops_as_a_nan_does(sine_dataset, tmp_path):
    """A finite loss can blow up too (a learning rate of 1e9 made 2e10 bits a sample, reported as a best model)."""
    class BlowUp(keras.callbacks.Callback):
        def on_test_begin(self, logs=None):  # the epoch's validation sees logits a thousand times too large
            for weight in self.model.trainable_weights:
                if "logits" in weight.path:
                    weight.assign(weight.numpy() * 1000.0)

    with pytest.raises(TrainingDiverged, match=r"the training blew up in epoch 1: its validation loss, [\d.e+]+ bits "
                                               r"per sample, is far above a uniform guess's 8, before any epoch was "
                                               r"saved: start the run again with a lower learning rate"):
        train(sine_dataset, tmp_path / "run", model_config=TINY, train_config=TrainConfig(epochs=2, **QUICK),
              callbacks=[BlowUp()], verbose=0)
    assert not (tmp_path / "run" / "model.keras").exists() and not (tmp_path / "run" / "last.keras").exists()


@pytest.mark.slow
def test_a_collapsed_validation_loss_brings_the_best_epoch_back_at_half_the_learning_rate(sine_dataset, tmp_path):
    run, config = tmp_path / "run", TrainConfig(epochs=5, **QUICK)
    seen = {}

    class Spoil(keras.callbacks.Callback):  # runs after the run's own callback, so it sees what that did
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            if epoch == 2:  # weights far from anything learned: epoch 3's validation loss collapses
                rng = np.random.default_rng(0)
                for weight in self.model.trainable_weights:
                    weight.assign(weight.numpy() + rng.normal(0, 3, weight.shape).astype("float32"))

        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                seen["weights"] = [weight.numpy().copy() for weight in self.model.weights]
                seen["steps"] = int(self.model.optimizer.iterations.numpy())
                seen["best"] = load_run_model(run / "model.keras", compile=True)

        def on_train_batch_begin(self, batch, logs=None):
            if self.epoch == 3 and batch == 0:
                seen["rate"] = float(self.model.optimizer.learning_rate.numpy())

    summary = train(sine_dataset, run, model_config=TINY, train_config=config, callbacks=[Spoil()], verbose=0)
    rows = history(run)
    assert summary["epochs"] == 5 and len(rows) == 5
    best_before = min(float(row["val_loss"]) for row in rows[:2])
    assert float(rows[2]["val_loss"]) > best_before + 0.5  # the collapse, recorded as it was
    # Epoch 3 ended with the best epoch's weights and optimizer state back, and went on at half the rate.
    best = seen["best"]
    for mine, saved in zip(seen["weights"], best.weights):
        np.testing.assert_array_equal(mine, saved.numpy())
    assert seen["steps"] == int(best.optimizer.iterations.numpy()) in (5, 10)
    step = seen["steps"]
    assert seen["rate"] == pytest.approx(0.5 * learning_rate_at(config, step / 25, step), rel=1e-5)
    state = json.loads((run / "state.json").read_text())
    assert state["restores"] == 1 and state["learning_rate_scale"] == 0.5
    assert float(rows[-1]["val_loss"]) < best_before + 0.5  # learning again from there
    assert min(float(row["val_bits_per_sample"]) for row in rows) == pytest.approx(
        summary["best_val_bits_per_sample_quick"], rel=1e-6)


@pytest.mark.slow
def test_early_stopping_waits_for_the_second_half_of_the_schedule(sine_dataset, tmp_path):
    # At a learning rate of 1e-12 nothing changes, so no epoch after the first is better: patience 1 would
    # stop after epoch 2, but while the rate is above half its peak a plateau is not the end (epochs of 5
    # steps, 40 in all: the schedule's midpoint is the end of epoch 4).
    summary = train(sine_dataset, tmp_path / "run", model_config=TINY, verbose=0,
                    train_config=TrainConfig(epochs=8, patience=1, learning_rate=1e-12, **QUICK))
    assert summary["epochs"] == 4
    assert summary["stop_reason"] == "no better validation loss for 1 epochs"
    losses = [float(row["val_loss"]) for row in history(tmp_path / "run")]
    assert losses[1:] == [losses[0]] * 3


@pytest.mark.slow
@pytest.mark.parametrize("verbose, shown", [(1, r"Epoch 1 \(0\.0 of 0\.02 minutes\)"),
                                             (2, r"epoch 1 \([0-9.]+ of 0\.02 min\): loss ")])
def test_time_budget_stops_training(sine_dataset, tmp_path, capsys, verbose, shown):
    summary = train(sine_dataset, tmp_path / "run", model_config=TINY,
                    train_config=TrainConfig(minutes=0.02, **QUICK), verbose=verbose)
    assert "time budget" in summary["stop_reason"]
    assert summary["epochs"] >= 1 and summary["training_minutes"] < 0.5
    # The progress (a bar, or a line per epoch) shows the budget, not the large epoch limit
    # standing for "until time's up".
    output = capsys.readouterr().out
    assert re.search(shown, output) and "/100000" not in output


@pytest.mark.slow
def test_seed_preset_trains_many_to_one(sine_dataset, tmp_path):
    config = ModelConfig.seed(units=16, window=64, embedding_dim=8)
    summary = train(sine_dataset, tmp_path / "seed", model_config=config,
                    train_config=TrainConfig(epochs=2, batch_size=16, steps_per_epoch=20, validation_steps=4,
                                             learning_rate=1e-2), verbose=0)
    model = load_run_model(tmp_path / "seed")
    assert model.model_config.many_to_one
    assert tuple(model(np.zeros((2, 64), "int32")).shape) == (2, 256)
    assert summary["validation"]["bits_per_sample"] < 8.0


def test_learning_rate_schedule_warms_up_and_decays():
    config = TrainConfig(learning_rate=1e-3, warmup_steps=10, final_learning_rate_fraction=0.1)
    assert learning_rate_at(config, 0.0, 0) == pytest.approx(1e-4)
    assert learning_rate_at(config, 0.0, 20) == pytest.approx(1e-3)
    assert learning_rate_at(config, 0.5, 20) == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5))
    assert learning_rate_at(config, 1.0, 20) == pytest.approx(1e-4)


def test_bad_training_input_is_refused(sine_dataset, sine_run, tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        train(tmp_path / "missing", tmp_path / "run", verbose=0)
    with pytest.raises(DatasetError, match="is not an audiornn dataset"):
        train(tmp_path, tmp_path / "run", verbose=0)
    with pytest.raises(RunError, match="holds no audiornn run"):
        train(resume=tmp_path, verbose=0)
    # what was given instead of a run is named, with what to do that works
    with pytest.raises(RunError, match=r"--resume '.*' is a dataset, not a run: train on it with 'python AudioRNN.py "
                                       r"train --dataset .* --output RUN' \(a new folder\)"):
        train(resume=sine_dataset.path, verbose=0)
    (tmp_path / "take.wav").write_bytes(b"RIFF")
    with pytest.raises(RunError, match="'.*take.wav' is a file, not a run folder"):
        train(resume=tmp_path / "take.wav", verbose=0)
    with pytest.raises(RunError, match=r"'.*nowhere' holds no audiornn run \(not there\): start one with .*--output "
                                       r".*nowhere'"):
        train(resume=tmp_path / "nowhere", verbose=0)
    from audiornn.errors import ModelFileError
    from audiornn.runs import load_run_model

    with pytest.raises(ModelFileError, match="model '.*' is a dataset, not a model: give a .keras file, a run folder "
                                             "trained on it"):
        load_run_model(sine_dataset.path)
    with pytest.raises(RunError, match=r"already holds a run.*--resume .*\(resume=.*\), or pass --overwrite \(overwrite=True\)"):
        train(sine_dataset, sine_run[0], model_config=TINY, verbose=0)
    with pytest.raises(DatasetError, match="audio has no file of at least 30001 samples.*shorter --sequence-length"):
        train(sine_dataset, tmp_path / "long", model_config=TINY,
              train_config=TrainConfig(sequence_length=30000, batch_size=2), verbose=0)
    assert not (tmp_path / "long").exists()
    for values, message in [({"batch_size": 0}, "--batch-size must be a positive integer"),
                            ({"learning_rate": -1.0}, "--learning-rate must be a positive number"),
                            ({"minutes": -5}, "minutes must be a positive number"),
                            ({"carry_state": 1}, "carry_state must be true or false, got 1"),
                            ({"tensorboard": "no"}, "tensorboard must be true or false")]:
        with pytest.raises(ParameterError, match=message):
            TrainConfig(**values)
    other = build_dataset([Path(sine_dataset.metadata["sources"][0]["path"])], tmp_path / "other",
                          audio_config=AudioConfig(sample_rate=16000), progress=False)
    with pytest.raises(DatasetError, match="other audio settings.*sample_rate 16000 vs 8000"):
        train(other, resume=sine_run[0], overrides={"epochs": 9}, verbose=0)


@pytest.mark.slow
@pytest.mark.tf_only
def test_mirrored_strategy_on_two_logical_cpus_learns(sine_dataset, tmp_path):
    script = textwrap.dedent(f"""
        import json, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from audiornn.model import ModelConfig
        from audiornn.training import TrainConfig, train
        summary = train({str(sine_dataset.path)!r}, {str(tmp_path / "mirrored")!r}, distribute="mirrored",
                        model_config=ModelConfig(num_layers=1, units=32, embedding_dim=16),
                        train_config=TrainConfig(epochs=3, batch_size=16, sequence_length=64, steps_per_epoch=25,
                                                 learning_rate=1e-2, warmup_steps=5), verbose=0)
        print(json.dumps({{"replicas": summary["replicas"], "carried": summary["carried_state"],
                          "bits": summary["validation"]["bits_per_sample"]}}))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["replicas"] == 2 and outcome["carried"]  # each replica carries its own rows' states
    assert outcome["bits"] < unigram_bits(sine_dataset.array("validation")) - 1.0


@pytest.mark.slow
def test_a_full_disk_while_saving_is_a_clear_error_and_resume_recovers(sine_dataset, tmp_path, monkeypatch):
    import audiornn.runs as runs_module

    real = runs_module.write_atomically

    def full_disk_at_epoch_2(path, write):
        if Path(path).name == ".epoch-0002.model.keras" or Path(path).name == ".epoch-0002.history.csv":
            raise OSError(28, "No space left on device")
        return real(path, write)

    monkeypatch.setattr(runs_module, "write_atomically", full_disk_at_epoch_2)
    with pytest.raises(RunError, match="could not save epoch 2 .*No space left.*--resume"):
        train(sine_dataset, tmp_path / "run", model_config=TINY, train_config=TrainConfig(epochs=3, **QUICK),
              verbose=0)
    assert [row["epoch"] for row in history(tmp_path / "run")] == ["1"]
    # Epoch 2's pending model, written before the disk filled, is gone with the rest of it.
    assert not [path for path in (tmp_path / "run").iterdir() if path.name.startswith(".") and path.name != ".lock"]
    monkeypatch.setattr(runs_module, "write_atomically", real)
    assert train(resume=tmp_path / "run", verbose=0)["epochs"] == 3
    assert [row["epoch"] for row in history(tmp_path / "run")] == ["1", "2", "3"]


@pytest.mark.slow  # over 3 s on 2 cores
def test_an_interrupt_that_keras_swallows_still_stops_the_training(sine_dataset, tmp_path, caplog):
    import signal

    class Swallowed(keras.callbacks.Callback):  # as Keras' bare except in its logs' conversion does, on JAX
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                try:
                    signal.raise_signal(signal.SIGINT)
                except KeyboardInterrupt:
                    pass

    with caplog.at_level("WARNING", logger="audiornn"), pytest.raises(KeyboardInterrupt):
        train(sine_dataset, tmp_path / "run", model_config=TINY, train_config=TrainConfig(epochs=3, **QUICK),
              verbose=0, callbacks=[Swallowed()])
    assert "interrupted before the first epoch was completed" in caplog.text
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler given back
    # --resume of it says what the interrupt said: the same command starts it again, no --overwrite needed
    with pytest.raises(RunError, match="no completed epoch .* start it again with the command that started it.*"
                                       "without --overwrite"):
        train(resume=tmp_path / "run", verbose=0)
    # ... but one whose record says epochs were done, and whose models are gone, is not started again so
    (tmp_path / "run" / "state.json").write_text(json.dumps({"epochs_completed": 2}))
    with pytest.raises(RunError, match="no completed epoch to continue from: start it again with --overwrite"):
        train(resume=tmp_path / "run", verbose=0)

    class SwallowedLast(keras.callbacks.Callback):  # swallowed after the last batch: raised all the same
        def on_epoch_end(self, epoch, logs=None):
            try:
                signal.raise_signal(signal.SIGINT)
            except KeyboardInterrupt:
                pass

    with pytest.raises(KeyboardInterrupt):
        train(sine_dataset, tmp_path / "last", model_config=TINY, train_config=TrainConfig(epochs=1, **QUICK),
              verbose=0, callbacks=[SwallowedLast()])
    # a caller's own handler that does not raise (a graceful stop of its own) is left to decide
    seen = []
    previous = signal.signal(signal.SIGTERM, lambda number, frame: seen.append(number))

    class Terminated(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1 and not seen:
                signal.raise_signal(signal.SIGTERM)

    try:
        assert train(sine_dataset, tmp_path / "graceful", model_config=TINY,
                     train_config=TrainConfig(epochs=1, **QUICK), verbose=0, callbacks=[Terminated()])["epochs"] == 1
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert seen == [signal.SIGTERM]


@pytest.mark.slow  # over 3 s on 2 cores
def test_a_progress_bar_of_the_callers_is_the_only_one(sine_dataset, tmp_path, capsys):
    train(sine_dataset, tmp_path / "run", model_config=TINY, train_config=TrainConfig(epochs=1, **QUICK), verbose=1,
          callbacks=[keras.callbacks.ProgbarLogger()])
    assert capsys.readouterr().out.count("val_loss: ") == 1  # one bar: one epoch line with its validation


@pytest.mark.slow
def test_a_run_folder_removed_while_it_trains_is_said_so(sine_dataset, tmp_path):
    import shutil

    class Remove(keras.callbacks.Callback):  # after the keeper has saved epoch 1
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                shutil.rmtree(tmp_path / "run")

    with pytest.raises(RunError, match=r"the run folder '.*run' was removed or moved while it trained: epoch 2 could "
                                       r"not be saved there; put it back and continue with --resume"):
        train(sine_dataset, tmp_path / "run", model_config=TINY, train_config=TrainConfig(epochs=3, **QUICK),
              verbose=0, callbacks=[Remove()])
    assert not (tmp_path / "run").exists()  # not made again, half, by what came after


@pytest.mark.slow  # over 3 s on 2 cores
def test_an_epoch_saved_but_not_moved_into_place_is_said_saved(sine_dataset, tmp_path, monkeypatch):
    # (the folder made read-only, or the disk remounted so, between state.json's commit and the renames)
    import audiornn.runs as runs_module

    real = runs_module.os.replace

    def refused_at_epoch_2(source, destination):
        if Path(source).name.startswith(".epoch-0002."):
            raise PermissionError(13, "Permission denied")
        return real(source, destination)

    monkeypatch.setattr(runs_module.os, "replace", refused_at_epoch_2)
    with pytest.raises(RunError, match=r"epoch 2 was saved in '.*run', but its files could not be moved into place "
                                       r"\(\[Errno 13\] Permission denied.*\): make '.*run' writable again and "
                                       r"continue with --resume .*run, which goes "
                                       r"on after epoch 2$"):
        train(sine_dataset, tmp_path / "run", model_config=TINY, train_config=TrainConfig(epochs=3, **QUICK),
              verbose=0)
    monkeypatch.setattr(runs_module.os, "replace", real)
    assert train(resume=tmp_path / "run", verbose=0)["epochs"] == 3
    assert [row["epoch"] for row in history(tmp_path / "run")] == ["1", "2", "3"]


@pytest.mark.slow
@pytest.mark.parametrize("how", ["moved", "removed"])
def test_a_run_folder_made_again_at_its_path_while_it_trains_is_not_saved_into(sine_dataset, tmp_path, how):
    # (another training started there once the first's folder was moved or removed: the two runs' files would mix;
    # a folder removed and made again at once gets the same inode on ext4 unless the first is held open)
    import shutil

    class Replace(keras.callbacks.Callback):  # after the keeper has saved epoch 1
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                if how == "moved":
                    (tmp_path / "run").rename(tmp_path / "moved")
                else:
                    shutil.rmtree(tmp_path / "run")
                (tmp_path / "run").mkdir()
                (tmp_path / "run" / "config.json").write_text("{}")  # the other run's

    with pytest.raises(RunError, match=r"the run folder '.*run' was removed or moved while it trained \(the folder "
                                       r"now at that path is another one.*nothing was saved into it\): epoch 2 could "
                                       r"not be saved there; start again in a free folder"):
        train(sine_dataset, tmp_path / "run", model_config=TINY, train_config=TrainConfig(epochs=3, **QUICK),
              verbose=0, callbacks=[Replace()])
    assert sorted(path.name for path in (tmp_path / "run").iterdir()) == ["config.json"]
    if how == "moved":
        assert (tmp_path / "moved" / "last.keras").is_file()  # the moved run keeps its epoch


@pytest.mark.slow
def test_previews_are_written_every_n_epochs(sine_dataset, tmp_path, monkeypatch):
    import logging

    import soundfile

    from audiornn import training as training_module

    shown = []  # the epoch lines and the log's lines, in the order a user reads them
    monkeypatch.setattr(training_module, "print", lambda text, **_: shown.append(text), raising=False)
    handler = logging.Handler()
    handler.emit = lambda record: shown.append(record.getMessage())
    logger = logging.getLogger("audiornn")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        train(sine_dataset, tmp_path / "run", model_config=TINY,
              train_config=TrainConfig(epochs=4, preview_every=2, preview_seconds=0.6, **QUICK), verbose=2)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    # each preview's line follows its epoch's line, not the one before it
    order = [line.split(" ")[0] + " " + ("2" if "0002" in line else "4") if line.startswith("preview:") else
             line.split("/")[0] for line in shown if line.startswith(("preview:", "epoch "))]
    assert order == ["epoch 1", "epoch 2", "preview: 2", "epoch 3", "epoch 4", "preview: 4"], shown
    previews = sorted(path.name for path in (tmp_path / "run" / "previews").iterdir())
    assert previews == ["epoch_0002.wav", "epoch_0004.wav"]
    info = soundfile.info(str(tmp_path / "run" / "previews" / "epoch_0004.wav"))
    assert (info.samplerate, info.frames, info.subtype) == (8000, 4800, "PCM_16")
    # Each preview's sound distance to the training audio is in the history, on its epoch only.
    distances = [row["sound_frechet"] for row in history(tmp_path / "run")]
    assert distances[0] == distances[2] == "" and float(distances[1]) > 0 and float(distances[3]) > 0


@pytest.mark.slow
def test_a_run_a_callback_stopped_says_so(sine_dataset, tmp_path):
    class StopAt(keras.callbacks.Callback):  # (keras.callbacks.EarlyStopping stops a run this way)
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True

    summary = train(sine_dataset, tmp_path / "run", model_config=TINY, train_config=TrainConfig(epochs=4, **QUICK),
                    verbose=0, callbacks=[StopAt()])
    assert summary["epochs"] == 2  # it said "2 epochs done", as if all were
    assert summary["stop_reason"] == "stopped by a callback (model.stop_training) after epoch 2 of 4"


@pytest.mark.slow
@pytest.mark.parametrize("more", [False, True])
def test_a_preview_the_run_stopped_in_is_written_when_it_resumes(sine_dataset, tmp_path, caplog, more):
    def stopped(model, path):  # the run stops while epoch 2's preview is made: its file is not in place
        raise KeyboardInterrupt

    config = TrainConfig(epochs=2, preview_every=2, preview_seconds=0.6, **QUICK)
    with pytest.raises(KeyboardInterrupt):
        train(sine_dataset, tmp_path / "run", model_config=TINY, train_config=config, verbose=0, preview=stopped)
    assert not (tmp_path / "run" / "previews" / "epoch_0002.wav").exists()
    with caplog.at_level("INFO", logger="audiornn"):  # a resume that trains on, or one that only finishes the run
        summary = train(resume=tmp_path / "run", overrides={"epochs": 3} if more else None, verbose=0)
    assert summary["epochs"] == (3 if more else 2)
    assert "epoch 2's preview is missing (the run stopped before it was written, or it was removed): writing it" \
        in caplog.text
    assert sorted(path.name for path in (tmp_path / "run" / "previews").iterdir()) == ["epoch_0002.wav"]
    distances = [row["sound_frechet"] for row in history(tmp_path / "run")]
    assert len(distances) == summary["epochs"] and distances[0] == "" and float(distances[1]) > 0


@pytest.mark.slow  # over 3 s on 2 cores
def test_health_checks_go_into_the_history_and_the_healthiest_epoch_is_kept(sine_dataset, tmp_path):
    import audiornn
    from audiornn.generation import generate
    from audiornn.health import LevelReference, health, summarise
    from audiornn.training import HEALTH_SEED, health_rank

    class Weights(keras.callbacks.Callback):  # runs after the keeper: each epoch's weights as saved
        saved = {}

        def on_epoch_end(self, epoch, logs=None):
            self.saved[epoch + 1] = [np.array(value) for value in self.model.get_weights()]

    config = TrainConfig(epochs=4, health_every=2, health_streams=3, health_seconds=5.0, seed=4, **QUICK)
    summary = train(sine_dataset, tmp_path / "run", model_config=TINY, train_config=config, verbose=0,
                    callbacks=[Weights()])
    rows = history(tmp_path / "run")
    # Figures on the check's epochs (2 and 4) only.
    assert [row["health_in_range"] == "" for row in rows] == [True, False, True, False]
    for row in rows[1::2]:
        assert 0.0 <= float(row["health_in_range"]) <= 1.0 and 0.0 <= float(row["health_held_partials"]) <= 1.0
        assert {int(float(row[f"health_{name}"])) for name in ("collapsed", "ran_away", "frozen")} <= {0, 1, 2, 3}
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    healthiest = state["healthiest"]
    checks = {int(row["epoch"]): {name: float(row[f"health_{name}"]) for name in ("stuck", "in_range")}
              | {"val_bits_per_sample": float(row["val_bits_per_sample"])} for row in rows[1::2]}
    for check in checks.values():
        check["streams"] = 3
    assert healthiest["epoch"] in checks and healthiest["streams"] == 3
    # The first healthiest of the checks by the rank (a later exact tie does not replace it).
    assert healthiest["epoch"] == max(checks, key=lambda epoch: (health_rank(checks[epoch]), -epoch))
    assert summary["healthiest"]["epoch"] == healthiest["epoch"]
    # healthiest.keras is that epoch's model, and its streams measure as the check said.
    model = audiornn.load_model(tmp_path / "run" / "healthiest.keras")
    for mine, saved in zip(model.get_weights(), Weights.saved[healthiest["epoch"]]):
        np.testing.assert_array_equal(mine, saved)
    reference = LevelReference.from_dataset(sine_dataset)
    audio = generate(model, seconds=5.0, count=3, seed=HEALTH_SEED + 4, progress=False)
    again = summarise([health(np.asarray(stream), 8000, reference) for stream in audio], reference)
    assert again["in_range"] == pytest.approx(healthiest["in_range"])
    assert (again["collapsed"], again["ran_away"], again["frozen"]) == \
        (healthiest["collapsed"], healthiest["ran_away"], healthiest["frozen"])


def test_the_healthiest_ranks_streams_stuck_first_then_the_level(tmp_path):
    from audiornn.training import RunKeeper, health_rank

    def figures(stuck=0, in_range=0.9, streams=8):
        return dict(stuck=stuck, in_range=in_range, streams=streams, collapsed=stuck, ran_away=0, frozen=0,
                    held_partials=0.5, burst=0, few_tones=0)

    assert health_rank(figures(in_range=0.5)) > health_rank(figures(stuck=1, in_range=1.0))
    assert health_rank(figures(in_range=0.95)) > health_rank(figures(in_range=0.9))
    assert health_rank(figures(stuck=1, streams=16)) > health_rank(figures(stuck=1, streams=8))  # a share
    # Streams at another level all along are not stuck, and not healthy either: below any check mostly at it.
    assert health_rank(figures(stuck=1, streams=2, in_range=0.9)) > health_rank(figures(in_range=0.0))
    # Checks alike in all of that (healthy models often are) rank by their validation bits: the first of them
    # was kept before, however much worse its bits.
    assert health_rank(dict(figures(in_range=1.0), val_bits_per_sample=6.1)) > health_rank(
        dict(figures(in_range=1.0), val_bits_per_sample=6.4))
    assert health_rank(figures(in_range=0.95)) > health_rank(dict(figures(in_range=0.9), val_bits_per_sample=4.0))
    # A loud burst or few held tones (not stuck) rank after the streams stuck and before the level; a check saved
    # before they were measured (no such keys) has none.
    assert health_rank(figures(in_range=0.9)) > health_rank(dict(figures(in_range=1.0), burst=1))
    assert health_rank(dict(figures(in_range=0.9), few_tones=1)) > health_rank(dict(figures(in_range=1.0), burst=2))
    assert health_rank(dict(figures(in_range=0.9), burst=3)) > health_rank(figures(stuck=1, in_range=1.0))
    before = figures(in_range=1.0)
    del before["burst"], before["few_tones"]
    assert health_rank(before) == health_rank(figures(in_range=1.0))

    made = []
    keeper = RunKeeper(tmp_path, TrainConfig(health_every=2, health_seconds=5.0, seed=3), {}, [], 0, 1,
                       health=lambda model: made[-1])
    keeper._segment_start = 0.0
    made.append(figures(stuck=2))
    assert keeper._check_health(1, {}) is None and not made[1:]  # not a check epoch: nothing generated
    row = {"val_bits_per_sample": 6.0}
    first = keeper._check_health(2, row)
    assert first["epoch"] == 2 and first["seconds"] == 5.0 and first["seed"] == 3 and row["health_stuck"] == 2
    assert row["health_burst"] == 0 and row["health_few_tones"] == 0
    keeper.state["healthiest"] = first
    made.append(figures(stuck=1))
    assert keeper._check_health(4, {}, restoring=True) is None  # its weights are replaced: not a candidate
    keeper.state["healthiest"] = keeper._check_health(4, {})
    assert keeper.state["healthiest"]["epoch"] == 4
    made.append(figures(stuck=2, in_range=1.0))
    assert keeper._check_health(6, {}) is None  # no healthier than the one before
    keeper.state["healthiest"] = dict(keeper.state["healthiest"], burst=3)
    made.append(dict(figures(stuck=1, in_range=0.8), burst=1))
    assert keeper._check_health(6, {})["burst"] == 1  # as stuck, fewer bursts: healthier though less in range
    keeper.state["healthiest"] = keeper._check_health(6, {})
    keeper.config = TrainConfig(health_every=2, health_seconds=8.0, seed=3)  # a resume with longer checks
    assert keeper._check_health(6, {})["seconds"] == 8.0  # not compared with checks made otherwise


def test_a_vocoder_health_check_is_refused_before_anything_is_written(tmp_path, write_audio):
    from audiornn import build_dataset

    from conftest import sine

    for index in range(2):
        write_audio(f"audio/{index}.wav", sine(200 + 100 * index, 2.0, 8000))
    dataset = build_dataset([tmp_path / "audio"], tmp_path / "dataset", features="mel", validation_fraction=0.5,
                            progress=False)
    with pytest.raises(ParameterError, match="--health-every"):
        train(dataset, tmp_path / "run", model_config=TINY, verbose=0,
              train_config=TrainConfig(epochs=1, health_every=1, **QUICK))
    assert not (tmp_path / "run").exists()
    plain = build_dataset([tmp_path / "audio"], tmp_path / "plain", validation_fraction=0.5, progress=False)
    with pytest.raises(ParameterError, match=r"--health-streams 100,000 streams of --health-seconds 100000 s need "
                                             r"about 320.0 TB of memory"):  # too many to hold: said before epoch 1
        train(plain, tmp_path / "run", model_config=TINY, verbose=0, train_config=TrainConfig(
            epochs=1, health_every=1, health_streams=100000, health_seconds=100000.0, **QUICK))
    assert not (tmp_path / "run").exists()
    with pytest.raises(ParameterError, match="--health-streams"):
        TrainConfig(health_streams=0)
    for seconds in (-1.0, 3.9):
        with pytest.raises(ParameterError, match="--health-seconds"):
            TrainConfig(health_seconds=seconds)
    assert TrainConfig(health_seconds=4.0).health_seconds == 4.0
    from audiornn.config import HEALTH_SECONDS_LEAST
    from audiornn.health import SUSTAINED_SECONDS

    assert HEALTH_SECONDS_LEAST == SUSTAINED_SECONDS  # the config's copy of the health module's constant


@pytest.mark.tf_only
def test_a_lost_worker_is_named_by_the_task_that_is_not_this_one():
    from types import SimpleNamespace

    import tensorflow as tf
    from audiornn.training import _lost_task

    this = SimpleNamespace(cluster_resolver=SimpleNamespace(task_type="worker", task_id=0))
    # As TensorFlow words it: the failed operation's device (this worker) first, the lost worker after.
    message = ("{{function_node __wrapped__CollectiveReduceV2_device_/job:worker/replica:0/task:0/device:CPU:0}} "
               "Collective ops is aborted by: Error reported from /job:worker/task:1: The following tasks are "
               "unhealthy (stopped sending heartbeats):\n/job:worker/replica:0/task:1")
    assert _lost_task(tf.errors.UnavailableError(None, None, message), this) == "worker task 1"
    assert _lost_task(tf.errors.UnavailableError(None, None, "/job:worker/replica:0/task:0"), this) == "a worker"
    assert _lost_task(ValueError("not a cluster failure"), this) is None


def test_resuming_with_another_precision_is_refused_and_the_record_kept(sine_run, capsys):
    from audiornn.cli import main

    config = (sine_run[0] / "config.json").read_text()
    assert main(["train", "--resume", str(sine_run[0]), "--mixed-precision", "bfloat16", "--epochs", "9",
                 "--quiet"]) == 2
    message = capsys.readouterr().err
    assert "--mixed-precision bfloat16 differs from the run's" in message and "computes in float32" in message
    assert (sine_run[0] / "config.json").read_text() == config


def test_no_epoch_is_begun_in_less_than_half_an_epochs_time_left():
    # It stopped after a batch or so (one, often), from a state reset for it, and counted as an epoch.
    from audiornn.training import _budget_spent

    config = TrainConfig(minutes=1.0)
    for trained, spent in ((50.0, True), (59.9, True), (60.0, True), (30.0, False), (45.0, False)):
        assert _budget_spent({"epochs_completed": 2, "training_seconds": trained}, config) == spent, trained
    assert not _budget_spent({"epochs_completed": 0, "training_seconds": 0.0}, config)
    assert not _budget_spent({"epochs_completed": 3, "training_seconds": 500.0}, TrainConfig(epochs=5))




@pytest.mark.slow
def test_after_a_first_epoch_the_next_is_not_begun_in_too_little_time_either(tone_dataset, tmp_path, monkeypatch):
    # A probe: a 1-minute budget whose first epoch (its compilation in it) left 15 s began a second epoch of one
    # batch, which ran the budget over by 43 % and drew a spike in the curves
    from audiornn import training
    from audiornn.training import _steady_epoch_seconds

    assert _steady_epoch_seconds(40.0, 25.0, 4) == pytest.approx(20.0)  # 3 batches (and validation) in 15 s
    assert _steady_epoch_seconds(40.0, 25.0, 1) is None and _steady_epoch_seconds(40.0, None, 4) is None
    # its validation's first batch (the test step's compilation) left out too: 5 s of 4 batches, 4 s of 3
    assert _steady_epoch_seconds(40.0, 25.0, 4, training_seconds=30.0, first_validation_seconds=6.0,
                                 validation_batches=3) == pytest.approx(5 * 4 / 3 + 4 * 3 / 2)
    clock = {"now": 1000.0}

    class Clock:  # time stands still but for the batches: the first 36 s (its compilation), the others 0.5 s
        @staticmethod
        def monotonic():
            return clock["now"]

        def __getattr__(self, name):
            return getattr(time, name)

    batch_end = training.RunKeeper.on_train_batch_end

    def timed(self, batch, logs=None):
        clock["now"] += 36.0 if batch == 0 and self.state["epochs_completed"] == 0 else 0.5
        return batch_end(self, batch, logs)

    monkeypatch.setattr(training.RunKeeper, "on_train_batch_end", timed)
    monkeypatch.setattr(training, "time", Clock())
    summary = train(tone_dataset, tmp_path / "run", model_config=SMALL_MODEL,
                    train_config=TrainConfig(minutes=0.7, **{**SMALL_TRAINING, "steps_per_epoch": 10}), verbose=0)
    # 40.5 s of the 42 after the first epoch, whose other batches say an epoch takes 5 s: no second one
    assert summary["epochs"] == 1, summary["stop_reason"]
    assert summary["stop_reason"] == "time budget of 0.7 minutes used (the 2 s left would make an epoch of 30% of " \
                                     "its batches, not one of 5 s)"


@pytest.mark.slow
def test_batches_reach_tensorflow_without_tf_datas_autotuning(sine_dataset, tmp_path, monkeypatch):
    """With tf.data's autotuning on (Keras' PyDataset prefetches with it), the end of an epoch's iterator waited for
    the autotuning thread: 30 to 40 s on 2 busy cores, and a budget's last epoch became one batch. On TensorFlow
    with one device the batches go through a pipeline of their own, autotuning off: the draws Keras' PyDataset
    gave, epoch for epoch (Keras ends an epoch of it before the first: the first epoch draws the sampler's next)."""
    from audiornn.keras_data import WindowDataset, fit_input
    from audiornn.windows import WindowSampler

    sampler = WindowSampler(sine_dataset.array("train"), sine_dataset.segments("train"), sequence_length=32,
                            batch_size=4, shuffle=True, seed=3, steps=5)
    made = fit_input(sampler)
    if keras.backend.backend() == "tensorflow":
        assert made.options().autotune.enabled is False and int(made.cardinality()) == 5
        for epoch in range(1, 3):
            drawn = list(made.as_numpy_iterator())
            assert len(drawn) == 5
            for index, (inputs, targets) in enumerate(drawn):
                expected = sampler.batch(index, epoch)
                np.testing.assert_array_equal(inputs, expected[0])
                np.testing.assert_array_equal(targets, expected[1])
            sampler.epoch += 1  # (NextDraw's, in training)
    else:
        assert isinstance(made, WindowDataset)
    # Trained, the run's sampler draws anew once an epoch after its first, as the PyDataset had it do
    import audiornn.training as training_module

    made_samplers, real = [], training_module._samplers
    monkeypatch.setattr(training_module, "_samplers",
                        lambda *arguments: made_samplers.append(real(*arguments)) or made_samplers[-1])
    train(sine_dataset, tmp_path / "run", model_config=TINY, train_config=TrainConfig(epochs=3, **QUICK), verbose=0)
    assert made_samplers[-1][0].epoch == 4
