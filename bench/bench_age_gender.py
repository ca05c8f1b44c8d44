"""Age-and-gender benchmark: one two-headed network against two single-task networks.

On the core benchmark split (80/20, ``random_state=0``) fits the default
``AgeGenderEstimator``, the default ``AgeRegressor`` and the default
``GenderClassifier``; prints age MAE, gender accuracy, training time, prediction images
per second from JPEG files (the pair of single-task models predicting one after the
other, against one pass of the two-headed network), the female/male MAE gap and the
worst ethnicity group's MAE ratio.

Usage::

    python bench/bench_age_gender.py [--data DIR] [--param NAME=VALUE ...] [--models DIR]
    python bench/bench_age_gender.py --gender-weights 0,0.25,0.5,1 --param max_epochs=4

``--gender-weights`` instead fits one ``AgeGenderEstimator`` per weight of the gender
loss (the age loss keeps weight 1; weight 0 trains age alone) and prints age MAE,
gender accuracy and the female/male gap of each: the measurement behind the default
``loss_weights``.

``--models DIR`` keeps each fitted model as ``DIR/<class name>.joblib`` (a pickle, for
this machine's own later runs) and reuses a file already there instead of fitting, after
checking that its parameters are the ones asked for (``flip_test``, read at prediction
time, is set to the asked value). Fit seconds are the sum of the epoch durations in the
model's history, so a reused model reports the time of its own fit.
"""

import argparse
import os
import sys
import time

import joblib
import numpy as np
import torch

from sklearn_age import AgeGenderEstimator, AgeRegressor, GenderClassifier
from sklearn_age.datasets import default_data_dir
from sklearn_age.estimators.age_gender import check_loss_weights
from sklearn_age.metrics import error_by_group

sys.path.insert(0, os.path.dirname(__file__))
from bench_core import core_split, parse_param  # noqa: E402

GENDERS = {0: "male", 1: "female"}
ETHNICITIES = {0: "White", 1: "Black", 2: "Asian", 3: "Indian", 4: "Others"}


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def fairness(test, ages):
    """Female minus male MAE, and the worst ethnicity's MAE over the overall MAE."""
    by_gender = error_by_group(test.age, ages, test.gender)
    mae = dict(zip(by_gender.groups.tolist(), by_gender.mae))
    by_race = error_by_group(test.age, ages, test.race)
    return mae[1] - mae[0], by_race


def fitted(estimator, X, y, models_dir):
    """Fit ``estimator`` or reuse its saved fit from ``models_dir``; return it and fit seconds."""
    path = models_dir and os.path.join(models_dir, f"{type(estimator).__name__}.joblib")
    if path and os.path.exists(path):
        saved = joblib.load(path)
        wanted = estimator.get_params()
        differ = {key: value for key, value in saved.get_params().items()
                  if key not in ("flip_test", "verbose") and value != wanted[key]}
        if hasattr(saved, "loss_weights_"):  # defaults resolved at fit time may have changed
            resolved = check_loss_weights(wanted["loss_weights"], estimator.DEFAULT_LOSS_WEIGHTS)
            if saved.loss_weights_ != resolved:
                differ["loss_weights_"] = saved.loss_weights_
        if differ:
            raise SystemExit(f"{path} was fitted with other parameters: {differ}")
        estimator = saved.set_params(flip_test=wanted["flip_test"])
        print(f"reusing {path}", flush=True)
    else:
        estimator.fit(X, y)
        if path:
            os.makedirs(models_dir, exist_ok=True)
            joblib.dump(estimator, path)
    return estimator, float(sum(estimator.history_[:, "dur"]))


