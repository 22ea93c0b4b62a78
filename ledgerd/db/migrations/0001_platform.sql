-- The accounting platform's own schema: tenants, principals, vendors, chart of accounts,
-- bank transactions and onboarding records. Money is NUMERIC, never a float.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE tenants (
    id            text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9-]{1,62}$'),
    name          text NOT NULL,
    base_currency char(3) NOT NULL DEFAULT 'USD',
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('onboarding', 'active', 'closed')),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE principals (
    id           text PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants(id),
    display_name text NOT NULL,
    email        text,
    role         text NOT NULL CHECK (role IN ('owner', 'accountant', 'viewer', 'service')),
    token_sha256 text UNIQUE,
    UNIQUE (tenant_id, id)
);

-- The platform's standard taxonomy: every tenant account maps onto one of these.
CREATE TABLE standard_categories (
    key          text PRIMARY KEY,
    name         text NOT NULL,
    account_type text NOT NULL CHECK (account_type IN ('asset', 'liability', 'equity', 'income', 'expense'))
);

CREATE TABLE accounts (
    tenant_id         text NOT NULL REFERENCES tenants(id),
    code              text NOT NULL,
    name              text NOT NULL,
    account_type      text NOT NULL CHECK (account_type IN ('asset', 'liability', 'equity', 'income', 'expense')),
    standard_category text REFERENCES standard_categories(key),
    active            boolean NOT NULL DEFAULT true,
    PRIMARY KEY (tenant_id, code)
);

CREATE TABLE vendors (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id       text NOT NULL REFERENCES tenants(id),
    canonical_name  text NOT NULL,
    normalized_name text NOT NULL,
    domain          text,
    category        text REFERENCES standard_categories(key),
    account_code    text,
    headquarters    text,
    aliases         text[] NOT NULL DEFAULT '{}',
    descriptors     text[] NOT NULL DEFAULT '{}',
    -- field name -> {"source": ..., "confidence": 0..1, "evidence": ...}
    provenance      jsonb NOT NULL DEFAULT '{}',
    search_doc      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, normalized_name),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, account_code) REFERENCES accounts(tenant_id, code)
);

CREATE FUNCTION vendors_search_doc() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_doc := lower(concat_ws(' ', NEW.canonical_name, NEW.domain,
        array_to_string(NEW.aliases, ' '), array_to_string(NEW.descriptors, ' ')));
    RETURN NEW;
END $$;
CREATE TRIGGER vendors_search_doc BEFORE INSERT OR UPDATE ON vendors
    FOR EACH ROW EXECUTE FUNCTION vendors_search_doc();
CREATE INDEX vendors_search_trgm ON vendors USING gin (search_doc gin_trgm_ops);
CREATE INDEX vendors_search_fts ON vendors USING gin (to_tsvector('simple', search_doc));

CREATE TABLE bank_transactions (
    id             text PRIMARY KEY,
    tenant_id      text NOT NULL REFERENCES tenants(id),
    bank_account   text NOT NULL,
    posted_date    date NOT NULL,
    raw_descriptor text NOT NULL,
    amount         numeric(14, 2) NOT NULL,  -- negative: money out
    currency       char(3) NOT NULL,
    vendor_id      uuid,
    account_code   text,
    FOREIGN KEY (tenant_id, vendor_id) REFERENCES vendors(tenant_id, id),
    FOREIGN KEY (tenant_id, account_code) REFERENCES accounts(tenant_id, code)
);
CREATE INDEX bank_transactions_by_date ON bank_transactions (tenant_id, posted_date);
CREATE INDEX bank_transactions_by_vendor ON bank_transactions (tenant_id, vendor_id);
CREATE INDEX bank_transactions_descriptor_trgm ON bank_transactions USING gin (raw_descriptor gin_trgm_ops);

CREATE TABLE client_profiles (
    tenant_id         text PRIMARY KEY REFERENCES tenants(id),
    legal_name        text NOT NULL,
    industry          text NOT NULL,
    country           char(2) NOT NULL,
    fiscal_year_start smallint NOT NULL DEFAULT 1 CHECK (fiscal_year_start BETWEEN 1 AND 12),
    contact_email     text,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE onboarding_records (
    id          text PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants(id),
    workflow_id text NOT NULL,
    status      text NOT NULL CHECK (status IN ('in_progress', 'awaiting_approval', 'applied', 'rejected', 'expired')),
    proposal    jsonb,
    decided_by  text,
    decided_at  timestamptz,
    applied_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE categorisation_rules (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    text NOT NULL REFERENCES tenants(id),
    vendor_id    uuid NOT NULL,
    account_code text NOT NULL,
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, vendor_id),
    FOREIGN KEY (tenant_id, vendor_id) REFERENCES vendors(tenant_id, id),
    FOREIGN KEY (tenant_id, account_code) REFERENCES accounts(tenant_id, code)
);

-- Mutating handlers record each idempotency key with the result they returned, so a retried
-- call (a Temporal activity retried after a crash) returns the first result instead of
-- applying twice.
CREATE TABLE idempotency_keys (
    key        text PRIMARY KEY,
    tenant_id  text NOT NULL REFERENCES tenants(id),
    handler    text NOT NULL,
    result     jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
