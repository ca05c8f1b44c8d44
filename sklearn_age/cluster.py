"""A Dask ``LocalCluster`` whose workers suit PyTorch (needs ``sklearn-age[distributed]``)."""

import contextlib
import os

#: Dask's settings of the environment its nanny starts worker processes with.
NANNY_ENVIRON = "distributed.nanny.pre-spawn-environ"


@contextlib.contextmanager
def local_cluster(n_workers, threads_per_worker=1, **cluster_params):
    """Start a Dask ``LocalCluster`` for PyTorch fits and yield a ``Client`` of it.

    Dask's nanny starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536``, which made
    each PyTorch fit about 2.5 times slower (see the Scaling out guide): the workers
    start without it. The nanny also writes its worker environment into the
    environment of this process; ``os.environ`` is restored when the block ends.

    Parameters
    ----------
    n_workers : int
        Worker processes; one per core is the fast setting.
    threads_per_worker : int, default=1
        Threads of each worker, and so of its torch (the nanny sets ``OMP_NUM_THREADS``).
    **cluster_params
        Passed on to ``dask.distributed.LocalCluster``.

    Yields
    ------
    client : dask.distributed.Client

    Examples
    --------
    >>> import joblib  # doctest: +SKIP
    >>> with local_cluster(2) as client, joblib.parallel_backend("dask"):  # doctest: +SKIP
    ...     search.fit(paths, ages)
    """
    import dask
    from dask.distributed import Client, LocalCluster

    environ = dict(os.environ)
    params = {"dashboard_address": None, **cluster_params}
    try:
        with dask.config.set({f"{NANNY_ENVIRON}.MALLOC_TRIM_THRESHOLD_": None}), \
                LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker,
                             **params) as cluster, Client(cluster) as client:
            yield client
    finally:
        os.environ.clear()
        os.environ.update(environ)
