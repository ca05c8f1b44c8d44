"""Checkpoint and resume (``checkpoint_dir``) and ``warm_start``, on real faces."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback

from sklearn_age import (
    AgeClassifier,
    AgeGenderEstimator,
    AgeRegressor,
    GenderClassifier,
    ImageLoader,
    load_model,
    save_model,
)
from tests.conftest import REPO, TINY

ESTIMATORS = [AgeRegressor, AgeClassifier, GenderClassifier, AgeGenderEstimator]

#: A fit long enough to be killed in its third epoch, fast enough for a test.
KILLED = {**TINY, "max_epochs": 4, "backbone": "simple_cnn"}

#: Fits a regressor with KILLED settings in a checkpoint folder; training hangs in
#: the third epoch after touching a marker file, for the test to kill it there.
KILLED_SCRIPT = """
import json, sys, time
from pathlib import Path

import numpy as np
from skorch.callbacks import Callback

from sklearn_age import AgeRegressor

data, params, folder, marker = sys.argv[1:]


class HangInEpoch3(Callback):
    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) == 3:
            Path(marker).touch()
            time.sleep(600)


faces = np.load(data)
AgeRegressor(**json.loads(params), checkpoint_dir=folder, callbacks=[HangInEpoch3()]).fit(
    faces["images"], faces["ages"]
)
"""


class CountEpochs(Callback):
    """Counts the epochs a fit trains itself."""

    def __init__(self):
        self.epochs = 0

    def on_epoch_begin(self, net, **kwargs):
        self.epochs += 1


@pytest.fixture(scope="module")
def images(small_faces):
    return ImageLoader(size=32).fit_transform(small_faces[0])


@pytest.fixture(scope="module")
def features(images):
    """A small feature matrix of the real faces (coarse pixels), for ``backbone=None``."""
    return (images[:, ::8, ::8].reshape(len(images), -1) / 255).astype(np.float32)


def _wait_for(path, process, log, timeout=300):
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            pytest.fail(f"the fit ended before {path.name} appeared:\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"{path.name} did not appear within {timeout} s")
        time.sleep(0.1)


def test_fit_killed_in_an_epoch_resumes_to_the_uninterrupted_result(
        images, small_faces, tmp_path):
    images, ages = images[:32], small_faces[1][:32]  # two batches an epoch
    np.savez(tmp_path / "faces.npz", images=images, ages=ages)
    (tmp_path / "fit.py").write_text(KILLED_SCRIPT)
    folder, marker = tmp_path / "checkpoints", tmp_path / "in_epoch_3"
    log = tmp_path / "fit.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, str(tmp_path / "fit.py"), str(tmp_path / "faces.npz"),
             json.dumps(KILLED), str(folder), str(marker)],
            cwd=REPO, stdout=output, stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(marker, process, log)
    finally:
        process.kill()
        process.wait()
    assert sorted(os.listdir(folder)) == ["epoch_0002"]
    # What a kill while writing epoch 3 would have left: ignored, then removed.
    (folder / ".partial_epoch_3").mkdir()
    (folder / ".partial_epoch_3" / "params.pt").write_bytes(b"trunc")

    uninterrupted = AgeRegressor(**KILLED).fit(images, ages)
    counter = CountEpochs()
    resumed = AgeRegressor(**KILLED, checkpoint_dir=folder, callbacks=[counter])
    resumed.fit(images, ages)
    assert counter.epochs == 2
    assert resumed.n_epochs_ == uninterrupted.n_epochs_ == 4
    np.testing.assert_allclose(resumed.history_[:, "train_loss"],
                               uninterrupted.history_[:, "train_loss"], rtol=1e-5)
    np.testing.assert_allclose(resumed.predict(images), uninterrupted.predict(images),
                               rtol=1e-5)
    assert sorted(os.listdir(folder)) == ["epoch_0004"]

    # A finished fit is loaded, not trained again.
    counter = CountEpochs()
    loaded = AgeRegressor(**KILLED, checkpoint_dir=str(folder), callbacks=[counter])
    loaded.fit(images, ages)
    assert counter.epochs == 0 and loaded.n_epochs_ == 4
    np.testing.assert_allclose(loaded.predict(images), uninterrupted.predict(images),
                               rtol=1e-5)


class InterruptAt(Callback):
    """Ctrl-C after the given epoch (the checkpoint callback, last, never sees it)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("Estimator", [AgeRegressor, AgeGenderEstimator])
