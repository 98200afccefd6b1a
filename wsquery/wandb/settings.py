"""Where W&B's API is and which key to use, found as W&B's own SDK finds them: arguments, then
the environment, then the wandb settings file and ``.netrc``, then the hosted API. The key
never shows in a repr."""

from __future__ import annotations

import configparser
import logging
import netrc
import os
from pathlib import Path
from urllib.parse import urlsplit

import attrs

_log = logging.getLogger("wsquery")

#: Where W&B's hosted API lives; used when nothing else names a server.
DEFAULT_BASE_URL = "https://api.wandb.ai"


def _mask(api_key: str | None) -> str:
    return "None" if api_key is None else "'***'"


@attrs.frozen(slots=True)
class Settings:
    """Where the W&B API is (``base_url``), the key to use and where the UI lives (``app_url``)."""

    base_url: str
    api_key: str | None = attrs.field(repr=_mask)
    app_url: str


def resolve_settings(base_url: str | None = None, api_key: str | None = None) -> Settings:
    """The settings W&B's SDK would use: arguments first, then ``WANDB_BASE_URL`` /
    ``WANDB_API_KEY``, then the wandb settings file and ``.netrc``, then the hosted API."""
    url = (base_url or os.environ.get("WANDB_BASE_URL") or _settings_file_base_url()
           or DEFAULT_BASE_URL).rstrip("/")
    key = api_key or os.environ.get("WANDB_API_KEY") or _netrc_password(url)
    return Settings(base_url=url, api_key=key, app_url=_app_url(url))


def _settings_file_base_url() -> str | None:
    config_dir = os.environ.get("WANDB_CONFIG_DIR")
    path = Path(config_dir) if config_dir else Path.home() / ".config" / "wandb"
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path / "settings", encoding="utf-8")
    except configparser.Error:
        _log.debug("ignoring unreadable wandb settings file %s", path / "settings")
        return None
    return parser.get("default", "base_url", fallback=None) or None


def _netrc_password(base_url: str) -> str | None:
    path = os.environ.get("NETRC") or str(Path.home() / ".netrc")
    try:
        entries = netrc.netrc(path)
    except (OSError, netrc.NetrcParseError):
        return None
    parts = urlsplit(base_url)
    for host in (parts.netloc, parts.hostname):
        found = entries.authenticators(host) if host else None
        if found and found[2]:
            return found[2]
    return None


def _app_url(base_url: str) -> str:
    explicit = os.environ.get("WANDB_APP_URL")
    if explicit:
        return explicit.rstrip("/")
    parts = urlsplit(base_url)
    if parts.hostname and parts.hostname.startswith("api."):
        return parts._replace(netloc=parts.netloc.replace("api.", "", 1)).geturl()
    return base_url
