"""The terminal's HTTPS to the store server, on both runtimes (CPython's ``ssl``, MicroPython's
``tls`` on mbedTLS): the server's certificate checked against the CA the terminal was given
(``store.ca``); a server whose certificate another CA signed is refused before a byte of the
request goes out, and the server sees no push."""

import json
import subprocess
import sys

import pytest

from storeserver.app import StoreServer
from tools import upy
from tools.sim.certs import sim_tls

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
