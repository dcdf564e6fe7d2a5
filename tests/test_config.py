"""The configs: validated on construction, options named by their flags, options that need others."""


import pytest
from audiornn import AudioConfig
from audiornn.cli import main
from audiornn.config import ModelConfig, TrainConfig
from audiornn.errors import ParameterError

from conftest import one_line


@pytest.mark.parametrize("extra, named", [
    (["--epochs", "0"], "--epochs 0"),
    (["--frame-units", "64"], "--frame-units sets the frame tier"),
    (["--no-linear-prediction", "--prediction-window", "64"], "--prediction-window sets the linear predictor"),
    (["--linear-prediction", "0", "--prediction-hop", "2"], "--prediction-hop sets the linear predictor"),
    (["--sample-rate", "16000", "--mu", "15"], "--sample-rate, --mu apply only when INPUT audio is given"),
    (["--preemphasis", "0"], "--preemphasis applies only when INPUT audio is given"),
    (["--no-linear-prediction", "--linear-prediction", "8"], "contradict each other"),
    (["--layers", "0"], "--layers (0), a feed-forward sample tier, needs a frame tier"),
])
def test_options_that_would_be_ignored_are_refused_naming_the_flag(tone_dataset, tmp_path, capsys, extra, named):
    run = tmp_path / "run"
    assert main(["train", "--dataset", str(tone_dataset.path), "--output", str(run), "--quiet", *extra]) == 2
    error = one_line(capsys)
    assert named in error, error
    assert not run.exists()


@pytest.mark.slow
def test_a_resume_refuses_audio_flags_and_names_the_laplace_prior_plainly(finished_run, capsys):
    assert main(["train", "--resume", str(finished_run), "--mu", "15", "--quiet"]) == 2
    assert "--mu applies only when INPUT audio is given; with --resume" in one_line(capsys)
    assert main(["train", "--resume", str(finished_run), "--no-laplace-prior", "--epochs", "2", "--quiet"]) == 2
    error = one_line(capsys)
    assert "--no-laplace-prior differs from the run's" in error and "trained with the Laplace prior" in error
    assert "(True)" not in error and "(False)" not in error
    # an option the run's preset does not read, even at the value it would have
    assert main(["train", "--resume", str(finished_run), "--window", "1000", "--quiet"]) == 2
    assert "--window sets the seed preset's context, and run" in one_line(capsys)


def test_options_a_models_preset_does_not_read_are_refused_by_name():
    from audiornn.training import check_preset_options

    with pytest.raises(ParameterError, match=r"run 'x' is the seed preset, which reads windows of --window \(1000 "
                                             r"samples\), not --sequence-length"):
        check_preset_options(ModelConfig.seed(), {"sequence_length": 500}, "run 'x'")
    with pytest.raises(ParameterError, match="--window sets the seed preset's context, and --init-from 'm' is the "
                                             "default preset"):
        check_preset_options(ModelConfig(), {"window": 1000}, "--init-from 'm'")
    check_preset_options(ModelConfig(), {"sequence_length": 500}, "run 'x'")  # what the preset reads: taken
    check_preset_options(ModelConfig.seed(), {"window": 500}, "run 'x'")


@pytest.mark.parametrize("values, message", [
    ({"sample_rate": 100}, "^--sample-rate must be an integer number of Hz"),
    ({"mu": 300}, "^--mu must be an integer from 1 to 255"),
    ({"preemphasis": 1.0}, r"^--preemphasis must be a number in \[0, 1\)"),
    ({"level": 0.0}, "^level must be a positive"),
])
def test_audio_config_is_validated_on_construction(values, message):
    with pytest.raises(ParameterError, match=message):
        AudioConfig(**values)


def test_messages_name_an_option_by_its_flag_where_they_are_raised():
    from audiornn.config import FLAGS, MODEL_OPTIONS, TRAIN_OPTIONS, option

    assert option("sequence_length") == "--sequence-length" and option("num_layers") == "--layers"
    assert option("count") == "--count (count=)" and option("length") == "length"  # a field without a flag: as it is
    assert all(FLAGS[field] == flag for options in (TRAIN_OPTIONS, MODEL_OPTIONS)
               for flag, (field, _, _) in options.items())
    with pytest.raises(ParameterError, match="^--sequence-length must be a positive integer"):
        TrainConfig(sequence_length=0)
    with pytest.raises(ParameterError, match=r"^--input-noise must be a number of μ-law classes, at least 0"):
        TrainConfig(input_noise=-0.5)
    with pytest.raises(ParameterError, match=r"^--sequence-length \(100\) must be a multiple of --frame-size \(16\)"):
        ModelConfig(frame_size=16).check_sequence_length(100)


@pytest.mark.parametrize("given, message", [
    ({"frame_units": 8}, "--frame-units sets the frame tier, which this model does not have: give --frame-size"),
    ({"prior_cap": 5.0, "linear_prediction": 0}, "--prior-cap sets the linear predictor"),
    ({"prediction_hop": 2, "laplace_prior": False, "linear_prediction": 0}, "--prediction-hop sets the linear"),
])
def test_an_option_for_a_part_the_model_lacks_is_refused_from_the_one_table(given, message):
    from audiornn.config import PARTS

    assert set(PARTS) >= {field for field in given if field not in ("linear_prediction", "laplace_prior")}
    with pytest.raises(ParameterError, match=message):
        ModelConfig.from_options(given)
    # The part turned on, the same option is taken; labels and features come with the dataset.
    assert ModelConfig.from_options({"frame_units": 8, "frame_size": 4}).frame_units == 8
    assert ModelConfig.from_options({"label_dim": 4}).label_dim == 4
    assert ModelConfig.from_options({"preset": "seed"}).many_to_one


def test_a_vocoders_defaults_replace_the_general_ones_left_as_they_are_not_the_same_values_given():
    # A notebook's TrainConfig(learning_rate=0.01) was trained at the vocoder's 0.003: the value given was the
    # general default, and nothing told the two apart
    import json

    from audiornn.features import FeatureConfig
    from audiornn.training import VOCODER_LEARNING_RATE, vocoder_train_config

    features = FeatureConfig()
    left = vocoder_train_config(TrainConfig(epochs=1), features)
    assert left.learning_rate == VOCODER_LEARNING_RATE and left.sequence_length != TrainConfig().sequence_length
    general = TrainConfig()
    given = vocoder_train_config(TrainConfig(learning_rate=0.01, sequence_length=96), features)
    assert (general.learning_rate, general.sequence_length) == (0.01, 96)  # the general defaults, given
    assert (given.learning_rate, given.sequence_length) == (general.learning_rate, general.sequence_length)
    # a config read back from its JSON (a run's config.json) holds values as given, written as plain numbers
    written = json.dumps(general.to_dict())
    assert '"learning_rate": 0.01' in written and '"sequence_length": 96' in written
    read = TrainConfig.from_dict(json.loads(written))
    assert read == general and vocoder_train_config(read, features).learning_rate == general.learning_rate
