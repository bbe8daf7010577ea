"""A throwaway PostgreSQL cluster for the lake's catalog: the tests' and the bench's, never the app's.

``initdb`` + ``pg_ctl start`` in a temporary folder, listening on a free loopback port (and a
Unix socket in the same folder), trust authentication for one role; ``stop()`` ends it and
removes the folder. The binaries come from Debian's ``postgresql`` package
(``/usr/lib/postgresql/<version>/bin``) or PATH. PostgreSQL refuses to run as root, so under
root the cluster runs as the ``postgres`` user (or ``nobody``) through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

ROLE = "needsmap"


def binaries() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl``, ``createdb`` and ``psql``, or None if absent."""
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if all((Path(folder) / name).exists() for name in ("initdb", "pg_ctl", "createdb", "psql")):
            return Path(folder)
    found = shutil.which("initdb")
    if found and all(shutil.which(name) for name in ("pg_ctl", "createdb", "psql")):
        return Path(found).resolve().parent
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ThrowawayPostgres:
    """One running cluster; ``dsn(database)`` is a libpq connection string for ``ROLE``."""

    def __init__(self, folder: Path | None = None) -> None:
        self.bin = binaries()
        if self.bin is None:
            raise FileNotFoundError("PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install postgresql")
        self.folder = Path(folder or tempfile.mkdtemp(prefix="needsmap-pg-"))
        self.port = _free_port()
        self._user = None
        if os.geteuid() == 0:
            self._user = next((name for name in ("postgres", "nobody") if _has_user(name)), None)
            os.chmod(self.folder, 0o755)
            os.chown(self.folder, pwd.getpwnam(self._user).pw_uid, -1)
        self.data = self.folder / "cluster"
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", ROLE, "--no-sync", "-E", "UTF8", "--locale", "C")
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", self.data, "-o", options, "-l", self.folder / "server.log", "-w", "start")

    def _run(self, program: str, *args: object) -> None:
        command = [str(self.bin / program), *map(str, args)]
        if self._user:
            command = ["runuser", "-u", self._user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.folder)

    def dsn(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={ROLE} dbname={database}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name`` (a copy of ``template`` if given); answers its connection string."""
        self._run("createdb", "-h", "127.0.0.1", "-p", self.port, "-U", ROLE,
                  *(("-T", template) if template else ()), name)
        return self.dsn(name)

    def sql(self, database: str, statement: str) -> str:
        """Run one statement with psql; answers its unaligned output."""
        command = [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", ROLE, "-d", database,
                   "-At", "-v", "ON_ERROR_STOP=1", "-c", statement]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.folder, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False
