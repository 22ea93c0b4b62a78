"""Relevance, deterministically: an answer must be about what was asked.

The planner records the question's intent (metric, aggregation, grouping, period, entity,
tenant; `ledgerd.contracts.Intent`). These checks hold the answer to it, with arithmetic and
comparisons, not judgement:

- `tenant_in_scope`: the question is about the caller's tenant (the intent's tenant, and any
  "tenant X" the question names); otherwise the run must refuse, not answer.
- `intent_matches_question`: every period the question names explicitly (a year, a quarter,
  a month, a half) overlaps the intent's period or comparison period.
- `figures_match_intent`: every figure comes from a ledger query of the intent: its period,
  metric, grouping, categories, vendors and direction. A figure from a query of Q2 when Q3
  was asked, or of a sum when an average was asked, fails naming the mismatch.
- `aggregation_answered`: "which month had the highest ..." states the top month's value,
  not the year's total; "average monthly ..." states the mean of the months.
- `figures_present`: a question that asks for an amount gets one, when the queries ran.

Without an intent (step-by-step mode has no planner) only the tenant check and the judge
judge relevance.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from ledgerd.contracts import CheckResult, Intent, Period
from ledgerd.daemons._grounding import Stated, matches, stated_dates, stated_numbers
from ledgerd.daemons._intent import intent_in, task_line
from ledgerd.daemons._spec import Evidence

_GROUPED = {"per_group", "top_group", "bottom_group", "average_per_group"}
_ASKS = {
    "per_group": "for each",
    "top_group": "for the highest",
    "bottom_group": "for the lowest",
    "average_per_group": "for the average per",
}
_TENANT = re.compile(r"\btenants?\s+['\"]?([A-Za-z0-9][\w-]*)", re.IGNORECASE)
_MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_name) if name}


def _plain(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def same_tenant(named: str, tenant_id: str) -> bool:
    """Its id, or a name that starts with it ("Acme Robotics" for acme)."""
    return not _plain(named) or _plain(named).startswith(_plain(tenant_id))


def _check(name: str, problems: list[str], ok: str) -> CheckResult:
    text = "; ".join(p[:300] for p in problems[:6])[:1000]
    return CheckResult(name=name, passed=not problems, reason=text or ok)


# --- periods the question names ----------------------------------------------------------


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def named_periods(question: str) -> list[tuple[str, Period]]:
    """Periods the question names with a year: Q3 2025, March 2025, H1 / the first half of
    2025, 2025. A year inside a more specific period is not a period of its own."""
    found: list[tuple[str, Period]] = []
    taken: list[tuple[int, int]] = []

    def add(match: re.Match[str], start: dt.date, end: dt.date) -> None:
        found.append((match[0], Period(start=start, end=end)))
        taken.append(match.span())

    for m in re.finditer(r"\bQ([1-4])\s+(20\d\d)\b", question):
        year, q = int(m[2]), int(m[1])
        add(m, dt.date(year, 3 * q - 2, 1), _month_end(year, 3 * q))
    month_names = "|".join(name for name in _MONTHS)
    for m in re.finditer(rf"\b({month_names})\s+(20\d\d)\b", question, re.IGNORECASE):
        year, month = int(m[2]), _MONTHS[m[1].lower()]
        add(m, dt.date(year, month, 1), _month_end(year, month))
    half = r"\b(?:H([12])|(?:the )?(first|second) half)(?: of)?\s+(20\d\d)\b"
    for m in re.finditer(half, question, re.IGNORECASE):
        first = m[1] == "1" or (m[2] or "").lower() == "first"
        year = int(m[3])
        add(m, dt.date(year, 1 if first else 7, 1), _month_end(year, 6 if first else 12))
    for m in re.finditer(r"\b(20\d\d)\b", question):
        if not any(a <= m.start() < b for a, b in taken):
            found.append(
                (m[0], Period(start=dt.date(int(m[1]), 1, 1), end=dt.date(int(m[1]), 12, 31)))
            )
    return found


def _overlap(a: Period, b: Period) -> bool:
    return a.start <= b.end and b.start <= a.end


# --- the queries a figure came from ------------------------------------------------------


def _query_period(item: Evidence) -> tuple[str | None, str | None]:
    """The query's period: its input dates, else the period its result reports."""
    start, end = item.input.get("start_date"), item.input.get("end_date")
    reported = item.output.get("period") if isinstance(item.output, dict) else None
    if isinstance(reported, dict):
        start = start or reported.get("start")
        end = end or reported.get("end")
    return (str(start) if start else None, str(end) if end else None)


