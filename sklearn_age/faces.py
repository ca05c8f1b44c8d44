"""Faces in the wild: ``FaceCropper`` for Pipelines and ``predict_faces`` for one photo.

The estimators learn from face crops such as UTKFace's, where the face fills the
image. Ordinary photos ("in the wild") are first searched for faces with OpenCV's
frontal-face Haar cascade (``haarcascade_frontalface_alt2``, shipped inside the
``opencv-python-headless`` package, so it works offline) on a grayscale copy scaled
down to at most ``detection_size`` pixels, and each face is cut out of the
full-resolution photo framed like UTKFace's crops.

OpenCV is an optional dependency: ``pip install "sklearn-age[faces]"``.
"""

import functools
import os
from numbers import Integral, Real

import numpy as np
from PIL import Image
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .images import ImageLoadError, _square_resize, check_photos, read_photo
from .loader import ImageTransformerMixin
from .prediction import describe_faces

#: The OpenCV cascade file. On 200 UTKFace faces pasted into a photo it found 198,
#: with no false alarm (``alt``: 196; ``default``: 189, and three faces in
#: scikit-learn's flower photo), and it is the fastest of the three.
CASCADE = "haarcascade_frontalface_alt2.xml"

#: How far below the centre of the detected box the crop is centred, as a fraction
#: of the box side: UTKFace's crops show more chin than forehead.
CENTRE_SHIFT = 0.08


def _cv2():
    """Import OpenCV, or explain how to install it."""
    try:
        import cv2
    except ImportError as exc:
        raise ImportError(
            "Finding faces needs OpenCV, an optional dependency: "
            'pip install "sklearn-age[faces]"'
        ) from exc
    return cv2


@functools.cache
def _cascade():
    """The face detector, loaded once per process."""
    cv2 = _cv2()
    return cv2.CascadeClassifier(os.path.join(cv2.data.haarcascades, CASCADE))


def _detect_faces(photo, detection_size=640):
    """Boxes of the faces in ``photo``, left to right, in full-resolution pixels.

    Parameters
    ----------
    photo : ndarray of shape (height, width, 3), dtype uint8
        An RGB photo.
    detection_size : int, default=640
        The search runs on a grayscale copy whose longest side is at most this.

    Returns
    -------
    boxes : ndarray of shape (n_faces, 4), dtype int
        ``x, y, width, height`` of each face, sorted by ``x``.
    """
    cv2 = _cv2()
    gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    scale = min(1.0, detection_size / max(gray.shape))
    if scale < 1.0:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    found = _cascade().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5,
                                        minSize=(24, 24))
    boxes = np.round(np.reshape(found, (-1, 4)) / scale).astype(int)
    return boxes[np.argsort(boxes[:, 0], kind="stable")]


def _largest(boxes):
    """The box of largest area, or None when there is none."""
    if len(boxes) == 0:
        return None
    return boxes[np.argmax(boxes[:, 2] * boxes[:, 3])]


def _crop_face(photo, box, size, margin):
    """Cut a square around ``box`` out of ``photo`` and resize it to ``size``.

    The square's side is the box side times ``1 + 2 * margin``, centred
    ``CENTRE_SHIFT`` of the side below the box centre; parts outside the photo are
    black, as in UTKFace's own crops.

    Parameters
    ----------
    photo : ndarray of shape (height, width, 3), dtype uint8
    box : sequence of 4 int
        ``x, y, width, height`` of the face.
    size : int
        Side of the output, in pixels.
    margin : float
        Context added on every side, as a fraction of the box side.

    Returns
    -------
    crop : ndarray of shape (size, size, 3), dtype uint8
    """
    x, y, width, height = box
    side = max(width, height) * (1 + 2 * margin)
    left = round(x + width / 2 - side / 2)
    top = round(y + height / 2 + CENTRE_SHIFT * height - side / 2)
    side = round(side)
    square = Image.new("RGB", (side, side))
    inside = photo[max(top, 0):top + side, max(left, 0):left + side]
    square.paste(Image.fromarray(inside), (max(-left, 0), max(-top, 0)))
    return np.asarray(square.resize((size, size), Image.BILINEAR, reducing_gap=2.0))


def _photo_at(photos, row):
    """Row ``row`` of checked photos as an RGB array; read errors name the row."""
    photo = photos[row]
    if isinstance(photo, np.ndarray):
        return photo
    try:
        return read_photo(photo)
    except ImageLoadError as exc:
        raise ImageLoadError(f"row {row}: {exc}") from None


