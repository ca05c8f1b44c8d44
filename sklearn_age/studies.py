"""Optuna studies shared by many workers: storage, safe creation, heartbeats, trial quotas.

Any number of processes, on one machine or many, can call :func:`open_study` and
:func:`fill_study` with the same study name and storage: each trial runs once, a trial
whose worker died is failed by its stale heartbeat and re-queued with the same
parameters, and together the workers stop when the study holds the asked-for number of
finished trials.
"""

import json
import logging
import os
import random
import re
import socket
import time
import warnings

import optuna
from optuna.trial import TrialState

#: States of a trial that is done and counts towards the quota (a pruned trial is done).
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)

#: States of a trial that holds a place in the quota.
COUNTED = FINISHED + (TrialState.RUNNING, TrialState.WAITING)

#: Name of the study attribute that records which search the study belongs to.
SIGNATURE_ATTR = "sklearn_age_search"

_INSTALL_HINT = "install the driver with: pip install 'sklearn-age[distributed]'"


class StudyError(Exception):
    """A storage or study problem the user can fix; the message names it."""


class SurplusTrial(Exception):
    """Raised in a trial that another worker's trial made unnecessary (it is marked failed)."""


def storage_url(storage):
    """An Optuna storage URL: URLs pass through, a file path becomes SQLite."""
    if storage is None or "://" in str(storage):
        return storage
    return f"sqlite:///{os.path.abspath(os.fspath(storage))}"


def open_storage(storage, *, heartbeat_interval=10, grace_period=None, max_retry=3,
                 connect_timeout=5):
    """An Optuna ``RDBStorage`` with heartbeats, or ``None`` for an in-memory study.

    Parameters
    ----------
    storage : str, path or None
        A database URL (``postgresql://user:password@host/db``, ``sqlite:///file.db``)
        or a file path, taken as a SQLite file.
    heartbeat_interval : int, default=10
        Seconds between a running trial's heartbeats.
    grace_period : int or None, default=None
        Seconds without a heartbeat after which a running trial counts as dead and is
        failed; ``None`` means twice ``heartbeat_interval``.
    max_retry : int, default=3
        How many times a dead trial is re-queued with the same parameters.
    connect_timeout : int, default=5
        Seconds to wait for a database server before giving up.

    Returns
    -------
    storage : optuna.storages.RDBStorage or None

    Raises
    ------
    StudyError
        For a malformed URL, an unknown scheme, a missing driver, a server that cannot be
        reached or refuses the login. The message hides the password.
    """
    import sqlalchemy

    url = storage_url(storage)
    if url is None:
        return None
    try:
        parsed = sqlalchemy.engine.make_url(url)
    except (sqlalchemy.exc.ArgumentError, ValueError) as error:
        raise StudyError(
            f"malformed storage URL {_hide_password(url)!r} ({error}): expected a database "
            "URL such as postgresql://user:password@host:5432/dbname, or a file path for SQLite"
        ) from None
    shown = parsed.render_as_string(hide_password=True)
    engine_kwargs = {}
    if parsed.get_backend_name() in ("postgresql", "mysql"):
        engine_kwargs["connect_args"] = {"connect_timeout": connect_timeout}
    def create():
        return optuna.storages.RDBStorage(
            url, engine_kwargs=engine_kwargs, heartbeat_interval=heartbeat_interval,
            grace_period=grace_period or 2 * heartbeat_interval,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                max_retry=max_retry),
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            return _retry_races(f"the study storage {shown}", create)
        except sqlalchemy.exc.NoSuchModuleError:
            raise StudyError(
                f"unknown storage scheme {parsed.drivername!r} in {shown}: use "
                "postgresql://, mysql://, sqlite:///FILE or a file path"
            ) from None
        except ImportError as error:
            raise StudyError(f"{shown} needs a database driver that is not installed "
                             f"({error.__cause__ or error}); {_INSTALL_HINT}") from None