def query_mismatches(item: Evidence, intent: Intent) -> list[str]:
    """How a ledger query differs from the intent, in words; empty when it is of the intent."""
    q = item.input
    problems: list[str] = []
    periods = [p for p in (intent.period, intent.compare_period) if p is not None]
    start, end = _query_period(item)
    if periods and not any(
        start == p.start.isoformat() and end == p.end.isoformat() for p in periods
    ):
        problems.append(
            f"it covers {start or 'the first transaction'} to {end or 'the last'}, but the "
            f"question asks about {' and '.join(p.label() for p in periods)}"
        )
    metrics = [str(m) for m in q.get("metrics") or ["sum"]]
    if intent.metric and intent.metric not in metrics:
        problems.append(
            f"it measures the {'/'.join(metrics)}, but the question asks for the {intent.metric}"
        )
    groups = [str(g) for g in q.get("group_by") or []]
    if intent.aggregation in _GROUPED and intent.grouping and intent.grouping[0] not in groups:
        how = f"grouped by {', '.join(groups)}" if groups else "not grouped"
        problems.append(
            f"it is {how}, but the question asks {_ASKS[intent.aggregation]} {intent.grouping[0]}"
        )
    categories = sorted(str(c) for c in q.get("categories") or [])
    wanted = sorted(intent.entity.categories)
    if categories != wanted:
        problems.append(
            f"it is about {', '.join(categories) or 'every category'}, but the question asks "
            f"about {', '.join(wanted) or 'every category'}"
        )
    direction = str(q.get("direction") or "out")
    if direction != intent.entity.direction:
        words = {"out": "spend", "in": "money received", "all": "money in and out"}
        problems.append(
            f"it counts {words.get(direction, direction)}, but the question asks about "
            f"{words[intent.entity.direction]}"
        )
    if intent.entity.vendors and not q.get("vendor_ids"):
        problems.append(
            f"it is not limited to {', '.join(intent.entity.vendors)[:80]}, which the question "
            "names"
        )
    elif not intent.entity.vendors and q.get("vendor_ids"):
        problems.append("it is limited to vendors the question does not name")
    return problems


def _figures_match(answer: Any, by_id: dict[str, Evidence], intent: Intent) -> list[str]:
    problems = []
    for figure in answer.figures:
        source = by_id.get(figure.source)
        if source is None:
            continue  # figures_sourced names a figure without its call
        what = f"figure {figure.label[:60]!r} ({figure.value:.10g})"
        if source.tool != "query_ledger":
            problems.append(f"{what} comes from {source.tool}, not from a ledger query")
            continue
        for mismatch in query_mismatches(source, intent):
            problems.append(f"{what} comes from {figure.source}: {mismatch}")
    return problems


# --- the grouped values an aggregation is over -------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def _is_leftover(row: dict[str, Any]) -> bool:
    return ("vendor_name" in row and not row.get("vendor_id")) or (
        "category_name" in row and not row.get("category")
    )


def _group_label(row: dict[str, Any]) -> str:
    for key in ("month", "quarter", "vendor_name", "category_name"):
        if row.get(key):
            return str(row[key])
    return "?"


def _grouped_queries(evidence: list[Evidence], intent: Intent) -> Iterator[Evidence]:
    for item in evidence:
        ledger = item.tool == "query_ledger" and isinstance(item.output, dict)
        if ledger and not item.is_error and not query_mismatches(item, intent):
            yield item


