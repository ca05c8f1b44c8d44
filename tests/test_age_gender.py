"""Gender and age-and-gender estimators, their scorers and the per-group error report."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from sklearn_age import AgeGenderEstimator, GenderClassifier, ImageLoader
from sklearn_age.metrics import error_by_group, make_age_gender_scorers
from tests.conftest import TINY


@pytest.fixture(scope="module")
def gendered_faces(faces):
    """48 real faces with ages and genders, as ``uint8`` images, paths and labels."""
    rng = np.random.RandomState(1)
    pick = rng.choice(len(faces.paths), 48, replace=False)
    paths = faces.paths[pick]
    images = ImageLoader(size=TINY["img_size"]).transform(paths)
    return paths, images, faces.age[pick], faces.gender[pick], faces.race[pick]


def test_gender_classifier_on_int_and_string_labels(gendered_faces):
    _, images, _, gender, _ = gendered_faces
    for labels in (gender, np.where(gender == 0, "male", "female")):
        clf = GenderClassifier(**TINY).fit(images, labels)
        np.testing.assert_array_equal(clf.classes_, np.unique(labels))
        proba = clf.predict_proba(images)
        assert proba.shape == (len(images), 2)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        np.testing.assert_array_equal(clf.predict(images), clf.classes_[proba.argmax(axis=1)])


def test_gender_classifier_class_weight_changes_the_fit(gendered_faces):
    _, images, _, gender, _ = gendered_faces
    plain = GenderClassifier(**TINY).fit(images, gender).predict_proba(images)
    weighted = GenderClassifier(**TINY, class_weight={0: 1.0, 1: 5.0}).fit(images, gender)
    assert weighted.predict_proba(images)[:, 1].mean() > plain[:, 1].mean()


def test_gender_classifier_class_weight_keyed_by_string_labels(gendered_faces):
    _, images, _, gender, _ = gendered_faces
    labels = np.where(gender == 0, "male", "female")
    plain = GenderClassifier(**TINY).fit(images, labels)
    weighted = GenderClassifier(**TINY, class_weight={"male": 1, "female": 5}).fit(images, labels)
    female = list(weighted.classes_).index("female")
    assert (weighted.predict_proba(images)[:, female].mean()
            > plain.predict_proba(images)[:, female].mean())


@pytest.mark.parametrize("labels, message", [
    ([0, 1, 2, 0], "exactly 2 classes; found 3"),
    ([0, 0, 0, 0], "exactly 2 classes; found 1"),
    ([0.0, 1.0, np.nan, 1.0], r"y\[2\] is missing"),
    (np.array(["m", None, "f", "m"], dtype=object), r"y\[1\] is missing"),
])
def test_gender_classifier_bad_labels(gendered_faces, labels, message):
    images = gendered_faces[1][:4]
    with pytest.raises(ValueError, match=message):
        GenderClassifier(**TINY).fit(images, labels)


def test_age_gender_estimator_predicts_both_in_one_pass(gendered_faces):
    paths, _, age, gender, _ = gendered_faces
    model = AgeGenderEstimator(**TINY).fit(paths, np.column_stack([age, gender]))
    predicted = model.predict(paths)
    assert predicted.shape == (len(paths), 2) and predicted.dtype == np.float64
    np.testing.assert_allclose(predicted[:, 0], model.predict_age(paths))
    np.testing.assert_array_equal(predicted[:, 1], model.predict_gender(paths))
    proba = model.predict_gender_proba(paths)
    np.testing.assert_array_equal(model.gender_classes_, [0, 1])
    np.testing.assert_array_equal(model.predict_gender(paths), proba.argmax(axis=1))
    assert np.all((predicted[:, 0] >= 0) & (predicted[:, 0] <= 120))
    assert model.score(paths, np.column_stack([age, gender])) < 0


def test_age_gender_estimator_takes_a_dataframe_with_string_genders(gendered_faces):
    _, images, age, gender, _ = gendered_faces
    frame = pd.DataFrame({"gender": np.where(gender == 0, "m", "f"), "age": age})
    model = AgeGenderEstimator(**TINY).fit(images, frame)
    predicted = model.predict(images)
    assert predicted.dtype == object
    assert set(predicted[:, 1]) <= {"m", "f"}
    np.testing.assert_array_equal(model.gender_classes_, ["f", "m"])


def test_loss_is_the_weighted_sum_of_the_heads_and_is_recorded(gendered_faces):
    _, images, age, gender, _ = gendered_faces
    Y = np.column_stack([age, gender])
    model = AgeGenderEstimator(**{**TINY, "max_epochs": 2}, loss_weights={"gender": 3.0},
                               early_stopping=True, validation_fraction=0.25).fit(images, Y)
    assert model.loss_weights_ == {"age": 1.0, "gender": 3.0}
    for subset in ("train", "valid"):
        total, age_loss, gender_loss = (
            np.array(model.history_[:, f"{subset}_{name}"])
            for name in ("loss", "age_loss", "gender_loss")
        )
        np.testing.assert_allclose(total, age_loss + 3.0 * gender_loss, rtol=1e-4)


@pytest.mark.parametrize("Estimator", [GenderClassifier, AgeGenderEstimator])
def test_label_smoothing_reaches_the_gender_loss(Estimator, gendered_faces):
    _, images, age, gender, _ = gendered_faces
    y = gender if Estimator is GenderClassifier else np.column_stack([age, gender])
    criterion = Estimator(**TINY, label_smoothing=0.2).fit(images, y).net_.criterion_
    if Estimator is GenderClassifier:
        loss = criterion(torch.tensor([[0.0, 10.0]]), torch.tensor([1]))
    else:  # output 0 is the age head; the target holds (age, gender index)
        outputs, target = torch.tensor([[0.0, 0.0, 10.0]]), torch.tensor([[0.0, 1.0]])
        loss = criterion.parts(outputs, target)["gender"]
    # Smoothed target (0.1, 0.9): -(0.1 * log p0 + 0.9 * log p1), p0 = 1 / (1 + e^10).
    log_p1 = -np.log1p(np.exp(-10.0))
    assert loss.item() == pytest.approx(-(0.1 * (log_p1 - 10.0) + 0.9 * log_p1), rel=1e-5)
    with pytest.raises(ValueError, match="'label_smoothing' parameter"):
        Estimator(**TINY, label_smoothing=1.0).fit(images, y)


@pytest.mark.parametrize("Y, message", [
    (np.zeros((4, 3)), r"shape \(n_samples, 2\)"),
    (np.zeros(4), r"shape \(n_samples, 2\)"),
    (pd.DataFrame({"age": [1, 2, 3, 4], "sex": [0, 1, 0, 1]}), "columns"),
    (np.array([[10, 0], [20, 1], [30, np.nan], [40, 1]]), r"gender\[2\] is missing"),
    (np.array([[10, 0], [20, 1], [30, 2], [40, 1]]), "exactly 2 classes; found 3"),
    (np.array([[10, 0], [-2, 1], [30, 0], [40, 1]]), r"age\[1\] = -2.0"),
])
def test_age_gender_estimator_bad_targets(gendered_faces, Y, message):
    with pytest.raises(ValueError, match=message):
        AgeGenderEstimator(**TINY).fit(gendered_faces[1][:4], Y)


@pytest.mark.parametrize("loss_weights, message", [
    ({"agee": 1.0}, "unknown key 'agee'"),
    ({"gender": -1.0}, r"loss_weights\['gender'\] must be a finite number >= 0"),
    ({"age": 0.0, "gender": 0.0}, "all zero"),
])
def test_age_gender_estimator_bad_loss_weights(gendered_faces, loss_weights, message):
    Y = np.column_stack([gendered_faces[2][:4], [0, 1, 0, 1]])
    with pytest.raises(ValueError, match=message):
        AgeGenderEstimator(**TINY, loss_weights=loss_weights).fit(gendered_faces[1][:4], Y)


def test_grid_search_with_age_gender_scorers(gendered_faces):
    _, images, age, gender, _ = gendered_faces
    search = GridSearchCV(
        AgeGenderEstimator(**TINY),
        {"lr": [1e-3, 3e-3], "weight_decay": [0.0], "dropout": [0.0, 0.3], "l1_lambda": [0.0]},
        cv=KFold(2, shuffle=True, random_state=0), scoring=make_age_gender_scorers(),
        refit="age_mae",
    ).fit(images, np.column_stack([age, gender]))
    results = search.cv_results_
    assert len(results["params"]) == 4
    assert np.all(results["mean_test_age_mae"] < 0)
    assert np.all((results["mean_test_gender_accuracy"] >= 0)
                  & (results["mean_test_gender_accuracy"] <= 1))
    assert search.best_estimator_.predict(images[:2]).shape == (2, 2)


def test_age_gender_scorers_hand_computed():
    class Fixed(BaseEstimator):
        def predict(self, X):
            return np.array([[12.0, 0], [20.0, 1], [41.0, 1], [30.0, 0]])

    Y = np.array([[10, 0], [20, 0], [30, 1], [40, 0]])
    scores = {name: scorer(Fixed(), None, Y) for name, scorer in make_age_gender_scorers().items()}
    assert scores["age_mae"] == pytest.approx(-(2 + 0 + 11 + 10) / 4)
    assert scores["age_cs"] == pytest.approx(0.5)
    assert scores["gender_accuracy"] == pytest.approx(0.75)
    # female (1): precision 1/2, recall 1 -> F1 2/3; male (0): precision 1, recall 2/3 -> 0.8
    assert scores["gender_f1"] == pytest.approx((2 / 3 + 0.8) / 2)


def test_error_by_group_hand_computed():
    report = error_by_group([10, 20, 30, 40, 50], [10, 30, 30, 41, 44],
                            ["a", "b", "a", "b", "c"], threshold=5)
    np.testing.assert_array_equal(report.groups, ["a", "b", "c"])
    np.testing.assert_allclose(report.mae, [0.0, 5.5, 6.0])
    np.testing.assert_array_equal(report.count, [2, 2, 1])
    np.testing.assert_allclose(report.cs, [1.0, 0.5, 0.0])
    assert report.overall_mae == pytest.approx(17 / 5)
    assert report.gap == pytest.approx(6.0)
    assert report.worst_group == "c"
    assert report.worst_ratio == pytest.approx(6.0 / 3.4)
    with pytest.raises(ValueError, match="groups has 2 entries but y_true has 5"):
        error_by_group([10, 20, 30, 40, 50], [10, 30, 30, 41, 44], ["a", "b"])


@pytest.mark.parametrize("Estimator", [GenderClassifier, AgeGenderEstimator])
def test_scikit_learn_conventions(Estimator, gendered_faces):
    name = Estimator.__name__
    estimator = Estimator(**TINY)
    check_parameters_default_constructible(name, estimator)
    check_no_attributes_set_in_init(name, estimator)
    check_get_params_invariance(name, estimator)
    check_set_params(name, estimator)
    _, images, age, gender, _ = gendered_faces
    y = gender if Estimator is GenderClassifier else np.column_stack([age, gender])
    fitted = clone(estimator).fit(images, y)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(images), fitted.predict(images))
    assert clone(fitted).get_params() == estimator.get_params()
