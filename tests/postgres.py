"""A real, throwaway PostgreSQL server for the tests: Debian's `postgresql` package, initdb into a
temporary folder as an unprivileged user, a free loopback port, stopped (and removed) at the end.

initdb and postgres refuse to run as root: under root the folder is given to the `postgres`
user the package creates and every server command runs through `runuser -u postgres`.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: Where Debian puts the server binaries (one folder per major version); PG_BIN overrides.
_BIN_GLOB = "/usr/lib/postgresql/*/bin"
USER, PASSWORD = "lookalike", "s3cret-pw"


def server_bin() -> Path | None:
    """The folder holding initdb and postgres, or None when no server is installed."""
    override = os.environ.get("PG_BIN")
    candidates = [override] if override else sorted(glob.glob(_BIN_GLOB), reverse=True)
    on_path = shutil.which("initdb")
    if on_path and not override:
        candidates.append(str(Path(on_path).parent))
    for folder in candidates:
        if folder and (Path(folder) / "initdb").is_file() and (Path(folder) / "pg_ctl").is_file():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """One running server; `database()` gives each test an empty database of its own."""

    bin: Path
    folder: Path
    port: int
    as_root: bool
    #: fsync on, as a real server runs (the benchmark); the tests turn it off to save time.
    durable: bool = False
    _numbers: itertools.count = itertools.count(1)

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)

    def url(self, database: str = "postgres", password: str = PASSWORD) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """The URL of a new, empty database."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._numbers)}"
        with psycopg.connect(self.url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def start(self) -> None:
        data = self.folder / "data"
        pwfile = self.folder / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={pwfile}",
            "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8",
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.folder / "log"), "-w", "-t", "60",
            "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder}" + ("" if self.durable else " -c fsync=off"),
            "start",
        )

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def start_server(durable: bool = False) -> Server | str:
    """A started server, or why none can start (the reason a test skips with)."""
    folder = server_bin()
    if folder is None:
        return f"no PostgreSQL server binaries (looked in {_BIN_GLOB} and PATH; apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[postgres]')"
    as_root = os.geteuid() == 0
    server = Server(folder, Path(tempfile.mkdtemp(prefix="lookalike-pg-")), _free_port(), as_root, durable)
    server.start()
    return server
