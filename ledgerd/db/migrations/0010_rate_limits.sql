-- Per-principal and per-tenant request counts of the HTTP API, one row per key and minute
-- (ledgerd/api/_limits.py). Shared by every API process, so a limit holds however many run.
CREATE TABLE api_rate_windows (
    key          text NOT NULL,
    window_start timestamptz NOT NULL,
    hits         integer NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX api_rate_windows_by_start ON api_rate_windows (window_start);
