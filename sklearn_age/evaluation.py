"""A fitted model scored on labelled faces: every metric of :mod:`sklearn_age.metrics`
that applies."""

import warnings

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch

from .datasets import ETHNICITY_NAMES, GENDER_NAMES
from .prediction import describe_faces
from .metrics import (
    cumulative_score,
    error_by_group,
    mae_per_range,
    range_f1_score,
    range_recall_score,
)


def evaluate_model(estimator, faces, threshold=5):
    """Score a fitted model on labelled faces: overall, per age range and per group.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        A model that takes face crops, as :func:`~sklearn_age.prediction.describe_faces`
        does: a regressor, an :class:`~sklearn_age.AgeClassifier` or an
        :class:`~sklearn_age.AgeGenderEstimator`.
    faces : dict or Bunch
        As :func:`~sklearn_age.load_faces` returns it: ``paths`` and ``age``; UTKFace's
        ``gender`` and ``race`` codes, when present, give the scores per group.
    threshold : float, default=5
        Years of the cumulative score.

    Returns
    -------
    report : sklearn.utils.Bunch
        ``n_faces``; ``mae`` and ``cs`` (None for a model that predicts range labels);
        ``range_recall`` and ``range_f1``, macro over the ranges the model predicts or
        was balanced over (None for a model without ranges; ranges without faces are
        left out, silently); ``mae_per_range`` (as
        :func:`~sklearn_age.metrics.mae_per_range` gives it, or None);
        ``gender_accuracy`` (None without gender predictions and codes); and
        ``error_by_gender`` and ``error_by_ethnicity`` (as
        :func:`~sklearn_age.metrics.error_by_group` gives them, or None).

    Examples
    --------
    >>> from sklearn_age import evaluate_model, load_faces, load_model
    >>> report = evaluate_model(load_model("model.skage"), load_faces("UTKFace"))  # doctest: +SKIP
    >>> report.mae, report.error_by_gender.gap  # doctest: +SKIP
    (5.61, 0.42)
    """
    predicted = describe_faces(estimator, faces["paths"])
    age = np.asarray(predicted["age"])
    years = age.dtype.kind == "f"
    ranges = _model_ranges(estimator)
    report = Bunch(n_faces=len(age), mae=None, cs=None, range_recall=None, range_f1=None,
                   mae_per_range=None, gender_accuracy=None, error_by_gender=None,
                   error_by_ethnicity=None)
    if years:
        report.mae = float(np.mean(np.abs(age - faces["age"])))
        report.cs = cumulative_score(faces["age"], age, threshold)
    if years and ranges is not None:
        report.mae_per_range = mae_per_range(faces["age"], age, ranges)
    if ranges is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            report.range_recall = range_recall_score(faces["age"], age, ranges)
            report.range_f1 = range_f1_score(faces["age"], age, ranges)
    if "gender" in predicted and "gender" in faces:
        report.gender_accuracy = float(np.mean(
            np.asarray(predicted["gender"]) == _gender_labels(predicted, faces["gender"])))
    if years:
        for key, codes, names in (("error_by_gender", "gender", GENDER_NAMES),
                                  ("error_by_ethnicity", "race", ETHNICITY_NAMES)):
            if codes in faces:
                report[key] = error_by_group(faces["age"], age, names[faces[codes]],
                                             threshold)
    return report


def _gender_labels(predicted, codes):
    """True genders as the model names them: UTKFace's codes, or their names."""
    if np.asarray(predicted["gender"]).dtype.kind in "iu":
        return codes
    return GENDER_NAMES[codes]


def _model_ranges(estimator):
    """The age ranges a model predicts or was balanced over, or None for plain labels."""
    final = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    fitted = getattr(final, "ranges_", None)
    return fitted if fitted is not None else getattr(final, "ranges", None)
