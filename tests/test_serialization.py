"""Safe model files (save_model / load_model) and ONNX export, on real faces in tiny settings."""

import json
import pickle
import subprocess
import sys
import zipfile

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from skorch.callbacks import Callback

import sklearn_age.nets
from sklearn_age import (
    AgeClassifier,
    AgeGenderEstimator,
    AgeRanges,
    AgeRegressor,
    GenderClassifier,
    ImageLoader,
    ModelFileError,
    export_onnx,
    load_model,
    save_model,
)
from tests.conftest import TINY

CNN = {**TINY, "backbone": "simple_cnn"}


@pytest.fixture(scope="module")
def images(small_faces):
    return ImageLoader(size=TINY["img_size"]).fit_transform(small_faces[0])


@pytest.fixture(scope="module")
def ages(small_faces):
    return small_faces[1]


@pytest.fixture(scope="module")
def features(images):
    """A small float feature matrix for ``backbone=None`` models."""
    return images.reshape(len(images), -1)[:, ::97].astype(np.float32) / 255.0


@pytest.fixture(scope="module")
def default_regressor(images, ages):
    """The default backbone (EfficientNet-Lite0, offline ImageNet weights), flip_test on."""
    return AgeRegressor(**TINY, flip_test=True).fit(images[:40], ages[:40])


def _adult(ages):
    return (ages >= 30).astype(int)


def _targets(kind, ages):
    """Stand-in labels of each kind (any two labels do for saving and loading)."""
    return {"ages": ages, "ints": _adult(ages),
            "strings": np.where(ages >= 30, "adult", "young"),
            "age,gender": np.column_stack([ages, _adult(ages)])}[kind]


#: name -> (estimator, input kind, target)
CASES = {
    "regressor-cnn-tuple-ranges": (
        AgeRegressor(**CNN, ranges=(0, 20, 40), flip_test=False), "images", "ages"),
    "regressor-absolute-error": (
        AgeRegressor(**CNN, age_loss="absolute_error"), "images", "ages"),
    "classifier-age-ranges": (AgeClassifier(**CNN), "images", "ages"),
    "classifier-int-labels": (AgeClassifier(**CNN, ranges=None), "images", "ints"),
    "classifier-str-labels": (AgeClassifier(**CNN, ranges=None), "images", "strings"),
    "regressor-features": (AgeRegressor(**TINY, backbone=None), "features", "ages"),
    "classifier-features": (
        AgeClassifier(**TINY, backbone=None, ranges=None, class_weight={0: 1.0, 1: 2.0}),
        "features", "ints"),
    "gender-classifier": (GenderClassifier(**CNN), "images", "strings"),
    "age-gender-estimator": (
        AgeGenderEstimator(**CNN, loss_weights={"gender": 0.3}), "images", "age,gender"),
}


@pytest.fixture(scope="module", params=["regressor-default-backbone", *CASES])
def fitted(request, images, features, ages):
    """(fitted estimator, held-out X) for each kind of model the files must hold."""
    if request.param == "regressor-default-backbone":
        return request.getfixturevalue("default_regressor"), images[40:]
    estimator, kind, target = CASES[request.param]
    X = images if kind == "images" else features
    y = _targets(target, ages)
    return clone(estimator).fit(X[:40], y[:40]), X[40:]


@pytest.fixture()
def cheap_model(features, ages):
    return AgeRegressor(**TINY, backbone=None).fit(features[:40], ages[:40])


def _assert_same_fit(loaded, original, X):
    assert type(loaded) is type(original)
    params, expected = loaded.get_params(), original.get_params()
    np.testing.assert_equal(params, expected)
    assert {k: type(v) for k, v in params.items()} == {k: type(v) for k, v in expected.items()}
    for name, value in vars(original).items():
        if name.endswith("_") and name != "net_":
            restored = getattr(loaded, name)
            assert type(restored) is type(value), name
            if isinstance(value, np.ndarray):
                assert restored.dtype == value.dtype, name
            if isinstance(value, AgeRanges):
                restored, value = restored.lower, value.lower
            np.testing.assert_equal(restored, value)
    np.testing.assert_array_equal(loaded.predict(X), original.predict(X))
    if hasattr(original, "predict_proba"):
        np.testing.assert_array_equal(loaded.predict_proba(X), original.predict_proba(X))


