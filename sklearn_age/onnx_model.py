"""Exported models as predictors: a file that :func:`~sklearn_age.export_onnx` wrote,
run by onnxruntime alone.

:func:`load_onnx` reads the graph and its metadata (the estimator's class, image size
and class labels) and returns an object with the estimator's prediction methods
(``predict``, ``predict_proba``, ``predict_age_and_gender_proba``, ...). It takes the
same inputs, decodes photos in the same batches and returns the same arrays, without
importing PyTorch, timm or skorch: ``sklearn-age predict model.onnx photo.jpg`` starts
in well under a second. An int8 graph (``export_onnx(..., quantize=True)``) runs the
same way.
"""

import json
import os

import numpy as np

from .batching import available_cores, predict_in_batches
from .exceptions import ModelFileError
from .images import check_photos
from .outputs import AgeGenderOutputs, ClassifierOutputs, RegressorOutputs


class OnnxRunner:
    """An onnxruntime session on the CPU that predicts batches: the engine of exported
    models and of the estimators' in-memory graphs.

    Each call runs on the calling thread alone, and :attr:`workers` batches run at once
    (one per core, :func:`~sklearn_age.batching.predict_in_batches`): on 2 cores that
    beat one batch at a time on two threads by 1.2x with photos being decoded
    alongside.

    Parameters
    ----------
    model : str or bytes
        An ONNX file, or a graph's bytes.

    Attributes
    ----------
    session : onnxruntime.InferenceSession
    workers : int
        Batches to run at once.
    """

    def __init__(self, model):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only
        options.intra_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            model, options, providers=["CPUExecutionProvider"]
        )
        self.workers = available_cores()
        self._input_name = self.session.get_inputs()[0].name
        self._output_names = [output.name for output in self.session.get_outputs()]

    def __call__(self, batch):
        """Named predictions (numpy arrays) for a numpy batch."""
        outputs = self.session.run(self._output_names, {self._input_name: batch})
        return dict(zip(self._output_names, outputs))


class ExportedModel:
    """An exported network and what its metadata says of it; see :func:`load_onnx`.

    Attributes
    ----------
    path : str
        The ``.onnx`` file.
    estimator_name : str
        Class of the estimator that was exported, such as ``"AgeRegressor"``.
    img_size : int or None
        Side of the images the graph takes (None for a ``backbone=None`` model, which
        takes features).
    batch_size : int
        Images predicted together.
    classes_, gender_classes_ : ndarray
        The class labels, for the classifiers and the age-and-gender model.
    """

    def __init__(self, runner, path, metadata, batch_size):
        self._runner, self.path, self.batch_size = runner, path, batch_size
        self.estimator_name = metadata["sklearn_age_estimator"]
        self.img_size = int(metadata["img_size"]) if "img_size" in metadata else None
        for key in ("classes", "gender_classes"):
            if key in metadata:
                setattr(self, f"{key}_", np.asarray(json.loads(metadata[key])))

    @property
    def session(self):
        """The onnxruntime session (its ``get_modelmeta()`` holds the metadata)."""
        return self._runner.session

    def _predict_outputs(self, X):
        """The graph's named outputs for ``X``, in batches."""
        if self.img_size is None:
            X = np.asarray(X, dtype=np.float32)
            if X.ndim != 2:
                raise ValueError(f"{self.path!r} takes a 2-D feature matrix, got shape "
                                 f"{X.shape}.")
        else:
            X = check_photos(X)
        return predict_in_batches(self._runner, X, self.img_size, self.batch_size,
                                  self._runner.workers)

    def __repr__(self):
        return f"{type(self).__name__}({self.path!r}, estimator_name={self.estimator_name!r})"

    def __sklearn_tags__(self):
        """What scikit-learn's scorers read: regressor or classifier."""
        from sklearn.utils import Tags, TargetTags

        return Tags(estimator_type=self._estimator_type, target_tags=TargetTags(required=True))


class ExportedRegressor(RegressorOutputs, ExportedModel):
    """An exported :class:`~sklearn_age.AgeRegressor`: ``predict`` gives years."""

    _estimator_type = "regressor"


class ExportedClassifier(ClassifierOutputs, ExportedModel):
    """An exported :class:`~sklearn_age.AgeClassifier` or
    :class:`~sklearn_age.GenderClassifier`: ``predict`` and ``predict_proba``."""

    _estimator_type = "classifier"


class ExportedAgeGender(AgeGenderOutputs, ExportedModel):
    """An exported :class:`~sklearn_age.AgeGenderEstimator`: ``predict_age``,
    ``predict_gender``, ``predict_age_and_gender_proba``, ..."""

    _estimator_type = None


#: The predictor of each exported estimator class.
EXPORTED = {"AgeRegressor": ExportedRegressor, "AgeClassifier": ExportedClassifier,
            "GenderClassifier": ExportedClassifier, "AgeGenderEstimator": ExportedAgeGender}


def load_onnx(path, *, batch_size=64):
    """Load an exported ``.onnx`` model to predict with onnxruntime, without PyTorch.

    Parameters
    ----------
    path : str or os.PathLike
        A file that :func:`~sklearn_age.export_onnx` wrote (float32 or int8).
    batch_size : int, default=64
        Images predicted together.

    Returns
    -------
    model : ExportedRegressor, ExportedClassifier or ExportedAgeGender
        With the prediction methods of the estimator that was exported; it takes
        photo paths or ``uint8`` images as the estimator does and works with
        :func:`~sklearn_age.predict_faces`, :func:`~sklearn_age.predict_photos` and
        :func:`~sklearn_age.evaluate_model`. Results equal the estimator's to float32
        precision (int8 graphs: see the performance page).

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ModelFileError
        If the file is not an ONNX model that ``export_onnx`` wrote.

    Examples
    --------
    >>> from sklearn_age import export_onnx, load_onnx
    >>> export_onnx(model, "age.onnx")  # doctest: +SKIP
    >>> load_onnx("age.onnx").predict(["me.jpg"])  # doctest: +SKIP
    array([31.4])
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No such model file: {path!r}.")
    try:
        runner = OnnxRunner(path)
    except Exception as exc:  # onnxruntime's own errors have no common base class
        if isinstance(exc, ImportError):
            raise
        raise ModelFileError(f"{path!r} is not a readable ONNX model ({exc}).") from None
    metadata = runner.session.get_modelmeta().custom_metadata_map
    kind = EXPORTED.get(metadata.get("sklearn_age_estimator"))
    if kind is None:
        raise ModelFileError(
            f"{path!r} is an ONNX model but not one that sklearn_age.export_onnx wrote "
            f"(its metadata names no sklearn-age estimator; known: {sorted(EXPORTED)})."
        )
    return kind(runner, path, metadata, batch_size)
