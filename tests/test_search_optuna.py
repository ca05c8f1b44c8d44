"""Optuna on real faces: OptunaSearchCV over a pipeline, and run_study with pruning."""

import numpy as np
import optuna
from optuna.distributions import FloatDistribution
from optuna_integration import OptunaSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_age import AgeClassifier, AgeRegressor, ImageLoader
from sklearn_age.search import run_study
from sklearn_age.studies import storage_url
from tests.conftest import TINY


def test_optuna_search_cv_over_a_pipeline(small_faces):
    paths, ages = small_faces
    pipe = make_pipeline(ImageLoader(size=32), AgeRegressor(**TINY))
    space = {
        "ageregressor__lr": FloatDistribution(1e-4, 1e-2, log=True),
        "ageregressor__weight_decay": FloatDistribution(1e-6, 1e-2, log=True),
        "ageregressor__dropout": FloatDistribution(0.0, 0.5),
        "ageregressor__l1_lambda": FloatDistribution(1e-8, 1e-4, log=True),
    }
    search = OptunaSearchCV(pipe, space, cv=5, n_trials=3, random_state=0,
                            scoring="neg_mean_absolute_error", error_score="raise")
    search.fit(paths[:40], ages[:40])
    assert len(search.trials_) == 3
    assert set(search.best_params_) == set(space)
    assert search.predict(paths[40:43]).shape == (3,)


def test_run_study_prunes_per_epoch_and_resumes(small_faces, tmp_path):
    paths, ages = small_faces
    images = ImageLoader(size=32).fit_transform(paths[:40])
    model = AgeRegressor(**{**TINY, "max_epochs": 3})
    db = tmp_path / "study.db"
    study = run_study(model, images, ages[:40], n_trials=6, cv=5, storage=db,
                      study_name="ages", random_state=0, show_progress_bar=False)
    states = [t.state for t in study.trials]
    assert len(states) == 6
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert complete and np.isfinite(study.best_value) and study.best_value < 0
    for trial in complete:  # one held-out score per epoch of the first fold
        assert sorted(trial.intermediate_values) == [1, 2, 3]
        assert len([k for k in trial.user_attrs if k.startswith("fold")]) == 5
    resumed = run_study(model, images, ages[:40], n_trials=1, cv=5, storage=db,
                        study_name="ages", show_progress_bar=False)
    assert len(resumed.trials) == 7
    assert storage_url(db) == f"sqlite:///{db}"


def test_run_study_of_an_age_classifier_on_float_ages(small_faces):
    """Folds are stratified by age range and trials scored by accuracy over the ranges."""
    paths, ages = small_faces
    images = ImageLoader(size=32).fit_transform(paths[:36])
    study = run_study(AgeClassifier(**TINY), images, ages[:36] + 0.5, n_trials=1, cv=3,
                      prune=False, random_state=0, show_progress_bar=False)
    assert 0 <= study.best_value <= 1
