"""The store server's fixtures: one private PostgreSQL cluster for the whole run (started as
``make sim`` starts its own: storeserver/cluster.py), a fresh database for each module that
asks for a store server."""

import itertools
import shutil
import tempfile

import psycopg
import pytest

from storeserver.app import StoreServer
from storeserver.cluster import Cluster

_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def pg():
    # Not under pytest's temporary folder: as root the cluster runs as the postgres user, who
    # must reach its folder, and pytest keeps its own folders to their owner (0700).
    folder = tempfile.mkdtemp(prefix="smartecr-test-pg-")
    cluster = Cluster(folder).start()
    yield cluster
    cluster.stop()
    shutil.rmtree(folder, ignore_errors=True)


def fresh_database(pg):
    name = "test_%d" % next(_numbers)
    with psycopg.connect(pg.dsn("postgres"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS %s" % name)
        conn.execute("CREATE DATABASE %s" % name)
    return pg.dsn(name)


@pytest.fixture(scope="session")
def new_database(pg):
    """Makes a fresh database on the run's cluster: its connection string."""
    return lambda: fresh_database(pg)


@pytest.fixture(scope="module")
def store(pg):
    """A store server on a database of its own (``store.dsn``), stopped after the module."""
    server = StoreServer(fresh_database(pg)).start()
    yield server
    server.stop()
