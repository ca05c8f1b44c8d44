"""Prediction over many photos: one row per face, unreadable photos named and passed over.

Taking photos whole (``faces="whole"``) imports neither torch nor scikit-learn, so that
an exported model (:func:`~sklearn_age.load_onnx`) predicts soon after start-up.
"""

import functools
from numbers import Integral
from typing import NamedTuple

import numpy as np

from .images import ImageLoadError

#: What ``predict_photos(faces=...)`` accepts.
FACE_MODES = ("auto", "detect", "whole")


class PhotoPredictions(NamedTuple):
    """What :func:`predict_photos` returns."""

    #: One dict per face, in the order of the photos.
    rows: list
    #: ``(photo, message)`` for each unreadable photo.
    errors: list


def predict_photos(estimator, photos, *, faces="auto", chunk_size=2048):
    """Predict every face of many photos; an unreadable photo is named and the rest go on.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        As for :func:`~sklearn_age.predict_faces`.
    photos : sequence of str or os.PathLike
        Photo files.
    faces : {"auto", "detect", "whole"}, default="auto"
        ``"detect"`` finds every face of each photo; ``"auto"`` also does, and takes a
        photo without a detectable face whole; ``"whole"`` takes every photo as a face
        crop, without detection (fastest).
    chunk_size : int, default=2048
        Photos predicted together with ``faces="whole"``.

    Returns
    -------
    result : PhotoPredictions
        A named tuple. ``rows``: a list of dict in the order of ``photos``, one per
        face, with ``"photo"``, ``"face"`` (its number in the photo, from 1),
        ``"box"`` (as :func:`~sklearn_age.predict_faces` gives it, or ``"whole
        photo"``) and the predictions of :func:`describe_faces`; a photo without a
        face (``faces="detect"``) or that cannot be read gets one row with ``"face"``
        0 and ``"box"`` ``"no face found"`` or ``"unreadable"``. ``errors``: a list
        of ``(photo, message)``, one per unreadable photo.

    Examples
    --------
    >>> from sklearn_age import predict_photos
    >>> result = predict_photos(model, ["party.jpg", "broken.jpg"])  # doctest: +SKIP
    >>> result.rows[0]  # doctest: +SKIP
    {'photo': 'party.jpg', 'face': 1, 'box': (112, 80, 96, 96), 'age': 31.4}
    >>> result.errors  # doctest: +SKIP
    [('broken.jpg', "cannot read image 'broken.jpg': not an image")]
    """
    if faces not in FACE_MODES:
        raise ValueError(f"faces must be one of {FACE_MODES}, got {faces!r}.")
    if not isinstance(chunk_size, Integral) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}.")
    photos = list(photos)
    rows, errors = [], []
    if faces == "whole":
        for begin in range(0, len(photos), chunk_size):
            rows += _guarded(_whole_photo_rows, estimator, photos[begin:begin + chunk_size],
                             errors)
    else:
        detected = functools.partial(_detected_rows, faces=faces)
        for photo in photos:
            rows += _guarded(detected, estimator, [photo], errors)
    return PhotoPredictions(rows, errors)


def _whole_photo_rows(estimator, photos):
    """One row per photo, the whole photo taken as the face (predicted together)."""
    columns = describe_faces(estimator, np.asarray(photos, dtype=object))
    return [
        {"photo": photo, "face": 1, "box": "whole photo",
         **{key: values[i] for key, values in columns.items()}}
        for i, photo in enumerate(photos)
    ]


def _detected_rows(estimator, photos, faces):
    """One row per detected face of the one photo in ``photos``; see ``faces``."""
    from .faces import predict_faces  # OpenCV and scikit-learn: only to detect faces

    records = predict_faces(estimator, photos[0])
    if not records and faces == "auto":
        return _whole_photo_rows(estimator, photos)
    if not records:
        return [{"photo": photos[0], "face": 0, "box": "no face found"}]
    return [{"photo": photos[0], "face": i, **record}
            for i, record in enumerate(records, start=1)]


def _guarded(rows_for, estimator, photos, errors):
    """``rows_for(estimator, photos)``, narrowing down to the unreadable photos on an error.

    Each unreadable photo gets an ``"unreadable"`` row and an entry in ``errors``.
    """
    try:
        return rows_for(estimator, photos)
    except ImageLoadError as error:
        if len(photos) == 1:
            errors.append((photos[0], str(error)))
            return [{"photo": photos[0], "face": 0, "box": "unreadable"}]
        step = max(1, len(photos) // 16)
        return [row for begin in range(0, len(photos), step)
                for row in _guarded(rows_for, estimator, photos[begin:begin + step], errors)]


def describe_faces(estimator, crops):
    """Predictions for face crops, by column, as :func:`~sklearn_age.predict_faces`
    reports them.

    Parameters
    ----------
    estimator : fitted estimator or Pipeline
        A regressor, a classifier (it has ``classes_`` and ``predict_proba``) or an
        :class:`~sklearn_age.AgeGenderEstimator`, or an exported one
        (:func:`~sklearn_age.load_onnx`).
    crops : ndarray of shape (n, H, W, 3), dtype uint8, or list of paths
        Face crops.

    Returns
    -------
    columns : dict of list
        ``"age"`` (years for a regressor, the label for a classifier, which also
        gets ``"age_probability"``); an age-and-gender model adds ``"gender"`` and
        ``"gender_probability"`` (from the same pass of the network).
    """
    if hasattr(estimator, "steps"):  # a Pipeline: its last step describes what the rest make
        if len(estimator) > 1:
            crops = estimator[:-1].transform(crops)
        estimator = estimator[-1]
    if hasattr(estimator, "predict_age_and_gender_proba"):
        ages, proba = estimator.predict_age_and_gender_proba(crops)
        best = np.argmax(proba, axis=1)
        return {"age": ages.tolist(),
                "gender": estimator.gender_classes_[best].tolist(),
                "gender_probability": proba[np.arange(len(best)), best].tolist()}
    if hasattr(estimator, "classes_") and hasattr(estimator, "predict_proba"):  # classifier
        proba = estimator.predict_proba(crops)
        best = np.argmax(proba, axis=1)
        return {"age": estimator.classes_[best].tolist(),
                "age_probability": proba[np.arange(len(best)), best].tolist()}
    return {"age": np.asarray(estimator.predict(crops), dtype=float).tolist()}
