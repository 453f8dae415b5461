-- The ledger and the call detail records, partitioned by calendar month (UTC), so that old months can be detached and
-- archived (docs/scaling.md, "Partitioned tables"). ledger_entries is partitioned by occurred_at, call_records by
-- ended_at: both come from the settlement that the Redis script encoded once and stored in the pending hash, and every
-- writer of that settlement (the request, a retry, the sweeper, another gateway) decodes that same text, so one
-- operation always falls in one partition and the key below, which must include the partition column, still makes a
-- settlement written twice land once. There is no DEFAULT partition: a row of a month that has no partition creates
-- its month on the spot (ensure_monthly_partitions, called by the ledger writer), unless the month was detached, in
-- which case the write fails loudly: a late copy of a detached operation must never be counted a second time beside
-- its checkpoint. (A default partition holding rows would also block creating the month they belong to.)

-- funding_lots and lot_draws named their ledger entry by a foreign key; a key into a partitioned table would have to
-- include occurred_at, and detaching a month would have to take the lots with it. The lots and their draws stay whole
-- (they are small, one row per purchase or draw, and the hot state's lots are rebuilt from them); they are written in
-- the same statement as their entry, which is what the foreign key guarded.
ALTER TABLE funding_lots DROP CONSTRAINT funding_lots_tenant_id_epoch_operation_number_fkey;
ALTER TABLE lot_draws DROP CONSTRAINT lot_draws_tenant_id_epoch_operation_number_fkey;

ALTER TABLE ledger_entries RENAME TO ledger_entries_0009;
ALTER INDEX ledger_entries_pkey RENAME TO ledger_entries_0009_pkey;
ALTER INDEX ledger_entries_session RENAME TO ledger_entries_0009_session;
ALTER INDEX ledger_entries_reference RENAME TO ledger_entries_0009_reference;
ALTER TABLE call_records RENAME TO call_records_0009;
ALTER INDEX call_records_pkey RENAME TO call_records_0009_pkey;
ALTER INDEX call_records_session RENAME TO call_records_0009_session;
ALTER INDEX call_records_ended RENAME TO call_records_0009_ended;

-- As in 0001, 0002 and 0009; occurred_at joins the key (see above).
CREATE TABLE ledger_entries (
    tenant_id        text NOT NULL REFERENCES tenants (tenant_id),
    epoch            bigint NOT NULL,
    operation_number bigint NOT NULL CHECK (operation_number > 0),
    -- 1 funding, 2 debit, 3 refund, 4 expiry.
    kind             smallint NOT NULL CONSTRAINT ledger_entries_kind_check CHECK (kind BETWEEN 1 AND 4),
    amount_micros    bigint NOT NULL,
    session_id       text,
    request_number   bigint,
    session_number   bigint,
    reference        text,
    note             text,
    occurred_at      timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    session_epoch    bigint,
    PRIMARY KEY (tenant_id, epoch, operation_number, occurred_at),
    CONSTRAINT ledger_entries_amount_sign
        CHECK ((kind IN (2, 4) AND amount_micros < 0) OR (kind IN (1, 3) AND amount_micros > 0)),
    CONSTRAINT ledger_entries_session_epoch CHECK ((session_number IS NULL) = (session_epoch IS NULL))
) PARTITION BY RANGE (occurred_at);

-- As in 0001, 0005 and 0009; ended_at joins the key (see above).
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
    charge_micros           bigint NOT NULL CHECK (charge_micros >= 0),
    uncharged_micros        bigint NOT NULL CHECK (uncharged_micros >= 0),
    currency                text NOT NULL,
    destination_name        text NOT NULL,
    rated_prefix            text NOT NULL,
    rate_per_minute_micros  bigint NOT NULL,
    connection_fee_micros   bigint NOT NULL,
    first_increment_seconds integer NOT NULL,
    next_increment_seconds  integer NOT NULL,
    rate_effective_from     timestamptz NOT NULL,
    termination_cause       smallint NOT NULL,
    recorded_at             timestamptz NOT NULL DEFAULT now(),
    included_seconds        bigint NOT NULL DEFAULT 0 CHECK (included_seconds >= 0),
    pool_id                 text,
    PRIMARY KEY (tenant_id, epoch, session_number, ended_at)
) PARTITION BY RANGE (ended_at);

