"""Gender accuracy of model variants on the core split: the search behind the defaults.

Each ``--variant`` names an estimator class and its parameters, for example
``"AgeGenderEstimator img_size=160 loss_weights={\\"age\\":1,\\"gender\\":0.25}"``
(values are read as JSON where they parse as JSON). Each variant is fitted on the core
split (80/20, ``random_state=0``) and prints its gender accuracy with the flip test off
and on, split into children (0-12) and the rest, and its age MAE when it has an age head.

``--preload`` decodes every image once, in parallel, and fits on the arrays: the same
pixels as a fit on the paths, without the decoding of every epoch (which starves a GPU).

Usage::

    python bench/bench_gender.py --variant GenderClassifier --variant AgeGenderEstimator \\
        [--data DIR] [--param NAME=VALUE ...] [--preload]
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

from sklearn_age import AgeGenderEstimator, GenderClassifier
from sklearn_age.datasets import default_data_dir

sys.path.insert(0, os.path.dirname(__file__))
from bench_core import core_split, parse_param, preload_images  # noqa: E402

ESTIMATORS = {"AgeGenderEstimator": AgeGenderEstimator, "GenderClassifier": GenderClassifier}

#: Faces up to this age count as children in the split accuracy.
CHILD_AGE = 12


def parse_variant(text):
    """``"GenderClassifier img_size=160"`` -> ``("GenderClassifier", {"img_size": 160})``."""
    name, *settings = text.split()
    if name not in ESTIMATORS:
        raise argparse.ArgumentTypeError(f"unknown estimator {name!r}; one of {list(ESTIMATORS)}")
    params = {}
    for setting in settings:
        key, value = parse_param(setting)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        params[key] = value
    return name, params


def gender_accuracy(model, X, test):
    """Accuracy overall, on children and on the rest, and age MAE (NaN without an age head)."""
    if isinstance(model, AgeGenderEstimator):
        predicted = model.predict(X)
        ages, genders = predicted[:, 0], predicted[:, 1].astype(int)
        mae = np.mean(np.abs(ages - test.age))
    else:
        genders, mae = model.predict(X).astype(int), np.nan
    correct = genders == test.gender
    child = test.age <= CHILD_AGE
    return correct.mean(), correct[child].mean(), correct[~child].mean(), mae


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=default_data_dir())
    parser.add_argument("--variant", action="append", required=True, type=parse_variant)
    parser.add_argument("--param", action="append", default=[], type=parse_param,
                        help="parameters given to every variant (a variant's own win)")
    parser.add_argument("--preload", action="store_true",
                        help="decode the images once and fit on arrays")
    args = parser.parse_args()
    train, test = core_split(args.data)
    print(f"train {len(train.paths)} / test {len(test.paths)} faces; "
          f"{np.sum(test.age <= CHILD_AGE)} test children", flush=True)

    rows = []
    decoded = {}  # img_size -> (training images, test images), with --preload
    for name, params in args.variant:
        model = ESTIMATORS[name](**{"random_state": 0, "verbose": 1, **dict(args.param),
                                    **params})
        print(f"--- {model!r}", flush=True)
        X_train, X_test = train.paths, test.paths
        if args.preload:
            if model.img_size not in decoded:
                decoded[model.img_size] = tuple(preload_images(paths, model.img_size)
                                                for paths in (train.paths, test.paths))
            X_train, X_test = decoded[model.img_size]
        y = train.gender if name == "GenderClassifier" else np.column_stack(
            [train.age, train.gender])
        start = time.perf_counter()
        model.fit(X_train, y)
        seconds = time.perf_counter() - start
        for flip in (False, True):
            scores = gender_accuracy(model.set_params(flip_test=flip), X_test, test)
            rows.append((f"{name} {params or ''}", flip, *scores, seconds))
            print("row: " + " | ".join(str(value) for value in rows[-1]), flush=True)

    print("\n--- results ---")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {dict(args.param).get('device', 'cpu')}")
    print(f"{'variant':>60} {'flip':>5} {'gender acc':>10} {'children':>8} {'13+':>6} "
          f"{'age MAE':>7} {'fit s':>6}")
    for variant, flip, accuracy, children, adults, mae, seconds in rows:
        print(f"{variant:>60} {flip!s:>5} {accuracy:10.3f} {children:8.3f} {adults:6.3f} "
              f"{mae:7.3f} {seconds:6.0f}")


if __name__ == "__main__":
    main()
