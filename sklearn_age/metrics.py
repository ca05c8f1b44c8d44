"""Age metrics in plain numpy: MAE, cumulative score, error and recall per age range or group."""

import warnings

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    make_scorer,
    mean_absolute_error,
    recall_score,
)
from sklearn.utils import Bunch

from .ranges import AgeRanges
from .targets import split_age_gender


def _check_pair(y_true, y_pred):
    y_true = np.asarray(y_true, dtype=float).ravel()
    y_pred = np.asarray(y_pred, dtype=float).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true and y_pred differ in length: {len(y_true)} != {len(y_pred)}."
        )
    if len(y_true) == 0:
        raise ValueError("Found array with 0 sample(s): y_true is empty.")
    return y_true, y_pred


def cumulative_score(y_true, y_pred, threshold=5):
    """Share of predictions within ``threshold`` years of the truth (CS@k).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted ages in years.
    threshold : float, default=5
        Largest absolute error, in years, that still counts as correct.

    Returns
    -------
    score : float
        In [0, 1]; higher is better.

    Examples
    --------
    >>> from sklearn_age.metrics import cumulative_score
    >>> float(cumulative_score([10, 20, 30], [12, 27, 30], threshold=5))
    0.6666666666666666
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred) <= threshold))


def mae_per_range(y_true, y_pred, ranges="life_stages"):
    """Mean absolute error within each age range of the true ages.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted ages in years.
    ranges : str, sequence of int or AgeRanges, default="life_stages"
        The ranges (see :class:`~sklearn_age.AgeRanges`).

    Returns
    -------
    errors : dict
        Range label to ``(mae, count)``; ranges without samples get ``(nan, 0)``.

    Examples
    --------
    >>> from sklearn_age.metrics import mae_per_range
    >>> mae_per_range([3, 4, 70], [5, 4, 60], ranges=[0, 18, 66])["0-17"]
    (1.0, 2)
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    ranges = AgeRanges(ranges)
    index = ranges.bin_index(y_true)
    errors = {}
    for i, label in enumerate(ranges.labels):
        mask = index == i
        count = int(mask.sum())
        mae = float(mean_absolute_error(y_true[mask], y_pred[mask])) if count else float("nan")
        errors[str(label)] = (mae, count)
    return errors


def _macro_over_ranges(score, y_true, y_pred, ranges):
    """``score(true, pred, labels=..., average="macro")`` over the ranges with true samples.

    Ages are binned into ``ranges``, range labels are looked up; ranges without true
    samples are left out, with a warning naming them.
    """
    ranges = AgeRanges(ranges)
    true = ranges.to_index(np.asarray(y_true).ravel())
    pred = ranges.to_index(np.asarray(y_pred).ravel())
    _check_pair(true, pred)
    present = np.unique(true)
    empty = [str(label) for i, label in enumerate(ranges.labels) if i not in present]
    if empty:
        warnings.warn(
            f"{score.__name__}: no true samples in age range(s) {empty}; the macro "
            f"average is over the {len(present)} range(s) that have samples.",
            UserWarning,
            stacklevel=3,
        )
    return float(score(true, pred, labels=present, average="macro", zero_division=0))


def range_recall_score(y_true, y_pred, ranges="life_stages"):
    """Recall per age range, averaged over ranges (macro): balanced accuracy of ranges.

    Ages (from a regressor) are binned into ``ranges``; range labels (from an
    :class:`~sklearn_age.AgeClassifier`) are taken as they are. Ranges without true
    samples are left out of the average, with a warning.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Ages in years or range labels.
    ranges : str, sequence of int or AgeRanges, default="life_stages"

    Returns
    -------
    score : float
        In [0, 1]; higher is better.

    Examples
    --------
    >>> from sklearn_age.metrics import range_recall_score
    >>> round(range_recall_score([3, 4, 10, 20], [2, 9, 12, 25], ranges=[0, 6, 19]), 4)
    0.8333
    """
    return _macro_over_ranges(recall_score, y_true, y_pred, ranges)


def range_f1_score(y_true, y_pred, ranges="life_stages"):
    """F1 per age range, averaged over ranges (macro).

    Inputs as in :func:`range_recall_score`; ranges without true samples are left out
    of the average, with a warning.

    Returns
    -------
    score : float
        In [0, 1]; higher is better.

    Examples
    --------
    >>> from sklearn_age.metrics import range_f1_score
    >>> round(range_f1_score(["0-5", "6-18", "6-18"], ["0-5", "0-5", "6-18"],
    ...                      ranges="life_stages"), 4)
    0.6667
    """
    return _macro_over_ranges(f1_score, y_true, y_pred, ranges)


def range_confusion_matrix(y_true, y_pred, ranges="life_stages", normalize=None):
    """Confusion matrix over all age ranges (rows: true range, columns: predicted).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Ages in years or range labels.
    ranges : str, sequence of int or AgeRanges, default="life_stages"
    normalize : {"true", "pred", "all"} or None, default=None
        As in :func:`sklearn.metrics.confusion_matrix`.

    Returns
    -------
    matrix : ndarray of shape (n_ranges, n_ranges)
    labels : ndarray of str
        The range labels, in the order of the rows and columns.
    """
    ranges = AgeRanges(ranges)
    true = ranges.to_index(np.asarray(y_true).ravel())
    pred = ranges.to_index(np.asarray(y_pred).ravel())
    _check_pair(true, pred)
    matrix = confusion_matrix(true, pred, labels=np.arange(len(ranges)), normalize=normalize)
    return matrix, ranges.labels