COMMENT ON COLUMN call_records.epoch IS 'the epoch the session was opened in; with session_number it names the session';

-- One row per detached month: the boundary of the attached ledger is the month after the latest of them. Months are
-- detached oldest first and whole (partitions ledger_entries_pYYYYMM and call_records_pYYYYMM together), so every
-- month before the boundary is detached.
CREATE TABLE detached_months (
    month               date PRIMARY KEY CHECK (extract(day FROM month) = 1),
    ledger_table        text NOT NULL,
    call_table          text NOT NULL,
    entry_count         bigint NOT NULL CHECK (entry_count >= 0),
    amount_micros       bigint NOT NULL,
    call_record_count   bigint NOT NULL CHECK (call_record_count >= 0),
    detached_at         timestamptz NOT NULL DEFAULT now()
);

-- What the detached months held, per tenant, carried forward: every reader that sums the ledger (the hot-state
-- rebuild, reconciliation, statements) adds these to the attached entries, in one statement. Written in the
-- transaction that detaches, under an exclusive lock of both tables, so no reader sees one without the other.
CREATE TABLE ledger_checkpoints (
    tenant_id           text PRIMARY KEY REFERENCES tenants (tenant_id),
    -- The sum of the detached entries' amount_micros, and of each kind (fundings, debits, refunds, expiries; signed).
    balance_micros      bigint NOT NULL,
    funded_micros       bigint NOT NULL CHECK (funded_micros >= 0),
    debited_micros      bigint NOT NULL CHECK (debited_micros <= 0),
    refunded_micros     bigint NOT NULL CHECK (refunded_micros >= 0),
    expired_micros      bigint NOT NULL CHECK (expired_micros <= 0),
    entry_count         bigint NOT NULL CHECK (entry_count >= 0),
    -- The detached call records: how many and their charges; and the debits joined to a call record (as a positive
    -- number) of every pair of which at least one side was detached, for reconciliation's call check.
    call_record_count   bigint NOT NULL CHECK (call_record_count >= 0),
    call_charges_micros bigint NOT NULL CHECK (call_charges_micros >= 0),
    call_debits_micros  bigint NOT NULL CHECK (call_debits_micros >= 0),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (balance_micros = funded_micros + debited_micros + refunded_micros + expired_micros)
);

-- The idempotency keys of detached fundings: AddFunds asks the ledger whether a key was used (Redis forgets keys), and
-- a key of a detached month must still be answered, not funded a second time.
CREATE TABLE detached_fundings (
    tenant_id        text NOT NULL REFERENCES tenants (tenant_id),
    epoch            bigint NOT NULL,
    operation_number bigint NOT NULL,
    reference        text NOT NULL,
    amount_micros    bigint NOT NULL CHECK (amount_micros > 0),
    occurred_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, epoch, operation_number)
);

CREATE INDEX detached_fundings_reference ON detached_fundings (tenant_id, reference);

