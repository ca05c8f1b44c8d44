"""AgeRegressor and AgeClassifier trained for real on real faces, in tiny settings."""

import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import KFold, cross_val_score
from skorch.callbacks import Callback

from sklearn_age import (
    AgeClassifier,
    AgeGenderEstimator,
    AgeRegressor,
    GenderClassifier,
    ImageLoader,
    ImageLoadError,
)
from tests.conftest import TINY


@pytest.fixture(scope="module")
def fitted_regressor(small_faces):
    paths, ages = small_faces
    return AgeRegressor(**TINY).fit(paths[:40], ages[:40])


def test_regressor_fits_paths_and_predicts_years(fitted_regressor, small_faces):
    paths, _ = small_faces
    predicted = fitted_regressor.predict(paths[40:])
    assert predicted.shape == (20,) and predicted.dtype == np.float64
    assert np.all((predicted >= 0) & (predicted <= 120))
    assert fitted_regressor.n_epochs_ == 1
    assert len(fitted_regressor.history_) == 1
    assert np.isfinite(fitted_regressor.history_[-1, "train_loss"])


def test_image_array_and_paths_give_the_same_predictions(fitted_regressor, small_faces):
    paths = small_faces[0][40:45]
    images = ImageLoader(size=32).fit_transform(paths)
    np.testing.assert_allclose(
        fitted_regressor.predict(images), fitted_regressor.predict(paths), rtol=1e-5
    )
    # Another size is resized to img_size.
    bigger = ImageLoader(size=48).fit_transform(paths)
    assert fitted_regressor.predict(bigger).shape == (5,)


def test_training_lowers_the_loss_on_real_faces(small_faces):
    paths, ages = small_faces
    images = ImageLoader(size=48).fit_transform(paths)
    params = {**TINY, "img_size": 48, "max_epochs": 10, "lr": 3e-3, "augment": False}
    model = AgeRegressor(**params).fit(images, ages)
    losses = model.history_[:, "train_loss"]
    assert losses[-1] < 0.7 * losses[0]
    train_mae = np.abs(model.predict(images) - ages).mean()
    assert train_mae < 0.7 * np.abs(ages - ages.mean()).mean()


def test_same_random_state_gives_identical_fits(small_faces):
    paths, ages = small_faces
    images = ImageLoader(size=32).fit_transform(paths[:32])
    params = {**TINY, "max_epochs": 2}
    first = AgeRegressor(**params).fit(images, ages[:32]).predict(images)
    second = AgeRegressor(**params).fit(images, ages[:32]).predict(images)
    np.testing.assert_array_equal(first, second)
    other = AgeRegressor(**{**params, "random_state": 1}).fit(images, ages[:32]).predict(images)
    assert not np.array_equal(first, other)


def test_fit_leaves_torch_global_rng_alone(small_faces):
    paths, ages = small_faces
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    AgeRegressor(**TINY).fit(paths[:16], ages[:16])
    assert torch.rand(1) == expected


def test_a_cpu_fit_leaves_the_cuda_generators_alone(small_faces, monkeypatch):
    """torch.manual_seed would reseed every CUDA device's generator for good."""
    calls = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", lambda seed: calls.append(seed))
    monkeypatch.setattr(torch.cuda, "manual_seed", lambda seed: calls.append(seed))
    AgeRegressor(**TINY).fit(small_faces[0][:16], small_faces[1][:16])
    assert calls == []


