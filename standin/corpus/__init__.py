"""Building the guardrail's labelled corpus with the misbehaving stand-in.

`python -m standin.corpus` runs every case as a real workflow (LedgerQuestion,
VendorHydration, ClientOnboarding's mapping) on a private stack (embedded PostgreSQL with
the demo data, Temporal's time-skipping server, the stand-in, a worker), with the stand-in
in the case's fault mode, and writes each run's evidence and first answer with its label
to `datasets/guardrail/cases.jsonl`. A tool, like the stand-in: ledgerd never imports it.
"""
