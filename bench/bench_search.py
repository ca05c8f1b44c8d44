"""Search benchmark: 5-fold GridSearchCV of 16 candidates on all shared faces, fast path.

``Pipeline([ImageLoader, FaceEmbedder, AgeRegressor(backbone=None)], memory=...)`` over
two values each of ``lr``, ``weight_decay``, ``dropout`` and ``l1_lambda``. Prints the
wall time, the best parameters and their cross-validated scores.

Usage::

    python bench/bench_search.py [--data DIR] [--img-size 112]
"""

import argparse
import os
import sys
import tempfile
import time

import torch
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from sklearn_age import AgeRegressor, FaceEmbedder, ImageLoader, load_utkface
from sklearn_age.datasets import default_data_dir
from sklearn_age.metrics import make_age_scorers

GRID = {
    "head__lr": [1e-3, 3e-3],
    "head__weight_decay": [0.0, 1e-4],
    "head__dropout": [0.0, 0.3],
    "head__l1_lambda": [0.0, 1e-5],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=default_data_dir())
    parser.add_argument("--img-size", type=int, default=112)
    args = parser.parse_args()
    faces = load_utkface(args.data)

    with tempfile.TemporaryDirectory() as cache:
        pipe = Pipeline(
            [("load", ImageLoader(size=args.img_size)),
             ("embed", FaceEmbedder(img_size=args.img_size, memory=cache)),
             ("head", AgeRegressor(backbone=None, max_epochs=30, batch_size=256,
                                   random_state=0))],
            memory=cache,
        )
        folds = KFold(5, shuffle=True, random_state=0)  # the files are sorted by age
        search = GridSearchCV(pipe, GRID, cv=folds, scoring=make_age_scorers(), refit="mae")
        start = time.perf_counter()
        search.fit(faces.paths, faces.age)
        seconds = time.perf_counter() - start

    results = search.cv_results_
    best = search.best_index_
    print("\n--- results ---")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(f"machine: {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    print(f"faces: {len(faces.paths)}, candidates: {len(results['params'])}, folds: 5")
    print(f"wall time: {seconds:.0f} s ({seconds / 60:.1f} min), refit included")
    print(f"best params: {search.best_params_}")
    print(f"best CV MAE: {-results['mean_test_mae'][best]:.3f} years, "
          f"CS@5 {results['mean_test_cs'][best]:.3f}, "
          f"range recall {results['mean_test_range_recall'][best]:.3f}, "
          f"range F1 {results['mean_test_range_f1'][best]:.3f}")
    print(f"worst CV MAE: {-results['mean_test_mae'].min():.3f} years")


if __name__ == "__main__":
    main()
