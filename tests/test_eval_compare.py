"""`ledgerd eval compare` end to end: two variants, each on its own `python -m worker` process,
over a slice of each shipped dataset, as real workflows on the Temporal dev server, the seeded
PostgreSQL and the offline stand-in. The report's figures are checked against the workflows'
own results and the `model_calls` rows, never against numbers written here.
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from accounting.vendors import normalized_name
from ledgerd.cli import app
from ledgerd.config import Settings, load_settings
from ledgerd.contracts import DaemonResult, Usage
from ledgerd.db import Pool, open_pool
from ledgerd.evals._chart import write_chart
from ledgerd.evals._compare import compare
from ledgerd.evals._dataset import SHIPPED, load_datasets
from ledgerd.evals._report import ComparisonReport, VariantResult, render_table
from ledgerd.evals._variants import Variant, VariantError, packaged_prompts_dir, parse_variant
from ledgerd.evals._workers import VariantWorker, WorkerFailed
from ledgerd.evals.client_onboarding import OnboardingCase
from ledgerd.evals.vendor_hydration import VendorCase
from ledgerd.model_registry import estimate_cost
from ledgerd.onboarding import OnboardingResult
from ledgerd.prompts import Prompt, load_prompt
from ledgerd.stack import free_port
from standin import OfflineModelServer

EDITED = "vendor_hydration.executor"
B_EXECUTOR = "claude-sonnet-5"  # thinks like the default executor, so prompts compare


@pytest.fixture
async def seeded_pool(seeded_pg_url: str) -> AsyncIterator[Pool]:
    opened = await open_pool(seeded_pg_url, max_size=8)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def eval_settings(
    dev_env: WorkflowEnvironment,
    seeded_pg_url: str,
    model_server: OfflineModelServer,
    tmp_path: Path,
) -> Settings:
    return load_settings(
        temporal_address=dev_env.client.service_client.config.target_host,
        database_url=seeded_pg_url,
        offline_model_port=model_server.port,
        offline_model=True,
        state_dir=tmp_path / "state",
    )


def edited_prompts(folder: Path) -> Path:
    """The packaged executor prompt plus one instruction: the header the stand-in reads stays,
    so only the prompt's text, version and length change."""
    folder.mkdir()
    packaged = (packaged_prompts_dir() / f"{EDITED}.md").read_text(encoding="utf-8")
    (folder / f"{EDITED}.md").write_text(
        packaged + "\nKeep every reply short: no explanations between tool calls.\n"
    )
    return folder


async def model_call_rows(pool: Pool, workflow_id: str) -> list[dict[str, object]]:
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT * FROM model_calls WHERE starts_with(run_id, %s)", (f"{workflow_id}@",)
        )
        return list(await cursor.fetchall())


def usage_of(row: dict[str, object]) -> Usage:
    return Usage(
        input_tokens=int(str(row["input_tokens"])),
        output_tokens=int(str(row["output_tokens"])),
        cache_read_tokens=int(str(row["cache_read_tokens"])),
        cache_creation_tokens=int(str(row["cache_creation_tokens"])),
    )


