"""The guardrail's labelled corpus and `ledgerd eval guardrail`: the full guardrail (the
daemons' checks and the judge, through the activity's own code) over a fast slice of the
corpus, on the offline stand-in, held to the issue's targets."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from ledgerd.cli import app
from ledgerd.evals.guardrail_corpus import BAD_MODES, load_corpus
from standin import OfflineModelServer

CORPUS = load_corpus()


def test_the_corpus_is_large_labelled_and_spread_over_every_mode() -> None:
    bad = [c for c in CORPUS if c.label == "bad"]
    good = [c for c in CORPUS if c.label == "good"]
    assert len(CORPUS) >= 200 and len(bad) >= 150 and len(good) >= 50
    per_mode = Counter(c.mode for c in bad)
    assert set(per_mode) == set(BAD_MODES), per_mode
    assert min(per_mode.values()) >= 10, per_mode
    assert (
        {c.daemon for c in bad}
        == {c.daemon for c in good}
        == {
            "ledger_question",
            "vendor_hydration",
            "account_mapping",
        }
    )
    hard = [c for c in good if c.mode == "good_hard"]
    texts = " ".join(str(c.answer.get("text", "")) for c in hard)
    assert "$0.00" in texts and "decrease" in texts  # zero values and falling spend


async def test_the_fast_slice_meets_the_targets_through_the_cli(
    pg_url: str, model_server: OfflineModelServer, tmp_path: Path
) -> None:
    docs = tmp_path / "eval.md"
    docs.write_text("# x\n<!-- guardrail-eval:start -->\nold\n<!-- guardrail-eval:end -->\n")
    report, chart = tmp_path / "report.json", tmp_path / "img" / "guardrail.png"
    env = {"DATABASE_URL": pg_url, "LEDGERD_OFFLINE_MODEL_PORT": str(model_server.port)}
    shown = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        [
            *("eval", "guardrail", "--per-mode", "1", "--json", str(report)),
            *("--chart", str(chart), "--docs", str(docs)),
        ],
        env=env,
    )
    assert shown.exit_code == 0, shown.output
    result = json.loads(report.read_text())
    judged = {(v["daemon"], v["mode"]) for v in result["verdicts"]}
    assert judged == {(c.daemon, c.mode) for c in CORPUS}  # one of every kind
    assert result["recall"] >= 0.95 and result["false_positive_rate"] <= 0.02, result["missed"]
    assert result["errors"] == [] and result["cost_usd_per_verdict"] > 0
    assert chart.stat().st_size > 10_000
    section = docs.read_text()
    assert "old" not in section and "| wrong_period |" in section and "img/guardrail.png" in section


def test_a_bad_corpus_line_is_one_clear_line(tmp_path: Path) -> None:
    broken = tmp_path / "cases.jsonl"
    good = json.loads(Path("datasets/guardrail/cases.jsonl").read_text().splitlines()[0])
    broken.write_text(json.dumps(good) + "\n" + json.dumps({**good, "mode": "sneaky"}) + "\n")
    shown = CliRunner().invoke(
        app, ["eval", "guardrail", "--corpus", str(broken)], env={"COLUMNS": "400"}
    )
    assert shown.exit_code == 2
    assert f"{broken}:2:" in shown.output and "sneaky" in shown.output


def test_the_docs_section_is_replaced_between_markers_on_their_own_lines(tmp_path: Path) -> None:
    from ledgerd.evals._guardrail_report import END, START, update_docs

    page = tmp_path / "eval.md"
    prose = f"| `--docs FILE` | replace what is between `{START}` and `{END}` |\n"
    page.write_text(f"{prose}\n{START}\nold figures\n{END}\n\nafter\n", encoding="utf-8")
    update_docs(page, "new figures\n")
    assert page.read_text(encoding="utf-8") == f"{prose}\n{START}\nnew figures\n{END}\n\nafter\n"
    (tmp_path / "bare.md").write_text(prose, encoding="utf-8")
    try:
        update_docs(tmp_path / "bare.md", "x\n")
    except ValueError as error:
        assert "line of its own" in str(error)
    else:
        raise AssertionError("a page whose markers are only in prose has no section")
