"""`ledgerd dev`: start, supervise and stop the embedded stack.

Each part is replaced by real infrastructure when its variable is set: `TEMPORAL_ADDRESS`,
`DATABASE_URL`, `ANTHROPIC_API_KEY`/`ANTHROPIC_BASE_URL`. An exclusive lock on the state folder
makes a second `ledgerd dev` say where the first one is instead of fighting it for ports and
data files; the kernel releases that lock when the supervisor dies, however it dies, so a
crash needs no manual clean-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ledgerd.config import Settings
from ledgerd.connection import EMBEDDED, resolve_connection
from ledgerd.db import apply_migrations
from ledgerd.stack._postgres import EmbeddedPostgres
from ledgerd.stack._process import ensure_port_free, log_tail, spawn, stop
from ledgerd.stack._temporal import EmbeddedTemporal

# A child that dies more often than this within the window is broken, not unlucky.
_MAX_RESTARTS = 5
_RESTART_WINDOW = 60.0


class AlreadyRunning(Exception):
    """Another `ledgerd dev` holds the state folder."""


@dataclass
class _Child:
    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Endpoints:
    temporal_address: str
    temporal_ui: str | None
    namespace: str
    database_url: str
    model_base_url: str
    offline_model: bool
    api_url: str

    def lines(self) -> list[str]:
        model = "offline model (deterministic stand-in)" if self.offline_model else "Anthropic"
        return [
            f"Temporal        {self.temporal_address}  (namespace {self.namespace})",
            f"Temporal UI     {self.temporal_ui or 'external cluster: use its own UI'}",
            f"PostgreSQL      {redact_url(self.database_url)}",
            f"Model           {model} at {self.model_base_url}",
            f"HTTP API        {self.api_url}  (OpenAPI docs: {self.api_url}/docs)",
        ]


def redact_url(url: str) -> str:
    """Hide a password in a connection URL before it reaches a terminal or log."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


def state_file(settings: Settings) -> Path:
    return settings.state_dir / "dev.json"


