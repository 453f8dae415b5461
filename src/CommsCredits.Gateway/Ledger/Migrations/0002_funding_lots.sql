-- Funding lots: every purchase (or refund) is a lot with its own expiry; debits draw on lots earliest-expiry first and
-- the expiry job forfeits what is left in expired lots. The draws are recorded, so an auditor can trace which lot paid
-- for which debit, and the hot state's lots can be rebuilt from the ledger exactly like its balance.

ALTER TABLE tenants
    -- How long a purchase stays spendable. 12 months by default, as the product promises.
    ADD COLUMN funding_expiry_months integer NOT NULL DEFAULT 12 CHECK (funding_expiry_months BETWEEN 1 AND 120),
    -- IANA time zone of the tenant, for people (reports); the ledger and the pools' months are in UTC.
    ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64);

-- Kind 4: an expiry, what was left in expired lots, forfeited.
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check CHECK (kind BETWEEN 1 AND 4);
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_amount_sign
    CHECK ((kind IN (2, 4) AND amount_micros < 0) OR (kind IN (1, 3) AND amount_micros > 0));

-- A lot is created by the ledger entry that brought the money (a funding or a refund) and named by that entry's key.
CREATE TABLE funding_lots (
    tenant_id        text NOT NULL,
    epoch            bigint NOT NULL,
    operation_number bigint NOT NULL,
    amount_micros    bigint NOT NULL CHECK (amount_micros > 0),
    -- 1 one-off funding, 2 auto-recharge, 3 refund.
    source           smallint NOT NULL CHECK (source BETWEEN 1 AND 3),
    purchased_at     timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL CHECK (expires_at > purchased_at),
    PRIMARY KEY (tenant_id, epoch, operation_number),
    FOREIGN KEY (tenant_id, epoch, operation_number) REFERENCES ledger_entries (tenant_id, epoch, operation_number)
);

CREATE INDEX funding_lots_expiry ON funding_lots (expires_at);

-- What each debit or expiry took from each lot. The draws of an entry add up to its amount (negated). There is no
-- foreign key to funding_lots: settlement batches commit concurrently, so a debit can reach the ledger a moment before
-- the funding whose lot it drew on (HotStateLoader explains the one case where that funding never arrives).
CREATE TABLE lot_draws (
    tenant_id            text NOT NULL,
    epoch                bigint NOT NULL,
    operation_number     bigint NOT NULL,
    lot_epoch            bigint NOT NULL,
    lot_operation_number bigint NOT NULL,
    amount_micros        bigint NOT NULL CHECK (amount_micros > 0),
    PRIMARY KEY (tenant_id, epoch, operation_number, lot_epoch, lot_operation_number),
    FOREIGN KEY (tenant_id, epoch, operation_number) REFERENCES ledger_entries (tenant_id, epoch, operation_number)
);

CREATE INDEX lot_draws_lot ON lot_draws (tenant_id, lot_epoch, lot_operation_number);

-- Ledgers written before lots existed: every funding and refund becomes a lot expiring 12 months after it, and the
-- debits are replayed against them earliest-expiry first, in the order Redis applied them.
DO $$
DECLARE
    entry record;
    lot record;
    owed bigint;
    taken bigint;
BEGIN
    FOR entry IN SELECT * FROM ledger_entries ORDER BY tenant_id, epoch, operation_number LOOP
        IF entry.kind IN (1, 3) THEN
            INSERT INTO funding_lots VALUES (entry.tenant_id, entry.epoch, entry.operation_number, entry.amount_micros,
                CASE entry.kind WHEN 1 THEN 1 ELSE 3 END, entry.occurred_at, entry.occurred_at + interval '12 months');
        ELSE
            owed := -entry.amount_micros;
            FOR lot IN
                SELECT l.epoch, l.operation_number,
                       l.amount_micros - coalesce((SELECT sum(d.amount_micros) FROM lot_draws d
                                                   WHERE d.tenant_id = l.tenant_id AND d.lot_epoch = l.epoch
                                                     AND d.lot_operation_number = l.operation_number), 0) AS remaining
                FROM funding_lots l WHERE l.tenant_id = entry.tenant_id
                ORDER BY l.expires_at, l.epoch, l.operation_number
            LOOP
                EXIT WHEN owed = 0;
                CONTINUE WHEN lot.remaining <= 0;
                taken := least(owed, lot.remaining);
                INSERT INTO lot_draws VALUES (entry.tenant_id, entry.epoch, entry.operation_number, lot.epoch,
                                              lot.operation_number, taken);
                owed := owed - taken;
            END LOOP;
            IF owed <> 0 THEN
                RAISE EXCEPTION 'ledger of tenant % debits more than it was funded (entry %/%)',
                    entry.tenant_id, entry.epoch, entry.operation_number;
            END IF;
        END IF;
    END LOOP;
END $$;

-- A tenant's auto-recharge settings, set through the admin API; the recharge worker reads them.
CREATE TABLE auto_recharge_settings (
    tenant_id                text PRIMARY KEY REFERENCES tenants (tenant_id),
    enabled                  boolean NOT NULL,
    trigger_micros           bigint NOT NULL CHECK (trigger_micros >= 0),
    recharge_micros          bigint NOT NULL CHECK (recharge_micros > 0),
    payment_method_reference text NOT NULL CHECK (length(payment_method_reference) <= 128),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CHECK (NOT enabled OR length(payment_method_reference) > 0)
);
