"""Exit codes and the exception tree: every failure carries the code the CLI exits with."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from .redact import redact, redact_value


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    AUTH = 3
    REFUSED = 4
    NETWORK = 5
    PARTIAL = 6
    INTERRUPTED = 130
    TERMINATED = 143  # 128 + SIGTERM, as a shell reports a process it ended


def exit_code_for_status(status: int) -> ExitCode:
    """Map an HTTP status from the API to the exit code of SPEC §6."""
    if status in (401, 403):
        return ExitCode.AUTH
    if status in (408, 429) or status >= 500:
        return ExitCode.NETWORK
    if 400 <= status < 500:
        return ExitCode.REFUSED
    return ExitCode.NETWORK


# 429 codes that mean the account is out of money, not that the server is busy.
QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached"})


class EasyImgError(Exception):
    """Base of every error the CLI reports as one `error:` line.

    Messages often quote a server (its error text, a header, a redirect target), so they are
    redacted here, once, wherever the error is raised: no error carries a key.
    """

    exit_code: ExitCode = ExitCode.ERROR
    # Set where the error is made when every later request would fail the same way: one of
    # "connect", "resolve", "auth", "quota", "model". A batch stops starting items on a run of
    # them (batch.run) instead of grinding through the whole file.
    account_wide: str | None = None

    def __init__(
        self, message: str, *, hint: str | None = None, account_wide: str | None = None
    ) -> None:
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.hint = redact(hint) if hint else hint
        if account_wide is not None:
            self.account_wide = account_wide

    def __str__(self) -> str:
        return self.message


class UsageError(EasyImgError):
    """Bad flags or input, found before any request was sent."""

    exit_code = ExitCode.USAGE


class ValidationError(UsageError):
    """A request that breaks a model rule; `param` names the body field."""

    def __init__(
        self, message: str, *, param: str | None = None, code: str = "invalid_value"
    ) -> None:
        super().__init__(message)
        self.param = param
        self.code = code


class OutputError(UsageError):
    """The output path cannot be written (read-only, full disk, not a directory)."""


class ConfigError(EasyImgError):
    """Missing key, unreadable config file, unknown profile."""

    exit_code = ExitCode.AUTH


class NetworkError(EasyImgError):
    """Could not reach the server, or the connection failed mid-request."""

    exit_code = ExitCode.NETWORK


class ResponseError(EasyImgError):
    """The server answered something that is not a usable images response."""

    exit_code = ExitCode.NETWORK


class NoImagesError(ResponseError):
    def __init__(self, message: str = "server returned no images") -> None:
        super().__init__(message)


class APIError(EasyImgError):
    """An error answer from the API, with whatever detail it gave."""

    def __init__(
        self,
        status: int | None,
        message: str,
        *,
        code: str | None = None,
        type: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        hint: str | None = None,
        body: Any = None,
    ) -> None:
        self.status = status
        self.api_message = redact(message)
        self.code = _redacted(code)
        self.type = _redacted(type)
        self.param = _redacted(param)
        self.request_id = _redacted(request_id)
        self.body = redact_value(body)
        super().__init__(
            self._render(),
            hint=hint,
            account_wide=account_wide_kind(status, self.code, self.type, self.api_message),
        )
        # An error object inside a 200 answer (or an SSE error event) is a refusal by the API.
        self.exit_code = exit_code_for_status(status) if status else ExitCode.REFUSED
        if self.account_wide == "quota":
            self.exit_code = ExitCode.AUTH  # out of money: an account problem, whatever the status

    def _render(self) -> str:
        head = f"{self.status} {_reason(self.status)}: " if self.status else "API error: "
        extras = [f"code: {self.code}"] if self.code else []
        if self.request_id:
            extras.append(f"request id: {self.request_id}")
        tail = f" ({', '.join(extras)})" if extras else ""
        return f"{head}{self.api_message}{tail}"


def account_wide_kind(
    status: int | None, code: str | None, type: str | None, message: str
) -> str | None:
    """Which API errors every request of the account would get: the key, the quota, the model."""
    if status in (401, 403):
        return "auth"
    if code in QUOTA_CODES or type in QUOTA_CODES:
        return "quota"
    if code == "model_not_found" or (status == 404 and "model" in message.lower()):
        return "model"
    return None


def _redacted(text: str | None) -> str | None:
    return redact(text) if text else text


class Interrupted(EasyImgError):
    exit_code = ExitCode.INTERRUPTED

    def __init__(
        self, message: str = "interrupted", *, terminated: bool = False, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        if terminated:
            self.exit_code = ExitCode.TERMINATED


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread by the handler `easyimg.__main__` installs: every
    place that stops cleanly on Ctrl-C does so on SIGTERM too, then exits 143."""


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _reason(status: int | None) -> str:
    if status is None:
        return ""
    if status in _REASONS:
        return _REASONS[status]
    return "Client Error" if status < 500 else "Server Error"
