"""One search shared by many workers: ``sklearn-age search`` on a real PostgreSQL server."""

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
import torch
from optuna.trial import TrialState

from sklearn_age import cli
from sklearn_age.cluster import local_cluster
from sklearn_age.studies import FINISHED, open_storage

from tests.conftest import DATA_DIR
from tests.postgres import PASSWORD, free_port

#: A search small enough for a few seconds per trial on real faces.
SMALL_SEARCH = ["--n-samples", "40", "--cv", "2", "--threads", "1",
                "--param", "img_size=32", "--param", "max_epochs=2", "--param", "batch_size=16"]


def search_args(study, storage, n_trials, *extra):
    return ["search", str(DATA_DIR), "--study-name", study, "--storage", storage,
            "--n-trials", str(n_trials), *SMALL_SEARCH, *extra]


def start_worker(*args):
    return subprocess.Popen([sys.executable, "-m", "sklearn_age.cli", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(worker, timeout=300):
    output, _ = worker.communicate(timeout=timeout)
    return worker.returncode, output


def trials_of(study, storage):
    # open_storage: polling while a worker creates the tables is itself a race
    return optuna.load_study(study_name=study, storage=open_storage(storage)).get_trials(
        deepcopy=False)


def test_two_workers_fill_one_study_with_exactly_n_trials(postgres_url):
    # Both start at once on an empty database: they race to create Optuna's tables.
    workers = [start_worker(*search_args("shared", postgres_url, 6)) for _ in range(2)]
    results = [finish(worker) for worker in workers]
    for status, output in results:
        assert status == 0, output
        assert "best score" in output
    trials = trials_of("shared", postgres_url)
    assert sum(trial.state in FINISHED for trial in trials) == 6
    assert not [trial for trial in trials if trial.state == TrialState.RUNNING]
    ran_by = {trial.user_attrs["worker"] for trial in trials if trial.state in FINISHED}
    assert len(ran_by) == 2  # both workers ran trials of the one study


def wait_for_running_trial(study, storage, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            running = [t for t in trials_of(study, storage)
                       if t.state == TrialState.RUNNING and len(t.params) == 4]  # training
        except KeyError:  # the study does not exist yet
            running = []
        if running:
            return running[0]
        time.sleep(0.2)
    raise AssertionError("no trial started")


def test_killed_workers_trial_is_failed_and_retried_by_another(postgres_url):
    heartbeat = ["--heartbeat", "1", "--param", "max_epochs=12"]  # a trial of ~10 s
    doomed = start_worker(*search_args("retry", postgres_url, 2, *heartbeat))
    victim = wait_for_running_trial("retry", postgres_url)
    time.sleep(1.5)  # in the middle of its training
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()

    survivor = start_worker(*search_args("retry", postgres_url, 2, *heartbeat))
    status, output = finish(survivor)
    assert status == 0, output
    trials = {trial.number: trial for trial in trials_of("retry", postgres_url)}
    assert trials[victim.number].state == TrialState.FAIL
    retries = [t for t in trials.values() if t.system_attrs.get("failed_trial") == victim.number]
    assert len(retries) == 1
    assert retries[0].state in FINISHED
    assert retries[0].params == trials[victim.number].params == victim.params
    assert sum(trial.state in FINISHED for trial in trials.values()) == 2


def run_cli(args, capsys):
    """Run ``sklearn-age`` in this process: ``(status, out, err, seconds)``."""
    threads = torch.get_num_threads()  # --threads sets them for the whole process
    start = time.monotonic()
    try:
        status = cli.main(args)
    finally:
        torch.set_num_threads(threads)
    captured = capsys.readouterr()
    return status, captured.out, captured.err, time.monotonic() - start


@pytest.mark.parametrize("storage, message", [
    (f"postgresql://postgres:x@127.0.0.1:{free_port()}/nothing", "cannot use the study storage"),
    ("nosuchdb://somewhere/study", "unknown storage scheme 'nosuchdb'"),
    ("postgresql://user:secret@host:notaport/db", "malformed storage URL"),
])
def test_unusable_storage_is_a_clear_error_within_seconds(storage, message, capsys):
    status, _, error, seconds = run_cli(search_args("s", storage, 1), capsys)
    assert status == 2
    assert message in error
    assert "secret" not in error
    assert seconds < 10


def test_wrong_password_is_named(postgres_url, capsys):
    wrong = postgres_url.replace(f"postgres:{PASSWORD}@", "postgres:wrong@")
    status, _, error, _ = run_cli(search_args("s", wrong, 1), capsys)
    assert status == 2
    assert "password authentication failed" in error
    assert ":wrong@" not in error


def test_postgres_url_without_the_driver_names_the_extra(postgres_url):
    code = ("import sys; sys.modules['psycopg'] = None; sys.modules['psycopg2'] = None; "
            "from sklearn_age import cli; sys.exit(cli.main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", code, *search_args("s", postgres_url, 1)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "sklearn-age[distributed]" in result.stderr


def test_study_with_another_direction_or_search_is_refused_and_kept(postgres_url, capsys):
    optuna.create_study(study_name="minimizing", storage=postgres_url, direction="minimize")
    status, _, error, _ = run_cli(search_args("minimizing", postgres_url, 1), capsys)
    assert status == 2
    assert "direction minimize" in error

    assert run_cli(search_args("mine", postgres_url, 1), capsys)[0] == 0
    before = [(t.number, t.state, t.value) for t in trials_of("mine", postgres_url)]
    status, _, error, _ = run_cli(search_args("mine", postgres_url, 2, "--cv", "3"), capsys)
    assert status == 2
    assert "exists with another search" in error and "cv: 2 in the study, 3 here" in error
    assert [(t.number, t.state, t.value) for t in trials_of("mine", postgres_url)] == before


def test_fast_search_tunes_the_head_on_embeddings_in_a_sqlite_study(tmp_path, capsys):
    storage = str(tmp_path / "fast.db")
    status, _, error, _ = run_cli(search_args("fast", storage, 3, "--fast"), capsys)
    assert status == 0, error
    assert "Embedding 40 faces once" in error
    study = optuna.load_study(study_name="fast", storage=f"sqlite:///{storage}")
    assert sum(trial.state in FINISHED for trial in study.trials) == 3
    assert study.user_attrs["sklearn_age_search"]["fast"] is True


def test_timeout_stops_a_worker_before_its_next_trial(tmp_path, capsys):
    status, out, _, _ = run_cli(
        search_args("late", str(tmp_path / "t.db"), 5, "--timeout", "0"), capsys)
    assert status == 0
    assert "No trial has finished yet." in out


@pytest.mark.parametrize("extra, message", [
    (["--n-trials", "0"], "--n-trials must be at least 1"),
    (["--threads", "0"], "--threads must be at least 1"),
    (["--param", "no_such_parameter=1"], "no_such_parameter"),
])
def test_bad_search_arguments_are_named_before_any_trial(extra, message, tmp_path, capsys):
    storage = str(tmp_path / "study.db")
    status, _, error, _ = run_cli(search_args("s", storage, 1) + extra, capsys)
    assert status == 2
    assert message in error
    assert not os.path.exists(storage)


def test_workers_starting_together_on_an_empty_database_all_join(postgres_url):
    # Without the retry, one of two processes released at the same instant dies with
    # UniqueViolation or DuplicateObject while creating Optuna's tables (6 of 6 tries here).
    code = ("import sys, time\n"
            "from sklearn_age.studies import open_storage, open_study\n"
            "url, start = sys.argv[1], float(sys.argv[2])\n"
            "while time.time() < start: pass\n"
            "open_study('together', open_storage(url), signature={'search': 1})\n")
    start = str(time.time() + 8)
    workers = [subprocess.Popen([sys.executable, "-c", code, postgres_url, start],
                                stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for worker in workers:
        _, error = worker.communicate(timeout=120)
        assert worker.returncode == 0, error
    study = optuna.load_study(study_name="together", storage=postgres_url)
    assert study.user_attrs["sklearn_age_search"] == {"search": 1}


# -- scikit-learn's own search on a Dask cluster ---------------------------------------
def test_grid_search_on_a_dask_cluster_matches_one_process(small_faces):
    import joblib
    import numpy as np
    from dask.distributed import get_task_stream
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.pipeline import Pipeline

    from sklearn_age import AgeRegressor, FaceEmbedder, ImageLoader

    paths, ages = small_faces
    pipeline = Pipeline([
        ("load", ImageLoader(size=64)),
        ("embed", FaceEmbedder(img_size=64)),
        ("head", AgeRegressor(backbone=None, max_epochs=4, batch_size=16, random_state=0)),
    ])
    grid = {"head__lr": [1e-3, 1e-2], "head__dropout": [0.0, 0.3]}
    cv = KFold(3, shuffle=True, random_state=0)

    def search(n_jobs):
        return GridSearchCV(clone(pipeline), grid, cv=cv, n_jobs=n_jobs,
                            scoring="neg_mean_absolute_error").fit(paths, ages)

    one_process = search(1)
    environ = dict(os.environ)
    with local_cluster(2) as client:
        threads = client.run(torch.get_num_threads)
        malloc = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
        with get_task_stream(client) as tasks, joblib.parallel_backend("dask"):
            on_cluster = search(-1)
    assert set(threads.values()) == {1}  # one torch thread per one-thread worker
    assert set(malloc.values()) == {None}  # Dask's setting that slows torch down
    assert dict(os.environ) == environ  # the nanny's writes into this process undone
    assert len({task["worker"] for task in tasks.data}) == 2
    assert on_cluster.best_params_ == one_process.best_params_
    for key in ["mean_test_score"] + [f"split{i}_test_score" for i in range(3)]:
        np.testing.assert_allclose(on_cluster.cv_results_[key], one_process.cv_results_[key],
                                   rtol=1e-4)


# -- memory flat in the number of faces ------------------------------------------------
PEAK_MEMORY = """
import resource, sys
import numpy as np
from sklearn_age import AgeRegressor
paths = open(sys.argv[1]).read().split()
model = AgeRegressor(backbone="simple_cnn", pretrained=False, img_size=64, max_epochs=1,
                     batch_size=32, random_state=0)
model.fit(paths, np.linspace(1, 90, len(paths)))
model.predict(paths)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_memory_mb(paths, folder):
    listing = folder / f"paths{len(paths)}.txt"
    listing.write_text("\n".join(paths))
    result = subprocess.run([sys.executable, "-c", PEAK_MEMORY, str(listing)],
                            capture_output=True, text=True, timeout=600, check=True)
    return int(result.stdout.split()[-1]) / 1024


def test_peak_memory_of_fit_and_predict_is_flat_in_the_number_of_faces(faces, tmp_path):
    # Held in memory as float32, 3,000 more faces of 64 x 64 would add 147 MB.
    few = peak_memory_mb(faces.paths[:1000], tmp_path)
    many = peak_memory_mb(faces.paths[:4000], tmp_path)
    print(f"peak memory: 1,000 faces {few:.0f} MB, 4,000 faces {many:.0f} MB")
    assert many <= 1.2 * few
