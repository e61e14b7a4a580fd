"""Console users: PIN checks, roles, the forced PIN change and the lockout, on both runtimes."""

from support import TempDir, demo_master, raises

from core.pin import hash_pin
from firmware.config import DEFAULTS
from firmware.console.users import BACKOFF_S, FREE_TRIES, LoginError, Users
from hal.clock import ManualClock


def settings(force=False):
    return {
        "force_pin_change": force,
        "users": [
            {"name": "tech", "role": "technician", "pin": hash_pin("246810", iterations=10)},
            {"name": "view", "role": "read-only", "pin": hash_pin("135790", iterations=10)},
        ],
    }


def test_login_roles_and_managers_from_master_data():
    d = TempDir()
    try:
        users = Users(settings(), demo_master(), d.path, ManualClock())
        assert users.login("tech", "246810")["role"] == "technician"
        assert users.login("view", "135790")["role"] == "read-only"
        assert users.login("2", "2222")["role"] == "manager"  # Bernd Chef, master data
        # a cashier is no console user; unknown names and wrong PINs say the same
        e1 = raises(LoginError, users.login, "1", "1111")
        e2 = raises(LoginError, users.login, "nobody", "1111")
        assert str(e1).split("(")[0] == str(e2).split("(")[0]
    finally:
        d.cleanup()


def test_lockout_grows_and_survives_a_reboot():
    d = TempDir()
    clock = ManualClock()
    try:
        users = Users(settings(), None, d.path, clock)
        for _ in range(FREE_TRIES - 1):
            assert "tries" in str(raises(LoginError, users.login, "tech", "000001"))
        assert "locked for %d s" % BACKOFF_S in str(raises(LoginError, users.login, "tech", "000001"))
        # even the right PIN is refused while locked, also after a power cut
        users = Users(settings(), None, d.path, clock)
        assert "try again" in str(raises(LoginError, users.login, "tech", "246810"))
        clock.advance(BACKOFF_S * 1000)
        assert "locked for %d s" % (2 * BACKOFF_S) in str(raises(LoginError, users.login, "tech", "1"))
        clock.advance(2 * BACKOFF_S * 1000)
        assert users.login("tech", "246810")["name"] == "tech"
        assert users.failures == 0 and users.locked_for() == 0
        assert Users(settings(), None, d.path, clock).failures == 0
    finally:
        d.cleanup()


def test_factory_pin_must_be_changed_and_is_stored_hashed():
    d = TempDir()
    try:
        users = Users(settings(force=True), None, d.path, ManualClock())
        assert users.login("tech", "246810")["must_change"]
        raises(ValueError, users.change_pin, "tech", "246810", "12")  # too short
        raises(ValueError, users.change_pin, "tech", "246810", "111111")  # one digit
        raises(ValueError, users.change_pin, "tech", "246810", "246810")  # the same
        raises(LoginError, users.change_pin, "tech", "999999", "975310")  # wrong old PIN
        users.change_pin("tech", "246810", "975310")
        with open(d.path + "/users.json") as f:
            stored = f.read()
        assert "975310" not in stored and "pbkdf2-sha256$" in stored
        again = Users(settings(force=True), None, d.path, ManualClock())
        who = again.login("tech", "975310")
        assert not who["must_change"]
        raises(LoginError, again.login, "tech", "246810")
    finally:
        d.cleanup()


def test_factory_defaults_force_a_new_technician_pin():
    d = TempDir()
    try:
        users = Users(DEFAULTS["console"], None, d.path, ManualClock())
        assert users.login("technician", "000000") == {
            "name": "technician",
            "role": "technician",
            "must_change": True,
        }
    finally:
        d.cleanup()


def test_forget_returns_to_the_factory_users_and_clears_the_lockout():
    d = TempDir()
    clock = ManualClock()
    try:
        users = Users(settings(), None, d.path, clock)
        users.change_pin("tech", "246810", "975310")
        for _ in range(FREE_TRIES):
            raises(LoginError, users.login, "view", "000001")
        assert Users(settings(), None, d.path, clock).locked_for() > 0  # both stored
        users.forget()
        users = Users(settings(), None, d.path, clock)  # the next boot
        assert users.failures == 0 and users.locked_for() == 0
        assert users.login("tech", "246810")["role"] == "technician"  # the configured PIN again
        users.forget()  # nothing stored: nothing to do
    finally:
        d.cleanup()


def test_an_unknown_user_costs_what_a_wrong_pin_costs():
    import firmware.console.users as users_module
    import firmware.register.master as master_module

    d = TempDir()
    real = users_module.check_pin
    costs = []

    def counting(pin, stored):
        costs.append(int(stored.split("$")[1]))  # PBKDF2 iterations: the time a check takes
        return real(pin, stored)

    users_module.check_pin = master_module.check_pin = counting
    try:
        users = Users(settings(), demo_master(), d.path, ManualClock())
        # a console user's wrong PIN, an unknown name, a PIN in the name's place: one console hash;
        # a cashier (no console user) and a manager's wrong PIN: one operator hash
        for name, pin, cost in (
            ("tech", "999999", [10]),
            ("nobody", "999999", [10]),
            ("246810", "tech", [10]),
            ("1", "1111", [2000]),
            ("2", "9999", [2000]),
        ):
            del costs[:]
            raises(LoginError, users.login, name, pin)
            assert costs == cost, (name, costs)
    finally:
        users_module.check_pin = master_module.check_pin = real
        d.cleanup()


def test_a_pin_in_the_name_is_not_journaled():
    d = TempDir()
    try:
        users = Users(settings(), demo_master(), d.path, ManualClock())
        assert users.public_name("tech") == "tech" and users.public_name("2") == "2"  # known
        assert users.public_name("246810") == "***" and users.public_name("t3ch") == "***"
        assert users.public_name("nobody") == "nobody"
    finally:
        d.cleanup()
