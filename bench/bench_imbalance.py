"""Imbalance benchmark: balance=None vs "reweight" vs "resample" on the core split.

The same fixed 80/20 split as ``bench_core.py``; prints MAE, macro recall over the
life-stage ranges and MAE of the 66+ range for each setting. A setting is ``none``,
``reweight`` or ``resample``, optionally with a ``balance_power`` after ``@``
(``resample@0.5``: square-root weights). ``--estimator classifier`` fits
:class:`~sklearn_age.AgeClassifier` over the life stages instead: it predicts range labels,
so only the recall figures apply (the MAE columns read ``nan``), and ``reweight`` is then
``class_weight="balanced"`` by another name (loss weights inverse to class frequency).

Usage::

    python bench/bench_imbalance.py [--data DIR] [--balance SETTING ...] [--param NAME=VALUE ...]
                                    [--save-dir DIR] [--preload] [--seeds 0,1,2]
                                    [--estimator {regressor,classifier}]
    python bench/bench_imbalance.py --models FILE [FILE ...] [--param NAME=VALUE ...]

``--save-dir`` keeps each fitted model (``imbalance_[classifier_]<setting>.joblib``, a
pickle: for this machine's own later benchmarks only); each row is printed as soon as its
fit ends. ``--seeds`` fits every setting once per ``random_state`` and then prints the
mean and standard deviation of each figure over the seeds: one seed's differences between
settings can be noise. ``--preload`` decodes every image once, in parallel, and fits on
the arrays: the same pixels, without the decoding of every epoch (which starves a GPU).
``--models`` fits nothing: it scores models saved by ``--save-dir`` on the same test
faces, with their parameters updated by ``--param`` (``flip_test=False``, say), so that
rows fitted at different times are compared under one prediction setting. Every row
also gives the recall of each life-stage range and, as ``best-b.``, the macro recall
with the range boundaries applied to the predictions moved to their best whole years on
the test faces themselves: the most that shifting predictions across them could gain.
"""

import argparse
import itertools
import os
import sys
import time

import joblib
import numpy as np
from sklearn.base import is_classifier

from sklearn_age import AgeClassifier, AgeRanges, AgeRegressor
from sklearn_age.datasets import default_data_dir
from sklearn_age.metrics import mae_per_range, range_confusion_matrix, range_recall_score

sys.path.insert(0, os.path.dirname(__file__))
from bench_core import core_split, parse_param, preload_images  # noqa: E402


#: Settings run when none are given: the three asked for, plus a milder resampling.
SETTINGS = ("none", "resample@0.5", "resample", "reweight")

#: What ``--estimator`` fits: years, or life-stage labels.
ESTIMATORS = {"regressor": AgeRegressor, "classifier": AgeClassifier}


def parse_setting(text):
    """``"resample@0.5"`` -> ``("resample", 0.5)``; ``"none"`` -> ``(None, 1.0)``."""
    name, _, power = text.partition("@")
    if name not in ("none", "reweight", "resample"):
        raise argparse.ArgumentTypeError(f"unknown balance setting {text!r}")
    return (None if name == "none" else name), float(power or 1.0)


def best_boundary_recall(test_age, predicted, passes=3):
    """Macro range recall once the boundaries applied to the predictions are moved.

    Each lower bound of the life-stage ranges, as applied to the predicted ages, goes in
    turn to the whole year that gives the highest macro recall on these same faces. The
    result bounds what shifting predictions across the boundaries, the kind of change
    that loss weights and resampling make there, can gain.
    """
    ranges = AgeRanges()
    true = ranges.bin_index(test_age)
    lower = ranges.lower.copy()

    def recall(bounds):
        bins = np.clip(np.searchsorted(bounds, predicted, side="right") - 1, 0, None)
        return np.mean([np.mean(bins[true == k] == k) for k in range(len(bounds))])

    for _, i in itertools.product(range(passes), range(1, len(lower))):
        upper = lower[i + 1] if i + 1 < len(lower) else 121
        lower[i] = max(range(lower[i - 1] + 1, upper),
                       key=lambda bound: recall(np.r_[lower[:i], bound, lower[i + 1:]]))
    return recall(lower)


