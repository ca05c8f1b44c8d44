"""Age metrics in plain numpy: MAE, cumulative score and error per age range."""

import numpy as np
from sklearn.metrics import mean_absolute_error

from .ranges import AgeRanges


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
