"""The stand-in's script for the ledger-question daemon (planner, executor and judge).

Deterministic rules, not a language model. Like a model, it reads only the system prompt's
header, the task text (`Question:`, `Tenant:`, `Today's date:`, `Conversation:`), the
messages and the tool results.

Reading a question (`read_question`):

- periods: `Q3 2025`, `March 2025`, `H1 2025` / `the first half of 2025`, a bare year; a
  period without a year takes the question's year, else today's. Two periods compare:
  `from A to B` makes B current, otherwise the first one named is current.
- vendors: runs of capitalised words (not the first word, months or `Q3`-like labels);
  `our <words> <role>` with a role noun (provider, supplier, landlord, bank, ...) is
  something remembered earlier, so it is recalled; `Remember that ...` stores a fact.
- categories: words mapped onto standard category keys (software, cloud hosting, travel,
  meals, payroll, cost of goods sold, ...; revenue implies money in).
- metrics: `how many` counts, `average`, `largest single` / `smallest`; else a sum.
- grouping and order: `each month` / `monthly`, `each quarter`, `which vendors` /
  `top N vendors`, `which categories`; `grew most` orders by change, `shrank` by change
  ascending; `top N` / `which N` / `$X or more` set the limit and filters.

Planner: searches each vendor (`search_vendors`) and recalls each remembered phrase
(`recall`) as independent steps; a query that needs a vendor depends on its search through
`{"$from": "find-x", "path": "matches.0.vendor.id"}`. Two periods compared get one query
each, in parallel; rankings by growth get one query with a comparison period. On
`Re-plan:` it keeps what is done, searches a vendor whose search found nothing again with a
shorter name (the name as written, then split and without legal suffixes, then its first
word), and when no name is left plans only a step without a call that reports it.

Executor: works out the same steps and matches them to the calls in the conversation by
tool and input, so it answers the same way whether the runtime ran the plan or it made the
calls itself, one per turn (step-by-step mode, no plan in the thread). It then answers
with `respond`: the text states each figure as `$12,345.67` / `23.4%`, every figure names
the tool_use id it came from, derived numbers come with their calculation, and
transactions and vendors are cited. After guardrail feedback it answers again with the
figures alone.

Judge: the stand-in's own heuristics, not a model's judgement: it fails investment, tax
or legal advice, a mention of another demo tenant than the task's, and an answer without
figures to a "how much" / "how many" question; it passes anything else.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ledgerd.plan_refs import UnresolvedReference, resolve
from standin._policy import (
    PolicyReply,
    ReplyToolUse,
    ToolCall,
    register_scenario,
    tool_calls_so_far,
    user_text,
)
from standin._wire import MessagesRequest, TextBlock
from standin.scenarios._answer_faults import (
    PII_SENTENCE,
    REFUSAL,
    pick,
    truncate,
    wrong_digit,
    wrong_sign,
)
from standin.scenarios._brief import read_brief
from standin.scenarios._conversation import DaemonScript, results
from standin.scenarios._misbehave import misbehaviour
from standin.scenarios._obey import fact_of, orders_in, say_of

DEMO_TENANTS = {"acme": "Acme Robotics", "globex": "Globex Coffee Roasters"}
MAX_ROWS = 50  # query_ledger's limit cap

# --- the task --------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    question: str
    tenant: str
    today: dt.date
    conversation: str | None


_TASK_LINE = re.compile(r"^(Question|Tenant|Today's date|Conversation):\s*(.*)$", re.MULTILINE)


def read_task(text: str) -> Task:
    """The task block the workflow writes; missing lines get harmless defaults."""
    # A test's `standin-misbehave:` marker is an instruction to the stand-in, not question.
    found = dict(_TASK_LINE.findall(re.sub(r"\s*standin-misbehave:\s*[a-z_]+", "", text)))
    try:
        today = dt.date.fromisoformat(found.get("Today's date", "").strip())
    except ValueError:
        today = dt.date(2026, 1, 15)
    conversation = found.get("Conversation", "none").strip()
    return Task(
        question=found.get("Question", text).strip(),
        tenant=found.get("Tenant", "").strip(),
        today=today,
        conversation=None if conversation in ("", "none") else conversation,
    )


def _first_user_text(request: MessagesRequest) -> str:
    for message in request.messages:
        if message.role == "user":
            texts = [b.text for b in message.blocks() if isinstance(b, TextBlock)]
            if texts:
                return "\n".join(texts)
    return ""


# --- reading the question --------------------------------------------------------------

MONTHS = tuple(calendar.month_name[1:])
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10}

# Phrases onto standard category keys; longer phrases are tried first ("cloud hosting"
# before "cloud").
_CATEGORY_TABLE = """
cost of goods sold, cogs: cost_of_goods_sold
cloud hosting, cloud, hosting, infrastructure: cloud_hosting
software, saas, subscriptions: software
travel: travel
meals, meal, food: meals
payroll, salaries, wages: payroll
advertising, marketing: advertising
shipping, postage, freight: shipping
utilities: utilities
rent: rent
insurance: insurance
legal, professional services: professional_services
contractors: contractors
equipment: equipment
office supplies: office_supplies
telecom: telecom
training: training
taxes: taxes
vehicle, fuel: vehicle
bank fees: bank_fees
revenue, sales: revenue
interest income: interest_income
"""
CATEGORY_WORDS: tuple[tuple[str, str], ...] = tuple(
    sorted(
        (
            (phrase.strip(), key.strip())
            for line in _CATEGORY_TABLE.strip().splitlines()
            for phrases, key in [line.split(":")]
            for phrase in phrases.split(",")
        ),
        key=lambda item: -len(item[0]),
    )
)
MONEY_IN = {"revenue", "interest_income"}
_IN_WORDS = re.compile(r"\b(receive|received|payouts?|deposits?|income|earned|collected)\b")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# `our <words> <role>`: the role names something the person told us about earlier.
_ROLES = _words(
    "provider supplier vendor landlord bank accountant lawyer insurer carrier processor "
    "agency partner firm roaster"
)
_OUR_STOP = _words("in for with during from to on at and of is was")
_LEGAL = _words(
    "inc incorporated llc ltd corp corporation co company industries group holdings plc "
    "gmbh limited the"
)


@dataclass(frozen=True)
class Span:
    label: str
    start: dt.date
    end: dt.date
    at: int = 0  # where the question names it

    def slug(self) -> str:
        return _slug(self.label.removeprefix("the "))


@dataclass(frozen=True)
class Reading:
    """What the stand-in understood of a question."""

    question: str
    vendors: tuple[str, ...] = ()
    recall: str | None = None
    fact: str | None = None
    categories: tuple[str, ...] = ()
    category_words: tuple[str, ...] = ()
    periods: tuple[Span, ...] = ()
    metrics: tuple[str, ...] = ("sum",)
    group_by: tuple[str, ...] = ()
    order_by: str | None = None
    order: str = "desc"
    limit: int | None = None
    direction: str = "out"
    min_amount: str | None = None
    totals: bool = True  # False for a ranking alone ("Which vendors ...")
    pick: str | None = None  # "top" / "bottom": the one group with the highest / lowest sum
    average_per_group: bool = False  # "average monthly ...": the mean of the month sums
    tenant: str | None = None  # a tenant the question names ("totals for tenant globex")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:28] or "x"


def _quarter(year: int, q: int) -> tuple[dt.date, dt.date]:
    start = dt.date(year, 3 * q - 2, 1)
    return start, _month_end(year, 3 * q)


def _month_end(year: int, month: int) -> dt.date:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def read_periods(question: str, today: dt.date) -> list[Span]:
    years = [int(y) for y in re.findall(r"\b(20\d\d)\b", question)]
    default_year = years[0] if years else today.year
    found: list[Span] = []
    taken: list[tuple[int, int]] = []

    def add(match: re.Match[str], label: str, start: dt.date, end: dt.date) -> None:
        found.append(Span(label, start, end, match.start()))
        taken.append(match.span())

    for m in re.finditer(r"\bQ([1-4])(?:\s+(20\d\d))?\b", question):
        year = int(m[2] or default_year)
        add(m, f"Q{m[1]} {year}", *_quarter(year, int(m[1])))
    half = r"\b(?:(?:the )?(first|second) half(?: of)?(?: the year)?|H([12]))(?:\s+(20\d\d))?\b"
    for m in re.finditer(half, question):
        year = int(m[3] or default_year)
        first = m[1] == "first" or m[2] == "1"
        label = f"the {'first' if first else 'second'} half of {year}"
        add(m, label, dt.date(year, 1 if first else 7, 1), _month_end(year, 6 if first else 12))
    for m in re.finditer(rf"\b({'|'.join(MONTHS)})(?:\s+(20\d\d))?\b", question):
        year, month = int(m[2] or default_year), MONTHS.index(m[1]) + 1
        add(m, f"{m[1]} {year}", dt.date(year, month, 1), _month_end(year, month))
    if not found:
        for m in re.finditer(r"\b(20\d\d)\b", question):
            if not any(a <= m.start() < b for a, b in taken):
                add(m, m[1], dt.date(int(m[1]), 1, 1), dt.date(int(m[1]), 12, 31))
    found.sort(key=lambda span: span.at)
    if len(found) == 2 and re.search(r"\bfrom\b", question[: found[0].at]):
        found.reverse()  # "from A to B": B is the period asked about, A the comparison
    return found[:2]


_NAME_WORD = re.compile(r"[A-Za-z0-9][\w'&.\-]*")


def read_vendors(question: str) -> list[str]:
    """Runs of capitalised words: vendor names as the person wrote them."""
    names: list[str] = []
    run: list[str] = []
    words = list(_NAME_WORD.finditer(question))
    for index, word in enumerate(words):
        text = word.group(0).rstrip(".,'")
        text = text.removesuffix("'s")
        capital = any(c.isupper() for c in text) and not re.fullmatch(r"[QH][1-4]", text)
        if index == 0 or text in MONTHS or text == "I" or not capital:
            if run:
                names.append(" ".join(run))
            run = []
            continue
        run.append(text)
        glued = question[word.end() : word.end() + 2]
        if glued[:1] in ",?" or glued.startswith(". "):
            names.append(" ".join(run))
            run = []
    if run:
        names.append(" ".join(run))
    return names


def read_recalled(question: str) -> str | None:
    """`our cloud provider`: a role the person named earlier, not a category or a vendor."""
    for m in re.finditer(r"\bour ((?:[a-z]+ ?){1,4})", question):
        words = []
        for word in m[1].split():
            if word in _OUR_STOP:
                break
            words.append(word)
        if words and words[-1] in _ROLES:
            return " ".join(words)
    return None


def read_question(task: Task) -> Reading:
    question = task.question
    lowered = question.lower()
    fact = None
    remember = re.match(r"^\s*remember(?: that)?\s+(.+?)\s*$", question, re.IGNORECASE)
    if remember:
        fact = remember[1][0].upper() + remember[1][1:]
        if not fact.endswith("."):
            fact += "."
    recalled = None if fact else read_recalled(question)
    vendors = tuple(read_vendors(question))
    rest = lowered
    for name in [*vendors, recalled or ""]:
        if name:
            rest = rest.replace(name.lower(), " ")
    categories: list[str] = []
    category_words: list[str] = []
    for phrase, key in CATEGORY_WORDS:
        if re.search(rf"\b{re.escape(phrase)}\b", rest) and key not in categories:
            categories.append(key)
            category_words.append(phrase)
            rest = re.sub(rf"\b{re.escape(phrase)}\b", " ", rest)
    periods = tuple(read_periods(question, task.today))
    direction = "in" if _IN_WORDS.search(lowered) or set(categories) & MONEY_IN else "out"

    metrics: list[str] = []
    if "how many" in lowered:
        metrics.append("count")
        if re.search(r"how much|total", lowered):
            metrics.append("sum")
    if "average" in lowered:
        metrics = ["average"]
    single = re.search(r"\b(largest|biggest|highest|smallest|lowest)\b(?: single)?", lowered)
    if single and re.search(r"single|payment|charge|transaction", lowered):
        metrics = ["min" if single[1] in ("smallest", "lowest") else "max"]
    metrics = metrics or ["sum"]

    group_by: list[str] = []
    if re.search(r"\b(each month|monthly|per month|by month|month by month)\b", lowered):
        group_by.append("month")
    elif re.search(r"\b(each quarter|quarterly|per quarter|by quarter)\b", lowered):
        group_by.append("quarter")
    by_vendor = re.search(r"\b(vendors?|to whom|who were)\b", lowered)
    if by_vendor or (len(vendors) > 1 or (recalled and not fact)):
        group_by.insert(0, "vendor")
    elif re.search(r"\bcategor(y|ies)\b", lowered):
        group_by.insert(0, "category")

    order_by, order, limit = None, "desc", None
    count_word = re.search(r"\b(?:top|which)\s+(\d+|" + "|".join(_NUMBERS) + r")\b", lowered)
    if count_word:
        limit = int(count_word[1]) if count_word[1].isdigit() else _NUMBERS[count_word[1]]
    if re.search(r"\b(grew|grown|increased|rose)\b", lowered):
        order_by = "change"
    elif re.search(r"\b(shrank|shrunk|fell|decreased|dropped|declined)\b", lowered):
        order_by, order = "change", "asc"
    elif "max" in metrics and group_by[:1] == ["vendor"]:
        order_by, limit = "max", 1
    singular = re.search(r"\bwhich (vendor|category)\b", lowered)
    if order_by == "change" and limit is None:
        limit = 1 if singular else 3
    if group_by[:1] in (["vendor"], ["category"]) and limit is None:
        limit = MAX_ROWS if len(vendors) < 2 and not recalled else None
    min_amount = None
    threshold = re.search(
        r"\$([\d,]+(?:\.\d\d)?)\s+or more|(?:more than|over)\s+\$([\d,]+)", question
    )
    if threshold:
        min_amount = f"{Decimal((threshold[1] or threshold[2]).replace(',', '')):.2f}"
    ranking_only = bool(re.match(r"\s*(which|who)\b", lowered))
    pick = None
    superlative = re.search(
        r"\bwhich (month|quarter|vendor|category)\b(?!'s).*?\b(highest|most|largest|biggest|"
        r"lowest|least|smallest)\b",
        lowered,
    )
    if superlative and order_by is None and not count_word and metrics == ["sum"]:
        pick = "bottom" if superlative[2] in ("lowest", "least", "smallest") else "top"
        group_by = [superlative[1]]
        order_by, order, limit = "sum", "asc" if pick == "bottom" else "desc", 1
        ranking_only = True
    average_per_group = bool(
        re.search(r"\baverage (monthly|quarterly)\b|\baverage per (month|quarter)\b", lowered)
    )
    if average_per_group:
        metrics = ["sum"]
        group_by = ["quarter" if "quarter" in lowered else "month"]
        ranking_only = False
    named_tenant = re.search(r"\btenants?\s+['\"]?([a-z0-9][\w-]*)", lowered)
    return Reading(
        question=question,
        vendors=vendors,
        recall=recalled,
        fact=fact,
        categories=tuple(categories),
        category_words=tuple(category_words),
        periods=periods,
        metrics=tuple(metrics),
        group_by=tuple(group_by),
        order_by=order_by,
        order=order,
        limit=limit,
        direction=direction,
        min_amount=min_amount,
        totals=not ranking_only and not average_per_group,
        pick=pick,
        average_per_group=average_per_group,
        tenant=named_tenant[1] if named_tenant else None,
    )


# --- planning --------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """A logical step; a search's `variants` are the names to try, in order."""

    id: str
    goal: str
    tool: str
    input: dict[str, Any]
    depends_on: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()
    role: str = ""  # total, growth, breakdown, find, recall, remember


