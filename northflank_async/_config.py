"""Where a session's token and base URL come from, and what makes them safe to use.

Pure functions of their arguments and the environment mapping given; no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

from yarl import URL

from ._errors import ConfigurationError

__all__ = [
    "BASE_URL_VARIABLES",
    "DEFAULT_BASE_URL",
    "TOKEN_VARIABLES",
    "is_loopback",
    "resolve_base_url",
    "resolve_token",
]

DEFAULT_BASE_URL = "https://api.northflank.com"
#: Where a token is looked up, in this order, when none is passed.
TOKEN_VARIABLES = ("NORTHFLANK_API_TOKEN", "NF_API_TOKEN")
#: Where a base URL is looked up, in this order, when none is passed.
BASE_URL_VARIABLES = ("NORTHFLANK_API_BASE_URL", "NF_API_HOST", "NF_HOST")
_UNSAFE_TOKEN = re.compile(r"[\x00-\x20\x7f-\x9f]")
# "scheme://user:password@": what of a URL must never be echoed in a message.
_CREDENTIALS = re.compile(r"(?<=://)[^/?#@]*@")


def _from_env(names: tuple[str, ...], env: Mapping[str, str]) -> str | None:
    return next((env[name] for name in names if env.get(name)), None)


def resolve_token(token: str | None, env: Mapping[str, str]) -> str:
    """The token given, else the first of :data:`TOKEN_VARIABLES` set in ``env``."""
    if token is not None and not isinstance(token, str):
        raise ConfigurationError(
            f"the API token must be a string, got {type(token).__name__} "
            "(pass it as token=..., keywords for everything else)"
        )
    token = token if token is not None else _from_env(TOKEN_VARIABLES, env)
    if not token:
        raise ConfigurationError(
            "no API token: pass token=... or set " + " or ".join(TOKEN_VARIABLES)
        )
    if _UNSAFE_TOKEN.search(token):
        raise ConfigurationError(
            "the API token holds whitespace or control characters (CR, LF, ...); "
            "it cannot be sent in a header"
        )
    return token


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback IP address (no name is resolved)."""
    # Only the name itself: a resolver may send "x.localhost" to DNS, and so elsewhere.
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _shown(text: str) -> str:
    """A base URL as a message may show it: credentials hidden, controls escaped."""
    return repr(_CREDENTIALS.sub("***@", text))


def resolve_base_url(base_url: str | URL | None, env: Mapping[str, str]) -> URL:
    """The base URL given, else from :data:`BASE_URL_VARIABLES`, else the public API's.

    A bare host gets ``https://``; plain ``http://`` is allowed only for loopback hosts,
    and credentials, a query or a fragment are refused.
    """
    raw = base_url if base_url is not None else _from_env(BASE_URL_VARIABLES, env)
    raw = raw if raw is not None else DEFAULT_BASE_URL
    if not isinstance(raw, str | URL):
        raise ConfigurationError(
            f"base_url must be a string or a yarl.URL, got {type(raw).__name__}"
        )
    text = str(raw)
    if "://" not in text:
        text = "https://" + text
    try:
        url = URL(text)
    except ValueError:
        raise ConfigurationError(f"base_url {_shown(text)} is not a URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(f"base_url {_shown(text)} must be an https:// URL with a host")
    if url.user or url.password or url.query_string or url.fragment:
        raise ConfigurationError(
            f"base_url {_shown(str(url.with_user(None).with_query(None).with_fragment(None)))} "
            "must not carry credentials, a query or a fragment"
        )
    if url.scheme == "http" and not is_loopback(url.host):
        raise ConfigurationError(
            f"base_url {_shown(text)} is plain http: the token would travel in clear text; "
            "use https:// (plain http is allowed only for loopback hosts)"
        )
    return url
