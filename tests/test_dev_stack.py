"""`ledgerd dev` end to end: real servers in real child processes, no mocks.

Every stack gets its own state folder and ports from `free_port()`, passed through the
`LEDGERD_*` variables, so these tests never collide with a developer's stack on the default
ports (or with each other). One background stack is shared by the module's first tests, to
keep the suite fast; the crash and Ctrl-C tests start their own foreground supervisors.
Every fixture stops what it started, and kills anything left over, even when a test fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]  # no stubs installed
import psycopg
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from ledgerd.config import load_settings
from ledgerd.stack import free_port
from ledgerd.temporal_runtime import temporal_runtime

CLI = [sys.executable, "-m", "ledgerd.cli"]
PORT_VARIABLES = (
    "LEDGERD_TEMPORAL_PORT",
    "LEDGERD_TEMPORAL_UI_PORT",
    "LEDGERD_POSTGRES_PORT",
    "LEDGERD_OFFLINE_MODEL_PORT",
    "LEDGERD_API_PORT",
)
# A developer's shell may point these at real infrastructure: the embedded stack must not see them.
EXTERNAL_VARIABLES = (
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "DATABASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
)
DESCRIPTOR = "SQ *BLUE BOTTLE COFF OAKLAND CA"


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    """The processes that still run (a zombie has already released everything it held)."""
    running = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                running.append(process)
        except psutil.NoSuchProcess:
            pass
    return running


def refuses_connections(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) != 0


@dataclass
class DevStack:
    """A state folder, its ports, and `ledgerd` commands run against them."""

    folder: Path
    ports: dict[str, int]
    extra_env: dict[str, str] = field(default_factory=dict)
    supervisors: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @classmethod
    def fresh(cls, **extra_env: str) -> DevStack:
        # Under /tmp rather than pytest's 0700 basetemp: PostgreSQL runs as the `pgserver`
        # user when we are root and must traverse the parents of its data folder.
        folder = Path(tempfile.mkdtemp(prefix="ledgerd-dev-test-")).resolve()
        return cls(folder, {name: free_port() for name in PORT_VARIABLES}, extra_env)

    @property
    def state_dir(self) -> Path:
        return self.folder / "state"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.ports['LEDGERD_TEMPORAL_PORT']}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['LEDGERD_TEMPORAL_UI_PORT']}"

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports['LEDGERD_POSTGRES_PORT']}/ledgerd"

    @property
    def model_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['LEDGERD_OFFLINE_MODEL_PORT']}"

    @property
    def env(self) -> dict[str, str]:
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.upper().startswith("LEDGERD_") and name.upper() not in EXTERNAL_VARIABLES
        }
        env.update({name: str(port) for name, port in self.ports.items()})
        env["LEDGERD_STATE_DIR"] = str(self.state_dir)
        env.update(self.extra_env)
        return env

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        # The working folder is ours too, so a developer's `.env` cannot leak in.
        return subprocess.run(
            [*CLI, *args],
            env=self.env,
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def foreground(self) -> subprocess.Popen[bytes]:
        """`ledgerd dev` in the foreground, in its own process group as if in a terminal."""
        with (self.folder / "foreground.log").open("ab") as out:
            supervisor = subprocess.Popen(
                [*CLI, "dev"],
                env=self.env,
                cwd=self.folder,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.supervisors.append(supervisor)
        return supervisor

    def foreground_output(self) -> str:
        log = self.folder / "foreground.log"
        return log.read_text(errors="replace") if log.exists() else ""

    def state(self) -> dict[str, object] | None:
        try:
            loaded: dict[str, object] = json.loads((self.state_dir / "dev.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return loaded

    def wait_ready(self, supervisor: subprocess.Popen[bytes], timeout: float = 90) -> None:
        def ready() -> bool:
            if supervisor.poll() is not None:
                raise AssertionError(
                    f"ledgerd dev exited with {supervisor.returncode}:\n{self.foreground_output()}"
                )
            state = self.state()
            return state is not None and state.get("pid") == supervisor.pid and bool(state["ready"])

        wait_for(ready, timeout, "ledgerd dev to be ready")

    def supervisor(self) -> psutil.Process:
        state = self.state()
        assert state is not None, "no state file: the stack is not running"
        pid = state["pid"]
        assert isinstance(pid, int)
        return psutil.Process(pid)

    def leftovers(self) -> list[psutil.Process]:
        """Every process that belongs to this stack: it names the state folder or one of the
        ports on its command line, or inherited the state folder in its environment (the
        worker and PostgreSQL's own workers name neither)."""
        state_dir = str(self.state_dir)
        port_args = {str(port) for port in self.ports.values()}
        found = []
        for process in psutil.process_iter():
            if process.pid == os.getpid():
                continue
            try:
                cmdline = process.cmdline()
                environ = process.environ()
                zombie = process.status() == psutil.STATUS_ZOMBIE
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            if zombie:
                continue
            if (
                any(state_dir in arg or arg in port_args for arg in cmdline)
                or environ.get("LEDGERD_STATE_DIR") == state_dir
            ):
                found.append(process)
        return found

    def cleanup(self) -> None:
        """Stop the stack, then kill whatever survived; never raise."""
        for supervisor in self.supervisors:
            if supervisor.poll() is None:
                supervisor.send_signal(signal.SIGINT)
                try:
                    supervisor.wait(60)
                except subprocess.TimeoutExpired:
                    supervisor.kill()
                    supervisor.wait()
        if self.state() is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.run("dev", "--down", timeout=90)
        survivors = self.leftovers()
        for process in survivors:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(survivors, timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[DevStack, str]]:
    """One `ledgerd dev --background` for the module; yields it with what the start printed."""
    dev = DevStack.fresh()
    try:
        started = dev.run("dev", "--background", timeout=200)
        assert started.returncode == 0, started.stdout + started.stderr
        yield dev, started.stdout
    finally:
        dev.cleanup()


@pytest.fixture
def own_stack() -> Iterator[Callable[..., DevStack]]:
    """Fresh stacks for one test, all cleaned up afterwards."""
    made: list[DevStack] = []

    def make(**extra_env: str) -> DevStack:
        made.append(DevStack.fresh(**extra_env))
        return made[-1]

    try:
        yield make
    finally:
        for dev in made:
            dev.cleanup()


# --- the shared background stack ------------------------------------------------------------


def test_background_start_prints_every_endpoint(stack: tuple[DevStack, str]) -> None:
    dev, printed = stack
    assert "ledgerd dev is up (background)" in printed
    assert f"Temporal        {dev.temporal_address}  (namespace default)" in printed
    assert f"Temporal UI     {dev.ui_url}" in printed
    assert f"PostgreSQL      {dev.database_url}" in printed
    assert f"offline model (deterministic stand-in) at {dev.model_url}" in printed
    assert "ledgerd dev --down" in printed


def test_temporal_ui_answers(stack: tuple[DevStack, str]) -> None:
    dev, _ = stack
    deadline = time.monotonic() + 20
    while True:
        try:
            response = httpx.get(dev.ui_url, timeout=5, follow_redirects=True)
            if response.status_code == 200 or time.monotonic() > deadline:
                break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.3)
    assert response.status_code == 200
    # The UI is wired to this stack's Temporal: its API proxies the namespace list.
    namespaces = httpx.get(f"{dev.ui_url}/api/v1/namespaces", timeout=10)
    assert namespaces.status_code == 200
    assert "default" in {n["namespaceInfo"]["name"] for n in namespaces.json()["namespaces"]}