def _hide_password(url):
    """``scheme://user:secret@host`` -> ``scheme://user:***@host``."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _retry_races(what, create, attempts=8):
    """Call ``create()``, retrying when another worker created the same tables or rows first.

    Workers that start together on an empty database race to create Optuna's tables and
    version row; the loser gets a unique-key or duplicate-object error and simply tries
    again, now finding them. ``what`` names the storage or study in error messages.
    """
    import sqlalchemy

    for attempt in range(attempts):
        try:
            return create()
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as error:
            if attempt == attempts - 1:
                raise StudyError(f"could not set up {what}: {_first_line(error)}") from None
            time.sleep(random.uniform(0.1, 0.5))
        except sqlalchemy.exc.OperationalError as error:
            raise StudyError(f"cannot use {what}: {_first_line(error)}") from None


def _first_line(error):
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]


def describe_search_space(search_space):
    """The distributions ``search_space(trial)`` asks for, as JSON strings by name."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        trial = optuna.create_study().ask()
    finally:
        optuna.logging.set_verbosity(verbosity)
    search_space(trial)
    return {name: optuna.distributions.distribution_to_json(distribution)
            for name, distribution in sorted(trial.distributions.items())}


def open_study(study_name, storage, *, signature, sampler=None, pruner=None):
    """Create the study, or join it when it exists; safe when many workers start together.

    Parameters
    ----------
    study_name : str
    storage : optuna.storages.BaseStorage or None
        From :func:`open_storage`.
    signature : dict
        JSON-serializable description of the search (its search space and fixed
        settings). The first worker records it; a worker whose search differs is refused,
        so that one study never mixes two searches.
    sampler, pruner : optional
        Optuna's sampler and pruner for this worker.

    Returns
    -------
    study : optuna.Study
        Maximizes the score.

    Raises
    ------
    StudyError
        When the study exists with another direction or another search.
    """
    study = _retry_races(f"study {study_name!r}", lambda: optuna.create_study(
        study_name=study_name, storage=storage, direction="maximize", load_if_exists=True,
        sampler=sampler, pruner=pruner,
    ))
    if study._is_multi_objective() or study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise StudyError(
            f"study {study_name!r} exists with direction "
            f"{', '.join(d.name.lower() for d in study.directions)}; sklearn-age searches "
            "maximize a score: choose another --study-name"
        )
    signature = json.loads(json.dumps(signature))
    recorded = study.user_attrs.get(SIGNATURE_ATTR)
    if recorded is None:
        study.set_user_attr(SIGNATURE_ATTR, signature)
    elif recorded != signature:
        differences = ", ".join(
            f"{key}: {recorded.get(key)!r} in the study, {signature.get(key)!r} here"
            for key in sorted(set(recorded) | set(signature))
            if recorded.get(key) != signature.get(key)
        )
        raise StudyError(f"study {study_name!r} exists with another search ({differences}); "
                         "join it with the same settings or choose another --study-name")
    return study


def count_trials(study):
    """``(finished, counted, waiting)``: trials done, holding a place, and queued."""
    trials = study.get_trials(deepcopy=False, states=COUNTED)
    finished = sum(trial.state in FINISHED for trial in trials)
    waiting = sum(trial.state == TrialState.WAITING for trial in trials)
    return finished, len(trials), waiting


def describe_trial(study, trial):
    """One line on a trial that ended: its outcome, its parameters, the study's progress.

    Parameters
    ----------
    study : optuna.Study
    trial : optuna.trial.FrozenTrial
        A trial of ``study`` that ended, as an Optuna callback receives it.

    Returns
    -------
    line : str
        Its score, the epoch it was pruned after, or why it did not run; then how many
        trials of the study are finished and the best score so far.

    Examples
    --------
    >>> from sklearn_age.studies import describe_trial, fill_study
    >>> fill_study(study, objective, 20, callbacks=[
    ...     lambda study, trial: print(describe_trial(study, trial))])  # doctest: +SKIP
    trial 0 score -9.8123 [lr=0.00123, ...]; 1 finished in the study; best -9.8123 (trial 0)
    """
    if trial.state == TrialState.COMPLETE:
        outcome = f"score {trial.value:.4f}"
    elif trial.state == TrialState.PRUNED:
        outcome = f"pruned after epoch {trial.last_step} of the first fold"
    else:
        outcome = ("not run: the study was full" if trial.user_attrs.get("surplus")
                   else "failed")
    finished = study.get_trials(deepcopy=False, states=FINISHED)
    complete = [t for t in finished if t.state == TrialState.COMPLETE]
    best = max(complete, key=lambda t: t.value, default=None)
    best = f"; best {best.value:.4f} (trial {best.number})" if best else ""
    return (f"trial {trial.number} {outcome} [{_format_params(trial.params, 3)}]; "
            f"{len(finished)} finished in the study{best}")


