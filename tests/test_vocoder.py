"""The vocoder: features from one function, stored aligned, read by every step; vocode, its checks and its scores."""

import json
import shutil

import keras
import librosa
import numpy as np
import pytest
import scipy.linalg
import soundfile
from audiornn import build_dataset
from audiornn.audio_io import prepare_audio, read_audio
from audiornn.cli import SAMPLE_DATA, main
from audiornn.config import REFINE_PASSES
from audiornn.errors import AudioRNNError, ParameterError
from audiornn.features import FeatureConfig, frame_count, log_mel
from audiornn.generation import generate
from audiornn.model import ModelConfig, build_model
from audiornn.resynthesis import (
    format_resynthesis_table,
    griffin_lim,
    resynthesis_scores,
)
from audiornn.runs import load_model, load_run_model
from audiornn.scoring import dataset_frames, dataset_pieces, identify, score_classes
from audiornn.stepping import compiled_frame_rate
from audiornn.training import TrainConfig, featured_config, train
from audiornn.vocoder import load_features, vocode
from keras import ops

from conftest import assert_same_until_a_near_tie, sine

TINY = ModelConfig(units=16, embedding_dim=8, lags=4, dense_units=16, feature_units=8)
QUICK = dict(batch_size=8, sequence_length=160, warmup_steps=2, learning_rate=1e-2)


def tones(seed, seconds=1.5, rate=8000):
    """Tones that change pitch every 0.1 s at random: what is said is in the frames, not in the past."""
    generator = np.random.default_rng(seed)
    pieces = [sine(generator.choice([300.0, 700.0, 1500.0]), 0.1, rate, phase=generator.uniform(0, 6))
              for _ in range(int(seconds * 10))]
    return np.concatenate(pieces) + 0.01 * generator.standard_normal(int(seconds * rate)).astype(np.float32)


