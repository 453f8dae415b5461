-- Notifications to tenants. An event is written to the outbox in the same transaction as the ledger change that
-- caused it (a recharge's funding, a debit that reached zero, an expiry), so it is sent if and only if that change
-- happened; the dispatcher delivers each one at least once to every channel the tenant has set up.

CREATE TABLE notification_outbox (
    notification_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       text NOT NULL REFERENCES tenants (tenant_id),
    kind            text NOT NULL CHECK (kind IN ('recharge_succeeded', 'recharge_failed', 'balance_reached_zero',
                                                  'funds_expired', 'low_balance')),
    -- Names the event for ever ("<epoch>.<operation>:<kind>" for one caused by a ledger entry): the same event written
    -- twice (a settlement retried, the sweeper) is one notification, and receivers use it as the idempotency id.
    event_id        text NOT NULL CHECK (length(event_id) BETWEEN 1 AND 200),
    -- The event's facts as JSON; amounts in micro-units with the currency (docs/notifications.md).
    payload         jsonb NOT NULL,
    occurred_at     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, event_id)
);

CREATE INDEX notification_outbox_created ON notification_outbox (created_at);

-- Where a tenant's notifications go. No row, or no channel set: events are kept in the outbox and go nowhere.
CREATE TABLE notification_settings (
    tenant_id                 text PRIMARY KEY REFERENCES tenants (tenant_id),
    -- HTTP(S) URL that receives a POST of each event as JSON, signed with HMAC-SHA256 of the body under the secret.
    webhook_url               text CHECK (length(webhook_url) <= 2048),
    webhook_secret            text CHECK (length(webhook_secret) BETWEEN 16 AND 256),
    -- Address that receives each event by email.
    email_address             text CHECK (length(email_address) <= 320),
    -- Balances (micro-units) whose downward crossing sends a low_balance warning, highest first.
    low_balance_levels_micros bigint[] NOT NULL DEFAULT '{}',
    updated_at                timestamptz NOT NULL DEFAULT now(),
    CHECK ((webhook_url IS NULL) = (webhook_secret IS NULL))
);
