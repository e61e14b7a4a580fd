"""A private PostgreSQL cluster for the store server (host code): Debian's PostgreSQL 15, its
data, socket and password under one folder (``out/sim/store/pg`` for ``make sim``).

    cluster = Cluster("out/sim/store/pg").start()    # initdb the first time, then pg_ctl start
    cluster.dsn("store")                             # libpq connection string (Unix socket)
    cluster.stop()

The cluster listens on its own Unix socket and on 127.0.0.1 (a free port, or ``port``), with
SCRAM-SHA-256 passwords for every connection: the superuser ``store`` and a password made at
``initdb``, kept in ``<folder>/password`` (mode 0600). PostgreSQL refuses to run as root, so
as root the programs run as the ``postgres`` user (the folder is given to it, and the folders
above it get the others' search bit if they lack it); as anyone else they run as that user.
Starting is idempotent: a running cluster is used as it is; a cluster left by a killed run
(stale ``postmaster.pid``) is started again by ``pg_ctl``.
"""

import glob
import os
import pwd
import secrets
import socket
import stat
import subprocess
import tempfile
import time

USER = "store"
DATABASE = "store"


def _bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (Debian package postgresql: make setup)")
    return os.path.dirname(found[-1])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, folder, port=0):
        self.folder = os.path.abspath(folder)
        self.data = os.path.join(self.folder, "data")
        self.port = port
        self.bin = _bindir()
        self._as = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        # A Unix socket path is at most 107 bytes: a long folder gets a short one in /tmp.
        sock = os.path.join(self.folder, "run")
        self.socket_dir = sock if len(sock) < 80 else None

    def _run(self, *argv, check=True):
        cmd = [os.path.join(self.bin, argv[0])] + list(argv[1:])
        if self._as is not None:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        return subprocess.run(cmd, check=check, capture_output=True, text=True, cwd="/")

    def _own(self, path):
        if self._as is not None:
            os.chown(path, self._as.pw_uid, self._as.pw_gid)

    @property
    def password(self):
        with open(os.path.join(self.folder, "password")) as f:
            return f.read().strip()

    def _settings_path(self):
        return os.path.join(self.folder, "settings")

    def _reachable(self):
        """As root, the ``postgres`` user must be able to walk down to the folder: parents
        without the others' search bit (a 0700 temporary folder) get it (search only, no read)."""
        if self._as is None:
            return
        path = os.path.dirname(self.folder)
        while path not in ("/", ""):
            mode = os.stat(path).st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(path, mode | stat.S_IXOTH)
            path = os.path.dirname(path)

    def _initdb(self):
        os.makedirs(self.folder, exist_ok=True)
        self._reachable()
        self._own(self.folder)
        pw = os.path.join(self.folder, "password")
        with open(pw, "w") as f:
            f.write(secrets.token_urlsafe(24) + "\n")
        os.chmod(pw, 0o600)
        self._own(pw)
        try:
            self._run(
                "initdb",
                "-D",
                self.data,
                "-U",
                USER,
                "-A",
                "scram-sha-256",
                "--pwfile",
                pw,
                "-E",
                "UTF8",
                "--locale",
                "C.UTF-8",
            )
        except subprocess.CalledProcessError as e:
            raise RuntimeError("initdb failed: %s" % (e.stderr or e.stdout).strip()) from e

    def running(self):
        return self._run("pg_ctl", "status", "-D", self.data, check=False).returncode == 0

    def start(self, timeout=30):
        if not os.path.exists(os.path.join(self.data, "PG_VERSION")):
            self._initdb()
        if self.running():
            with open(self._settings_path()) as f:
                self.port, self.socket_dir = f.read().split("\n")[:2]
                self.port = int(self.port)
            return self
        if self.socket_dir is None:
            self.socket_dir = tempfile.mkdtemp(prefix="smartecr-pg-")
        os.makedirs(self.socket_dir, exist_ok=True)
        self._own(self.socket_dir)
        self.port = self.port or free_port()
        options = "-k %s -c listen_addresses=127.0.0.1 -p %d -c fsync=on" % (self.socket_dir, self.port)
        log = os.path.join(self.folder, "postgresql.log")
        if not os.path.exists(log):
            open(log, "w").close()
            self._own(log)
        result = self._run(
            "pg_ctl",
            "start",
            "-D",
            self.data,
            "-l",
            log,
            "-o",
            options,
            "-w",
            "-t",
            str(timeout),
            check=False,
        )
        if result.returncode != 0:
            with open(log) as f:
                tail = f.read()[-2000:]
            raise RuntimeError("PostgreSQL did not start: %s %s" % (result.stderr.strip(), tail))
        with open(self._settings_path(), "w") as f:
            f.write("%d\n%s\n" % (self.port, self.socket_dir))
        self._database()
        return self

    def _database(self):
        import psycopg

        deadline = time.monotonic() + 10
        while True:
            try:
                with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
                    if not conn.execute(
                        "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
                    ).fetchone():
                        conn.execute("CREATE DATABASE " + DATABASE)
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def dsn(self, database=DATABASE):
        return "host=%s port=%d dbname=%s user=%s password=%s" % (
            self.socket_dir,
            self.port,
            database,
            USER,
            self.password,
        )

    def tcp_dsn(self, database=DATABASE):
        return "host=127.0.0.1 port=%d dbname=%s user=%s password=%s" % (
            self.port,
            database,
            USER,
            self.password,
        )

    def stop(self):
        if os.path.exists(os.path.join(self.data, "PG_VERSION")) and self.running():
            self._run("pg_ctl", "stop", "-D", self.data, "-m", "fast", "-w", check=False)
