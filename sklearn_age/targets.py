"""Target checks shared by the estimators and the metrics: ages, labels, age-and-gender pairs.

Plain numpy (no torch); each error names the first offending row.
"""

import numpy as np
from sklearn.utils.multiclass import check_classification_targets

#: Column names of a two-target ``Y`` (also the keys of ``loss_weights``).
AGE_GENDER_COLUMNS = ("age", "gender")


#: The oldest age accepted as a target, in years; predictions are clipped to it too.
MAX_AGE = 120.0


def check_ages(y, name="y"):
    """Ages must be finite years from 0 to :data:`MAX_AGE`.

    An age above it is no person's: a typo, or months given for years.

    Parameters
    ----------
    y : array-like of shape (n,)
    name : str, default="y"
        How the error message calls ``y``.

    Returns
    -------
    y : ndarray of float64

    Raises
    ------
    ValueError
        Naming the first bad row and how many there are.
    """
    y = np.asarray(y, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(y) | (y < 0))
    if len(bad):
        row = bad[0]
        raise ValueError(
            f"Ages must be finite, non-negative years; {name}[{row}] = {float(y[row])} "
            f"({len(bad)} bad value(s) in all)."
        )
    too_old = np.flatnonzero(y > MAX_AGE)
    if len(too_old):
        row = too_old[0]
        raise ValueError(
            f"Ages must be years from 0 to {MAX_AGE:g}; {name}[{row}] = {float(y[row])} "
            f"({len(too_old)} value(s) above {MAX_AGE:g} in all): a typo, or ages in months?"
        )
    return y


def _is_missing(value):
    return value is None or (isinstance(value, (float, np.floating)) and np.isnan(value))


def check_labels(y, name="y", n_classes=None):
    """Class labels with no missing values (and exactly ``n_classes`` classes if given).

    Parameters
    ----------
    y : array-like of shape (n,)
    name : str, default="y"
        How the error messages call ``y``.
    n_classes : int or None, default=None

    Returns
    -------
    y : ndarray of shape (n,)
    """
    y = np.asarray(y)
    if y.dtype.kind in "fO":
        missing = np.flatnonzero([_is_missing(value) for value in y])
        if len(missing):
            raise ValueError(
                f"{name} has missing labels (None or NaN); {name}[{missing[0]}] is missing "
                f"({len(missing)} in all)."
            )
    check_classification_targets(y)
    classes = np.unique(y)
    if n_classes is not None and len(classes) != n_classes:
        # Worded as scikit-learn's own errors ("Only binary classification is supported",
        # "1 class"), which its estimator checks look for.
        binary = (
            "Only binary classification is supported: " if n_classes == 2 < len(classes) else ""
        )
        found = f"{len(classes)} class{'' if len(classes) == 1 else 'es'}"
        raise ValueError(
            f"{binary}{name} must hold exactly {n_classes} classes; found {found}: "
            f"{classes.tolist()}."
        )
    return y


def split_age_gender(Y):
    """Ages and gender labels from ``Y``: an ``(n, 2)`` array or a DataFrame.

    Parameters
    ----------
    Y : array-like of shape (n, 2) or DataFrame
        Age then gender; a DataFrame needs exactly the columns ``age`` and ``gender``.

    Returns
    -------
    age : ndarray of float64
    gender : ndarray
        Labels without missing values; whole-number floats (``0.0``, ``1.0``, as in
        a stacked float ``Y``) become ints. Two classes are *not* required here.
    """
    if hasattr(Y, "columns"):
        columns = [str(column) for column in Y.columns]
        if sorted(columns) != sorted(AGE_GENDER_COLUMNS):
            raise ValueError(
                f"Y must have the columns {list(AGE_GENDER_COLUMNS)}; got {columns}."
            )
        age, gender = Y["age"].to_numpy(), Y["gender"].to_numpy()
    else:
        Y = np.asarray(Y)
        if Y.ndim != 2 or Y.shape[1] != 2:
            raise ValueError(
                f"Y must have shape (n_samples, 2): age, then gender; got shape {Y.shape}."
            )
        age, gender = Y[:, 0], Y[:, 1]
    try:
        age = np.asarray(age, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"The age column of Y must hold numbers: {error}") from None
    gender = check_labels(gender, name="gender")
    if gender.dtype.kind == "f" and np.all(gender == np.round(gender)):
        gender = gender.astype(np.int64)
    return check_ages(age, name="age"), gender
