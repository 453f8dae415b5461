-- The charging core: tenants, their rate tables, the append-only ledger and call detail records.
-- Money is bigint micro-units everywhere. Nothing here is ever updated in place except the tenants row's
-- counters (rates_revision, hot_epoch).

-- Hot-state epochs come from a sequence, not from a counter in the tenants row: a sequence never hands out a number
-- twice, even to a transaction that rolled back, so an epoch that Redis saw but the ledger did not commit is never
-- reused.
CREATE SEQUENCE hot_epochs;

CREATE TABLE tenants (
    tenant_id      text PRIMARY KEY CHECK (tenant_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    currency       text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    display_name   text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    created_at     timestamptz NOT NULL DEFAULT now(),
    -- Grows with every rate import; gateways compare it to know their in-memory rate book is current.
    rates_revision bigint NOT NULL DEFAULT 0,
    -- Grows every time the tenant's hot state is rebuilt in Redis from this ledger. Every ledger entry carries the
    -- epoch it was applied under in Redis; an entry from an older epoch is refused, because the rebuilt state
    -- cannot contain it.
    hot_epoch      bigint NOT NULL DEFAULT 0
);

CREATE TABLE rates (
    tenant_id               text NOT NULL REFERENCES tenants (tenant_id),
    call_type               smallint NOT NULL CHECK (call_type BETWEEN 1 AND 3),
    prefix                  text NOT NULL CHECK (prefix ~ '^[0-9]{1,15}$'),
    effective_from          timestamptz NOT NULL,
    destination_name        text NOT NULL CHECK (length(destination_name) BETWEEN 1 AND 200),
    rate_per_minute_micros  bigint NOT NULL CHECK (rate_per_minute_micros BETWEEN 0 AND 1000000000),
    connection_fee_micros   bigint NOT NULL CHECK (connection_fee_micros BETWEEN 0 AND 1000000000),
    first_increment_seconds integer NOT NULL CHECK (first_increment_seconds BETWEEN 1 AND 3600),
    next_increment_seconds  integer NOT NULL CHECK (next_increment_seconds BETWEEN 1 AND 3600),
    -- The import (tenants.rates_revision) that stored this row.
    revision                bigint NOT NULL,
    PRIMARY KEY (tenant_id, call_type, prefix, effective_from)
);

-- One row per money movement. amount_micros is signed: positive adds to the balance, negative takes from it.
-- (tenant_id, epoch, operation_number) is assigned by the Redis script that applied the movement, so a movement
-- written twice (a retry, the pending sweeper) lands once.
CREATE TABLE ledger_entries (
    tenant_id        text NOT NULL REFERENCES tenants (tenant_id),
    epoch            bigint NOT NULL,
    operation_number bigint NOT NULL CHECK (operation_number > 0),
    -- 1 funding, 2 debit, 3 refund.
    kind             smallint NOT NULL CHECK (kind BETWEEN 1 AND 3),
    amount_micros    bigint NOT NULL,
    -- The session (or event) that caused a debit or refund, and its request number.
    session_id       text,
    request_number   bigint,
    -- The session's number in (tenant, epoch): joins a debit to its call detail record.
    session_number   bigint,
    -- A funding's idempotency key, or the session a refund is for.
    reference        text,
    -- Words for people: a payment reference, a refund reason.
    note             text,
    occurred_at      timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, epoch, operation_number),
    CHECK ((kind = 2 AND amount_micros < 0) OR (kind IN (1, 3) AND amount_micros > 0))
);

CREATE INDEX ledger_entries_session ON ledger_entries (tenant_id, session_id) WHERE session_id IS NOT NULL;
CREATE INDEX ledger_entries_reference ON ledger_entries (tenant_id, reference) WHERE kind = 1;

-- One row per finished call (Terminate, or a Debit event).
CREATE TABLE call_records (
    tenant_id               text NOT NULL REFERENCES tenants (tenant_id),
    epoch                   bigint NOT NULL,
    session_number          bigint NOT NULL CHECK (session_number > 0),
    session_id              text NOT NULL,
    user_id                 text NOT NULL,
    call_type               smallint NOT NULL CHECK (call_type BETWEEN 1 AND 3),
    calling_number          text NOT NULL,
    called_number           text NOT NULL,
    started_at              timestamptz NOT NULL,
    ended_at                timestamptz NOT NULL,
    used_seconds            bigint NOT NULL CHECK (used_seconds >= 0),
    billed_seconds          bigint NOT NULL CHECK (billed_seconds >= used_seconds),
    -- What was debited for the call (the sum of its ledger debits, as a positive number).
    charge_micros           bigint NOT NULL CHECK (charge_micros >= 0),
    -- What the rate asked for beyond what the balance could pay (usage reported past the grant).
    uncharged_micros        bigint NOT NULL CHECK (uncharged_micros >= 0),
    currency                text NOT NULL,
    destination_name        text NOT NULL,
    rated_prefix            text NOT NULL,
    rate_per_minute_micros  bigint NOT NULL,
    connection_fee_micros   bigint NOT NULL,
    first_increment_seconds integer NOT NULL,
    next_increment_seconds  integer NOT NULL,
    rate_effective_from     timestamptz NOT NULL,
    -- RFC 6733 Termination-Cause values as in the API (1 logout ...); 0 for a Debit event.
    termination_cause       smallint NOT NULL,
    recorded_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, epoch, session_number)
);

CREATE INDEX call_records_session ON call_records (tenant_id, session_id);
CREATE INDEX call_records_ended ON call_records (tenant_id, ended_at);
