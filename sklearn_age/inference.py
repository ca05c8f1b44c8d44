"""The prediction engine: every prediction of a fitted estimator runs here.

The network ends in its output layers (``FaceModel.predict``); this module runs that
graph over batches of photos (:mod:`sklearn_age.batching` decodes the next batches in a
thread pool while the network works on the current one, so that memory holds a few
batches at most and results keep the order of the photos).

Two engines run the graph: PyTorch, and onnxruntime, to which the graph is exported
once per fitted network, in memory (it is never pickled nor saved). On the CPU,
onnxruntime runs EfficientNet-Lite0's depthwise convolutions much faster than PyTorch.
The estimators' ``engine`` parameter chooses: ``"auto"`` takes onnxruntime for an
image model on the CPU (once a network has predicted a few hundred images, so that
building the graph pays off) and PyTorch otherwise; if onnxruntime is missing or
cannot run the graph, prediction goes on in PyTorch after one warning.
"""

import copy
import io
import threading
import warnings
import weakref

import numpy as np
import torch
from torch import nn

from .batching import predict_in_batches
from .onnx_model import OnnxRunner

#: Values of the estimators' ``engine`` parameter.
ENGINES = ("auto", "onnxruntime", "torch")

#: With ``engine="auto"``, the images a network predicts with PyTorch before its
#: onnxruntime graph is built: building it costs about as much as PyTorch predicting
#: this many single photos, so a few calls stay quick and long runs get the fast engine.
ONNX_AFTER_IMAGES = 256

_BUILD_LOCK = threading.Lock()

#: The engine of each fitted network (a skorch net), with the parameters it was built for.
_ENGINES = weakref.WeakKeyDictionary()


class Predictions(nn.Module):
    """A ``FaceModel``'s named predictions as a tuple: the graph that ONNX holds."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return tuple(self.model.predict(x).values())


class TorchEngine:
    """Runs a ``FaceModel``'s predictions in PyTorch, on its device."""

    name = "torch"
    workers = 1  # PyTorch spreads each batch over the cores itself

    def __init__(self, module, device, flip_average):
        self.module, self.device, self.flip_average = module, device, flip_average

    def __call__(self, batch):
        """Named predictions (numpy arrays) for a numpy batch."""
        self.module.eval()
        self.module.flip_average = self.flip_average
        with torch.no_grad():
            outputs = self.module.predict(torch.from_numpy(batch).to(self.device))
        return {name: values.cpu().numpy() for name, values in outputs.items()}


class OnnxEngine(OnnxRunner):
    """Runs a ``FaceModel``'s predictions in onnxruntime, from a graph exported in memory
    (one batch per core at once, as :class:`~sklearn_age.onnx_model.OnnxRunner` does).

    Raises
    ------
    ImportError
        If onnxruntime is not installed.
    Exception
        Whatever the export or onnxruntime raise when they cannot handle the graph.
    """

    name = "onnxruntime"

    def __init__(self, module, example, input_name, flip_average):
        import onnxruntime  # noqa: F401  (missing: PyTorch takes over, with a warning)

        module = copy.deepcopy(module).cpu().eval()
        module.flip_average = flip_average
        example = torch.from_numpy(example)
        fix_same_padding(module, example)
        graph = io.BytesIO()
        with warnings.catch_warnings():
            # The TorchScript-based exporter: about 20x quicker to build than the dynamo
            # one, which export_onnx uses for files; deprecated in torch 2.9.
            warnings.simplefilter("ignore", DeprecationWarning)
            # Its notes on the fixed paddings' Slice nodes, which onnxruntime folds.
            warnings.filterwarnings("ignore", "Constant folding", UserWarning)
            torch.onnx.export(
                Predictions(module), (example,), graph, dynamo=False,
                input_names=[input_name], output_names=list(module.outputs),
                dynamic_axes={input_name: {0: "batch"}}, opset_version=17,
            )
        super().__init__(graph.getvalue())