def test_resume_with_early_stopping_restores_the_callbacks(Estimator, features,
                                                           small_faces, tmp_path):
    ages = small_faces[1]
    y = np.column_stack([ages, ages > 30]) if Estimator is AgeGenderEstimator else ages
    params = {**TINY, "backbone": None, "max_epochs": 6, "lr": 0.02,
              "early_stopping": True, "patience": 2, "validation_fraction": 0.25}
    uninterrupted = Estimator(**params).fit(features, y)
    Estimator(**params, checkpoint_dir=tmp_path, callbacks=[InterruptAt(3)]).fit(features, y)
    assert os.listdir(tmp_path) == ["epoch_0002"]
    resumed = Estimator(**params, checkpoint_dir=tmp_path).fit(features, y)
    assert resumed.n_epochs_ == uninterrupted.n_epochs_
    for key in ("train_loss", "valid_loss"):
        np.testing.assert_allclose(resumed.history_[:, key], uninterrupted.history_[:, key],
                                   rtol=1e-5)
    assert resumed.history_[:, "valid_loss_best"] == uninterrupted.history_[:, "valid_loss_best"]
    np.testing.assert_allclose(_outputs(resumed, features), _outputs(uninterrupted, features),
                               rtol=1e-5, atol=1e-6)


def test_checkpoint_of_another_fit_is_refused(features, small_faces, tmp_path):
    ages = small_faces[1]
    params = {**TINY, "backbone": None}
    AgeRegressor(**params, checkpoint_dir=tmp_path).fit(features, ages)
    with pytest.raises(ValueError, match=r"another fit(.|\n)*parameter lr: 0\.002 in the "
                                         r"checkpoint, 0\.01 now"):
        AgeRegressor(**params, lr=0.01, checkpoint_dir=tmp_path).fit(features, ages)
    for X, y in [(features + 0.5, ages), (features, ages[::-1]), (features[:40], ages[:40])]:
        with pytest.raises(ValueError, match="data_sha256"):
            AgeRegressor(**params, checkpoint_dir=tmp_path).fit(X, y)
    with pytest.raises(ValueError, match="estimator: 'AgeRegressor' in the checkpoint"):
        AgeClassifier(**params, checkpoint_dir=tmp_path).fit(features, ages)
    # What may change: the device, verbosity, callbacks.
    AgeRegressor(**params, checkpoint_dir=tmp_path, verbose=0, callbacks=[]).fit(features, ages)


@pytest.mark.parametrize("damaged, match", [
    ("params.pt", "damaged: .*Error"),
    ("history.json", "damaged: JSONDecodeError"),
    ("state.pt", "damaged"),
    ("config.json", "config.json cannot be read"),
])
def test_damaged_checkpoint_is_an_error(damaged, match, features, small_faces, tmp_path):
    ages = small_faces[1]
    params = {**TINY, "backbone": None, "max_epochs": 2}
    AgeRegressor(**params, checkpoint_dir=tmp_path).fit(features, ages)
    path = tmp_path / "epoch_0002" / damaged
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(ValueError, match=match) as error:
        AgeRegressor(**params, checkpoint_dir=tmp_path).fit(features, ages)
    assert str(tmp_path / "epoch_0002") in str(error.value)


def test_warm_start_continues_the_fitted_network(images, small_faces):
    ages = small_faces[1]
    params = {**TINY, "max_epochs": 3, "backbone": "simple_cnn", "augment": False}
    model = AgeRegressor(**params).fit(images[:30], ages[:30])
    first_losses = list(model.history_[:, "train_loss"])
    y_mean, weights = model.y_mean_, model.net_.module_.state_dict()
    model.set_params(warm_start=True, max_epochs=2).fit(images[30:], ages[30:])
    assert model.n_epochs_ == len(model.history_) == 5
    assert model.history_[:3, "train_loss"] == first_losses
    assert model.y_mean_ == y_mean  # the network keeps the scale it learned on
    # Training went on from the fitted weights: on new faces, it starts near where it
    # ended, well below where the fresh network started.
    losses = model.history_[:, "train_loss"]
    assert abs(losses[3] - losses[2]) < abs(losses[0] - losses[2])
    assert not all(np.array_equal(weights[key], value)
                   for key, value in model.net_.module_.state_dict().items())


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_warm_start_with_a_tiny_rate_keeps_the_predictions(Estimator, features, small_faces):
    ages = small_faces[1]
    y = np.column_stack([ages, ages > 30]) if Estimator is AgeGenderEstimator else ages
    y = (ages > 30).astype(int) if Estimator is GenderClassifier else y
    model = Estimator(**TINY, backbone=None, warm_start=True).fit(features, y)
    before = _outputs(model, features)
    model.set_params(lr=1e-12).fit(features[:40], y[:40])
    np.testing.assert_allclose(_outputs(model, features), before, rtol=1e-6, atol=1e-6)
    assert model.n_epochs_ == 2


