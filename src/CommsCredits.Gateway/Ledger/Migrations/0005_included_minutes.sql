-- Included minutes: every use of a pool's seconds is recorded with the operation that used them, so the monthly pool
-- counters in Redis can be rebuilt from here like the balance, and a call's record says how much of it the pool paid.

CREATE TABLE pool_usage (
    tenant_id        text NOT NULL,
    epoch            bigint NOT NULL,
    operation_number bigint NOT NULL,
    pool_id          text NOT NULL,
    -- The first day of the calendar month (UTC) the seconds count in.
    month            date NOT NULL CHECK (extract(day FROM month) = 1),
    seconds          bigint NOT NULL CHECK (seconds > 0),
    PRIMARY KEY (tenant_id, epoch, operation_number)
);

CREATE INDEX pool_usage_month ON pool_usage (tenant_id, month, pool_id);

ALTER TABLE call_records
    -- Seconds of the call paid by an included-minute pool; the rest (used_seconds minus these) was on credit.
    ADD COLUMN included_seconds bigint NOT NULL DEFAULT 0 CHECK (included_seconds >= 0),
    ADD COLUMN pool_id text;