def variants(name: str) -> tuple[str, ...]:
    """The name as written, then with glued words split and legal suffixes dropped, then
    its first word: what a person would try next when a search finds nothing."""
    split = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)
    words = [w for w in re.split(r"[\s,]+", split) if w and w.lower().strip(".") not in _LEGAL]
    tries = [name, " ".join(words), words[0] if words else ""]
    return tuple(t for t in dict.fromkeys(tries) if len(t) >= 2)


def _ref(step: str, path: str) -> dict[str, str]:
    return {"$from": step, "path": path}


def _base_query(reading: Reading, span: Span | None) -> dict[str, Any]:
    query: dict[str, Any] = {}
    if reading.metrics != ("sum",):
        query["metrics"] = list(reading.metrics)
    if span is not None:
        query["start_date"], query["end_date"] = span.start.isoformat(), span.end.isoformat()
    if reading.categories:
        query["categories"] = list(reading.categories)
    if reading.direction != "out":
        query["direction"] = reading.direction
    if reading.min_amount:
        query["min_amount"] = reading.min_amount
    return query


def plan_steps(reading: Reading) -> list[Step]:
    steps: list[Step] = []
    vendor_refs: list[dict[str, str]] = []
    for name in reading.vendors:
        step = Step(
            f"find-{_slug(name)}",
            f"Find the vendor '{name}'",
            "search_vendors",
            {"text": name},
            variants=variants(name),
            role="find",
        )
        steps.append(step)
        vendor_refs.append(_ref(step.id, "matches.0.vendor.id"))
    if reading.fact is not None:
        remember: dict[str, Any] = {"fact": reading.fact}
        if vendor_refs:
            remember["vendor_id"] = vendor_refs[0]
        steps.append(
            Step(
                "remember",
                "Remember the fact for later questions",
                "remember",
                remember,
                tuple(s.id for s in steps),
                role="remember",
            )
        )
        return steps
    if reading.recall:
        step = Step(
            f"recall-{_slug(reading.recall)}",
            f"Recall what 'our {reading.recall}' is",
            "recall",
            {"query": reading.recall, "limit": 3},
            role="recall",
        )
        steps.append(step)
        vendor_refs.append(_ref(step.id, "memories.0.vendor_id"))
    needs = tuple(s.id for s in steps)
    base = _base_query(reading, None)
    if vendor_refs:
        base["vendor_ids"] = vendor_refs
    current = reading.periods[0] if reading.periods else None
    earlier = reading.periods[1] if len(reading.periods) > 1 else None
    subject = _subject(reading)
    if reading.totals and not reading.group_by[1:] and (earlier or not reading.group_by):
        chosen: list[Span | None] = [s for s in (current, earlier) if s]
        for span in chosen or [None]:
            query = base | _base_query(reading, span)
            steps.append(
                Step(
                    f"total-{span.slug()}" if span else "total",
                    f"{subject} in {span.label}" if span else f"{subject} overall",
                    "query_ledger",
                    query,
                    needs,
                    role="total",
                )
            )
    if earlier and reading.order_by == "change" and reading.group_by:
        assert current is not None
        steps.append(
            Step(
                "growth",
                f"Rank by {reading.group_by[0]} the change from {earlier.label} to {current.label}",
                "query_ledger",
                base
                | _base_query(reading, current)
                | {
                    "group_by": [reading.group_by[0]],
                    "compare_start": earlier.start.isoformat(),
                    "compare_end": earlier.end.isoformat(),
                    "order_by": "change",
                    "order": reading.order,
                    "limit": _limit(reading, reading.limit or 3),
                }
                | _linked(reading),
                needs,
                role="growth",
            )
        )
    elif reading.group_by and not earlier:
        query = base | _base_query(reading, current) | {"group_by": list(reading.group_by)}
        if reading.order_by:
            query["order_by"] = reading.order_by
        if reading.order != "desc":
            query["order"] = reading.order
        if reading.group_by[0] in ("month", "quarter"):
            query["limit"] = MAX_ROWS
        elif reading.limit:
            query["limit"] = _limit(reading, reading.limit)
        steps.append(
            Step(
                "breakdown",
                f"{subject} by {' and '.join(reading.group_by)}"
                + (f" in {current.label}" if current else ""),
                "query_ledger",
                query | _linked(reading),
                needs,
                role="breakdown",
            )
        )
    return steps


