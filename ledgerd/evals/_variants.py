"""A variant: the models per role and the prompt files a comparison runs the daemons with.

A variant reaches the activities without touching workflow code or inputs: it becomes the
environment of its own worker process (`LEDGERD_<ROLE>_MODEL`, `LEDGERD_PROMPT_DIR`,
`LEDGERD_TASK_QUEUE`), and the comparison starts each case's workflow on that worker's queue.

On the command line a variant is one of:

- `base`: the packaged prompts and the configured models;
- `key=value` pairs joined by commas, e.g. `executor_model=claude-haiku-5-5,prompts=exp/terse`;
- a `.toml` or `.json` file with the same keys (`prompts` relative to the file).

Keys: `name` (a label for the report), `planner_model`, `executor_model`, `judge_model` and
`prompts` (a directory of `<daemon>.<role>.md` files, each overriding the packaged prompt of
that name; the others stay packaged). A mistake is refused naming the variant and the key.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from ledgerd.config import Settings
from ledgerd.connection import resolve_connection
from ledgerd.prompts import Prompt

ROLES = ("planner", "executor", "judge")
KEYS = ("name", "planner_model", "executor_model", "judge_model", "prompts")
# Model ids as providers spell them: no spaces, so a typo like "claude haiku" fails here.
_MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,127}$")


class VariantError(ValueError):
    """A variant spec is wrong; the message names the variant and what is wrong."""


class Variant(BaseModel):
    """What differs from the configured setup; `None` keeps the configured model."""

    model_config = ConfigDict(frozen=True)

    name: str
    planner_model: str | None = None
    executor_model: str | None = None
    judge_model: str | None = None
    prompts: Path | None = None

    def models(self, settings: Settings) -> dict[str, str]:
        """The model of each role this variant runs with."""
        chosen = {
            "planner": self.planner_model,
            "executor": self.executor_model,
            "judge": self.judge_model,
        }
        return {role: chosen[role] or settings.model_for(role) for role in ROLES}

    def prompt_overrides(self) -> dict[str, str]:
        """The version of each prompt this variant overrides, by prompt name."""
        if self.prompts is None:
            return {}
        return {
            path.stem: Prompt(name=path.stem, text=path.read_text(encoding="utf-8").strip()).version
            for path in sorted(self.prompts.glob("*.md"))
        }


def packaged_prompts_dir() -> Path:
    return Path(str(resources.files("ledgerd.prompts")))


def packaged_prompt_names() -> set[str]:
    return {path.stem for path in packaged_prompts_dir().glob("*.md")}


def parse_variant(
    spec: str, *, option: str = "variant", settings: Settings | None = None
) -> Variant:
    """The variant `spec` names; `option` (e.g. `--b`) is how errors refer to it. With
    `settings`, the models it would run with are checked against the configuration's rules."""
    text = spec.strip()
    if not text:
        raise VariantError(f"{option} is empty: give `base`, key=value pairs or a .toml/.json file")
    if text == "base":
        return Variant(name="base")
    if text.endswith((".toml", ".json")) and "=" not in text:
        values, base = _read_file(Path(text), option), Path(text).parent
        values.setdefault("name", Path(text).stem)
    else:
        values, base = _read_pairs(text, option), Path.cwd()
        values.setdefault("name", text if len(text) <= 60 else text[:57] + "...")
    variant = _build(values, base, option)
    if settings is not None:
        check_models(variant, settings, option)
    return variant


def _read_file(path: Path, option: str) -> dict[str, str]:
    if not path.is_file():
        raise VariantError(f"{option}: variant file {path} does not exist")
    try:
        raw = (
            tomllib.loads(path.read_text(encoding="utf-8"))
            if path.suffix == ".toml"
            else json.loads(path.read_text(encoding="utf-8"))
        )
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise VariantError(f"{option}: {path} is not valid {path.suffix[1:]}: {error}") from None
    if not isinstance(raw, dict):
        raise VariantError(f"{option}: {path} must hold a table of keys ({', '.join(KEYS)})")
    values: dict[str, str] = {}
    for key, value in raw.items():
        if not isinstance(value, str):
            raise VariantError(f"{option}: {path}: {key} must be a string, not {value!r}")
        values[key] = value
    return values


