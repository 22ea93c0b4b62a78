"""Configuration, read once from the environment and `.env`, validated at start-up.

Standard variables (`TEMPORAL_ADDRESS`, `DATABASE_URL`, `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`)
keep their usual names so existing infrastructure plugs in unchanged; everything specific to
ledgerd is prefixed `LEDGERD_`. An invalid value fails at start-up with the variable's name,
never half-way through a running daemon.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    DirectoryPath,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ledgerd.model_registry import Effort, RoleSettings, ThinkingSetting, role_problems

ROLES = ("planner", "executor", "judge")
# Variables an earlier version read; setting one now would silently do nothing.
_REPLACED = {
    "LEDGERD_PLANNER_THINKING_TOKENS": "LEDGERD_PLANNER_EFFORT and LEDGERD_PLANNER_THINKING",
    "LEDGERD_MODEL_MAX_TOKENS": "LEDGERD_<ROLE>_MAX_TOKENS (planner, executor, judge)",
}

Port = Annotated[int, Field(ge=1, le=65535)]


class ConfigError(Exception):
    """A configuration value is invalid; the message names the variable and the reason."""


class Settings(BaseSettings):
    # An empty variable counts as unset (`ANTHROPIC_API_KEY=` in a `.env` template, or
    # `${VAR}` of an unset one in compose): it must not switch a part to external infra.
    model_config = SettingsConfigDict(
        env_prefix="LEDGERD_",
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
    )

    state_dir: Path = Path(".state")
    """Where the embedded stack keeps Temporal's and PostgreSQL's data between runs."""

    temporal_address: str | None = Field(
        default=None, validation_alias=AliasChoices("TEMPORAL_ADDRESS", "LEDGERD_TEMPORAL_ADDRESS")
    )
    temporal_namespace: str = Field(
        default="default",
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "LEDGERD_TEMPORAL_NAMESPACE"),
    )
    temporal_port: Port = 7233
    temporal_ui_port: Port = 8233
    task_queue: str = "ledgerd"
    # Pairs, not a dict: Settings is frozen and hashable (clients are cached per Settings).
    model_rate_limits: Annotated[tuple[tuple[str, float], ...], NoDecode] = Field(
        default=(),
        description="Model calls per second per model family across all workers, e.g. "
        "`opus=1,sonnet=4,haiku=8` (`*` for any other family); unset: unlimited. "
        "Enforced by Temporal on the model queues (ledgerd/queues.py).",
    )
    worker_graceful_shutdown_seconds: int = Field(
        default=20,
        ge=0,
        description="On SIGTERM, how long running activities get to finish before they are "
        "cancelled; a pod's terminationGracePeriodSeconds must exceed it.",
    )
    worker_health_port: Port | None = Field(
        default=None,
        description="Serve GET /healthz (200 while polling, 503 while draining) on this port.",
    )
    # Per task queue a worker process polls (the main queue and each model queue has its
    # own). Defaults from benchmarks/load.py, see docs/reliability.md ("Load").
    worker_max_concurrent_activities: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Activities one queue's worker runs at once; model calls mostly wait on "
        "the provider, so this bounds how many daemons wait on a model at the same time.",
    )
    worker_max_concurrent_workflow_tasks: int = Field(
        default=100, ge=2, le=10_000, description="Workflow tasks one worker runs at once."
    )
    worker_max_cached_workflows: int = Field(
        default=1000,
        ge=0,
        le=100_000,
        description="Runs kept in memory between steps; an evicted run replays its history "
        "at its next step (CPU), so keep it above the daemons in flight per worker.",
    )
    worker_workflow_task_pollers: int = Field(
        default=10, ge=2, le=100, description="Concurrent polls for workflow tasks per queue."
    )
    worker_activity_task_pollers: int = Field(
        default=10, ge=1, le=100, description="Concurrent polls for activity tasks per queue."
    )

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "LEDGERD_DATABASE_URL")
    )
    postgres_port: Port = 5433
    db_pool_max: int = Field(
        default=10,
        ge=1,
        le=200,
        description="PostgreSQL connections one process (worker or API) may hold at most.",
    )

    anthropic_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_API_KEY")
    )
    anthropic_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_BASE_URL")
    )
    offline_model_port: Port = 8765

    api_port: Port = 8000

    planner_model: str = "claude-opus-5-5"
    executor_model: str = "claude-sonnet-5-5"
    judge_model: str = "claude-haiku-5-5"
    # Per role, what the model may be asked for; unset means the model's own default. Each is
    # checked against the model registry at start-up (docs/models.md lists what each takes).
    planner_effort: Effort | None = None
    executor_effort: Effort | None = None
    judge_effort: Effort | None = None
    planner_thinking: ThinkingSetting | None = None
    executor_thinking: ThinkingSetting | None = None
    judge_thinking: ThinkingSetting | None = None
    planner_max_tokens: int | None = Field(default=None, ge=1024)
    executor_max_tokens: int | None = Field(default=None, ge=1024)
    judge_max_tokens: int | None = Field(default=None, ge=1024)
    prompt_dir: DirectoryPath | None = Field(
        default=None,
        description="Prompt files here (`<daemon>.<role>.md`) override the packaged ones: a "
        "variant under evaluation (docs/eval.md). Versions stay content hashes.",
    )
    capture_message_content: bool = Field(
        default=False,
        description="Record prompts and replies in model-call spans. Off: they may hold PII.",
    )

    # Memory tools: which embedder turns facts into vectors (docs/memory.md). "offline" needs
    # no download; "http" is any OpenAI-compatible /v1/embeddings endpoint (e.g. Voyage AI).
    embedder: Literal["offline", "http"] = "offline"
    embedding_url: str | None = Field(
        default=None, description="Base URL of the embeddings API, e.g. https://api.voyageai.com/v1"
    )
    embedding_model: str | None = Field(default=None, description="e.g. voyage-3.5")
    embedding_api_key: SecretStr | None = Field(
        default=None, description="The embedding provider's key. A secret: never logged or echoed."
    )

    # Notification channels. The database outbox always receives every notification; each
    # channel configured here is delivered to as well, by the `notify` activity.
    notify_slack_webhook_url: SecretStr | None = Field(
        default=None, description="A Slack incoming webhook. A secret: never logged or echoed."
    )
    notify_webhook_url: SecretStr | None = Field(
        default=None,
        description="Receives each notification as JSON, with an `Idempotency-Key` header. "
        "A secret (such URLs carry a token): never logged or echoed.",
    )
    smtp_host: str | None = Field(default=None, description="Email channel: the SMTP server.")
    smtp_port: Port = 25
    smtp_from: str = "ledgerd@localhost"
    smtp_username: SecretStr | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["starttls", "tls", "off"] = Field(
        default="starttls",
        description="STARTTLS (default) or implicit TLS; `off` sends in the clear and must be "
        "chosen explicitly (a local relay).",
    )
    # A tuple, not a list: Settings is frozen and hashable (clients are cached per Settings).
    notify_email_to: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Email recipients, comma-separated; email is sent when this and the host are set.",
    )

    @field_validator("model_rate_limits", mode="before")
    @classmethod
    def _parse_rate_limits(cls, value: object) -> object:
        # `opus=1,sonnet=4` reads better in a ConfigMap than JSON; JSON is accepted too.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("{"):
                value = json.loads(text)
            else:
                pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
                if any(len(pair) != 2 for pair in pairs):
                    raise ValueError("expected family=calls_per_second pairs, e.g. opus=1,sonnet=4")
                value = dict(pairs)
        if isinstance(value, dict):
            return tuple((str(k).strip().lower(), str(v).strip()) for k, v in value.items())
        return value

    @field_validator("model_rate_limits")
    @classmethod
    def _positive_rates(cls, value: tuple[tuple[str, float], ...]) -> tuple[tuple[str, float], ...]:
        for family, rate in value:
            if rate <= 0:
                raise ValueError(f"the rate of {family!r} must be positive (got {rate})")
        return value

    # Security (docs/security.md). Keys are `<id>=<base64 32 bytes>`, comma-separated, newest
    # first; unset, a development key is generated into the state folder.
    signing_keys: SecretStr | None = Field(
        default=None, description="HMAC keys of decision and action credentials."
    )
    payload_keys: SecretStr | None = Field(
        default=None, description="AES-256-GCM keys of workflow payloads (the payload codec)."
    )
    require_configured_keys: bool = Field(
        default=False,
        description="Production: refuse to start on a generated development key.",
    )
    credential_ttl_seconds: int = Field(
        default=600, ge=30, le=3600, description="Lifetime of a decision credential."
    )
    token_ttl_days: int = Field(
        default=90, ge=1, le=730, description="Lifetime of a principal's bearer token."
    )
    offline_model: bool = Field(
        default=False,
        description="Use the offline stand-in when no ANTHROPIC_* variable is set. `ledgerd dev` "
        "sets it for its children; a worker without it and without a model refuses to start.",
    )
    codec_ui_key: SecretStr | None = Field(
        default=None,
        description="Development only: a capability path segment that lets the local Temporal "
        "UI decode payloads without a bearer token (`ledgerd dev` generates one).",
    )
    codec_cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="Origins (the Temporal UI's) allowed to call the codec server."
    )
    max_budget_steps: int = Field(default=50, ge=1, le=500)
    max_budget_tokens: int = Field(default=1_000_000, ge=1_000)
    max_budget_seconds: int = Field(default=3600, ge=10)
    rate_limit_per_principal: int = Field(
        default=120, ge=1, description="Requests per minute one principal may make."
    )
    rate_limit_per_tenant: int = Field(
        default=600, ge=1, description="Requests per minute all principals of a tenant may make."
    )
    max_request_bytes: int = Field(default=1_048_576, ge=1024, description="HTTP body limit.")
    redact_model_calls: bool = Field(
        default=True,
        description="Redact PII from model-call content leaving the process (exported spans, "
        "when LEDGERD_CAPTURE_MESSAGE_CONTENT is on); exports are always redacted.",
    )

    @field_validator("codec_cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("notify_email_to", mode="before")
    @classmethod
    def _split_recipients(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("notify_email_to")
    @classmethod
    def _recipients_are_addresses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for address in value:
            local, at, domain = address.rpartition("@")
            if not (local and at and domain) or any(c.isspace() or c in "<>,;" for c in address):
                raise ValueError(f"not an email address: {address!r}")
        return value

    @model_validator(mode="after")
    def _judge_differs_from_executor(self) -> Settings:
        # A model reviewing its own output shares its blind spots; issue #3 requires
        # a second, different model as the judge.
        if self.judge_model == self.executor_model:
            raise ValueError(
                "LEDGERD_JUDGE_MODEL must differ from LEDGERD_EXECUTOR_MODEL "
                f"(both are {self.judge_model!r}): never trust a single model to police itself"
            )
        return self

    @model_validator(mode="after")
    def _roles_fit_their_models(self) -> Settings:
        # A setting the model cannot honour would fail every run on its first call with a
        # 400; refuse it here, naming the variable and what the model allows.
        problems = [p for role in ROLES for p in role_problems(self.role_settings(role))]
        if problems:
            raise ValueError("\n  ".join(problems))
        return self

    @model_validator(mode="after")
    def _email_is_complete(self) -> Settings:
        # Half-configured email would drop notifications silently; say so at start-up instead.
        if self.notify_email_to and not self.smtp_host:
            raise ValueError("LEDGERD_NOTIFY_EMAIL_TO is set but LEDGERD_SMTP_HOST is not")
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("LEDGERD_SMTP_USERNAME and LEDGERD_SMTP_PASSWORD go together")
        return self

    @model_validator(mode="after")
    def _http_embedder_is_complete(self) -> Settings:
        if self.embedder == "http" and not (self.embedding_url and self.embedding_model):
            raise ValueError(
                "LEDGERD_EMBEDDER=http needs LEDGERD_EMBEDDING_URL and LEDGERD_EMBEDDING_MODEL"
            )
        return self

    @property
    def rate_limits_by_family(self) -> dict[str, float]:
        return dict(self.model_rate_limits)

    def model_for(self, role: str) -> str:
        return self.role_settings(role).model

    def role_settings(self, role: str) -> RoleSettings:
        if role not in ROLES:
            raise KeyError(f"unknown model role {role!r}; known: {', '.join(ROLES)}")
        return RoleSettings(
            role=role,  # type: ignore[arg-type]
            model=getattr(self, f"{role}_model"),
            effort=getattr(self, f"{role}_effort"),
            thinking=getattr(self, f"{role}_thinking"),
            max_tokens=getattr(self, f"{role}_max_tokens"),
        )

    @property
    def model_api_key(self) -> str:
        # The stand-in needs no key but the SDK insists on one; it is not a secret.
        if self.anthropic_api_key is None:
            return "offline-stand-in"
        return self.anthropic_api_key.get_secret_value()

    @property
    def effective_database_url(self) -> str:
        """`DATABASE_URL`, or the embedded PostgreSQL that `ledgerd dev` serves."""
        return self.database_url or f"postgresql://postgres@127.0.0.1:{self.postgres_port}/ledgerd"

    @property
    def effective_temporal_address(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def uses_offline_model(self) -> bool:
        """True when no Anthropic endpoint is configured, so the embedded stand-in serves."""
        return self.anthropic_api_key is None and self.anthropic_base_url is None

    @property
    def model_base_url(self) -> str:
        if self.anthropic_base_url:
            return self.anthropic_base_url
        if self.anthropic_api_key is not None:
            return "https://api.anthropic.com"
        return f"http://127.0.0.1:{self.offline_model_port}"


# Variables whose values may be (or hold) credentials: webhook URLs carry their token in the path.
_SECRET_WORDS = ("KEY", "PASSWORD", "SECRET", "TOKEN", "WEBHOOK", "USERNAME")


def _describe(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        name = ".".join(str(part) for part in item["loc"])
        if not name:  # a cross-field rule: its message names the variables itself
            lines.append(item["msg"].removeprefix("Value error, "))
            continue
        variable = name if name.isupper() else f"LEDGERD_{name.upper()}"
        # Never echo a secret back into a terminal or a log.
        secret = any(word in variable for word in _SECRET_WORDS)
        shown = "" if secret else f" (got {item.get('input')!r})"
        lines.append(f"{variable}: {item['msg']}{shown}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def load_settings(**overrides: object) -> Settings:
    """Read and validate settings; raise `ConfigError` naming each bad variable."""
    stale = [
        f"{name} is no longer read: use {instead}"
        for name, instead in _REPLACED.items()
        if os.environ.get(name)
    ]
    if stale:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(stale))
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