async def test_compares_two_variants_on_a_slice_of_every_dataset(
    dev_env: WorkflowEnvironment, seeded_pool: Pool, eval_settings: Settings, tmp_path: Path
) -> None:
    cases = load_datasets(SHIPPED, limit=1)
    assert {c.daemon for c in cases} == {"ledger_question", "vendor_hydration", "client_onboarding"}
    a = parse_variant("base", option="--a", settings=eval_settings)
    b = parse_variant(
        f"name=terse,executor_model={B_EXECUTOR},prompts={edited_prompts(tmp_path / 'terse')}",
        option="--b",
        settings=eval_settings,
    )
    report = await compare(
        eval_settings,
        dev_env.client,
        seeded_pool,
        a,
        b,
        cases,
        datasets=[str(p) for p in SHIPPED],
        concurrency=3,
        logs=tmp_path / "logs",
    )
    print("\n" + render_table(report))
    assert [c.id for c in report.cases] == [c.id for c in cases]

    packaged = load_prompt(EDITED).version
    override = report.b.prompt_overrides[EDITED]
    assert override != packaged
    assert report.a.prompt_versions_used[EDITED] == [packaged]
    assert report.b.prompt_versions_used[EDITED] == [override]
    assert report.a.prompt_overrides == {}
    # Every other prompt stayed the packaged one in b too.
    for name, versions in report.b.prompt_versions_used.items():
        if name != EDITED:
            assert versions == [load_prompt(name).version], name

    for case, comparison in zip(cases, report.cases, strict=True):
        for label, result in (("a", comparison.a), ("b", comparison.b)):
            assert result.outcome != "error", (case.id, label, result.reason)
            assert result.workflow_id is not None
            assert result.workflow_id.startswith(f"eval-{report.run}-{label}-")
            executor = eval_settings.executor_model if label == "a" else B_EXECUTOR
            assert result.measures.models["executor"] == [executor]
            await check_against_the_run(dev_env, seeded_pool, case, result)

    vendor = next(c for c in report.cases if c.daemon == "vendor_hydration")
    # The longer executor prompt reached the model: more prompt tokens for the same turns
    # (cached, so they show as cache reads and writes, not input).
    assert vendor.b.measures.model_calls == vendor.a.measures.model_calls

    def prompt_tokens(u: Usage) -> int:
        return u.input_tokens + u.cache_read_tokens + u.cache_creation_tokens

    assert prompt_tokens(vendor.b.measures.usage) > prompt_tokens(vendor.a.measures.usage)
    assert vendor.a.tenant != vendor.b.tenant  # each variant hydrated its own copy

    for summary, results in (
        (report.a, [c.a for c in report.cases]),
        (report.b, [c.b for c in report.cases]),
    ):
        assert summary.total.cases == len(cases)
        assert summary.total.correct == sum(r.correct for r in results)
        assert summary.total.tokens == sum(r.measures.tokens for r in results)
        assert summary.total.tool_calls == sum(r.measures.tool_calls for r in results)
        assert summary.total.cost_usd == pytest.approx(sum(r.measures.cost_usd for r in results))
        assert set(summary.by_daemon) == {c.daemon for c in cases}

    saved = tmp_path / "report.json"
    saved.write_text(report.model_dump_json(indent=2))
    assert ComparisonReport.model_validate_json(saved.read_text()) == report

    chart = tmp_path / "out" / "compare.png"
    write_chart(report, chart)
    data = chart.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (1600, 750)
    assert len(data) > 20_000  # eight panels of bars and labels, not an empty canvas


async def check_against_the_run(
    env: WorkflowEnvironment, pool: Pool, case: object, result: VariantResult
) -> None:
    """The report's figures for one run, recomputed from the workflow's result and rows."""
    assert result.workflow_id is not None
    rows = await model_call_rows(pool, result.workflow_id)
    m = result.measures
    assert m.model_calls == len(rows) > 0
    assert m.tokens == sum(usage_of(r).total for r in rows)
    assert m.cost_usd == pytest.approx(
        sum(estimate_cost(str(r["model"]), usage_of(r))[0] for r in rows), abs=1e-6
    )
    assert m.seconds > 0
    if isinstance(case, OnboardingCase):
        done = await env.client.get_workflow_handle(
            result.workflow_id, result_type=OnboardingResult
        ).result()
        assert result.outcome == done.outcome.value == "applied"
        assert done.applied is not None
        right = sum(
            case.expect[mapping.code] == mapping.standard_category
            for mapping in done.applied.mappings
        )
        assert result.score == pytest.approx(right / len(case.expect), abs=1e-4)
        assert result.correct == (right == len(case.expect))
        return
    run = await env.client.get_workflow_handle(
        result.workflow_id, result_type=DaemonResult
    ).result()
    assert result.outcome == run.outcome.value
    assert m.model_calls == run.model_calls
    assert m.tool_calls == run.tool_calls
    assert m.tokens >= run.usage.total  # the run's own count leaves out the judge's tokens
    final_passed = run.verdict is not None and run.verdict.passed
    assert m.guardrail_verdicts == m.guardrail_failures + (1 if final_passed else 0) > 0
    assert m.escalations == (1 if run.outcome.value == "escalated" else 0)
    if isinstance(case, VendorCase):
        assert run.answer is not None
        named = (
            normalized_name(run.answer["canonical_name"])
            == normalized_name(case.expect.canonical_name)
            and run.answer["domain"] == case.expect.domain
            and run.answer["category"] == case.expect.category
        )
        assert result.correct == named


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("", "--b is empty"),
        ("executor_model", "--b: expected key=value, got 'executor_model'"),
        ("exeutor_model=claude-haiku-5-5", "unknown key 'exeutor_model'"),
        ("executor_model=claude haiku", "executor_model 'claude haiku' is not a model id"),
        ("executor_model=a-1,executor_model=b-2", "executor_model is given twice"),
        ("judge_model=", "judge_model is empty"),
        ("prompts=/no/such/folder", "prompts directory /no/such/folder does not exist"),
        ("judge_model=claude-sonnet-5-5", "the judge and the executor would both be"),
        ("missing.toml", "variant file missing.toml does not exist"),
    ],
)
def test_bad_variant_specs_are_refused_naming_the_problem(spec: str, problem: str) -> None:
    settings = load_settings(executor_model="claude-sonnet-5-5", judge_model="claude-haiku-5-5")
    with pytest.raises(VariantError) as raised:
        parse_variant(spec, option="--b", settings=settings)
    assert problem in str(raised.value)


