"""ONNX export benchmark: onnxruntime against the PyTorch estimator, on the CPU.

Fits the default ``AgeRegressor`` (EfficientNet-Lite0, 112 px, test-time flip) for one
epoch on a few faces (its accuracy is beside the point), exports it with
:func:`sklearn_age.export_onnx`, and prints the median latency of one image and the
images per second of batches of 64, for ``predict`` and for an onnxruntime session,
both given ``uint8`` images from ``ImageLoader``. Also prints the file sizes of the
``.skage`` model file, the ONNX file and a joblib pickle.

Usage::

    python bench/bench_onnx.py [--data DIR] [--repeats N] [--threads N]

``--threads`` sets both torch's and onnxruntime's intra-op threads (default: torch's
default, and onnxruntime's, one per core). On a busy machine one thread gives the
steadier comparison: a parallel torch operator waits for all its threads.
"""

import argparse
import os
import statistics
import tempfile
import time
import warnings

import joblib
import numpy as np
import torch

from sklearn_age import AgeRegressor, ImageLoader, export_onnx, load_utkface, save_model
from sklearn_age.datasets import default_data_dir


def median_seconds(function, repeats):
    function()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def onnxruntime_session(path, threads):
    """A CPU session with ``threads`` intra-op threads (0: onnxruntime's default)."""
    import onnxruntime  # here: it crashes at import under very long command lines

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def report(name, run, images, repeats):
    """Print the median latency of one image and the throughput of the whole batch."""
    latency = median_seconds(lambda: run(images[:1]), repeats)
    batch = median_seconds(lambda: run(images), max(repeats // 3, 1))
    print(f"{name:16s} 1 image: {1000 * latency:7.1f} ms   "
          f"batch of {len(images)}: {len(images) / batch:6.1f} images/s")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=default_data_dir())
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        faces = load_utkface(args.data)
    model = AgeRegressor(max_epochs=1, random_state=0)
    images = ImageLoader(size=model.img_size).fit_transform(faces.paths[:64])
    model.fit(images, faces.age[:64])
    with tempfile.TemporaryDirectory() as folder:
        onnx_path, skage_path = os.path.join(folder, "m.onnx"), os.path.join(folder, "m.skage")
        start = time.perf_counter()
        export_onnx(model, onnx_path)
        print(f"export_onnx: {time.perf_counter() - start:.1f} s")
        save_model(model, skage_path)
        joblib.dump(model, os.path.join(folder, "m.joblib"))
        for name in ("m.skage", "m.onnx", "m.joblib"):
            print(f"{name}: {os.path.getsize(os.path.join(folder, name)) / 1e6:.1f} MB")
        print(f"torch threads: {torch.get_num_threads()}")
        report("pytorch predict", model.predict, images, args.repeats)
        # Created after the PyTorch timings: its idle threads would compete with torch's.
        session = onnxruntime_session(onnx_path, args.threads)
    run = lambda batch: session.run(["age"], {"images": batch})[0]  # noqa: E731
    np.testing.assert_allclose(run(images), model.predict(images), atol=1e-3)
    report("onnxruntime", run, images, args.repeats)


if __name__ == "__main__":
    main()
