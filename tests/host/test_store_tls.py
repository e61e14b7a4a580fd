"""The terminal's HTTPS to the store server, on both runtimes (CPython's ``ssl``, MicroPython's
``tls`` on mbedTLS): the server's certificate checked against the CA the terminal was given
(``store.ca``); a server whose certificate another CA signed is refused before a byte of the
request goes out, and the server sees no push. The running firmware pushes its journal over
HTTPS, and a TLS request outlives asyncio's poller growing under it (the unix port's
modselect bug that ``hal.http.PolledTls`` steps around)."""

import asyncio
import json
import subprocess
import sys

import psycopg
import pytest
from aiohttp import web

from storeserver.api import enrol, new_code
from storeserver.app import StoreServer
from tools import upy
from tools.sim import until
from tools.sim.certs import sim_tls, tls_context
from tools.sim.launch import Simulator
from tools.threaded import AppThread

PROBE = """
import asyncio, sys
sys.path.insert(0, %(root)r)
from hal import platform
from hal.http import request
async def main():
    out = []
    for ca in (%(good)r, %(bad)r):
        ctx = platform.tls_client(platform.read_certificate(ca))
        try:
            status, body = await request("127.0.0.1", %(port)d, "GET", "/api/v1/head", None, 5000,
                                         {"X-Register": "NOBODY"}, tls=ctx)
            out.append([status, body])
        except Exception as e:
            out.append(["refused", type(e).__name__])
    print("RESULT " + __import__("json").dumps(out))
asyncio.run(main())
"""


@pytest.fixture(scope="module")
def https(new_database, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    ca, cert, key = sim_tls(str(folder / "ours"))
    other, _, _ = sim_tls(str(folder / "other"))
    server = StoreServer(new_database(), tls=(cert, key)).start()
    yield server, ca, other, folder
    server.stop()


@pytest.mark.parametrize("runtime", ("cpython", "micropython"))
def test_the_server_is_checked_against_the_terminals_ca(https, runtime):
    server, ca, other, folder = https
    assert server.url.startswith("https://")
    script = folder / ("probe-%s.py" % runtime)
    script.write_text(PROBE % {"root": str(upy.ROOT), "good": ca, "bad": other, "port": server.port})
    argv = upy.command([str(script)]) if runtime == "micropython" else [sys.executable, str(script)]
    proc = subprocess.run(argv, cwd=upy.ROOT, env=upy.env(), capture_output=True, text=True, timeout=60)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, proc.stdout + proc.stderr
    good, bad = json.loads(lines[0][7:])
    assert good == [401, {"error": "unknown register or wrong token"}]  # the server answered, over TLS
    assert bad[0] == "refused"  # another CA's certificate: no connection


GROWTH = """
import asyncio, sys
sys.path.insert(0, %(root)r)
from hal import platform
from hal.http import request
async def crowd():
    # 40 plain connections at once: each waits in asyncio's poller, whose table grows
    return await asyncio.gather(*[request("127.0.0.1", %(plain)d, "GET", "/hold") for _ in range(40)])
async def main():
    ctx = platform.tls_client(platform.read_certificate(%(ca)r))
    out = []
    for _ in range(3):
        crowding = asyncio.create_task(crowd())
        out.append(list(await request("127.0.0.1", %(tls)d, "GET", "/slow", tls=ctx)))
        out.append(len([a for a in await crowding if a[0] == 200]))
    print("RESULT " + __import__("json").dumps(out))
asyncio.run(main())
"""


def _slow_app(delay):
    async def answer(request):
        await asyncio.sleep(delay)
        return web.json_response({"waited": delay})

    app = web.Application()
    app.router.add_get("/slow", answer)
    app.router.add_get("/hold", answer)
    return app


def test_a_tls_request_outlives_the_poller_growing_under_it(tmp_path):
    """The TLS request waits 0.3 s for its answer while 40 plain requests enter and leave
    asyncio's poller (its table grows past its first allocation): with the TLS socket in that
    poller the unix port dies of SIGSEGV; ours answers every time."""
    ca, cert, key = sim_tls(str(tmp_path / "tls"))
    secure = AppThread("slow-tls", lambda: _slow_app(0.3), ssl_context=tls_context(cert, key)).start()
    plain = AppThread("slow-plain", lambda: _slow_app(0.1)).start()
    try:
        script = tmp_path / "growth.py"
        script.write_text(GROWTH % {"root": str(upy.ROOT), "ca": ca, "tls": secure.port, "plain": plain.port})
        argv = upy.command([str(script)])
        proc = subprocess.run(argv, cwd=upy.ROOT, env=upy.env(), capture_output=True, text=True, timeout=120)
    finally:
        secure.stop()
        plain.stop()
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert json.loads(lines[0][7:]) == [[200, {"waited": 0.3}], 40] * 3


@pytest.mark.parametrize("runtime", ("cpython", "micropython"))
def test_the_firmware_pushes_its_journal_over_https(https, runtime):
    server, ca, _, folder = https
    serial = "SMARTECR-TLS-" + runtime[:2].upper()

    async def enrolled(store):
        return await enrol(store.pool, serial, await new_code(store.pool, serial))

    token = server.call(enrolled)
    sim = Simulator(str(folder / runtime), runtime, serial=serial, store=(server.port, token, ca)).start()
    try:
        for _ in range(3):
            sim.operator(op="plu", code="1001")
            assert sim.operator(op="cash")["ok"]
        held = len(sim.journal())

        def head():
            with psycopg.connect(server.dsn) as conn:
                row = conn.execute("SELECT head_seq FROM registers WHERE serial = %s", (serial,)).fetchone()
                return row[0]

        assert until(lambda: head() >= held, 30)  # every record went over TLS
        assert head() == held
        assert sim.proc.poll() is None  # and the firmware still runs
    finally:
        sim.stop()
