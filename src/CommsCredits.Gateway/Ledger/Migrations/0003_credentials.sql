-- API keys: who may call the gateway. A key is "cck_<key_id>_<secret>"; only a SHA-256 of the secret is stored,
-- so neither this table nor a backup of it can be used to call us.
CREATE TABLE api_keys (
    -- 12 characters of RFC 4648 base32 (lower case), random: names the key in lists, logs and revocations.
    key_id        text PRIMARY KEY CHECK (key_id ~ '^[a-z2-7]{12}$'),
    -- 1 network element (the Charging service), 2 admin (every other service).
    role          smallint NOT NULL CHECK (role IN (1, 2)),
    -- NULL: the key may act for every tenant. Otherwise it may act only for this one.
    tenant_id     text REFERENCES tenants (tenant_id),
    -- SHA-256 of the 32 random bytes of the secret (see Credentials/ApiKeyFormat.cs for why a fast hash is right).
    secret_sha256 bytea NOT NULL CHECK (length(secret_sha256) = 32),
    -- Words for people: which network element or operator holds the key.
    description   text NOT NULL CHECK (length(description) <= 200),
    created_at    timestamptz NOT NULL DEFAULT now(),
    -- Set once, never cleared: a revoked key stays refused.
    revoked_at    timestamptz
);

CREATE INDEX api_keys_tenant ON api_keys (tenant_id) WHERE tenant_id IS NOT NULL;
