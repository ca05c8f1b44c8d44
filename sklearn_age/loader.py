"""``ImageLoader``: photos decoded into a ``uint8`` array, as a scikit-learn transformer."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .images import check_photos, holds_paths, read_image_at, resize_images


class ImageTransformerMixin(TransformerMixin):
    """Tags of a transformer that takes paths or images and learns nothing from them."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = False
        return tags


class ImageLoader(ImageTransformerMixin, BaseEstimator):
    """Load image files into a ``uint8`` array, ready for the age estimators.

    Each photo is decoded once by :func:`~sklearn_age.read_image`: EXIF-rotated,
    converted to RGB, centre-cropped to a square and resized to ``size``.

    Parameters
    ----------
    size : int, default=112
        Side of the square images, in pixels.

    Attributes
    ----------
    n_features_in_ : int
        Always 1: the input is one column of paths.

    Examples
    --------
    >>> from sklearn_age import ImageLoader, load_utkface  # doctest: +SKIP
    >>> faces = load_utkface("UTKFace")  # doctest: +SKIP
    >>> ImageLoader(size=64).fit_transform(faces.paths[:2]).shape  # doctest: +SKIP
    (2, 64, 64, 3)
    """

    _parameter_constraints = {"size": [Interval(Integral, 8, None, closed="left")]}

    def __init__(self, size=112):
        self.size = size

    def fit(self, X, y=None):
        """Check the parameters and the photos; nothing is learned.

        Parameters
        ----------
        X : list of str or os.PathLike, or uint8 images
            Image paths, or images (resized), as :func:`~sklearn_age.images.check_photos` takes them.
        y : None
            Ignored.

        Returns
        -------
        self : ImageLoader
        """
        self._validate_params()
        check_photos(X)
        self.n_features_in_ = 1
        return self

    def transform(self, X):
        """Decode the images (or resize the given ones).

        Parameters
        ----------
        X : list of str or os.PathLike, or uint8 images
            Image paths, or images, as :func:`~sklearn_age.images.check_photos` takes them.

        Returns
        -------
        images : ndarray of shape (n_samples, size, size, 3), dtype uint8
        """
        check_is_fitted(self)
        photos = check_photos(X)
        if not holds_paths(photos):
            return resize_images(photos, self.size)
        images = np.empty((len(photos), self.size, self.size, 3), dtype=np.uint8)
        for row in range(len(photos)):
            images[row] = read_image_at(photos, row, self.size)
        return images
