"""A deadline for a whole answer: when it passes, the socket is shut, so a blocked read ends too."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.response import HTTPResponse

_local = threading.local()


class Deadline:
    """The time by which one answer (status, headers and body) must have arrived.

    Socket timeouts only bound each read, so a server sending a byte a second never trips
    them. Instead the watchdog thread shuts the connection's socket when the time is up:
    whatever read is under way, even inside C or TLS, then ends and reports `expired`.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._conn: _Conn | _TLSConn | None = None
        self._sending = False
        self._over = False
        self._lock = threading.Lock()
        _watchdog.arm(self)

    def left(self) -> float:
        return max(0.0, self.at - time.monotonic())

    @contextmanager
    def sending(self) -> Iterator[None]:
        """Connections taken from the pool in this thread meanwhile are under this deadline."""
        before = getattr(_local, "deadline", None)
        _local.deadline, self._sending = self, True
        try:
            yield
        finally:
            _local.deadline, self._sending = before, False

    def cancel(self) -> None:
        with self._lock:
            self._over, self._conn = True, None
        _watchdog.disarm(self)

    def _own(self, conn: _Conn | _TLSConn) -> None:
        with self._lock:
            if self._over:
                return
            self._conn, conn.deadline = conn, self

    def _release(self, conn: _Conn | _TLSConn) -> None:
        conn.deadline = None
        with self._lock:
            if self._conn is conn:
                self._conn = None
        # Back in the pool while the answer is being read means the body is complete (or was
        # abandoned); during sending it is a redirect, and the next request takes over.
        if not self._sending:
            self.cancel()

    def _fire(self) -> None:
        with self._lock:
            if self._over:
                return
            self.expired = True
            conn = self._conn
        if conn is not None:
            _shut(conn.sock)
            _shut(conn.answer_sock)


def _shut(sock: socket.socket | None) -> None:
    if sock is not None:
        # socket.socket's own shutdown: SSLSocket's would drop its TLS state under a reader.
        with contextlib.suppress(OSError):  # already closed
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread for every deadline of the process, woken for the earliest."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: set[Deadline] = set()
        self._thread: threading.Thread | None = None
        # When the thread wakes up next by itself (None: not before it is notified).
        self._wake: float | None = None

    def arm(self, deadline: Deadline) -> None:
        with self._cond:
            self._armed.add(deadline)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="deadline", daemon=True)
                self._thread.start()
            # Deadlines of one timeout come in time order: a later one than the thread waits
            # for needs no wake-up (two thread switches per request, at -j 32 most of them).
            if self._wake is None or deadline.at < self._wake:
                self._wake = deadline.at
                self._cond.notify()

    def disarm(self, deadline: Deadline) -> None:
        with self._cond:
            self._armed.discard(deadline)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = [d for d in self._armed if d.at <= now]
                self._armed.difference_update(due)
                if not due:
                    self._wake = min((d.at for d in self._armed), default=None)
                    self._cond.wait(None if self._wake is None else self._wake - now)
                    continue
            for deadline in due:
                deadline._fire()


_watchdog = _Watchdog()


_SMALL_BODY = 64 * 1024  # a request body up to this size goes out with its headers


class _OneSend:
    """A request on an open connection with a small body sends headers and body in one send:
    one system call (and one TLS record) instead of two, and two fewer hand-offs of the GIL
    in a busy batch. urllib3 sends its headers, then each piece of the body."""

    _hold = False
    _held: bytes | None = None

    def request(self, method: str, url: str, body: Any = None, *args: Any, **kw: Any) -> None:
        # Only on an open connection: opening one may send a proxy's CONNECT first.
        self._hold = (
            isinstance(body, bytes)
            and 0 < len(body) <= _SMALL_BODY
            and getattr(self, "sock", None) is not None
        )
        try:
            super().request(method, url, body, *args, **kw)  # type: ignore[misc]
        finally:  # after an error, headers still held are dropped with the connection
            self._hold = False
            held, self._held = self._held, None
        if held is not None:  # no body came after all
            super().send(held)  # type: ignore[misc]

    def send(self, data: Any) -> None:
        if self._hold and isinstance(data, bytes):
            self._hold, self._held = False, data  # the headers: held for the body
            return
        held, self._held = self._held, None
        if held is not None:
            if isinstance(data, bytes | bytearray | memoryview):
                data = held + bytes(data)
            else:
                super().send(held)  # type: ignore[misc]
        super().send(data)  # type: ignore[misc]