def test_pickle_joblib_and_clone(fitted_regressor, small_faces, tmp_path):
    paths = small_faces[0][40:50]
    expected = fitted_regressor.predict(paths)
    restored = pickle.loads(pickle.dumps(fitted_regressor))
    np.testing.assert_array_equal(restored.predict(paths), expected)
    joblib.dump(fitted_regressor, tmp_path / "model.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "model.joblib").predict(paths), expected)
    fresh = clone(fitted_regressor)
    assert fresh.get_params() == fitted_regressor.get_params()
    assert not hasattr(fresh, "net_")


def test_get_and_set_params():
    model = AgeRegressor()
    assert model.get_params()["backbone"] == "tf_efficientnet_lite0"
    model.set_params(lr=0.1, l1_lambda=1e-5)
    assert model.lr == 0.1 and model.l1_lambda == 1e-5


def test_hyperparameters_reach_the_network(small_faces):
    paths, ages = small_faces
    model = AgeRegressor(**TINY, dropout=0.4, weight_decay=0.01).fit(paths[:16], ages[:16])
    assert model.net_.optimizer_.param_groups[0]["weight_decay"] == 0.01
    dropout = model.net_.module_.head[0]
    assert isinstance(dropout, torch.nn.Dropout) and dropout.p == 0.4


def test_l1_penalty_is_added_to_the_training_loss(small_faces):
    paths, ages = small_faces
    model = AgeRegressor(**TINY, l1_lambda=1e-3).fit(paths[:16], ages[:16])
    net = model.net_
    dataset = model._dataset(np.asarray(paths[:16], dtype=object),
                             np.zeros(16, dtype=np.float32), np.ones(16, dtype=np.float32))
    x, (target, weight) = next(iter(net.get_iterator(dataset)))
    net.module_.eval()
    with torch.no_grad():
        y_pred = net.module_(x)
        plain = net.get_loss(y_pred, (target, weight), training=False)
        penalized = net.get_loss(y_pred, (target, weight), training=True)
        l1 = sum(p.abs().sum() for p in net.module_.parameters() if p.ndim > 1)
    assert float(penalized - plain) == pytest.approx(1e-3 * float(l1), rel=1e-4)


def test_sample_weight_is_honoured():
    # Zero weight on half the rows equals training without them: one batch per epoch
    # and a head without batch statistics make the two fits the same computation.
    rng = np.random.RandomState(0)
    features, ages = rng.normal(size=(24, 5)), rng.uniform(1, 80, size=24)
    params = dict(backbone=None, batch_size=64, max_epochs=5, dropout=0.0,
                  random_state=0)
    weights = np.r_[np.ones(12), np.zeros(12)]
    weighted = AgeRegressor(**params).fit(features, ages, sample_weight=weights)
    subset = AgeRegressor(**params).fit(features[:12], ages[:12])
    np.testing.assert_allclose(weighted.predict(features), subset.predict(features),
                               rtol=1e-4)
    unweighted = AgeRegressor(**params).fit(features, ages)
    assert not np.allclose(unweighted.predict(features), subset.predict(features))
    with pytest.raises(ValueError, match="sample_weight"):
        AgeRegressor(**params).fit(features, ages, sample_weight=np.ones(3))


def test_augmentation_only_in_training(fitted_regressor, small_faces):
    module = fitted_regressor.net_.module_
    images = torch.from_numpy(ImageLoader(size=32).fit_transform(small_faces[0][:4]))
    module.eval()
    with torch.no_grad():
        assert torch.equal(module(images), module(images))
    module.train()
    with torch.no_grad():
        augmented = module.normalizer(module.augmenter(images))
    module.eval()
    assert augmented.shape == (4, 3, 32, 32)
    assert not torch.equal(augmented, module.normalizer(images))


def test_colour_jitter_changes_the_light_of_a_grey_face(fitted_regressor):
    """Brightness acts on pixels: a mid-grey image gets visibly lighter or darker."""
    module = fitted_regressor.net_.module_
    grey = torch.full((64, 32, 32, 3), 128, dtype=torch.uint8)
    seen = []
    hook = module.backbone.register_forward_hook(lambda m, inputs, out: seen.append(inputs[0]))
    module.train()
    try:
        with torch.no_grad():
            module(grey)
    finally:
        hook.remove()
        module.eval()
    means = seen[0].mean(dim=(1, 2, 3))
    # 128 * (1 +- 0.2) is 102..154 in pixels, -0.2..0.2 with mean = std = 0.5.
    assert float(means.max() - means.min()) > 0.2


def test_early_stopping_restores_the_best_epoch(small_faces):
    paths, ages = small_faces
    images = ImageLoader(size=32).fit_transform(paths)
    model = AgeRegressor(
        **{**TINY, "max_epochs": 6, "lr": 0.05}, early_stopping=True, patience=1,
        validation_fraction=0.25,
    ).fit(images, ages)
    valid = model.history_[:, "valid_loss"]
    assert len(valid) < 6 or np.argmin(valid) == len(valid) - 1
    assert "valid_loss_best" in model.history_[0]


def test_interrupted_fit_keeps_the_trained_epochs(small_faces):
    paths, ages = small_faces

    class Interrupt(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 2:
                raise KeyboardInterrupt

    model = AgeRegressor(**{**TINY, "max_epochs": 5})
    # The skorch net is built in fit; add the interrupting callback through a subclass.
    class Interrupted(AgeRegressor):
        def _callbacks(self):
            return super()._callbacks() + [("interrupt", Interrupt())]

    model = Interrupted(**{**TINY, "max_epochs": 5}).fit(paths[:16], ages[:16])
    assert model.n_epochs_ == 2
    assert model.predict(paths[:3]).shape == (3,)


def test_classifier_on_ages_and_on_labels(small_faces):
    paths, ages = small_faces
    clf = AgeClassifier(**TINY).fit(paths[:40], ages[:40])
    assert clf.classes_.tolist() == ["0-5", "6-18", "19-30", "31-45", "46-65", "66+"]
    proba = clf.predict_proba(paths[40:])
    assert proba.shape == (20, 6)
    np.testing.assert_allclose(proba.sum(1), 1)
    assert set(clf.predict(paths[40:])) <= set(clf.classes_)
    labels = clf.ranges_.bin(ages[:40])
    from_labels = AgeClassifier(**TINY).fit(paths[:40], labels)
    np.testing.assert_allclose(from_labels.predict_proba(paths[40:]), proba, rtol=1e-5)


def test_classifier_fine_ranges_explicit_edges_and_class_weight(small_faces):
    paths, ages = small_faces
    clf = AgeClassifier(**TINY, ranges=[0, 20, 60], class_weight="balanced")
    clf.fit(paths[:30], ages[:30])
    assert clf.classes_.tolist() == ["0-19", "20-59", "60+"]
    with pytest.raises(ValueError, match="not ranges"):
        AgeClassifier(**TINY).fit(paths[:3], ["0-5", "6-18", "teen"])


@pytest.mark.parametrize(
    "Estimator", [AgeRegressor, AgeClassifier, GenderClassifier, AgeGenderEstimator]
)
def test_predict_before_fit(Estimator, small_faces):
    with pytest.raises(NotFittedError):
        Estimator().predict(small_faces[0][:2])


@pytest.mark.parametrize(
    "y, match",
    [
        ([10, np.nan, 30], r"y\[1\] = nan"),
        ([10, np.inf, 30], r"y\[1\] = inf"),
        ([10, 20, -3], r"y\[2\] = -3"),
        ([10, 240, 30], r"y\[1\] = 240.* above 120.*months"),
        ([10, 20], "inconsistent numbers of samples"),
        (None, "requires y"),
    ],
)
def test_bad_ages(small_faces, y, match):
    with pytest.raises(ValueError, match=match):
        AgeRegressor(**TINY).fit(small_faces[0][:3], y)


def test_bad_inputs(small_faces, tmp_path):
    paths, ages = small_faces
    with pytest.raises(ValueError, match="0 sample"):
        AgeRegressor(**TINY).fit([], [])
    with pytest.raises(ImageLoadError, match=r"row 1: .*nowhere\.jpg.*no such file"):
        AgeRegressor(**TINY).fit([paths[0], str(tmp_path / "nowhere.jpg")], [3, 4])
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8 garbage")
    with pytest.raises(ImageLoadError, match=r"row 2: .*corrupt\.jpg"):
        AgeRegressor(**TINY).fit([paths[0], paths[1], str(corrupt)], [3, 4, 5])
    with pytest.raises(ValueError, match="Unknown backbone 'not_a_net'"):
        AgeRegressor(**TINY, backbone="not_a_net").fit(paths[:2], [3, 4])
    with pytest.raises(ValueError, match="dtype uint8"):
        AgeRegressor(**TINY).fit(np.zeros((2, 8, 8, 3)), [3, 4])
    with pytest.raises(ValueError, match=r"shape \(n_samples, height, width, 3\)"):
        AgeRegressor(**TINY).fit(np.zeros((2, 8, 8), dtype=np.uint8), [3, 4])
    with pytest.raises(ValueError, match="'lr' parameter"):
        AgeRegressor(lr=-1).fit(paths[:2], [3, 4])


def test_negative_sample_weight_is_refused(small_faces):
    with pytest.raises(ValueError, match="Negative values.*sample_weight"):
        AgeRegressor(**TINY).fit(small_faces[0][:3], [3, 4, 5], sample_weight=[1, -1, 1])


def test_weight_decay_spares_biases_and_normalization(fitted_regressor):
    optimizer = fitted_regressor.net_.optimizer_
    decay_of = {id(p): group["weight_decay"]
                for group in optimizer.param_groups for p in group["params"]}
    module = fitted_regressor.net_.module_
    assert len(decay_of) == sum(1 for p in module.parameters() if p.requires_grad)
    for name, parameter in module.named_parameters():
        expected = 0.0 if parameter.ndim <= 1 else fitted_regressor.weight_decay
        assert decay_of[id(parameter)] == expected, name
    assert any(p.ndim <= 1 for p in module.parameters())  # biases and BatchNorm exist


def test_classifier_score_and_cross_validation_on_ages(small_faces):
    """An AgeClassifier scores ages the way it fits them: binned into its ranges."""
    paths, ages = small_faces
    clf = AgeClassifier(**TINY).fit(paths[:40], ages[:40])
    expected = np.mean(clf.predict(paths[40:]) == clf.ranges_.bin(ages[40:]))
    assert clf.score(paths[40:], ages[40:]) == pytest.approx(expected)
    assert clf.score(paths[40:], clf.ranges_.bin(ages[40:])) == pytest.approx(expected)
    scores = cross_val_score(AgeClassifier(**TINY), paths[:30], ages[:30] + 0.5,
                             cv=KFold(3, shuffle=True, random_state=0), error_score="raise")
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))


