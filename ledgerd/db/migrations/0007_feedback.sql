-- What people say about daemon responses: thumbs, a 1-5 rating, a correction (the answer as
-- it should have been) and a comment. Each row keeps a copy of what was rated (the response,
-- the task, the models and prompt versions per role, read from model_calls), so rewards and
-- fine-tuning datasets can be built long after Temporal has dropped the run's history.
--
-- Rows are append-only: a second opinion on the same response is a second row, never an
-- overwrite. The idempotency key makes a retried write (an Update's activity, an HTTP retry
-- with the same Idempotency-Key) land once.
CREATE TABLE run_feedback (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key   text NOT NULL UNIQUE,
    tenant_id         text NOT NULL REFERENCES tenants(id),
    workflow_id       text NOT NULL,
    -- The conversation whose response was rated: `transcript_entries.run_id`, i.e. the
    -- execution key `<workflow id>@<first run id>`, plus `/<loop>` for workflows that run
    -- several daemon loops (onboarding's `/mapping-<revision>`).
    run_id            text NOT NULL,
    daemon            text NOT NULL,
    given_by          text NOT NULL,
    given_by_role     text NOT NULL,
    thumbs            text CHECK (thumbs IN ('up', 'down')),
    rating            smallint CHECK (rating BETWEEN 1 AND 5),
    correction        jsonb,
    comment           text NOT NULL DEFAULT '',
    -- What was rated: null when the run ended without an answer.
    response          jsonb,
    task              text NOT NULL DEFAULT '',
    -- The loop's outcome when the feedback arrived; null while it was still running (the
    -- export then reads it from the loop's outcome notification).
    outcome           text,
    guardrail_reviews integer NOT NULL DEFAULT 0,
    models            jsonb NOT NULL DEFAULT '{}',
    prompt_versions   jsonb NOT NULL DEFAULT '{}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (thumbs IS NOT NULL OR rating IS NOT NULL OR correction IS NOT NULL OR comment <> '')
);
CREATE INDEX run_feedback_by_tenant ON run_feedback (tenant_id, id);
CREATE INDEX run_feedback_by_run ON run_feedback (run_id);
