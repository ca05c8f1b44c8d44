"""Gender accuracy of model variants on the core split: the search behind the defaults.

Each ``--variant`` names an estimator class and its parameters, for example
``"AgeGenderEstimator img_size=160 loss_weights={\\"age\\":1,\\"gender\\":0.25}"``
(values are read as JSON where they parse as JSON). Each variant is fitted on the core
split (80/20, ``random_state=0``) and prints its gender accuracy with the flip test off
and on, split into children (0-12) and the rest, and its age MAE when it has an age head.

``--preload`` decodes every image once, in parallel, and fits on the arrays: the same
pixels as a fit on the paths, without the decoding of every epoch (which starves a GPU).

``--models`` fits nothing: it loads saved models (joblib files of this machine's own
benchmarks) and prints, with the flip test off, their gender accuracy per age band and
the best accuracy that any one decision threshold on the female probability reaches on
the test faces themselves: the most that recalibrating the threshold could gain.

Usage::

    python bench/bench_gender.py --variant GenderClassifier --variant AgeGenderEstimator \\
        [--data DIR] [--param NAME=VALUE ...] [--preload]
    python bench/bench_gender.py --models FILE [FILE ...] [--data DIR]
"""

import argparse
import json
import os
import sys
import time

import joblib
import numpy as np
import torch

from sklearn_age import AgeGenderEstimator, GenderClassifier
from sklearn_age.datasets import default_data_dir

sys.path.insert(0, os.path.dirname(__file__))
from bench_core import core_split, parse_param, preload_images  # noqa: E402

ESTIMATORS = {"AgeGenderEstimator": AgeGenderEstimator, "GenderClassifier": GenderClassifier}

#: Faces up to this age count as children in the split accuracy.
CHILD_AGE = 12

#: Age bands (inclusive) of the accuracy that ``--models`` prints.
AGE_BANDS = ((0, 2), (3, 5), (6, 12), (13, 19), (20, 59), (60, 120))


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


def female_probability(model, X):
    """Probability of gender label 1 (female in UTKFace) for each face."""
    if isinstance(model, AgeGenderEstimator):
        return model.predict_gender_proba(X)[:, list(model.gender_classes_).index(1)]
    return model.predict_proba(X)[:, list(model.classes_).index(1)]


def rescore(path, model, X_test, test):
    """Accuracy of a saved model per age band, and at its best threshold on these faces."""
    model.flip_test = False  # not set_params: pickles may predate newer parameters
    female = female_probability(model, X_test)

    def accuracy(threshold, faces=slice(None)):
        return np.mean((female[faces] > threshold) == test.gender[faces])

    best = max(np.linspace(0.05, 0.95, 91), key=accuracy)
    print(f"{path}: accuracy {accuracy(0.5):.3f}; "
          f"best threshold {best:.2f} on the test faces gives {accuracy(best):.3f}")
    for low, high in AGE_BANDS:
        band = (test.age >= low) & (test.age <= high)
        print(f"  ages {low:>2}-{high:<3} {band.sum():4d} faces: "
              f"accuracy {accuracy(0.5, band):.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=default_data_dir())
    parser.add_argument("--variant", action="append", default=[], type=parse_variant)
    parser.add_argument("--param", action="append", default=[], type=parse_param,
                        help="parameters given to every variant (a variant's own win)")
    parser.add_argument("--preload", action="store_true",
                        help="decode the images once and fit on arrays")
    parser.add_argument("--models", nargs="+", default=[], metavar="FILE",
                        help="re-score these saved models instead of fitting")
    args = parser.parse_args()
    if bool(args.models) == bool(args.variant):
        parser.error("give either --variant (fit) or --models (re-score)")
    if args.models and (args.param or args.preload):
        parser.error("--models only re-scores; --param and --preload are for fits")
    train, test = core_split(args.data)
    print(f"train {len(train.paths)} / test {len(test.paths)} faces; "
          f"{np.sum(test.age <= CHILD_AGE)} test children", flush=True)
    test_images = {}  # img_size -> the test faces decoded once, shared by the models
    for path in args.models:
        model = joblib.load(path)
        if model.img_size not in test_images:
            test_images[model.img_size] = preload_images(test.paths, model.img_size)
        rescore(path, model, test_images[model.img_size], test)
    if args.models:
        print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
        return

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