def _name(photos, row):
    photo = photos[row]
    return "the image array" if isinstance(photo, np.ndarray) else repr(photo)


class FaceCropper(ImageTransformerMixin, BaseEstimator):
    """Crop the largest face out of each photo, framed like UTKFace's faces.

    Put it before an estimator in a ``Pipeline`` to train on, or predict from,
    ordinary photos. Each photo is decoded at full resolution like
    :func:`~sklearn_age.read_image` does (EXIF orientation, conversion to RGB),
    searched for frontal faces on a grayscale copy whose longest side is at most
    ``detection_size``, and the largest face is cut out as a square and resized. Needs
    OpenCV: ``pip install "sklearn-age[faces]"``.

    A photo without a detectable face is handled by ``on_missing``:

    - ``"raise"``: an error naming the file and its row;
    - ``"full_image"``: the whole photo, centre-cropped to a square, stands in;
    - ``"skip"``: :meth:`crop_faces` drops the photo and returns the rows it kept.
      :meth:`transform` (and so a ``Pipeline``) cannot drop rows, since the targets
      would no longer line up with the faces: there ``"skip"`` raises as soon as a
      photo has no face, telling you to call :meth:`crop_faces` and select ``y``
      with the kept rows yourself.

    Parameters
    ----------
    size : int, default=112
        Side of the square crops, in pixels (the estimators' default ``img_size``).
    margin : float, default=0.0
        Context added around the detected box on every side, as a fraction of the
        box side. The detector's box already spans forehead to chin, about the
        extent of a UTKFace crop, so the default ``0.0`` matches the faces the
        models learn from; ``0.2`` adds hair and neck.
    on_missing : {"raise", "full_image", "skip"}, default="raise"
        What to do with a photo in which no face is found (see above).
    detection_size : int, default=640
        Longest side of the copy searched for faces. Faces smaller than about
        ``24 / detection_size`` of the photo's longest side are missed; larger
        values find smaller faces, more slowly.

    Attributes
    ----------
    n_features_in_ : int
        Always 1: the input is one column of photos.

    See Also
    --------
    predict_faces : Predict every face of one photo.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_age import AgeRegressor, FaceCropper
    >>> model = make_pipeline(FaceCropper(), AgeRegressor())
    >>> model.fit(photo_paths, ages).predict(["party.jpg"])  # doctest: +SKIP
    array([31.4])
    >>> faces, kept = FaceCropper(on_missing="skip").crop_faces(photo_paths)  # doctest: +SKIP
    >>> AgeRegressor().fit(faces, ages[kept])  # doctest: +SKIP
    """

    _parameter_constraints = {
        "size": [Interval(Integral, 8, None, closed="left")],
        "margin": [Interval(Real, 0, None, closed="left")],
        "on_missing": [StrOptions({"raise", "full_image", "skip"})],
        "detection_size": [Interval(Integral, 64, None, closed="left")],
    }

    def __init__(self, size=112, margin=0.0, on_missing="raise", detection_size=640):
        self.size = size
        self.margin = margin
        self.on_missing = on_missing
        self.detection_size = detection_size

    def fit(self, X, y=None):
        """Check the parameters, OpenCV and the photos; nothing is learned.

        Parameters
        ----------
        X : list of str or os.PathLike, or list of ndarray of shape (H, W, 3)
            Photo paths, or ``uint8`` RGB photos of any sizes.
        y : None
            Ignored.

        Returns
        -------
        self : FaceCropper
        """
        self._validate_params()
        _cv2()
        check_photos(X)
        self.n_features_in_ = 1
        return self

    def transform(self, X):
        """Crop the largest face of each photo.

        Parameters
        ----------
        X : list of str or os.PathLike, or list of ndarray of shape (H, W, 3)
            Photo paths, or ``uint8`` RGB photos of any sizes.

        Returns
        -------
        faces : ndarray of shape (n_photos, size, size, 3), dtype uint8

        Raises
        ------
        ValueError
            If a photo has no face and ``on_missing`` is ``"raise"`` or ``"skip"``.
        """
        check_is_fitted(self)
        photos = check_photos(X)
        faces, kept = self._crop_all(photos)
        if len(kept) < len(photos):
            row = np.setdiff1d(np.arange(len(photos)), kept)[0]
            raise ValueError(
                f"row {row}: no face found in {_name(photos, row)}. "
                "on_missing='skip' cannot drop photos inside transform or a Pipeline "
                "(the targets would no longer match the faces): call crop_faces(X), "
                "which returns the kept rows, and select y with them."
            )
        return faces

    def crop_faces(self, X):
        """Crop the largest face of each photo, dropping faceless ones if asked.

        Needs no ``fit``. Unlike :meth:`transform`, this can drop photos: with
        ``on_missing="skip"`` it keeps only the photos with a face.

        Parameters
        ----------
        X : list of str or os.PathLike, or list of ndarray of shape (H, W, 3)
            Photo paths, or ``uint8`` RGB photos of any sizes.

        Returns
        -------
        faces : ndarray of shape (n_kept, size, size, 3), dtype uint8
            One face per kept photo, in input order.
        kept : ndarray of shape (n_kept,), dtype int
            Rows of ``X`` the faces come from: use ``y[kept]`` as their targets.

        Raises
        ------
        ValueError
            If a photo has no face and ``on_missing="raise"``; the message names it.
        """
        self._validate_params()
        return self._crop_all(check_photos(X))

    def _crop_all(self, photos):
        """Faces and kept rows of checked photos, as :meth:`crop_faces` returns them."""
        faces, kept = [], []
        for row in range(len(photos)):
            face = self._crop_largest(photos, row)
            if face is not None:
                faces.append(face)
                kept.append(row)
        faces = np.stack(faces) if faces else np.empty((0, self.size, self.size, 3), np.uint8)
        return faces, np.asarray(kept, dtype=int)

    def _crop_largest(self, photos, row):
        """The crop of row ``row``'s largest face; None when skipped."""
        photo = _photo_at(photos, row)
        box = _largest(_detect_faces(photo, self.detection_size))
        if box is not None:
            return _crop_face(photo, box, self.size, self.margin)
        if self.on_missing == "full_image":
            return np.asarray(_square_resize(Image.fromarray(photo), self.size))
        if self.on_missing == "raise":
            raise ValueError(
                f"row {row}: no face found in {_name(photos, row)}; pass "
                "on_missing='full_image' to use the whole photo instead, or "
                "on_missing='skip' with crop_faces() to leave it out."
            )
        return None


