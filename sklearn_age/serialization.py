"""Safe model files (no pickle) and ONNX export.

A model file (``.skage`` by convention) is a zip archive of plain data:

- ``config.json``: the format version, the sklearn-age version, the estimator's class
  name, its parameters and its fitted attributes (numpy arrays, numbers, age ranges);
- ``weights.safetensors``: the network's tensors, in the safetensors format;
- ``history.json``: skorch's training history (losses per epoch), when it is JSON.

Loading one reads data only: the class is looked up by name in
:data:`sklearn_age.estimators.ESTIMATORS` and the network is rebuilt by the estimator's
own code (``_rebuild_net``, the one seam between estimators and files), so a file from
a stranger cannot run code, unlike a pickle or joblib file. ONNX export runs the same
output layers as ``predict`` (``FaceModel.predict``).
"""

import copy
import json
import os
import tempfile
import warnings
import zipfile
import zlib

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors
from skorch.history import History
from sklearn.utils.validation import check_is_fitted

from .batching import batches
from .estimators import ESTIMATORS
from .exceptions import ModelFileError
from .inference import Predictions
from .quantization import CALIBRATION_BATCH, quantize_int8
from .ranges import AgeRanges

#: Version of the model file layout; files of another version are refused.
FORMAT_VERSION = 1

#: Parameters added to the estimators after files of this format were first written,
#: each with the value that a file without it implies (the behaviour before it; the
#: label distribution's spread was a fixed 2 years until it became a parameter).
_PARAMS_ADDED_SINCE = {"age_loss": "absolute_error", "age_spread": 2.0,
                       "age_spread_per_year": 0.0}

#: ONNX opset of exported graphs.
ONNX_OPSET = 18

_FORMAT_NAME = "sklearn-age model"
_CONFIG, _WEIGHTS, _HISTORY = "config.json", "weights.safetensors", "history.json"

#: Parameters that only steer training and may be saved as None when they are not
#: data (callback objects, a RandomState instance), with a warning.
_TRAINING_ONLY_PARAMS = ("callbacks", "random_state")


# -- JSON form of parameters and fitted attributes ------------------------------------
def _encode(value):
    """``value`` as JSON data; tagged objects keep numpy types, tuples and dict keys exact.

    Raises
    ------
    TypeError
        If ``value`` holds anything but None, bools, numbers, strings, numpy arrays and
        scalars, lists, tuples, dicts and :class:`~sklearn_age.AgeRanges`.
    """
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufUO":
            raise TypeError(f"cannot store a numpy array of dtype {value.dtype}")
        return {"__type__": "ndarray", "dtype": value.dtype.str, "shape": list(value.shape),
                "data": _encode(value.ravel().tolist())}
    if isinstance(value, np.generic):
        return {"__type__": "scalar", "dtype": value.dtype.str, "data": _encode(value.item())}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, tuple):
        return {"__type__": "tuple", "data": [_encode(item) for item in value]}
    if isinstance(value, dict):
        return {"__type__": "dict",
                "data": [[_encode(key), _encode(item)] for key, item in value.items()]}
    if isinstance(value, AgeRanges):
        return {"__type__": "AgeRanges", "data": value.lower.tolist()}
    raise TypeError(f"cannot store a {type(value).__name__}")


def _decode(data):
    """Inverse of :func:`_encode`."""
    if isinstance(data, list):
        return [_decode(item) for item in data]
    if not isinstance(data, dict):
        return data
    kind, content = data["__type__"], _decode(data["data"])
    if kind == "ndarray":
        return np.array(content, dtype=np.dtype(data["dtype"])).reshape(data["shape"])
    if kind == "scalar":
        return np.dtype(data["dtype"]).type(content)
    if kind == "tuple":
        return tuple(content)
    if kind == "dict":
        return {key: item for key, item in content}
    if kind == "AgeRanges":
        return AgeRanges(content)
    raise ValueError(f"unknown tag {kind!r}")


