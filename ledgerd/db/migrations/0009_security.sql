-- Token lifecycle and platform administrators (docs/security.md).
-- A token may expire and be revoked; NULL expiry is for the demo seed's documented tokens.
ALTER TABLE principals ADD COLUMN token_expires_at timestamptz;
ALTER TABLE principals ADD COLUMN revoked_at timestamptz;
ALTER TABLE principals ADD COLUMN created_by text;
ALTER TABLE principals ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();

-- Platform administrators create tenants and their principals, and may decode payloads
-- through the codec server. They belong to no tenant; only their token's SHA-256 is kept.
CREATE TABLE platform_admins (
    id               text PRIMARY KEY CHECK (id ~ '^[a-z][a-z0-9._-]{1,62}$'),
    token_sha256     text NOT NULL UNIQUE,
    token_expires_at timestamptz,
    revoked_at       timestamptz,
    created_by       text,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- Who started an onboarding may not approve it (four-eyes): kept with the record.
ALTER TABLE onboarding_records ADD COLUMN started_by text;

-- Onboarding stages the imported chart here until a decision: nothing reaches `accounts`
-- before approval, so a rejection or expiry leaves the tenant's chart exactly as it was.
-- The account-mapping daemon of that onboarding sees the staged chart through `list_accounts`.
CREATE TABLE onboarding_staged_accounts (
    stage_key    text NOT NULL,
    tenant_id    text NOT NULL REFERENCES tenants(id),
    code         text NOT NULL,
    name         text NOT NULL,
    account_type text NOT NULL CHECK (account_type IN ('asset', 'liability', 'equity', 'income', 'expense')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stage_key, code)
);