-- Creates the monthly partitions of both tables for month_count months from the month of first_month, those missing;
-- returns how many tables it created. A month before the detached boundary is refused: its rows were carried into
-- ledger_checkpoints, and a partition created again would count a late copy of them twice. Serialized on an advisory
-- lock so that gateways creating the same month at once do not collide.
CREATE FUNCTION ensure_monthly_partitions(first_month timestamptz, month_count integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    month_start timestamptz;
    boundary timestamptz;
    suffix text;
    created integer := 0;
BEGIN
    IF month_count NOT BETWEEN 1 AND 1200 THEN
        RAISE EXCEPTION 'month_count % is not between 1 and 1200', month_count;
    END IF;

    PERFORM pg_advisory_xact_lock(1131375952, 1);
    SELECT (max(month) + interval '1 month') AT TIME ZONE 'UTC' INTO boundary FROM detached_months;
    month_start := date_trunc('month', first_month AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    IF boundary IS NOT NULL AND month_start < boundary THEN
        RAISE EXCEPTION 'the month % is detached (the ledger holds months from %): its rows are in ledger_checkpoints and cannot be written again',
            to_char(month_start AT TIME ZONE 'UTC', 'YYYY-MM'), to_char(boundary AT TIME ZONE 'UTC', 'YYYY-MM')
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    FOR step IN 0 .. month_count - 1 LOOP
        suffix := to_char((month_start AT TIME ZONE 'UTC') + make_interval(months => step), 'YYYYMM');
        IF to_regclass('ledger_entries_p' || suffix) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF ledger_entries FOR VALUES FROM (%L) TO (%L)', 'ledger_entries_p' || suffix,
                ((month_start AT TIME ZONE 'UTC') + make_interval(months => step)) AT TIME ZONE 'UTC',
                ((month_start AT TIME ZONE 'UTC') + make_interval(months => step + 1)) AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;

        IF to_regclass('call_records_p' || suffix) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF call_records FOR VALUES FROM (%L) TO (%L)', 'call_records_p' || suffix,
                ((month_start AT TIME ZONE 'UTC') + make_interval(months => step)) AT TIME ZONE 'UTC',
                ((month_start AT TIME ZONE 'UTC') + make_interval(months => step + 1)) AT TIME ZONE 'UTC');
            created := created + 1;
        END IF;
    END LOOP;

    RETURN created;
END $$;

-- Every month the existing rows fall in, and the current month with the three after it (the gateway keeps creating
-- months ahead, Ledger:PartitionMonthsAhead).
SELECT ensure_monthly_partitions(month, 1)
FROM (SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month FROM ledger_entries_0009
      UNION SELECT date_trunc('month', ended_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' FROM call_records_0009) AS months;
SELECT ensure_monthly_partitions(now(), 4);

INSERT INTO ledger_entries (tenant_id, epoch, operation_number, kind, amount_micros, session_id, request_number, session_number,
                            reference, note, occurred_at, recorded_at, session_epoch)
SELECT tenant_id, epoch, operation_number, kind, amount_micros, session_id, request_number, session_number,
       reference, note, occurred_at, recorded_at, session_epoch
FROM ledger_entries_0009;

INSERT INTO call_records (tenant_id, epoch, session_number, session_id, user_id, call_type, calling_number, called_number,
                          started_at, ended_at, used_seconds, billed_seconds, charge_micros, uncharged_micros, currency,
                          destination_name, rated_prefix, rate_per_minute_micros, connection_fee_micros,
                          first_increment_seconds, next_increment_seconds, rate_effective_from, termination_cause,
                          recorded_at, included_seconds, pool_id)
SELECT tenant_id, epoch, session_number, session_id, user_id, call_type, calling_number, called_number,
       started_at, ended_at, used_seconds, billed_seconds, charge_micros, uncharged_micros, currency,
       destination_name, rated_prefix, rate_per_minute_micros, connection_fee_micros,
       first_increment_seconds, next_increment_seconds, rate_effective_from, termination_cause,
       recorded_at, included_seconds, pool_id
FROM call_records_0009;

-- Every row moved, or the migration stops (and its transaction with it).
DO $$
BEGIN
    IF (SELECT count(*) FROM ledger_entries) <> (SELECT count(*) FROM ledger_entries_0009)
       OR (SELECT coalesce(sum(amount_micros), 0) FROM ledger_entries) <> (SELECT coalesce(sum(amount_micros), 0) FROM ledger_entries_0009)
       OR (SELECT count(*) FROM call_records) <> (SELECT count(*) FROM call_records_0009) THEN
        RAISE EXCEPTION 'the partitioned tables do not hold every row of the tables they replace';
    END IF;
END $$;

DROP TABLE ledger_entries_0009;
DROP TABLE call_records_0009;

CREATE INDEX ledger_entries_session ON ledger_entries (tenant_id, session_id) WHERE session_id IS NOT NULL;
CREATE INDEX ledger_entries_reference ON ledger_entries (tenant_id, reference) WHERE kind = 1;
CREATE INDEX call_records_session ON call_records (tenant_id, session_id);
CREATE INDEX call_records_ended ON call_records (tenant_id, ended_at);
