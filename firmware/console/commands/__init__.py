"""The service console's commands (device code): who may run them and what they do.

Each handler is ``async def handler(con, args)`` and returns the reply text, or ``(text,
data)`` where ``data`` is what ``mode json`` sends. It raises ``UsageError`` for wrong
arguments and any ``EcrError``/``ValueError`` for a refusal; either way nothing has changed.
``COMMANDS`` rows: ``(name, roles, handler, usage, help, flags)``; ``roles`` empty means
"also before login"; flags: ``journal`` (privileged: journaled before it runs), ``cancel``
(Ctrl-C may stop it).
"""

from core.errors import ConfigError
from firmware import config as configuration
from firmware.console.commands.base import ANY, MANAGER, STAFF, TECH, UsageError  # noqa: F401
from firmware.console.commands.devices import (
    cmd_test_card,
    cmd_test_display,
    cmd_test_drawer,
    cmd_test_print,
    cmd_test_scan,
)
from firmware.console.commands.payment import cmd_payment_close, cmd_payment_zvt
from firmware.console.commands.records import (
    cmd_export_dsfinvk,
    cmd_export_tar,
    cmd_journal_stats,
    cmd_journal_verify,
)
from firmware.console.commands.reports import cmd_close, cmd_log_tail, cmd_report_x
from firmware.console.commands.session import cmd_help, cmd_logout, cmd_passwd
from firmware.console.commands.settings import cmd_config_get, cmd_config_set, cmd_config_show
from firmware.console.commands.status import cmd_date, cmd_date_set, cmd_status
from firmware.console.commands.store import (
    cmd_store_backup,
    cmd_store_enrol,
    cmd_store_restore,
    cmd_store_status,
    cmd_store_sync,
)
from firmware.console.commands.terminal import cmd_backup, cmd_factory_reset, cmd_reboot, cmd_restore
from firmware.console.commands.tse import (
    cmd_tse_clients,
    cmd_tse_decommission,
    cmd_tse_export,
    cmd_tse_register,
    cmd_tse_selftest,
    cmd_tse_setup,
    cmd_tse_timesync,
    cmd_tse_unblock,
)

