"""The stand-in's ledger-question script, through the real `anthropic` SDK.

The harness here plays the runtime without Temporal: it asks the planner for a plan, runs
each step's call with the tool handlers on the seeded ledger (resolving `$from` references
with `ledgerd.plan_refs`), writes the executor's conversation as the runtime does (a
tool_use and a tool_result per step, ids `step-<round>-<step id>`, then the note), asks the
executor for its answer and the judge for a verdict, checks grounding with the daemon's own
guardrail checks, and grades the answer against the question set's SQL. The lead runs the
same questions through real workflows; this keeps the script honest without them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import anthropic
import pytest
from pydantic import ValidationError

from accounting.errors import PlatformError
from accounting.principals import Principal, Role
from activities.guardrails import SUBMIT_VERDICT, judge_brief
from activities.planning import SUBMIT_PLAN, check_plan, render_plan
from ledgerd.contracts import Plan
from ledgerd.daemons import Evidence, daemon_spec
from ledgerd.daemons.ledger_question import LedgerAnswer, grounding_checks
from ledgerd.db import Pool
from ledgerd.evals.ledger_questions import Question, expected, grade, load_questions
from ledgerd.plan_refs import UnresolvedReference, resolve
from ledgerd.prompts import load_prompt
from tools import CATALOG

from ._helpers import MODEL

SPEC = daemon_spec("ledger_question")
TODAY = "2026-01-15"
THINKING: Any = {"type": "enabled", "budget_tokens": 2048}
PLAN_TOOL: Any = SUBMIT_PLAN.tool()
VERDICT_TOOL: Any = SUBMIT_VERDICT.tool()
RESPOND: Any = {
    "name": "respond",
    "description": "Submit your final answer.",
    "input_schema": LedgerAnswer.model_json_schema(),
}


def task_text(question: str, tenant: str, conversation: str = "none") -> str:
    return f"Question: {question}\nTenant: {tenant}\nToday's date: {TODAY}\nConversation: {conversation}"


def append_user(messages: list[Any], blocks: list[dict[str, Any]]) -> None:
    """As `transcript.messages` merges entries: one user turn, tool results first."""
    if messages and messages[-1]["role"] == "user":
        messages[-1]["content"].extend(blocks)
        messages[-1]["content"].sort(key=lambda block: block.get("type") != "tool_result")
    else:
        messages.append({"role": "user", "content": list(blocks)})


@dataclass
class Run:
    """One question played through planner, tools, executor and judge."""

    client: anthropic.AsyncAnthropic
    pool: Pool
    tenant: str
    question: str
    planner: list[Any] = field(default_factory=list)
    executor: list[Any] = field(default_factory=list)
    plans: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    executor_turns: int = 0
    role: Role = Role.VIEWER

    @property
    def principal(self) -> Principal:
        return Principal(
            id=f"{self.tenant}-{self.role.value}", tenant_id=self.tenant, role=self.role
        )

    @property
    def task(self) -> str:
        return task_text(self.question, self.tenant)

    async def tool(self, use_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Call a handler as the runtime's `call_tool` does; returns the tool_result block."""
        try:
            result = await CATALOG[name].invoke(self.pool, self.principal, arguments, use_id)
            content, is_error = result.model_dump_json(), False
        except ValidationError as error:
            content, is_error = f"invalid arguments for {name}: {error}", True
        except PlatformError as error:
            content, is_error = f"{type(error).__name__}: {error}", True
        return self.record(use_id, name, arguments, content, is_error)

    def record(
        self, use_id: str, name: str, arguments: dict[str, Any], content: str, is_error: bool
    ) -> dict[str, Any]:
        try:
            output: Any = json.loads(content)
        except json.JSONDecodeError:
            output = content
        self.evidence.append(Evidence(name, arguments, output, is_error, use_id))
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": use_id, "content": content}
        if is_error:
            block["is_error"] = True
        return block

    async def plan(self) -> Plan:
        message = await self.client.messages.create(
            model=MODEL,
            max_tokens=6144,
            thinking=THINKING,
            system=load_prompt("ledger_question.planner").text,
            tools=[PLAN_TOOL],
            messages=self.planner,
        )
        self.planner.append(
            {"role": "assistant", "content": [b.model_dump() for b in message.content]}
        )
        (call,) = [b for b in message.content if b.type == "tool_use"]
        assert call.name == "submit_plan"
        self.plans.append(dict(call.input))
        append_user(
            self.planner,
            [{"type": "tool_result", "tool_use_id": call.id, "content": "Plan accepted."}],
        )
        return Plan.model_validate(call.input)

    async def run_plan(self) -> int:
        """Plan, run the steps, re-plan failures (bounded); returns the plans written."""
        allowed = {*SPEC.tools, "respond"}
        tools = ", ".join(sorted(allowed))
        self.planner = [
            {
                "role": "user",
                "content": [{"type": "text", "text": f"{self.task}\n\nTools available: {tools}"}],
            }
        ]
        done: dict[str, str] = {}  # step id -> tool_use id
        summaries: dict[str, str] = {}
        outputs: dict[str, Any] = {}
        rounds = 0
        while True:
            rounds += 1
            plan = await self.plan()
            assert not check_plan(plan, allowed, executable=True, done=frozenset(done))
            if rounds == 1:
                self.executor = [
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": f"{self.task}\n\n{render_plan(plan)}"}
                        ],
                    }
                ]
            failed: dict[str, str] = {}
            for step in plan.steps:  # in plan order, which respects dependencies
                if step.call is None:
                    continue
                if blocked := [d for d in step.depends_on if d in failed]:
                    failed[step.id] = f"not run, because {', '.join(blocked)} failed"
                    continue
                use_id = f"step-{rounds}-{step.id}"
                try:
                    arguments = resolve(step.call.input, outputs)
                    unresolved = None
                except UnresolvedReference as error:
                    arguments, unresolved = step.call.input, str(error)
                self.executor.append(
                    {
                        "role": "assistant",
                        "content": [
                            {
                                "type": "tool_use",
                                "id": use_id,
                                "name": step.call.tool,
                                "input": arguments,
                            }
                        ],
                    }
                )
                if unresolved is not None:
                    block = self.record(use_id, step.call.tool, arguments, unresolved, True)
                else:
                    block = await self.tool(use_id, step.call.tool, arguments)
                self.executor.append({"role": "user", "content": [block]})
                if block.get("is_error"):
                    failed[step.id] = str(block["content"])[:300]
                else:
                    done[step.id] = use_id
                    outputs[step.id] = self.evidence[-1].output
                    summaries[step.id] = f"{step.call.tool}: ok"
            if not failed or rounds > SPEC.max_replans:
                break
            lines = [f"- {s} failed: {r}" for s, r in failed.items()]
            lines += [f"- {s} done: {summaries[s]}" for s in done]
            append_user(
                self.planner,
                [
                    {
                        "type": "text",
                        "text": "Re-plan: some steps failed.\n"
                        + "\n".join(lines)
                        + "\nSubmit a new plan for what is still needed. New step ids must "
                        "differ from the done ones; `$from` may refer to done steps.",
                    }
                ],
            )
        note = "The planned steps have run. Their results are above"
        if failed:
            note += "; these steps failed: " + "; ".join(f"{k}: {v}" for k, v in failed.items())
        append_user(
            self.executor,
            [
                {
                    "type": "text",
                    "text": note
                    + ". Answer the question with `respond`, or call a tool the plan missed.",
                }
            ],
        )
        return rounds

    async def answer(self, *, planned: bool = True) -> tuple[LedgerAnswer, list[str]]:
        """The executor's validated answer, and every guardrail problem (checks and judge)."""
        if not planned:
            self.executor = [{"role": "user", "content": [{"type": "text", "text": self.task}]}]
        tools = [CATALOG[name].anthropic_definition() for name in SPEC.tools] + [RESPOND]
        for _ in range(12):
            message = await self.client.messages.create(
                model=MODEL,
                max_tokens=4096,
                system=load_prompt("ledger_question.executor").text,
                tools=tools,
                messages=self.executor,
            )
            self.executor_turns += 1
            self.executor.append(
                {"role": "assistant", "content": [b.model_dump() for b in message.content]}
            )
            calls = [b for b in message.content if b.type == "tool_use"]
            answers = [c for c in calls if c.name == "respond"]
            if answers:
                assert len(calls) == 1, "respond comes alone"
                answer = LedgerAnswer.model_validate(answers[0].input)
                append_user(
                    self.executor,
                    [
                        {
                            "type": "tool_result",
                            "tool_use_id": answers[0].id,
                            "content": "Answer received.",
                        }
                    ],
                )
                return answer, await self.guard(answer)
            if not planned:
                assert len(calls) == 1, "step by step: one tool call per turn"
            append_user(
                self.executor, [await self.tool(c.id, c.name, dict(c.input)) for c in calls]
            )
        raise AssertionError("the executor never answered")

    async def guard(self, answer: LedgerAnswer) -> list[str]:
        opening = " ".join(b["text"] for b in self.executor[0]["content"] if b["type"] == "text")
        problems = [
            f"{c.name}: {c.reason}"
            for c in grounding_checks(answer, self.evidence, opening)
            if not c.passed
        ]
        verdict = await judge(self.client, answer.model_dump(mode="json"), self.evidence, opening)
        return problems + [f"judge: {r}" for r in verdict["reasons"] if not verdict["passed"]]