def describe_best_trial(study, score_name="score"):
    """One line on the best complete trial of a study, or None when none is complete.

    Parameters
    ----------
    study : optuna.Study
    score_name : str, default="score"
        What the score is, such as ``"negative MAE"``.

    Returns
    -------
    line : str or None
        The best score, the trial's number, how many trials are complete, and the
        trial's parameters.

    Examples
    --------
    >>> from sklearn_age.studies import describe_best_trial
    >>> print(describe_best_trial(study, "negative MAE"))  # doctest: +SKIP
    best score -8.1234 (negative MAE, trial 7 of 12 complete): lr=0.001234, ...
    """
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return None
    best = study.best_trial
    return (f"best score {best.value:.4f} ({score_name}, trial {best.number} of "
            f"{len(complete)} complete): {_format_params(best.params, 4)}")


def _format_params(params, digits):
    """``"lr=0.001, dropout=0.3"`` with ``digits`` significant digits."""
    return ", ".join(f"{key}={value:.{digits}g}" for key, value in params.items())


def fill_study(study, objective, n_trials, *, timeout=None, callbacks=(), poll_interval=2.0):
    """Run trials until ``study`` holds ``n_trials`` finished ones, shared with other workers.

    A worker starts a trial only while the finished, running and queued trials number
    fewer than ``n_trials``, or when a re-queued trial waits. When the places are all
    taken by trials running elsewhere it waits, failing stale trials as it does so that
    a dead worker's trial is re-queued and run here. Two workers that start a trial at
    the same moment for the last place are settled by trial id: the later trial is
    marked failed as surplus (:class:`SurplusTrial`) before any training.

    Parameters
    ----------
    study : optuna.Study
    objective : callable
        ``objective(trial) -> float``.
    n_trials : int
        Finished trials (complete or pruned) the study should hold in all.
    timeout : float or None, default=None
        Start no new trial after this many seconds.
    callbacks : sequence of callables, default=()
        Optuna trial callbacks ``callback(study, frozen_trial)``.
    poll_interval : float, default=2.0
        Seconds between checks while every place is taken by other workers.

    Returns
    -------
    study : optuna.Study
    """
    if n_trials < 1:
        raise ValueError(f"n_trials must be at least 1, got {n_trials}")
    deadline = None if timeout is None else time.monotonic() + timeout

    def guarded(trial):
        earlier = [t for t in study.get_trials(deepcopy=False, states=COUNTED)
                   if t._trial_id < trial._trial_id]
        if len(earlier) >= n_trials:
            trial.set_user_attr("surplus", True)
            raise SurplusTrial(f"the study already held {n_trials} trials when trial "
                               f"{trial.number} started; another worker took the last place")
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        return objective(trial)

    optimize_logger = logging.getLogger("optuna.study._optimize")
    optimize_logger.addFilter(_hide_surplus)
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            _fill(study, guarded, n_trials, deadline, callbacks, poll_interval)
    finally:
        optimize_logger.removeFilter(_hide_surplus)
    return study


def _hide_surplus(record):
    """Logging filter: a surplus trial is expected, not worth Optuna's failure traceback."""
    return "SurplusTrial" not in record.getMessage()


def _fill(study, guarded, n_trials, deadline, callbacks, poll_interval):
    """The loop of :func:`fill_study`."""
    while deadline is None or time.monotonic() < deadline:
        finished, counted, waiting = count_trials(study)
        if finished >= n_trials:
            break
        if waiting or counted < n_trials:
            study.optimize(guarded, n_trials=1, callbacks=list(callbacks),
                           catch=(SurplusTrial,))
        else:
            optuna.storages.fail_stale_trials(study)
            time.sleep(poll_interval)
