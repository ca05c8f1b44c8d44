"""sklearn-age: scikit-learn estimators for age from face photos."""

from .datasets import load_image_folder, load_utkface
from .embedding import FaceEmbedder
from .estimators import AgeClassifier, AgeGenderEstimator, AgeRegressor, GenderClassifier
from .faces import FaceCropper, predict_faces
from .images import ImageLoader, ImageLoadError, read_image
from .ranges import AgeRanges
from .serialization import ModelFileError, export_onnx, load_model, save_model

__version__ = "0.1.0"

__all__ = [
    "AgeClassifier",
    "AgeGenderEstimator",
    "AgeRanges",
    "AgeRegressor",
    "FaceCropper",
    "FaceEmbedder",
    "GenderClassifier",
    "ImageLoadError",
    "ImageLoader",
    "ModelFileError",
    "export_onnx",
    "load_image_folder",
    "load_model",
    "load_utkface",
    "predict_faces",
    "read_image",
    "save_model",
]