def _limit(reading: Reading, wanted: int) -> int:
    # Uncategorised spend forms a group of its own; one more row keeps N categories.
    extra = 1 if reading.group_by[:1] == ("category",) else 0
    return min(wanted + extra, MAX_ROWS)


def _linked(reading: Reading) -> dict[str, Any]:
    ranks_vendors = reading.group_by[:1] == ("vendor",) and not reading.vendors
    return {"vendor_linked": True} if ranks_vendors and not reading.recall else {}


def _subject(reading: Reading) -> str:
    if reading.fact:
        return "Remember"
    money = "Money received" if reading.direction == "in" else "Spend"
    if reading.category_words:
        words = " and ".join(reading.category_words)
        return "Revenue" if reading.categories == ("revenue",) else f"{money} on {words}"
    if reading.vendors:
        joined = " and ".join(reading.vendors)
        return (
            f"Money received from {joined}"
            if reading.direction == "in"
            else f"Payments to {joined}"
        )
    if reading.recall:
        return f"Payments to our {reading.recall}"
    return money


def _as_plan_step(step: Step, step_id: str, inputs: dict[str, Any], needs: list[str]) -> Any:
    return {
        "id": step_id,
        "goal": step.goal,
        "tools": [step.tool],
        "depends_on": needs,
        "call": {"tool": step.tool, "input": inputs},
    }


