-- The session journal: what a lost Redis needs to go on with the calls in progress. Every step of an open session
-- (its Reserve, each Update) is written here in the transaction of its settlement, before it is acknowledged, so a
-- rebuild of the tenant's hot state (HotStateLoader) restores each open session exactly as the ledger knows it:
-- tariff, usage, what was debited, its hold, its pool allotment and every answer it gave (retries stay idempotent).
--
-- A session is in progress while it has steps and no call record. Its closing (a Terminate, or the supervisor) writes
-- the call record and deletes its steps in one transaction. A step that commits after the closing (an Update in flight
-- beside the Terminate) is ignored by the rebuild, which never restores a session with a call record, and removed by
-- the supervisor's purge.

CREATE TABLE session_steps (
    tenant_id        text NOT NULL REFERENCES tenants (tenant_id),
    -- The operation that made the step, as the ledger's keys: (tenant, epoch, operation number).
    epoch            bigint NOT NULL,
    operation_number bigint NOT NULL CHECK (operation_number > 0),
    -- The session: the epoch it was opened in and its number there, kept for its whole life (a restored session keeps
    -- them, so its call record and its ledger debits share one key whatever epochs it lived through).
    session_epoch    bigint NOT NULL,
    session_number   bigint NOT NULL CHECK (session_number > 0),
    session_id       text NOT NULL,
    -- 1 the opening (Reserve), 2 an Update.
    step             smallint NOT NULL CHECK (step IN (1, 2)),
    -- The request key of the answer: '0' for the Reserve, the request number for an Update.
    request          text NOT NULL CHECK (request ~ '^[0-9]{1,10}$'),
    used_seconds     bigint NOT NULL CHECK (used_seconds >= 0),
    charged_micros   bigint NOT NULL CHECK (charged_micros >= 0),
    -- Seconds of the session's included-minute pool used by this step.
    pool_seconds     bigint NOT NULL CHECK (pool_seconds >= 0),
    -- After the step: the pool seconds allotted to the session, its hold, its last grant and its supervision deadline.
    allotted_seconds bigint NOT NULL CHECK (allotted_seconds >= 0),
    hold_micros      bigint NOT NULL CHECK (hold_micros >= 0),
    granted_seconds  bigint NOT NULL CHECK (granted_seconds >= 0),
    deadline_at      timestamptz NOT NULL,
    -- The answer given, as the scripts store it (netstrings).
    answer           text NOT NULL,
    -- The opening only: the session's fixed fields (tariff, parties, pool), as reserve.lua wrote them (netstrings).
    opening          text,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, epoch, operation_number),
    CHECK ((step = 1) = (opening IS NOT NULL))
);

CREATE INDEX session_steps_session ON session_steps (tenant_id, session_epoch, session_number);

-- A debit's session is named by (session_epoch, session_number) like its call record's (epoch, session_number); the
-- entry's own epoch is the one it was applied under, which differs for a session restored into a new epoch.
ALTER TABLE ledger_entries ADD COLUMN session_epoch bigint;
UPDATE ledger_entries SET session_epoch = epoch WHERE session_number IS NOT NULL;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_session_epoch CHECK ((session_number IS NULL) = (session_epoch IS NULL));

-- call_records.epoch is, from here on, the epoch the call's session was opened in (the same as before for every call
-- that lived in one epoch).
COMMENT ON COLUMN call_records.epoch IS 'the epoch the session was opened in; with session_number it names the session';