def _rewrite(path, name, content):
    """Replace member ``name`` of the zip archive at ``path``."""
    with zipfile.ZipFile(path) as archive:
        members = {item: archive.read(item) for item in archive.namelist()}
    members[name] = content
    with zipfile.ZipFile(path, "w") as archive:
        for item, data in members.items():
            archive.writestr(item, data)


def _edit_config(path, **changes):
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    for key, value in changes.items():
        if key in config["params"]:
            config["params"][key] = value
        else:
            config[key] = value
    _rewrite(path, "config.json", json.dumps(config))


# -- save_model / load_model ------------------------------------------------------------
def test_round_trip_keeps_params_attributes_history_and_predictions(fitted, tmp_path):
    estimator, X = fitted
    save_model(estimator, tmp_path / "model.skage")
    loaded = load_model(tmp_path / "model.skage")
    _assert_same_fit(loaded, estimator, X)
    assert loaded.history_.to_list() == json.loads(json.dumps(estimator.history_.to_list()))


def _load_without_params(model, path, *names):
    """Save ``model``, drop ``names`` from the file's parameters (as in a file written
    before they existed) and load it again."""
    save_model(model, path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    for name in names:
        del config["params"][name]
    _rewrite(path, "config.json", json.dumps(config))
    return load_model(path)


def test_files_from_before_age_loss_load_with_the_l1_head(features, ages, tmp_path):
    """Files written before ``age_loss`` existed hold the one-output L1 head it now names."""
    model = AgeRegressor(**TINY, backbone=None, age_loss="absolute_error").fit(
        features[:40], ages[:40])
    loaded = _load_without_params(model, tmp_path / "older.skage", "age_loss")
    assert loaded.age_loss == "absolute_error"
    np.testing.assert_array_equal(loaded.predict(features[40:]), model.predict(features[40:]))


def test_files_from_before_age_spread_load_with_the_fixed_spread(features, ages, tmp_path):
    """Files written before ``age_spread`` existed were trained with a fixed 2-year spread."""
    model = AgeRegressor(**TINY, backbone=None).fit(features[:40], ages[:40])
    loaded = _load_without_params(model, tmp_path / "older.skage", "age_spread",
                                  "age_spread_per_year")
    assert (loaded.age_spread, loaded.age_spread_per_year) == (2.0, 0.0)


def test_float16_files_are_half_the_size_and_predict_alike(default_regressor, images,
                                                         tmp_path):
    full, half = tmp_path / "full.skage", tmp_path / "half.skage"
    save_model(default_regressor, full)
    save_model(default_regressor, half, float16=True)
    assert half.stat().st_size < 0.55 * full.stat().st_size
    loaded = load_model(half)
    assert {tensor.dtype for tensor in loaded.net_.module_.state_dict().values()
            if tensor.is_floating_point()} == {torch.float32}
    np.testing.assert_allclose(loaded.predict(images[40:]),
                               default_regressor.predict(images[40:]), atol=0.5)


def test_loading_reads_no_pretrained_weights(default_regressor, tmp_path, monkeypatch):
    save_model(default_regressor, tmp_path / "model.skage")

    def refuse(model):
        raise AssertionError("ImageNet weights were read")

    monkeypatch.setattr(sklearn_age.nets, "load_offline_lite0", refuse)
    loaded = load_model(tmp_path / "model.skage")
    assert loaded.pretrained is True


def test_loading_leaves_torch_global_rng_alone(cheap_model, tmp_path):
    save_model(cheap_model, tmp_path / "model.skage")
    state = torch.random.get_rng_state()
    load_model(tmp_path / "model.skage")
    assert torch.equal(torch.random.get_rng_state(), state)


def test_device_can_be_chosen_when_loading(cheap_model, tmp_path, features):
    path = tmp_path / "model.skage"
    save_model(cheap_model, path)
    _edit_config(path, device="cuda:7")  # as if trained on a GPU
    loaded = load_model(path, device="cpu")
    assert loaded.device == "cpu"
    np.testing.assert_array_equal(loaded.predict(features), cheap_model.predict(features))


@pytest.mark.parametrize("param, value", [
    ("callbacks", [("mark", Callback())]),
    ("random_state", np.random.RandomState(0)),
])
def test_objects_among_params_are_saved_as_none_with_a_warning(features, ages, tmp_path,
                                                               param, value):
    model = AgeRegressor(**{**TINY, param: value}, backbone=None).fit(features, ages)
    with pytest.warns(UserWarning, match=f"{param}=None"):
        save_model(model, tmp_path / "model.skage")
    loaded = load_model(tmp_path / "model.skage")
    assert getattr(loaded, param) is None
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))


