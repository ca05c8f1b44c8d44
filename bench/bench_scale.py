"""Scale-out benchmark: trials per minute of one search with 1 and with 2 workers.

Each worker is given one core and one torch thread:

* ``study``: ``sklearn-age search`` processes sharing one Optuna study on a throwaway
  PostgreSQL server (each pinned to its own core with ``taskset``);
* ``dask``: scikit-learn's ``RandomizedSearchCV`` with ``n_jobs=-1`` on a Dask
  ``LocalCluster`` of one-thread worker processes, each pinned to its own core;
* for reference, one ``sklearn-age search`` process with one thread per core.

Every trial fine-tunes the default ``AgeRegressor`` on a subset (1,000 faces,
``img_size=64``, one epoch, 3 folds, no pruning), so that compute, not start-up,
dominates. Throughput is counted after start-up: from the first trial's start to the
last trial's end (study), or over ``fit`` on an already running cluster (Dask).

Usage::

    python bench/bench_scale.py [--data DIR] [--n-samples 1000] [--cv 3] [--trials 8]
                                [--mode study|dask|reference ...] [--param NAME=VALUE ...]
"""

import argparse
import os
import subprocess
import sys
import time

import joblib
import optuna
from scipy.stats import loguniform, uniform
from sklearn.model_selection import KFold, RandomizedSearchCV

from sklearn_age import AgeRegressor
from sklearn_age.cli import load_faces, parse_param
from sklearn_age.cluster import local_cluster
from sklearn_age.datasets import default_data_dir

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from tests.postgres import create_database, throwaway_postgres  # noqa: E402

#: The search space of ``sklearn_age.search.default_search_space``, for scikit-learn.
DISTRIBUTIONS = {
    "lr": loguniform(1e-4, 1e-2),
    "weight_decay": loguniform(1e-6, 1e-2),
    "dropout": uniform(0.0, 0.5),
    "l1_lambda": loguniform(1e-8, 1e-4),
}


def study_throughput(server, args, params, workers, threads):
    """Trials per minute of ``workers`` search processes with ``threads`` threads each."""
    url = create_database(server, f"bench_{workers}x{threads}")
    command = [sys.executable, "-m", "sklearn_age.cli", "search", args.data,
               "--study-name", "bench", "--storage", url, "--n-trials", str(args.trials),
               "--cv", str(args.cv), "--n-samples", str(args.n_samples), "--no-pruning",
               "--threads", str(threads)]
    for name, value in params.items():
        command += ["--param", f"{name}={value}"]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    processes = []
    for worker in range(workers):
        cores = ",".join(str(worker * threads + i) for i in range(threads))
        processes.append(subprocess.Popen(["taskset", "-c", cores] + command, env=env,
                                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                          text=True))
    connections = []
    while any(process.poll() is None for process in processes):
        connections.append(database_stat(server, url, "connections"))
        time.sleep(0.5)
    for process in processes:
        output, _ = process.communicate()
        if process.returncode:
            raise SystemExit(f"a search worker failed:\n{output}")
    trials = optuna.load_study(study_name="bench", storage=url).get_trials(
        states=(optuna.trial.TrialState.COMPLETE,))
    start = min(trial.datetime_start for trial in trials)
    end = max(trial.datetime_complete for trial in trials)
    print(f"study, {workers} x {threads} thread(s): at most {max(connections)} connections, "
          f"{database_stat(server, url, 'transactions') / len(trials):.0f} database "
          "transactions per trial (start-up included)", flush=True)
    return len(trials), 60 * len(trials) / (end - start).total_seconds()


def database_stat(server, url, what):
    """Open connections to, or transactions committed in, the database of ``url``."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    query = {"connections": "SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
             "transactions": "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                             "WHERE datname = %s"}[what]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        return connection.execute(query, (name,)).fetchone()[0]


def dask_throughput(args, params, faces, workers):
    """Candidates per minute of ``RandomizedSearchCV`` on ``workers`` one-thread workers.

    The cluster comes from :func:`sklearn_age.cluster.local_cluster` (workers without
    Dask's ``MALLOC_TRIM_THRESHOLD_``, this process's environment restored).
    """
    search = RandomizedSearchCV(
        AgeRegressor(**params), DISTRIBUTIONS, n_iter=args.trials, random_state=0,
        cv=KFold(args.cv, shuffle=True, random_state=0), n_jobs=-1, refit=False,
        scoring="neg_mean_absolute_error", error_score="raise",
    )
    with local_cluster(workers) as client:
        for core, address in enumerate(sorted(client.scheduler_info()["workers"])):
            client.run(pin_to_core, core, workers=[address])
        client.run(lambda: __import__("sklearn_age"))  # start-up, not counted
        start = time.perf_counter()
        with joblib.parallel_backend("dask"):
            search.fit(faces["paths"], faces["age"])
        seconds = time.perf_counter() - start
    return args.trials, 60 * args.trials / seconds


def pin_to_core(core):
    """Pin every thread of this process to one core (a one-core Dask worker)."""
    for thread in os.listdir("/proc/self/task"):
        os.sched_setaffinity(int(thread), {core})


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default=default_data_dir())
    parser.add_argument("--n-samples", type=int, default=1000)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--trials", type=int, default=8, help="trials per measurement")
    parser.add_argument("--mode", action="append", choices=("study", "dask", "reference"))
    parser.add_argument("--param", action="append", default=[], type=parse_param)
    args = parser.parse_args()
    params = {"img_size": 64, "max_epochs": 1, **dict(args.param)}
    modes = args.mode or ["study", "dask", "reference"]
    cores = os.cpu_count()
    faces = load_faces(args.data, args.n_samples) if "dask" in modes else None
    rows = []
    with throwaway_postgres() as server:
        for mode in modes:
            if mode == "reference":
                rows.append(("1 process, %d threads" % cores, 1,
                             *study_throughput(server, args, params, 1, cores)))
                continue
            for workers in (1, 2):
                if mode == "study":
                    result = study_throughput(server, args, params, workers, 1)
                else:
                    result = dask_throughput(args, params, faces, workers)
                rows.append((f"{mode}, {workers} worker(s) x 1 thread", workers, *result))
                print(f"{rows[-1][0]}: {rows[-1][3]:.2f} trials/min", flush=True)

    print("\n--- results ---")
    print(f"command: {' '.join([os.path.basename(sys.executable)] + sys.argv)}")
    print(f"machine: {cores} cores; {args.n_samples} faces, {args.cv} folds, {params}")
    print(f"{'setting':>34} {'trials':>6} {'trials/min':>10} {'speed-up':>8}")
    single = {row[0].split(",")[0]: row[3] for row in rows if row[1] == 1}
    for name, workers, trials, per_minute in rows:
        base = single.get(name.split(",")[0], per_minute)
        print(f"{name:>34} {trials:6d} {per_minute:10.2f} {per_minute / base:7.2f}x")


if __name__ == "__main__":
    main()
