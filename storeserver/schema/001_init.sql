-- The store server's tables, version 1. Money is integer cents, times are Unix seconds
-- (the terminals' own) unless a column says timestamptz (the server's clock).

-- Every register of the store: its enrolment and what it last said about itself.
CREATE TABLE registers (
    serial       text PRIMARY KEY,
    name         text NOT NULL DEFAULT '',
    token_hash   text,                       -- SHA-256 of the bearer token (the token is never kept)
    code_hash    text,                       -- SHA-256 of the one-time enrolment code
    code_expires timestamptz,
    enrolled     timestamptz,
    last_seen    timestamptz,
    head_seq     bigint NOT NULL DEFAULT 0,  -- the last journal record held
    head_hash    bytea NOT NULL DEFAULT '\x0000000000000000000000000000000000000000000000000000000000000000',
    segment      integer NOT NULL DEFAULT 1, -- the closing period the next record belongs to
    status       jsonb NOT NULL DEFAULT '{}'::jsonb,
    master_in_use integer,                   -- master data version in use (journaled by the terminal)
    master_received integer,                 -- ... received, waiting for the next closing
    forked       boolean NOT NULL DEFAULT false
);

-- Every journal record exactly as the terminal wrote it (payload bytes and chain hash).
CREATE TABLE records (
    serial   text NOT NULL REFERENCES registers,
    seq      bigint NOT NULL,
    segment  integer NOT NULL,
    t        bigint NOT NULL,
    kind     text NOT NULL,
    payload  bytea NOT NULL,
    hash     bytea NOT NULL,
    received timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (serial, seq)
);
CREATE INDEX records_kind ON records (serial, kind, seq);

-- The TSEs a register journaled (its Stamm_TSE), with the public key its signatures verify with.
CREATE TABLE tses (
    serial      text NOT NULL REFERENCES registers,
    tse_serial  text NOT NULL,
    public_key  bytea NOT NULL,
    algorithm   text NOT NULL,
    time_format text NOT NULL,
    valid       boolean NOT NULL,
    PRIMARY KEY (serial, tse_serial)
);

-- Receipts (Belege and other Vorgänge) for the back office: one row per receipt.
CREATE TABLE receipts (
    serial     text NOT NULL REFERENCES registers,
    seq        bigint NOT NULL,           -- the journal record that completed it
    bon_nr     integer NOT NULL,
    z_nr       integer NOT NULL,
    t          bigint NOT NULL,
    bon_typ    text NOT NULL,
    operator   text NOT NULL DEFAULT '',
    gross      bigint NOT NULL,
    training   boolean NOT NULL DEFAULT false,
    signed     boolean NOT NULL,          -- carries a TSE signature
    verified   boolean,                   -- the signature checked (NULL: nothing to check)
    problem    text,
    data       jsonb NOT NULL,            -- the whole receipt as the journal has it
    PRIMARY KEY (serial, seq)
);
CREATE INDEX receipts_time ON receipts (t);
CREATE INDEX receipts_bon ON receipts (serial, bon_nr);

CREATE TABLE receipt_lines (
    serial   text NOT NULL,
    seq      bigint NOT NULL,
    t        bigint NOT NULL,
    grp      text NOT NULL,
    plu      text NOT NULL,
    name     text NOT NULL,
    qty      bigint NOT NULL,              -- thousandths
    amount   bigint NOT NULL,
    FOREIGN KEY (serial, seq) REFERENCES receipts
);
CREATE INDEX receipt_lines_time ON receipt_lines (t);

CREATE TABLE receipt_payments (
    serial   text NOT NULL,
    seq      bigint NOT NULL,
    t        bigint NOT NULL,
    kind     text NOT NULL,                -- ZAHLART_TYP
    name     text NOT NULL,
    amount   bigint NOT NULL,
    FOREIGN KEY (serial, seq) REFERENCES receipts
);
CREATE INDEX receipt_payments_time ON receipt_payments (t);

-- Closings (Kassenabschlüsse) as journaled.
CREATE TABLE closings (
    serial   text NOT NULL REFERENCES registers,
    z_nr     integer NOT NULL,
    seq      bigint NOT NULL,
    t        bigint NOT NULL,
    data     jsonb NOT NULL,
    PRIMARY KEY (serial, z_nr)
);

-- What the server saw that it must not accept silently: forks, gaps, bad signatures.
CREATE TABLE alarms (
    id       bigserial PRIMARY KEY,
    serial   text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now(),
    kind     text NOT NULL,                -- fork, chain, missing, signature
    seq      bigint,
    detail   text NOT NULL,
    cleared  timestamptz
);

-- Master data: the store's part (business, groups, articles, operators, loyalty), versioned.
CREATE TABLE master_versions (
    version  serial PRIMARY KEY,
    made     timestamptz NOT NULL DEFAULT now(),
    author   text NOT NULL,
    note     text NOT NULL DEFAULT '',
    data     jsonb NOT NULL
);

-- Backups: the last of each kind per register (settings, master, console users), and TSE exports.
CREATE TABLE backups (
    serial   text NOT NULL REFERENCES registers,
    made     timestamptz NOT NULL DEFAULT now(),
    data     jsonb NOT NULL,
    PRIMARY KEY (serial)
);
CREATE TABLE tse_exports (
    serial   text NOT NULL REFERENCES registers,
    name     text NOT NULL,
    size     bigint NOT NULL,
    data     bytea NOT NULL,
    made     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (serial, name)
);

-- The back office's users and their sessions.
CREATE TABLE users (
    name          text PRIMARY KEY,
    role          text NOT NULL CHECK (role IN ('owner', 'manager', 'viewer')),
    password_hash text NOT NULL,
    failed        integer NOT NULL DEFAULT 0,
    locked_until  timestamptz
);
CREATE TABLE sessions (
    id       text PRIMARY KEY,               -- SHA-256 of the cookie's value
    name     text NOT NULL REFERENCES users ON DELETE CASCADE,
    csrf     text NOT NULL,
    expires  timestamptz NOT NULL
);
CREATE TABLE audit_log (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    who      text NOT NULL,
    what     text NOT NULL
);