def _months(period: Period, grouping: str) -> int:
    months = (period.end.year - period.start.year) * 12 + period.end.month - period.start.month
    months += 1
    return months if grouping == "month" else max(1, months // 3)


def _stated(answer: Any) -> list[Stated]:
    return [n for n in stated_numbers(answer.text) if not n.year]


def _states(answer: Any, expected: list[Decimal]) -> bool:
    """Whether the answer states one of the expected values, in its text or a calculation."""
    if any(matches(n, expected) for n in _stated(answer)):
        return True
    return any(abs(c.result - e) <= Decimal("0.01") for c in answer.calculations for e in expected)


def _aggregation(answer: Any, evidence: list[Evidence], intent: Intent) -> list[str]:
    if intent.aggregation not in ("top_group", "bottom_group", "average_per_group"):
        return []
    metric = intent.metric or "sum"
    grouping = intent.grouping[0] if intent.grouping else "month"
    queries = list(_grouped_queries(evidence, intent))
    if not queries:
        return [
            f"the question asks {_ASKS[intent.aggregation]} {grouping}, but no query grouped "
            f"by {grouping} of the intent ran"
        ]
    rows = [r for r in queries[-1].output.get("rows", []) if not _is_leftover(r)]
    valued = [(r, v) for r in rows if (v := _decimal(r.get(metric))) is not None]
    if not valued:
        return []  # nothing to rank or average: a zero answer is right
    if intent.aggregation == "average_per_group":
        total = sum((v for _, v in valued), Decimal(0))
        expected = [total / len(valued)]
        if intent.period is not None and grouping in ("month", "quarter"):
            expected.append(total / _months(intent.period, grouping))
        if _states(answer, expected):
            return []
        shown = " or ".join(f"{e:,.2f}" for e in expected)
        return [
            f"the question asks for the average per {grouping}: {shown} over "
            f"{len(valued)} {grouping}(s); the answer states neither"
        ]
    pick = max if intent.aggregation == "top_group" else min
    row, value = pick(valued, key=lambda rv: rv[1])
    if _states(answer, [value]):
        return []
    word = "highest" if intent.aggregation == "top_group" else "lowest"
    stated = ", ".join(n.text for n in _stated(answer)[:4]) or "no figure"
    return [
        f"the question asks for the {grouping} with the {word} {metric}: "
        f"{_group_label(row)} at {value:,.2f}; the answer states {stated} instead"
    ]


# --- the checks --------------------------------------------------------------------------


def relevance_checks(answer: Any, evidence: list[Evidence], task: str) -> list[CheckResult]:
    intent = intent_in(task)
    tenant = task_line(task, "Tenant")
    question = task_line(task, "Question")
    named = [intent.tenant] if intent is not None else []
    named += [m[1] for m in _TENANT.finditer(question)]
    others = sorted({n for n in named if tenant and not same_tenant(n, tenant)})
    checks = [
        _check(
            "tenant_in_scope",
            [
                f"the question is about tenant {other!r}, but this run reads tenant "
                f"{tenant!r}'s books only: it must refuse, not answer"
                for other in others
            ],
            f"about tenant {tenant!r}" if tenant else "no tenant to check",
        )
    ]
    if intent is None:
        return checks
    periods = [p for p in (intent.period, intent.compare_period) if p is not None]
    checks.append(
        _check(
            "intent_matches_question",
            [
                f"the question names {label}, but the intent is about "
                f"{' and '.join(p.label() for p in periods) or 'no period'}"
                for label, span in named_periods(question)
                if not any(_overlap(span, p) for p in periods)
            ],
            "the intent's periods are the question's",
        )
    )
    by_id = {e.use_id: e for e in evidence if e.use_id and not e.is_error}
    checks.append(
        _check(
            "figures_match_intent",
            _figures_match(answer, by_id, intent),
            f"{len(answer.figures)} figure(s), each from a query of the intent",
        )
    )
    checks.append(
        _check(
            "aggregation_answered",
            _aggregation(answer, evidence, intent),
            f"{intent.aggregation or 'no aggregation'} answered",
        )
    )
    checks.append(
        _check(
            "periods_match_intent",
            [
                f"the answer speaks of {label}, outside {' and '.join(p.label() for p in periods)}"
                for label, span in _answer_periods(answer.text)
                if periods and not any(_overlap(span, p) for p in periods)
            ],
            "the answer's periods are the intent's",
        )
    )
    checks.append(_check("figures_present", _unused_results(answer, evidence, intent), "ok"))
    return checks


def _answer_periods(text: str) -> list[tuple[str, Period]]:
    """Periods an answer names: as a question would, and as ISO dates or months."""
    found = named_periods(text)
    for date in stated_dates(text):
        year, month = int(date[:4]), int(date[5:7])
        if not 1 <= month <= 12:
            continue
        day = int(date[8:10]) if len(date) == 10 else None
        try:
            start = dt.date(year, month, day or 1)
            end = start if day else _month_end(year, month)
        except ValueError:
            continue
        found.append((date, Period(start=start, end=end)))
    return found


def _unused_results(answer: Any, evidence: list[Evidence], intent: Intent) -> list[str]:
    """A question that asks for a figure gets one from the queries of its intent, when they
    found something: "none" over a query that found 40 transactions is a wrong answer."""
    if intent.metric is None:
        return []
    found = [
        e
        for e in _grouped_queries(evidence, intent)
        if int((e.output.get("totals") or {}).get("transaction_count") or 0) > 0
    ]
    if not found:
        return []
    used = {f.source for f in answer.figures}
    if any(e.use_id in used for e in found):
        return []
    if not answer.figures and not _stated(answer):
        return [f"the question asks for the {intent.metric}; the answer states no figure"]
    first = found[0]
    n = (first.output.get("totals") or {}).get("transaction_count")
    return [
        f"the query of the intent ({first.use_id}) found {n} transactions, but no figure of "
        "the answer comes from it"
    ]
