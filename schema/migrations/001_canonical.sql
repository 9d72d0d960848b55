-- 001: the canonical store.

-- connection: one row per configured connection, so hot tables carry a
-- smallint instead of a name.
CREATE TABLE crmsync_connection (
    id         smallint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    provider   text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- person: the canonical record. Every field of the canonical map is a
-- column; provenance is two fixed-size arrays indexed like mapping.AllFields
-- (which connection set the value, and when), so no row holds an unbounded
-- blob. merged_into points a merged-away person at its survivor.
CREATE TABLE crmsync_person (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    first_name     text,
    last_name      text,
    emails         text[] NOT NULL DEFAULT '{}',
    phones         text[] NOT NULL DEFAULT '{}',
    linkedin_url   text,
    company        text,
    job_title      text,
    website        text,
    address        text,
    facebook       text,
    instagram      text,
    twitter        text,
    notes          text,
    lead_stage     text,
    pipeline_stage text,
    lead_score     integer,
    owner          text,
    prov_conn      smallint[] NOT NULL DEFAULT '{}',
    prov_at        timestamptz[] NOT NULL DEFAULT '{}',
    version        bigint NOT NULL DEFAULT 1,
    merged_into    bigint REFERENCES crmsync_person (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX crmsync_person_live ON crmsync_person (id) WHERE merged_into IS NULL;

-- identity: normalized email ('e') or canonical LinkedIn URL ('l') → person.
-- Unique: one identity names one person.
CREATE TABLE crmsync_identity (
    kind      "char" NOT NULL CHECK (kind IN ('e', 'l')),
    value     text NOT NULL,
    person_id bigint NOT NULL REFERENCES crmsync_person (id),
    PRIMARY KEY (kind, value)
);
CREATE INDEX crmsync_identity_person ON crmsync_identity (person_id);

-- link: a CRM record linked to a person, with its base state: the canonical
-- view of the fields last seen in or last written to that CRM (bounded: at
-- most the canonical fields, each capped in size), its hash for a cheap
-- "unchanged" test, and the CRM's change time.
CREATE TABLE crmsync_link (
    connection_id  smallint NOT NULL REFERENCES crmsync_connection (id),
    remote_id      text NOT NULL,
    person_id      bigint NOT NULL REFERENCES crmsync_person (id),
    base           jsonb NOT NULL,
    base_hash      bigint NOT NULL,
    remote_changed_at timestamptz,
    seen_at        timestamptz NOT NULL DEFAULT now(),
    synced_version bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (connection_id, remote_id)
);
CREATE INDEX crmsync_link_person ON crmsync_link (person_id, connection_id);

-- pending_create: a create that was sent (or is about to be) but whose
-- answer was not recorded: on a retry the engine looks the person up first.
CREATE TABLE crmsync_pending_create (
    connection_id smallint NOT NULL REFERENCES crmsync_connection (id),
    person_id     bigint NOT NULL REFERENCES crmsync_person (id),
    attempted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, person_id)
);

-- sync_state: per-connection checkpoint of the change feed (opaque,
-- provider-defined, bounded) and poll bookkeeping.
CREATE TABLE crmsync_sync_state (
    connection_id   smallint PRIMARY KEY REFERENCES crmsync_connection (id),
    checkpoint      bytea,
    last_poll_at    timestamptz,
    last_poll_ok_at timestamptz,
    last_error      text,
    records_seen    bigint NOT NULL DEFAULT 0
);

-- change: history of every applied field change.
CREATE TABLE crmsync_change (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id     bigint NOT NULL,
    field         text NOT NULL,
    old_value     text,
    new_value     text,
    connection_id smallint REFERENCES crmsync_connection (id),
    source_at     timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX crmsync_change_person ON crmsync_change (person_id, id);
CREATE INDEX crmsync_change_created ON crmsync_change (created_at);

-- merge: two people found to be one.
CREATE TABLE crmsync_merge (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    survivor   bigint NOT NULL REFERENCES crmsync_person (id),
    merged     bigint NOT NULL REFERENCES crmsync_person (id),
    reason     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- write_outcome: writes that were skipped or failed, with their reason.
-- One row per (connection, person, kind, reason): a skip is recorded once and
-- never retried in a loop; count and last_at say how often it recurred.
CREATE TABLE crmsync_write_outcome (
    connection_id smallint NOT NULL REFERENCES crmsync_connection (id),
    person_id     bigint NOT NULL,
    kind          text NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('skipped', 'failed')),
    reason        text NOT NULL,
    person_version bigint NOT NULL DEFAULT 0,
    count         integer NOT NULL DEFAULT 1,
    first_at      timestamptz NOT NULL DEFAULT now(),
    last_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (connection_id, person_id, kind, reason)
);
CREATE INDEX crmsync_write_outcome_last ON crmsync_write_outcome (last_at);

-- write_count: writes done per connection and kind (for status).
CREATE TABLE crmsync_write_count (
    connection_id smallint NOT NULL REFERENCES crmsync_connection (id),
    kind          text NOT NULL,
    count         bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (connection_id, kind)
);

-- resync_run: one full resync and its progress.
CREATE TABLE crmsync_resync_run (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connections  text[] NOT NULL,
    dry_run      boolean NOT NULL DEFAULT false,
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'ingesting', 'pushing', 'completed', 'failed')),
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz
);
-- At most one run not finished: a second request reports the running one.
CREATE UNIQUE INDEX crmsync_resync_run_one_active ON crmsync_resync_run ((true)) WHERE state IN ('pending', 'ingesting', 'pushing');

-- resync_progress: per run and connection.
CREATE TABLE crmsync_resync_progress (
    run_id        bigint NOT NULL REFERENCES crmsync_resync_run (id),
    connection_id smallint NOT NULL REFERENCES crmsync_connection (id),
    listed        bigint NOT NULL DEFAULT 0,
    list_done     boolean NOT NULL DEFAULT false,
    creates       bigint NOT NULL DEFAULT 0,
    updates       bigint NOT NULL DEFAULT 0,
    skips         bigint NOT NULL DEFAULT 0,
    failures      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, connection_id)
);

-- rate_bucket: fleet-wide rate limiter, one row per connection and second.
CREATE TABLE crmsync_rate_slot (
    connection_id smallint NOT NULL,
    second        bigint NOT NULL,
    used          integer NOT NULL DEFAULT 0,
    PRIMARY KEY (connection_id, second)
);
