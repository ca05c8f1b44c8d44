import math

import pytest

from sklearn_age.metrics import cumulative_score, mae_per_range


def test_cumulative_score_by_hand():
    # errors 2, 7, 0, 5 -> within 5 years: 3 of 4
    assert cumulative_score([10, 20, 30, 40], [12, 27, 30, 45]) == 0.75
    assert cumulative_score([10, 20, 30, 40], [12, 27, 30, 45], threshold=1) == 0.25


def test_mae_per_range_by_hand():
    result = mae_per_range([3, 4, 20, 70], [5, 4, 30, 60], ranges="life_stages")
    assert result["0-5"] == (1.0, 2)
    assert result["19-30"] == (10.0, 1)
    assert result["66+"] == (10.0, 1)
    mae, count = result["31-45"]
    assert math.isnan(mae) and count == 0


def test_metric_input_errors():
    with pytest.raises(ValueError, match="differ in length"):
        cumulative_score([1, 2], [1])
    with pytest.raises(ValueError, match="0 sample"):
        mae_per_range([], [])


def test_range_recall_and_f1_on_years_and_labels():
    from sklearn_age.metrics import range_f1_score, range_recall_score

    # life stages of the truth: 0-5, 0-5, 6-18, 19-30; of the predictions:
    # 0-5, 6-18, 6-18, 19-30 -> recalls 1/2, 1, 1 -> macro 5/6
    y_true, y_pred = [2, 5, 10, 25], [3, 7, 12, 29]
    message = r"recall_score: no true samples in age range\(s\) \[.31-45."
    with pytest.warns(UserWarning, match=message):
        assert range_recall_score(y_true, y_pred) == pytest.approx(5 / 6)
    # precisions 1, 1/2, 1 and recalls 1/2, 1, 1 -> F1 2/3, 2/3, 1 -> macro 7/9
    with pytest.warns(UserWarning):
        assert range_f1_score(y_true, y_pred) == pytest.approx(7 / 9)
    labels_true = ["0-5", "0-5", "6-18", "19-30"]
    labels_pred = ["0-5", "6-18", "6-18", "19-30"]
    with pytest.warns(UserWarning):
        assert range_recall_score(labels_true, labels_pred) == pytest.approx(5 / 6)
    with pytest.warns(UserWarning):  # regressor truth, classifier predictions
        assert range_f1_score(y_true, labels_pred) == pytest.approx(7 / 9)


def test_range_labels_of_other_ranges_are_an_error():
    from sklearn_age.metrics import range_recall_score

    with pytest.raises(ValueError, match=r"\['20-29'\] are not ranges"):
        range_recall_score(["0-5", "20-29"], ["0-5", "0-5"])


def test_range_confusion_matrix():
    from sklearn_age.metrics import range_confusion_matrix

    matrix, labels = range_confusion_matrix([2, 5, 10, 70], [3, 7, 12, 50])
    assert labels.tolist()[0] == "0-5" and matrix.shape == (6, 6)
    assert matrix[0, 0] == 1 and matrix[0, 1] == 1 and matrix[1, 1] == 1
    assert matrix[5, 4] == 1 and matrix.sum() == 4


def test_make_age_scorers_signs_on_a_real_estimator():
    import numpy as np
    from sklearn.dummy import DummyRegressor

    from sklearn_age.metrics import make_age_scorers

    ages = np.array([2.0, 4, 10, 20, 30, 40, 50, 70])
    model = DummyRegressor(strategy="constant", constant=30).fit(np.zeros((8, 1)), ages)
    scorers = make_age_scorers()
    X = np.zeros((8, 1))
    assert scorers["mae"](model, X, ages) == pytest.approx(-np.mean(np.abs(ages - 30)))
    assert scorers["cs"](model, X, ages) == pytest.approx(1 / 8)
    assert scorers["range_recall"](model, X, ages) == pytest.approx(1 / 6)
    # An MAE scorer given range labels explains itself.
    from sklearn.dummy import DummyClassifier

    labels = np.array(["0-5", "6-18"] * 4)
    clf = DummyClassifier(strategy="most_frequent").fit(X, labels)
    with pytest.raises(ValueError, match="needs predicted ages in years"):
        scorers["mae"](clf, X, labels)
    assert scorers["range_recall"](clf, X, labels) == pytest.approx(0.5)


@pytest.fixture(scope="module")
def labelled_faces(faces):
    """40 real faces with UTKFace's codes, as ``load_faces`` gives them."""
    from sklearn.utils import Bunch

    pick = slice(0, 7800, 195)
    return Bunch(paths=faces.paths[pick], age=faces.age[pick], gender=faces.gender[pick],
                 race=faces.race[pick])


def test_evaluate_model_scores_ages_ranges_and_groups(labelled_faces):
    import numpy as np

    from sklearn_age import AgeGenderEstimator, evaluate_model
    from sklearn_age.datasets import ETHNICITY_NAMES, GENDER_NAMES
    from sklearn_age.prediction import describe_faces
    from sklearn_age.metrics import error_by_group
    from tests.conftest import TINY

    faces = labelled_faces
    model = AgeGenderEstimator(**TINY).fit(
        faces.paths, np.column_stack([faces.age, GENDER_NAMES[faces.gender]]))
    report = evaluate_model(model, faces)
    predicted = describe_faces(model, faces.paths)
    assert report.n_faces == 40
    assert report.mae == pytest.approx(np.mean(np.abs(np.array(predicted["age"]) - faces.age)))
    assert report.cs == cumulative_score(faces.age, predicted["age"])
    assert 0 <= report.range_recall <= 1 and 0 <= report.range_f1 <= 1
    assert sum(count for _, count in report.mae_per_range.values()) == 40
    assert report.gender_accuracy == pytest.approx(
        np.mean(np.array(predicted["gender"]) == GENDER_NAMES[faces.gender]))
    assert report.error_by_gender.groups.tolist() == ["female", "male"]
    assert set(report.error_by_ethnicity.groups) <= set(ETHNICITY_NAMES)
    expected = error_by_group(faces.age, predicted["age"], ETHNICITY_NAMES[faces.race])
    assert report.error_by_ethnicity.mae.tolist() == pytest.approx(expected.mae.tolist())


def test_evaluate_model_of_a_range_classifier_without_groups(labelled_faces):
    from sklearn.utils import Bunch

    from sklearn_age import AgeClassifier, evaluate_model
    from tests.conftest import TINY

    faces = Bunch(paths=labelled_faces.paths, age=labelled_faces.age)
    report = evaluate_model(AgeClassifier(**TINY).fit(faces.paths, faces.age), faces)
    assert report.n_faces == 40 and 0 <= report.range_recall <= 1
    assert report.mae is report.cs is report.mae_per_range is None
    assert report.gender_accuracy is report.error_by_gender is report.error_by_ethnicity is None