def predict_faces(estimator, photo, cropper=None):
    """Find every face in one photo and predict each.

    Parameters
    ----------
    estimator : fitted estimator
        A model that takes face crops (``uint8`` arrays), such as a fitted
        :class:`~sklearn_age.AgeRegressor` or :class:`~sklearn_age.AgeClassifier`.
        A ``Pipeline`` that starts with a :class:`FaceCropper` also works: that
        cropper frames the faces and the rest of the pipeline predicts.
    photo : str, os.PathLike or ndarray of shape (height, width, 3)
        A photo file or a ``uint8`` RGB photo.
    cropper : FaceCropper, default=None
        Detection and framing settings; by default the pipeline's own cropper,
        else ``FaceCropper()``. Its ``on_missing`` is not used.

    Returns
    -------
    faces : list of dict
        One record per face, left to right; empty when no face is found. Each has
        ``"box"``, the ``(x, y, width, height)`` of the detected face in pixels of
        the upright photo, and ``"age"``: years for a regressor, the predicted
        label for a classifier, which also gets ``"age_probability"``, the
        probability of that label. An :class:`~sklearn_age.AgeGenderEstimator`
        adds ``"gender"`` and ``"gender_probability"``.

    Examples
    --------
    >>> from sklearn_age import predict_faces
    >>> predict_faces(model, "party.jpg")  # doctest: +SKIP
    [{'box': (112, 80, 96, 96), 'age': 31.4}, {'box': (410, 95, 88, 88), 'age': 6.2}]
    """
    estimator, cropper = _split_cropper(estimator, cropper)
    cropper._validate_params()
    photos = check_photos([photo])
    image = _photo_at(photos, 0)
    boxes = _detect_faces(image, cropper.detection_size)
    if len(boxes) == 0:
        return []
    crops = np.stack([_crop_face(image, box, cropper.size, cropper.margin) for box in boxes])
    records = [{"box": tuple(int(v) for v in box)} for box in boxes]
    for key, values in describe_faces(estimator, crops).items():
        for record, value in zip(records, values):
            record[key] = value
    return records


def pipeline_cropper(estimator):
    """The :class:`FaceCropper` that starts a Pipeline, or None."""
    if isinstance(estimator, Pipeline) and isinstance(estimator[0], FaceCropper):
        return estimator[0]
    return None


def _split_cropper(estimator, cropper):
    """The model that takes crops, and the cropper that frames them."""
    own = pipeline_cropper(estimator)
    if own is not None:
        return estimator[1:], cropper if cropper is not None else own
    return estimator, cropper if cropper is not None else FaceCropper()