class _Socket(socket.socket):
    """A socket whose blocking mode is set only when it changes: CPython's settimeout() makes
    a system call (and drops the GIL) even for the value the socket already has."""

    __slots__ = ()

    def settimeout(self, value: float | None) -> None:
        if value != self.gettimeout():
            super().settimeout(value)


class _Conn(_OneSend, HTTPConnection):
    deadline: Deadline | None = None
    # The socket the answer is read from: http.client drops `sock` from a connection whose
    # answer says `Connection: close`, handing the socket to the response alone.
    answer_sock: socket.socket | None = None
    _timeout: float | None = None

    # Once connected under a deadline, the connection's sends and reads block: the watchdog
    # shuts the socket when the answer is late, which ends them as a timeout would. A socket
    # with a timeout polls before every send and read; urllib3 sets the connect timeout for
    # the send and the read timeout for the answer, two more system calls per request.
    # Connecting (no socket yet) keeps the connect timeout, and a connection without a
    # deadline keeps its timeouts.
    @property  # type: ignore[override]
    def timeout(self) -> float | None:
        if self.deadline is not None and self.sock is not None:
            return None
        return self._timeout

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        self._timeout = value

    def _new_conn(self) -> socket.socket:
        made = super()._new_conn()
        timeout = made.gettimeout()
        sock = _Socket(made.family, made.type, made.proto, fileno=made.detach())
        sock.settimeout(timeout)
        return sock

    def connect(self) -> None:
        super().connect()
        if self.deadline is not None and self.deadline.expired:
            _shut(self.sock)  # the deadline passed while connecting

    def getresponse(self) -> HTTPResponse:  # type: ignore[override]
        self.answer_sock = self.sock
        return super().getresponse()


class _TLSConn(_OneSend, HTTPSConnection):
    deadline: Deadline | None = None
    answer_sock: socket.socket | None = None

    def connect(self) -> None:
        super().connect()
        if self.deadline is not None and self.deadline.expired:
            _shut(self.sock)

    def getresponse(self) -> HTTPResponse:  # type: ignore[override]
        self.answer_sock = self.sock
        return super().getresponse()


def _take(conn: Any) -> Any:
    deadline = getattr(_local, "deadline", None)
    if deadline is not None and isinstance(conn, _Conn | _TLSConn):
        deadline._own(conn)
    return conn


def _give_back(conn: Any) -> None:
    if isinstance(conn, _Conn | _TLSConn) and conn.deadline is not None:
        conn.deadline._release(conn)


class _Pool(HTTPConnectionPool):
    ConnectionCls = _Conn

    def _get_conn(self, timeout: float | None = None) -> Any:
        return _take(super()._get_conn(timeout))

    def _put_conn(self, conn: Any) -> None:
        _give_back(conn)
        super()._put_conn(conn)


class _TLSPool(HTTPSConnectionPool):
    ConnectionCls = _TLSConn

    def _get_conn(self, timeout: float | None = None) -> Any:
        return _take(super()._get_conn(timeout))

    def _put_conn(self, conn: Any) -> None:
        _give_back(conn)
        super()._put_conn(conn)


_POOLS = {"http": _Pool, "https": _TLSPool}


class DeadlineAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections a Deadline can shut (direct and HTTP(S) proxies)."""

    def build_connection_pool_key_attributes(  # type: ignore[override]
        self, request: Any, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:  # plain dicts: the TypedDicts are stub-only
        # Worked out once per host: with a CA bundle path (REQUESTS_CA_BUNDLE), requests
        # asks the file system whether it is a folder on every request.
        parts = urlsplit(request.url)
        key = (parts.scheme.lower(), parts.netloc.lower(), str(verify), str(cert))
        if key not in self._pool_keys:
            found = super().build_connection_pool_key_attributes(request, verify, cert)
            self._pool_keys[key] = (dict(found[0]), dict(found[1]))
        host, pool = self._pool_keys[key]
        return dict(host), dict(pool)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        self._pool_keys: dict[tuple[str, ...], tuple[dict[str, Any], dict[str, Any]]] = {}
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        # SOCKS managers have pools of their own kind: those keep per-read timeouts only.
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _POOLS
        return manager
