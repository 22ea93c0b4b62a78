"""The subset of Anthropic's Messages API wire format that ledgerd uses, as pydantic models.

Every request model allows unknown fields (``extra="allow"``) because the SDK grows new
optional parameters faster than this stand-in does; rejecting them would break tests on an
SDK upgrade for no benefit. Known fields are validated as strictly as the real API so client
bugs surface here rather than against production.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

StopReason = Literal[
    "end_turn",
    "max_tokens",
    "stop_sequence",
    "tool_use",
    "pause_turn",
    "refusal",
    "model_context_window_exceeded",
]

ERROR_TYPE_BY_STATUS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type_for(status: int) -> str:
    """The `error.type` the real API pairs with an HTTP status (its documented table)."""
    if status in ERROR_TYPE_BY_STATUS:
        return ERROR_TYPE_BY_STATUS[status]
    return "api_error" if status >= 500 else "invalid_request_error"


def error_body(
    error_type: str, message: str, request_id: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The real API's error envelope; `details.error_code` is what SDK 2.x keys subclasses on."""
    error: dict[str, Any] = {"type": error_type, "message": message}
    if details:
        error["details"] = details
    return {"type": "error", "error": error, "request_id": request_id}


class InvalidRequest(Exception):
    """A request the real API would reject (a 400 unless `status` says otherwise); the
    message is shown to the client."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# --- request -------------------------------------------------------------------------------


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class CacheControl(_Open):
    type: Literal["ephemeral"]
    ttl: Literal["5m", "1h"] | None = None


class _Block(_Open):
    cache_control: CacheControl | None = None


class TextBlock(_Block):
    type: Literal["text"]
    text: str


class ImageBlock(_Block):
    """Accepted so multimodal requests validate; the stand-in never looks at the pixels."""

    type: Literal["image"]
    source: dict[str, Any]


class ToolUseBlock(_Block):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(_Block):
    type: Literal["tool_result"]
    tool_use_id: str
    content: str | list[Annotated[TextBlock | ImageBlock, Field(discriminator="type")]] | None = (
        None
    )
    is_error: bool = False

    def text(self) -> str:
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(part.text for part in self.content if isinstance(part, TextBlock))


class ThinkingBlock(_Block):
    type: Literal["thinking"]
    thinking: str
    # Optional here only so the stand-in can answer with the real API's own message for a
    # missing signature instead of pydantic's generic one.
    signature: str | None = None


class RedactedThinkingBlock(_Block):
    type: Literal["redacted_thinking"]
    data: str


ContentBlock = Annotated[
    TextBlock | ImageBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock | RedactedThinkingBlock,
    Field(discriminator="type"),
]
CONTENT_TAGS = frozenset(
    {"text", "image", "tool_use", "tool_result", "thinking", "redacted_thinking"}
)


class Message(_Open):
    role: Literal["user", "assistant"]
    content: str | list[ContentBlock]

    def blocks(self) -> list[ContentBlock]:
        """Content as blocks: a bare string is shorthand for one text block."""
        if isinstance(self.content, str):
            return [TextBlock(type="text", text=self.content)]
        return list(self.content)


class Tool(_Open):
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,128}$")
    description: str | None = None
    input_schema: dict[str, Any]
    cache_control: CacheControl | None = None


class ToolChoiceAuto(_Open):
    type: Literal["auto"]
    disable_parallel_tool_use: bool = False


class ToolChoiceAny(_Open):
    type: Literal["any"]
    disable_parallel_tool_use: bool = False


class ToolChoiceTool(_Open):
    type: Literal["tool"]
    name: str
    disable_parallel_tool_use: bool = False


class ToolChoiceNone(_Open):
    type: Literal["none"]


ToolChoice = Annotated[
    ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone, Field(discriminator="type")
]


class BlockBinding(_Open):
    prefix_mismatch_behavior: Literal["error", "drop_block"] | None = None


class ThinkingEnabled(_Open):
    type: Literal["enabled"]
    # The real API's floor; a client sending less would fail in production.
    budget_tokens: int = Field(ge=1024)
    display: Literal["summarized", "omitted"] | None = None


class ThinkingAdaptive(_Open):
    type: Literal["adaptive"]
    display: Literal["summarized", "omitted", "updates"] | None = None
    block_binding: BlockBinding | None = None


class ThinkingDisabled(_Open):
    type: Literal["disabled"]


class ThinkingBetweenTools(BaseModel):
    # "between_tools takes no other field: display, budget_tokens, or block_binding sent
    # with it returns a 400 error" (Sonnet 5.5 what's new).
    model_config = ConfigDict(extra="forbid")
    type: Literal["between_tools"]


class JsonSchemaFormat(_Open):
    type: Literal["json_schema"]
    schema_: dict[str, Any] = Field(alias="schema")


class OutputConfig(_Open):
    effort: Literal["low", "medium", "high", "xhigh", "max"] | None = None
    format: JsonSchemaFormat | None = None


ThinkingConfig = Annotated[
    ThinkingEnabled | ThinkingAdaptive | ThinkingDisabled | ThinkingBetweenTools,
    Field(discriminator="type"),
]


class MessagesRequest(_Open):
    model: str = Field(min_length=1)
    max_tokens: int = Field(ge=1)
    messages: list[Message]
    system: str | list[TextBlock] | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice | None = None
    thinking: ThinkingConfig | None = None
    output_config: OutputConfig | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=1.0)
    top_p: float | None = Field(default=None, ge=0.0, le=1.0)
    top_k: int | None = Field(default=None, ge=0)
    stop_sequences: list[str] | None = None
    metadata: dict[str, Any] | None = None
    stream: bool | None = None
    # Top-level automatic caching: a breakpoint on the last cacheable block.
    cache_control: CacheControl | None = None

    def system_blocks(self) -> list[TextBlock]:
        if self.system is None:
            return []
        if isinstance(self.system, str):
            return [TextBlock(type="text", text=self.system)] if self.system else []
        return list(self.system)

    def system_text(self) -> str:
        return "\n".join(block.text for block in self.system_blocks())

    def thinking_type(self, default: str) -> str:
        """The thinking form in effect: the one sent, else the model's `default`."""
        return self.thinking.type if self.thinking is not None else default

    def thinking_display(self) -> str | None:
        if isinstance(self.thinking, ThinkingEnabled | ThinkingAdaptive):
            return self.thinking.display
        return None

    def effort(self) -> str | None:
        return self.output_config.effort if self.output_config else None

    def answer_schema(self) -> dict[str, Any] | None:
        """The JSON schema of structured outputs (`output_config.format`), if asked for."""
        if self.output_config and self.output_config.format:
            return self.output_config.format.schema_
        return None

    def forces_tool(self) -> bool:
        return isinstance(self.tool_choice, ToolChoiceAny | ToolChoiceTool)