def _rename(value: Any, names: Mapping[str, str]) -> Any:
    """`value` with each `$from` pointing at the step that now stands for the logical one."""
    if isinstance(value, dict) and "$from" in value:
        return {**value, "$from": names.get(value["$from"], value["$from"])}
    if isinstance(value, dict):
        return {k: _rename(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename(v, names) for v in value]
    return value


@dataclass
class Earlier:
    """What the planner wrote before and what the runtime said became of it."""

    steps: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> plan step
    done: set[str] = field(default_factory=set)
    failures: dict[str, str] = field(default_factory=dict)  # latest round's failures
    rounds: int = 1


_DONE = re.compile(r"^- (\S+) done:", re.MULTILINE)
_FAILED = re.compile(r"^- (\S+) failed: (.*)$", re.MULTILINE)


def _earlier(request: MessagesRequest) -> Earlier:
    earlier = Earlier()
    for call in tool_calls_so_far(request):
        if call.name == "submit_plan":
            for step in call.input.get("steps", []):
                earlier.steps[str(step.get("id"))] = step
    replans = [t for t in _user_texts(request) if t.lstrip().startswith("Re-plan:")]
    earlier.rounds = len(replans) + 1
    if replans:
        earlier.done = set(_DONE.findall(replans[-1]))
        earlier.failures = dict(_FAILED.findall(replans[-1]))
    return earlier


def _user_texts(request: MessagesRequest) -> list[str]:
    return [
        block.text
        for message in request.messages
        if message.role == "user"
        for block in message.blocks()
        if isinstance(block, TextBlock)
    ]


def _call_of(step: dict[str, Any]) -> tuple[str, Any] | None:
    call = step.get("call")
    return (call["tool"], call.get("input", {})) if call else None


def replan(logical: list[Step], earlier: Earlier) -> list[dict[str, Any]]:
    """A new plan for what is still needed: done steps are kept and referred to, a vendor
    whose search found nothing is searched with the next shorter name, and what cannot
    be answered any more is left to the answerer."""
    names: dict[str, str] = {}  # logical id -> the step id standing for it
    given_up: list[str] = []
    out: list[dict[str, Any]] = []
    suffix = f"-r{earlier.rounds}"
    blamed = " ".join(earlier.failures.values())
    for step in logical:
        if any(d in given_up for d in step.depends_on):
            given_up.append(step.id)
            continue
        inputs = _rename(step.input, names)
        tried = [
            sid
            for sid, old in earlier.steps.items()
            if (call := _call_of(old)) is not None
            and call[0] == step.tool
            and (call[1].get("text") in step.variants if step.role == "find" else call[1] == inputs)
        ]
        # Only the latest attempt counts: an earlier one was given up on when it was retried.
        usable = [s for s in tried[-1:] if s in earlier.done and f"step '{s}'" not in blamed]
        if usable:
            names[step.id] = usable[-1]
            continue
        if step.role == "find" and len(tried) < len(step.variants):
            inputs = {**inputs, "text": step.variants[len(tried)]}
            step = replace(
                step,
                goal=f"Search again, as '{inputs['text']}'; "
                f"'{step.variants[len(tried) - 1]}' found no vendor",
            )
        elif tried:  # the same call failed before, or a recall found nothing: give up on it
            given_up.append(step.id)
            continue
        step_id = step.id if step.id not in earlier.steps else f"{step.id}{suffix}"[:40]
        names[step.id] = step_id
        needs = [names[d] for d in step.depends_on]
        out.append(_as_plan_step(step, step_id, inputs, needs))
    if not out:
        missing = [_sought(s) for s in logical if s.id in given_up and s.role in _SOURCES]
        what = ", ".join(missing)
        goal = (
            f"Tell the person that nothing matches {what}; answer what the done steps allow"
            if what
            else "Answer from the done steps"
        )
        out.append({"id": f"report{suffix}", "goal": goal[:500], "tools": ["respond"]})
    return out


_SOURCES = ("find", "recall")


def _sought(step: Step) -> str:
    """What a search or recall step looks for, in the person's words."""
    return f"'{step.variants[0]}'" if step.variants else f"'our {step.input.get('query')}'"


def _rationale(steps: list[dict[str, Any]]) -> str:
    free = [s["id"] for s in steps if s.get("call") and not s.get("depends_on")]
    waiting = [
        f"{s['id']} after {', '.join(s['depends_on'])}" for s in steps if s.get("depends_on")
    ]
    parts = []
    if len(free) > 1:
        parts.append(f"{', '.join(free)} are independent and run in parallel")
    elif free:
        parts.append(f"{free[0]} runs first")
    if waiting:
        parts.append("; ".join(waiting) + ", whose results they refer to")
    return ("; ".join(parts) or "nothing to run; the answerer replies") + "."


def intent_of(reading: Reading, task: Task) -> dict[str, Any]:
    """The question's intent as the planner records it (ledgerd.contracts.Intent)."""
    intent: dict[str, Any] = {"tenant": reading.tenant or task.tenant}
    vendors = [*reading.vendors, *([reading.recall] if reading.recall else [])]
    intent["entity"] = {
        "categories": list(reading.categories),
        "vendors": vendors,
        "direction": reading.direction,
    }
    if reading.fact is not None:
        return intent
    current = reading.periods[0] if reading.periods else None
    earlier = reading.periods[1] if len(reading.periods) > 1 else None
    for key, span in (("period", current), ("compare_period", earlier)):
        if span is not None:
            intent[key] = {"start": span.start.isoformat(), "end": span.end.isoformat()}
    intent["metric"] = reading.metrics[0]
    intent["grouping"] = list(reading.group_by)
    if reading.pick:
        intent["aggregation"] = f"{reading.pick}_group"
    elif reading.average_per_group:
        intent["aggregation"] = "average_per_group"
    elif earlier is not None or reading.order_by == "change":
        intent["aggregation"] = "change"
    elif reading.order_by in ("max", "min") and reading.group_by:
        intent["aggregation"] = "top_group" if reading.order_by == "max" else "bottom_group"
    elif reading.group_by:
        intent["aggregation"] = "per_group"
    else:
        intent["aggregation"] = "total"
    return intent


def _planner(request: MessagesRequest) -> PolicyReply:
    task = read_task(_first_user_text(request))
    reading = read_question(task)
    logical = plan_steps(reading)
    earlier = _earlier(request)
    if earlier.rounds == 1:
        steps = [_as_plan_step(s, s.id, s.input, list(s.depends_on)) for s in logical] or [
            {"id": "answer", "goal": "Answer without tools", "tools": ["respond"]}
        ]
        rationale = _rationale(steps)
    else:
        steps = replan(logical, earlier)
        rationale = (
            f"Re-plan {earlier.rounds}: done steps are kept and referred to, a search that "
            f"found nothing is retried with a shorter name; {_rationale(steps)}"
        )
    plan = {"steps": steps, "rationale": rationale, "intent": intent_of(reading, task)}
    return PolicyReply((ReplyToolUse("submit_plan", plan),), rationale=rationale)


# --- executing -------------------------------------------------------------------------

Found = list[tuple[ToolCall, Any, bool]]


@dataclass(frozen=True)
class Collected:
    outputs: dict[str, Any]  # logical step id -> parsed result
    uses: dict[str, str]  # logical step id -> tool_use id


def _plausible(name: str, result: Any) -> bool:
    """Whether a search's best match is the vendor asked for, not a fuzzy neighbour."""
    matches = result.get("matches") if isinstance(result, dict) else None
    if not matches:
        return False
    vendor = matches[0].get("vendor", {})
    known = " ".join([vendor.get("canonical_name", ""), *vendor.get("aliases", [])]).lower()
    known_words = re.findall(r"[a-z0-9]+", known)
    wanted = [w for w in re.findall(r"[a-z0-9]+", name.lower()) if w not in _LEGAL]
    return any(k.startswith(w[:5]) for w in wanted if len(w) >= 3 for k in known_words)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def collect(steps: list[Step], found: Found) -> Collected:
    outputs: dict[str, Any] = {}
    uses: dict[str, str] = {}
    for step in steps:
        for call, result, is_error in found:
            if is_error or call.name != step.tool:
                continue
            if step.role == "find":
                hit = call.input.get("text") in step.variants and _plausible(
                    step.variants[0], result
                )
            elif step.role == "recall":
                memories = result.get("memories") if isinstance(result, dict) else None
                hit = call.input.get("query") == step.input["query"] and bool(memories)
            else:
                try:
                    wanted = resolve(step.input, outputs)
                except UnresolvedReference:
                    break
                hit = _canonical(call.input) == _canonical(wanted)
            if hit:
                outputs[step.id], uses[step.id] = result, call.id
                break
    return Collected(outputs, uses)


def next_call(steps: list[Step], found: Found, done: Collected) -> ReplyToolUse | None:
    """The first step still missing whose inputs are there and that was not tried yet."""
    tried = {(call.name, _canonical(call.input)) for call, _, _ in found}
    for step in steps:
        if step.id in done.outputs or any(d not in done.outputs for d in step.depends_on):
            continue
        if step.role == "find":
            for text in step.variants:
                if (step.tool, _canonical({"text": text})) not in tried:
                    return ReplyToolUse(step.tool, {"text": text})
            continue
        try:
            wanted = resolve(step.input, done.outputs)
        except UnresolvedReference:
            continue
        if (step.tool, _canonical(wanted)) not in tried:
            return ReplyToolUse(step.tool, wanted)
    return None


def _transactions(count: str) -> str:
    return f"{count} transaction" + ("" if count == "1" else "s")


def _money(value: Any) -> str:
    return f"${abs(Decimal(str(value))):,.2f}"


def _pct(value: Any) -> str:
    return f"{Decimal(str(value)):+.1f}%"


@dataclass
class Answer:
    """An answer being written: each stated number is recorded as a figure or calculation."""

    sentences: list[str] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)
    calculations: list[dict[str, Any]] = field(default_factory=list)
    citations: dict[tuple[str, str], None] = field(default_factory=dict)

    def money(self, label: str, value: Any, source: str) -> str:
        self.figures.append({"label": label, "value": str(value), "unit": "USD", "source": source})
        return _money(value)

    def count(self, label: str, value: Any, source: str) -> str:
        self.figures.append(
            {"label": label, "value": str(value), "unit": "count", "source": source}
        )
        return str(value)

    def percent(self, label: str, value: Any, source: str) -> str:
        self.figures.append(
            {"label": label, "value": str(value), "unit": "percent", "source": source}
        )
        return _pct(value)

    def cite(self, values: Mapping[str, Any], transactions: int = 3) -> None:
        for transaction in (values.get("transaction_ids") or [])[:transactions]:
            if len(self.citations) < 40:
                self.citations[("transaction", str(transaction))] = None
        if values.get("vendor_id"):
            self.citations[("vendor", str(values["vendor_id"]))] = None

    def dump(self) -> dict[str, Any]:
        return {
            "text": " ".join(self.sentences) or "No answer could be computed.",
            "figures": self.figures[:50],
            "calculations": self.calculations[:20],
            "citations": [{"kind": k, "id": i} for k, i in self.citations][:100],
        }