def _encode_params(estimator):
    """``get_params()`` as JSON; training-only objects become None, with a warning.

    A path (such as ``checkpoint_dir``) is saved as its string.
    """
    encoded = {}
    for name, value in estimator.get_params(deep=False).items():
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        try:
            encoded[name] = _encode(value)
        except TypeError as exc:
            if name not in _TRAINING_ONLY_PARAMS:
                raise ValueError(f"Cannot save parameter {name}={value!r}: {exc}.") from exc
            warnings.warn(
                f"{name}={value!r} is not data and is saved as {name}=None; the loaded "
                f"model predicts the same, but a refit would run without these {name}.",
                UserWarning, stacklevel=4,
            )
            encoded[name] = None
    return encoded


def _is_fitted_attribute(name):
    """Public names that end in ``_``, except the network ``net_``."""
    return name.endswith("_") and not name.startswith("_") and name != "net_"


def _fitted_attributes(estimator):
    return {name: value for name, value in vars(estimator).items()
            if _is_fitted_attribute(name)}


def _encode_attributes(estimator):
    encoded = {}
    for name, value in _fitted_attributes(estimator).items():
        try:
            encoded[name] = _encode(value)
        except TypeError as exc:
            raise ValueError(f"Cannot save the fitted attribute {name}: {exc}.") from exc
    return encoded


def _encode_history(net):
    """skorch's history as JSON text, or None (with a warning) if it holds other objects."""
    try:
        return json.dumps(net.history.to_list(), default=_numpy_scalar)
    except TypeError as exc:
        warnings.warn(f"The training history is not saved ({exc}); the model is.",
                      UserWarning, stacklevel=3)
        return None


def _numpy_scalar(value):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")


# -- saving ---------------------------------------------------------------------------
def _check_estimator(estimator):
    """The estimator must be one of ours (not a subclass) and fitted."""
    if type(estimator) not in ESTIMATORS.values():
        raise TypeError(
            f"Only sklearn_age estimators ({', '.join(ESTIMATORS)}) can be saved or "
            f"exported this way, not {type(estimator).__name__}. Other estimators can be "
            "saved with joblib (loading such files runs code: trusted sources only)."
        )
    check_is_fitted(estimator, "net_")


def _package_version():
    from . import __version__  # here: the package imports this module first

    return __version__


def _config(estimator):
    return {
        "format": _FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "sklearn_age_version": _package_version(),
        "estimator": type(estimator).__name__,
        "n_outputs": estimator._n_outputs(),
        "params": _encode_params(estimator),
        "attributes": _encode_attributes(estimator),
    }


def _weights(estimator, float16):
    """The network's tensors as safetensors bytes (contiguous CPU copies), floating-point
    ones in float16 if asked."""
    state = estimator.net_.module_.state_dict()
    return save_tensors({
        key: (tensor.half() if float16 and tensor.is_floating_point() else tensor)
        .detach().cpu().contiguous()
        for key, tensor in state.items()
    })


def save_model(estimator, path, *, float16=False):
    """Save a fitted estimator to a model file that is safe to share (no pickle).

    The file (``.skage`` by convention) is a zip archive of JSON (class name,
    parameters, fitted attributes, training history) and the network's weights in the
    safetensors format; :func:`load_model` reads it back without running any code from
    it. The optimizer state is not saved: the file is for prediction (a new ``fit``
    starts over anyway).

    Parameters
    ----------
    estimator : AgeRegressor, AgeClassifier, GenderClassifier or AgeGenderEstimator
        A fitted sklearn-age estimator.
    path : str or os.PathLike
        Where to write the file; an existing file is replaced.
    float16 : bool, default=False
        Store the weights in float16: half the file size. Loading turns them back into
        float32; predictions move by a small fraction of a year (the shipped models
        are stored so).

    Raises
    ------
    TypeError
        If ``estimator`` is not a sklearn-age estimator.
    sklearn.exceptions.NotFittedError
        If it is not fitted.
    ValueError
        If a parameter or fitted attribute is not data that JSON can hold.

    Warns
    -----
    UserWarning
        When ``callbacks`` (or a ``RandomState`` instance as ``random_state``) are
        saved as None, since objects cannot be saved safely, and when the training
        history holds values that are not JSON and is left out.

    See Also
    --------
    load_model : Read the file back.
    export_onnx : Export the network for ONNX runtimes.

    Examples
    --------
    >>> from sklearn_age import AgeRegressor, load_model, save_model
    >>> reg = AgeRegressor(max_epochs=6).fit(faces.paths, faces.age)  # doctest: +SKIP
    >>> save_model(reg, "age.skage")  # doctest: +SKIP
    >>> load_model("age.skage").predict(["me.jpg"])  # doctest: +SKIP
    array([31.4])
    """
    _check_estimator(estimator)
    config = _config(estimator)
    weights = _weights(estimator, float16)
    history = _encode_history(estimator.net_)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_CONFIG, json.dumps(config, indent=1))
        archive.writestr(_WEIGHTS, weights, compress_type=zipfile.ZIP_STORED)
        if history is not None:
            archive.writestr(_HISTORY, history)