def score(model, X_test, test_age):
    """MAE, macro range recall, 66+ MAE, recall per range and best-boundary recall.

    A classifier's range labels have no MAE and no boundaries to move: those read NaN.
    """
    predicted = model.predict(X_test)
    per_range = np.diag(range_confusion_matrix(test_age, predicted, normalize="true")[0])
    if is_classifier(model):
        return np.nan, range_recall_score(test_age, predicted), np.nan, per_range, np.nan
    return (
        np.mean(np.abs(predicted - test_age)),
        range_recall_score(test_age, predicted),
        mae_per_range(test_age, predicted)["66+"][0],
        per_range,
        best_boundary_recall(test_age, predicted),
    )


def print_row(name, seed, mae, recall, mae_old, per_range, best_recall, seconds):
    """One result line: the figures, then the recall of each range."""
    print(f"{name:>13} {seed:4d} {mae:6.3f} {recall:7.3f} {mae_old:8.2f} {best_recall:7.3f} "
          f"{seconds:8.0f}  " + " ".join(f"{value:.3f}" for value in per_range), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=default_data_dir())
    parser.add_argument("--param", action="append", default=[], type=parse_param)
    parser.add_argument("--balance", action="append", type=parse_setting,
                        help="none, reweight or resample, optionally @POWER")
    parser.add_argument("--save-dir", help="keep the fitted models here (joblib files)")
    parser.add_argument("--preload", action="store_true",
                        help="decode the images once and fit on arrays (same pixels)")
    parser.add_argument("--models", nargs="+", metavar="FILE",
                        help="score these saved models instead of fitting")
    parser.add_argument("--seeds", default=[0],
                        type=lambda text: [int(seed) for seed in text.split(",")],
                        help="comma-separated random_state values, one fit per seed")
    parser.add_argument("--estimator", choices=ESTIMATORS, default="regressor",
                        help="AgeRegressor (years) or AgeClassifier (life-stage labels)")
    args = parser.parse_args()
    if args.models and (args.balance or args.save_dir or args.preload):
        parser.error("--models only scores; --balance, --save-dir and --preload are for fits")
    settings = args.balance or [parse_setting(name) for name in SETTINGS]
    estimator = ESTIMATORS[args.estimator]
    train, test = core_split(args.data)
    X_train, X_test = train.paths, test.paths
    if args.preload:  # every fit shares img_size: decode once
        img_size = estimator(**dict(args.param)).img_size
        X_train, X_test = (preload_images(paths, img_size) for paths in (train.paths, test.paths))
    header = (f"{'balance':>13} {'seed':>4} {'MAE':>6} {'recall':>7} {'MAE 66+':>8} "
              f"{'best-b.':>7} {'seconds':>8}  recall per range, {' '.join(AgeRanges().labels)}")
    rows = []
    if args.models:
        print(header)
    for path in args.models or ():
        model = joblib.load(path).set_params(**dict(args.param))
        start = time.perf_counter()
        figures = score(model, X_test, test.age)
        name = os.path.basename(path).removesuffix(".joblib").removeprefix("imbalance_")
        rows.append((name, model.random_state, *figures, time.perf_counter() - start))
        print_row(*rows[-1])
    runs = [] if args.models else itertools.product(settings, args.seeds)
    for (balance, power), seed in runs:
        name = f"{balance}@{power:g}" if balance and power != 1 else str(balance)
        model = estimator(**{"verbose": 1, **dict(args.param), "balance": balance,
                             "balance_power": power, "random_state": seed})
        print(f"--- {model!r}", flush=True)
        start = time.perf_counter()
        model.fit(X_train, train.age)
        rows.append((name, seed, *score(model, X_test, test.age), time.perf_counter() - start))
        print_row(*rows[-1])
        if args.save_dir:
            os.makedirs(args.save_dir, exist_ok=True)
            suffix = f"_seed{seed}" if seed else ""
            kind = "classifier_" if args.estimator == "classifier" else ""
            joblib.dump(model, os.path.join(args.save_dir,
                                            f"imbalance_{kind}{name}{suffix}.joblib"))

    print("\n--- results ---")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(f"machine: {os.cpu_count()} cores; train {len(train.paths)} / test {len(test.paths)}")
    print(header)
    for row in rows:
        print_row(*row)
    if len(args.seeds) > 1 and not args.models:
        print("mean (standard deviation) over the seeds:")
        for name in dict.fromkeys(row[0] for row in rows):
            scores = np.array([row[2:5] for row in rows if row[0] == name])
            spread = zip(scores.mean(axis=0), scores.std(axis=0, ddof=1))
            print(f"{name:>13}      " + " ".join(f"{mean:.3f} ({sd:.3f})" for mean, sd in spread))


if __name__ == "__main__":
    main()