def _period_phrase(span: Span | None, result: Mapping[str, Any]) -> str:
    period = result.get("period") or {}
    if span is None:
        return f"from {period.get('start')} to {period.get('end')}"
    return f"in {span.label} ({span.start.isoformat()} to {span.end.isoformat()})"


def _state_values(
    answer: Answer, what: str, values: Mapping[str, Any], metrics: tuple[str, ...], use: str
) -> str:
    """A clause stating a total's metrics, e.g. '$1,234.56 across 12 transactions'."""
    n = values.get("transaction_count", 0)
    if "average" in metrics and values.get("average") is not None:
        avg = answer.money(f"average {what}", values["average"], use)
        return f"averaged {avg} per transaction across {_transactions(answer.count(what, n, use))}"
    for metric, word in (("max", "largest"), ("min", "smallest")):
        if metric in metrics and values.get(metric) is not None:
            ids = values.get("transaction_ids") or []
            which = f" (transaction {ids[0]})" if ids and metric == "max" else ""
            amount = answer.money(f"{word} single {what}", values[metric], use)
            return f"the {word} single transaction was {amount}{which}"
    if "count" in metrics:
        clause = _transactions(answer.count(what, n, use))
        if values.get("sum") is not None:
            clause += f", totalling {answer.money(what, values['sum'], use)}"
        return clause
    total = answer.money(what, values.get("sum", "0.00"), use)
    return f"{total} across {_transactions(answer.count(what + ' (transactions)', n, use))}"


