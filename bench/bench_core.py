"""Core benchmark: the default AgeRegressor on a fixed 80/20 split of the shared faces.

Prints MAE, CS@5, MAE per life stage, seconds per epoch and prediction images per
second, and the command that produced them.

Usage::

    python bench/bench_core.py [--data DIR] [--param NAME=VALUE ...] [--save MODEL.skage]

``--save`` keeps the fitted model (a model file) for the speed benchmark.
"""

import argparse
import os
import platform
import sys
import time
import warnings

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch

from sklearn_age import AgeRegressor, ImageLoader, load_utkface, save_model
from sklearn_age.cli import parse_param
from sklearn_age.datasets import default_data_dir
from sklearn_age.metrics import cumulative_score, mae_per_range


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=default_data_dir())
    parser.add_argument("--param", action="append", default=[], type=parse_param)
    parser.add_argument("--save", help="write the fitted model to this model file")
    args = parser.parse_args()

    train, test = core_split(args.data)
    model = AgeRegressor(**{"random_state": 0, "verbose": 1, **dict(args.param)})
    print(f"train {len(train.paths)} / test {len(test.paths)} faces; {model!r}", flush=True)

    start = time.perf_counter()
    model.fit(train.paths, train.age)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    predicted = model.predict(test.paths)
    predict_seconds = time.perf_counter() - start

    print("\n--- results ---")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    print(f"MAE: {np.mean(np.abs(predicted - test.age)):.3f} years")
    print(f"CS@5: {cumulative_score(test.age, predicted, 5):.3f}")
    print(f"fit: {fit_seconds:.0f} s for {model.n_epochs_} epochs "
          f"({fit_seconds / model.n_epochs_:.1f} s per epoch)")
    print(f"predict: {len(test.paths) / predict_seconds:.0f} images/s "
          f"(from JPEG files, batch {model.batch_size}, flip_test={model.flip_test})")
    for label, (mae, count) in mae_per_range(test.age, predicted).items():
        print(f"  MAE {label:>6}: {mae:6.2f}  (n={count})")
    if args.save:
        save_model(model, args.save)
        print(f"model saved to {args.save}")


def core_split(data):
    """Training and test faces of the core split (80/20, ``random_state=0``).

    Each is a ``Bunch`` of ``paths``, ``age``, ``gender`` and ``race`` arrays: the faces
    every benchmark compares on.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        faces = load_utkface(data)
    train_index, test_index = train_test_split(
        np.arange(len(faces.paths)), test_size=0.2, random_state=0
    )
    columns = ("paths", "age", "gender", "race")
    return (Bunch(**{key: faces[key][index] for key in columns})
            for index in (train_index, test_index))


def aligned_dir(data):
    """The aligned sample's folder, beside the shared faces ``data``."""
    return os.path.join(os.path.dirname(os.path.abspath(data)), "utkface_aligned_sample")


def preload_images(paths, size, n_jobs=-1):
    """Decode ``paths`` once, in parallel, to ``uint8`` images ``(n, size, size, 3)``.

    The pixels are those a fit on the paths decodes per batch (both go through
    :func:`sklearn_age.read_image`); fitting on them spares the decoding of every epoch,
    the bottleneck when a GPU trains.
    """
    chunks = np.array_split(np.asarray(paths, dtype=object), 4 * (os.cpu_count() or 1))
    images = Parallel(n_jobs=n_jobs)(
        delayed(ImageLoader(size=size).fit_transform)(chunk) for chunk in chunks if len(chunk)
    )
    return np.concatenate(images)


if __name__ == "__main__":
    main()
