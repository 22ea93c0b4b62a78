-- Daemon memory (`remember` / `recall` tools): facts a run keeps for later runs of the same
-- tenant. Each row is found two ways, fused at recall: by meaning (a pgvector embedding) and
-- by words (a full-text tsvector).
--
-- `embedding` has no fixed size because embedders differ (the offline one, a provider's);
-- `embedder` and `dims` name the one that produced the vector, and recall compares only
-- vectors of the current embedder, so a switch never compares incompatible vectors.
-- Without a fixed size there is no ANN index: recall scans the tenant's rows of one embedder
-- exactly, which stays fast for a tenant's notes (thousands, not millions).
--
-- The client is the tenant (client_profiles is keyed by tenant_id), so `tenant_id` is also
-- the client link. `created_by` is the principal's id without a foreign key: daemons act as
-- principals from their workflow input, which need not have a `principals` row.
CREATE TABLE memories (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       text NOT NULL REFERENCES tenants(id),
    text            text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 1000),
    embedding       vector NOT NULL,
    embedder        text NOT NULL,
    dims            integer NOT NULL CHECK (dims = vector_dims(embedding)),
    search          tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
    vendor_id       uuid,
    conversation_id text,
    source_run      text,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, vendor_id) REFERENCES vendors(tenant_id, id)
);
CREATE INDEX memories_search ON memories USING gin (search);
CREATE INDEX memories_by_conversation ON memories (tenant_id, conversation_id);
CREATE INDEX memories_by_vendor ON memories (tenant_id, vendor_id) WHERE vendor_id IS NOT NULL;
