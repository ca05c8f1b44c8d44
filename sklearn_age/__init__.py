"""sklearn-age: scikit-learn estimators for age from face photos.

Public names are imported on first use (PEP 562), so ``import sklearn_age`` and
``import sklearn_age.metrics`` load neither torch nor skorch nor timm.
"""

import importlib

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_MODULE_OF = {
    "AgeClassifier": "estimators",
    "AgeGenderEstimator": "estimators",
    "AgeRanges": "ranges",
    "AgeRegressor": "estimators",
    "FaceCropper": "faces",
    "FaceEmbedder": "embedding",
    "GenderClassifier": "estimators",
    "ImageLoadError": "images",
    "ImageLoader": "loader",
    "ModelFileError": "exceptions",
    "evaluate_model": "evaluation",
    "export_onnx": "serialization",
    "list_photos": "images",
    "load_faces": "datasets",
    "load_image_folder": "datasets",
    "load_model": "serialization",
    "load_onnx": "onnx_model",
    "load_pretrained": "pretrained",
    "load_utkface": "datasets",
    "predict_faces": "faces",
    "predict_photos": "prediction",
    "read_image": "images",
    "save_model": "serialization",
}

__all__ = sorted(_MODULE_OF)


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