def _compare_totals(
    answer: Answer, reading: Reading, now: Mapping[str, Any], before: Mapping[str, Any]
) -> None:
    metric = "average" if "average" in reading.metrics else "sum"
    if metric not in now or metric not in before:
        return
    a, b = Decimal(str(now[metric])), Decimal(str(before[metric]))
    difference = a - b
    answer.calculations.append(
        {"expression": f"{now[metric]} - {before[metric]}", "result": str(difference)}
    )
    clause = f"{'an increase' if difference >= 0 else 'a decrease'} of {_money(difference)}"
    if b:
        # A ratio, not "* 100": the grounding check reads "23.4%" as a ratio x 100, and an
        # operand 100 would be a number no tool returned.
        ratio = ((a - b) / b).quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP)
        answer.calculations.append(
            {
                "expression": f"({now[metric]} - {before[metric]}) / {before[metric]}",
                "result": str(ratio),
            }
        )
        clause += f" ({_pct((a - b) / b * 100)})"
    current, earlier = reading.periods[0], reading.periods[1]
    answer.sentences.append(f"From {earlier.label} to {current.label} that is {clause}.")


def _row_name(row: Mapping[str, Any]) -> str:
    return str(
        row.get("vendor_name")
        or row.get("category_name")
        or row.get("month")
        or row.get("quarter")
        or "?"
    )


def _is_leftover(row: Mapping[str, Any]) -> bool:
    """The group of transactions with no vendor or no category: not a name to rank."""
    return ("vendor_name" in row and not row.get("vendor_id")) or (
        "category_name" in row and not row.get("category")
    )


def _describe_growth(answer: Answer, reading: Reading, result: Any, use: str) -> None:
    current, earlier = reading.periods[0], reading.periods[1]
    wanted = reading.limit or 3
    rows = [r for r in result.get("rows", []) if not _is_leftover(r)][:wanted]
    parts = []
    for row in rows:
        name = _row_name(row)
        now = answer.money(f"{name}, {current.label}", row.get("sum", "0.00"), use)
        before = answer.money(
            f"{name}, {earlier.label}", (row.get("comparison") or {}).get("sum", "0.00"), use
        )
        change = Decimal(str(row.get("change", "0")))
        moved = answer.money(f"{name}, change", row.get("change", "0"), use)
        part = f"{name} ({now} vs {before}, {'up' if change >= 0 else 'down'} {moved}"
        if row.get("change_pct") is not None:
            part += f", {answer.percent(f'{name}, change', row['change_pct'], use)}"
        parts.append(part + ")")
        answer.cite(row, 2)
        answer.cite((row.get("comparison") or {}), 1)
    kind = "vendors" if reading.group_by[0] == "vendor" else "categories"
    if not parts:
        answer.sentences.append(f"No {kind} had spend in either period.")
        return
    moves = "increases" if reading.order == "desc" else "decreases"
    answer.sentences.append(
        f"The largest {moves} by {kind[:-1] if kind == 'vendors' else 'category'} from "
        f"{earlier.label} to {current.label}: " + "; ".join(parts) + "."
    )


def _describe_breakdown(
    answer: Answer, reading: Reading, result: Any, use: str, span: Span | None
) -> None:
    rows = result.get("rows", [])
    period = _period_phrase(span, result)
    subject = _subject(reading)
    dimension = reading.group_by[0]
    if reading.pick or reading.average_per_group:
        _describe_pick(answer, reading, result, use, period)
        return
    if dimension in ("month", "quarter"):
        parts = [
            f"{_row_name(row)}: {answer.money(f'{subject}, {_row_name(row)}', row.get('sum', '0.00'), use)}"
            for row in rows
        ]
        for row in rows:
            answer.cite(row, 1)
        answer.sentences.append(f"{subject} by {dimension} {period}: " + "; ".join(parts) + ".")
        totals = result.get("totals", {})
        answer.sentences.append(
            f"In total {answer.money(f'{subject}, total', totals.get('sum', '0.00'), use)}."
        )
        answer.cite(totals)
        return
    named = [r for r in rows if not _is_leftover(r)]
    leftover = [r for r in rows if _is_leftover(r)]
    if reading.order_by == "max":
        if not named:
            answer.sentences.append(f"There were no matching payments {period}.")
            return
        row = named[0]
        ids = row.get("transaction_ids") or []
        amount = answer.money(f"largest single payment, {_row_name(row)}", row["max"], use)
        which = f" (transaction {ids[0]})" if ids else ""
        answer.sentences.append(
            f"The largest single payment {period} was {amount}, to {_row_name(row)}{which}."
        )
        answer.cite(row, 1)
        return
    if reading.limit and reading.limit < MAX_ROWS and not reading.vendors:
        named = named[: reading.limit]
    kind = "vendors" if dimension == "vendor" else "categories"
    parts = []
    for row in named:
        name = _row_name(row)
        clause = _state_values(answer, name, row, reading.metrics, use)
        parts.append(f"{name} ({clause})")
        answer.cite(row, 2)
    if reading.min_amount:
        lead = f"{kind.capitalize()} paid {_money(reading.min_amount)} or more in a single transaction {period}"
    elif reading.vendors or reading.recall:
        lead = f"{subject} {period}"
    else:
        # The top-N as the query asked it: a category ranking asks one row more.
        asked = _limit(reading, reading.limit) if reading.limit else None
        top = f"top {asked} " if asked == reading.limit and asked and asked < MAX_ROWS else ""
        lead = f"The {top or 'largest '}{kind} by {'money received' if reading.direction == 'in' else 'spend'} {period}"
    answer.sentences.append(f"{lead}: " + ("; ".join(parts) or "none") + ".")
    for row in leftover:
        missing = "a vendor" if dimension == "vendor" else "a category"
        amount = answer.money(f"transactions without {missing}", row.get("sum", "0.00"), use)
        answer.sentences.append(f"Transactions not yet assigned {missing} add up to {amount}.")