_UNION_LABELS = frozenset({"str", "int", "float", "bool", "none", "dict[str,any]"})


def _clean_location(loc: tuple[int | str, ...]) -> list[str]:
    """Drop pydantic's union-branch labels so paths read like the real API's (`messages.0.x`)."""
    parts: list[str] = []
    previous: int | str | None = None
    for item in loc:
        if isinstance(item, str) and ("[" in item or item.lower() in _UNION_LABELS):
            continue
        # A discriminated union inserts the tag after a list index: `content.0.text.text`.
        if isinstance(item, str) and isinstance(previous, int) and item in CONTENT_TAGS:
            previous = None
            continue
        parts.append(str(item))
        previous = item
    return parts


def describe_validation_error(error: ValidationError) -> str:
    """One line naming the most specific failing field, in the real API's `path: reason` form.

    A union (`content: str | list[...]`) reports one error per branch; the deepest path is the
    branch the client meant, so that is the one worth showing.
    """
    best: tuple[int, str] | None = None
    for item in error.errors():
        path = _clean_location(tuple(item["loc"]))
        line = f"{'.'.join(path)}: {item['msg']}" if path else str(item["msg"])
        if best is None or len(path) > best[0]:
            best = (len(path), line)
    return best[1] if best else "invalid request"


# --- response ------------------------------------------------------------------------------


class TextOut(BaseModel):
    type: Literal["text"] = "text"
    text: str


class ToolUseOut(BaseModel):
    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any]


class ThinkingOut(BaseModel):
    type: Literal["thinking"] = "thinking"
    thinking: str
    signature: str


class RedactedThinkingOut(BaseModel):
    type: Literal["redacted_thinking"] = "redacted_thinking"
    data: str


OutBlock = TextOut | ToolUseOut | ThinkingOut | RedactedThinkingOut


class CacheCreation(BaseModel):
    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0


class Usage(BaseModel):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation: CacheCreation = Field(default_factory=CacheCreation)
    service_tier: Literal["standard"] = "standard"


class MessagesResponse(BaseModel):
    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    model: str
    content: list[OutBlock]
    stop_reason: StopReason
    stop_sequence: str | None = None
    stop_details: dict[str, Any] | None = None
    usage: Usage
