"""Optuna studies for sklearn-age estimators: cross-validated trials with per-epoch pruning."""

from numbers import Integral

import numpy as np
import optuna
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import KFold, StratifiedKFold, check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from skorch.callbacks import Callback

from .embedding import FaceEmbedder
from .estimators import AgeRegressor
from .ranges import AgeRanges
from .studies import open_storage

#: Parameters that the frozen embedder takes in a fast search; the rest go to the head.
EMBEDDER_PARAMS = ("backbone", "pretrained", "img_size")


def default_search_space(trial):
    """The four regularization hyperparameters: ``lr``, ``weight_decay``, ``dropout``,
    ``l1_lambda`` (log scales where they span decades)."""
    return {
        "lr": trial.suggest_float("lr", 1e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "l1_lambda": trial.suggest_float("l1_lambda", 1e-8, 1e-4, log=True),
    }


def search_estimators(params=None, *, fast=False):
    """The age regressor a search tunes and, for a fast search, the embedder run before it.

    A fast search tunes the head alone on frozen embeddings, computed once: the
    embedder takes the parameters of ``EMBEDDER_PARAMS`` (``backbone``, ``pretrained``,
    ``img_size``) and the regressor, with ``backbone=None``, the others.

    Parameters
    ----------
    params : dict or None, default=None
        Fixed parameters of the :class:`~sklearn_age.AgeRegressor` (and, when ``fast``,
        of the embedder).
    fast : bool, default=False
        Search on embeddings rather than fine-tuning the backbone in every trial.

    Returns
    -------
    estimator : AgeRegressor
    embedder : FaceEmbedder or None
        None unless ``fast``: then search on ``embedder.fit_transform(paths)``.

    Raises
    ------
    ValueError
        If a parameter is not one of the regressor's.

    Examples
    --------
    >>> from sklearn_age.search import make_objective, search_estimators
    >>> estimator, embedder = search_estimators({"max_epochs": 4}, fast=True)
    >>> objective = make_objective(estimator, embedder.fit_transform(paths),
    ...                            ages)  # doctest: +SKIP
    """
    params = dict(params or {})
    embedder = None
    if fast:
        embedder = FaceEmbedder(**{key: params.pop(key) for key in EMBEDDER_PARAMS
                                   if key in params})
        params["backbone"] = None
    return AgeRegressor().set_params(**params), embedder


class EpochPruning(Callback):
    """Score held-out faces after every epoch, report it to an Optuna trial, prune early.

    Parameters
    ----------
    trial : optuna.Trial
    model : estimator
        The estimator (or pipeline) being fitted; it is scored as it trains.
    X_valid, y_valid : array-like
        Held-out faces and targets.
    scorer : callable
        ``scorer(model, X, y)``, greater is better.
    """

    def __init__(self, trial, model, X_valid, y_valid, scorer):
        self.trial = trial
        self.model = model
        self.X_valid = X_valid
        self.y_valid = y_valid
        self.scorer = scorer

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        self.trial.report(float(self.scorer(self.model, self.X_valid, self.y_valid)), epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {epoch}")


def _final_step(model):
    """Name prefix for parameters of the estimator at the end of a pipeline."""
    if isinstance(model, Pipeline):
        name, last = model.steps[-1]
        prefix, inner = _final_step(last)
        return f"{name}__{prefix}", inner
    return "", model


def _stratification_labels(estimator, y):
    """What stratified folds balance: range labels for an age classifier given ages."""
    _, final = _final_step(estimator)
    ranges = getattr(final, "ranges", None)
    y = np.asarray(y)
    if ranges is not None and y.dtype.kind in "iuf":
        return AgeRanges(ranges).bin(y)
    return y


def make_objective(estimator, X, y, *, search_space=default_search_space, cv=5,
                   scoring=None, prune=True):
    """An Optuna objective: mean cross-validated score of ``estimator`` with a trial's
    hyperparameters. The first fold reports a held-out score per epoch for pruning.

    Parameters
    ----------
    estimator : AgeRegressor, AgeClassifier or a Pipeline ending in one
    X, y : array-like
        Faces (paths, images or features) and targets.
    search_space : callable, default=default_search_space
        ``search_space(trial)`` returns the parameters of the final estimator.
    cv : int or cross-validation generator, default=5
        An int means that many shuffled folds (stratified for classifiers, by age
        range when an :class:`~sklearn_age.AgeClassifier` is given ages).
    scoring : str, callable or None, default=None
        ``None``: the negated mean absolute error for regressors, the estimator's own
        ``score`` (accuracy, ages binned into ranges) for classifiers.
    prune : bool, default=True

    Returns
    -------
    objective : callable
        ``objective(trial) -> float``, greater is better.
    """
    prefix, _ = _final_step(estimator)
    if isinstance(cv, Integral):  # shuffled: face folders are often sorted by age
        splitter_class = StratifiedKFold if is_classifier(estimator) else KFold
        cv = splitter_class(n_splits=cv, shuffle=True, random_state=0)
    strata = _stratification_labels(estimator, y)
    splitter = check_cv(cv, strata, classifier=is_classifier(estimator))
    folds = list(splitter.split(X, strata))
    if scoring is None and not is_classifier(estimator):
        scoring = "neg_mean_absolute_error"
    scorer = check_scoring(estimator, scoring=scoring)

    def objective(trial):
        params = {f"{prefix}{k}": v for k, v in search_space(trial).items()}
        scores = []
        for fold, (train, test) in enumerate(folds):
            model = clone(estimator).set_params(**params)
            X_test, y_test = _safe_indexing(X, test), _safe_indexing(y, test)
            if prune and fold == 0:
                _, final = _final_step(model)
                pruning = EpochPruning(trial, model, X_test, y_test, scorer)
                model.set_params(**{f"{prefix}callbacks": list(final.callbacks or [])
                                    + [("pruning", pruning)]})
            model.fit(_safe_indexing(X, train), _safe_indexing(y, train))
            scores.append(scorer(model, X_test, y_test))
            trial.set_user_attr(f"fold{fold}_score", float(scores[-1]))
        return float(np.mean(scores))

    return objective


def run_study(estimator, X, y, *, n_trials=20, timeout=None, search_space=default_search_space,
              cv=5, scoring=None, study_name=None, storage=None,
              prune=True, random_state=None, show_progress_bar=True):
    """Run (or resume) an Optuna study of cross-validated trials.

    Parameters
    ----------
    estimator : AgeRegressor, AgeClassifier or a Pipeline ending in one
    X, y : array-like
    n_trials : int, default=20
        Trials to run in this call.
    timeout : float or None, default=None
        Stop starting new trials after this many seconds.
    search_space, cv, scoring, prune
        As in :func:`make_objective`.
    study_name : str or None, default=None
    storage : str or None, default=None
        ``None`` keeps the study in memory; a database URL or a file path (a SQLite
        file) persists it, and calling again with the same name resumes it. Opened with
        :func:`sklearn_age.studies.open_storage`: heartbeats, and a clear
        :class:`~sklearn_age.studies.StudyError` for a storage that cannot be used.
    random_state : int or None, default=None
        Seed of the TPE sampler.
    show_progress_bar : bool, default=True

    Returns
    -------
    study : optuna.Study
        ``study.best_params`` and ``study.best_value`` (greater is better) give the
        result; ``study.trials_dataframe()`` every trial.

    Examples
    --------
    >>> from sklearn_age import AgeRegressor
    >>> from sklearn_age.search import run_study
    >>> study = run_study(AgeRegressor(max_epochs=4), paths, ages, n_trials=10,
    ...                   storage="age_study.db", study_name="lite0")  # doctest: +SKIP
    >>> study.best_params  # doctest: +SKIP
    """
    study = optuna.create_study(
        study_name=study_name,
        storage=open_storage(storage),
        direction="maximize",
        load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=random_state),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
    )
    objective = make_objective(estimator, X, y, search_space=search_space, cv=cv,
                               scoring=scoring, prune=prune)
    study.optimize(objective, n_trials=n_trials, timeout=timeout,
                   show_progress_bar=show_progress_bar)
    return study
