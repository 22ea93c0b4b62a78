"""`ledgerd chaos [a|b|c|d|e|all]`: the fault suite against the real embedded stack
(the harness lives in the top-level `chaos` tool; docs/reliability.md). Exits 1 when a
scenario falls short of its targets: every daemon completed, no duplicate, nothing stuck."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from ledgerd.cli.errors import BadInput

_NAMES = ("a", "b", "c", "d", "e")


def chaos(
    scenario: Annotated[
        str,
        typer.Argument(
            help="a (kill worker), b (restart Temporal), c (stop PostgreSQL), "
            "d (model storm), e (kill API), or all."
        ),
    ] = "all",
    daemons: Annotated[
        int, typer.Option(min=3, help="Daemons per scenario, of all three kinds.")
    ] = 100,
    kills: Annotated[int, typer.Option(min=1, help="Worker kills in scenario a.")] = 10,
    outage: Annotated[float, typer.Option(min=1, help="Seconds PostgreSQL is down (c).")] = 30.0,
    stall: Annotated[float, typer.Option(min=1, help="Seconds a model stream stalls (d).")] = 20.0,
    deadline: Annotated[
        float, typer.Option(min=60, help="Seconds a scenario's daemons have to finish.")
    ] = 1800.0,
    report_dir: Annotated[Path, typer.Option(help="Where the JSON reports go.")] = Path(
        "chaos-reports"
    ),
) -> None:
    """Run fault scenarios on a private embedded stack; print a table, write JSON reports."""
    if scenario != "all" and scenario not in _NAMES:
        raise BadInput(f"unknown scenario {scenario!r}: choose one of a, b, c, d, e or all")
    try:
        from chaos import Options, render, run_suite  # the harness is a tool, loaded on use
    except ModuleNotFoundError as error:
        raise BadInput(
            f"ledgerd chaos needs the source checkout's tools ({error.name} is missing): "
            "run it from a clone with `uv run ledgerd chaos`"
        ) from None

    options = Options(
        daemons=daemons,
        kills=kills,
        outage_seconds=outage,
        stall_seconds=stall,
        deadline_seconds=deadline,
    )
    names = list(_NAMES) if scenario == "all" else [scenario]
    reports = asyncio.run(run_suite(names, options, report_dir, progress=typer.echo))
    typer.echo("\n" + render(reports))
    if not all(r.at_target for r in reports):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command()(chaos)