COMMANDS = (
    ("help", (), cmd_help, "help [command]", "what you may run here", ()),
    ("logout", ANY, cmd_logout, "logout", "end the session", ()),
    (
        "passwd",
        TECH + ("read-only",),
        cmd_passwd,
        "passwd <PIN> <new PIN>",
        "change your console PIN",
        ("journal",),
    ),
    ("status", ANY, cmd_status, "status", "firmware, time, storage, journal, TSE, sale", ()),
    (
        "date set",
        TECH,
        cmd_date_set,
        "date set <YYYY-MM-DDThh:mm:ssZ>",
        "set the clock (and the TSE's)",
        ("journal",),
    ),
    ("date", ANY, cmd_date, "date", "the terminal's time", ()),
    ("tse setup", TECH, cmd_tse_setup, "tse setup", "take a new TSE card into service", ("journal",)),
    ("tse selftest", TECH, cmd_tse_selftest, "tse selftest", "run the TSE self-test", ("journal",)),
    ("tse timesync", TECH, cmd_tse_timesync, "tse timesync", "set the TSE's time", ("journal",)),
    ("tse clients", TECH, cmd_tse_clients, "tse clients", "the registered client ids", ()),
    (
        "tse register-client",
        TECH,
        cmd_tse_register,
        "tse register-client <id>",
        "register a client id",
        ("journal",),
    ),
    ("tse export", TECH, cmd_tse_export, "tse export", "export the TSE's new logs to storage", ("journal",)),
    (
        "tse unblock",
        TECH,
        cmd_tse_unblock,
        "tse unblock <admin|time-admin>",
        "unblock a PIN with the PUK",
        ("journal",),
    ),
    (
        "tse decommission",
        TECH,
        cmd_tse_decommission,
        "tse decommission <last 8 of serial>",
        "export, then take the TSE out of service for good",
        ("journal",),
    ),
    ("journal stats", ANY, cmd_journal_stats, "journal stats", "records and periods", ()),
    ("journal verify", STAFF, cmd_journal_verify, "journal verify", "check the hash chain", ("cancel",)),
    (
        "export dsfinvk",
        TECH,
        cmd_export_dsfinvk,
        "export dsfinvk [Z first [Z last]]",
        "DSFinV-K ZIP of closed periods to storage",
        ("journal", "cancel"),
    ),
    ("export tar", TECH, cmd_export_tar, "export tar", "full TSE TAR export to storage", ("journal",)),
    ("config show", ANY, cmd_config_show, "config show", "the configuration (secrets masked)", ()),
    ("config get", ANY, cmd_config_get, "config get <key>", "one setting", ()),
    (
        "config set",
        TECH,
        cmd_config_set,
        "config set <key> <value>",
        "change a setting (checked, saved)",
        ("journal",),
    ),
    ("log tail", ANY, cmd_log_tail, "log tail [lines]", "the last log lines", ()),
    ("report x", STAFF, cmd_report_x, "report x", "X report of the open period", ()),
    ("close", MANAGER, cmd_close, "close <counted cash>", "Z closing with the counted cash", ("journal",)),
    (
        "payment close",
        STAFF,
        cmd_payment_close,
        "payment close",
        "card terminal end of day with the acquirer",
        ("journal",),
    ),
    (
        "payment zvt",
        STAFF,
        cmd_payment_zvt,
        "payment zvt <status|eod|diagnosis>",
        "the external ZVT terminal: status, end of day, diagnosis",
        ("journal",),
    ),
    ("test print", TECH, cmd_test_print, "test print", "print a test page", ("journal",)),
    ("test drawer", TECH, cmd_test_drawer, "test drawer", "open the cash drawer", ("journal",)),
    (
        "test display",
        TECH,
        cmd_test_display,
        "test display",
        "test pattern on the customer display",
        ("journal",),
    ),
    ("test scan", TECH, cmd_test_scan, "test scan", "the last scanned code", ()),
    ("test card", TECH, cmd_test_card, "test card [contactless]", "the card reader's ATR", ("journal",)),
    ("reboot", TECH, cmd_reboot, "reboot", "restart the firmware", ("journal",)),
    (
        "factory-reset",
        TECH,
        cmd_factory_reset,
        "factory-reset <register serial>",
        "settings and users to factory",
        ("journal",),
    ),
    ("backup", TECH, cmd_backup, "backup", "settings and master data to storage", ("journal",)),
    (
        "store status",
        ANY,
        cmd_store_status,
        "store status",
        "the store server: link, journal, master data",
        (),
    ),
    (
        "store enrol",
        TECH,
        cmd_store_enrol,
        "store enrol <host:port> <code>",
        "enrol at the store server with the back office's code",
        ("journal",),
    ),
    ("store sync", TECH, cmd_store_sync, "store sync", "send the journal to the store server now", ()),
    (
        "store backup",
        TECH,
        cmd_store_backup,
        "store backup",
        "settings, master data, console users, TSE exports to the store server",
        ("journal",),
    ),
    (
        "store restore",
        TECH,
        cmd_store_restore,
        "store restore <old serial>",
        "a replacement terminal: the old register's settings, master data, users from the server",
        ("journal",),
    ),
    (
        "restore",
        TECH,
        cmd_restore,
        "restore <file> [new serial]",
        "settings and master data from a backup",
        ("journal",),
    ),
)


def find(words):
    """The row for a command line: two-word commands first (``tse export``), then one-word."""
    if len(words) > 1:
        two = words[0] + " " + words[1]
        for row in COMMANDS:
            if row[0] == two:
                return row
    for row in COMMANDS:
        if row[0] == words[0]:
            return row
    return None


SECRET_ARGS = {"passwd": (1, 2), "login": (2,)}


def public(words):
    """The command line as it may be journaled and logged: PINs and secret settings masked."""
    hide = SECRET_ARGS.get(words[0], ())
    if words[:2] == ["store", "enrol"]:
        hide = (3,)  # the enrolment code
    if words[:2] == ["config", "set"] and len(words) > 3:
        try:
            if configuration.field_at(words[2]).secret:
                hide = (3,)
        except ConfigError:
            pass
    return " ".join("***" if i in hide else w for i, w in enumerate(words))
