"""Who a request acts as: API keys (kept only as hashes, compared in constant time), one-time
sign-in links and browser sessions. Apart from HTTP handling, which only carries the key or
the cookie here."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Mapping
from urllib.parse import quote

from wsquery.apps.server import limits
from wsquery.apps.server.store import Store


def _drop_expired(entries: dict[str, tuple[str, float]], now: float) -> None:
    """Forget the tokens or sessions whose deadline has passed."""
    for name in [name for name, (_, deadline) in entries.items() if deadline <= now]:
        del entries[name]


def local_path(path: str) -> str:
    """``path`` when it is a path on this server (percent-encoded where a header could not hold
    it), else "/": a link cannot send a browser elsewhere."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return quote(path, safe="/?=&%:@!$'()*+,;~-._#")


class Access:
    """The keys a server accepts and the sign-ins it has given. ``api_keys`` (key -> entity)
    are stored; without them the stored keys are used, and a database with none gets one
    random key for ``default_entity``."""

    def __init__(self, store: Store, api_keys: Mapping[str, str], default_entity: str) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._login_tokens: dict[str, tuple[str, float]] = {}
        self._sessions: dict[str, tuple[str, float]] = {}
        #: Keys given to or made by this process: the only ones it can still show.
        self._plain_keys: list[str] = []
        #: SHA-256 of a key accepted lately -> its stored hash, so a client pays the slow
        #: hash once, not per request.
        self._accepted: dict[bytes, bytes] = {}
        for key, entity in api_keys.items():
            store.add_key(key, entity)
            self._plain_keys.append(key)
        if not store.key_hashes():
            self._plain_keys.append(secrets.token_hex(20))
            store.add_key(self._plain_keys[-1], default_entity)
        self._key_hashes = store.key_hashes()

    def first_key(self) -> str | None:
        """The first key given to or made by this process, if any: a database opened again
        keeps only hashes."""
        with self._lock:
            return self._plain_keys[0] if self._plain_keys else None

    def add_key(self, entity: str, key: str | None = None) -> str:
        """Accept another key (a new random one unless given) acting as ``entity``."""
        key = key or secrets.token_hex(20)
        digest = self._store.add_key(key, entity)
        with self._lock:
            self._plain_keys.append(key)
            self._key_hashes = [(stored, owner) for stored, owner in self._key_hashes
                                if stored != digest] + [(digest, entity)]
        return key

    def entity_for(self, api_key: str | None) -> str | None:
        """The entity a key acts as, or None when the key is not accepted. Its hash is
        compared with every stored one in constant time."""
        if not api_key:
            return None
        fingerprint = hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).digest()
        with self._lock:
            digest = self._accepted.get(fingerprint)
            stored = list(self._key_hashes)
        if digest is None:
            digest = self._store.key_digest(api_key)
        entity = None
        for candidate, owner in stored:
            if secrets.compare_digest(candidate, digest):
                entity = owner
        if entity is not None:
            with self._lock:
                if len(self._accepted) >= limits.MAX_SESSIONS:
                    self._accepted.clear()
                self._accepted[fingerprint] = digest
        return entity

    def login_token(self, entity: str | None, seconds: float) -> str:
        """A random token that signs a browser in as ``entity`` (that of the first key, by
        default) once, within ``seconds``: what a sign-in link holds instead of a key."""
        token = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            owner = entity or self._key_hashes[0][1]
            _drop_expired(self._login_tokens, now)
            self._login_tokens[token] = (owner, now + seconds)
        return token

    def redeem_login_token(self, token: str) -> str | None:
        """The entity a sign-in token is for, once: the token is gone after, and an expired
        one counts for nothing."""
        with self._lock:
            entity, deadline = self._login_tokens.pop(token, (None, 0.0))
        return entity if entity is not None and time.monotonic() < deadline else None

    def open_session(self, entity: str, replacing: str | None = None) -> str:
        """A new session (its random id, for the cookie) acting as ``entity`` for
        ``SESSION_SECONDS``; the browser's session ``replacing`` ends, so signing in again
        keeps one session, and past ``MAX_SESSIONS`` the oldest ends."""
        session = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            if replacing is not None:
                self._sessions.pop(replacing, None)
            _drop_expired(self._sessions, now)
            while len(self._sessions) >= limits.MAX_SESSIONS:
                del self._sessions[next(iter(self._sessions))]
            self._sessions[session] = (entity, now + limits.SESSION_SECONDS)
        return session

    def session_entity(self, session: str) -> str | None:
        """The entity of a session that has not expired or ended."""
        with self._lock:
            entity, deadline = self._sessions.get(session, (None, 0.0))
            if entity is not None and time.monotonic() >= deadline:
                del self._sessions[session]
                return None
        return entity

    def close_session(self, session: str) -> None:
        """End a session (signing out)."""
        with self._lock:
            self._sessions.pop(session, None)

    @property
    def session_count(self) -> int:
        """How many sessions are open: what sign-ins have left in memory."""
        with self._lock:
            return len(self._sessions)
