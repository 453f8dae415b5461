-- Delivery of the outbox's notifications (docs/notifications.md). The dispatcher, in every gateway, first gives each
-- new outbox row one delivery per channel the tenant has set up at that moment, then claims due deliveries with
-- FOR UPDATE SKIP LOCKED and a lease, sends them, and records the outcome here.

-- Set when the dispatcher has created the row's deliveries (none, when the tenant had no channel): the rows still
-- to fan out are those where it is null, found through the partial index below.
ALTER TABLE notification_outbox ADD COLUMN deliveries_created_at timestamptz;

CREATE INDEX notification_outbox_undispatched ON notification_outbox (notification_id) WHERE deliveries_created_at IS NULL;

CREATE TABLE notification_deliveries (
    notification_id bigint NOT NULL REFERENCES notification_outbox (notification_id),
    channel         text NOT NULL CHECK (channel IN ('webhook', 'email')),
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    -- Attempts started: counted when claimed, so a delivery that crashes its gateway still runs out of attempts.
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- Why the last attempt failed: a status line or an exception message, never a secret or a URL.
    last_error      text CHECK (length(last_error) <= 500),
    delivered_at    timestamptz,
    -- A claimed delivery belongs to its dispatcher until then; after it (the gateway died) another one takes it.
    claimed_until   timestamptz,
    PRIMARY KEY (notification_id, channel),
    CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);

CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at) WHERE status = 'pending';

-- ListNotifications: one tenant's notifications, newest first, by keyset.
CREATE INDEX notification_outbox_tenant ON notification_outbox (tenant_id, notification_id);
