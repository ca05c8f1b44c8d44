"""Imbalance benchmark: balance=None vs "reweight" vs "resample" on the core split.

The same fixed 80/20 split as ``bench_core.py``; prints MAE, macro recall over the
life-stage ranges and MAE of the 66+ range for each setting.

Usage::

    python bench/bench_imbalance.py [--data DIR] [--param NAME=VALUE ...]
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from sklearn.model_selection import train_test_split

from sklearn_age import AgeRegressor, load_utkface
from sklearn_age.datasets import default_data_dir
from sklearn_age.metrics import mae_per_range, range_recall_score

sys.path.insert(0, os.path.dirname(__file__))
from bench_core import parse_param  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=default_data_dir())
    parser.add_argument("--param", action="append", default=[], type=parse_param)
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        faces = load_utkface(args.data)
    train_paths, test_paths, train_age, test_age = train_test_split(
        faces.paths, faces.age, test_size=0.2, random_state=0
    )
    rows = []
    for balance in (None, "reweight", "resample"):
        model = AgeRegressor(balance=balance, random_state=0, verbose=1, **dict(args.param))
        print(f"--- {model!r}", flush=True)
        start = time.perf_counter()
        predicted = model.fit(train_paths, train_age).predict(test_paths)
        rows.append((
            balance,
            np.mean(np.abs(predicted - test_age)),
            range_recall_score(test_age, predicted),
            mae_per_range(test_age, predicted)["66+"][0],
            time.perf_counter() - start,
        ))

    print("\n--- results ---")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(f"machine: {os.cpu_count()} cores; train {len(train_paths)} / test {len(test_paths)}")
    print(f"{'balance':>9} {'MAE':>6} {'recall':>7} {'MAE 66+':>8} {'seconds':>8}")
    for balance, mae, recall, mae_old, seconds in rows:
        print(f"{str(balance):>9} {mae:6.3f} {recall:7.3f} {mae_old:8.2f} {seconds:8.0f}")


if __name__ == "__main__":
    main()
