"""A real 5-fold grid search over the four hyperparameters, on real faces."""

import numpy as np
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_age import AgeRegressor, ImageLoader
from tests.conftest import TINY

GRID = {
    "ageregressor__lr": [1e-3, 3e-3],
    "ageregressor__weight_decay": [0.0, 1e-4],
    "ageregressor__dropout": [0.0, 0.3],
    "ageregressor__l1_lambda": [0.0, 1e-5],
}


def test_grid_search_runs_every_candidate_and_refits_the_best(small_faces):
    paths, ages = small_faces
    pipe = make_pipeline(ImageLoader(size=32), AgeRegressor(**TINY))
    search = GridSearchCV(pipe, GRID, cv=5, scoring="neg_mean_absolute_error",
                          error_score="raise")
    search.fit(paths[:40], ages[:40])

    results = search.cv_results_
    assert len(results["params"]) == 16
    for fold in range(5):
        assert np.all(np.isfinite(results[f"split{fold}_test_score"]))
    best = results["params"][search.best_index_]
    assert search.best_params_ == best
    refit = search.best_estimator_[-1]
    assert refit.lr == best["ageregressor__lr"]
    assert refit.l1_lambda == best["ageregressor__l1_lambda"]
    assert refit.net_.history[-1, "epoch"] == 1  # the refit really trained
    assert search.predict(paths[40:45]).shape == (5,)