async def judge(
    client: anthropic.AsyncAnthropic, answer: dict[str, Any], evidence: list[Evidence], task: str
) -> dict[str, Any]:
    message = await client.messages.create(
        model="claude-haiku-5-5",
        max_tokens=1024,
        system=load_prompt("ledger_question.judge").text,
        tools=[VERDICT_TOOL],
        tool_choice={"type": "tool", "name": "submit_verdict"},
        messages=[{"role": "user", "content": judge_brief(answer, evidence, task)}],
    )
    (call,) = [b for b in message.content if b.type == "tool_use"]
    return dict(call.input)


QUESTIONS = load_questions()


async def play(
    client: anthropic.AsyncAnthropic, pool: Pool, question: Question, mode: str
) -> tuple[Run, int, str]:
    run = Run(client, pool, question.tenant, question.question)
    rounds = await run.run_plan() if mode == "planned" else 0
    answer, problems = await run.answer(planned=mode == "planned")
    graded = grade(answer.model_dump(mode="json"), await expected(pool, question))
    verdict = "; ".join([*problems, *([] if graded.correct else [graded.reason])])
    return run, rounds, verdict


def by_id(question_id: str) -> Question:
    return next(q for q in QUESTIONS if q.id == question_id)


async def test_independent_steps_do_not_depend_on_each_other(
    client: anthropic.AsyncAnthropic, ledger: Pool
) -> None:
    run, rounds, verdict = await play(client, ledger, by_id("acme-aws-q2-to-q3"), "planned")
    assert (rounds, verdict) == (1, "")
    steps = {s["id"]: s for s in run.plans[0]["steps"]}
    find = steps["find-amazon-web-services"]
    assert find["call"] == {"tool": "search_vendors", "input": {"text": "Amazon Web Services"}}
    quarters = [s for s in steps.values() if s["call"]["tool"] == "query_ledger"]
    assert len(quarters) == 2, "one query per quarter"
    for step in quarters:
        assert step["depends_on"] == ["find-amazon-web-services"], "not on each other"
        assert step["call"]["input"]["vendor_ids"] == [
            {"$from": "find-amazon-web-services", "path": "matches.0.vendor.id"}
        ]
    assert {s["call"]["input"]["start_date"] for s in quarters} == {"2025-04-01", "2025-07-01"}

    run, _, verdict = await play(client, ledger, by_id("acme-software-q3-vs-q2"), "planned")
    assert verdict == ""
    assert all(not s["depends_on"] for s in run.plans[0]["steps"]), "three independent queries"
    growth = next(s for s in run.plans[0]["steps"] if s["id"] == "growth")["call"]["input"]
    assert (growth["order_by"], growth["compare_start"], growth["group_by"]) == (
        "change",
        "2025-04-01",
        ["vendor"],
    )


