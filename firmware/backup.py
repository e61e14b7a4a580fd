"""Backups of a terminal's settings and master data, and putting one back (device code).

    path, master, settings = make(data_dir, master_source, now)   # <data_dir>/backup/backup-<time>.json
    data, master = read(data_dir, "backup-20261201T193206.json", config)   # checked whole
    settings = install(data_dir, data)                      # takes effect at the next boot
    reset(data_dir)                                         # factory state: the settings go

The format (``smartecr-backup-1``): ``{"format", "made", "settings": {key: value},
"master": {...}, "console_users": [{"name", "role", "pin", "changed"}]}`` (the users only
as PBKDF2 hashes; older backups have none, and putting one of those back keeps the users).
TSE PINs and other secret settings never leave the terminal: a backup has
none, and putting one back keeps the terminal's own. A backup is checked whole before anything
is written (its master data against the limits of the outputs, its settings against the
schema); the rules of *when* one may be put back (a closing first, the serial procedure) are
the console's ``restore`` (firmware/console/commands/terminal.py). Journal, exports and TSE are
tax records and are never part of this.
"""

import json
import os

from core.calendar import iso8601
from core.errors import ConfigError
from core.storage import exists, makedirs, read_json, write_atomic
from firmware import config as configuration
from firmware.console.users import ROLES as USER_ROLES
from firmware.register.master import MasterData

FORMAT = "smartecr-backup-1"
USERS = "/console/users.json"  # firmware.console.users: the console users once a PIN changed


def folder(data_dir):
    return data_dir + "/backup"


def contents(data_dir, master_source, now):
    """What a backup holds: the master data in use, the settings changed on the terminal
    (without secrets) and the console users (PIN hashes only)."""
    with open(master_source) as f:
        master = json.load(f)
    settings = {}
    for key, value in configuration.load_settings(data_dir).items():
        if not configuration.field_at(key).secret:  # TSE PINs never leave the terminal
            settings[key] = value
    users = []
    for name, user in (read_json(data_dir + USERS) or {}).items():
        users.append({"name": name, "role": user["role"], "pin": user["pin"], "changed": user["changed"]})
    return {
        "format": FORMAT,
        "made": iso8601(now),
        "settings": settings,
        "master": master,
        "console_users": users,
    }


def make(data_dir, master_source, now):
    """Write a backup (``contents``) into the backup folder; ``(path, master data dict,
    settings dict)``."""
    data = contents(data_dir, master_source, now)
    makedirs(folder(data_dir))
    path = "%s/backup-%s.json" % (folder(data_dir), iso8601(now)[:19].replace("-", "").replace(":", ""))
    write_atomic(path, json.dumps(data))
    return path, data["master"], data["settings"]


def keep(data_dir, data, now):
    """Write a backup made elsewhere (the store server's) into the backup folder: its name."""
    makedirs(folder(data_dir))
    name = "backup-%s-store.json" % iso8601(now)[:19].replace("-", "").replace(":", "")
    write_atomic(folder(data_dir) + "/" + name, json.dumps(data))
    return name


def read(data_dir, name, config):
    """The backup ``name`` (a file in the backup folder) read and checked whole:
    ``(data, MasterData)``; ``ValueError``/``ConfigError`` naming it and the entry otherwise."""
    if "/" in name:
        raise ValueError("name a file in %s" % folder(data_dir))
    try:
        with open(folder(data_dir) + "/" + name) as f:
            text = f.read()
    except OSError:
        raise ValueError("no backup %s" % name)
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("%s is not a smartECR backup" % name)
    try:
        master = MasterData.from_dict(data.get("master"))
    except ConfigError as e:
        raise ConfigError("%s: master%s" % (name, ("." + e.path) if e.path else ""), e.detail)
    if not isinstance(data.get("settings"), dict):
        raise ValueError("%s has no settings" % name)
    for i, user in enumerate(data.get("console_users", [])):
        keys = ("name", "role", "pin")
        if not isinstance(user, dict) or not all(isinstance(user.get(k), str) for k in keys):
            raise ValueError("%s: console_users[%d] needs name, role and pin" % (name, i))
        if user["role"] not in USER_ROLES:
            raise ValueError("%s: console_users[%d].role %r" % (name, i, user["role"]))
    try:
        configuration.with_settings(config, data["settings"])
    except ConfigError as e:
        raise ConfigError("%s: settings.%s" % (name, e.path), e.detail)
    return data, master


def install(data_dir, data):
    """Put a checked backup's master data and settings in place for the next boot; the
    terminal's secret settings stay. Returns the settings written."""
    settings = dict(data["settings"])
    for key, value in configuration.load_settings(data_dir).items():
        if configuration.field_at(key).secret:
            settings[key] = value
    write_atomic(configuration.restored_master_path(data_dir), json.dumps(data["master"]))
    write_atomic(configuration.settings_path(data_dir), json.dumps(settings))
    users = data.get("console_users")
    if users:
        stored = {}
        for u in users:
            stored[u["name"]] = {"role": u["role"], "pin": u["pin"], "changed": bool(u.get("changed"))}
        makedirs(data_dir + "/console")
        write_atomic(data_dir + USERS, json.dumps(stored))
    return settings


def reset(data_dir):
    """The settings changed on the terminal go: the configuration file's apply again."""
    path = configuration.settings_path(data_dir)
    if exists(path):
        os.remove(path)
