"""The view server's sign-in under abuse, over real HTTP: only its own pages may sign a browser
in or out, GraphQL takes only JSON (which no cross-site form can send), sessions expire, end
on sign-out and do not pile up."""

from __future__ import annotations

import re

import pytest
import requests

from wsquery.apps import server as server_module
from wsquery.apps.server import ViewServer


def session_id(response: requests.Response, server: ViewServer) -> str:
    found = re.search(rf"{server.session_cookie}=([^;]*)", response.headers["Set-Cookie"])
    assert found is not None
    return found.group(1)


def sign_in(server: ViewServer, browser: requests.Session | None = None,
            **headers: str) -> requests.Response:
    poster = browser or requests
    return poster.post(f"{server.url}/login", data={"key": server.api_key, "next": "/"},
                       headers=headers, timeout=30, allow_redirects=False)


def with_session(server: ViewServer, session: str) -> int:
    """The status of the entity page for a browser sending this session cookie."""
    return requests.get(f"{server.url}/", timeout=30,
                        headers={"Cookie": f"{server.session_cookie}={session}"}).status_code


def test_only_the_servers_own_pages_may_sign_in(view_server: ViewServer) -> None:
    own = view_server.url
    for headers in ({}, {"Origin": "http://evil.example"}, {"Origin": "null"},
                    {"Referer": "http://evil.example/page"},
                    {"Origin": own.replace("127.0.0.1", "localhost")}):
        refused = sign_in(view_server, **headers)
        assert refused.status_code == 403, headers
        assert "Set-Cookie" not in refused.headers
        assert "accepted only from this server" in refused.text
        assert refused.headers["Content-Security-Policy"].startswith("default-src 'none'")
    for headers in ({"Origin": own}, {"Referer": f"{own}/some/page?nw=x"}):
        accepted = sign_in(view_server, **headers)
        assert accepted.status_code == 303
        assert with_session(view_server, session_id(accepted, view_server)) == 200


def test_graphql_takes_only_json(view_server: ViewServer) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=x", None):
        headers = {"Content-Type": content_type} if content_type else {}
        response = requests.post(f"{view_server.url}/graphql", timeout=30,
                                 data=b'{"query": "{ viewer { id } }"}', headers=headers,
                                 auth=("api", view_server.api_key))
        assert response.status_code == 415
        assert response.json()["errors"][0]["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    charset = requests.post(f"{view_server.url}/graphql", timeout=30,
                            data=b'{"query": "{ viewer { id } }"}',
                            headers={"Content-Type": "application/json; charset=utf-8"},
                            auth=("api", view_server.api_key))
    assert charset.status_code == 200


def test_sessions_expire(view_server: ViewServer, monkeypatch: pytest.MonkeyPatch) -> None:
    accepted = sign_in(view_server, Origin=view_server.url)
    assert f"Max-Age={server_module.SESSION_SECONDS}" in accepted.headers["Set-Cookie"]
    monkeypatch.setattr(server_module, "SESSION_SECONDS", 0)
    expired = sign_in(view_server, Origin=view_server.url)
    assert with_session(view_server, session_id(expired, view_server)) == 401
    assert with_session(view_server, session_id(accepted, view_server)) == 200


def test_sign_out_ends_the_session(view_server: ViewServer) -> None:
    with requests.Session() as browser:
        browser.headers["Origin"] = view_server.url
        session = session_id(sign_in(view_server, browser), view_server)
        page = browser.get(f"{view_server.url}/", timeout=30)
        assert page.status_code == 200
        assert '<form method="post" action="/logout"' in page.text
        assert requests.post(f"{view_server.url}/logout", timeout=30,
                             headers={"Cookie": f"{view_server.session_cookie}={session}",
                                      "Origin": "http://evil.example"}).status_code == 403
        assert with_session(view_server, session) == 200
        signed_out = browser.post(f"{view_server.url}/logout", timeout=30,
                                  allow_redirects=False)
        assert signed_out.status_code == 303 and signed_out.headers["Location"] == "/"
        assert "Max-Age=0" in signed_out.headers["Set-Cookie"]
        assert browser.get(f"{view_server.url}/", timeout=30).status_code == 401
    assert with_session(view_server, session) == 401
    assert requests.get(f"{view_server.url}/logout", timeout=30).status_code == 405


def test_signing_in_again_replaces_the_session(view_server: ViewServer) -> None:
    with requests.Session() as browser:
        browser.headers["Origin"] = view_server.url
        first = session_id(sign_in(view_server, browser), view_server)
        count = view_server.session_count
        for _ in range(20):
            sign_in(view_server, browser)
        assert view_server.session_count == count
        assert with_session(view_server, first) == 401
        assert browser.get(f"{view_server.url}/", timeout=30).status_code == 200