@pytest.mark.parametrize("Estimator, y, y_new, match", [
    (AgeClassifier, ["a", "b"], ["a", "c"],
     r"classes_ are \['a', 'b'\]; y holds other labels: \['c'\]"),
    (GenderClassifier, [0, 1], [1, 2], r"other labels: \[2\]"),
    (AgeGenderEstimator, [[30, "f"], [40, "m"]], [[30, "f"], [40, "x"]],
     r"gender_classes_ are \['f', 'm'\]; y holds other labels: \['x'\]"),
])
def test_warm_start_refuses_new_classes(Estimator, y, y_new, match, features):
    extra = {"ranges": None} if Estimator is AgeClassifier else {}
    dtype = object if Estimator is AgeGenderEstimator else None
    model = Estimator(**TINY, **extra, backbone=None, warm_start=True)
    model.fit(features[:40], np.array(y * 20, dtype=dtype))
    with pytest.raises(ValueError, match=match):
        model.fit(features[:40], np.array(y_new * 20, dtype=dtype))


def test_warm_start_with_fewer_classes_and_other_architecture(features, small_faces):
    labels = np.array(["a", "b", "c"] * 20)
    model = AgeClassifier(**TINY, ranges=None, backbone=None, warm_start=True)
    model.fit(features, labels)
    model.fit(features[labels != "c"], labels[labels != "c"])  # a subset of the classes
    assert model.classes_.tolist() == ["a", "b", "c"] and model.n_epochs_ == 2
    with pytest.raises(ValueError, match="X has 12 features"):
        model.fit(features[:, :12], labels)
    regressor = AgeRegressor(**TINY, backbone=None, warm_start=True)
    regressor.fit(features, small_faces[1])
    regressor.set_params(backbone="simple_cnn")
    with pytest.raises(ValueError, match="cannot continue the fitted network"):
        regressor.fit(ImageLoader(size=32).fit_transform(small_faces[0]), small_faces[1])


def test_warm_start_and_checkpoint_dir_do_not_mix(features, small_faces, tmp_path):
    ages = small_faces[1]
    model = AgeRegressor(**TINY, backbone=None, warm_start=True, checkpoint_dir=tmp_path)
    model.fit(features, ages)  # not fitted yet: a plain fit, checkpointed
    assert os.listdir(tmp_path) == ["epoch_0001"]
    with pytest.raises(ValueError, match="cannot also resume from checkpoint_dir"):
        model.fit(features, ages)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_new_parameters_clone_and_validate(Estimator, tmp_path):
    params = Estimator().get_params()
    assert params["checkpoint_dir"] is None and params["warm_start"] is False
    model = Estimator(checkpoint_dir=tmp_path, warm_start=True)
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(InvalidParameterError, match="checkpoint_dir"):
        Estimator(checkpoint_dir=3, backbone=None).fit(np.zeros((4, 2)), [1, 2, 3, 4])


def test_model_file_keeps_checkpoint_dir_as_a_string(features, small_faces, tmp_path):
    folder = tmp_path / "checkpoints"
    model = AgeRegressor(**TINY, backbone=None, checkpoint_dir=folder)
    model.fit(features, small_faces[1])
    save_model(model, tmp_path / "model.skage")
    loaded = load_model(tmp_path / "model.skage")
    assert loaded.checkpoint_dir == str(folder)
    np.testing.assert_allclose(loaded.predict(features), model.predict(features))


def _outputs(model, X):
    """All of the model's predictions for ``X``, side by side."""
    return np.column_stack(list(model._predict_outputs(X).values()))