def _years_only(metric):
    def years_metric(y_true, y_pred, **kwargs):
        if np.asarray(y_pred).dtype.kind not in "iuf":
            raise ValueError(
                f"{metric.__name__} needs predicted ages in years, got labels; score an "
                "AgeClassifier with the range scorers ('range_recall', 'range_f1')."
            )
        return metric(y_true, y_pred, **kwargs)
    years_metric.__name__ = metric.__name__
    return years_metric


def make_age_scorers(ranges="life_stages", threshold=5):
    """Scorers for a multi-metric ``scoring=`` in scikit-learn's model selection.

    Parameters
    ----------
    ranges : str, sequence of int or AgeRanges, default="life_stages"
        Age ranges of the range scorers.
    threshold : float, default=5
        Years of the cumulative score.

    Returns
    -------
    scorers : dict
        ``"mae"`` (negated mean absolute error: greater is better, as for every
        scikit-learn scorer), ``"cs"`` (cumulative score within ``threshold`` years),
        ``"range_recall"`` and ``"range_f1"`` (macro over ranges). The first two need
        ages in years; the range scorers take a regressor or an ``AgeClassifier``.

    Examples
    --------
    >>> from sklearn_age.metrics import make_age_scorers
    >>> sorted(make_age_scorers())
    ['cs', 'mae', 'range_f1', 'range_recall']
    """
    ranges = AgeRanges(ranges)
    return {
        "mae": make_scorer(_years_only(mean_absolute_error), greater_is_better=False),
        "cs": make_scorer(_years_only(cumulative_score), threshold=threshold),
        "range_recall": make_scorer(range_recall_score, ranges=ranges),
        "range_f1": make_scorer(range_f1_score, ranges=ranges),
    }


def error_by_group(y_true, y_pred, groups, threshold=5):
    """MAE, count and cumulative score of the ages in each group, and the largest gap.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted ages in years.
    groups : array-like of shape (n,)
        Group of each face: gender, ethnicity, age range, anything.
    threshold : float, default=5
        Years of the cumulative score.

    Returns
    -------
    report : Bunch
        ``groups`` (the group labels, sorted), ``mae``, ``count`` and ``cs`` (one value
        per group), ``overall_mae``, ``gap`` (largest minus smallest group MAE),
        ``worst_group`` and ``worst_ratio`` (its MAE over the overall MAE).

    Examples
    --------
    >>> from sklearn_age.metrics import error_by_group
    >>> report = error_by_group([20, 30, 40, 50], [22, 30, 50, 50], ["m", "m", "f", "f"])
    >>> report.mae.tolist(), float(report.gap), str(report.worst_group)
    ([5.0, 1.0], 4.0, 'f')
    >>> float(report.worst_ratio)
    1.6666666666666667
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    groups = np.asarray(groups).ravel()
    if len(groups) != len(y_true):
        raise ValueError(
            f"groups has {len(groups)} entries but y_true has {len(y_true)}."
        )
    labels, index = np.unique(groups, return_inverse=True)
    errors = np.abs(y_true - y_pred)
    count = np.bincount(index)
    mae = np.bincount(index, weights=errors) / count
    cs = np.bincount(index, weights=errors <= threshold) / count
    overall = float(errors.mean())
    worst = int(np.argmax(mae))
    return Bunch(
        groups=labels, mae=mae, count=count, cs=cs, overall_mae=overall,
        gap=float(mae.max() - mae.min()), worst_group=labels[worst],
        worst_ratio=float(mae[worst] / overall) if overall else float("nan"),
    )


def _age_gender_metric(metric, column):
    """``metric`` on one column (``0``: age, ``1``: gender) of ``Y`` and its prediction."""
    def column_metric(Y_true, Y_pred, **kwargs):
        true = split_age_gender(Y_true)[column]
        pred = np.asarray(Y_pred)[:, column]
        if column == 1:
            pred = pred.astype(true.dtype)
        return metric(true, pred, **kwargs)
    column_metric.__name__ = f"{metric.__name__}_of_{('age', 'gender')[column]}"
    return column_metric


def make_age_gender_scorers(threshold=5):
    """Scorers for an :class:`~sklearn_age.AgeGenderEstimator` in a multi-metric ``scoring=``.

    Parameters
    ----------
    threshold : float, default=5
        Years of the cumulative score.

    Returns
    -------
    scorers : dict
        ``"age_mae"`` (negated: greater is better), ``"age_cs"``, ``"gender_accuracy"``
        and ``"gender_f1"`` (macro over the two labels). ``Y`` is an ``(n, 2)``
        array or a DataFrame with ``age`` and ``gender`` columns.

    Examples
    --------
    >>> from sklearn_age.metrics import make_age_gender_scorers
    >>> sorted(make_age_gender_scorers())
    ['age_cs', 'age_mae', 'gender_accuracy', 'gender_f1']
    """
    return {
        "age_mae": make_scorer(_age_gender_metric(mean_absolute_error, 0),
                               greater_is_better=False),
        "age_cs": make_scorer(_age_gender_metric(cumulative_score, 0), threshold=threshold),
        "gender_accuracy": make_scorer(_age_gender_metric(accuracy_score, 1)),
        "gender_f1": make_scorer(_age_gender_metric(f1_score, 1), average="macro"),
    }
