"""deploy/compose.yaml, checked offline: Docker does not run here, so the file is validated
against the Compose Specification's JSON schema (the copy check-jsonschema vendors), then
checked for the mistakes a schema cannot see: references to services, files and
variables that do not exist, colliding ports, settings ledgerd would refuse."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from ledgerd.config import ConfigError, Settings, load_settings
from ledgerd.stack import SEARCH_ATTRIBUTES

DEPLOY = Path(__file__).parent.parent / "deploy"
REPO = DEPLOY.parent
LEDGERD_SERVICES = ("migrate", "worker", "api")
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}")


def _interpolate(text: str) -> str:
    """What `docker compose config` does with an empty environment: `${X:-d}` becomes d."""

    def value(match: re.Match[str]) -> str:
        assert match["op"] in (":-", "-"), f"{match[0]} has no default: compose needs it set"
        return match["default"]

    return _VARIABLE.sub(value, text)


def _load(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load(_interpolate((DEPLOY / name).read_text()))
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load("compose.yaml")


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every service of the stack, the included observability file's too."""
    merged: dict[str, dict[str, Any]] = dict(compose["services"])
    for include in compose.get("include", []):
        included = _load(include["path"])["services"]
        assert not set(included) & set(merged), "an included service name is taken"
        merged.update(included)
    return merged


def _schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json"
    loaded = json.loads(vendored.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.mark.parametrize("name", ["compose.yaml", "docker-compose.observability.yml"])
def test_the_files_follow_the_compose_specification(name: str) -> None:
    document = _load(name)
    schema = _schema()
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(document), key=lambda e: e.path
    )
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_a_broken_file_is_caught_by_the_schema() -> None:
    """The schema check is not vacuous: a misspelt key fails it."""
    broken = {"services": {"worker": {"image": "ledgerd:local", "restrat": "always"}}}
    assert list(jsonschema.Draft202012Validator(_schema()).iter_errors(broken))


def test_every_reference_names_something_defined(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    for name, service in services.items():
        depends = service.get("depends_on", {})
        for dependency, condition in depends.items() if isinstance(depends, dict) else []:
            assert dependency in services, f"{name} depends on undefined {dependency}"
            wanted = condition["condition"]
            if wanted == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
            if wanted == "service_completed_successfully":  # a one-shot job, not a server
                assert "ports" not in services[dependency], dependency
                assert str(services[dependency].get("restart", "")).startswith("on-failure")
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY / source).is_file(), f"{name} mounts missing {source}"
            else:
                assert source in compose.get("volumes", {}), f"{name}: undefined volume {source}"
        environment = service.get("environment", {})
        if isinstance(environment, dict):
            for variable, value in environment.items():
                host = _host_of(str(value))
                if host is not None and variable != "TEMPORAL_CORS_ORIGINS":
                    assert host in services, f"{name}: {variable} points at undefined {host}"


def _host_of(value: str) -> str | None:
    """The host a URL or `host:port` names, or None for a value that is neither."""
    match = re.match(r"^(?:[a-z0-9+]+://)?(?:[^@/]+@)?([a-z][a-z0-9-]*):\d+(?:/|$)", value)
    if match is None or match[1] in ("localhost",):
        return None
    return match[1]


def test_published_ports_do_not_collide(services: dict[str, dict[str, Any]]) -> None:
    published = [str(port).split(":")[-2] for s in services.values() for port in s.get("ports", [])]
    assert [port for port, n in Counter(published).items() if n > 1] == []
    assert {"7233", "8080", "8000", "4317", "4318", "16686"} <= set(published)


def test_images_are_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: {image}"


def test_ledgerd_services_get_settings_ledgerd_accepts(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Every LEDGERD_* variable is a real setting (a typo would be ignored silently), and the
    whole environment passes ledgerd's validation."""
    monkeypatch.chdir(tmp_path)  # no .env
    fields = {f"LEDGERD_{name.upper()}" for name in Settings.model_fields}
    for name in LEDGERD_SERVICES:
        environment = services[name]["environment"]
        unknown = {v for v in environment if v.startswith("LEDGERD_")} - fields
        assert not unknown, f"{name}: {unknown} are not ledgerd settings"
        for variable, value in environment.items():
            monkeypatch.setenv(variable, str(value))
        try:
            load_settings()
        except ConfigError as error:
            pytest.fail(f"{name}: {error}")


def test_commands_run_what_the_image_has(services: dict[str, dict[str, Any]]) -> None:
    from ledgerd.cli import app

    commands = {command.name or command.callback.__name__ for command in app.registered_commands}  # type: ignore[union-attr]
    for name in LEDGERD_SERVICES:
        argv = services[name]["command"]
        if argv[:2] == ["python", "-m"]:
            module = argv[2].replace(".", "/")
            assert (REPO / f"{module}.py").is_file() or (REPO / module / "__main__.py").is_file()
        else:
            assert argv[0] == "ledgerd" and argv[1] in commands, argv


def test_workers_drain_within_the_stop_grace_period(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    drain = int(worker["environment"]["LEDGERD_WORKER_GRACEFUL_SHUTDOWN_SECONDS"])
    grace = int(worker["stop_grace_period"].removesuffix("s"))
    assert grace > drain
    assert int(worker["deploy"]["replicas"]) >= 2  # N workers by default
    assert worker["healthcheck"]["test"][-1].count("8081") == 1
    assert worker["environment"]["LEDGERD_WORKER_HEALTH_PORT"] == "8081"


def test_the_temporal_setup_declares_ledgerd_search_attributes() -> None:
    script = (DEPLOY / "temporal" / "create-namespace.sh").read_text()
    loop = re.search(r"for name in ([A-Za-z ]+); do", script)
    assert loop is not None
    assert set(shlex.split(loop[1])) == set(SEARCH_ATTRIBUTES)
    assert all(kind == "Keyword" for kind in SEARCH_ATTRIBUTES.values())
    assert "--type Keyword" in script


def _shellcheck(*paths: Path) -> subprocess.CompletedProcess[str]:
    shellcheck = Path(sys.executable).parent / "shellcheck"
    return subprocess.run(
        [str(shellcheck), "--shell=sh", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_setup_scripts_pass_shellcheck(tmp_path: Path) -> None:
    """They run inside Temporal's admin-tools image, which does not run here: check them
    statically (POSIX sh, as that image's /bin/sh is)."""
    scripts = sorted((DEPLOY / "temporal").glob("*.sh"))
    assert len(scripts) == 2
    checked = _shellcheck(*scripts)
    assert checked.returncode == 0, checked.stdout
    unquoted = tmp_path / "bad.sh"
    unquoted.write_text("#!/bin/sh\nrm -rf $1/data\n")
    assert _shellcheck(unquoted).returncode != 0  # the check is not vacuous
