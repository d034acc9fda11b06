"""Real servers the scale tests start on this machine, on loopback only, and stop at the end:
a PostgreSQL cluster (Debian's ``postgresql``: ``initdb`` into a temp folder) and a Dask
scheduler with worker processes. Without them the tests skip and say why;
``COURSE_LIB_REQUIRE_SERVERS=1`` (set by ``.ci/run``) turns the skip into a failure."""
from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest


def _missing(why: str):
    if os.environ.get("COURSE_LIB_REQUIRE_SERVERS") == "1":
        pytest.fail(f"{why} (COURSE_LIB_REQUIRE_SERVERS=1: .ci/run installs it)")
    pytest.skip(why)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """The folder of PostgreSQL's server programs (initdb, pg_ctl), or None."""
    for candidate in [shutil.which("pg_config")]:
        if candidate:
            done = subprocess.run([candidate, "--bindir"], capture_output=True, text=True)
            folder = Path(done.stdout.strip())
            if (folder / "initdb").is_file():
                return folder
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return versions[-1].parent if versions else None


def require_postgres() -> Path:
    folder = postgres_bin()
    if folder is None:
        _missing("PostgreSQL's server is not installed (Debian: apt-get install postgresql)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _missing("psycopg is not installed (pip install -e '.[postgres]')")
    return folder


@contextlib.contextmanager
def postgres_server():
    """A fresh PostgreSQL cluster in a temp folder, on 127.0.0.1 (trust auth, loopback only);
    yields the SQLAlchemy URL of its empty database ``gradebook``. initdb refuses root: as
    root the server runs as Debian's ``postgres`` user (hence a folder of its own under /tmp,
    which that user can reach), removed at the end."""
    bindir = require_postgres()
    folder = Path(tempfile.mkdtemp(prefix="course-lib-pg-"))
    data, sockets = folder / "pgdata", folder / "pgsock"
    for path in (data, sockets):
        path.mkdir(parents=True)
    run_as: list[str] = []
    if os.getuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            _missing("running as root and there is no 'postgres' user to run the server as")
        for path in (folder, data, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    env = dict(os.environ, LC_ALL="C.UTF-8")
    subprocess.run(run_as + [str(bindir / "initdb"), "-D", str(data), "-U", "grader", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True, env=env)
    options = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sockets} -c fsync=off -c max_connections=60"
    subprocess.run(run_as + [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-o", options, "-w", "start"],
                   check=True, capture_output=True, env=env)
    try:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=port, user="grader", dbname="postgres", autocommit=True) as connection:
            connection.execute("CREATE DATABASE gradebook")
        yield f"postgresql+psycopg://grader@127.0.0.1:{port}/gradebook"
    finally:
        subprocess.run(run_as + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True, env=env)
        shutil.rmtree(folder, ignore_errors=True)


def require_dask() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        _missing("dask.distributed is not installed (pip install -e '.[cluster]')")


@contextlib.contextmanager
def dask_cluster(folder: Path, workers: int = 2):
    """A real Dask scheduler and ``workers`` worker processes (one thread each) on 127.0.0.1;
    yields ``(address, worker processes)``. Everything is stopped at the end."""
    require_dask()
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = open(folder / "dask.log", "ab")
    processes = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                   "--port", str(port), "--dashboard-address", ":0", "--no-show"],
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)]
    try:
        _wait_for_port(port, processes[0])
        worker_processes = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                                              "--nworkers", "1", "--no-nanny", "--host", "127.0.0.1",
                                              "--dashboard-address", ":0", "--local-directory", str(folder / f"worker{i}")],
                                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
                            for i in range(workers)]
        processes += worker_processes
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(workers, timeout=60)
        yield address, worker_processes
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Dask scheduler exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the Dask scheduler did not listen on port {port} within {timeout} s")
