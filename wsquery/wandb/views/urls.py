"""A saved view's names and links: W&B's random ids, the internal name ``nw-<id>-v``, and
the app link ``https://HOST/ENTITY/PROJECT?nw=<id>`` both ways. Apart because the server's
pages read links without the rest of the model."""

from __future__ import annotations

import re
import secrets
import string
from urllib.parse import parse_qs, quote, unquote, urlsplit

from wsquery.errors import WorkspaceValueError

_VIEW_ID_ALPHABET = string.digits + string.ascii_lowercase
_VIEW_ID_LENGTH = 11
_INTERNAL_NAME = re.compile(r"nw-(.+)-v")
_PERSONAL_VIEW_PREFIX = "nwuser"


def new_id() -> str:
    """11 random lower-case base-36 characters, as W&B's ids for panels and views."""
    return "".join(secrets.choice(_VIEW_ID_ALPHABET) for _ in range(_VIEW_ID_LENGTH))


def new_view_name() -> str:
    """A fresh internal view name, ``nw-<11 random base-36 characters>-v``."""
    return f"nw-{new_id()}-v"


def internal_view_name(view: str) -> str:
    """``nw-<id>-v`` for a view given as that or as the ``<id>`` of its URL."""
    if view.startswith(_PERSONAL_VIEW_PREFIX):
        raise WorkspaceValueError(
            f"{view!r} is a personal workspace, which W&B keeps per user and does not share "
            "as a saved view; in the W&B app, save it as a new view and use that view's URL")
    if not view.strip():
        raise WorkspaceValueError("name a saved view: its URL, nw-<id>-v name or <id>")
    return view if _INTERNAL_NAME.fullmatch(view) else f"nw-{view}-v"


def _url_view_id(view_name: str) -> str:
    found = _INTERNAL_NAME.fullmatch(view_name)
    return found.group(1) if found else view_name


def view_url(app_url: str, entity: str, project: str, view_name: str) -> str:
    """The W&B app link of a saved view: ``{app_url}/{entity}/{project}?nw=<id>``."""
    return (f"{app_url.rstrip('/')}/{quote(entity, safe='')}/{quote(project, safe='')}"
            f"?nw={quote(_url_view_id(view_name), safe='')}")


def parse_view_url(url: str) -> tuple[str, str, str]:
    """(entity, project, internal view name) of a saved view's link: ``https://HOST/ENTITY/
    PROJECT?nw=ID``, also with ``/workspace`` after the project and other parameters."""
    expected = "expected a saved view's link such as https://wandb.ai/ENTITY/PROJECT?nw=ID"
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise WorkspaceValueError(f"{url!r} is not a W&B view URL: {expected}")
    segments = [unquote(segment) for segment in parts.path.split("/") if segment]
    if len(segments) == 3 and segments[2] == "workspace":
        segments = segments[:2]
    if len(segments) != 2:
        raise WorkspaceValueError(
            f"{url!r} does not name one entity and project in its path: {expected}")
    view = parse_qs(parts.query, keep_blank_values=True).get("nw", [""])[0]
    if not view:
        raise WorkspaceValueError(f"{url!r} names no saved view (no nw= parameter): {expected}")
    entity, project = segments
    return entity, project, internal_view_name(view)