# -- loading --------------------------------------------------------------------------
def _read(archive, name, path):
    """The bytes of member ``name``; a missing or damaged member is a ModelFileError."""
    try:
        return archive.read(name)
    except KeyError as exc:
        raise ModelFileError(
            f"{path!r} is not a sklearn-age model file: it has no {name}."
        ) from exc
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise ModelFileError(f"{path!r} is damaged: {name} cannot be read ({exc}).") from exc


def _read_json(archive, name, path):
    try:
        return json.loads(_read(archive, name, path))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path!r}: {name} is not valid JSON ({exc}).") from exc


def _read_config(archive, path):
    config = _read_json(archive, _CONFIG, path)
    if not isinstance(config, dict) or config.get("format") != _FORMAT_NAME:
        raise ModelFileError(f"{path!r} is not a sklearn-age model file.")
    if config.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{path!r} has model format version {config.get('format_version')!r} (written "
            f"by sklearn-age {config.get('sklearn_age_version')}); this sklearn-age reads "
            f"version {FORMAT_VERSION}. Load it with the sklearn-age version that wrote it."
        )
    return config


def _read_weights(archive, path):
    try:
        return load_tensors(_read(archive, _WEIGHTS, path))
    except SafetensorError as exc:
        raise ModelFileError(
            f"{path!r}: {_WEIGHTS} is not a valid safetensors file ({exc}); refusing it."
        ) from exc


def _read_history(archive, path):
    if _HISTORY not in archive.namelist():
        return None
    return History(_read_json(archive, _HISTORY, path))


