"""The prediction engine: every prediction of a fitted estimator runs here.

The network ends in its output layers (``FaceModel.predict``); this module runs that
graph over batches of photos, decoding the next batch in a thread pool while the
network works on the current one, so that memory holds a few batches at most and
results keep the order of the photos.

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
import os
import threading
import warnings
import weakref
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch import nn

from .images import holds_paths, read_image_at, resize_images

#: Values of the estimators' ``engine`` parameter.
ENGINES = ("auto", "onnxruntime", "torch")

#: With ``engine="auto"``, the images a network predicts with PyTorch before its
#: onnxruntime graph is built: building it costs about as much as PyTorch predicting
#: this many single photos, so a few calls stay quick and long runs get the fast engine.
ONNX_AFTER_IMAGES = 256

#: Batches decoded ahead of the one the network runs.
PREFETCH_BATCHES = 2

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

    def __init__(self, module, device, flip_average):
        self.module, self.device, self.flip_average = module, device, flip_average

    def __call__(self, batch):
        """Named predictions (numpy arrays) for a numpy batch."""
        self.module.eval()
        self.module.flip_average = self.flip_average
        with torch.no_grad():
            outputs = self.module.predict(torch.from_numpy(batch).to(self.device))
        return {name: values.cpu().numpy() for name, values in outputs.items()}


class OnnxEngine:
    """Runs a ``FaceModel``'s predictions in onnxruntime, from a graph exported in memory.

    Raises
    ------
    ImportError
        If onnxruntime is not installed.
    Exception
        Whatever the export or onnxruntime raise when they cannot handle the graph.
    """

    name = "onnxruntime"

    def __init__(self, module, example, input_name, flip_average):
        import onnxruntime

        module = copy.deepcopy(module).cpu().eval()
        module.flip_average = flip_average
        graph = io.BytesIO()
        with warnings.catch_warnings():
            # The TorchScript-based exporter: about 8x quicker to build than the dynamo
            # one, which export_onnx uses for files; deprecated in torch 2.9.
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                Predictions(module), (torch.from_numpy(example),), graph, dynamo=False,
                input_names=[input_name], output_names=list(module.outputs),
                dynamic_axes={input_name: {0: "batch"}}, opset_version=17,
            )
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only
        self.session = onnxruntime.InferenceSession(
            graph.getvalue(), options, providers=["CPUExecutionProvider"]
        )
        self.input_name = input_name
        self.output_names = list(module.outputs)

    def __call__(self, batch):
        """Named predictions (numpy arrays) for a numpy batch."""
        outputs = self.session.run(self.output_names, {self.input_name: batch})
        return dict(zip(self.output_names, outputs))


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
    parts = [engine(batch) for batch in batches(X, size, estimator.batch_size)]
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def batches(X, size, batch_size):
    """``X`` in batches ready for the network, in order.

    Paths are decoded to ``uint8`` images of ``size`` by a thread pool, a few batches
    ahead of the one being used; images are resized to ``size``; features (``size``
    None) are cast to float32.
    """
    if holds_paths(X):
        yield from _decoded_batches(X, size, batch_size)
        return
    for start in range(0, len(X), batch_size):
        part = X[start:start + batch_size]
        part = part.astype(np.float32, copy=False) if size is None else resize_images(part, size)
        yield np.ascontiguousarray(part)


def _decoded_batches(paths, size, batch_size):
    """Decoded batches of ``paths``; a file that cannot be read is an ``ImageLoadError``
    naming it and its row, raised where its batch is reached."""
    starts = range(0, len(paths), batch_size)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        ahead = deque()
        for start in starts:
            rows = range(start, min(start + batch_size, len(paths)))
            ahead.append([pool.submit(read_image_at, paths, row, size) for row in rows])
            if len(ahead) > PREFETCH_BATCHES:
                yield np.stack([image.result() for image in ahead.popleft()])
        while ahead:
            yield np.stack([image.result() for image in ahead.popleft()])
