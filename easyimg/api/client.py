"""One HTTP session to the image API: auth, timeouts, the retry policy, error mapping."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from .. import __version__
from ..errors import ExitCode, NetworkError, ResponseError
from ..redact import register
from .deadline import Deadline, DeadlineAdapter
from .limits import (
    DEFAULT_MAX_IMAGE,
    TIMEOUT_HINT,
    Bounds,
    attach,
    is_timeout,
    iter_body,
    mb,
    too_big,
)
from .proxies import Proxies, ca_bundle
from .retry import RateGate, Retry, backoff, retry_after
from .server_errors import api_error, error_from_payload, request_id

# Where callers have always found them.
__all__ = [
    "Client",
    "RateGate",
    "Retry",
    "api_error",
    "backoff",
    "error_from_payload",
    "request_id",
    "retry_after",
]

USER_AGENT = f"easyimg/{__version__}"
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503})
# The request reached the model and may have been billed; retried only with --retry-timeouts.
TIMEOUT_STATUSES = frozenset({504, 520, 521, 522, 523, 524})
MAX_RETRY_WAIT = 60.0  # the longest Retry-After waited for; a longer one ends the command
PARSE_BUFFER = 4 << 20


def _is_connect_failure(exc: requests.ConnectionError) -> bool:
    """True when the request never reached the server, so a retry cannot double-bill."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    from urllib3.exceptions import (
        ConnectTimeoutError,
        MaxRetryError,
        NameResolutionError,
        NewConnectionError,
    )

    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, NewConnectionError | ConnectTimeoutError | NameResolutionError)


def _connect_kind(exc: requests.ConnectionError) -> str:
    """Which account-wide failure a failed connect is (errors.EasyImgError.account_wide)."""
    from urllib3.exceptions import MaxRetryError, NameResolutionError

    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return "resolve" if isinstance(reason, NameResolutionError) else "connect"


