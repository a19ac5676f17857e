"""One HTTP session to the image API: auth, timeouts, the retry policy, error mapping, reading."""

from __future__ import annotations

import email.utils
import json
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from .. import __version__
from ..errors import APIError, EasyImgError, NetworkError, ResponseError

USER_AGENT = f"easyimg/{__version__}"
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503})
# The request reached the model and may have been billed; retried only with --retry-timeouts.
TIMEOUT_STATUSES = frozenset({504, 520, 521, 522, 523, 524})
MAX_BACKOFF = 60.0
PARSE_BUFFER = 4 << 20
REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-oneapi-request-id", "cf-ray")
TIMEOUT_HINT = (
    "the image may already have been generated and billed, so it was not retried; "
    "use --stream (its events keep slow requests alive through proxies) "
    "or --retry-timeouts to retry anyway"
)


class RateGate:
    """A gate every request waits at; a 429 closes it for everyone sharing this client."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._until = 0.0
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def hold(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, self._clock() + seconds)

    def wait(self) -> float:
        """Block until the gate opens; return how long that took."""
        waited = 0.0
        while True:
            with self._lock:
                delay = self._until - self._clock()
            if delay <= 0:
                return waited
            self._sleep(delay)
            waited += delay


@dataclass
class Retry:
    """A retry about to happen, for progress display."""

    attempt: int
    delay: float
    reason: str


def retry_after(headers: Mapping[str, str], now: Callable[[], float] = time.time) -> float | None:
    """The server's requested delay from retry-after-ms or Retry-After (seconds or HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