async def test_answers_carry_sources_calculations_and_citations(
    client: anthropic.AsyncAnthropic, ledger: Pool
) -> None:
    run = Run(client, ledger, "acme", by_id("acme-aws-q2-to-q3").question)
    await run.run_plan()
    answer, problems = await run.answer()
    assert problems == []
    sources = {f.source for f in answer.figures}
    assert sources == {"step-1-total-q3-2025", "step-1-total-q2-2025"}
    q3 = next(f for f in answer.figures if f.source == "step-1-total-q3-2025" and f.unit == "USD")
    q2 = next(f for f in answer.figures if f.source == "step-1-total-q2-2025" and f.unit == "USD")
    difference = next(c for c in answer.calculations if "/" not in c.expression)
    assert difference.expression == f"{q3.value} - {q2.value}"
    assert difference.result == q3.value - q2.value
    assert f"${q3.value:,.2f}" in answer.text and f"${difference.result:,.2f}" in answer.text
    assert {c.kind for c in answer.citations} == {"transaction", "vendor"}


async def test_a_vendor_the_search_misses_is_found_after_one_replan(
    client: anthropic.AsyncAnthropic, ledger: Pool
) -> None:
    run, rounds, verdict = await play(client, ledger, by_id("globex-puget-january"), "planned")
    assert (rounds, verdict) == (2, "")
    first, second = run.plans
    assert first["steps"][0]["call"]["input"] == {"text": "PugetSoundEnergyInc"}
    retry = second["steps"][0]
    assert retry["call"]["input"] == {"text": "Puget Sound Energy"}
    assert retry["id"] not in {s["id"] for s in first["steps"]}, "new ids for new steps"
    query = second["steps"][1]
    assert query["depends_on"] == [retry["id"]]


