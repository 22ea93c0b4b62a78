-- The daemon runtime's own tables. Conversations live here, not in workflow history:
-- activities receive references and deltas, so history grows by a constant per step.

-- One row per message block group: a model turn (position 0) or a tool result (position n).
-- The key is derived from the workflow's step numbering, so a retried activity rewrites the
-- same row instead of appending a duplicate.
CREATE TABLE transcript_entries (
    run_id     text NOT NULL,
    thread     text NOT NULL,
    turn       integer NOT NULL,
    position   integer NOT NULL,
    role       text NOT NULL CHECK (role IN ('user', 'assistant')),
    content    jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, thread, turn, position)
);

-- Every model call, for tokens, cost, latency and prompt comparison.
CREATE TABLE model_calls (
    run_id          text NOT NULL,
    thread          text NOT NULL,
    turn            integer NOT NULL,
    role            text NOT NULL,
    model           text NOT NULL,
    prompt_name     text NOT NULL,
    prompt_version  text NOT NULL,
    request_id      text,
    stop_reason     text,
    input_tokens    integer NOT NULL DEFAULT 0,
    output_tokens   integer NOT NULL DEFAULT 0,
    cache_read_tokens     integer NOT NULL DEFAULT 0,
    cache_creation_tokens integer NOT NULL DEFAULT 0,
    latency_ms      integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, thread, turn)
);

-- Notifications wait here until a channel delivers them; the dedupe key makes a retried
-- notification activity a no-op.
CREATE TABLE notification_outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedupe_key   text NOT NULL UNIQUE,
    tenant_id    text NOT NULL,
    workflow_id  text NOT NULL,
    kind         text NOT NULL,
    severity     text NOT NULL CHECK (severity IN ('info', 'attention', 'failure')),
    subject      text NOT NULL,
    body         jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz
);
CREATE INDEX notification_outbox_pending ON notification_outbox (created_at) WHERE delivered_at IS NULL;
