-- Automatic recharges. A debit that takes a balance below the tenant's trigger writes a recharge request in the same
-- transaction as the debit itself, so a recharge is due exactly when such a debit is durable: one per crossing,
-- whatever the number of gateways and concurrent calls, and never lost with a process. The recharge worker claims
-- due requests, charges the payment method, and adds the funding lot through the ledger.

CREATE TABLE recharge_requests (
    tenant_id                text NOT NULL REFERENCES tenants (tenant_id),
    -- The debit that crossed the trigger names the request.
    epoch                    bigint NOT NULL,
    operation_number         bigint NOT NULL,
    amount_micros            bigint NOT NULL CHECK (amount_micros > 0),
    currency                 text NOT NULL,
    payment_method_reference text NOT NULL CHECK (length(payment_method_reference) BETWEEN 1 AND 128),
    -- due: waiting for the worker; charging: a worker holds it until claimed_until; succeeded: the lot is in the
    -- ledger; failed: given up (declined, expired card, or out of attempts), the tenant was told.
    status                   text NOT NULL DEFAULT 'due' CHECK (status IN ('due', 'charging', 'succeeded', 'failed')),
    attempts                 integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- The idempotency key of the latest charge attempt: asked about before any new attempt.
    attempt_key              text,
    next_attempt_at          timestamptz NOT NULL DEFAULT now(),
    claimed_until            timestamptz,
    failure_reason           text CHECK (length(failure_reason) <= 500),
    -- Failed because of the payment method (declined, expired card): due again when the tenant sets another one.
    awaits_new_payment_method boolean NOT NULL DEFAULT false,
    created_at               timestamptz NOT NULL DEFAULT now(),
    completed_at             timestamptz,
    PRIMARY KEY (tenant_id, epoch, operation_number)
);

CREATE INDEX recharge_requests_due ON recharge_requests (next_attempt_at) WHERE status IN ('due', 'charging');

-- The sandbox payment provider's own record of every charge, by idempotency key, so that it can be asked about a key
-- after a timeout or a restart, as a real provider can.
CREATE TABLE sandbox_payments (
    idempotency_key          text PRIMARY KEY,
    payment_method_reference text NOT NULL,
    amount_micros            bigint NOT NULL,
    currency                 text NOT NULL,
    outcome                  text NOT NULL CHECK (outcome IN ('charged', 'declined', 'expired_card')),
    created_at               timestamptz NOT NULL DEFAULT now()
);
