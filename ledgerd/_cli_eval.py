"""`ledgerd eval …`: run evaluation datasets through the daemons as real workflows."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ledgerd.config import Settings

eval_app = typer.Typer(help="Run evaluation datasets through the daemons.", no_args_is_help=True)


async def run_question_set(
    settings: Settings, dataset: Path | None, mode: str, only: list[str], concurrency: int
) -> list[Any]:
    from ledgerd.db import open_pool
    from ledgerd.evals._runner import run_cases
    from ledgerd.evals.ledger_questions import load_questions
    from starter import connect
    from workflows.ledger_question import QuestionMode

    questions = load_questions(dataset)
    if only:
        questions = [q for q in questions if q.id in only]
        missing = sorted(set(only) - {q.id for q in questions})
        if missing:
            raise typer.BadParameter(f"no question with id {', '.join(missing)} in the dataset")
    pool = await open_pool(settings.effective_database_url, max_size=4)
    try:
        return await run_cases(
            await connect(settings),
            pool,
            questions,
            mode=QuestionMode(mode),
            task_queue=settings.task_queue,
            concurrency=concurrency,
        )
    finally:
        await pool.close()


def register(app: typer.Typer, settings_of: Any) -> None:
    @eval_app.command("questions")
    def questions(
        dataset: Annotated[
            Path | None, typer.Option(help="A question-set JSONL (default: the shipped one).")
        ] = None,
        mode: Annotated[str, typer.Option(help="planned or stepwise.")] = "planned",
        only: Annotated[
            list[str] | None, typer.Option("--only", help="Run just these question ids.")
        ] = None,
        concurrency: Annotated[int, typer.Option(help="Questions at once.")] = 4,
        out: Annotated[
            Path | None, typer.Option(help="Write the per-case JSON report here.")
        ] = None,
    ) -> None:
        """Ask every question of the set (on the configured model: the offline stand-in, or
        Claude with ANTHROPIC_API_KEY) and report how many are correct and grounded."""
        from ledgerd.evals._runner import report

        if mode not in ("planned", "stepwise"):
            raise typer.BadParameter(f"--mode must be planned or stepwise, not {mode!r}")
        settings: Settings = settings_of()
        results = asyncio.run(run_question_set(settings, dataset, mode, only or [], concurrency))
        typer.echo(report(results))
        if out is not None:
            out.write_text(json.dumps([r.as_dict() for r in results], indent=2))
            typer.echo(f"report: {out}")
        if not all(r.correct and r.grounded for r in results):
            raise typer.Exit(1)

    from ledgerd._cli_eval_compare import register_compare

    register_compare(eval_app, settings_of)
    app.add_typer(eval_app, name="eval")
