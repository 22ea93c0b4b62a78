-- Issue 11: a retried model activity must neither lose the cost of the attempt that was
-- billed nor re-send a changed conversation.
--
-- model_calls: one row per billed attempt, so a retry that calls the model again adds a row
-- instead of overwriting the one before; the request's shape (thinking, effort) is kept so a
-- trace says what each call was asked.
ALTER TABLE model_calls ADD COLUMN attempt integer NOT NULL DEFAULT 1;
ALTER TABLE model_calls DROP CONSTRAINT model_calls_pkey;
ALTER TABLE model_calls ADD PRIMARY KEY (run_id, thread, turn, attempt);
ALTER TABLE model_calls ADD COLUMN cache_creation_1h_tokens integer NOT NULL DEFAULT 0;
ALTER TABLE model_calls ADD COLUMN request_shape text;
ALTER TABLE model_calls ADD COLUMN stop_details jsonb;

-- transcript_entries: which model wrote an assistant entry (NULL: the runtime wrote it, e.g.
-- a planned step's tool call). Thinking blocks go back only to the model that made them.
ALTER TABLE transcript_entries ADD COLUMN model text;