def test_history_that_is_not_json_is_left_out_with_a_warning(cheap_model, tmp_path):
    cheap_model.history_.record("note", object())
    with pytest.warns(UserWarning, match="history is not saved"):
        save_model(cheap_model, tmp_path / "model.skage")
    assert len(load_model(tmp_path / "model.skage").history_) == 0


def test_save_refuses_unfitted_and_foreign_estimators(tmp_path, features, ages):
    with pytest.raises(NotFittedError):
        save_model(AgeRegressor(), tmp_path / "model.skage")
    with pytest.raises(TypeError, match="Only sklearn_age estimators.*not Ridge"):
        save_model(Ridge().fit(features, ages), tmp_path / "model.skage")
    assert not (tmp_path / "model.skage").exists()


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip_a_weight_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _random_bytes(path):
    path.write_bytes(np.random.RandomState(0).bytes(5000))


def _joblib_pickle(path, model):
    joblib.dump(model, path)


def _torch_checkpoint(path, model):
    torch.save(model.net_.module_.state_dict(), path)  # a zip, but not a model file


@pytest.mark.parametrize("damage, message", [
    (_truncate, "not a sklearn-age model file, or it is truncated"),
    (_flip_a_weight_byte, "is damaged: .* cannot be read"),
    (_random_bytes, "not a sklearn-age model file"),
    (_joblib_pickle, "joblib.load, and only from trusted sources"),
    (_torch_checkpoint, "not a sklearn-age model file: it has no config.json"),
    (lambda path: _edit_config(path, format_version=999), "format version 999"),
    (lambda path: _edit_config(path, estimator="os.system"), "'os.system', which is not"),
    (lambda path: _edit_config(path, n_outputs=5),
     "weights do not fit the AgeRegressor network"),
    (lambda path: _edit_config(path, params={"evil": 1}),
     "the AgeRegressor in config.json is invalid .*'evil'"),
    (lambda path: _edit_config(path, attributes={"fit": 1}), "sets 'fit', not a fitted"),
    (lambda path: _rewrite(path, "config.json", b"{oops"), "config.json is not valid JSON"),
])
def test_bad_files_give_a_clear_error_naming_the_file(cheap_model, tmp_path, damage, message):
    path = tmp_path / "model.skage"
    save_model(cheap_model, path)
    if damage in (_joblib_pickle, _torch_checkpoint):
        damage(path, cheap_model)
    else:
        damage(path)
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(path)
    assert str(path) in str(info.value)


class _Payload:
    """Unpickling this creates the file ``marker``: stands for any code an attacker runs."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


@pytest.mark.parametrize("wrap", ["pickle", "torch.save"])
def test_weights_holding_a_malicious_pickle_are_refused(cheap_model, tmp_path, wrap):
    pickle.loads(pickle.dumps(_Payload(tmp_path / "proof"))).close()
    assert (tmp_path / "proof").exists()  # the payload is live

    marker = tmp_path / "pwned"
    if wrap == "pickle":
        payload = pickle.dumps(_Payload(marker))
    else:
        torch.save({"head.1.weight": _Payload(marker)}, tmp_path / "payload.pt")
        payload = (tmp_path / "payload.pt").read_bytes()
    path = tmp_path / "model.skage"
    save_model(cheap_model, path)
    _rewrite(path, "weights.safetensors", payload)
    with pytest.raises(ModelFileError, match="not a valid safetensors file .*refusing"):
        load_model(path)
    assert not marker.exists()


NO_PICKLE_SCRIPT = """
import _pickle, pickle, sys
import numpy as np
import torch
from sklearn_age import load_model  # imports (skorch subclasses Unpickler) come first

def refuse(*args, **kwargs):
    raise AssertionError("pickle was used")

for module in (pickle, _pickle):
    for name in ("load", "loads", "Unpickler"):
        setattr(module, name, refuse)
torch.load = refuse

