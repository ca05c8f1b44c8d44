"""``FaceEmbedder``: a frozen pretrained backbone as a transformer (the fast search path)."""

from numbers import Integral

import joblib
import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted, check_memory

from .images import check_photos
from .loader import ImageTransformerMixin
from .nets import DEFAULT_BACKBONE, ImageNormalizer, create_backbone
from .training import FaceDataset


def _embed(model, weights_digest, img_size, batch_size, device, X):
    """Embeddings of ``X`` (paths or images) by a frozen ``model``: ``(n, d)`` float32.

    ``weights_digest`` (a hash of the model's weights) stands for ``model`` in the cache
    key: the cache ignores ``model`` itself.
    """
    loader = torch.utils.data.DataLoader(
        FaceDataset(X, img_size=img_size), batch_size=batch_size
    )
    with torch.inference_mode():
        return np.concatenate(
            [model(images.to(device)).float().cpu().numpy() for images, _ in loader]
        )


class FaceEmbedder(ImageTransformerMixin, BaseEstimator):
    """Turn faces into embeddings with a frozen ImageNet backbone.

    Nothing is learned from the data, so embeddings can be computed once and reused by
    every candidate of a hyperparameter search: put it before
    ``AgeRegressor(backbone=None)`` in a ``Pipeline`` with ``memory=``, and give it the
    same ``memory`` so that held-out folds are embedded once too. Use it to search
    head hyperparameters fast; for the best accuracy fine-tune the whole network
    (``AgeRegressor`` with a backbone), which is far more accurate on faces.

    Parameters
    ----------
    backbone : str, default="tf_efficientnet_lite0"
        A timm model name (or ``"simple_cnn"``, untrained, mostly for tests).
    pretrained : bool or str, default=True
        As in :class:`~sklearn_age.AgeRegressor`.
    img_size : int, default=112
        Side of the images the backbone sees.
    batch_size : int, default=128
        Images per forward pass.
    memory : str, joblib.Memory or None, default=None
        Cache of embeddings, keyed by the input and the parameters above.
    device : str, default="cpu"
        Torch device.

    Attributes
    ----------
    model_ : torch.nn.Module
        Normalization and the frozen backbone, in evaluation mode.
    weights_digest_ : str
        A hash of the backbone's weights: the cache's name for the model, so that two
        embedders share cached embeddings only when their weights are the same.
    n_features_out_ : int
        Width of the embeddings.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_age import AgeRegressor, FaceEmbedder, ImageLoader
    >>> fast = make_pipeline(ImageLoader(112), FaceEmbedder(memory="cache"),
    ...                      AgeRegressor(backbone=None), memory="cache")
    """

    _parameter_constraints = {
        "backbone": [str],
        "pretrained": ["boolean", str],
        "img_size": [Interval(Integral, 16, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "memory": [None, str, HasMethods(["cache"])],
        "device": [str],
    }

    def __init__(self, backbone=DEFAULT_BACKBONE, pretrained=True, img_size=112,
                 batch_size=128, memory=None, device="cpu"):
        self.backbone = backbone
        self.pretrained = pretrained
        self.img_size = img_size
        self.batch_size = batch_size
        self.memory = memory
        self.device = device

    def fit(self, X, y=None):
        """Build the frozen backbone; nothing is learned from ``X``.

        Parameters
        ----------
        X : list of str or ndarray of shape (n, H, W, 3)
            Image paths or ``uint8`` images.
        y : None
            Ignored.

        Returns
        -------
        self : FaceEmbedder
        """
        self._validate_params()
        backbone, mean, std = create_backbone(self.backbone, self.pretrained)
        self.model_ = torch.nn.Sequential(
            ImageNormalizer(mean, std), backbone.to(memory_format=torch.channels_last)
        ).to(self.device).eval()
        self.weights_digest_ = joblib.hash(
            [tensor.cpu().numpy() for tensor in backbone.state_dict().values()]
        )
        self.n_features_out_ = backbone.num_features
        return self

    def transform(self, X):
        """Embed the faces.

        Parameters
        ----------
        X : list of str or ndarray of shape (n, H, W, 3)

        Returns
        -------
        embeddings : ndarray of shape (n, ``n_features_out_``), dtype float32
        """
        check_is_fitted(self, "model_")
        X = check_photos(X)
        embed = check_memory(self.memory).cache(_embed, ignore=["model"])
        return embed(self.model_, self.weights_digest_, self.img_size, self.batch_size,
                     self.device, X)

    def get_feature_names_out(self, input_features=None):
        """Names ``embedding0``, ``embedding1``, ..."""
        check_is_fitted(self, "model_")
        return np.array([f"embedding{i}" for i in range(self.n_features_out_)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True  # fit builds the backbone
        return tags