def backoff(attempt: int, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: ~0.5 s, 1 s, 2 s ... capped at 60 s."""
    base = min(MAX_BACKOFF, 0.5 * 2 ** (attempt - 1))
    return base * (1 - 0.25 * rand())


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


def request_id(headers: Mapping[str, str]) -> str | None:
    for name in REQUEST_ID_HEADERS:
        if headers.get(name):
            return headers[name]
    return None


def error_from_payload(payload: Any, status: int | None, rid: str | None) -> APIError | None:
    """An APIError from an OpenAI-style (or router-style) error body, or None if it has none."""
    if not isinstance(payload, dict):
        return None
    err = payload.get("error")
    if isinstance(err, dict):
        message = err.get("message") or err.get("msg") or json.dumps(err)[:300]
        return APIError(
            status,
            str(message),
            code=_str(err.get("code")),
            type=_str(err.get("type")),
            param=_str(err.get("param")),
            request_id=rid,
            body=payload,
        )
    if isinstance(err, str) and err:
        return APIError(status, err, code=_str(payload.get("code")), request_id=rid, body=payload)
    if status and status >= 400:
        for key in ("message", "detail", "msg"):
            if isinstance(payload.get(key), str):
                return APIError(
                    status,
                    payload[key],
                    code=_str(payload.get("code")),
                    request_id=rid,
                    body=payload,
                )
    return None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def api_error(resp: requests.Response, hint: str | None = None) -> APIError:
    rid = request_id(resp.headers)
    if getattr(resp, "_content_consumed", False) or resp.raw is None:
        raw = resp.content[:1_000_000]  # requested with stream=False: already read
    else:
        raw = resp.raw.read(1_000_000, decode_content=True)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    found = error_from_payload(payload, resp.status_code, rid)
    if found is None:
        snippet = " ".join(text.split())[:200] or resp.reason or "no message"
        if "<html" in text[:500].lower():
            snippet = f"the server answered an HTML page ({snippet[:120]})"
        found = APIError(resp.status_code, snippet, request_id=rid)
    if hint:
        found.hint = hint
    return found


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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.retry_timeouts = retry_timeouts
        self.gate = gate or RateGate(sleep=sleep)
        self.on_retry = on_retry
        self._sleep = sleep
        self._host = urlsplit(self.base_url).netloc.lower()
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(10, pool_size), max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        self._auth = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

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
            try:
                resp = self.session.request(
                    method,
                    url,
                    json=json_body,
                    files=files,
                    data=data,
                    headers=sent_headers,
                    stream=stream,
                    timeout=(min(30.0, self.timeout), self.timeout),
                )
            except requests.ConnectionError as exc:
                if not _is_connect_failure(exc):
                    if self.retry_timeouts and attempt <= self.retries:
                        self._pause(attempt, backoff(attempt), "connection dropped")
                        _rewind(files)
                        continue
                    raise self._sent_failure(exc) from None
                if attempt > self.retries:
                    raise NetworkError(f"cannot connect to {self._host}: {_reason(exc)}") from None
                self._pause(attempt, backoff(attempt), "cannot connect")
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
                return resp
            retryable = self._should_retry(resp)
            if retryable and attempt <= self.retries:
                delay = retry_after(resp.headers)
                if delay is None or delay > MAX_BACKOFF:
                    delay = backoff(attempt)
                if status == 429:
                    self.gate.hold(delay)
                resp.close()
                self._pause(
                    attempt, delay, f"{status} {resp.reason or ''}".strip(), gate=status == 429
                )
                _rewind(files)
                continue
            hint = TIMEOUT_HINT if status in TIMEOUT_STATUSES and not self.retry_timeouts else None
            err = api_error(resp, hint)
            resp.close()
            if retryable and attempt > 1:
                err.message += f" (after {attempt} tries)"
            raise err

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
            self.on_retry(Retry(attempt, delay, reason))
        if not gate:  # a 429 already closed the shared gate; the loop waits there
            self._sleep(delay)

    def _sent_failure(self, exc: Exception) -> NetworkError:
        what = "no answer" if isinstance(exc, requests.Timeout) else "the connection dropped"
        if isinstance(exc, requests.Timeout):
            what = f"no answer within {self.timeout:g} s"
        return NetworkError(
            f"{what} from {self._host} after the request was sent", hint=TIMEOUT_HINT
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
            yield decode_data_url(url)
            return
        full = urljoin(self.base_url + "/", url)
        if urlsplit(full).scheme not in ("http", "https"):
            raise ResponseError(f"image URL {url[:80]!r} is not http(s)")
        try:
            resp = self.session.get(
                full,
                headers=self.headers_for(full),
                stream=True,
                timeout=(min(30.0, self.timeout), self.timeout),
            )
        except requests.RequestException as exc:
            raise NetworkError(f"cannot download {_short(full)}: {_reason(exc)}") from None
        with resp:
            if resp.status_code >= 400:
                raise NetworkError(
                    f"cannot download {_short(full)}: {resp.status_code} "
                    f"{resp.reason or ''}".rstrip()
                )
            total = int(resp.headers.get("content-length") or 0) or None
            done = 0
            try:
                for chunk in resp.iter_content(chunk_size):
                    done += len(chunk)
                    if on_progress:
                        on_progress(done, total)
                    yield chunk
            except requests.RequestException as exc:
                raise NetworkError(
                    f"download of {_short(full)} broke off: {_reason(exc)}"
                ) from None
            if total is not None and done < total:
                raise NetworkError(
                    f"download of {_short(full)} broke off at {done} of {total} bytes"
                )

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


# --- reading answers -------------------------------------------------------------------------


class _Recording:
    """A file wrapper that keeps the first bytes read, to quote them when parsing fails."""

    def __init__(self, raw: IO[bytes] | Any) -> None:
        self._raw = raw
        self.head = b""
        self.total = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        if len(self.head) < 200:
            self.head += chunk[: 200 - len(self.head)]
        self.total += len(chunk)
        return chunk


class _ValueBuilder:
    """Assembles one whole JSON value at a time from ijson's event stream."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._builder: Any = None
        self._depth = 0

    def feed(self, event: str, value: Any) -> tuple[bool, Any]:
        if self._builder is None:
            self._builder = self._factory()
        self._builder.event(event, value)
        if event in ("start_map", "start_array"):
            self._depth += 1
        elif event in ("end_map", "end_array"):
            self._depth -= 1
        if self._depth:
            return False, None
        built, self._builder = self._builder.value, None
        return True, built


def read_images(
    resp: requests.Response, on_image: Callable[[dict[str, Any], dict[str, Any]], None]
) -> dict[str, Any]:
    """Stream-parse an images answer, calling `on_image` per `data` item as it arrives.

    Only one image item is in memory at a time, whatever the size of the answer. `on_image`
    gets the item and the top-level fields read so far; the return value is all of them
    (created, usage, ...). An `error` object in a 200 answer raises.
    """
    import ijson

    resp.raw.decode_content = True
    source = _Recording(resp.raw)
    meta: dict[str, Any] = {}
    key = ""
    value_of = _ValueBuilder(ijson.ObjectBuilder)
    in_data = False
    rid = request_id(resp.headers)
    try:
        # Large reads: ijson's C backend re-copies a string for every read it spans, so
        # small reads make a 30 MB b64_json quadratic (seconds instead of milliseconds).
        for prefix, event, value in ijson.parse(source, buf_size=PARSE_BUFFER, use_float=True):
            if prefix == "":
                if event == "map_key":
                    key = value
                elif event not in ("start_map", "end_map"):
                    raise ResponseError(f"expected a JSON object, got {event}")
                continue
            if key == "data" and prefix == "data" and event in ("start_array", "end_array"):
                in_data = event == "start_array"
                continue
            done, built = value_of.feed(event, value)
            if not done:
                continue
            if in_data:
                if isinstance(built, dict):
                    on_image(built, meta)
            else:
                meta[key] = built
    except ijson.JSONError as exc:
        raise _unreadable(source, resp, exc) from None
    except EasyImgError:
        raise
    except (requests.RequestException, OSError, ValueError) as exc:
        raise NetworkError(
            f"the answer broke off after {source.total} bytes: {_reason(exc)}"
        ) from None
    err = error_from_payload(meta, None, rid)
    if err is not None:
        raise err
    return meta


def _unreadable(source: _Recording, resp: requests.Response, exc: Exception) -> ResponseError:
    head = source.head.decode("utf-8", "replace").strip()
    ctype = resp.headers.get("content-type", "unknown type")
    if not head:
        return ResponseError(f"the server sent an empty answer (status {resp.status_code})")
    if head.startswith("<") or "html" in ctype:
        snippet = " ".join(head.split())[:80]
        return ResponseError(f"the server answered HTML, not JSON ({ctype}): {snippet}")
    if "incomplete" in str(exc).lower() or "premature" in str(exc).lower():
        return ResponseError(f"the JSON answer was cut off after {source.total} bytes")
    return ResponseError(f"the answer is not valid JSON ({ctype}): {' '.join(head.split())[:80]}")


def iter_sse(resp: requests.Response) -> Iterator[tuple[str, str]]:
    """Yield (event, data) pairs from a text/event-stream answer, as they arrive."""
    event = ""
    data: list[str] = []
    try:
        for raw in resp.iter_lines(chunk_size=1 << 16, decode_unicode=False):
            line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            if not line:
                if data:
                    yield event or "message", "\n".join(data)
                event, data = "", []
                continue
            if line.startswith(":"):
                continue
            name, _, val = line.partition(":")
            val = val[1:] if val.startswith(" ") else val
            if name == "event":
                event = val
            elif name == "data":
                data.append(val)
    except requests.RequestException as exc:
        raise NetworkError(f"the event stream broke off: {_reason(exc)}") from None
    if data:
        # A stream must end with a blank line; a trailing half event means it was cut off.
        raise NetworkError("the event stream was cut off in the middle of an event")