def test_prompt_directories_must_only_replace_packaged_prompts(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(VariantError, match="holds no prompt files"):
        parse_variant(f"prompts={empty}", option="--b")
    typo = tmp_path / "typo"
    typo.mkdir()
    (typo / "vendor_hydration.exeuctor.md").write_text("daemon: vendor_hydration\n")
    with pytest.raises(VariantError, match=r"vendor_hydration\.exeuctor\.md overrides no packaged"):
        parse_variant(f"prompts={typo}", option="--b")
    blank = tmp_path / "blank"
    blank.mkdir()
    (blank / f"{EDITED}.md").write_text("  \n")
    with pytest.raises(VariantError, match="is empty"):
        parse_variant(f"prompts={blank}", option="--b")


def test_a_variant_file_names_its_prompts_relative_to_itself(tmp_path: Path) -> None:
    edited_prompts(tmp_path / "terse")
    (tmp_path / "terse.toml").write_text(
        'executor_model = "claude-haiku-4-5"\nprompts = "terse"\n', encoding="utf-8"
    )
    variant = parse_variant(str(tmp_path / "terse.toml"), option="--b")
    assert variant == Variant(
        name="terse", executor_model="claude-haiku-4-5", prompts=(tmp_path / "terse").resolve()
    )
    version = Prompt(EDITED, (tmp_path / "terse" / f"{EDITED}.md").read_text().strip()).version
    assert variant.prompt_overrides() == {EDITED: version}
    (tmp_path / "bad.toml").write_text('executor = "claude-haiku-4-5"\n', encoding="utf-8")
    with pytest.raises(VariantError, match="unknown key 'executor'"):
        parse_variant(str(tmp_path / "bad.toml"), option="--a")


def test_the_command_refuses_a_bad_spec_before_starting_anything() -> None:
    result = CliRunner().invoke(
        app,
        ["eval", "compare", "--a", "base", "--b", "model=x", "--dataset", str(SHIPPED[1])],
    )
    assert result.exit_code == 2, result.output
    assert "--b: unknown key 'model'" in result.output


async def test_a_worker_that_cannot_start_is_reported_with_its_log(
    pg_url: str, tmp_path: Path
) -> None:
    nobody_listens = f"127.0.0.1:{free_port()}"

    async def failure(**model: object) -> str:
        settings = load_settings(database_url=pg_url, temporal_address=nobody_listens, **model)
        log = tmp_path / f"b-{len(model)}.log"
        worker = VariantWorker("b", Variant(name="lost"), settings, "eval-x-b", log)
        worker.start()
        try:
            with pytest.raises(WorkerFailed) as raised:
                await worker.ready()
        finally:
            await worker.stop()
        return str(raised.value)

    # Without a model it refuses before anything else: prompts never go to an unknown port.
    unconfigured = await failure(anthropic_api_key=None, anthropic_base_url=None)
    assert "the worker of variant b (lost) exited with 2" in unconfigured
    assert "no model is configured" in unconfigured
    unreachable = await failure(offline_model=True)
    assert "the worker of variant b (lost) exited with 1" in unreachable
    assert nobody_listens in unreachable  # the log's end says what it could not reach


def test_every_shipped_dataset_loads_and_a_bad_line_names_its_place(tmp_path: Path) -> None:
    cases = load_datasets(SHIPPED)
    counts = {d: sum(c.daemon == d for c in cases) for d in {c.daemon for c in cases}}
    assert counts["vendor_hydration"] >= 30 and counts["client_onboarding"] >= 3, counts
    mixed = tmp_path / "mixed.jsonl"
    chart = SHIPPED[2].parent / "bluth_construction_quickbooks.csv"
    mixed.write_text(
        '{"daemon": "vendor_hydration", "id": "v-1", "tenant": "acme", "descriptor": "UBER *TRIP",'
        ' "expect": {"canonical_name": "Uber", "domain": "uber.com", "category": "travel"}}\n'
        '{"daemon": "client_onboarding", "id": "o-1", "legal_name": "X", "industry": "Y",'
        f' "chart": "{chart}", "format": "quickbooks", "expect": {{"1000": "cash"}}}}\n'
    )
    with pytest.raises(ValueError, match=r"mixed\.jsonl:2: o-1: expect must name every account"):
        load_datasets([mixed])
    mixed.write_text('{"daemon": "vendor_hydrashun", "id": "v-1"}\n')
    with pytest.raises(ValueError, match=r"mixed\.jsonl:1: unknown daemon 'vendor_hydrashun'"):
        load_datasets([mixed])
    with pytest.raises(ValueError, match="no case with id nope"):
        load_datasets(SHIPPED, only=["nope"])
