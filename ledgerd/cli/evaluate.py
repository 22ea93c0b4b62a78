"""`ledgerd eval …`: run evaluation datasets through the daemons as real workflows:
`eval questions` scores the question set; `eval compare` runs two variants (prompts and/or
models per role) side by side, as a terminal table, `--json` and `--chart` (docs/eval.md)."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ledgerd.cli.context import cli_settings, database, temporal
from ledgerd.cli.output import fail
from ledgerd.config import Settings

if TYPE_CHECKING:
    from ledgerd.evals._report import ComparisonReport

VARIANT_HELP = (
    "`base` (packaged prompts, configured models), key=value pairs "
    "(name, planner_model, executor_model, judge_model, prompts=<dir>), or a .toml/.json file."
)

eval_app = typer.Typer(help="Run evaluation datasets through the daemons.", no_args_is_help=True)


async def run_question_set(
    settings: Settings, dataset: Path | None, mode: str, only: list[str], concurrency: int
) -> list[Any]:
    from ledgerd.evals._runner import run_cases
    from ledgerd.evals.ledger_questions import load_questions
    from workflows.ledger_question import QuestionMode

    questions = load_questions(dataset)
    if only:
        questions = [q for q in questions if q.id in only]
        missing = sorted(set(only) - {q.id for q in questions})
        if missing:
            raise typer.BadParameter(f"no question with id {', '.join(missing)} in the dataset")
    pool = await database(settings, max_size=4)
    try:
        return await run_cases(
            await temporal(settings),
            pool,
            questions,
            mode=QuestionMode(mode),
            task_queue=settings.task_queue,
            concurrency=concurrency,
        )
    finally:
        await pool.close()


def questions(
    dataset: Annotated[
        Path | None, typer.Option(help="A question-set JSONL (default: the shipped one).")
    ] = None,
    mode: Annotated[str, typer.Option(help="planned or stepwise.")] = "planned",
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run just these question ids.")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Questions at once.")] = 4,
    out: Annotated[Path | None, typer.Option(help="Write the per-case JSON report here.")] = None,
) -> None:
    """Ask every question of the set (on the configured model: the offline stand-in, or
    Claude with ANTHROPIC_API_KEY) and report how many are correct and grounded."""
    from ledgerd.evals._runner import report

    if mode not in ("planned", "stepwise"):
        raise typer.BadParameter(f"--mode must be planned or stepwise, not {mode!r}")
    settings = cli_settings()
    results = asyncio.run(run_question_set(settings, dataset, mode, only or [], concurrency))
    typer.echo(report(results))
    if out is not None:
        out.write_text(json.dumps([r.as_dict() for r in results], indent=2))
        typer.echo(f"report: {out}")
    if not all(r.correct and r.grounded for r in results):
        raise typer.Exit(1)


async def run_comparison(
    settings: Settings,
    specs: tuple[str, str],
    datasets: Sequence[Path],
    only: Sequence[str],
    limit: int | None,
    concurrency: int,
) -> ComparisonReport:
    from ledgerd.evals._compare import compare
    from ledgerd.evals._dataset import load_datasets
    from ledgerd.evals._variants import VariantError, parse_variant

    try:
        a = parse_variant(specs[0], option="--a", settings=settings)
        b = parse_variant(specs[1], option="--b", settings=settings)
    except VariantError as error:
        raise typer.BadParameter(str(error)) from None
    try:
        cases = load_datasets(datasets, only=only, limit=limit)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--dataset") from None
    if not cases:
        raise typer.BadParameter("the dataset(s) hold no cases", param_hint="--dataset")
    pool = await database(settings, max_size=2 * concurrency + 2)
    try:
        return await compare(
            settings,
            await temporal(settings),
            pool,
            a,
            b,
            cases,
            datasets=[str(p) for p in datasets],
            concurrency=concurrency,
            progress=lambda line: typer.echo(line, err=True),
        )
    finally:
        await pool.close()


def compare_command(
    a: Annotated[str, typer.Option("--a", help=f"Variant a: {VARIANT_HELP}")],
    b: Annotated[str, typer.Option("--b", help="Variant b, the same way.")],
    dataset: Annotated[
        list[Path],
        typer.Option(
            "--dataset",
            exists=True,
            dir_okay=False,
            help="A dataset JSONL (datasets/…); repeat for several.",
        ),
    ],
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run just these case ids.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="The first N cases of each dataset.")
    ] = None,
    concurrency: Annotated[
        int, typer.Option(min=1, help="Cases at once, each under both variants together.")
    ] = 3,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report here.")
    ] = None,
    chart: Annotated[Path | None, typer.Option("--chart", help="Write a PNG chart here.")] = None,
) -> None:
    """Run every case under both variants, each on its own worker process, and report
    per case and in aggregate: correct, guardrail failures, tool and model calls, tokens,
    cost and latency. Exits 1 if a case could not run at all."""
    from ledgerd.evals._report import render_table
    from ledgerd.evals._workers import WorkerFailed

    if chart is not None and chart.suffix.lower() != ".png":
        raise typer.BadParameter(f"{chart} must end in .png", param_hint="--chart")
    if chart is not None and importlib.util.find_spec("matplotlib") is None:
        raise fail("--chart needs matplotlib: pip install 'ledgerd[charts]' (or `uv sync`)")
    settings = cli_settings()
    try:
        report = asyncio.run(
            run_comparison(settings, (a, b), dataset, only or [], limit, concurrency)
        )
    except WorkerFailed as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(render_table(report))
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(report.model_dump_json(indent=2))
        typer.echo(f"JSON report: {json_out}")
    if chart is not None:
        from ledgerd.evals._chart import write_chart

        write_chart(report, chart)
        typer.echo(f"chart: {chart}")
    if report.a.total.errors or report.b.total.errors:
        raise typer.Exit(1)


async def run_guardrail_eval(
    settings: Settings, corpus: Path, per_mode: int | None, concurrency: int
) -> Any:
    from ledgerd.evals.guardrail import evaluate
    from ledgerd.evals.guardrail_corpus import load_corpus, sample
    from ledgerd.runtime import open_dependencies

    try:
        cases = load_corpus(corpus)
    except (OSError, ValueError) as error:
        raise typer.BadParameter(str(error), param_hint="--corpus") from None
    if per_mode is not None:
        cases = sample(cases, per_mode)
    deps = await open_dependencies(settings)
    try:
        return await evaluate(
            deps.pool,
            cases,
            corpus=_shown(corpus),
            concurrency=concurrency,
            progress=lambda line: typer.echo(line, err=True),
        )
    finally:
        await deps.close()


def guardrail_command(
    corpus: Annotated[
        Path | None,
        typer.Option(help="A labelled corpus (default datasets/guardrail/cases.jsonl)."),
    ] = None,
    per_mode: Annotated[
        int | None, typer.Option(min=1, help="Only the first N cases of each daemon and mode.")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Verdicts at once.")] = 4,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report here.")
    ] = None,
    chart: Annotated[Path | None, typer.Option("--chart", help="Write a PNG chart here.")] = None,
    docs: Annotated[
        Path | None, typer.Option(help="Replace the guardrail-eval section of this Markdown file.")
    ] = None,
) -> None:
    """Run the full guardrail (each daemon's checks and the judge model) over the labelled
    corpus: recall per mode, false positives, cost and latency per verdict. Exits 1 when a
    target is missed (recall >= 0.95, >= 0.9 per mode, false positives <= 2 %)."""
    from ledgerd.evals._guardrail_report import render_markdown, update_docs, write_chart
    from ledgerd.evals.guardrail_corpus import CORPUS

    if chart is not None and chart.suffix.lower() != ".png":
        raise typer.BadParameter(f"{chart} must end in .png", param_hint="--chart")
    settings = cli_settings()
    path = corpus or CORPUS
    report = asyncio.run(run_guardrail_eval(settings, path, per_mode, concurrency))
    if chart is not None:
        write_chart(report, chart)
    link = ""
    if chart is not None and docs is not None:
        link = os.path.relpath(chart.resolve(), docs.resolve().parent)
    table = render_markdown(report, chart=link)
    typer.echo(table)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(report.model_dump_json(indent=2))
        typer.echo(f"JSON report: {json_out}")
    if docs is not None:
        try:
            update_docs(docs, table)
        except (OSError, ValueError) as error:
            raise typer.BadParameter(str(error), param_hint="--docs") from None
        typer.echo(f"updated: {docs}")
    if not report.targets_met:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    eval_app.command("questions")(questions)
    eval_app.command("compare")(compare_command)
    eval_app.command("guardrail")(guardrail_command)
    app.add_typer(eval_app, name="eval")


def _shown(path: Path) -> str:
    """The corpus as reports name it: relative to the working directory when inside it, so
    a report written to the docs names no machine's folders."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(Path.cwd()))
    except ValueError:
        return str(resolved)