def test_classifier_class_weight_keyed_by_range_label(small_faces):
    paths, ages = small_faces
    plain = AgeClassifier(**TINY).fit(paths[:40], ages[:40])
    heavy = AgeClassifier(**TINY, class_weight={"66+": 20.0}).fit(paths[:40], ages[:40])
    column = list(plain.classes_).index("66+")
    assert (heavy.predict_proba(paths[40:])[:, column].mean()
            > plain.predict_proba(paths[40:])[:, column].mean())


def test_simple_cnn_backbone_trains(small_faces):
    paths, ages = small_faces
    model = AgeRegressor(**TINY, backbone="simple_cnn").fit(paths[:20], ages[:20])
    assert model.predict(paths[20:25]).shape == (5,)


def test_learning_rate_schedule_is_recorded_per_batch(small_faces):
    from sklearn_age.training import WarmupCosine

    paths, ages = small_faces
    model = AgeRegressor(**{**TINY, "max_epochs": 2, "batch_size": 16, "lr": 0.01})
    model.fit(paths[:40], ages[:40])  # 3 batches per epoch, 6 steps in all
    recorded = [batch["event_lr"] for epoch in model.history_ for batch in epoch["batches"]]
    expected = [0.01 * WarmupCosine(total_steps=6)(step) for step in range(6)]
    np.testing.assert_allclose(recorded, expected, rtol=1e-12)
    assert recorded[0] == pytest.approx(0.001) and recorded[1] > recorded[-1] > 0


@pytest.mark.parametrize("Estimator",
                         [AgeRegressor, AgeClassifier, GenderClassifier, AgeGenderEstimator])
def test_docstring_documents_every_parameter(Estimator):
    from numpydoc.docscrape import ClassDoc

    documented = [name for param in ClassDoc(Estimator)["Parameters"]
                  for name in param.name.split(", ")]
    assert sorted(documented) == sorted(Estimator().get_params())
    assert "net_" in Estimator.__doc__ and "%(" not in Estimator.__doc__
