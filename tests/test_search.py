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


def test_search_estimators_split_the_parameters_of_a_fast_search():
    import pytest

    from sklearn_age import FaceEmbedder
    from sklearn_age.search import search_estimators

    estimator, embedder = search_estimators({"max_epochs": 2, "img_size": 64})
    assert isinstance(estimator, AgeRegressor) and embedder is None
    assert estimator.max_epochs == 2 and estimator.img_size == 64
    estimator, embedder = search_estimators({"max_epochs": 2, "img_size": 64}, fast=True)
    assert isinstance(embedder, FaceEmbedder) and embedder.img_size == 64
    assert estimator.backbone is None and estimator.max_epochs == 2
    with pytest.raises(ValueError, match="no_such_parameter"):
        search_estimators({"no_such_parameter": 1})


def test_describe_trial_and_best_trial():
    import optuna

    from sklearn_age.studies import describe_best_trial, describe_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    assert describe_best_trial(study) is None
    lines = []

    def objective(trial):
        trial.suggest_float("x", 0, 1)
        if trial.number == 1:
            trial.report(0.5, 3)
            raise optuna.TrialPruned()
        return [-2.0, None, -1.0][trial.number]

    study.enqueue_trial({"x": 0.25})
    study.enqueue_trial({"x": 0.5})
    study.enqueue_trial({"x": 0.123456})
    study.optimize(objective, n_trials=3,
                   callbacks=[lambda study, trial: lines.append(describe_trial(study, trial))])
    assert lines == [
        "trial 0 score -2.0000 [x=0.25]; 1 finished in the study; best -2.0000 (trial 0)",
        "trial 1 pruned after epoch 3 of the first fold [x=0.5]; 2 finished in the study; "
        "best -2.0000 (trial 0)",
        "trial 2 score -1.0000 [x=0.123]; 3 finished in the study; best -1.0000 (trial 2)",
    ]
    assert describe_best_trial(study, "negative MAE") == (
        "best score -1.0000 (negative MAE, trial 2 of 2 complete): x=0.1235")
