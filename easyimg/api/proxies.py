"""Proxies and the CA bundle from a given environment, resolved once per client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from requests.utils import address_in_network, is_ipv4_address, is_valid_cidr


def proxies_of(env: Mapping[str, str]) -> dict[str, str]:
    """`scheme_proxy` variables as urllib reads them: lower case wins over upper case."""
    found: dict[str, str] = {}
    for lower_first in (False, True):
        for name, value in env.items():
            if name.islower() != lower_first or not value:
                continue
            low = name.lower()
            if low.endswith("_proxy") and low != "no_proxy":
                found[low[: -len("_proxy")]] = value
    # Under CGI, HTTP_PROXY may be a request header (httpoxy): urllib ignores it too.
    if "REQUEST_METHOD" in env and "http_proxy" not in env:
        found.pop("http", None)
    return found


def no_proxy_of(env: Mapping[str, str]) -> str:
    return env.get("no_proxy") or env.get("NO_PROXY") or ""


def bypasses(url: str, no_proxy: str) -> bool:
    """Whether NO_PROXY exempts the URL's host, as requests decides it with trust_env."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or not no_proxy:
        return False
    names = [n.strip().lower() for n in no_proxy.replace(" ", ",").split(",") if n.strip()]
    if "*" in names:
        return True
    port = parts.port
    if is_ipv4_address(host):
        for name in names:
            if is_valid_cidr(name):
                if address_in_network(host, name):
                    return True
            elif host == name:
                return True
        return False
    with_port = f"{host}:{port}" if port else host
    for name in names:
        bare = name.lstrip(".")
        for candidate in (host, with_port):
            if candidate == bare or candidate.endswith("." + bare):
                return True
    return False


def ca_bundle(env: Mapping[str, str]) -> str | bool:
    """REQUESTS_CA_BUNDLE, then CURL_CA_BUNDLE, else the default store."""
    return env.get("REQUESTS_CA_BUNDLE") or env.get("CURL_CA_BUNDLE") or True


class Proxies:
    """The proxies a request to a URL uses: set on the session once, with a per-host note of
    the hosts NO_PROXY exempts (requests' own look-up redid this on every request)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.all = proxies_of(env)
        self._no_proxy = no_proxy_of(env)
        self._bypass: dict[str, bool] = {}
        self._direct: dict[str, Any] = {key: None for key in self.all}

    def override(self, url: str) -> dict[str, Any] | None:
        """None to use the session's proxies; else the keys that clear them for this URL."""
        return dict(self._direct) if self._bypassed(url) else None

    def for_url(self, url: str) -> dict[str, str]:
        """The proxies a request to `url` goes through: the session's, or none."""
        return {} if self._bypassed(url) else self.all

    def _bypassed(self, url: str) -> bool:
        """NO_PROXY exempts this URL's host (worked out once per host)."""
        if not self.all or not self._no_proxy:
            return False
        netloc = urlsplit(url).netloc.lower()
        bypass = self._bypass.get(netloc)
        if bypass is None:
            bypass = self._bypass[netloc] = bypasses(url, self._no_proxy)
        return bypass
