"""Fine-tuning benchmark: from ImageNet weights against from the shipped age model.

Splits the aligned sample (``../shared/data/utkface_aligned_sample``: another crop and
other people than the shipped model's training faces) into two halves of 1,500 faces
(``random_state=0``), fits an ``AgeRegressor`` on one half and scores it on the other:
``pretrained=True`` (ImageNet) against ``pretrained="utkface"`` (the shipped model's
backbone and age head), each with the default epochs and with a quarter of them, for each seed.
Each start takes the estimator's default learning rate unless ``--lr START=VALUE`` names
one (chosen by ``bench_finetune_lr.py`` on the fine-tuning half only).
Also prints the shipped model's own MAE on the test half, without fine-tuning.

Usage::

    python bench/bench_finetune.py [--aligned DIR] [--seeds 0 1] [--epochs 16]
        [--lr shipped=2.5e-4]
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from sklearn.model_selection import train_test_split

from sklearn_age import AgeRegressor, load_pretrained, load_utkface
from sklearn_age.datasets import default_data_dir

sys.path.insert(0, os.path.dirname(__file__))
from bench_core import aligned_dir, preload_images  # noqa: E402

STARTS = {"ImageNet": True, "shipped": "utkface"}


def finetune_split(aligned):
    """The aligned sample's faces and its two halves of indices: fine-tune, test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        faces = load_utkface(aligned)
    train, test = train_test_split(np.arange(len(faces.paths)), test_size=0.5,
                                   random_state=0)
    return faces, train, test


def fit_and_score(pretrained, lr, epochs, seed, train, test):
    """Fine-tune an ``AgeRegressor`` on ``train`` (X, y); its MAE on ``test`` and fit seconds."""
    model = AgeRegressor(pretrained=pretrained, lr=lr, max_epochs=epochs, random_state=seed)
    start = time.perf_counter()
    model.fit(*train)
    seconds = time.perf_counter() - start
    X_test, y_test = test
    return np.abs(model.predict(X_test) - y_test).mean(), seconds


def start_lr(text):
    """Parse ``START=VALUE`` into a (start, learning rate) pair."""
    name, _, value = text.partition("=")
    if name not in STARTS:
        raise argparse.ArgumentTypeError(f"unknown start {name!r}; the starts are {list(STARTS)}")
    return name, float(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--aligned", default=aligned_dir(default_data_dir()))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--epochs", type=int, default=AgeRegressor().max_epochs)
    parser.add_argument("--lr", type=start_lr, action="append", default=[],
                        metavar="START=VALUE", help=f"learning rate of a start: {list(STARTS)}")
    args = parser.parse_args()
    lrs = {name: AgeRegressor().lr for name in STARTS} | dict(args.lr)

    faces, train, test = finetune_split(args.aligned)
    size = AgeRegressor().img_size
    X_train = preload_images(faces.paths[train], size)
    X_test = preload_images(faces.paths[test], size)
    y_train, y_test = faces.age[train], faces.age[test]
    print(f"aligned sample: fine-tune on {len(train)} faces, test on {len(test)}", flush=True)
    shipped = load_pretrained().predict_age(X_test)
    print(f"shipped model, not fine-tuned: MAE {np.abs(shipped - y_test).mean():.3f}")

    print("| start | lr | epochs | seed | MAE | fit seconds |")
    print("|---|---|---|---|---|---|")
    for epochs in (args.epochs, max(1, args.epochs // 4)):
        for seed in args.seeds:
            for name, pretrained in STARTS.items():
                mae, seconds = fit_and_score(pretrained, lrs[name], epochs, seed,
                                             (X_train, y_train), (X_test, y_test))
                print(f"| {name} | {lrs[name]:g} | {epochs} | {seed} | {mae:.3f} "
                      f"| {seconds:.0f} |", flush=True)
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")


if __name__ == "__main__":
    main()
