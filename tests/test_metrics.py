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