class Client:
    """A requests.Session bound to one base URL and key, with SPEC §3's retry policy."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 600.0,
        retries: int = 3,
        retry_timeouts: bool = False,
        pool_size: int = 10,
        gate: RateGate | None = None,
        on_retry: Callable[[Retry], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_image: int = DEFAULT_MAX_IMAGE,
        max_retry_wait: float = MAX_RETRY_WAIT,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """`env`: the environment whose proxies, NO_PROXY and CA bundle apply (none: direct)."""
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.max_image = max_image
        self.max_retry_wait = max_retry_wait
        self.retry_timeouts = retry_timeouts
        self.gate = gate or RateGate(sleep=sleep)
        self.on_retry = on_retry
        self._sleep = sleep
        self._host = urlsplit(self.base_url).netloc.lower()
        self._hostname = urlsplit(self.base_url).hostname or self._host
        self.session = requests.Session()
        # The environment is read here once: with trust_env, requests re-read proxies, .netrc
        # and the CA bundle on every request. .netrc is not wanted: the key is sent as given.
        self.session.trust_env = False
        self._proxies = Proxies(env or {})
        self.session.proxies = dict(self._proxies.all)
        self.session.verify = self._verify = ca_bundle(env or {})
        self._urls: dict[str, str] = {}  # each URL as requests prepares it
        adapter = DeadlineAdapter(
            pool_connections=4, pool_maxsize=max(10, pool_size), max_retries=0
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        self._auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # Whatever a server answers may quote the key: every text redacted masks it.
        register(api_key)
        self.label: str | None = None

    def labelled(self, label: str) -> Client:
        """This client (the same connections, the same 429 gate) with its retries reported as
        being for `label`."""
        twin = copy.copy(self)
        twin.label = label
        return twin

    def url(self, path: str) -> str:
        """A path below the base URL; a full http(s) URL (a relay's polling URL) as it is."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def origin_url(self, path: str) -> str:
        """A path from the root of the base URL's host (`/api/...` beside `/v1`)."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}/{path.lstrip('/')}"

    def headers_for(self, url: str) -> dict[str, str]:
        """Auth only for the base URL's own host: never to an image URL elsewhere."""
        return dict(self._auth) if urlsplit(url).netloc.lower() == self._host else {}

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        files: Any = None,
        data: Any = None,
        stream: bool = True,
        accept: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send with retries; return a 2xx response (body unread when stream=True) or raise."""
        url = self.url(path)
        sent_headers = {**(headers or {}), **self.headers_for(url)}
        if accept:
            sent_headers["Accept"] = accept
        attempt = 0
        while True:
            attempt += 1
            self.gate.wait()
            # One deadline per try, for the whole answer: status, headers and body.
            deadline = Deadline(self.timeout)
            try:
                resp = self._send(
                    deadline,
                    method,
                    url,
                    json=json_body,
                    files=files,
                    data=data,
                    headers=sent_headers,
                    stream=stream,
                    # A 307/308 would send the prompt (and a POST's files) wherever it says.
                    allow_redirects=False,
                )
            except requests.ConnectionError as exc:
                if not _is_connect_failure(exc):
                    if self.retry_timeouts and attempt <= self.retries:
                        self._pause(attempt, backoff(attempt), "connection dropped")
                        _rewind(files)
                        continue
                    raise self._sent_failure(exc) from None
                kind = _connect_kind(exc)
                if attempt > self.retries:
                    raise NetworkError(
                        f"cannot resolve host {self._hostname}"
                        if kind == "resolve"
                        else f"cannot connect to {self._host}: {_reason(exc)}",
                        account_wide=kind,
                    ) from None
                self._pause(
                    attempt,
                    backoff(attempt),
                    "cannot resolve host" if kind == "resolve" else "cannot connect",
                )
                _rewind(files)
                continue
            except requests.Timeout as exc:
                if self.retry_timeouts and attempt <= self.retries:
                    self._pause(attempt, backoff(attempt), "timed out")
                    _rewind(files)
                    continue
                raise self._sent_failure(exc) from None
            except requests.RequestException as exc:
                raise NetworkError(f"request to {self._host} failed: {_reason(exc)}") from None

            status = resp.status_code
            if status < 300:
                if stream:
                    attach(resp, Bounds(self._host, self.timeout, deadline, self.max_image))
                else:
                    deadline.cancel()
                return resp
            if status < 400:
                resp.close()
                deadline.cancel()
                raise self._redirected(method, url, resp)
            hint = TIMEOUT_HINT if status in TIMEOUT_STATUSES and not self.retry_timeouts else None
            # Read (at most 1 MB of) the error first: a 429 that says the quota is spent is an
            # account problem, never retried.
            err = api_error(resp, hint)
            resp.close()
            deadline.cancel()
            retryable = self._should_retry(resp) and err.account_wide != "quota"
            if retryable and attempt <= self.retries:
                asked = retry_after(resp.headers)
                if asked is not None and asked > self.max_retry_wait:
                    err.message += (
                        f"; the server asks to wait {asked:g} s before trying again, longer "
                        f"than easyimg waits ({self.max_retry_wait:g} s; config key "
                        "max_retry_wait)"
                    )
                    err.exit_code = ExitCode.NETWORK
                    raise err
                delay = backoff(attempt) if asked is None else asked
                reason = f"{status} {resp.reason or ''}".strip()
                if asked is not None:
                    reason += ", Retry-After"
                if status == 429:
                    self.gate.hold(delay)
                self._pause(attempt, delay, reason, gate=status == 429)
                _rewind(files)
                continue
            if retryable and attempt > 1:
                err.message += f" (after {attempt} tries)"
            raise err

    def _send(self, deadline: Deadline, method: str, url: str, **kw: Any) -> requests.Response:
        timeout = (min(30.0, self.timeout), self.timeout)
        try:
            with deadline.sending():
                if kw.get("allow_redirects", True):
                    return self.session.request(
                        method, url, timeout=timeout, proxies=self._proxies.override(url), **kw
                    )
                return self._send_direct(method, url, timeout, **kw)
        except requests.RequestException as exc:
            deadline.cancel()
            if deadline.expired and not (
                isinstance(exc, requests.ConnectionError) and _is_connect_failure(exc)
            ):
                # The watchdog shut the socket: the answer was late, not the line broken.
                raise requests.ReadTimeout(str(exc)) from None
            raise

    def _send_direct(
        self,
        method: str,
        url: str,
        timeout: tuple[float, float],
        *,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        allow_redirects: bool = False,
        **body: Any,
    ) -> requests.Response:
        """An API request, one hop: what `Session.request` sends, without its per-request
        work this client does not use (a cookie jar built and merged for each request and
        read back from each answer, environment settings merged again, redirect and hook
        look-ups), a third of the CPU of a small answer's request."""
        merged = CaseInsensitiveDict(self.session.headers)
        merged.update(headers or {})
        prepared = requests.PreparedRequest()
        # PreparedRequest.prepare's steps, less the cookies (none are kept) and with the URL
        # prepared once per URL (its IDNA and quoting work is the same every time).
        prepared.prepare_method(method)
        ready = self._urls.get(url)
        if ready is None:
            prepared.prepare_url(url, None)
            if len(self._urls) < 256:
                self._urls[url] = prepared.url  # type: ignore[assignment]
        else:
            prepared.url = ready
        prepared.prepare_headers(merged)
        prepared.prepare_body(body.get("data"), body.get("files"), body.get("json"))
        if "@" in url:
            prepared.prepare_auth(None, url)  # user:password in a base URL
        prepared.prepare_hooks(None)
        resp = self.session.get_adapter(url).send(
            prepared,
            stream=stream,
            timeout=timeout,
            verify=self._verify,
            cert=None,
            proxies=self._proxies.for_url(url),
        )
        if not stream:
            resp.content  # noqa: B018 - read now, as Session.send does, inside the deadline
        return resp

    def _should_retry(self, resp: requests.Response) -> bool:
        flag = resp.headers.get("x-should-retry", "").lower()
        if flag == "true":
            return True
        if flag == "false":
            return False
        if resp.status_code in RETRY_STATUSES:
            return True
        return self.retry_timeouts and resp.status_code in TIMEOUT_STATUSES

    def _pause(self, attempt: int, delay: float, reason: str, gate: bool = False) -> None:
        if self.on_retry:
            self.on_retry(Retry(attempt, delay, reason, self.label))
        if not gate:  # a 429 already closed the shared gate; the loop waits there
            self._sleep(delay)

    def _redirected(self, method: str, url: str, resp: requests.Response) -> NetworkError:
        target = urljoin(url, resp.headers.get("location", ""))
        shown = target[:200] if resp.headers.get("location") else "nowhere (no Location)"
        head = f"{method} {_short(url)} was redirected ({resp.status_code}) to {shown}"
        if urlsplit(target).netloc.lower() != self._host:
            return NetworkError(
                f"{head}: not followed, it would take the request to another host",
                hint="if that is the API's new address, use it as --base-url",
            )
        return NetworkError(
            f"{head}: API requests are not redirected",
            hint="use the new address as --base-url",
        )

    def _sent_failure(self, exc: Exception) -> NetworkError:
        if isinstance(exc, requests.Timeout):
            return Bounds(self._host, self.timeout).late()
        return NetworkError(
            f"the connection dropped from {self._host} after the request was sent",
            hint=TIMEOUT_HINT,
        )

    def download(
        self,
        url: str,
        *,
        chunk_size: int = 1 << 16,
        on_progress: Callable[[int, int | None], None] | None = None,
    ) -> Iterator[bytes]:
        """Stream an image URL (data: URLs too); the key goes only to the API's own host."""
        if url.startswith("data:"):
            data = decode_data_url(url)
            if len(data) > self.max_image:
                raise too_big(self.max_image, "a data: URL image")
            yield data
            return
        full = urljoin(self.base_url + "/", url)
        if urlsplit(full).scheme not in ("http", "https"):
            raise ResponseError(f"image URL {url[:80]!r} is not http(s)")
        deadline = Deadline(self.timeout)
        bounds = Bounds(urlsplit(full).netloc, self.timeout, deadline, self.max_image)
        what = f"download of {_short(full)}"
        try:
            resp = self._send(deadline, "GET", full, headers=self.headers_for(full), stream=True)
        except requests.RequestException as exc:
            if is_timeout(exc):
                raise bounds.late(what) from None
            if isinstance(exc, requests.ConnectionError) and _connect_kind(exc) == "resolve":
                raise NetworkError(
                    f"cannot download {_short(full)}: cannot resolve host {urlsplit(full).hostname}"
                ) from None
            raise NetworkError(f"cannot download {_short(full)}: {_reason(exc)}") from None
        attach(resp, bounds)
        with resp:
            if resp.status_code >= 400:
                raise NetworkError(
                    f"cannot download {_short(full)}: {resp.status_code} "
                    f"{resp.reason or ''}".rstrip()
                )
            total = int(resp.headers.get("content-length") or 0) or None
            if total is not None and total > self.max_image:
                raise bounds.too_big(f"the image at {_short(full)} ({mb(total)})")
            done = 0
            for chunk in iter_body(resp, what, chunk_size):
                done += len(chunk)
                if done > self.max_image:
                    raise bounds.too_big(f"the image at {_short(full)}")
                if on_progress:
                    on_progress(done, total)
                yield chunk
            if total is not None and done < total:
                raise NetworkError(f"the {what} broke off after {done} of {total} bytes")

    def close(self) -> None:
        self.session.close()


def decode_data_url(url: str) -> bytes:
    import base64
    import binascii

    head, _, payload = url.partition(",")
    if ";base64" not in head:
        from urllib.parse import unquote_to_bytes

        return unquote_to_bytes(payload)
    try:
        return base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        raise ResponseError("image data: URL is not valid base64") from None


def _short(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"[:120]


def _reason(exc: BaseException) -> str:
    """The innermost readable cause, without URLs full of query strings or object reprs."""
    text = str(exc)
    for marker in ("Failed to establish a new connection: ", "Caused by "):
        if marker in text:
            text = text.split(marker, 1)[1]
    text = text.strip("()'\" ")
    if "] " in text and text.startswith("[Errno"):
        text = text.split("] ", 1)[1]
    return text.rstrip("'\")")[:200] or type(exc).__name__


def _rewind(files: Any) -> None:
    """Multipart file objects were read by the failed try; send them from the start again."""
    if not files:
        return
    items = files.items() if isinstance(files, dict) else files
    for _, value in items:
        fobj = value[1] if isinstance(value, tuple) else value
        if hasattr(fobj, "seek"):
            fobj.seek(0)
