"""sklearn-age: scikit-learn estimators for age from face photos."""

from .datasets import load_image_folder, load_utkface
from .embedding import FaceEmbedder
from .estimators import AgeClassifier, AgeRegressor
from .images import ImageLoader, ImageLoadError, read_image
from .ranges import AgeRanges

__version__ = "0.1.0"

__all__ = [
    "AgeClassifier",
    "AgeRanges",
    "AgeRegressor",
    "FaceEmbedder",
    "ImageLoadError",
    "ImageLoader",
    "load_image_folder",
    "load_utkface",
    "read_image",
]