def _read_archive(path):
    """The config, the weights and the history (or None) in the model file ``path``."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise ModelFileError(
            f"{path!r} is not a sklearn-age model file, or it is truncated: it is not a "
            "zip archive. Pickle and joblib files load with joblib.load, and only from "
            "trusted sources."
        ) from exc
    with archive:
        return (_read_config(archive, path), _read_weights(archive, path),
                _read_history(archive, path))


def _new_estimator(config, path):
    """An estimator of the saved class with the saved parameters and fitted attributes.

    Its network ``net_`` is still missing.
    """
    name = config.get("estimator")
    if not isinstance(name, str) or name not in ESTIMATORS:
        raise ModelFileError(
            f"{path!r} holds a {name!r}, which is not an estimator this sklearn-age can "
            f"load ({', '.join(ESTIMATORS)})."
        )
    cls = ESTIMATORS[name]
    try:
        params = {key: _decode(value) for key, value in config["params"].items()}
        attributes = {key: _decode(value) for key, value in config["attributes"].items()}
        implied = {key: value for key, value in _PARAMS_ADDED_SINCE.items()
                   if key in cls._get_param_names()}
        estimator = cls(**{**implied, **params})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"{path!r}: the {name} in {_CONFIG} is invalid ({exc}).") from exc
    wrong = [key for key in attributes if not _is_fitted_attribute(key)]
    if wrong:
        raise ModelFileError(f"{path!r}: {_CONFIG} sets {wrong[0]!r}, not a fitted attribute.")
    for key, value in attributes.items():
        setattr(estimator, key, value)
    return estimator


def _load_net(estimator, config, weights, path):
    """The estimator's skorch net, rebuilt as ``config`` describes, with ``weights``."""
    name = config["estimator"]
    try:
        n_outputs = estimator._n_outputs()
        if config.get("n_outputs") != n_outputs:
            raise ValueError(f"it gives {config.get('n_outputs')!r} outputs, the fitted "
                             f"attributes {n_outputs}")
        return estimator._rebuild_net(weights)
    except (AttributeError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(
            f"{path!r}: the weights do not fit the {name} network described in {_CONFIG} "
            f"({exc})."
        ) from exc


def load_model(path, *, device=None):
    """Load an estimator saved by :func:`save_model`.

    Only data is read: the estimator class is looked up by name among sklearn-age's
    estimators, the network is rebuilt by the estimator's own code and its weights are
    read from safetensors. No pickle is involved, so files from others are safe to load.

    Parameters
    ----------
    path : str or os.PathLike
        A model file written by :func:`save_model`.
    device : str or None, default=None
        Torch device to load the network onto, such as ``"cpu"`` for a model trained on
        a GPU; None keeps the saved ``device`` parameter.

    Returns
    -------
    estimator : AgeRegressor, AgeClassifier, GenderClassifier or AgeGenderEstimator
        The fitted estimator; ``get_params()`` is what was saved (``device`` aside).

    Raises
    ------
    ModelFileError
        If the file is truncated or damaged, is not a sklearn-age model file (a joblib
        or pickle file, say), or has another format version. The message names the file.

    See Also
    --------
    save_model : Write such a file.

    Examples
    --------
    >>> from sklearn_age import load_model
    >>> model = load_model("age.skage", device="cpu")  # doctest: +SKIP
    >>> model.predict(["me.jpg"])  # doctest: +SKIP
    array([31.4])
    """
    path = os.fspath(path)
    config, weights, history = _read_archive(path)
    estimator = _new_estimator(config, path)
    if device is not None:
        estimator.set_params(device=device)
    estimator.net_ = _load_net(estimator, config, weights, path)
    if history is not None:
        estimator.net_.history = history
    return estimator


# -- ONNX export ------------------------------------------------------------------------
def _example_input(estimator):
    """The graph's input name and an example batch (two samples, so the batch is free)."""
    if estimator.backbone is None:
        return "features", torch.zeros(2, estimator.n_features_in_)
    size = estimator.img_size
    return "images", torch.zeros(2, size, size, 3, dtype=torch.uint8)


def _require_onnxscript():
    try:
        import onnxscript  # noqa: F401  (torch's ONNX exporter needs it)
    except ImportError as exc:
        raise ImportError(
            'export_onnx needs onnxscript: pip install "sklearn-age[export]"'
        ) from exc


def _metadata(estimator, quantized):
    """Strings for the ONNX model's metadata: class, version, image size, class labels,
    and whether the graph is int8."""
    metadata = {"sklearn_age_estimator": type(estimator).__name__,
                "sklearn_age_version": _package_version(),
                "quantized": "int8" if quantized else "no"}
    if estimator.backbone is not None:
        metadata["img_size"] = str(estimator.img_size)
    for name, value in _fitted_attributes(estimator).items():
        if name.endswith("classes_"):
            metadata[name[:-1]] = json.dumps(value.tolist())
    return metadata


def export_onnx(estimator, path, *, quantize=False, calibration=None):
    """Export a fitted estimator's network as a self-contained ONNX model.

    The graph takes a batch of ``uint8`` RGB images of shape ``(n, img_size, img_size,
    3)``, as :class:`~sklearn_age.ImageLoader` with ``size=img_size`` returns them, and
    does everything else itself: normalization, the network, the mirrored-image
    average when ``flip_test=True``, and the output layers of ``predict`` (float64).
    Its outputs are ``"age"``, years clipped to 0-120 (:class:`AgeRegressor`), ``"proba"``, class
    probabilities whose columns follow ``classes_`` (:class:`AgeClassifier`,
    :class:`GenderClassifier`), or both (:class:`AgeGenderEstimator`: ``"proba"`` is
    then the gender's, columns following ``gender_classes_``). The batch dimension is
    free. A model trained with ``backbone=None`` takes a float32 input ``"features"`` of
    shape ``(n, n_features_in_)`` instead.

    The model's metadata holds the estimator's class name, ``img_size`` and the class
    labels as JSON lists, under ``"classes"`` (or ``"gender_classes"``):
    :func:`~sklearn_age.load_onnx` reads them to predict with the file, without PyTorch.

    Parameters
    ----------
    estimator : AgeRegressor, AgeClassifier, GenderClassifier or AgeGenderEstimator
        A fitted sklearn-age estimator.
    path : str or os.PathLike
        Where to write the ``.onnx`` file (weights included; opset 18).
    quantize : bool, default=False
        Write an int8 graph (onnxruntime's static quantization, per channel, QDQ
        format): about 1.2x faster on the CPU and a quarter of the size, for +0.02
        years of MAE on the core benchmark. The metadata's ``"quantized"`` says
        ``"int8"``.
    calibration : list of str or ndarray of uint8 images, default=None
        Faces on which ``quantize=True`` measures the range of each activation; a few
        hundred like those the model will see (its training faces, say). Required
        with ``quantize=True``.

    Raises
    ------
    ImportError
        If the ``export`` extra (``onnxscript``) is not installed.
    ValueError
        If ``quantize=True`` comes without ``calibration``.
    TypeError
        If ``estimator`` is not a sklearn-age estimator.
    sklearn.exceptions.NotFittedError
        If it is not fitted.

    See Also
    --------
    save_model : Save the estimator itself, safely.
    load_onnx : Predict with the exported file.

    Examples
    --------
    >>> import onnxruntime  # doctest: +SKIP
    >>> from sklearn_age import ImageLoader, export_onnx
    >>> export_onnx(reg, "age.onnx")  # doctest: +SKIP
    >>> session = onnxruntime.InferenceSession("age.onnx")  # doctest: +SKIP
    >>> images = ImageLoader(size=reg.img_size).fit_transform(["me.jpg"])  # doctest: +SKIP
    >>> session.run(["age"], {"images": images})[0]  # doctest: +SKIP
    array([31.4])
    """
    _check_estimator(estimator)
    _require_onnxscript()
    if quantize:
        calibration = _check_calibration(estimator, calibration)
    module = copy.deepcopy(estimator.net_.module_).cpu()
    module.flip_average = estimator.flip_test and estimator.backbone is not None
    graph = Predictions(module).eval()
    input_name, example = _example_input(estimator)
    program = torch.onnx.export(
        graph, (example,), dynamo=True, input_names=[input_name],
        output_names=list(module.outputs), dynamic_shapes=({0: torch.export.Dim("batch")},),
        opset_version=ONNX_OPSET, external_data=False, verbose=False,
    )
    metadata = _metadata(estimator, quantized=bool(quantize))
    program.model.metadata_props.update(metadata)
    if not quantize:
        program.save(os.fspath(path), external_data=False)
        return
    size = None if estimator.backbone is None else estimator.img_size
    with tempfile.TemporaryDirectory() as folder:
        float32 = os.path.join(folder, "float32.onnx")
        program.save(float32, external_data=False)
        quantize_int8(float32, os.fspath(path), input_name,
                      batches(calibration, size, CALIBRATION_BATCH), metadata)


def _check_calibration(estimator, calibration):
    """The calibration faces, checked as the estimator checks its input."""
    if calibration is None:
        raise ValueError(
            "quantize=True needs calibration faces: pass calibration= a few hundred "
            "photos (paths or uint8 images) like those the model will see, such as "
            "training faces."
        )
    return estimator._check_X(calibration, reset=False)
