"""A throwaway PostgreSQL server for the tests and the scale-out benchmark."""

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile

#: Password of the server's ``postgres`` role (logins over TCP need it).
PASSWORD = "sklearn-age-test"


class MissingPostgres(RuntimeError):
    """PostgreSQL's server programs are not installed."""


def server_program(name):
    """Path of a PostgreSQL server program (Debian keeps them off the PATH)."""
    found = shutil.which(name) or max(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                                      default=None)
    if found is None:
        raise MissingPostgres(f"PostgreSQL's {name} is missing: install the server "
                              "(apt-get install -y postgresql; .ci/run does it).")
    return found


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def throwaway_postgres():
    """Start a PostgreSQL server on 127.0.0.1 in a temporary folder; yield its base URL.

    The URL logs in as ``postgres`` with :data:`PASSWORD`; append ``/dbname``. The
    server is stopped and its folder removed on exit. PostgreSQL refuses to run as
    root, so as root the server runs as the ``postgres`` user of Debian's package.
    """
    initdb, pg_ctl = server_program("initdb"), server_program("pg_ctl")
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = tempfile.mkdtemp(prefix="sklearn-age-pg-")
    data, port = os.path.join(folder, "data"), free_port()
    password_file = os.path.join(folder, "password")
    with open(password_file, "w") as handle:
        handle.write(PASSWORD)
    if as_user:
        for path in (folder, password_file):
            shutil.chown(path, "postgres")
    try:
        subprocess.run(as_user + [initdb, "-D", data, "-U", "postgres", "--pwfile",
                                  password_file, "--auth-local=trust",
                                  "--auth-host=scram-sha-256"],
                       check=True, capture_output=True)
        subprocess.run(as_user + [pg_ctl, "-D", data, "-w", "-l", os.path.join(folder, "log"),
                                  "-o", f"-h 127.0.0.1 -p {port} -k {folder}", "start"],
                       check=True, capture_output=True)
        yield f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}"
    finally:
        if os.path.isdir(data):
            subprocess.run(as_user + [pg_ctl, "-D", data, "-m", "immediate", "stop"],
                           capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def create_database(server_url, name):
    """A new, empty database on the server: returns its URL."""
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"
