-- The tenant directory: users and their licences, toll-free numbers, and monthly included-minute pools.
-- Gateways hold each tenant's directory in memory; every change raises tenants.directory_revision and notifies
-- channel commscredits_directory_changed, as a rate import does with rates_revision.
--
-- The keys that lists page through are COLLATE "C": pages are ordered by ordinal comparison, and the index must have
-- that order for a page to be an index range scan whatever the database's collation.

ALTER TABLE tenants ADD COLUMN directory_revision bigint NOT NULL DEFAULT 0;

CREATE TABLE users (
    tenant_id                      text NOT NULL REFERENCES tenants (tenant_id),
    -- The charging API's user_id: printable ASCII without spaces.
    user_id                        text COLLATE "C" NOT NULL CHECK (user_id ~ '^[!-~]{1,128}$'),
    -- Printable ASCII with exactly one '@', not first or last.
    upn                            text NOT NULL CHECK (upn ~ '^[!-?A-~]+@[!-?A-~]+$' AND length(upn) <= 256),
    display_name                   text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    -- ISO 3166-1 alpha-2; the gateway accepts assigned codes only.
    location_country               text NOT NULL CHECK (location_country ~ '^[A-Z]{2}$'),
    communications_credits_licence boolean NOT NULL,
    -- The API's CallingPlan: 1 none, 2 domestic, 3 domestic and international, 4 pay-as-you-go. (0 is the API's
    -- "unspecified", which is refused, so that a client that leaves the field out never strips a user's plan.)
    calling_plan                   smallint NOT NULL CHECK (calling_plan BETWEEN 1 AND 4),
    audio_conferencing             boolean NOT NULL,
    created_at                     timestamptz NOT NULL DEFAULT now(),
    updated_at                     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);

-- A UPN names one user of a tenant whatever its letter case. UPNs are ASCII, so lower() is the same in every locale.
CREATE UNIQUE INDEX users_upn ON users (tenant_id, lower(upn));

-- One owner per number, across all tenants: an inbound call to it is billed to that tenant.
CREATE TABLE toll_free_numbers (
    number      text COLLATE "C" PRIMARY KEY CHECK (number ~ '^\+[1-9][0-9]{0,14}$'),
    tenant_id   text NOT NULL REFERENCES tenants (tenant_id),
    assigned_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX toll_free_numbers_tenant ON toll_free_numbers (tenant_id, number);

CREATE TABLE minute_pools (
    tenant_id           text NOT NULL REFERENCES tenants (tenant_id),
    pool_id             text COLLATE "C" NOT NULL CHECK (pool_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    display_name        text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    -- The API's CallType: 1 outbound PSTN, 2 conference dial-out.
    call_type           smallint NOT NULL CHECK (call_type IN (1, 2)),
    -- The API's PoolEntitlement: 1 domestic calling plan, 2 international calling plan, 3 audio conferencing.
    entitlement         smallint NOT NULL CHECK (entitlement BETWEEN 1 AND 3),
    minutes_per_licence integer NOT NULL CHECK (minutes_per_licence BETWEEN 0 AND 100000),
    -- E.164 digit prefixes without '+'.
    covered_prefixes    text[] NOT NULL CHECK (
        cardinality(covered_prefixes) BETWEEN 1 AND 1000
        AND array_position(covered_prefixes, NULL) IS NULL
        AND array_to_string(covered_prefixes, ',') ~ '^[1-9][0-9]{0,14}(,[1-9][0-9]{0,14})*$'),
    -- ISO 3166-1 alpha-2 codes; empty for users in any country.
    user_countries      text[] NOT NULL CHECK (
        cardinality(user_countries) <= 249
        AND array_position(user_countries, NULL) IS NULL
        AND array_to_string(user_countries, ',') ~ '^([A-Z]{2}(,[A-Z]{2})*)?$'),
    PRIMARY KEY (tenant_id, pool_id)
);
