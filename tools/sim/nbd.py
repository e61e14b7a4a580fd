"""NBD server (fixed newstyle, simple replies) for a block backend: the TSE card's link.

    server = NbdServer(backend, name="tse", host="127.0.0.1", port=10809)   # or unix_path=...
    server.start()            # accept loop in a thread, one thread per connection
    server.address            # 'nbd://127.0.0.1:10809/tse' or 'nbd+unix:///tse?socket=...'
    server.drop_all()         # cut every link (card pulled, power loss)
    server.close()

The backend has ``size``, ``read(offset, length)``, ``write(offset, data)``, ``flush()`` and
``accepting()``. An ``OSError`` from it becomes an NBD error reply with its errno; an exception
whose class is named in ``disconnect_on`` drops the connection. Options other than GO,
EXPORT_NAME, LIST and ABORT are answered "unsupported", so clients such as qemu fall back
to what is offered. The codec is ``tse_sd.nbd``, shared with the firmware's client.
Only loopback and Unix sockets are meant: there is no authentication.
"""

import os
import socket
import struct
import threading

from tse_sd import nbd


class NbdServer:
    def __init__(
        self,
        backend,
        name="tse",
        host="127.0.0.1",
        port=0,
        unix_path=None,
        disconnect_on=(),
        on_disconnect=None,
    ):
        self.backend = backend
        self.name = name
        self.disconnect_on = tuple(disconnect_on)
        self.on_disconnect = on_disconnect  # called with the exception after a forced drop
        self.unix_path = unix_path
        if unix_path:
            if os.path.exists(unix_path):
                os.unlink(unix_path)
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(unix_path)
            self.address = "nbd+unix:///%s?socket=%s" % (name, unix_path)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((host, port))
            self.host, self.port = self.sock.getsockname()
            self.address = "nbd://%s:%d/%s" % (self.host, self.port, name)
        self.sock.listen(8)
        self._conns = set()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._accept_loop, name="nbd-accept", daemon=True)
        self._thread.start()
        return self

    def _accept_loop(self):
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if not self.backend.accepting():
                conn.close()
                continue
            if conn.family == socket.AF_INET:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), name="nbd-conn", daemon=True).start()

    def drop_all(self):
        with self._lock:
            conns, self._conns = self._conns, set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
        except OSError:
            pass
        try:
            self.sock.close()
        finally:
            self.drop_all()
            if self._thread:
                self._thread.join(5)
            if self.unix_path and os.path.exists(self.unix_path):
                os.unlink(self.unix_path)

    # --- one connection ---------------------------------------------------------------

    def _serve(self, conn):
        try:
            if self._handshake(conn):
                self._transmission(conn)
        except (OSError, EOFError):
            pass
        except self.disconnect_on as e:
            self.drop_all()
            if self.on_disconnect:
                self.on_disconnect(e)
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    def _handshake(self, conn):
        conn.sendall(
            nbd.NBDMAGIC + nbd.IHAVEOPT + struct.pack(">H", nbd.FLAG_FIXED_NEWSTYLE | nbd.FLAG_NO_ZEROES)
        )
        client_flags = struct.unpack(">I", _recv(conn, 4))[0]
        no_zeroes = client_flags & nbd.FLAG_NO_ZEROES
        flags = nbd.TFLAG_HAS_FLAGS | nbd.TFLAG_SEND_FLUSH
        while True:
            magic = _recv(conn, 8)
            if magic != nbd.IHAVEOPT:
                return False
            option, length = struct.unpack(">II", _recv(conn, 8))
            if length > 4096:
                return False
            data = _recv(conn, length)
            if option == nbd.OPT_EXPORT_NAME:
                if data.decode(errors="replace") != self.name:
                    return False  # the protocol's only answer to an unknown name here: hang up
                conn.sendall(
                    struct.pack(">QH", self.backend.size, flags) + (b"" if no_zeroes else bytes(124))
                )
                return True
            if option == nbd.OPT_GO:
                n = struct.unpack(">I", data[:4])[0] if len(data) >= 4 else -1
                if n < 0 or len(data) < 6 + n:
                    conn.sendall(nbd.encode_option_reply(option, nbd.REP_ERR_INVALID))
                    continue
                if data[4 : 4 + n].decode(errors="replace") != self.name:
                    conn.sendall(nbd.encode_option_reply(option, nbd.REP_ERR_UNKNOWN))
                    continue
                info = struct.pack(">HQH", nbd.INFO_EXPORT, self.backend.size, flags)
                conn.sendall(
                    nbd.encode_option_reply(option, nbd.REP_INFO, info)
                    + nbd.encode_option_reply(option, nbd.REP_ACK)
                )
                return True
            if option == nbd.OPT_LIST:
                raw = self.name.encode()
                conn.sendall(
                    nbd.encode_option_reply(option, nbd.REP_SERVER, struct.pack(">I", len(raw)) + raw)
                    + nbd.encode_option_reply(option, nbd.REP_ACK)
                )
            elif option == nbd.OPT_ABORT:
                conn.sendall(nbd.encode_option_reply(option, nbd.REP_ACK))
                return False
            else:
                conn.sendall(nbd.encode_option_reply(option, nbd.REP_ERR_UNSUP))

    def _transmission(self, conn):
        backend = self.backend
        while True:
            _, kind, cookie, offset, length = nbd.decode_request(_recv(conn, 28))
            if kind == nbd.CMD_DISC:
                return
            data = _recv(conn, length) if kind == nbd.CMD_WRITE else None
            error, payload = 0, b""
            if kind in (nbd.CMD_READ, nbd.CMD_WRITE) and (
                offset + length > backend.size or length > 32 << 20
            ):
                error = nbd.EINVAL
            else:
                try:
                    if kind == nbd.CMD_READ:
                        payload = backend.read(offset, length)
                    elif kind == nbd.CMD_WRITE:
                        backend.write(offset, data)
                    elif kind == nbd.CMD_FLUSH:
                        backend.flush()
                    else:
                        error = nbd.EINVAL
                except OSError as e:
                    error = e.errno or nbd.EIO
            conn.sendall(nbd.encode_reply(error, cookie) + (payload if not error else b""))


def _recv(conn, n):
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = conn.recv_into(view[got:], n - got)
        if not k:
            raise EOFError("connection closed")
        got += k
    return bytes(buf)