def _read_pairs(text: str, option: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for part in text.split(","):
        key, equals, value = (piece.strip() for piece in part.partition("="))
        if not equals:
            raise VariantError(
                f"{option}: expected key=value, got {part.strip()!r} "
                f"(keys: {', '.join(KEYS)}; or `base`, or a .toml/.json file)"
            )
        if key in values:
            raise VariantError(f"{option}: {key} is given twice")
        values[key] = value
    return values


def _build(values: dict[str, str], base: Path, option: str) -> Variant:
    unknown = sorted(set(values) - set(KEYS))
    if unknown:
        raise VariantError(
            f"{option}: unknown key {', '.join(map(repr, unknown))}; expected one of {', '.join(KEYS)}"
        )
    for key, value in values.items():
        if not value:
            raise VariantError(f"{option}: {key} is empty")
    for role in ROLES:
        model = values.get(f"{role}_model")
        if model is not None and not _MODEL_ID.match(model):
            raise VariantError(f"{option}: {role}_model {model!r} is not a model id")
    prompts = values.get("prompts")
    return Variant(
        name=values["name"],
        planner_model=values.get("planner_model"),
        executor_model=values.get("executor_model"),
        judge_model=values.get("judge_model"),
        prompts=_prompt_dir(base / prompts, option) if prompts else None,
    )


def _prompt_dir(directory: Path, option: str) -> Path:
    """The override directory, absolute; every `.md` file in it must replace a packaged
    prompt, so a misspelt file name cannot silently leave the packaged prompt in use."""
    if not directory.is_dir():
        raise VariantError(f"{option}: prompts directory {directory} does not exist")
    files = sorted(directory.glob("*.md"))
    if not files:
        raise VariantError(
            f"{option}: prompts directory {directory} holds no prompt files "
            "(<daemon>.<role>.md, e.g. vendor_hydration.executor.md)"
        )
    known = packaged_prompt_names()
    for path in files:
        if path.stem not in known:
            raise VariantError(
                f"{option}: {path} overrides no packaged prompt; "
                f"the names are {', '.join(sorted(known))}"
            )
        if not path.read_text(encoding="utf-8").strip():
            raise VariantError(f"{option}: {path} is empty")
    return directory.resolve()


def check_models(variant: Variant, settings: Settings, option: str) -> None:
    """The configuration's own rule, checked before any worker starts."""
    models = variant.models(settings)
    if models["judge"] == models["executor"]:
        raise VariantError(
            f"{option}: the judge and the executor would both be {models['judge']!r}; "
            "the judge must be a different model (as LEDGERD_JUDGE_MODEL must differ from "
            "LEDGERD_EXECUTOR_MODEL)"
        )


def worker_environment(variant: Variant, settings: Settings, task_queue: str) -> dict[str, str]:
    """The environment of the variant's worker: this process's, with the same Temporal,
    database and model endpoint, and the variant's queue, models and prompts. Every role's
    model and the prompt directory are set explicitly, so what the report names is what ran
    whatever the shell or `.env` says."""
    env = dict(os.environ)
    temporal = resolve_connection(settings)  # TLS and API key come with os.environ or the profile
    env.update(
        {
            "TEMPORAL_ADDRESS": temporal.address,
            "TEMPORAL_NAMESPACE": temporal.namespace,
            "DATABASE_URL": settings.effective_database_url,
            "LEDGERD_OFFLINE_MODEL_PORT": str(settings.offline_model_port),
            "LEDGERD_TASK_QUEUE": task_queue,
            "LEDGERD_PROMPT_DIR": str(variant.prompts or packaged_prompts_dir()),
        }
    )
    if settings.offline_model:
        env["LEDGERD_OFFLINE_MODEL"] = "true"
    if settings.anthropic_base_url:
        env["ANTHROPIC_BASE_URL"] = settings.anthropic_base_url
    if settings.anthropic_api_key is not None:
        env["ANTHROPIC_API_KEY"] = settings.anthropic_api_key.get_secret_value()
    for role, model in variant.models(settings).items():
        env[f"LEDGERD_{role.upper()}_MODEL"] = model
    return env