def is_running(settings: Settings) -> bool:
    """Whether a `ledgerd dev` holds the state folder's lock.

    Unlike the pid in the state file, the lock cannot outlive its supervisor: the kernel drops
    it when the supervisor dies, and a pid left behind by a crash may name an unrelated process
    by now (or a zombie that its parent has not reaped yet).
    """
    try:
        probe = (settings.state_dir / "dev.lock").open("r")
    except FileNotFoundError:
        return False
    with probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def read_state(settings: Settings) -> dict[str, object] | None:
    try:
        loaded: dict[str, object] = json.loads(state_file(settings).read_text())
        return loaded
    except (FileNotFoundError, json.JSONDecodeError):
        return None


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state_dir = settings.state_dir.resolve()
        self.logs = self.state_dir / "logs"
        self.postgres: EmbeddedPostgres | None = None
        self.temporal: EmbeddedTemporal | None = None
        self.children: list[_Child] = []
        self._lock: IO[str] | None = None
        self._stopping = False
        # Nothing names a Temporal server (variable, profile or setting): serve our own.
        self._embedded_temporal = resolve_connection(settings).address_source == EMBEDDED

    def _acquire(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        lock = (self.state_dir / "dev.lock").open("a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            state = read_state(self.settings) or {}
            lock.close()
            raise AlreadyRunning(
                f"ledgerd dev is already running (pid {state.get('pid', '?')}) on "
                f"{self.state_dir}; stop it with `ledgerd dev --down`"
            ) from None
        self._lock = lock

    def _check_ports(self) -> None:
        s = self.settings
        if self._embedded_temporal:
            ensure_port_free(s.temporal_port, "Temporal", "LEDGERD_TEMPORAL_PORT")
            ensure_port_free(s.temporal_ui_port, "the Temporal UI", "LEDGERD_TEMPORAL_UI_PORT")
        if s.database_url is None:
            ensure_port_free(s.postgres_port, "PostgreSQL", "LEDGERD_POSTGRES_PORT")
        if s.uses_offline_model:
            ensure_port_free(
                s.offline_model_port, "the offline model", "LEDGERD_OFFLINE_MODEL_PORT"
            )
        ensure_port_free(s.api_port, "the HTTP API", "LEDGERD_API_PORT")

    def endpoints(self) -> Endpoints:
        s = self.settings
        temporal = resolve_connection(s)
        return Endpoints(
            temporal_address=temporal.address,
            temporal_ui=f"http://127.0.0.1:{s.temporal_ui_port}"
            if self._embedded_temporal
            else None,
            namespace=temporal.namespace,
            database_url=s.effective_database_url,
            model_base_url=s.model_base_url,
            offline_model=s.uses_offline_model,
            api_url=f"http://127.0.0.1:{s.api_port}",
        )

    def up(self) -> Endpoints:
        """Start every part that is not external; return where each part is."""
        self._acquire()
        self._check_ports()
        s = self.settings
        if s.database_url is None:
            self.postgres = EmbeddedPostgres(self.state_dir / "postgres", s.postgres_port)
            self.postgres.start(self.logs / "postgres.log")
        asyncio.run(apply_migrations(s.effective_database_url))
        if self._embedded_temporal:
            self.temporal = EmbeddedTemporal(
                self.state_dir / "temporal",
                s.temporal_port,
                s.temporal_ui_port,
                s.temporal_namespace,
                codec_endpoint=f"http://127.0.0.1:{s.api_port}/codec/ui/{self._codec_ui_key()}",
            )
            self.temporal.start(self.logs / "temporal.log")
        python = sys.executable
        if s.uses_offline_model:
            self._start(
                _Child(
                    "offline-model",
                    [python, "-m", "standin", "--port", str(s.offline_model_port)],
                    self.logs / "offline-model.log",
                )
            )
        self._start(_Child("worker", [python, "-m", "worker"], self.logs / "worker.log"))
        self._start(
            _Child(
                "api",
                [python, "-m", "ledgerd.api", "--port", str(s.api_port)],
                self.logs / "api.log",
            )
        )
        endpoints = self.endpoints()
        state_file(self.settings).write_text(
            json.dumps({"pid": os.getpid(), "ready": True, "endpoints": endpoints.lines()})
        )
        return endpoints

    def _codec_ui_key(self) -> str:
        """The local UI's capability path to the codec server, generated once per state dir."""
        if self.settings.codec_ui_key is not None:
            return self.settings.codec_ui_key.get_secret_value()
        path = self.state_dir / "keys" / "codec-ui.key"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(24))
        return path.read_text().strip()

    def _child_env(self) -> dict[str, str]:
        s = self.settings
        env = dict(os.environ)
        env["DATABASE_URL"] = s.effective_database_url
        if self._embedded_temporal:  # otherwise the children resolve the same profile themselves
            env["TEMPORAL_ADDRESS"] = s.effective_temporal_address
        # Children share the state folder's generated dev keys (unless keys are configured).
        env["LEDGERD_STATE_DIR"] = str(self.state_dir)
        if s.uses_offline_model:
            # The dev stack runs the stand-in itself: say so explicitly, since a worker with no
            # model configured otherwise refuses to start (it would send prompts to whatever
            # listens on the stand-in's port).
            env["LEDGERD_OFFLINE_MODEL"] = "true"
        if self._embedded_temporal:
            env["LEDGERD_CODEC_UI_KEY"] = self._codec_ui_key()
            env["LEDGERD_CODEC_CORS_ORIGINS"] = (
                f"http://127.0.0.1:{s.temporal_ui_port},http://localhost:{s.temporal_ui_port}"
            )
        return env

    def _start(self, child: _Child) -> None:
        child.process = spawn(child.argv, log=child.log, env=self._child_env())
        if child not in self.children:
            self.children.append(child)

    def supervise(self) -> None:
        """Restart children that die, until asked to stop; give up on one that keeps dying."""
        while not self._stopping:
            time.sleep(0.5)
            for part, name in ((self.postgres, "PostgreSQL"), (self.temporal, "Temporal")):
                if (
                    part is not None
                    and part.process is not None
                    and part.process.poll() is not None
                ):
                    raise RuntimeError(f"{name} stopped unexpectedly; see {self.logs}")
            for child in self.children:
                if self._stopping or child.process is None or child.process.poll() is None:
                    continue
                now = time.monotonic()
                child.restarts = [t for t in child.restarts if now - t < _RESTART_WINDOW]
                if len(child.restarts) >= _MAX_RESTARTS:
                    raise RuntimeError(
                        f"{child.name} keeps exiting; its log ends:\n{log_tail(child.log)}"
                    )
                child.restarts.append(now)
                print(
                    f"ledgerd dev: {child.name} exited ({child.process.returncode}); restarting",
                    flush=True,
                )
                self._start(child)

    def request_stop(self, *_: object) -> None:
        self._stopping = True

    def down(self) -> None:
        """Stop every child this stack started, newest first."""
        self._stopping = True
        for child in reversed(self.children):
            if child.process is not None:
                stop(child.process, sig=signal.SIGTERM)
        if self.temporal is not None:
            self.temporal.stop()
        if self.postgres is not None:
            self.postgres.stop()
        state_file(self.settings).unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.close()


def _wait_exit(pid: int, until: float) -> None:
    while time.monotonic() < until:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        try:  # our own child (started by --background in this process) must be reaped
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        time.sleep(0.05)


def stop_background(settings: Settings, timeout: float = 60) -> str:
    """Stop a `ledgerd dev` running in the background; say what happened."""
    state = read_state(settings)
    if not is_running(settings):
        if state is None:
            return "ledgerd dev is not running"
        # Left by a supervisor that was killed: its pid may belong to someone else by now.
        state_file(settings).unlink(missing_ok=True)
        return "ledgerd dev was not running (cleared a stale state file)"
    pid = None if state is None else state.get("pid")
    if not isinstance(pid, int):
        return "ledgerd dev is still starting; run `ledgerd dev --down` again once it is up"
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(settings):
            # The lock goes a moment before the process: let it finish exiting, so whoever
            # called --down can rely on nothing of the stack being left.
            _wait_exit(pid, until=min(deadline, time.monotonic() + 5))
            return f"stopped ledgerd dev (pid {pid})"
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return f"ledgerd dev (pid {pid}) did not stop in {timeout:.0f}s and was killed"
