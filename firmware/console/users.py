"""Who may use the service console: users, roles, PIN changes and the lockout (device code).

    users = Users(config["console"], master, folder, clock)
    who = users.login("technician", "246810")    # {"name", "role", "must_change"} or LoginError
    users.change_pin("technician", "246810", "135790")

Console users (technicians, read-only accounts) come from the configuration's
``console.users`` (the factory state) until one of them changes a PIN; from then on the store
``<folder>/users.json`` holds them. A manager logs in with the operator number and PIN of the
master data (role ``manager`` there). PINs are kept only as salted PBKDF2-SHA256 hashes
(``core.pin``). With ``console.force_pin_change`` (a real terminal's factory state) a user
whose PIN was never changed must set a new one before anything else.

Lockout: after ``FREE_TRIES`` failed logins in a row the console refuses every login for
``BACKOFF_S`` seconds, doubling with each further failure up to ``MAX_BACKOFF_S``; a good login
clears it. The count and the time survive a reboot (``<folder>/lockout.json``), so pulling the
plug does not buy more guesses.
"""

import json
import os

from core.errors import EcrError
from core.pin import check_pin, hash_pin
from core.storage import exists, makedirs, read_json, write_atomic

ROLES = ("technician", "manager", "read-only")
FREE_TRIES = 5
BACKOFF_S = 30
MAX_BACKOFF_S = 3600
MIN_PIN = 6
MAX_PIN = 12
STORE = "/users.json"
LOCKOUT = "/lockout.json"


def _decoy(like):
    """A PIN hash no PIN matches, as costly as the stored hash ``like`` (same iterations): an
    unknown user name is checked against it, so that it costs what a wrong PIN costs."""
    parts = like.split("$")
    rounds = parts[1] if len(parts) == 4 and parts[1].isdigit() else "2000"
    return "pbkdf2-sha256$%s$%s$%s" % (rounds, "0" * 32, "0" * 64)


class LoginError(EcrError):
    code = "auth"


def check_new_pin(pin):
    """``ValueError`` unless ``pin`` is 6 to 12 digits, not all the same."""
    if not (MIN_PIN <= len(pin) <= MAX_PIN) or not pin.isdigit():
        raise ValueError("a console PIN is %d to %d digits" % (MIN_PIN, MAX_PIN))
    if pin == pin[0] * len(pin):
        raise ValueError("a PIN of one repeated digit is too easy to guess")


class Users:
    def __init__(self, settings, master, folder, clock):
        self.master = master
        self.folder = folder
        self.clock = clock
        self.force_change = settings["force_pin_change"]
        stored = read_json(folder + STORE)
        if stored is None:
            stored = {}
            for u in settings["users"]:
                stored[u["name"]] = {"role": u["role"], "pin": u["pin"], "changed": False}
        self.users = stored
        self._decoy = _decoy(next(iter(stored.values()))["pin"] if stored else "")
        lock = read_json(folder + LOCKOUT) or {}
        self.failures = lock.get("failures", 0)
        self.until = lock.get("until", 0)

    def forget(self):
        """Back to the factory state on the next boot: the stored users and the lockout go."""
        for name in (STORE, LOCKOUT):
            if exists(self.folder + name):
                os.remove(self.folder + name)

    # --- the lockout -----------------------------------------------------------------

    def locked_for(self):
        """Seconds until the next login may be tried (0: now)."""
        return max(0, self.until - self.clock.now())

    def _save_lockout(self):
        makedirs(self.folder)
        write_atomic(self.folder + LOCKOUT, json.dumps({"failures": self.failures, "until": self.until}))

    def _failed(self):
        self.failures += 1
        over = self.failures - FREE_TRIES
        if over >= 0:
            self.until = self.clock.now() + min(MAX_BACKOFF_S, BACKOFF_S << min(over, 12))
        self._save_lockout()

    # --- logging in -------------------------------------------------------------------

    def login(self, name, pin):
        """The user's ``{"name", "role", "must_change"}``; ``LoginError`` for a wrong name or
        PIN (the same message for both) or while locked out."""
        wait = self.locked_for()
        if wait:
            raise LoginError("locked after %d failed logins: try again in %d s" % (self.failures, wait))
        who = self._check(name, pin)
        if who is None:
            self._failed()
            wait = self.locked_for()
            if wait:
                raise LoginError("wrong user or PIN; locked for %d s" % wait)
            raise LoginError("wrong user or PIN (%d tries before a lockout)" % (FREE_TRIES - self.failures))
        if self.failures:
            self.failures, self.until = 0, 0
            self._save_lockout()
        return who

    def _check(self, name, pin):
        """Every attempt costs one PIN hash, whether the user exists or not: how long a
        refusal takes must not tell which user names exist."""
        user = self.users.get(name)
        if user is not None:
            if check_pin(pin, user["pin"]):
                must = self.force_change and not user.get("changed")
                return {"name": name, "role": user["role"], "must_change": must}
            return None
        op = self.master.operators.get(name) if self.master is not None else None
        if op is None:
            check_pin(pin, self._decoy)
            return None
        if op.check(pin) and op.role == "manager":
            return {"name": name, "role": "manager", "must_change": False, "display": op.name}
        return None

    def public_name(self, name):
        """A user name as it may be journaled and logged: a known user as it is; an unknown
        one with a digit in it may be a PIN typed in the wrong place (``login 246810 ...``)."""
        known = name in self.users or (self.master is not None and name in self.master.operators)
        if known or not any(c.isdigit() for c in name):
            return name[:16]
        return "***"

    def change_pin(self, name, old, new):
        """A console user's new PIN (the old one is checked again); stored at once."""
        user = self.users.get(name)
        if user is None:
            raise LoginError("%s is not a console user: managers change their PIN in the master data" % name)
        if not check_pin(old, user["pin"]):
            self._failed()
            raise LoginError("the current PIN is wrong")
        check_new_pin(new)
        if new == old:
            raise ValueError("the new PIN must differ from the old one")
        users = dict(self.users)
        users[name] = {"role": user["role"], "pin": hash_pin(new), "changed": True}
        makedirs(self.folder)
        write_atomic(self.folder + STORE, json.dumps(users))
        self.users = users
