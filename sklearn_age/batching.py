"""Batches for a network: photos decoded a few batches ahead, in order, in bounded memory.

Used by every prediction path, with PyTorch or onnxruntime (this module needs neither:
an exported model predicts without importing torch).
"""

import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .images import holds_paths, read_image_at, resize_images

#: Batches decoded ahead of the one the network runs.
PREFETCH_BATCHES = 2


def available_cores():
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def predict_in_batches(run, X, size, batch_size, workers=1):
    """``run`` over ``X`` in batches, its named outputs joined in the order of ``X``.

    Parameters
    ----------
    run : callable
        Takes a batch (a numpy array) and returns a dict of str to ndarray; with
        ``workers`` > 1 it is called from that many threads at once.
    X : 1-D object array of paths, uint8 images or float features
        As :func:`~sklearn_age.images.check_photos` returns them (or a feature matrix).
    size : int or None
        Side of the images the network takes; None for features.
    batch_size : int
        The largest batch; with several workers, batches are smaller when ``X`` is
        short, so that every worker gets one.
    workers : int, default=1
        Batches run at once (each ``run`` on its own thread).

    Returns
    -------
    outputs : dict of str to ndarray
        Each output, one row per sample of ``X``.
    """
    batch_size = max(1, min(batch_size, -(-len(X) // workers)))
    if workers == 1 or len(X) <= batch_size:
        parts = [run(batch) for batch in batches(X, size, batch_size)]
    else:
        parts = []
        with ThreadPoolExecutor(max_workers=workers) as pool:
            running = deque()
            for batch in batches(X, size, batch_size):
                running.append(pool.submit(run, batch))
                if len(running) >= workers:
                    parts.append(running.popleft().result())
            parts += [future.result() for future in running]
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
    with ThreadPoolExecutor(max_workers=available_cores()) as pool:
        ahead = deque()
        for start in starts:
            rows = range(start, min(start + batch_size, len(paths)))
            ahead.append([pool.submit(read_image_at, paths, row, size) for row in rows])
            if len(ahead) > PREFETCH_BATCHES:
                yield np.stack([image.result() for image in ahead.popleft()])
        while ahead:
            yield np.stack([image.result() for image in ahead.popleft()])
