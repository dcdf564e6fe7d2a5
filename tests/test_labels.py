"""Labels: given by folder, list or NAME=PATH; carried by windows; read by every step; chosen when generating."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile
from audiornn import build_dataset, stepping
from audiornn.cli import main
from audiornn.errors import AudioFileError, DatasetError, ParameterError
from audiornn.generation import generate
from audiornn.model import ModelConfig, build_model
from audiornn.runs import load_run_model
from audiornn.scoring import identify, score_audio, score_classes
from audiornn.stepping import SampleStream
from audiornn.training import TrainConfig, train
from audiornn.windows import WindowSampler

from conftest import sine

LABELS = ("high", "low", "noise")
TINY = ModelConfig(units=16, embedding_dim=8, lags=4, dense_units=16, label_dim=4)
QUICK = dict(batch_size=8, sequence_length=32, warmup_steps=2, learning_rate=1e-2)


def sound(label, index, seconds=1.0):
    generator = np.random.default_rng(index)
    count = int(seconds * 8000)
    if label == "noise":
        return (0.3 * generator.standard_normal(count)).astype(np.float32)
    frequency = (1500.0 if label == "high" else 250.0) + 20 * index
    return sine(frequency, seconds, 8000, phase=index) + 0.01 * generator.standard_normal(count).astype(np.float32)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """recordings/LABEL/takeN.wav: three labels of three one-second files each."""
    root = tmp_path_factory.mktemp("labelled") / "recordings"
    for label in LABELS:
        (root / label).mkdir(parents=True)
        for index in range(3):
            soundfile.write(str(root / label / f"take{index}.wav"), sound(label, index), 8000)
    return root


@pytest.fixture(scope="module")
def labelled(folders):
    return build_dataset([folders], folders.parent / "dataset", labels="folders", validation_fraction=0.3,
                         progress=False)


@pytest.fixture(scope="module")
def labelled_run(labelled, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "labelled"
    summary = train(labelled, run, model_config=TINY, train_config=TrainConfig(epochs=3, steps_per_epoch=30, **QUICK),
                    verbose=0)
    return run, summary


def file_labels(dataset):
    return {entry["path"]: entry["label"] for entry in dataset.metadata["sources"]}


def test_labels_by_folder_list_and_name_give_the_same_dataset(folders, labelled, tmp_path):
    assert labelled.labels == list(LABELS) and labelled.metadata["format_version"] == 2
    by_folder = file_labels(labelled)
    assert {label for label in by_folder.values()} == set(LABELS)
    assert all(f"/{label}/" in path for path, label in by_folder.items())
    table = tmp_path / "labels.csv"
    table.write_text("path,label\n" + "".join(f"{path},{label}\n" for path, label in by_folder.items()))
    by_list = build_dataset([folders], tmp_path / "list", labels=table, validation_fraction=0.3, progress=False)
    by_name = build_dataset({label: folders / label for label in LABELS}, tmp_path / "named",
                            validation_fraction=0.3, progress=False)
    for other in (by_list, by_name):
        assert file_labels(other) == by_folder and other.labels == labelled.labels
    # A list alone (no INPUT) takes its own files, relative to its folder.
    relative = tmp_path / "recordings.csv"
    relative.write_text("".join(f"{folders.name}/{label}/take0.wav,{label}\n" for label in LABELS))
    (tmp_path / folders.name).symlink_to(folders)
    alone = build_dataset([], tmp_path / "alone", labels=relative, progress=False)
    assert alone.labels == list(LABELS) and len(alone.metadata["sources"]) == 6  # each file's tail held out
    # A row may name a folder: its files take its label, but for a file's own row
    folders_table = tmp_path / "folders.csv"
    folders_table.write_text("".join(f"{folders / label},{label}\n" for label in LABELS)
                             + f"{folders / 'noise' / 'take2.wav'},high\n")
    by_folder_rows = build_dataset([folders], tmp_path / "rows", labels=folders_table, validation_fraction=0.3,
                                   progress=False)
    assert file_labels(by_folder_rows) == dict(by_folder, **{str(folders / "noise" / "take2.wav"): "high"})
    # ... also for files that are links into a store elsewhere (git-annex, DVC)
    (tmp_path / "annexed" / "alice").mkdir(parents=True)
    (tmp_path / "annexed" / "alice" / "a.wav").symlink_to(folders / "high" / "take0.wav")
    (tmp_path / "annexed" / "alice" / "b.wav").symlink_to(folders / "low" / "take1.wav")
    (tmp_path / "annexed" / "labels.csv").write_text("alice,alice\n")
    assert set(file_labels(build_dataset([], tmp_path / "annex", labels=tmp_path / "annexed" / "labels.csv",
                                         progress=False)).values()) == {"alice"}


def test_a_linked_speakers_folder_is_read_once_under_its_name_and_a_link_up_is_not_followed(folders, tmp_path):
    root = tmp_path / "voices"
    root.mkdir()
    for label in ("high", "low"):
        shutil.copytree(folders / label, root / label)
    (root / "noise").symlink_to(folders / "noise")  # a speaker's folder kept elsewhere
    (root / "high" / "up").symlink_to(root)  # round and round
    (root / "high" / "low-again").symlink_to(root / "low")  # a folder of the tree: read under its own name
    (root / "low" / "parent").symlink_to(tmp_path)  # above the input: everything beside it too
    (tmp_path / "backups" / "old").mkdir(parents=True)
    shutil.copy(folders / "high" / "take0.wav", tmp_path / "backups" / "old" / "b.wav")
    dataset = build_dataset(root, tmp_path / "ds", labels="folders", progress=False)
    sources = {(entry["name"], entry["label"]) for entry in dataset.metadata["sources"]}
    assert sources == {(f"{label}/take{index}.wav", label) for label in LABELS for index in range(3)}


def test_every_label_keeps_validation_audio_and_a_one_file_label_its_tail(folders, labelled, tmp_path):
    held = {segment.label for segment in labelled.segments("validation")}
    assert held == set(LABELS)
    # Whole files of each label are held out (three files each: one of them).
    for label in LABELS:
        files = [entry for entry in labelled.metadata["sources"] if entry["label"] == label]
        assert sum(entry["split"] == "validation" and entry["offset_in_file"] == 0 for entry in files) == 1
    single = build_dataset({"high": folders / "high", "noise": folders / "noise" / "take0.wav"}, tmp_path / "one",
                           validation_fraction=0.3, progress=False)
    tail = [entry for entry in single.metadata["sources"] if entry["label"] == "noise"]
    assert [entry["split"] for entry in tail] == ["train", "validation"] and tail[1]["offset_in_file"] > 0


def test_an_unlabelled_dataset_is_as_before(folders, tmp_path):
    plain = build_dataset([folders], tmp_path / "plain", progress=False)
    assert plain.metadata["format_version"] == 1 and "labels" not in plain.metadata and plain.labels == []
    assert all("name" not in entry and "/" in entry["label"] for entry in plain.metadata["sources"])
    assert all(segment.label is None for segment in plain.segments("train"))


def test_bad_labels_are_refused_naming_the_file(folders, tmp_path, write_audio):
    loose = write_audio("loose/top.wav", sound("low", 0))
    write_audio("loose/a/take.wav", sound("low", 1))
    with pytest.raises(DatasetError, match=f"'{loose}' is directly in .* no label's sub-folder"):
        build_dataset([loose.parent], tmp_path / "x", labels="folders", progress=False)
    table = tmp_path / "partial.csv"
    table.write_text(f"{folders / 'low' / 'take0.wav'},low\n")
    with pytest.raises(DatasetError, match="take1.wav' has no label in") as refused:
        build_dataset([folders / "low"], tmp_path / "x", labels=table, progress=False)
    # the row it asks for is read from the list's folder, as rows are: it names the file
    row = re.search(r"add a row '(.*),LABEL' for it \(a row's path is taken from the list's folder\)",
                    str(refused.value)).group(1)
    assert (table.parent / row).resolve() == (folders / "low" / "take1.wav").resolve()
    # A row's path that is not there is said with the list and its line (it was "input '...' does not exist", the
    # list unnamed, and the path read beside the list unexplained)
    table.write_text(f"path,label\n{folders / 'low' / 'take0.wav'},low\nlow/nothere.wav,low\n")
    with pytest.raises(DatasetError, match=r"label list '.*partial.csv', line 3: 'low/nothere.wav' does not exist, "
                                           r"read beside the list: '.*/low/nothere.wav' \(a row's path"):
        build_dataset([], tmp_path / "x", labels=table, progress=False)
    table.write_text(f"{folders / 'low' / 'take0.wav'}, \n")
    with pytest.raises(ParameterError, match="line 1: the label is empty"):
        build_dataset([], tmp_path / "x", labels=table, progress=False)
    silent = write_audio("quiet/hush.wav", np.zeros(8000, np.float32))
    with pytest.raises(AudioFileError, match=f"label 'quiet' has no usable audio: .*'{silent}'"):
        build_dataset({"low": folders / "low", "quiet": silent}, tmp_path / "x", progress=False)
    assert not (tmp_path / "x").exists()
    for arguments, message in ((["=" + str(folders / "low")], "the label is empty"),
                               ([f"low={folders / 'low'}", str(folders / "high")], "has no label while others"),
                               ([f"low={folders / 'low'}", "--labels-from-folders"], "use one way")):
        assert main(["data", *arguments, "--output", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


def test_windows_carry_the_label_of_their_file(labelled):
    ids = [LABELS.index(segment.label) for segment in labelled.segments("train")]
    segments = labelled.segments("train")
    for carry in (False, True):
        sampler = WindowSampler(labelled.array("train"), segments, sequence_length=32, batch_size=16, steps=20,
                                carry=carry, labels=ids)
        for index in range(len(sampler)):
            inputs, _ = sampler.batch(index)
            for offset, label in zip(sampler.offsets(index), inputs["label"]):
                [owner] = [segment for segment in segments if segment.start <= offset < segment.start + segment.length]
                assert LABELS[label] == owner.label and offset + 33 <= owner.start + owner.length
        # Rows change label only where they change file.
        if carry:
            table = sampler._lane_offsets(0)
            labels = sampler.labels_at(table.reshape(-1)).reshape(table.shape)
            jumps = np.diff(table, axis=0) != 32
            assert np.all((np.diff(labels, axis=0) == 0) | jumps)


@pytest.mark.slow
@pytest.mark.parametrize("config", [
    TINY,
    ModelConfig(units=16, embedding_dim=8, lags=0, dense_units=0, labels=LABELS),
    ModelConfig(num_layers=0, embedding_dim=8, lags=3, dense_units=16, frame_size=4, frame_units=8, labels=LABELS),
    ModelConfig(cell="lstm", units=8, embedding_dim=4, lags=2, linear_prediction=4, prediction_window=10,
                prediction_hop=2, frame_size=5, frame_units=8, labels=LABELS, label_dim=3),
], ids=["gru", "no-lags", "frame-tier", "lstm-predictor-frames"])
def test_step_equals_sequence_with_labels_and_the_label_changes_the_output(config):
    model = build_model(ModelConfig(**{**config.to_dict(), "labels": LABELS}))
    for layer in (model.logits, model.peak):  # the predictor's start weights are zeros: make the output depend
        layer.set_weights([np.random.default_rng(1).normal(0, 0.3, weight.shape) for weight in layer.get_weights()])
    classes = np.random.default_rng(0).integers(0, 256, (3, 40)).astype("int32")
    labels = np.array([0, 1, 2], "int32")
    states, stepped = model.initial_states(3, labels), []
    for step in range(40):
        logits, states = model.step(classes[:, step], states)
        stepped.append(np.asarray(logits))
    sequence = np.asarray(model({"classes": classes, "label": labels}))
    np.testing.assert_allclose(np.stack(stepped, axis=1), sequence, atol=1e-4, rtol=2e-5)
    other = np.asarray(model({"classes": classes, "label": np.array([1, 2, 0], "int32")}))
    assert np.abs(other - sequence).max() > 1e-3
    # In a compiled loop the streams' label product is made once (loop_extras): priming there sets the state the
    # sequence model has, so the next logits are its logits.
    stream = SampleStream(model, count=3, label=labels)
    stream.prime(classes[:, :23])
    continued, _ = model.step(classes[:, 22], stream.states)
    np.testing.assert_allclose(np.asarray(continued), sequence[:, 22], atol=1e-4, rtol=2e-5)
    constants = model.step_constants()
    extras = stepping.loop_extras(model, model.initial_states(3, labels), None, constants)(0)
    assert ("label_product" in extras) == (config.cell == "gru" and config.num_layers > 0)
    # Names or ids, one for all or one each; an unknown one is refused with the known ones.
    assert list(np.asarray(model.initial_states(3, "noise")["label"])) == [2, 2, 2]
    with pytest.raises(ParameterError, match="unknown label 'cello': this model knows high, low, noise"):
        model.initial_states(3, ["high", "cello", "low"])
    with pytest.raises(ParameterError, match="trained with labels"):
        model(classes)


@pytest.mark.slow
def test_the_sound_comparison_draws_the_real_audio_of_the_label_generated(labelled_run, labelled, monkeypatch):
    import audiornn.evaluation
    from audiornn.audio_io import decode_classes

    drawn, titles = [], []
    monkeypatch.setattr(audiornn.evaluation, "plot_sound_comparison",
                        lambda generated, real, rate, names: drawn.append(real) or titles.append(names[1]))
    model = load_run_model(labelled_run[0])
    for label in ("low", 2, None):  # a name, an id, and the first label by default
        audiornn.evaluation.sound_comparison(model, dataset=labelled, label=label, seconds=0.05)
    for real, name in zip(drawn, ("low", "noise", "high")):
        segment = next(segment for segment in labelled.segments("validation") if segment.label == name)
        expected, _ = decode_classes(labelled.array("validation")[segment.start:segment.start + 400],
                                     model.audio_config)
        np.testing.assert_array_equal(real, expected)
    assert titles == [f"real: held-out audio of dataset '{labelled.path.name}', label {name}"
                      for name in ("low", "noise", "high")]
    with pytest.raises(ParameterError, match="unknown label 'cello'"):
        audiornn.evaluation.sound_comparison(model, dataset=labelled, label="cello", seconds=0.05)
    # identify takes a run folder, as every entry point does
    from audiornn.scoring import identify

    files = [segment.source for segment in labelled.segments("validation")][:2]
    assert identify(str(labelled_run[0]), files, progress=False)["guess"] == identify(model, files,
                                                                                   progress=False)["guess"]


@pytest.mark.slow
def test_a_labelled_run_scores_each_label_and_saves_the_names(labelled_run, labelled, tmp_path):
    run, summary = labelled_run
    model = load_run_model(run)
    assert model.model_config.labels == LABELS
    scores = summary["validation"]["labels"]
    assert set(scores) == set(LABELS) and all(score["targets"] > 0 for score in scores.values())
    total = sum(score["bits_per_sample"] * score["targets"] for score in scores.values()) / \
        sum(score["targets"] for score in scores.values())
    assert total == pytest.approx(summary["validation"]["bits_per_sample"], rel=1e-5)
    # One label's score is that label's files scored alone.
    pieces = [np.asarray(labelled.array("validation")[segment.start:segment.start + segment.length])
              for segment in labelled.segments("validation") if segment.label == "noise"]
    alone = score_classes(model, pieces, labels="noise", progress=False)
    assert alone["bits_per_sample"] == pytest.approx(scores["noise"]["bits_per_sample"], rel=1e-4)
    # The label is learned: each validation file costs fewest bits under its own label.
    found = identify(model, {segment.label: [segment.source] for segment in labelled.segments("validation")},
                     progress=False)
    assert found["accuracy"] == 1.0 and found["guess"] == found["truth"]


@pytest.mark.slow
def test_generation_under_a_label_and_switching_after_a_prime(labelled_run):
    model = load_run_model(labelled_run[0])
    audio = generate(model, seconds=0.25, count=3, seed=3, label=["high", "low", "noise"], progress=False)
    alone = generate(model, seconds=0.25, count=1, seed=3, label="low", progress=False)
    assert audio.shape == (3, 2000)
    assert not np.array_equal(audio[0], audio[1])
    with pytest.raises(ParameterError, match="choose one with --label, one of high, low, noise"):
        generate(model, seconds=0.1, progress=False)
    with pytest.raises(ParameterError, match="unknown label 'cello'"):
        generate(model, seconds=0.1, label="cello", progress=False)
    assert alone.shape == (1, 2000)
    # Prime under one label, go on under another: the same as switching by hand.
    prime = np.random.default_rng(0).integers(100, 156, 300).astype("int32")
    switched = generate(model, seconds=0.1, seed=5, prime=prime, prime_label="noise", label="high", progress=False)
    stream = SampleStream(model, count=1, seed=5, label="noise")
    stream.prime(prime)
    stream.set_label("high")
    by_hand = stream.sample(800)
    kept = generate(model, seconds=0.1, seed=5, prime=prime, label="high", progress=False)
    from audiornn.audio_io import decode_classes

    _, state = decode_classes(prime, model.audio_config)
    np.testing.assert_allclose(switched[0], decode_classes(by_hand[0], model.audio_config, state=state)[0], atol=1e-6)
    assert not np.allclose(switched, kept)
    with pytest.raises(ParameterError, match="give a prime too"):
        generate(model, seconds=0.1, label="high", prime_label="low", progress=False)


def test_an_unlabelled_model_refuses_a_label(tone_dataset, tmp_path):
    model = build_model(ModelConfig(units=8, embedding_dim=4, lags=2, dense_units=8))
    with pytest.raises(ParameterError, match="trained without labels"):
        generate(model, seconds=0.1, label="low", progress=False)
    assert generate(model, seconds=0.1, progress=False).shape == (1, 800)
    import audiornn

    shipped = audiornn.load_model("speech")  # named by its file, with the option
    with pytest.raises(ParameterError, match=r"^model '.*speech\.keras' was trained without labels: leave --label "
                                             r"\(label=\) out$"):
        generate(shipped, seconds=0.1, label="low", progress=False)


@pytest.mark.slow
def test_the_command_line_trains_generates_scores_and_identifies(labelled_run, folders, tmp_path, capsys):
    run, _ = labelled_run
    assert main(["generate", "--model", str(run), "--seconds", "0.1", "--count", "2", "--label", "high,noise",
                 "--output", str(tmp_path / "g.wav"), "--quiet"]) == 0
    assert all((tmp_path / f"g_{index}.wav").is_file() for index in (1, 2))
    assert "at the level of each stream's label of the training audio" in capsys.readouterr().out
    assert main(["generate", "--model", str(run), "--seconds", "0.1", "--count", "3", "--label", "high,noise",
                 "--output", str(tmp_path / "h.wav"), "--quiet"]) == 2
    assert "2 labels for 3 streams (--count)" in capsys.readouterr().err
    assert main(["generate", "--model", str(run), "--seconds", "0.1", "--output", str(tmp_path / "h.wav"),
                 "--quiet"]) == 2
    assert "one of high, low, noise" in capsys.readouterr().err
    held = [folders / label / "take2.wav" for label in LABELS]
    assert main(["eval", "--model", str(run), "--identify", "--json", str(tmp_path / "who.json"), "--quiet",
                 "--audio", *[f"{label}={path}" for label, path in zip(LABELS, held)]]) == 0
    found = json.loads((tmp_path / "who.json").read_text())["identify"]
    assert found["truth"] == list(LABELS) and "accuracy" in found
    assert "accuracy" in capsys.readouterr().out
    assert main(["eval", "--model", str(run), "--audio", str(held[2]), "--label", "noise", "--quiet",
                 "--json", str(tmp_path / "noise.json")]) == 0
    score = json.loads((tmp_path / "noise.json").read_text())
    assert list(score["labels"]) == ["noise"] and score["file_labels"] == ["noise"]
    assert main(["eval", "--model", str(run), "--audio", str(held[2]), "--quiet"]) == 2
    assert "score under one with --label" in capsys.readouterr().err


@pytest.mark.slow
def test_init_from_a_labelled_model_keeps_known_labels_and_adds_new_ones(labelled_run, folders, tone_dataset,
                                                                          tmp_path):
    run, _ = labelled_run
    source = load_run_model(run)
    # A dataset with one known label and one new: the known keeps its id, the new starts at the average.
    extra = tmp_path / "hum"
    extra.mkdir()
    for index in range(2):
        soundfile.write(str(extra / f"hum{index}.wav"), sound("low", index + 5) * 0.5 + sound("high", index), 8000)
    mixed = build_dataset({"noise": folders / "noise", "hum": extra}, tmp_path / "mixed", progress=False)
    summary = train(mixed, tmp_path / "tuned", init_from=run, train_config=TrainConfig(epochs=1, steps_per_epoch=2,
                                                                                       **QUICK), verbose=0)
    tuned = load_run_model(tmp_path / "tuned")
    assert tuned.model_config.labels == LABELS + ("hum",)
    assert set(summary["validation"]["labels"]) == {"noise", "hum"}
    with pytest.raises(DatasetError, match="has none: build the dataset with labels"):
        train(tone_dataset, tmp_path / "x", init_from=run, train_config=TrainConfig(epochs=1, **QUICK), verbose=0)
    plain = tmp_path / "plain"
    train(tone_dataset, plain, model_config=ModelConfig(units=8, embedding_dim=4, lags=2, dense_units=8),
          train_config=TrainConfig(epochs=1, steps_per_epoch=2, **QUICK), verbose=0)
    with pytest.raises(DatasetError, match="trained without labels: build the dataset without labels"):
        train(mixed, tmp_path / "y", init_from=plain, train_config=TrainConfig(epochs=1, **QUICK), verbose=0)
    assert source.model_config.labels == LABELS


@pytest.mark.slow
def test_new_labels_start_from_the_average_of_the_known(labelled_run, folders, tmp_path, monkeypatch):
    from audiornn import training

    seen = {}
    real = training._fit

    def before_the_first_step(folder, dataset, model, *arguments, **options):
        seen["table"] = np.array(model.label_embedding.embeddings)
        return real(folder, dataset, model, *arguments, **options)

    monkeypatch.setattr(training, "_fit", before_the_first_step)
    run, _ = labelled_run
    known = np.array(load_run_model(run).label_embedding.embeddings)
    dataset = build_dataset({"high": folders / "high", "other": folders / "low"}, tmp_path / "ds", progress=False)
    train(dataset, tmp_path / "tuned", init_from=run, train_config=TrainConfig(epochs=1, steps_per_epoch=1, **QUICK),
          verbose=0)
    np.testing.assert_allclose(seen["table"][:3], known)
    np.testing.assert_allclose(seen["table"][3], known.mean(axis=0), rtol=1e-6)


@pytest.mark.slow
def test_score_audio_scores_each_file_under_its_own_label(labelled_run, folders, labelled):
    run, _ = labelled_run
    model = load_run_model(run)
    held = {label: [folders / label / "take2.wav"] for label in ("low", "noise")}
    score = score_audio(model, held, dataset=labelled, progress=False)
    assert list(score["labels"]) == ["low", "noise"]
    under_low = score_audio(model, held["low"], dataset=labelled, label="low", progress=False)
    assert under_low["model"]["bits_per_sample"] == pytest.approx(score["labels"]["low"]["bits_per_sample"], rel=1e-5)


@pytest.mark.slow
def test_ignore_labels_trains_an_unlabelled_model_scored_per_label_and_label_dim_needs_labels(labelled, tone_dataset,
                                                                                               tmp_path, capsys):
    options = ["--epochs", "1", "--steps-per-epoch", "2", "--units", "8", "--dense-units", "8", "--sequence-length",
               "32", "--batch-size", "4", "--quiet"]
    assert main(["train", "--dataset", str(labelled.path), "--output", str(tmp_path / "plain"), "--ignore-labels",
                 *options]) == 0
    assert "label noise:" in capsys.readouterr().out
    assert load_run_model(tmp_path / "plain").model_config.labels == ()
    summary = json.loads((tmp_path / "plain" / "summary.json").read_text())
    assert set(summary["validation"]["labels"]) == set(LABELS)
    assert main(["train", "--dataset", str(tone_dataset.path), "--output", str(tmp_path / "x"), "--label-dim", "8",
                 *options]) == 2
    assert "--label-dim (8) sets what the model does with labels, and it reads none" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


# -- what the hostile probe of the third wave found (issue 42) -------------------------------------------------


def test_a_list_giving_a_file_two_labels_is_refused_and_a_spreadsheets_byte_order_mark_is_read(folders, tmp_path):
    from audiornn.labels import labelled_files

    first, second = folders / "high" / "take0.wav", folders / "low" / "take0.wav"
    table = tmp_path / "labels.csv"
    table.write_text(f"{first},en\n{second},es\n{first},ru\n")
    with pytest.raises(DatasetError, match=r"given two labels, 'en' \(line 1\) and 'ru' \(line 3\)"):
        labelled_files([first, second], table)
    table.write_text(f"{first},en\n{second},es\n{first},en\n")  # the same label twice is harmless
    assert [label for _, _, label in labelled_files([first, second], table)[0]] == ["en", "es"]
    table.write_bytes(f"path,label\n{first},en\n{second},es\n".encode("utf-8-sig"))  # "CSV UTF-8"
    assert labelled_files([first, second], table)[1] == ["en", "es"]
    table.write_bytes(f"{first},caf\xe9\n".encode("latin-1"))
    with pytest.raises(DatasetError, match="is not UTF-8 text"):
        labelled_files([first], table)
    with pytest.raises(ParameterError, match="is 150 bytes long: choose a name of at most 100"):
        labelled_files({"x" * 150: [first]})


def test_a_list_named_folders_is_a_list_on_the_command_line(folders, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("folders").write_text(f"{folders / 'high' / 'take0.wav'},alpha\n{folders / 'low' / 'take0.wav'},beta\n"
                               f"{folders / 'noise' / 'take0.wav'},beta\n")
    assert main(["data", str(folders / "high" / "take0.wav"), str(folders / "low" / "take0.wav"),
                 str(folders / "noise" / "take0.wav"), "--labels", "folders", "--output", "ds", "--quiet"]) == 0
    assert json.loads(Path("ds/metadata.json").read_text())["labels"] == ["alpha", "beta"]


def test_a_label_too_short_to_validate_is_warned_about_refused_with_strict_and_never_scored_zero(
        tmp_path, caplog):
    from audiornn.scoring import format_score_table, per_label

    for name, seconds in (("a", 1.0), ("b", 1.0)):
        soundfile.write(str(tmp_path / f"{name}.wav"), sound("high", 1, seconds), 8000)
    soundfile.write(str(tmp_path / "three.wav"), np.array([0.1, -0.2, 0.3], np.float32), 8000)
    named = {"en": [str(tmp_path / "a.wav"), str(tmp_path / "b.wav")], "tiny": [str(tmp_path / "three.wav")]}
    with pytest.raises(DatasetError, match="label 'tiny' has 2 training samples, under one training window.*strict"):
        build_dataset(named, tmp_path / "strict", strict=True, progress=False)
    assert not (tmp_path / "strict").exists()
    with caplog.at_level("WARNING", logger="audiornn"):
        build_dataset(named, tmp_path / "ds", progress=False)
    assert "label 'tiny' has" in caplog.text and "no validation audio" in caplog.text
    # A label whose validation audio is too short to predict anything has no score, not 0.000.
    result = {"pieces": [{"bits_per_sample": 3.0, "targets": 100}, {"bits_per_sample": 0.0, "targets": 0}]}
    scores = per_label(result, ["en", "tiny"], ["en", "tiny"])
    assert scores["tiny"]["bits_per_sample"] is None and scores["en"]["bits_per_sample"] == 3.0
    table = format_score_table({"model": {"bits_per_sample": 3.0, "accuracy": 0.1}, "baselines": {}, "labels": scores,
                                "seconds": 1.0, "files": ["a"], "dataset": None})
    assert "label tiny" in table and "no validation audio" in table and "0.000" not in table


def test_a_vocoders_label_is_measured_against_a_vocoders_window(tmp_path, caplog):
    # A vocoder trains on windows of VOCODER_WINDOW_FRAMES frames (481 samples with mel's hop of 80 at 8 kHz),
    # not the 97 samples of the default sequence length: a label of 0.04 s is too little for one.
    from audiornn.config import VOCODER_WINDOW_FRAMES

    for name, kind, seconds in (("a", "high", 1.5), ("b", "low", 1.5), ("short", "noise", 0.04)):
        soundfile.write(str(tmp_path / f"{name}.wav"), sound(kind, 1, seconds), 8000)
    named = {"en": [str(tmp_path / "a.wav"), str(tmp_path / "b.wav")], "short": [str(tmp_path / "short.wav")]}
    with caplog.at_level("WARNING", logger="audiornn"):
        build_dataset(named, tmp_path / "plain", progress=False, validation_fraction=0)
    assert "label 'short'" not in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="audiornn"):
        dataset = build_dataset(named, tmp_path / "voc", progress=False, validation_fraction=0, features="mel")
    window = VOCODER_WINDOW_FRAMES * dataset.feature_config.hop + 1
    assert f"label 'short' has 320 training samples, under one training window ({window})" in caplog.text
    assert "label 'en'" not in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="audiornn"):
        build_dataset([str(tmp_path / "short.wav")], tmp_path / "one", progress=False, validation_fraction=0,
                      features="mel")
    assert (f"has 320 samples, shorter than one training window ({window} samples at the default --sequence-length, "
            f"a vocoder's {VOCODER_WINDOW_FRAMES} frames)") in caplog.text


@pytest.mark.slow
def test_identify_says_what_it_left_out_and_refuses_a_label(labelled_run, folders, tmp_path, capsys):
    model = load_run_model(labelled_run[0])
    soundfile.write(str(tmp_path / "one.wav"), np.array([0.5], np.float32), 8000)
    soundfile.write(str(tmp_path / "cello.wav"), sound("low", 7), 8000)
    found = identify(model, {"high": [str(folders / "high" / "take2.wav")], "low": [str(tmp_path / "one.wav")],
                             "cello": [str(tmp_path / "cello.wav")]}, progress=False)
    assert found["too_short"] == [str(tmp_path / "one.wav")]
    assert found["unknown_labels"] == ["cello"] and list(found["per_label"]) == ["high"]
    assert found["accuracy"] in (0.0, 1.0)  # over the one file whose label the model knows, not two
    from audiornn.scoring import format_identify_table

    table = format_identify_table(found)
    assert "accuracy" in table and "of 1 file(s)" in table and "a label the model does not know" in table
    assert "not scored: 1 file(s) shorter than 2 samples" in table
    assert main(["eval", "--model", str(labelled_run[0]), "--audio", str(folders), "--labels-from-folders",
                 "--identify", "--label", "high", "--quiet"]) == 2
    assert "--identify guesses each file's label and --label says it" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["a/b", "../../evil", "two\nlines"])
def test_a_label_name_that_is_a_path_or_breaks_a_line_is_refused(folders, name):
    from audiornn.labels import labelled_files

    with pytest.raises(ParameterError, match="has a path separator or a line break"):
        labelled_files({name: [folders / "high" / "take0.wav"]})


def test_a_label_list_that_is_a_folder_says_so(folders):
    from audiornn.labels import labelled_files

    with pytest.raises(ParameterError, match="is a folder: give a CSV file"):
        labelled_files([folders], folders)


def test_a_label_typed_composed_finds_the_decomposed_name_of_a_folder(tmp_path, write_audio):
    import unicodedata

    from audiornn.labels import labelled_files
    from audiornn.stepping import label_ids

    decomposed = unicodedata.normalize("NFD", "español")  # as macOS names the folder
    write_audio(f"voices/{decomposed}/a.wav", np.sin(np.arange(800) * 0.3).astype(np.float32) * 0.5)
    _, names = labelled_files([tmp_path / "voices"], "folders")
    assert names == ["español"] and names[0] == unicodedata.normalize("NFC", "español")

    class Model:  # an older model whose label was kept decomposed
        model_config = ModelConfig(labels=("en", decomposed))

    assert label_ids(Model(), ["español", "en"]).tolist() == [1, 0]
    with pytest.raises(ParameterError, match=r"unknown label 'fr': this model knows"):  # said once, not per file
        label_ids(Model(), ["fr", "fr", "fr"])


@pytest.mark.slow
def test_eval_sound_of_a_labelled_model_names_its_label_and_draws_that_labels_audio(labelled_run, labelled,
                                                                                   monkeypatch, tmp_path):
    import audiornn.evaluation
    from audiornn.audio_io import decode_classes
    from audiornn.commands import evaluate_command

    drawn = []
    monkeypatch.setattr(audiornn.evaluation, "plot_sound_comparison",
                        lambda generated, real, rate, names: drawn.append(real) or audiornn.evaluation.plot_sounds(
                            [generated], rate, names=("generated",)))
    for label, name in (("low", "low"), (None, "high"), (2, "noise")):  # the one asked (or its id), else the first
        results, text, _ = evaluate_command(model=str(labelled_run[0]), sound=True, label=label, seconds=0.8,
                                      output=tmp_path / name, progress=False)
        shown = "\n".join(text)
        assert f"model (0.8 s, seed 0, label {name})" in shown and results["sound"]["label"] == name
        # held to that label's training audio, and said so
        assert f"sound distance to the audio of label '{name}' of the training audio" in shown
        assert f"the level of label '{name}' of the training audio" in shown
        segment = next(segment for segment in labelled.segments("validation") if segment.label == name)
        expected, _ = decode_classes(labelled.array("validation")[segment.start:segment.start + 6400],
                                     load_run_model(labelled_run[0]).audio_config)
        np.testing.assert_array_equal(drawn[-1], expected)


@pytest.mark.slow
def test_a_labels_references_are_of_its_own_files(labelled, labelled_run, tmp_path):
    from audiornn.health import LevelReference, reference_for
    from audiornn.sound import SoundReference

    tonal, noisy = (LevelReference.from_dataset(labelled, label) for label in ("low", "noise"))
    assert tonal.held_partials > 0.5 > noisy.held_partials  # a sine's partials are held, noise's are not
    whole = LevelReference.from_dataset(labelled)
    assert noisy.held_partials < whole.held_partials < tonal.held_partials
    assert reference_for(labelled_run[0], label="noise") == noisy  # what generate --label noise is held to
    assert reference_for(labelled_run[0]) == whole
    from audiornn.commands import _health_references

    loaded = load_run_model(labelled_run[0])  # generate --label low,noise --count 2: each stream its label's
    assert _health_references(str(labelled_run[0]), loaded, None, ["low", "noise"], 2) == (
        [tonal, noisy], ["label 'low' of the training audio", "label 'noise' of the training audio"])
    assert _health_references(str(labelled_run[0]), loaded, None, "noise", 3) == (
        [noisy] * 3, ["label 'noise' of the training audio"] * 3)
    from audiornn.commands import generate_command

    said = []  # the health line names the label's audio the stream is held to, as eval --sound's does
    generate_command(str(labelled_run[0]), say=said.append, seconds=0.1, label="noise", progress=False,
                     output=tmp_path / "noise.wav")
    assert "at the level of label 'noise' of the training audio" in said[-1]
    assert "(label 'noise' of the training audio " in said[-1]
    low = SoundReference.from_dataset(labelled, "low")
    assert low.held_out_samples == sum(segment.length for segment in labelled.segments("validation")
                                       if segment.label == "low")
    noise = sound("noise", 7)
    assert low.report(noise)["model"]["frechet"] > SoundReference.from_dataset(labelled, "noise").report(
        noise)["model"]["frechet"]


def test_a_label_with_a_space_is_shown_as_one(folders, tmp_path, capsys):
    from audiornn.config import shown_labels

    assert shown_labels(["low", "noise"]) == "low, noise" and shown_labels(["a b", "c,d"]) == "'a b', 'c,d'"
    # (a probe's "a b=data" printed "labels a b", which reads as two labels)
    assert main(["data", f"low pitch={folders / 'low'}", f"noise={folders / 'noise'}", "--output",
                 str(tmp_path / "ds"), "--quiet"]) == 0
    assert "labels 'low pitch', noise)" in capsys.readouterr().out