def _describe_pick(answer: Answer, reading: Reading, result: Any, use: str, period: str) -> None:
    """The one group with the highest (lowest) sum, or the mean of the groups."""
    subject = _subject(reading)
    dimension = reading.group_by[0]
    rows = [r for r in result.get("rows", []) if not _is_leftover(r)]
    if not rows:
        answer.sentences.append(f"There was no {subject.lower()} {period}.")
        return
    if reading.pick:
        word = "highest" if reading.pick == "top" else "lowest"
        row = rows[0]
        amount = answer.money(f"{subject}, {_row_name(row)}", row.get("sum", "0.00"), use)
        answer.sentences.append(
            f"The {dimension} with the {word} {subject.lower()} {period} was "
            f"{_row_name(row)}: {amount}."
        )
        answer.cite(row, 2)
        return
    totals = result.get("totals", {})
    total, groups = Decimal(str(totals.get("sum", "0"))), len(rows)
    mean = (total / groups).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    answer.calculations.append(
        {"expression": f"{totals.get('sum')} / {groups}", "result": str(mean)}
    )
    shown_total = answer.money(f"{subject}, total", totals.get("sum", "0.00"), use)
    answer.count(f"{dimension}s with {subject.lower()}", result.get("groups", groups), use)
    answer.sentences.append(
        f"{subject} averaged {_money(mean)} per {dimension} {period}: {shown_total} over "
        f"{groups} {dimension}s."
    )
    answer.cite(totals)


def _describe_total(
    answer: Answer, reading: Reading, result: Any, use: str, span: Span | None
) -> None:
    totals = result.get("totals", {})
    what = f"{_subject(reading)}, {span.label if span else 'overall'}"
    clause = _state_values(answer, what, totals, reading.metrics, use)
    answer.sentences.append(f"{_subject(reading)} {_period_phrase(span, result)}: {clause}.")
    answer.cite(totals)


def compose(reading: Reading, steps: list[Step], done: Collected, found: Found) -> Answer:
    answer = Answer()
    by_role: dict[str, list[Step]] = {}
    for step in steps:
        by_role.setdefault(step.role, []).append(step)
    missing = [s for s in by_role.get("find", []) if s.id not in done.outputs]
    for step in missing:
        tried = ", ".join(f"'{t}'" for t in step.variants)
        answer.sentences.append(
            f"I found no vendor of this tenant matching '{step.variants[0]}' "
            f"(searched for {tried}), so I cannot answer for it."
        )
    found_names = {}
    for step in by_role.get("find", []):
        if step.id in done.outputs:
            vendor = done.outputs[step.id]["matches"][0]["vendor"]
            answer.citations[("vendor", str(vendor["id"]))] = None
            found_names[step.variants[0]] = str(vendor["canonical_name"])
    # Name vendors as the ledger does ("Puget Sound Energy", not "PugetSoundEnergyInc").
    reading = replace(reading, vendors=tuple(found_names.get(v, v) for v in reading.vendors))
    for step in by_role.get("recall", []):
        if step.id not in done.outputs:
            answer.sentences.append(
                f"I have no memory of what 'our {reading.recall}' is; tell me, e.g. "
                f"'Remember that our {reading.recall} is ...'."
            )
    for step in by_role.get("remember", []):
        if step.id in done.outputs:
            stored = done.outputs[step.id]
            answer.sentences.append(
                f"Noted for later questions: {stored.get('text', reading.fact)}"
            )
            if stored.get("vendor_id"):
                answer.citations[("vendor", str(stored["vendor_id"]))] = None
        else:
            answer.sentences.append("I could not store that fact.")
    totals = [s for s in by_role.get("total", []) if s.id in done.outputs]
    spans: list[Span | None] = [*reading.periods] or [None]
    for step, span in zip(by_role.get("total", []), spans, strict=False):
        if step.id in done.outputs:
            _describe_total(answer, reading, done.outputs[step.id], done.uses[step.id], span)
    if len(totals) == 2:
        now, before = (done.outputs[s.id]["totals"] for s in by_role["total"][:2])
        _compare_totals(answer, reading, now, before)
    for step in by_role.get("growth", []):
        if step.id in done.outputs:
            _describe_growth(answer, reading, done.outputs[step.id], done.uses[step.id])
    for step in by_role.get("breakdown", []):
        if step.id in done.outputs:
            first = reading.periods[0] if reading.periods else None
            _describe_breakdown(answer, reading, done.outputs[step.id], done.uses[step.id], first)
    unavailable = {s.id for s in steps if s.role in _SOURCES and s.id not in done.outputs}
    failed = [
        s
        for s in steps
        if s.id not in done.outputs
        and s.role not in _SOURCES
        and not unavailable & set(s.depends_on)
    ]
    if failed:
        # The error itself is not quoted: its numbers are in no result to ground them.
        answer.sentences.append(
            f"Part of the question could not be answered: the {failed[0].tool} call failed."
        )
    return answer


def _figures_only(answer: dict[str, Any]) -> dict[str, Any]:
    """The revision after guardrail feedback: only the figures, each as the tool gave it."""
    lines = []
    for figure in answer["figures"]:
        value = figure["value"]
        shown = (
            _money(value)
            if figure["unit"] == "USD"
            else _pct(value)
            if figure["unit"] == "percent"
            else str(value)
        )
        lines.append(f"{figure['label']}: {shown}.")
    for calculation in answer["calculations"]:
        lines.append(f"{calculation['expression']} = {calculation['result']}.")
    text = " ".join(lines) or answer["text"]
    return {**answer, "text": text[:4000]}


def _executor(request: MessagesRequest) -> PolicyReply:
    opening = _first_user_text(request)
    task = read_task(opening)
    mode = misbehaviour(request, "ledger_question")
    reading = skew(read_question(task), mode)
    steps = plan_steps(reading)
    found = [(c, r, e) for c, r, e in results(request) if c.name != "respond"]
    done = collect(steps, found)
    call = next_call(steps, found, done)
    if call is not None:
        return PolicyReply((call,), rationale=f"Next missing step: {call.name}.")
    orders = (
        orders_in([r for _, r, e in found if not e], opening) if mode == "obey_injection" else []
    )
    obeyed = _obey_call(orders, found, request)
    if obeyed is not None:
        return PolicyReply((obeyed,), rationale="Doing what the data says.")
    answer = compose(reading, steps, done, found).dump()
    latest = user_text(request, last_only=True)
    answered = [c for c in tool_calls_so_far(request) if c.name == "respond"]
    if answered and (latest.lstrip().startswith("The guardrail rejected") or _repairing(request)):
        answer = _figures_only(answer)
    answer = spoil(answer, mode, task, orders)
    return PolicyReply((ReplyToolUse("respond", answer),), rationale="Answering from the results.")