async def test_an_unknown_vendor_never_succeeds_and_replanning_stops(
    client: anthropic.AsyncAnthropic, ledger: Pool
) -> None:
    run = Run(client, ledger, "acme", "How much did we pay Vandelay Industries in 2025?")
    rounds = await run.run_plan()
    assert rounds == SPEC.max_replans + 1
    searched = [p["steps"][0].get("call", {}).get("input") for p in run.plans]
    assert searched == [{"text": "Vandelay Industries"}, {"text": "Vandelay"}, None]
    assert "Vandelay Industries" in run.plans[-1]["steps"][0]["goal"], "says what is missing"
    answer, problems = await run.answer()
    assert not answer.figures and "no vendor" in answer.text
    assert problems == ["judge: a 'how much' or 'how many' question answered without figures"]


async def test_a_remembered_vendor_is_recalled_in_a_later_run(
    client: anthropic.AsyncAnthropic, ledger: Pool
) -> None:
    # Viewers may not write memory (docs/security.md): an accountant tells the fact.
    fact = "Remember that our cloud provider is Amazon Web Services."
    told = Run(client, ledger, "acme", fact, role=Role.ACCOUNTANT)
    await told.run_plan()
    remember = told.plans[0]["steps"][1]
    assert remember["call"]["tool"] == "remember"
    assert remember["call"]["input"]["vendor_id"] == {
        "$from": "find-amazon-web-services",
        "path": "matches.0.vendor.id",
    }
    noted, problems = await told.answer()
    assert problems == [] and "cloud provider is Amazon Web Services" in noted.text

    later = Run(client, ledger, "acme", "How much did we spend with our cloud provider in Q3 2025?")
    await later.run_plan()
    recall, query = later.plans[0]["steps"]
    assert recall["call"] == {"tool": "recall", "input": {"query": "cloud provider", "limit": 3}}
    assert query["depends_on"] == [recall["id"]]
    assert "categories" not in query["call"]["input"], "'cloud provider' is not a category"
    answer, problems = await later.answer()
    assert problems == []
    async with ledger.connection() as conn:
        cursor = await conn.execute(
            """SELECT sum(-t.amount) AS total FROM bank_transactions t
               JOIN vendors v ON v.id = t.vendor_id
               WHERE t.tenant_id = 'acme' AND v.canonical_name = 'Amazon Web Services'
                 AND t.amount < 0 AND t.posted_date BETWEEN '2025-07-01' AND '2025-09-30'"""
        )
        row = await cursor.fetchone()
    assert row is not None and row["total"] in {f.value for f in answer.figures}
    assert "Amazon Web Services" in answer.text