def fix_same_padding(module, example):
    """Fix the padding of timm's "same"-padded convolutions for the example's image size.

    ``tf_`` backbones (the default ``tf_efficientnet_lite0`` among them) pad their
    strided convolutions by an amount computed from the input's shape at every call;
    the TorchScript exporter records that as shape arithmetic, which made onnxruntime
    run the graph 1.5x slower. An engine's graph only ever takes images of one size, so
    the padding is computed once, by timm's export-friendly ``Conv2dSameExport``.
    """
    from timm.layers.conv2d_same import Conv2dSame, Conv2dSameExport

    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, Conv2dSame):
                fixed = Conv2dSameExport(
                    child.in_channels, child.out_channels, child.kernel_size, child.stride,
                    dilation=child.dilation, groups=child.groups, bias=child.bias is not None,
                )
                fixed.load_state_dict(child.state_dict())
                setattr(parent, name, fixed)
    with torch.no_grad():
        module.predict(example)  # each Conv2dSameExport fixes its padding on this call


def choose_engine(engine, device, image_model):
    """The engine ``"auto"`` means: onnxruntime for an image model on the CPU."""
    if engine != "auto":
        return engine
    cpu = torch.device(device).type == "cpu"
    return "onnxruntime" if cpu and image_model else "torch"


def onnx_engine_or_torch(estimator):
    """An :class:`OnnxEngine` of the estimator's network; PyTorch's, with a warning, if
    onnxruntime is missing or cannot run it."""
    try:
        return OnnxEngine(estimator.net_.module_, _example(estimator),
                          _input_name(estimator), _flip_average(estimator))
    except Exception as exc:  # any failure of onnxruntime or of the export
        warnings.warn(
            f"onnxruntime cannot run this model ({type(exc).__name__}: {exc}); "
            "predicting with PyTorch instead. Set engine='torch' to silence this.",
            UserWarning, stacklevel=5,
        )
        return torch_engine(estimator)


def torch_engine(estimator):
    """A :class:`TorchEngine` of the estimator's network."""
    net = estimator.net_
    return TorchEngine(net.module_, net.device, _flip_average(estimator))


def _flip_average(estimator):
    return estimator.flip_test and estimator.backbone is not None


def _input_name(estimator):
    return "features" if estimator.backbone is None else "images"


def _example(estimator):
    """An example batch of two (so that the exported batch size stays free)."""
    if estimator.backbone is None:
        return np.zeros((2, estimator.n_features_in_), dtype=np.float32)
    size = estimator.img_size
    return np.zeros((2, size, size, 3), dtype=np.uint8)


class _Entry:
    """A network's engine, the parameters it was built for, and the images predicted."""

    def __init__(self, key):
        self.key, self.engine, self.seen, self.tried_onnx = key, None, 0, False


def engine_of(estimator, n_images=0):
    """The engine to predict ``n_images`` more images with ``estimator``.

    Built on first use and kept until the network or the parameters that shape it
    (``engine``, ``flip_test``, ``device``) change. With ``engine="auto"``, PyTorch
    predicts until the network has seen :data:`ONNX_AFTER_IMAGES` images, then the
    onnxruntime graph is built (about a second) and used from then on.

    Engines are kept here, by network, not in the estimator: prediction leaves the
    estimator as it was (as scikit-learn asks), and pickles never hold a session.
    """
    key = (estimator.engine, estimator.flip_test, estimator.device)
    wanted = choose_engine(estimator.engine, estimator.device, estimator.backbone is not None)
    with _BUILD_LOCK:  # threads predicting at once build it once
        entry = _ENGINES.get(estimator.net_)
        if entry is None or entry.key != key:
            entry = _ENGINES[estimator.net_] = _Entry(key)
        entry.seen += n_images
        due = estimator.engine != "auto" or entry.seen >= ONNX_AFTER_IMAGES
        if wanted == "onnxruntime" and due and not entry.tried_onnx:
            entry.tried_onnx = True
            entry.engine = onnx_engine_or_torch(estimator)
        if entry.engine is None:
            entry.engine = torch_engine(estimator)
        return entry.engine


def forget_engine(estimator):
    """Drop the estimator's engine: the next prediction starts over."""
    with _BUILD_LOCK:
        _ENGINES.pop(estimator.net_, None)


def predict_outputs(estimator, X):
    """The named predictions of ``estimator``'s network for checked input ``X``.

    Parameters
    ----------
    estimator : fitted sklearn-age estimator
    X : ndarray or list
        As the estimator's input check returns it: paths (a 1-D object array),
        ``uint8`` images, or a float feature matrix.

    Returns
    -------
    predictions : dict of str to ndarray
        Each output layer's predictions (float64), one row per sample of ``X``.
    """
    engine = engine_of(estimator, len(X))
    size = None if estimator.backbone is None else estimator.img_size
    return predict_in_batches(engine, X, size, estimator.batch_size, engine.workers)