def test_postgres_has_the_migrations_applied(stack: tuple[DevStack, str]) -> None:
    from ledgerd.db._migrate import bundled_migrations

    dev, _ = stack
    with psycopg.connect(dev.database_url, connect_timeout=5) as conn:
        applied = [v for (v,) in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
        extensions = {e for (e,) in conn.execute("SELECT extname FROM pg_extension")}
    assert applied == [m.version for m in bundled_migrations()]
    assert {"vector", "pg_trgm"} <= extensions


@pytest.mark.parametrize("mode", ["foreground", "background"])
def test_a_second_dev_says_where_the_first_is_and_leaves_it_alone(
    stack: tuple[DevStack, str], mode: str
) -> None:
    dev, _ = stack
    supervisor = dev.supervisor()
    # The supervisor's own children (servers, worker, API): the same processes afterwards
    # means nothing was restarted. Their children come and go by themselves (PostgreSQL
    # forks a backend per connection and autovacuum workers), so they are not compared.
    children = {p.pid for p in supervisor.children()}
    state_before = dev.state()

    # It gives up instead of waiting: the run's timeout fails the test if it hangs (no
    # timing assertion: the machine may be loaded).
    second = dev.run("dev", *(["--background"] if mode == "background" else []), timeout=60)

    output = second.stdout + second.stderr
    assert "already running" in output
    assert dev.ui_url in output and dev.temporal_address in output
    # A foreground start cannot do what was asked; `--background` wanted a running stack.
    assert second.returncode == (1 if mode == "foreground" else 0), output
    assert dev.state() == state_before
    assert supervisor.is_running()
    assert {p.pid for p in supervisor.children()} == children
    assert httpx.get(dev.ui_url, timeout=5).status_code == 200


def test_external_infrastructure_replaces_the_embedded_parts(
    stack: tuple[DevStack, str], own_stack: Callable[..., DevStack]
) -> None:
    shared, _ = stack
    # The shared stack's servers stand in for a real cluster, database and model endpoint;
    # the password must never reach the terminal.
    external_db = shared.database_url.replace("postgres@", "postgres:s3cret-pw@")
    dev = own_stack(
        TEMPORAL_ADDRESS=shared.temporal_address,
        DATABASE_URL=external_db,
        ANTHROPIC_BASE_URL=shared.model_url,
    )

    started = dev.run("dev", "--background", timeout=120)

    output = started.stdout + started.stderr
    assert started.returncode == 0, output
    assert f"Temporal        {shared.temporal_address}" in output
    assert "external cluster" in output
    assert shared.database_url.replace("postgres@", "postgres:***@") in output
    assert "s3cret-pw" not in output
    assert f"Anthropic at {shared.model_url}" in output
    # Only ledgerd's own processes run: no embedded server, no data folders, no server ports.
    children = dev.supervisor().children(recursive=True)
    modules = {c.cmdline()[2] for c in children}
    assert "worker" in modules
    assert modules <= {"worker", "ledgerd.api"}, modules
    assert not (dev.state_dir / "postgres").exists()
    assert not (dev.state_dir / "temporal").exists()
    embedded = [port for name, port in dev.ports.items() if name != "LEDGERD_API_PORT"]
    assert all(refuses_connections(port) for port in embedded)

    # What `--down` sends (the shared stack's test covers the command itself).
    dev.supervisor().terminate()
    wait_for(lambda: dev.leftovers() == [], 30, "the stack to stop")
    assert alive(children) == []


async def test_vendor_hydration_completes_through_the_stacks_worker(
    stack: tuple[DevStack, str],
) -> None:
    # (Late in the module: the stack's worker has long finished starting by now.)
    from accounting.principals import load_principal
    from demo_seed import seed_demo_data
    from ledgerd.db import open_pool
    from starter import connect, start_vendor_hydration

    dev, _ = stack
    pool = await open_pool(dev.database_url, max_size=2)
    try:
        await seed_demo_data(pool)
        principal = await load_principal(pool, "acme-service")
    finally:
        await pool.close()

    # A client of this stack shares its state folder's generated keys, as `ledgerd` commands
    # run in it do; the test process's own keys (conftest) would encrypt what its worker
    # cannot read.
    settings = load_settings(
        temporal_address=dev.temporal_address,
        database_url=dev.database_url,
        state_dir=dev.state_dir,
        payload_keys=None,
        signing_keys=None,
    )
    client = await connect(settings)
    handle = await start_vendor_hydration(
        client, principal=principal, descriptor=DESCRIPTOR, task_queue="ledgerd"
    )
    result = await asyncio.wait_for(handle.result(), timeout=90)

    assert result.outcome == "completed", result.reason
    assert result.answer is not None
    assert result.answer["canonical_name"] == "Blue Bottle Coffee"
    with psycopg.connect(dev.database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM bank_transactions WHERE tenant_id = 'acme' "
            "AND raw_descriptor = %s AND vendor_id IS NULL",
            (DESCRIPTOR,),
        ).fetchone()
    assert row == (0,), "the stack's worker should have linked every matching transaction"


def test_down_stops_everything(stack: tuple[DevStack, str]) -> None:
    dev, _ = stack
    supervisor = dev.supervisor()
    started = [supervisor, *supervisor.children(recursive=True)]
    assert len(dev.leftovers()) >= 4  # supervisor, PostgreSQL (+ its workers), Temporal, ...

    stopped = dev.run("dev", "--down", timeout=90)

    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert f"stopped ledgerd dev (pid {supervisor.pid})" in stopped.stdout
    assert alive(started) == []
    assert dev.leftovers() == []
    assert not (dev.state_dir / "dev.json").exists()
    assert all(refuses_connections(port) for port in dev.ports.values())

    # A state file left by a killed supervisor whose pid now belongs to another process.
    decoy = subprocess.Popen(["sleep", "120"])
    try:
        (dev.state_dir / "dev.json").write_text(json.dumps({"pid": decoy.pid, "ready": True}))
        again = dev.run("dev", "--down", timeout=30)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "not running (cleared a stale state file)" in again.stdout
        assert decoy.poll() is None, "--down signalled a process that is not ledgerd dev"
    finally:
        decoy.kill()
        decoy.wait()
    assert dev.state() is None


# --- stacks of their own ----------------------------------------------------------------------


def test_a_taken_port_names_the_port_and_the_variable(own_stack: Callable[..., DevStack]) -> None:
    dev = own_stack()
    port = dev.ports["LEDGERD_TEMPORAL_PORT"]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = dev.run("dev", timeout=60)
        leftovers = dev.leftovers()

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"port {port}" in output
    assert "LEDGERD_TEMPORAL_PORT" in output
    assert "Traceback" not in output
    assert leftovers == []
    assert dev.state() is None


def test_crash_of_the_supervisor_kills_its_children_and_a_restart_recovers(
    own_stack: Callable[..., DevStack],
) -> None:
    dev = own_stack()
    first = dev.foreground()
    dev.wait_ready(first)
    children = psutil.Process(first.pid).children(recursive=True)
    assert len(children) >= 4

    # Data written before the crash: a row, and a workflow in Temporal's SQLite file.
    with psycopg.connect(dev.database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE crash_probe (note text)")
        conn.execute("INSERT INTO crash_probe VALUES ('written before the crash')")

    async def start_probe_workflow() -> None:
        client = await Client.connect(dev.temporal_address, runtime=temporal_runtime())
        await client.start_workflow("CrashProbe", id="crash-probe", task_queue="crash-probe")

    asyncio.run(start_probe_workflow())

    # A developer's psql session stays connected through the crash.
    with psycopg.connect(dev.database_url, autocommit=True) as session:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        wait_for(lambda: alive(children) == [], 10, "the children of the killed supervisor")
        with pytest.raises(psycopg.OperationalError):
            session.execute("SELECT 1")
    assert dev.leftovers() == []
    left_behind = dev.state()
    assert left_behind is not None and left_behind["pid"] == first.pid

    # By the time somebody restarts, the pids in the files left behind may name strangers
    # (PostgreSQL's own lock file too, had it been killed with the machine).
    decoy = subprocess.Popen(["sleep", "120"])
    try:
        (dev.state_dir / "dev.json").write_text(json.dumps({**left_behind, "pid": decoy.pid}))
        (dev.state_dir / "postgres" / "postmaster.pid").write_text(
            f"{decoy.pid}\n{dev.state_dir / 'postgres'}\n"
        )

        restarted = dev.run("dev", "--background", timeout=200)

        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        assert "ledgerd dev is up (background)" in restarted.stdout
        assert decoy.poll() is None, "the restart signalled a process that is not ledgerd's"
        with psycopg.connect(dev.database_url) as conn:
            assert conn.execute("SELECT note FROM crash_probe").fetchall() == [
                ("written before the crash",)
            ]

        async def probe_status() -> WorkflowExecutionStatus | None:
            client = await Client.connect(dev.temporal_address, runtime=temporal_runtime())
            return (await client.get_workflow_handle("crash-probe").describe()).status

        assert asyncio.run(probe_status()) == WorkflowExecutionStatus.RUNNING

    finally:
        decoy.kill()
        decoy.wait()
    dev.supervisor().terminate()  # what `--down` sends
    wait_for(lambda: dev.leftovers() == [], 30, "the restarted stack to stop")
    assert dev.state() is None


def test_ctrl_c_stops_every_child_and_exits_0(own_stack: Callable[..., DevStack]) -> None:
    dev = own_stack()
    supervisor = dev.foreground()
    dev.wait_ready(supervisor)
    children = psutil.Process(supervisor.pid).children(recursive=True)
    assert len(children) >= 4

    # The terminal sends SIGINT to the whole foreground process group.
    os.killpg(supervisor.pid, signal.SIGINT)

    assert supervisor.wait(60) == 0, dev.foreground_output()
    assert "ledgerd dev stopped" in dev.foreground_output()
    # Under a loaded machine a child may still be exiting when the supervisor returns.
    wait_for(lambda: alive(children) == [], 15, "every child to exit")
    assert dev.leftovers() == []
    assert dev.state() is None
    assert all(refuses_connections(port) for port in dev.ports.values())