def sweep_gender_weight(weights, params, train, test):
    """Fit one two-headed network per gender loss weight; print a row for each."""
    Y = np.column_stack([train.age, train.gender])
    rows = []
    for weight in weights:
        model = AgeGenderEstimator(loss_weights={"age": 1.0, "gender": weight}, **params)
        _, seconds = timed(model.fit, train.paths, Y)
        predicted = model.predict(test.paths)
        gap, by_race = fairness(test, predicted[:, 0])
        rows.append((weight, np.mean(np.abs(predicted[:, 0] - test.age)),
                     np.mean(predicted[:, 1].astype(int) == test.gender), gap,
                     by_race.worst_ratio, seconds))
        print(f"row: gender weight {weight:g}: age MAE {rows[-1][1]:.3f}, "
              f"gender accuracy {rows[-1][2]:.3f}", flush=True)
    print("\n--- results ---")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; test {len(test.paths)} faces; {params}")
    print(f"{'gender weight':>13} {'age MAE':>8} {'gender acc':>10} {'F-M gap':>8} "
          f"{'worst eth.':>10} {'fit s':>6}")
    for weight, mae, accuracy, gap, worst, seconds in rows:
        print(f"{weight:13g} {mae:8.3f} {accuracy:10.3f} {gap:+8.2f} {worst:9.2f}x "
              f"{seconds:6.0f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=default_data_dir())
    parser.add_argument("--param", action="append", default=[], type=parse_param)
    parser.add_argument("--models", help="keep fitted models here and reuse them (joblib)")
    parser.add_argument("--gender-weights", type=lambda text: [float(w) for w in text.split(",")],
                        help="comma-separated gender loss weights to compare")
    args = parser.parse_args()
    params = dict(random_state=0, verbose=1, **dict(args.param))
    train, test = core_split(args.data)
    print(f"train {len(train.paths)} / test {len(test.paths)} faces", flush=True)
    if args.gender_weights:
        return sweep_gender_weight(args.gender_weights, params, train, test)

    both, both_fit = fitted(AgeGenderEstimator(**params), train.paths,
                            np.column_stack([train.age, train.gender]), args.models)
    regressor, regressor_fit = fitted(AgeRegressor(**params), train.paths, train.age,
                                      args.models)
    classifier, classifier_fit = fitted(GenderClassifier(**params), train.paths,
                                        train.gender, args.models)

    both_pred, both_seconds = timed(both.predict, test.paths)
    ages, regressor_seconds = timed(regressor.predict, test.paths)
    genders, classifier_seconds = timed(classifier.predict, test.paths)
    n = len(test.paths)
    rows = [
        ("AgeGenderEstimator", both_pred[:, 0], both_pred[:, 1], both_fit, n / both_seconds),
        ("AgeRegressor + GenderClassifier", ages, genders, regressor_fit + classifier_fit,
         n / (regressor_seconds + classifier_seconds)),
    ]

    print("\n--- results ---")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; test {n} faces")
    print(f"fit seconds: AgeGenderEstimator {both_fit:.0f}, AgeRegressor {regressor_fit:.0f}, "
          f"GenderClassifier {classifier_fit:.0f}")
    header = f"{'model':>32} {'age MAE':>8} {'gender acc':>10} {'fit s':>6} {'img/s':>6}"
    print(header + f" {'F-M gap':>8} {'worst ethnicity':>22}")
    for name, age_pred, gender_pred, fit_seconds, speed in rows:
        gap, by_race = fairness(test, age_pred)
        worst = ETHNICITIES.get(int(by_race.worst_group), "unknown")
        print(f"{name:>32} {np.mean(np.abs(age_pred - test.age)):8.3f} "
              f"{np.mean(gender_pred.astype(int) == test.gender):10.3f} {fit_seconds:6.0f} "
              f"{speed:6.0f} {gap:+8.2f} {worst:>12} x{by_race.worst_ratio:.2f}")
        print(f"  {name}: MAE by ethnicity " + ", ".join(
            f"{ETHNICITIES.get(int(g), 'unknown')} {m:.2f} (n={c})"
            for g, m, c in zip(by_race.groups, by_race.mae, by_race.count)))


if __name__ == "__main__":
    main()
