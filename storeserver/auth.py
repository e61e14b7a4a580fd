"""The back office's people: users, passwords, sessions, CSRF, lockout (host code).

Passwords are hashed with Argon2id (argon2-cffi, its default parameters); a user who gives a
wrong password ``LOCK_AFTER`` times in a row is locked for ``LOCK_MINUTES`` (the failed count
starts over after a good login). A session is a random 32-byte cookie value, kept in the
database only as its SHA-256, with its own CSRF token that every state-changing request must
send back (form field ``csrf`` or header ``X-CSRF-Token``). Roles: ``owner`` (everything,
users too), ``manager`` (master data, registers, exports), ``viewer`` (looks only).
"""

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES = ("owner", "manager", "viewer")
LOCK_AFTER = 5
LOCK_MINUTES = 15
SESSION_HOURS = 8
MIN_PASSWORD = 10

_hasher = PasswordHasher()
# a hash to check a wrong user name against, so that the answer takes as long as for a real one
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


def _session_id(cookie):
    return hashlib.sha256(cookie.encode()).hexdigest()


class Refused(Exception):
    pass


async def add_user(pool, name, role, password):
    if role not in ROLES:
        raise Refused("role must be one of %s" % ", ".join(ROLES))
    if not name or len(name) > 40 or not name.replace(".", "").replace("-", "").isalnum():
        raise Refused("a user name is 1-40 letters, digits, dots or dashes")
    if len(password) < MIN_PASSWORD:
        raise Refused("a password has at least %d characters" % MIN_PASSWORD)
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO users (name, role, password_hash) VALUES (%s, %s, %s)"
            " ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash,"
            " failed = 0, locked_until = NULL",
            (name, role, _hasher.hash(password)),
        )


async def login(pool, name, password):
    """A new session ``(cookie value, csrf token, role)``; ``Refused`` saying why not. A wrong
    password's count is committed before the refusal is raised."""
    async with pool.connection() as conn:
        async with conn.transaction(), conn.cursor() as cur:
            refusal, result = await _login(cur, name, password)
    if refusal:
        raise Refused(refusal)
    return result


async def _login(cur, name, password):
    await cur.execute(
        "SELECT password_hash, role, failed, locked_until > now(), locked_until FROM users"
        " WHERE name = %s FOR UPDATE",
        (name,),
    )
    row = await cur.fetchone()
    if row is None:
        try:
            _hasher.verify(_DUMMY, password)
        except VerificationError:
            pass
        return "wrong user name or password", None
    stored, role, failed, locked, until = row
    if locked:
        return "locked after %d wrong passwords until %s" % (LOCK_AFTER, until.strftime("%H:%M UTC")), None
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        failed += 1
        if failed >= LOCK_AFTER:
            await cur.execute(
                "UPDATE users SET failed = 0, locked_until = now() + make_interval(mins => %s)"
                " WHERE name = %s",
                (LOCK_MINUTES, name),
            )
            await cur.execute(
                "INSERT INTO audit_log (who, what) VALUES (%s, %s)",
                (name, "locked: %d wrong passwords" % failed),
            )
            return "wrong password: locked for %d minutes" % LOCK_MINUTES, None
        await cur.execute("UPDATE users SET failed = %s WHERE name = %s", (failed, name))
        return "wrong user name or password", None
    if _hasher.check_needs_rehash(stored):
        await cur.execute(
            "UPDATE users SET password_hash = %s WHERE name = %s", (_hasher.hash(password), name)
        )
    await cur.execute("UPDATE users SET failed = 0, locked_until = NULL WHERE name = %s", (name,))
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    await cur.execute(
        "INSERT INTO sessions (id, name, csrf, expires)"
        " VALUES (%s, %s, %s, now() + make_interval(hours => %s))",
        (_session_id(cookie), name, csrf, SESSION_HOURS),
    )
    await cur.execute("DELETE FROM sessions WHERE expires < now()")
    await cur.execute("INSERT INTO audit_log (who, what) VALUES (%s, 'login')", (name,))
    return None, (cookie, csrf, role)


async def session(pool, cookie):
    """``{"name", "role", "csrf"}`` of a live session, or None."""
    if not cookie:
        return None
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.execute(
            "SELECT s.name, u.role, s.csrf FROM sessions s JOIN users u ON u.name = s.name"
            " WHERE s.id = %s AND s.expires > now()",
            (_session_id(cookie),),
        )
        row = await cur.fetchone()
    if row is None:
        return None
    return {"name": row[0], "role": row[1], "csrf": row[2]}


async def logout(pool, cookie):
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM sessions WHERE id = %s", (_session_id(cookie),))


def csrf_ok(user, sent):
    return bool(sent) and hmac.compare_digest(user["csrf"], sent)
