"""The prediction engine: onnxruntime and PyTorch agree, the session is built once and
never pickled, decoding runs ahead in bounded batches, threads may predict at once."""

import pickle
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest

from sklearn_age import (
    AgeClassifier,
    AgeGenderEstimator,
    AgeRegressor,
    ImageLoader,
    ImageLoadError,
    load_model,
    save_model,
)
from sklearn_age import batching, inference
from tests.conftest import TINY


@pytest.fixture(scope="module")
def regressor(small_faces):
    paths, ages = small_faces
    return AgeRegressor(**TINY, flip_test=True).fit(paths[:40], ages[:40])


def _engine_name(model):
    return inference.engine_of(model).name


@pytest.mark.parametrize("flip_test", [False, True])
def test_both_engines_give_the_same_ages(regressor, small_faces, flip_test):
    paths = small_faces[0][40:]
    model = regressor.set_params(flip_test=flip_test)
    by_onnx = model.set_params(engine="onnxruntime").predict(paths)
    assert _engine_name(model) == "onnxruntime"
    by_torch = model.set_params(engine="torch").predict(paths)
    assert _engine_name(model) == "torch"
    np.testing.assert_allclose(by_onnx, by_torch, rtol=1e-5)
    assert by_onnx.dtype == np.float64


def test_both_engines_give_the_same_probabilities(small_faces):
    paths, ages = small_faces
    clf = AgeClassifier(**TINY).fit(paths[:40], ages[:40])
    both = AgeGenderEstimator(**TINY).fit(paths[:40], np.column_stack([ages[:40],
                                                                        ages[:40] > 30]))
    for model, method in ((clf, "predict_proba"), (both, "predict_gender_proba"),
                          (both, "predict_age")):
        by_onnx = getattr(model.set_params(engine="onnxruntime"), method)(paths[40:])
        by_torch = getattr(model.set_params(engine="torch"), method)(paths[40:])
        np.testing.assert_allclose(by_onnx, by_torch, rtol=1e-5, atol=1e-7)


def test_auto_takes_onnxruntime_for_images_on_the_cpu_only(regressor, small_faces):
    model = regressor.set_params(engine="auto", flip_test=False)
    inference.forget_engine(model)
    model.predict(small_faces[0][:20])  # a few images: PyTorch, no graph to build yet
    assert _engine_name(model) == "torch"
    many = inference.engine_of(model, n_images=inference.ONNX_AFTER_IMAGES)
    assert many.name == "onnxruntime" and _engine_name(model) == "onnxruntime"
    features = np.random.RandomState(0).normal(size=(30, 8)).astype(np.float32)
    head_only = AgeRegressor(**TINY, backbone=None).fit(features, small_faces[1][:30])
    assert inference.engine_of(head_only, n_images=10**6).name == "torch"
    assert inference.choose_engine("auto", "cuda", image_model=True) == "torch"


def test_the_session_is_built_once_and_rebuilt_when_it_must(regressor, small_faces):
    paths, ages = small_faces
    model = regressor.set_params(engine="onnxruntime", flip_test=False)
    model.predict(paths[40:42])
    first = inference.engine_of(model)
    model.predict(paths[42:44])
    assert inference.engine_of(model) is first
    model.set_params(flip_test=True).predict(paths[40:42])
    assert inference.engine_of(model) is not first  # flip test is part of the graph
    refit = AgeRegressor(**TINY).fit(paths[:20], ages[:20])
    refit.predict(paths[40:42])
    engine = inference.engine_of(refit)
    refit.fit(paths[:20], ages[:20])  # a new network
    assert inference.engine_of(refit) is not engine


def test_pickle_joblib_and_model_files_leave_the_session_out(regressor, small_faces,
                                                             tmp_path):
    paths = small_faces[0][40:]
    model = regressor.set_params(engine="onnxruntime", flip_test=False)
    before = dict(vars(model))
    expected = model.predict(paths)  # the session exists now
    assert vars(model).keys() == before.keys()  # kept outside the estimator
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(restored.predict(paths), expected, rtol=1e-6)
    joblib.dump(model, tmp_path / "model.joblib")
    np.testing.assert_allclose(joblib.load(tmp_path / "model.joblib").predict(paths),
                               expected, rtol=1e-6)
    save_model(model, tmp_path / "model.skage")
    loaded = load_model(tmp_path / "model.skage")
    assert loaded.engine == "onnxruntime"
    np.testing.assert_allclose(loaded.predict(paths), expected, rtol=1e-6)


def test_without_onnxruntime_prediction_falls_back_with_one_warning(small_faces,
                                                                    monkeypatch):
    paths, ages = small_faces
    model = AgeRegressor(**TINY).fit(paths[:20], ages[:20])
    expected = model.set_params(engine="torch").predict(paths[40:])
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    model.set_params(engine="onnxruntime")
    with pytest.warns(UserWarning, match="onnxruntime cannot run this model.*PyTorch"):
        fallback = model.predict(paths[40:])
    np.testing.assert_array_equal(fallback, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(paths[40:])  # one warning, not one per call


def test_threads_predicting_at_once_get_what_one_thread_gets(regressor, small_faces):
    paths = small_faces[0][40:]
    model = regressor.set_params(engine="onnxruntime", flip_test=False)
    inference.forget_engine(model)  # let the threads race to build it
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(model.predict, [paths] * 8))
    for result in results:
        np.testing.assert_array_equal(result, results[0])
    np.testing.assert_allclose(results[0], model.set_params(engine="torch").predict(paths),
                               rtol=1e-5)


def test_paths_and_decoded_images_give_the_same_ages_in_order(regressor, small_faces):
    paths = small_faces[0][40:]
    model = regressor.set_params(engine="auto", flip_test=False, batch_size=3)
    images = ImageLoader(size=32).fit_transform(paths)
    np.testing.assert_allclose(model.predict(paths), model.predict(images), rtol=1e-6)


def test_a_bad_file_deep_in_a_long_list_is_named(regressor, small_faces, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    paths = list(small_faces[0][40:]) * 2
    paths[13] = str(broken)
    model = regressor.set_params(batch_size=4)
    with pytest.raises(ImageLoadError, match=r"row 13: .*broken\.jpg"):
        model.predict(paths)


def test_decoding_runs_a_few_batches_ahead_and_no_more(small_faces, monkeypatch):
    paths = np.asarray(list(small_faces[0]) * 4, dtype=object)
    decoded = []
    read = batching.read_image_at
    monkeypatch.setattr(batching, "read_image_at",
                        lambda *args: decoded.append(args[1]) or read(*args))
    batches = batching.batches(paths, 32, batch_size=8)
    first = next(batches)
    assert first.shape == (8, 32, 32, 3)
    assert len(decoded) <= 8 * (batching.PREFETCH_BATCHES + 1)
    rest = list(batches)
    assert sum(len(batch) for batch in rest) + 8 == len(paths)
    assert sorted(decoded) == list(range(len(paths)))