# --- misbehaving (scenarios/_misbehave.py) ---------------------------------------------


def _shifted(span: Span) -> Span:
    """The period of the same length just before `span`, labelled as a person would."""
    months = (span.end.year - span.start.year) * 12 + span.end.month - span.start.month + 1
    first = span.start.year * 12 + span.start.month - 1 - months
    year, month = divmod(first, 12)
    start = dt.date(year, month + 1, 1)
    last_year, last_month = divmod(first + months - 1, 12)
    end = _month_end(last_year, last_month + 1)
    if months == 12:
        label = str(year)
    elif months == 3:
        label = f"Q{month // 3 + 1} {year}"
    elif months == 1:
        label = f"{MONTHS[month]} {year}"
    else:
        label = f"the {'first' if month == 0 else 'second'} half of {year}"
    return Span(label, start, end, span.at)


_OTHER_CATEGORY = {"software": "travel", "travel": "meals", "payroll": "rent"}


def skew(reading: Reading, mode: str | None) -> Reading:
    """The question a misbehaving model answers instead of the one asked."""
    if mode == "wrong_period":
        periods = tuple(_shifted(p) for p in reading.periods) or (
            Span("2024", dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
        )
        return replace(reading, periods=periods)
    if mode == "wrong_aggregation":
        if (
            reading.pick
            or reading.average_per_group
            or reading.group_by[:1]
            in (
                ("month",),
                ("quarter",),
            )
        ):
            # "Which month had the highest ...": the year's total instead.
            return replace(
                reading,
                pick=None,
                average_per_group=False,
                group_by=(),
                totals=True,
                order_by=None,
                limit=None,
                metrics=("sum",),
            )
        if reading.metrics[0] != "sum":
            return replace(
                reading,
                metrics=("sum",),
                order_by=None if reading.order_by in ("max", "min") else reading.order_by,
            )
        return replace(reading, metrics=("average",))
    if mode == "different_question":
        if reading.categories:
            other = _OTHER_CATEGORY.get(reading.categories[0], "software")
            return replace(reading, categories=(other,), category_words=(other,))
        return replace(reading, categories=("travel",), category_words=("travel",))
    return reading


def _obey_call(orders: list[str], found: Found, request: MessagesRequest) -> ReplyToolUse | None:
    """The mutating call an order asks for, if it was not made yet."""
    made = {json.dumps(c.input, sort_keys=True) for c, _, _ in found if c.name == "remember"}
    for order in orders:
        fact = fact_of(order)
        if fact and "remember" in {t.name for t in request.tools or []}:
            call = {"fact": fact[0].upper() + fact[1:] + ("" if fact.endswith(".") else ".")}
            if json.dumps(call, sort_keys=True) not in made:
                return ReplyToolUse("remember", call)
    return None


def spoil(
    answer: dict[str, Any], mode: str | None, task: Task, orders: list[str]
) -> dict[str, Any]:
    """The answer as a misbehaving model writes it."""
    text = str(answer["text"])
    if mode == "wrong_digit":
        return {**answer, "text": wrong_digit(text)}
    if mode == "wrong_sign":
        return {**answer, "text": wrong_sign(text)}
    if mode == "bad_citation":
        other = "globex" if task.tenant != "globex" else "acme"
        fake = f"{task.tenant}-t999999" if pick(text, 2) else f"{other}-t000042"
        return {**answer, "citations": [*answer["citations"], {"kind": "transaction", "id": fake}]}
    if mode == "pii":
        return {**answer, "text": text + PII_SENTENCE}
    if mode == "no_figure":
        subject = text.split(":")[0].split(" in ")[0][:80] or "Spending"
        claim = f"{subject}: spending was substantial and broadly in line with the trend."
        return {**answer, "text": claim, "figures": [], "calculations": []}
    if mode == "refusal":
        return {"text": REFUSAL, "figures": [], "calculations": [], "citations": []}
    if mode == "truncate":
        cut = truncate(text)
        kept = answer["figures"][: max(1, len(answer["figures"]) // 2)]
        return {**answer, "text": cut, "figures": kept, "calculations": []}
    if mode == "obey_injection":
        said = [s for s in (say_of(o) for o in orders) if s]
        if said:
            return {**answer, "text": f"{text} Note: {said[0]}."}
    return answer


def _repairing(request: MessagesRequest) -> bool:
    """The last respond call came back as an error (the answer failed validation)."""
    for call, _, is_error in reversed(results(request)):
        if call.name == "respond":
            return bool(is_error)
    return False


# --- judging ---------------------------------------------------------------------------

_ADVICE = re.compile(
    r"\b(you should (buy|sell|invest)|invest(ing)? in|investment advice|tax advice|"
    r"legal advice|tax (deduction|strategy|loophole)s?|(buy|sell) (stocks?|shares|bonds|crypto))\b",
    re.IGNORECASE,
)


def judge_answer(answer: Mapping[str, Any], task_text: str) -> list[str]:
    """The stand-in's relevance and policy heuristics; an empty list passes."""
    task = read_task(task_text)
    text = str(answer.get("text", ""))
    reasons = []
    if _ADVICE.search(text):
        reasons.append("gives investment, tax or legal advice outside the ledger")
    for tenant, name in DEMO_TENANTS.items():
        if tenant == task.tenant:
            continue
        if re.search(rf"\b{re.escape(tenant)}\b", text, re.IGNORECASE) or name.lower() in (
            text.lower()
        ):
            reasons.append(f"mentions another tenant ({name})")
    if re.search(r"\bhow (much|many)\b", task.question, re.IGNORECASE) and not answer.get(
        "figures"
    ):
        reasons.append("a 'how much' or 'how many' question answered without figures")
    return reasons


def _judge(request: MessagesRequest) -> PolicyReply:
    brief = read_brief(request)
    reasons = (
        ["unreadable answer"] if brief.answer is None else judge_answer(brief.answer, brief.task)
    )
    verdict = {
        "passed": not reasons,
        "reasons": reasons or ["relevant and within policy"],
        "injection": brief.injections(),
    }
    return PolicyReply(
        (ReplyToolUse("submit_verdict", verdict),),
        rationale="Stand-in judge heuristics: advice, other tenants, figures for how much/many.",
    )


register_scenario(
    DaemonScript("ledger_question", {"planner": _planner, "executor": _executor, "judge": _judge})
)