model = load_model(sys.argv[1])
np.save(sys.argv[3], model.predict(np.load(sys.argv[2])))
"""


def test_loading_works_with_pickle_disabled(default_regressor, images, tmp_path):
    save_model(default_regressor, tmp_path / "model.skage")
    np.save(tmp_path / "images.npy", images[40:])
    result = subprocess.run(
        [sys.executable, "-c", NO_PICKLE_SCRIPT, str(tmp_path / "model.skage"),
         str(tmp_path / "images.npy"), str(tmp_path / "predicted.npy")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    np.testing.assert_array_equal(np.load(tmp_path / "predicted.npy"),
                                  default_regressor.predict(images[40:]))


# -- export_onnx --------------------------------------------------------------------------
def _onnx_session(path):
    import onnxruntime  # here: it crashes at import under very long command lines

    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_onnx_regressor_matches_predict_with_flip_averaging(default_regressor, images,
                                                             tmp_path):
    assert default_regressor.flip_test
    export_onnx(default_regressor, tmp_path / "age.onnx")
    session = _onnx_session(tmp_path / "age.onnx")
    (inputs,), (outputs,) = session.get_inputs(), session.get_outputs()
    assert (inputs.name, inputs.type, inputs.shape[1:]) == ("images", "tensor(uint8)",
                                                            [32, 32, 3])
    assert outputs.name == "age"
    for batch in (images[40:], images[40:41]):  # any batch size
        (years,) = session.run(None, {"images": batch})
        np.testing.assert_allclose(years, default_regressor.predict(batch), atol=1e-3)
    metadata = session.get_modelmeta().custom_metadata_map
    assert metadata["sklearn_age_estimator"] == "AgeRegressor"
    assert metadata["img_size"] == "32"


def test_onnx_classifier_gives_probabilities(images, ages, tmp_path):
    labels = np.where(ages >= 30, "adult", "young")
    clf = AgeClassifier(**CNN, ranges=None, flip_test=False).fit(images[:40], labels[:40])
    export_onnx(clf, tmp_path / "clf.onnx")
    session = _onnx_session(tmp_path / "clf.onnx")
    (proba,) = session.run(["proba"], {"images": images[40:]})
    np.testing.assert_allclose(proba, clf.predict_proba(images[40:]), atol=1e-4)
    classes = json.loads(session.get_modelmeta().custom_metadata_map["classes"])
    assert classes == ["adult", "young"]


def test_onnx_features_model_takes_float_features(features, ages, tmp_path):
    clf = AgeClassifier(**TINY, backbone=None, ranges="life_stages").fit(features, ages)
    export_onnx(clf, tmp_path / "clf.onnx")
    session = _onnx_session(tmp_path / "clf.onnx")
    (inputs,) = session.get_inputs()
    assert (inputs.name, inputs.type, inputs.shape[1]) == ("features", "tensor(float)",
                                                           features.shape[1])
    (proba,) = session.run(["proba"], {"features": features})
    np.testing.assert_allclose(proba, clf.predict_proba(features), atol=1e-4)


def test_onnx_age_gender_model_has_both_outputs(features, ages, tmp_path):
    both = AgeGenderEstimator(**TINY, backbone=None).fit(features, _targets("age,gender", ages))
    export_onnx(both, tmp_path / "both.onnx")
    session = _onnx_session(tmp_path / "both.onnx")
    years, proba = session.run(["age", "proba"], {"features": features})
    np.testing.assert_allclose(years, both.predict_age(features), atol=1e-3)
    np.testing.assert_allclose(proba, both.predict_gender_proba(features), atol=1e-4)
    metadata = session.get_modelmeta().custom_metadata_map
    assert json.loads(metadata["gender_classes"]) == [0, 1]


def test_onnx_runs_the_output_layers_of_predict_to_float32_precision(default_regressor,
                                                                      images, tmp_path):
    """One output path: the exported graph ends in the module's own output layers."""
    export_onnx(default_regressor, tmp_path / "age.onnx")
    (years,) = _onnx_session(tmp_path / "age.onnx").run(None, {"images": images[40:]})
    predicted = default_regressor.predict(images[40:])
    np.testing.assert_allclose(years, predicted, rtol=1e-6)
    assert years.dtype == np.float64 and np.array_equal(years, years.clip(0, 120))


def test_export_refuses_unfitted_and_foreign_estimators(tmp_path, features, ages):
    with pytest.raises(NotFittedError):
        export_onnx(AgeClassifier(), tmp_path / "model.onnx")
    with pytest.raises(TypeError, match="Only sklearn_age estimators"):
        export_onnx(Ridge().fit(features, ages), tmp_path / "model.onnx")


def test_export_without_the_extra_names_the_install_command(cheap_model, tmp_path,
                                                            monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    with pytest.raises(ImportError, match=r'pip install "sklearn-age\[export\]"'):
        export_onnx(cheap_model, tmp_path / "model.onnx")