@pytest.fixture(scope="module")
def voiced(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tones")
    for index in range(4):
        soundfile.write(str(folder / f"tones{index}.wav"), tones(index), 8000)
    return folder


@pytest.fixture(scope="module")
def featured(voiced):
    return build_dataset([voiced], voiced / "dataset", features="mel", validation_fraction=0.25, progress=False)


@pytest.fixture(scope="module")
def vocoder_run(featured, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "vocoder"
    return run, train(featured, run, model_config=TINY, verbose=0,
                      train_config=TrainConfig(epochs=3, steps_per_epoch=100, preview_every=3, preview_seconds=0.2,
                                               **QUICK))


def test_log_mel_frames_match_a_reference_stft_and_align_with_the_samples():
    config = FeatureConfig.for_rate(8000)
    assert (config.hop, config.window, config.fft, config.bands) == (80, 200, 256, 40)
    audio = sine(1000.0, 0.5, 8000) * np.hanning(4000).astype(np.float32)
    frames = log_mel(audio, 8000, config)
    assert frames.shape == (frame_count(audio.size, 80), 40) == (50, 40)
    # Reference: frame k is a periodic-Hann window of 200 samples centred on sample 80 k, zero-padded to 256.
    padded = np.pad(audio.astype(np.float64), 128)
    window = np.pad(np.hanning(201)[:-1], 28)
    bank = librosa.filters.mel(sr=8000, n_fft=256, n_mels=40, fmin=0.0, fmax=4000.0)
    for k in (0, 7, 25, 49):
        spectrum = np.abs(np.fft.rfft(padded[80 * k:80 * k + 256] * window)) ** 2
        np.testing.assert_allclose(frames[k], np.log(np.maximum(bank @ spectrum, 1e-5)), atol=2e-3)
    # The sine's band is the loudest; the frames follow the envelope.
    centres = librosa.mel_frequencies(42, fmin=0.0, fmax=4000.0)[1:-1]
    assert abs(centres[frames[25].argmax()] - 1000.0) < 120
    assert frames[25].max() > frames[2].max() + 3


def test_a_dataset_stores_frames_aligned_at_one_byte_per_sample(voiced, featured, tmp_path):
    assert featured.metadata["format_version"] == 2 and featured.feature_config == FeatureConfig.for_rate(8000)
    bytes_per_sample = sum(2 * 40 * featured.metadata["splits"][split]["frames"] / featured.samples(split)
                           for split in ("train", "validation")) / 2
    assert bytes_per_sample == pytest.approx(1.0, rel=0.02)
    for split in ("train", "validation"):
        for segment in featured.segments(split):
            audio, rate = read_audio(segment.source)
            entry = next(entry for entry in featured.metadata["sources"]
                         if entry["path"] == segment.source and entry["split"] == split)
            _, _, frames = prepare_audio(audio, rate, features=featured.feature_config)
            first = entry["offset_in_file"] // 80
            stored = np.asarray(featured.frames(split)[segment.frames_start:segment.frames_start + entry["frames"]])
            np.testing.assert_allclose(stored, frames[first:first + entry["frames"]], atol=0.02)
    # One file: its validation tail starts on a frame.
    single = build_dataset([voiced / "tones0.wav"], tmp_path / "one", features="mel", progress=False)
    tail = [entry for entry in single.metadata["sources"] if entry["split"] == "validation"]
    assert tail[0]["offset_in_file"] % 80 == 0 and tail[0]["frames"] == frame_count(tail[0]["samples"], 80)


def test_the_predictor_fitted_to_the_frames_finds_the_envelope_of_an_all_pole_signal():
    """LPCNet's linear prediction from the features: the frames of noise through a known all-pole filter give
    back the filter, and the residual scale of noise of that level."""
    from audiornn import linear_prediction as lp
    from audiornn.config import AudioConfig
    from audiornn.features import audio_to_features, envelope_matrices
    from scipy.signal import lfilter

    rate, config = 8000, FeatureConfig.for_rate(8000)
    # Two resonances (500 and 1800 Hz), poles at radius 0.9 and 0.85: an order-4 predictor is exact.
    poles = [0.9 * np.exp(2j * np.pi * 500 / rate), 0.85 * np.exp(2j * np.pi * 1800 / rate)]
    denominator = np.real(np.poly(poles + [np.conj(pole) for pole in poles]))
    excitation = np.random.default_rng(0).laplace(0.0, 1.0, 4 * rate)
    audio = lfilter([1.0], denominator, excitation)
    audio, excitation = audio / np.abs(audio).max(), excitation / np.abs(audio).max()
    frames = audio_to_features(audio, rate, config)
    for preemphasis in (0.0, AudioConfig().preemphasis):
        matrices = envelope_matrices(config, rate, preemphasis, 4)
        coefficients, scales = (np.asarray(part, np.float64) for part in lp.fit_to_frames(frames, matrices, 4))
        assert coefficients.shape == (frames.shape[0], 4) and scales.shape == (frames.shape[0],)
        middle = slice(5, -5)  # away from the zero padding at the ends
        if not preemphasis:  # the resonances where the filter has them (40 bands blur their bandwidths a little)
            roots = np.roots(np.concatenate([[1.0], -np.median(coefficients[middle], axis=0)]))
            found = np.sort(np.angle(roots[roots.imag > 0]) * rate / (2 * np.pi))
            np.testing.assert_allclose(found, [500.0, 1800.0], atol=40.0)
        # The frames' predictor leaves nearly what order 4 fitted to the whole signal leaves (the
        # pre-emphasised signal when the model pre-emphasises), and its scale is that residual's Laplace scale.
        signal = lfilter([1.0, -preemphasis], [1.0], audio)
        past = np.stack([np.concatenate([np.zeros(k + 1), signal[:-k - 1]]) for k in range(4)], axis=1)
        frame = np.minimum(np.arange(signal.size) // config.hop, frames.shape[0] - 1)
        residual = signal - np.sum(coefficients[frame] * past, axis=1)
        correlation = np.array([signal[lag:] @ signal[:signal.size - lag] for lag in range(5)])
        best = signal - past @ scipy.linalg.solve_toeplitz(correlation[:4], correlation[1:])
        assert np.mean(residual[800:-800] ** 2) < 1.3 * np.mean(best[800:-800] ** 2)
        laplace = np.mean(np.abs(residual[800:-800]))  # a Laplace variable's mean absolute value is its scale
        assert 0.6 < np.median(scales[middle]) / laplace < 1.6


@pytest.mark.slow
@pytest.mark.parametrize("config", [
    ModelConfig(units=16, embedding_dim=8, lags=3, dense_units=16, features=6, feature_units=5, feature_prediction=5),
    ModelConfig(units=16, embedding_dim=8, lags=0, dense_units=0, features=6, feature_units=5, labels=("a", "b"),
                feature_prediction=0),
    ModelConfig(cell="lstm", num_layers=2, units=8, embedding_dim=4, lags=2, frame_size=8, frame_units=8, features=6,
                feature_units=5, feature_layers=1, linear_prediction=4, prediction_window=10, prediction_hop=2),
], ids=["gru", "labels-no-lags", "lstm-frames-predictor"])
def test_step_equals_sequence_with_features_and_a_frame_reaches_only_its_neighbours(config):
    model = build_model(config, feature_config=FeatureConfig(bands=6, hop=4, window=8, fft=8))
    for layer in (model.logits, model.peak):  # the predictor's start weights are zeros: make the output depend
        layer.set_weights([np.random.default_rng(1).normal(0, 0.3, weight.shape) for weight in layer.get_weights()])
    generator = np.random.default_rng(0)
    classes = generator.integers(0, 256, (3, 40)).astype("int32")
    margin = model.feature_net.margin
    frames = generator.normal(-3, 2, (3, 10 + 2 * margin, 6)).astype("float32")
    inputs = {"classes": classes, "features": frames}
    label = None
    if config.labels:
        inputs["label"] = label = np.array([0, 1, 1], "int32")
    sequence = np.asarray(model(inputs))
    vectors = np.asarray(model.feature_vectors(frames))
    # A predictor fitted to each frame's envelope when the model has one (the first), else none.
    predictors = model.frame_predictors(frames) if model.envelope is not None else None
    assert (predictors is not None) == (config.frame_prediction > 0)

    def predictor(step):
        return None if predictors is None else tuple(np.asarray(part)[:, step // 4] for part in predictors)

    states, stepped = model.initial_states(3, label), []
    for step in range(40):
        logits, states = model.step(classes[:, step], states, features=vectors[:, step // 4], predictor=predictor(step))
        stepped.append(np.asarray(logits))
    np.testing.assert_allclose(np.stack(stepped, axis=1), sequence, atol=1e-4, rtol=2e-5)
    # With the first GRU folded, the features' share of its product is made once a frame: the same logits.
    constants = model.step_constants()
    products = (ops.matmul(vectors, constants["features_kernel"]) if "features_kernel" in constants else None)
    assert (products is None) == (config.cell != "gru")
    if products is not None:
        states = model.initial_states(3, label)
        for step in range(40):
            logits, states = model.step(classes[:, step], states, constants, feature_product=products[:, step // 4],
                                        predictor=predictor(step))
            np.testing.assert_allclose(np.asarray(logits), sequence[:, step], atol=1e-4, rtol=2e-5)
    changed = frames.copy()
    changed[:, margin + 5] += 3.0  # frame 5 of the window (samples 20..23): its vector and `margin` either side
    moved = np.abs(np.asarray(model.feature_vectors(changed)) - vectors).max(axis=(0, 2))
    assert list(np.flatnonzero(moved > 0)) == list(range(5 - margin, 6 + margin))
    # Through the recurrent state the frame reaches the samples after it, never those before its neighbours.
    difference = np.abs(np.asarray(model({**inputs, "features": changed})) - sequence).max(axis=(0, 2))
    assert np.flatnonzero(difference > 0).min() == 4 * (5 - margin)
    with pytest.raises(ParameterError, match="feature vector" if predictors is None else "frame's predictor"):
        model.step(classes[:, 0], model.initial_states(3, label))


@pytest.mark.slow
def test_the_vocoder_reads_the_features_and_keeps_their_settings(vocoder_run, featured, tmp_path):
    run, summary = vocoder_run
    model = load_run_model(run)
    assert model.feature_config == featured.feature_config and model.model_config.features == 40
    # A new vocoder's predictor is fitted to the frames, unless the prior is off or it was given one of its own;
    # a vocoder saved before the frames' predictor existed has none.
    assert model.model_config.frame_prediction == 16 and model.envelope is not None
    for own, order in (({"laplace_prior": False}, 0), ({"linear_prediction": 8}, 0), ({}, 16)):
        assert featured_config(ModelConfig(**own), featured).feature_prediction == order
    saved = {key: value for key, value in model.model_config.to_dict().items() if key != "feature_prediction"}
    assert ModelConfig.from_saved(saved).frame_prediction == 0
    # The frames are standardised by the training frames' statistics, saved in the model.
    training_frames = np.asarray(featured.frames("train"), np.float64)
    np.testing.assert_allclose(np.asarray(model.feature_net.mean), training_frames.mean(axis=0), atol=1e-3)
    np.testing.assert_allclose(np.asarray(model.feature_net.deviation), training_frames.std(axis=0), rtol=1e-3)
    # Its preview is copy-synthesis of the start of the validation audio: 0.2 s, whole frames.
    [preview] = sorted((run / "previews").glob("*.wav"))
    assert soundfile.info(str(preview)).frames == 20 * 80
    # The tones change pitch at random: the frames (which see ahead) say to what. Wrong frames cost bits.
    pieces, frames = dataset_pieces(featured, "validation"), dataset_frames(featured, "validation")
    right = score_classes(model, pieces, features=frames, progress=False)["bits_per_sample"]
    assert right == pytest.approx(summary["validation"]["bits_per_sample"], rel=1e-5)
    other = dataset_frames(featured, "train")[0]
    wrong = score_classes(model, pieces, features=[other[:own.shape[0]] for own in frames], progress=False)
    assert wrong["bits_per_sample"] > right + 1.0
    # --ignore-features trains a model without them on the same dataset.
    quick = TrainConfig(epochs=1, steps_per_epoch=2, **QUICK)
    with pytest.raises(ParameterError, match=r"--feature-units \(8\) sets what the model does with features"):
        train(featured, tmp_path / "plain", model_config=TINY, use_features=False, verbose=0, train_config=quick)
    with pytest.raises(ParameterError, match=r"--feature-prediction \(8\) sets what the model does with features"):
        train(featured, tmp_path / "plain", model_config=ModelConfig(units=16, embedding_dim=8, lags=4,
                                                                     dense_units=16, feature_prediction=8),
              use_features=False, verbose=0, train_config=quick)
    plain = train(featured, tmp_path / "plain", model_config=ModelConfig(units=16, embedding_dim=8, lags=4,
                                                                         dense_units=16),
                  use_features=False, verbose=0, train_config=quick)
    assert load_run_model(tmp_path / "plain").feature_config is None and "bits_per_sample" in plain["validation"]


@pytest.mark.slow
def test_chunked_vocoding_equals_one_pass_and_streams_equal_each_alone(vocoder_run, voiced, tmp_path):
    model = load_run_model(vocoder_run[0])
    files = [voiced / "tones1.wav", voiced / "tones3.wav"]
    whole = vocode(model, files[0], seed=4, progress=False)
    chunked = vocode(model, files[0], seed=4, chunk_seconds=0.03, progress=False)  # 3 frames a chunk
    assert whole.shape == (1, frame_count(12000, 80) * 80)
    np.testing.assert_array_equal(whole, chunked)
    frames = load_features(files[1], model)
    short = frames[:50]
    both = vocode(model, [files[0], short], seed=4, progress=False, refine=0)  # lengths differ: a list
    assert [piece.size for piece in both] == [whole.shape[1], 50 * 80]
    # A batch of two rounds its products otherwise than one stream, so a run may part at a near tie (on JAX
    # one did at sample 401); the draws are the same, and so is the start (the draws: refining spreads a
    # difference back over a few windows).
    assert_same_until_a_near_tie(both[0], vocode(model, files[0], seed=4, progress=False, refine=0)[0],
                                 model.audio_config)
    paths = vocode(model, files, seed=4, output=tmp_path / "v.wav", progress=False)
    assert [path.name for path in paths] == ["v_1.wav", "v_2.wav"]
    for path, audio in zip(paths, vocode(model, files, seed=4, progress=False)):
        np.testing.assert_allclose(soundfile.read(str(path), dtype="float32")[0], audio, atol=1 / 16384)
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["v_1.wav", "v_2.wav"]


@pytest.mark.slow
def test_each_frames_values_are_the_same_to_the_bit_whatever_span_of_frames_they_are_made_in(vocoder_run, voiced):
    # What makes chunked vocoding equal one pass without relying on the draws: the frame-rate network's output
    # for a frame does not depend on how many frames it was made with (the rounding of a product can).
    model = load_run_model(vocoder_run[0])
    frames = np.stack([load_features(voiced / "tones1.wav", model), load_features(voiced / "tones2.wav", model)])
    margin, made = model.feature_net.margin, compiled_frame_rate(model)
    whole = keras.tree.map_structure(np.asarray, made(frames))
    assert sorted(whole) == ["feature_product", "predictor"]
    assert whole["feature_product"].shape == (frames.shape[1] - 2 * margin, 2, 3 * model.model_config.units)
    for first, count in ((0, 1), (7, 3), (40, 64)):
        part = keras.tree.map_structure(np.asarray, made(frames[:, first:first + count + 2 * margin]))
        keras.tree.map_structure(lambda one, all_: np.testing.assert_array_equal(one, all_[first:first + count]),
                                 part, whole)


@pytest.mark.slow
def test_features_that_do_not_fit_are_refused_naming_what_differs(vocoder_run, voiced, tmp_path):
    model = load_run_model(vocoder_run[0])
    frames = load_features(voiced / "tones2.wav", model)
    np.save(tmp_path / "ok.npy", frames)
    assert load_features(tmp_path / "ok.npy", model).shape == frames.shape
    np.save(tmp_path / "transposed.npy", frames.T)
    with pytest.raises(ParameterError, match=r"shape \(40, 150\); the model reads \(frames, 40\).*transpose"):
        load_features(tmp_path / "transposed.npy", model)
    with pytest.raises(ParameterError, match=r"shape \(150, 80\); the model reads \(frames, 40\).* 80 bands: frames "
                                             r"of another format"):
        load_features(np.zeros((150, 80), np.float32), model)
    # A front end's output saved with its batch axis, (1, frames, bands), is one input; a batch of more is refused.
    np.save(tmp_path / "batch.npy", frames[None])
    np.testing.assert_array_equal(load_features(tmp_path / "batch.npy", model), frames)
    np.save(tmp_path / "batch2.npy", np.stack([frames, frames]))
    with pytest.raises(ParameterError, match=r"a batch of 2: one input is one stream"):
        load_features(tmp_path / "batch2.npy", model)
    # A list of rows is one array's values, not 150 inputs of audio; anything but inputs is refused by name.
    for wrong, kind in ((frames.tolist(), "list of list"), (None, "got NoneType"), (np.float32(1.0), "got float32"),
                        (list(frames), "fewer than one frame's window"), ([np.float32(1.0)], "list of 0-d array"),
                        (np.array([]), r"the given array is empty \(shape \(0,\)\): give frames as one"),
                        (np.zeros((0, 40), np.float32), r"\(an empty array: it holds no values\)")):
        with pytest.raises(ParameterError, match=kind):
            vocode(model, wrong, progress=False)
    # With its sample_rate a 1-D array is audio, however short, as the same audio in a file is (it was refused
    # as "fewer than one frame's window" where the file vocoded)
    short = 0.3 * np.sin(np.arange(100) * 0.2).astype(np.float32)
    soundfile.write(str(tmp_path / "short.wav"), short, model.audio_config.sample_rate, subtype="FLOAT")
    np.testing.assert_array_equal(load_features(short, model, sample_rate=model.audio_config.sample_rate),
                                  load_features(tmp_path / "short.wav", model))
    # Any iterable of inputs, and a framework's tensor (anything NumPy takes as an array), are taken.
    many = vocode(model, (array for array in (frames[:20], frames[:20])), progress=False, seed=1)
    assert len(many) == 2 and np.asarray(many[0]).shape == (20 * model.feature_config.hop,)
    np.testing.assert_array_equal(many[0], vocode(model, frames[:20], progress=False, seed=1)[0])

    class Tensor:
        def __array__(self, dtype=None, copy=None):
            return frames[:20]

    np.testing.assert_array_equal(vocode(model, Tensor(), progress=False, seed=1),
                                  vocode(model, frames[:20], progress=False, seed=1))
    with pytest.raises(ParameterError, match=r"shape \(80, 150\).*transpose a \(bands, frames\) array"):
        load_features(np.zeros((80, 150), np.float32), model)  # another format's frames, transposed
    np.savez(tmp_path / "archive.npz", frames=frames)
    with pytest.raises(ParameterError, match=r"is an \.npz archive"):
        load_features(tmp_path / "archive.npz", model)
    with pytest.raises(ParameterError, match=r"look like dB \(10 log10 of power\)"):
        load_features(frames * 10 / np.log(10) - 40, model)  # dB, not natural-log power
    assert main(["vocode", "--model", str(vocoder_run[0]), str(tmp_path / "transposed.npy"),
                 "--output", str(tmp_path / "x.wav")]) == 2
    assert not (tmp_path / "x.wav").exists()
    with pytest.raises(ParameterError, match="is a vocoder"):
        generate(model, seconds=0.1, progress=False)
    with pytest.raises(ParameterError, match="reads no spectrogram features"):
        vocode(build_model(TINY), frames, progress=False)


@pytest.mark.slow
def test_griffin_lim_rebuilds_the_magnitudes_and_the_scores_run(vocoder_run, tmp_path, monkeypatch):
    model = load_run_model(vocoder_run[0])
    path = SAMPLE_DATA / "agent-user.wav"  # real speech
    frames = load_features(path, model)
    rebuilt = griffin_lim(frames, 8000, model.feature_config)
    assert rebuilt.shape == (frames.shape[0] * 80,)
    # Its random first phases come from a seed: the same audio (and scores) every time.
    np.testing.assert_array_equal(griffin_lim(frames, 8000, model.feature_config), rebuilt)
    assert not np.array_equal(griffin_lim(frames, 8000, model.feature_config, seed=1), rebuilt)
    again = load_features(rebuilt, model, sample_rate=8000)
    assert np.mean(np.abs(again - frames)) * 10 / np.log(10) < 3.0  # dB, each scaled to a peak of 1
    # A file with too little speech for STOI (about 0.4 s once silences are left out) has none, and the means
    # are over the files that have one, not pulled down by pystoi's stand-in of 1e-5.
    audio, rate = soundfile.read(path)
    loudest = int(np.argmax(np.abs(audio)))
    short = tmp_path / "short.wav"
    soundfile.write(short, audio[max(0, loudest - rate // 8):loudest + rate // 8], rate)
    import audiornn.vocoder

    reads = []
    monkeypatch.setattr(audiornn.vocoder, "read_audio", lambda name: reads.append(name) or read_audio(name))
    scores = resynthesis_scores(model, [path, short], progress=False)
    assert reads == [str(path), str(short)]  # the frames made once (the reference is read by itself)
    assert scores["stoi_files"] == 1
    rows = scores["per_file"]
    for method in ("vocoder", "griffin_lim"):
        assert 1.0 <= scores[method]["pesq"] <= 4.6 and 0 <= scores[method]["stoi"] <= 1
        assert rows[1][method]["stoi"] is None and scores[method]["stoi"] == rows[0][method]["stoi"]
        assert scores[method]["pesq"] == pytest.approx((rows[0][method]["pesq"] + rows[1][method]["pesq"]) / 2)
    assert scores["griffin_lim"]["log_mel_db"] < 3.0 and scores["griffin_lim"]["stoi"] > 0.8
    assert "STOI over 1 of the 2 files" in format_resynthesis_table(scores)
    # The table says which audio the vocoder's row is, and what the distance means for it
    table = format_resynthesis_table(scores)
    assert f"brought to its frames band by band in {REFINE_PASSES} passes" in table and "by construction" not in table
    table = format_resynthesis_table(dict(scores, refine=0))
    assert "(the network's audio as drawn, not refined: --refine 0)" in table and "by construction" in table


@pytest.mark.slow
def test_the_command_line_builds_trains_vocodes_and_scores(voiced, tmp_path, capsys):
    assert main(["data", str(voiced), "--features", "mel", "--output", str(tmp_path / "ds"), "--quiet"]) == 0
    assert json.loads((tmp_path / "ds" / "metadata.json").read_text())["features"]["bands"] == 40
    assert main(["train", "--dataset", str(tmp_path / "ds"), "--output", str(tmp_path / "run"), "--epochs", "1",
                 "--steps-per-epoch", "3", "--units", "8", "--dense-units", "8", "--sequence-length", "100",
                 "--quiet"]) == 2
    assert "--sequence-length 80" in capsys.readouterr().err  # 100 is not a whole number of frames
    # The defaults (a window of 96, learning rate 0.01) become a vocoder's: six frames, 0.003.
    assert main(["train", "--dataset", str(tmp_path / "ds"), "--output", str(tmp_path / "run"), "--epochs", "1",
                 "--steps-per-epoch", "3", "--units", "8", "--dense-units", "8", "--quiet"]) == 0
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (config["training"]["sequence_length"], config["training"]["learning_rate"]) == (480, 0.003)
    assert config["model"]["feature_prediction"] == 16  # a new vocoder's predictor fitted to the frames
    assert main(["train", "--dataset", str(tmp_path / "ds"), "--output", str(tmp_path / "plain"), "--epochs", "1",
                 "--steps-per-epoch", "2", "--units", "8", "--dense-units", "8", "--feature-prediction", "0",
                 "--quiet"]) == 0
    assert load_run_model(tmp_path / "plain").envelope is None
    assert main(["vocode", "--model", str(tmp_path / "run"), str(voiced / "tones0.wav"), "--seed", "1",
                 "--output", str(tmp_path / "out.wav"), "--quiet"]) == 0
    audio, rate = soundfile.read(str(tmp_path / "out.wav"))
    assert rate == 8000 and audio.size == frame_count(12000, 80) * 80
    # LPCNet's tail by default; --tail 0 draws from the whole distribution, a tail of 1/256 or more is refused.
    assert main(["vocode", "--model", str(tmp_path / "run"), str(voiced / "tones0.wav"), "--seed", "1", "--tail", "0",
                 "--output", str(tmp_path / "whole.wav"), "--quiet"]) == 0
    assert not np.array_equal(soundfile.read(str(tmp_path / "whole.wav"))[0], audio)
    assert main(["vocode", "--model", str(tmp_path / "run"), str(voiced / "tones0.wav"), "--tail", "0.01",
                 "--output", str(tmp_path / "no.wav"), "--quiet"]) == 2
    assert "--tail (tail=) must be a probability" in capsys.readouterr().err and not (tmp_path / "no.wav").exists()
    assert main(["eval", "--model", str(tmp_path / "run"), "--audio", str(voiced / "tones0.wav"), "--resynthesis",
                 "--output", str(tmp_path), "--json", str(tmp_path / "score.json"), "--quiet"]) == 0
    score = json.loads((tmp_path / "score.json").read_text())
    assert {"vocoder", "griffin_lim"} <= set(score["resynthesis"]) and score["model"]["targets"] > 0
    assert (tmp_path / "resynthesis.png").stat().st_size > 10_000
    # As vocode makes it (refined), or the network's audio alone: --refine 0
    assert score["resynthesis"]["refine"] == REFINE_PASSES
    assert main(["eval", "--model", str(tmp_path / "run"), "--audio", str(voiced / "tones0.wav"), "--resynthesis",
                 "--refine", "0", "--output", str(tmp_path), "--json", str(tmp_path / "score0.json"), "--quiet"]) == 0
    network = json.loads((tmp_path / "score0.json").read_text())["resynthesis"]
    assert network["refine"] == 0 and network["griffin_lim"] == score["resynthesis"]["griffin_lim"]
    assert network["vocoder"]["log_mel_db"] > score["resynthesis"]["vocoder"]["log_mel_db"]
    capsys.readouterr()
    assert main(["eval", "--model", str(tmp_path / "run"), "--audio", str(voiced / "tones0.wav"), "--refine", "0",
                 "--json", str(tmp_path / "no.json"), "--quiet"]) == 2  # nothing to refine without --resynthesis
    assert "--refine 0 sets the passes of --resynthesis's vocoding" in capsys.readouterr().err
    assert not (tmp_path / "no.json").exists()


# -- what the hostile probe of the third wave found (issue 42) -------------------------------------------------


@pytest.mark.slow
def test_frames_in_other_units_are_refused_naming_the_likely_unit_and_a_quieter_level_is_not(vocoder_run, voiced):
    # Judged by their spread against the model's training frames: here tones, as the model learned.
    model = load_run_model(vocoder_run[0])
    frames = load_features(voiced / "tones2.wav", model)
    with pytest.raises(ParameterError, match="look like log10 of power: multiply by ln"):
        load_features(frames / np.log(10), model)
    with pytest.raises(ParameterError, match="look like linear power: take the natural log"):
        load_features(np.exp(frames), model)
    with pytest.raises(ParameterError, match=r"look like dB \(10 log10 of power\)"):
        load_features(frames * 10 / np.log(10), model)
    quieter = frames - 12 / (10 / np.log(10))  # the same audio 12 dB quieter, in natural-log power
    np.testing.assert_array_equal(load_features(quieter, model), quieter.astype(np.float32))


def test_mel_frames_of_much_quieter_audio_are_named_as_such_not_as_another_unit():
    # The shipped 8 kHz vocoder reads mel frames of audio at a peak of 1; of audio 20 dB quieter, two thirds of the
    # values sit at the floor and the spread shrinks as log10's would: "multiply by ln(10)" was the advice.
    from audiornn.features import FeatureConfig, log_mel

    model = load_model("vocoder")
    audio, rate = soundfile.read(str(SAMPLE_DATA / "vm-forward.wav"), dtype="float32")
    audio = audio / np.max(np.abs(audio))
    with pytest.raises(ParameterError, match=r"look like mel frames of audio quieter than a peak of 1: \d+% of their "
                                             r"values sit at the floor .* made of audio scaled to a peak of 1"):
        load_features(log_mel(0.1 * audio, rate, FeatureConfig()), model)
    frames = log_mel(audio, rate, FeatureConfig())
    np.testing.assert_array_equal(load_features(frames, model), frames.astype(np.float32))
    with pytest.raises(ParameterError, match="look like log10 of power: multiply by ln"):  # still its unit
        load_features(frames / np.log(10), model)


@pytest.mark.slow
def test_too_few_frames_to_judge_are_said_and_a_short_file_is_named_before_vocoding(vocoder_run, voiced, tmp_path,
                                                                                   caplog):
    model = load_run_model(vocoder_run[0])
    frames = load_features(voiced / "tones2.wav", model)
    with caplog.at_level("WARNING", logger="audiornn"):
        load_features(frames[:10] / np.log(10), model)  # in range: its units cannot be told from ten frames
    assert "10 frame(s) are too few to tell their units by their spread (100 or more are needed)" in caplog.text
    caplog.clear()
    flat = np.concatenate([np.full((16, frames.shape[1]), np.log(model.feature_config.floor)),  # silence
                           frames[:84] / np.log(10)])
    with caplog.at_level("WARNING", logger="audiornn"):
        load_features(flat, model)
    assert "84 frame(s) that are not flat (of 100: the other 16 have every band alike) are too few" in caplog.text
    audio, rate = soundfile.read(str(voiced / "tones2.wav"))
    soundfile.write(str(tmp_path / "short.wav"), audio[:rate // 5], rate)
    with pytest.raises(AudioRNNError, match=r"short\.wav' lasts 0.2 s; PESQ scores a quarter of a second or more"):
        resynthesis_scores(model, [voiced / "tones2.wav", tmp_path / "short.wav"])


@pytest.mark.slow
def test_broken_npy_files_and_folders_are_refused_in_one_line(vocoder_run, tmp_path):
    model = load_run_model(vocoder_run[0])
    huge = tmp_path / "huge.npy"
    with open(huge, "wb") as handle:  # a header that promises 10^11 frames, with none behind it
        np.lib.format.write_array_header_1_0(handle, {"descr": "<f4", "fortran_order": False,
                                                      "shape": (10 ** 11, 40)})
    with pytest.raises(ParameterError, match=r"header says \(100000000000, 40\).*the file holds 0"):
        load_features(huge, model)
    np.savez(tmp_path / "frames.npz", frames=np.zeros((5, 40), np.float32))
    (tmp_path / "frames.npz").rename(tmp_path / "zipped.npy")
    with pytest.raises(ParameterError, match=r"is an \.npz archive"):
        load_features(tmp_path / "zipped.npy", model)
    (tmp_path / "future.npy").write_bytes(b"\x93NUMPY\x04\x00" + b"\x00" * 64)
    with pytest.raises(ParameterError, match="of version 4.0, which NumPy does not write"):
        load_features(tmp_path / "future.npy", model)
    (tmp_path / "text.npy").write_text("0.1 0.2\n")
    with pytest.raises(ParameterError, match="is not a NumPy .npy file"):
        load_features(tmp_path / "text.npy", model)
    shutil.copy(SAMPLE_DATA / "agent-user.wav", tmp_path / "recording.npy")  # a recording named .npy
    with pytest.raises(ParameterError, match="is a WAV file, named .npy: give it its own extension"):
        load_features(tmp_path / "recording.npy", model)
    np.save(tmp_path / "objects.npy", np.array([None, 1], dtype=object), allow_pickle=True)
    with pytest.raises(ParameterError, match="holds Python objects"):
        load_features(tmp_path / "objects.npy", model)
    (tmp_path / "npy").mkdir()
    with pytest.raises(ParameterError, match="is a folder: vocode takes audio files or .npy frames"):
        load_features(tmp_path / "npy", model)
    with open(tmp_path / "negative.npy", "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": "<f4", "fortran_order": False, "shape": (-5, 40)})
    with pytest.raises(ParameterError, match=r"a negative shape"):
        load_features(tmp_path / "negative.npy", model)
    (tmp_path / "taken.wav").mkdir()  # --output naming a folder: refused before any work
    with pytest.raises(ParameterError, match="is a folder: name a .wav file"):
        vocode(model, SAMPLE_DATA / "agent-user.wav", output=tmp_path / "taken.wav", progress=False)
    with pytest.raises(ParameterError, match="this model reads no spectrogram features"):
        resynthesis_scores(build_model(TINY), [SAMPLE_DATA / "agent-user.wav"])


@pytest.mark.slow
def test_a_labelled_vocoder_vocodes_and_resynthesises_under_a_label(voiced, tmp_path, capsys):
    for label, names in (("one", ("tones0", "tones1")), ("two", ("tones2", "tones3"))):
        (tmp_path / "v" / label).mkdir(parents=True)
        for name in names:
            (tmp_path / "v" / label / f"{name}.wav").write_bytes((voiced / f"{name}.wav").read_bytes())
    assert main(["data", str(tmp_path / "v"), "--labels-from-folders", "--features", "mel", "--output",
                 str(tmp_path / "ds"), "--validation-fraction", "0.5", "--quiet"]) == 0
    assert main(["train", "--dataset", str(tmp_path / "ds"), "--output", str(tmp_path / "run"), "--epochs", "1",
                 "--steps-per-epoch", "2", "--units", "8", "--dense-units", "8", "--quiet"]) == 0
    # Two training steps leave the labels' vectors near their small start: made larger, they change the audio.
    model = load_run_model(tmp_path / "run")
    embedding = model.label_embedding
    embedding.set_weights([np.stack([np.full(model.model_config.label_dim, sign, np.float32) for sign in (3, -3)])])
    model.save(tmp_path / "labelled.keras")
    source, run = str(voiced / "tones0.wav"), str(tmp_path / "labelled.keras")
    assert main(["vocode", "--model", run, source, "--output", str(tmp_path / "o.wav"), "--quiet"]) == 2
    assert "choose one with --label, one of one, two" in capsys.readouterr().err
    assert not (tmp_path / "o.wav").exists()
    for label in ("one", "two"):
        assert main(["vocode", "--model", run, source, "--label", label, "--seed", "1",
                     "--output", str(tmp_path / f"{label}.wav"), "--quiet"]) == 0
    one, two = (soundfile.read(str(tmp_path / f"{label}.wav"))[0] for label in ("one", "two"))
    assert one.shape == two.shape and not np.array_equal(one, two)  # the label reaches the audio
    # The API takes the label too: the same audio as the command line wrote (to 16-bit PCM's step).
    api = vocode(load_run_model(run), source, label="two", seed=1, progress=False)[0]
    np.testing.assert_allclose(api, two, atol=1.5 / 32768)
    from audiornn.commands import vocode_command  # the command's one library call, by the run's path

    said = []
    paths = vocode_command(run, [source], label="two", seed=1, output=tmp_path / "c.wav", progress=False,
                           say=said.append)
    assert said == [f"wrote {paths[0]} (from {source})"]
    np.testing.assert_array_equal(soundfile.read(str(paths[0]))[0], two)
    said.clear()  # several inputs, quiet: one line for them all
    paths = vocode_command(run, [source, source], label="two", seed=1, output=tmp_path / "d.wav", progress=False,
                           say=said.append)
    assert said == [f"wrote 2 files: {paths[0]} ... {paths[1]} (from {source} ... {source}, in their order)"]
    assert main(["vocode", "--model", run, source, source, "--label", "one,two,one",
                 "--output", str(tmp_path / "x.wav"), "--quiet"]) == 2
    assert "--label gives 3 labels for 2 inputs" in capsys.readouterr().err
    assert main(["eval", "--model", run, "--audio", source, "--resynthesis", "--label", "two",
                 "--output", str(tmp_path), "--json", str(tmp_path / "r.json"), "--quiet"]) == 0
    assert json.loads((tmp_path / "r.json").read_text())["resynthesis"]["vocoder"]["pesq"] >= 1.0
    # A labelled vocoder identifies too: each file scored under every label, given its own frames.
    found = identify(load_run_model(run), {"one": [source], "two": [str(voiced / "tones3.wav")]}, progress=False)
    assert len(found["bits"]) == 2 and all(np.isfinite(row).all() for row in np.array(found["bits"]))
    assert main(["eval", "--model", run, "--quiet"]) == 2  # a vocoder is evaluated on recordings
    assert "this model is a vocoder" in capsys.readouterr().err


@pytest.mark.slow
def test_init_from_refuses_to_drop_or_invent_frames(sine_run, vocoder_run, featured, tmp_path, capsys):
    assert main(["train", "--init-from", str(sine_run[0]), "--dataset", str(featured.path), "--output",
                 str(tmp_path / "a"), "--epochs", "1", "--quiet"]) == 2
    message = capsys.readouterr().err
    assert "has spectrogram frames (mel) and --init-from" in message and "--ignore-features" in message
    plain = build_dataset([SAMPLE_DATA / "agent-user.wav", SAMPLE_DATA / "vm-forward.wav"], tmp_path / "plain",
                          progress=False)
    assert main(["train", "--init-from", str(vocoder_run[0]), "--dataset", str(plain.path), "--output",
                 str(tmp_path / "b"), "--epochs", "1", "--quiet"]) == 2
    message = capsys.readouterr().err
    assert "is a vocoder of 40 mel bands, a frame every 80 samples" in message and "FeatureConfig(" not in message
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_fold_cuts_a_long_input_into_segments_and_joins_them_back_in_place():
    from audiornn.vocoder import FOLD_STREAMS, Fold

    assert Fold.plan(90, 100).count == 1 and Fold.plan(3000, 100, fold=False).count == 1
    plan = Fold.plan(3000, 100)  # 30 s at 100 frames a second
    assert plan.count <= FOLD_STREAMS and plan.segment >= 100 and plan.count * plan.segment >= 3000
    assert 0 < plan.fade <= plan.warmup
    hop = 4
    signal = np.random.default_rng(0).standard_normal(plan.frames * hop).astype("float32")
    pieces = []
    for start in plan.starts():  # each stream from its first sample (before the input: its first sample's value)
        where = np.clip(np.arange(start * hop, (start + plan.length) * hop), 0, signal.size - 1)
        pieces.append(signal[where])
    joined = plan.join(pieces, hop)
    assert joined.shape == signal.shape
    fades = np.zeros(signal.size, bool)
    for index in range(1, plan.count):
        fades[(index * plan.segment - plan.fade) * hop:index * plan.segment * hop] = True
    np.testing.assert_array_equal(joined[~fades], signal[~fades])
    # The same signal faded out and in: equal power, cos + sin of the angle.
    gain = joined[fades] / signal[fades]
    assert np.all((gain > 0.99) & (gain < 1.415))


@pytest.mark.slow
def test_folded_vocoding_is_exact_in_length_the_same_whatever_the_chunks_or_batch_and_keeps_the_level(
        vocoder_run, voiced, tmp_path, monkeypatch):
    from audiornn import vocoder

    monkeypatch.setattr(vocoder, "FOLD_SEGMENT_SECONDS", 0.25)  # 1.5 s of tones: 4 segments
    model = load_run_model(vocoder_run[0])
    files = [voiced / "tones0.wav", voiced / "tones2.wav"]
    folded = vocode(model, files[0], seed=2, progress=False)
    assert folded.shape == (1, frame_count(12000, 80) * 80)
    np.testing.assert_array_equal(folded, vocode(model, files[0], seed=2, chunk_seconds=0.05, progress=False))
    both = vocode(model, files, seed=2, progress=False, refine=0)  # its segments beside the other input's: the same
    # draws (before refining, which spreads a difference back over a few windows)
    assert_same_until_a_near_tie(both[0], vocode(model, files[0], seed=2, progress=False, refine=0)[0],
                                 model.audio_config)
    single = vocode(model, files[0], seed=2, progress=False, fold=False)
    assert single.shape == folded.shape and not np.array_equal(single, folded)
    # Every segment carries sound at the unfolded stream's level: no gap, no doubling at the joins.
    windows = np.sqrt(np.mean(folded[0][:11520].reshape(-1, 160) ** 2, axis=1))
    reference = np.sqrt(np.mean(single[0] ** 2))
    assert windows.min() > 0.1 * reference and 0.6 < np.sqrt(np.mean(folded ** 2)) / reference < 1.6
    assert main(["vocode", str(files[0]), "--model", str(vocoder_run[0]), "--output", str(tmp_path / "one.wav"),
                 "--seed", "2", "--no-fold", "--quiet"]) == 0
    np.testing.assert_allclose(soundfile.read(str(tmp_path / "one.wav"), dtype="float32")[0], single[0],
                               atol=1 / 16384)


@pytest.mark.slow
def test_inputs_of_any_length_vocode_in_a_loop_compiled_once_and_as_they_would_alone(vocoder_run, voiced):
    audio, rate = read_audio(voiced / "tones1.wav")
    piece = audio[:3200]  # 0.4 s: 40 frames of 80 samples

    def run(model, *inputs):
        made = [vocode(model, item, sample_rate=rate, seed=4, fold=False, refine=0, chunk_seconds=10, progress=False)
                for item in inputs]
        return made, [loop.sizes for loop in model.compiled_loops.values() if hasattr(loop, "sizes")]

    (alone,), sizes = run(load_run_model(vocoder_run[0]), piece)
    assert sizes == [[64 * 80]]  # 40 frames, in a loop compiled for 64
    (whole, after), sizes = run(load_run_model(vocoder_run[0]), audio, piece)
    assert whole.shape == (1, 12000) and sizes == [[256 * 80]]  # 150 frames; the piece ran in the same loop
    np.testing.assert_array_equal(after, alone)  # its frames padded to the loop's size: nothing changed


@pytest.mark.slow
def test_pitch_scores_find_a_pitch_error_in_cents_and_a_buzz_where_the_original_is_unvoiced():
    from audiornn.resynthesis import pitch_scores

    rate = 16000

    def voice(frequency, seconds=0.8):
        time = np.arange(int(seconds * rate)) / rate
        return sum(0.3 / harmonic * np.sin(2 * np.pi * frequency * harmonic * time) for harmonic in range(1, 6))

    hiss = 0.05 * np.random.default_rng(0).standard_normal(int(0.8 * rate))
    original = np.concatenate([voice(200.0), hiss])
    same = pitch_scores(original, original, rate)
    assert same["f0_cents"] < 1 and same["buzz"] < 0.1
    copy = np.concatenate([voice(200.0 * 2 ** (1 / 12)), voice(150.0)])  # a semitone sharp, and the hiss buzzes
    scores = pitch_scores(original, copy, rate)
    assert scores["f0_cents"] == pytest.approx(100, abs=15) and scores["buzz"] > 0.8


@pytest.mark.slow
def test_a_copy_scaled_down_to_its_frames_level_is_not_cut_below_full_scale():
    # An 8 kHz recording read by vocoder-16k comes out 11 dB quieter than it was made: cut at full scale before
    # that, 9 % of its samples sat on a flat rail at 0.28.
    [audio] = vocode(load_model("vocoder-16k"), [SAMPLE_DATA / "agent-user.wav"], seed=0, progress=False)
    peak = float(np.max(np.abs(audio)))
    assert 0.3 < peak <= 1.0 and np.mean(np.abs(audio) >= peak - 1e-6) < 0.001


@pytest.mark.slow
def test_audio_arrays_as_a_notebook_holds_them_are_read_as_their_file_would_be(vocoder_run, tmp_path, caplog):
    # (int16 samples as scipy.io.wavfile.read gives them; librosa.load(mono=False)'s (channels, samples); a
    # (samples, channels) array with its rate given was read as frames of 2 bands)
    model = load_run_model(vocoder_run[0])
    audio, rate = soundfile.read(SAMPLE_DATA / "agent-user.wav", dtype="float32")
    left, right = audio, np.roll(audio, 40) * 0.5
    stereo = np.stack([left, right], axis=1)  # (samples, channels), as soundfile reads a stereo file
    soundfile.write(tmp_path / "stereo.wav", stereo, rate, subtype="FLOAT")
    from_file = load_features(tmp_path / "stereo.wav", model)
    with caplog.at_level("INFO", logger="audiornn"):
        np.testing.assert_array_equal(load_features(stereo, model, sample_rate=rate), from_file)
        np.testing.assert_array_equal(load_features(stereo.T, model, sample_rate=rate), from_file)
    assert "is read as 2 channels (librosa's layout)" in caplog.text
    with pytest.raises(ParameterError, match=r"shape \(\d+, 2\).*\(audio of 2 channels, most likely: give its "
                                             r"sample_rate"):
        load_features(stereo, model)
    # integer samples are scaled as a 16-bit file's are read
    soundfile.write(tmp_path / "mono.wav", audio, rate, subtype="PCM_16")
    pcm, _ = soundfile.read(tmp_path / "mono.wav", dtype="int16")
    np.testing.assert_array_equal(load_features(pcm, model, sample_rate=rate),
                                  load_features(tmp_path / "mono.wav", model))
    classes = prepare_audio(pcm, rate, audio_config=model.audio_config)[0]
    np.testing.assert_array_equal(classes, prepare_audio(read_audio(tmp_path / "mono.wav")[0], rate,
                                                         audio_config=model.audio_config)[0])


@pytest.mark.slow
def test_a_mel_vocoders_clipping_is_not_blamed_on_the_recordings_level(vocoder_run, monkeypatch):
    # (the mel vocoder's audio comes out near full scale whatever the recording's level: the warning said it kept
    # the recording's)
    import audiornn.vocoder as vocoder_module

    causes = []

    class Sink(vocoder_module.AudioSink):
        def __init__(self, *args, cause, **kwargs):
            causes.append(cause)
            super().__init__(*args, cause=cause, **kwargs)

    monkeypatch.setattr(vocoder_module, "AudioSink", Sink)
    model = load_run_model(vocoder_run[0])
    vocode(model, SAMPLE_DATA / "agent-user.wav", progress=False)
    assert causes and "its audio comes out at its training audio's level whatever the recording's" in causes[0]
    assert "whose level it keeps" not in causes[0]


@pytest.mark.slow
def test_vocode_into_a_folder_names_each_file_after_its_input(tmp_path, capsys):
    """A text-to-speech engineer's batch of utterances came out as OUT_1.wav ... by position."""
    model = load_model("vocoder")
    frames = load_features(SAMPLE_DATA / "vm-forward.wav", model)[:60]
    for name in ("hello", "bye"):
        np.save(tmp_path / f"{name}.npy", frames)
    assert main(["vocode", "--model", "vocoder", str(tmp_path / "hello.npy"), str(tmp_path / "bye.npy"),
                 "--output", f"{tmp_path / 'out'}/", "--seed", "1", "--quiet"]) == 0  # made, as with a trailing /
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["bye.wav", "hello.wav"]
    assert soundfile.info(str(tmp_path / "out" / "hello.wav")).frames == 60 * model.feature_config.hop
    capsys.readouterr()
    # An existing folder is one without the slash; what is there is not written over unasked
    assert main(["vocode", "--model", "vocoder", str(tmp_path / "hello.npy"), "--output", str(tmp_path / "out"),
                 "--quiet"]) == 2
    assert "hello.wav' exists: name another --output, or pass --overwrite" in capsys.readouterr().err
    (tmp_path / "other").mkdir()
    np.save(tmp_path / "other" / "hello.npy", frames)
    with pytest.raises(ParameterError, match=r"inputs of one name would be written to one file \(hello.wav\)"):
        vocode(model, [tmp_path / "hello.npy", tmp_path / "other" / "hello.npy"], output=f"{tmp_path / 'new'}/",
               progress=False)
    (tmp_path / "new").mkdir()
    with pytest.raises(ParameterError, match=r"an array has no name; give --output a .wav name"):
        vocode(model, [frames], output=tmp_path / "new", progress=False)
    assert not any((tmp_path / "new").iterdir())


@pytest.mark.slow
def test_refining_the_8_khz_vocoders_audio_keeps_its_level(caplog):
    # Its mel frames are of audio at a peak of 1 and its audio comes out at the training level (0.42 of that):
    # refined towards the frames as they are, it came out 7.5 dB louder, cut at full scale.
    import audiornn

    audio, rate = soundfile.read(str(SAMPLE_DATA / "agent-user.wav"), dtype="float32")
    model = audiornn.load_model("vocoder")
    with caplog.at_level("WARNING", logger="audiornn"):
        network, refined = (audiornn.vocode(model, audio[:int(1.2 * rate)], sample_rate=rate, seed=1, progress=False,
                                            refine=passes)[0] for passes in (0, 8))
    decibels = [10 * np.log10(np.mean(np.square(row, dtype=np.float64))) for row in (network, refined)]
    assert refined.size == network.size and abs(decibels[1] - decibels[0]) < 1.5
    assert np.max(np.abs(refined)) < 1.0 and "beyond full scale" not in caplog.text


@pytest.mark.slow
@pytest.mark.parametrize("refine", [0, 2])
def test_the_refining_bar_is_not_written_into_a_log_file(monkeypatch, refine):
    # Its disable was `bar_disabled(progress) or ...`, which made tqdm's None ("not on a terminal: hide") False:
    # 'vocode ... 2> log' filled the log with carriage returns. Like every other bar, it is tqdm's to hide there.
    import audiornn
    import audiornn.vocoder as vocoder_module

    asked, bar = [], vocoder_module.tqdm

    def recording(*arguments, **keywords):
        asked.append(keywords.get("disable"))
        return bar(*arguments, **keywords)

    monkeypatch.setattr(vocoder_module, "tqdm", recording)
    audio, rate = soundfile.read(str(SAMPLE_DATA / "agent-user.wav"), dtype="float32")
    audiornn.vocode(audiornn.load_model("vocoder"), audio[:int(0.5 * rate)], sample_rate=rate, refine=refine)
    assert asked == [None if refine else True]  # None: shown on a terminal only
