-- Issue 16: a model turn reads only the transcript entries it has not seen.
--
-- Every write to a thread (insert, or a retry's overwrite) takes the next number of that
-- thread, under the thread's row lock in transcript_threads, held until the write commits.
-- So numbers are contiguous per thread and commit in order: a reader that has seen every row
-- up to n has seen every row numbered n or less, and `seq > n` is exactly what changed since.
-- A trigger assigns them, so every writer (old workers during a deploy, tests writing rows by
-- hand) numbers its rows the same way.
CREATE TABLE transcript_threads (
    run_id  text NOT NULL,
    thread  text NOT NULL,
    version bigint NOT NULL,
    PRIMARY KEY (run_id, thread)
);

ALTER TABLE transcript_entries ADD COLUMN seq bigint NOT NULL DEFAULT 0;

CREATE FUNCTION transcript_entries_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO transcript_threads AS t (run_id, thread, version)
    VALUES (NEW.run_id, NEW.thread, 1)
    ON CONFLICT (run_id, thread) DO UPDATE SET version = t.version + 1
    RETURNING t.version INTO NEW.seq;
    RETURN NEW;
END;
$$;

CREATE TRIGGER transcript_entries_number
    BEFORE INSERT OR UPDATE ON transcript_entries
    FOR EACH ROW EXECUTE FUNCTION transcript_entries_number();

-- Rows written before this migration keep seq 0; a reader starts below that.
CREATE INDEX transcript_entries_seq ON transcript_entries (run_id, thread, seq);
