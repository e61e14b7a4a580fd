"""The receipt server on its own: an unknown register or token is refused and stores nothing; a
retry with the same bytes is taken, other bytes under the same id are a conflict; ids that are
not 22 base64url characters never reach the disk; a client over its rate gets 429; receipts are
deleted after the retention time, and an account's listing forgets them too."""

import json
import os
import socket
import time
import urllib.error
import urllib.request

import pytest

from tools.receipts.server import ReceiptServer

RID = "AbCdEfGhIjKlMnOpQrStUv"


@pytest.fixture
def server(tmp_path):
    s = ReceiptServer(str(tmp_path / "rs"), tokens={"KASSE-1": "t0ken"}, retention_days=1, rate=30).start()
    yield s
    s.stop()


def _call(server, method, path, data=None, headers=None):
    req = urllib.request.Request(
        "http://127.0.0.1:%d%s" % (server.port, path), data=data, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


AUTH = {"Authorization": "Bearer t0ken", "X-Register": "KASSE-1"}


def test_registers_ids_retries_and_conflicts(server):
    assert (
        _call(
            server,
            "PUT",
            "/api/receipts/" + RID,
            b"sealed",
            {"Authorization": "Bearer nope", "X-Register": "KASSE-1"},
        )[0]
        == 401
    )
    assert _call(server, "PUT", "/api/receipts/" + RID, b"sealed", {"X-Register": "KASSE-2"})[0] == 401
    assert _call(server, "GET", "/api/receipts/" + RID)[0] == 404  # nothing was stored
    assert _call(server, "PUT", "/api/receipts/" + RID, b"sealed", AUTH)[0] == 201
    assert _call(server, "PUT", "/api/receipts/" + RID, b"sealed", AUTH)[0] == 200  # the retry
    assert _call(server, "PUT", "/api/receipts/" + RID, b"other", AUTH)[0] == 409
    assert _call(server, "GET", "/api/receipts/" + RID) == (200, b"sealed")
    for bad in ("short", "../../etc/passwd", "A" * 23, "A" * 21 + "!"):
        assert _call(server, "GET", "/api/receipts/" + bad)[0] == 404
    assert set(os.listdir(os.path.join(server.folder, "store"))) == {RID + ".bin", RID + ".json"}
    assert _call(server, "GET", "/r/" + RID)[0] == 200 and _call(server, "GET", "/r/nope")[0] == 404


def test_the_rate_limit_and_the_retention_time(server):
    account = {"X-Account": "acct-0123456789abcdef", "X-Wrapped-Key": "d3JhcHBlZA"}
    assert _call(server, "PUT", "/api/receipts/" + RID, b"x", dict(AUTH, **account))[0] == 201
    listing = "/api/accounts/acct-0123456789abcdef/receipts"
    assert [e["id"] for e in json.loads(_call(server, "GET", listing)[1])] == [RID]
    assert server.expire(time.time() + 3600) == 0  # younger than a day: kept
    assert server.expire(time.time() + 2 * 86400) == 1
    assert _call(server, "GET", "/api/receipts/" + RID)[0] == 404
    assert json.loads(_call(server, "GET", listing)[1]) == []
    codes = [_call(server, "GET", "/api/receipts/" + RID)[0] for _ in range(40)]
    assert 429 in codes and codes.index(429) >= 20  # the rest of the minute's 30 first
    assert any(line["status"] == 429 for line in server.requests())


def test_a_body_in_several_segments_is_stored_whole(server):
    """A slow link (the QEMU guest's) delivers the PUT in pieces: the server stores all of it."""
    blob = bytes(range(256)) * 8
    head = (
        "PUT /api/receipts/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0ken\r\n"
        "X-Register: KASSE-1\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (RID, len(blob))
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(head.encode() + blob[:100])
        time.sleep(0.3)  # the rest after a pause: a second segment
        s.sendall(blob[100:])
        answer = b""
        while chunk := s.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 201"), answer
    assert _call(server, "GET", "/api/receipts/" + RID) == (200, blob)
    assert _call(server, "PUT", "/api/receipts/" + "B" * 22, b"", AUTH)[0] == 413  # an empty body
