"""`python -m standin.corpus [--out FILE] [--daemon NAME ...]`: build the labelled corpus."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from standin.corpus._build import DATASETS, ledger_cases, mapping_cases, vendor_cases
from standin.corpus._stack import private_stack

BUILDERS = {
    "ledger_question": ledger_cases,
    "vendor_hydration": vendor_cases,
    "account_mapping": mapping_cases,
}


async def build(out: Path, daemons: list[str]) -> list[dict[str, Any]]:
    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    cases: list[dict[str, Any]] = []
    async with private_stack() as stack:
        for daemon in daemons:
            started = time.monotonic()
            made = await BUILDERS[daemon](stack, log)
            log(f"{daemon}: {len(made)} cases in {time.monotonic() - started:.0f}s")
            cases += made
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for item in cases:
            handle.write(json.dumps(item, sort_keys=True, default=str) + "\n")
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m standin.corpus", description=__doc__)
    parser.add_argument("--out", type=Path, default=DATASETS / "guardrail" / "cases.jsonl")
    parser.add_argument("--daemon", action="append", choices=sorted(BUILDERS), default=None)
    args = parser.parse_args()
    cases = asyncio.run(build(args.out, args.daemon or list(BUILDERS)))
    counts = Counter((c["daemon"], c["label"], c["mode"]) for c in cases)
    for (daemon, label, mode), n in sorted(counts.items()):
        print(f"{daemon:<18} {label:<4} {mode:<20} {n}")
    print(f"{len(cases)} cases written to {args.out}")


if __name__ == "__main__":
    main()