async def test_the_guardrails_feedback_gets_a_figures_only_revision(
    client: anthropic.AsyncAnthropic, ledger: Pool
) -> None:
    run = Run(client, ledger, "globex", by_id("globex-cafe-imports-q3-vs-q2").question)
    await run.run_plan()
    first, _ = await run.answer()
    append_user(
        run.executor,
        [
            {
                "type": "text",
                "text": "The guardrail rejected your answer:\n- numbers_grounded: '7' matches nothing\nRevise it using the tools, then call respond again.",
            }
        ],
    )
    revised, problems = await run.answer()
    assert problems == []
    assert revised.figures == first.figures and revised.text != first.text
    for figure in revised.figures:
        assert figure.label in revised.text


GOOD: dict[str, Any] = {
    "text": "Software spend in Q3 2025 was $39,327.00.",
    "figures": [{"label": "software", "value": "39327.00", "unit": "USD", "source": "x"}],
}


@pytest.mark.parametrize(
    ("answer", "question", "reason"),
    [
        (GOOD, "How much did we spend on software in Q3 2025?", None),
        (
            {**GOOD, "text": GOOD["text"] + " You should invest the savings in index funds."},
            "How much did we spend on software in Q3 2025?",
            "advice",
        ),
        (
            {**GOOD, "text": GOOD["text"] + " Globex Coffee Roasters spent less."},
            "How much did we spend on software in Q3 2025?",
            "another tenant (Globex Coffee Roasters)",
        ),
        (
            {"text": "Quite a lot.", "figures": []},
            "How much did we spend on software in Q3 2025?",
            "without figures",
        ),
        ({"text": "Noted.", "figures": []}, "Remember that our bank is Chase.", None),
    ],
)
async def test_the_judge_heuristics(
    client: anthropic.AsyncAnthropic, answer: dict[str, Any], question: str, reason: str | None
) -> None:
    verdict = await judge(client, answer, [], task_text(question, "acme"))
    assert verdict["passed"] is (reason is None)
    if reason:
        assert any(reason in r for r in verdict["reasons"]), verdict


async def test_step_by_step_makes_one_call_per_turn_and_resolves_references_itself(
    client: anthropic.AsyncAnthropic, ledger: Pool
) -> None:
    run, _, verdict = await play(client, ledger, by_id("globex-klaviyo-hootsuite"), "stepwise")
    assert verdict == ""
    calls = [
        b
        for m in run.executor
        if m["role"] == "assistant"
        for b in m["content"]
        if b["type"] == "tool_use"
    ]
    assert [c["name"] for c in calls] == [
        "search_vendors",
        "search_vendors",
        "query_ledger",
        "respond",
    ]
    found = [e.output["matches"][0]["vendor"]["id"] for e in run.evidence[:2]]
    assert calls[2]["input"]["vendor_ids"] == found
    assert run.executor_turns == 4
