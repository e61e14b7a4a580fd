"""The store server's database: versioned SQL files, and the connection pool (host code).

    migrate(dsn)                 # applies storeserver/schema/NNN_*.sql not yet applied, in order
    pool = await open_pool(dsn)  # psycopg 3 AsyncConnectionPool

Each file is applied in its own transaction and recorded in ``schema_version``; an advisory
lock keeps two server instances starting together from applying one file twice. A file once
released is never edited: a change is a new file.
"""

import os
import re

import psycopg
from psycopg_pool import AsyncConnectionPool

SCHEMA = os.path.join(os.path.dirname(__file__), "schema")
_FILE = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")
_LOCK = 0x5EC2  # pg_advisory_lock key of the migration


def files():
    out = []
    for name in sorted(os.listdir(SCHEMA)):
        m = _FILE.match(name)
        if m:
            out.append((int(m.group(1)), os.path.join(SCHEMA, name)))
    return out


def migrate(dsn):
    """Bring the database to the newest schema; returns the versions applied now."""
    applied = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version"
                " (version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())"
            )
            done = {v for (v,) in conn.execute("SELECT version FROM schema_version")}
            for version, path in files():
                if version in done:
                    continue
                with open(path) as f, conn.transaction():
                    conn.execute(f.read())
                    conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
                applied.append(version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK,))
    return applied


async def open_pool(dsn, min_size=2, max_size=8):
    pool = AsyncConnectionPool(dsn, min_size=min_size, max_size=max_size, open=False)
    await pool.open(wait=True, timeout=30)
    return pool
