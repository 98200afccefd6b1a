"""Shared fixtures: a real local view server over HTTP with a temporary SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from wsquery.apps.server import ViewServer
from wsquery.wandb.graphql import GraphQLClient, Settings


@pytest.fixture(scope="session")
def view_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ViewServer]:
    """One server for the whole session on 127.0.0.1 and a free port. ``.url`` is its base URL,
    ``.api_key`` a valid key for entity ``wsquery.apps.server.DEFAULT_ENTITY``; ``.add_key(entity)``
    makes keys for other entities. Use a project name of your own in each test."""
    db_path: Path = tmp_path_factory.mktemp("view-server") / "views.sqlite3"
    with ViewServer("127.0.0.1", 0, db_path) as server:
        yield server


@pytest.fixture(scope="session")
def server_settings(view_server: ViewServer) -> Settings:
    """Client settings for the session server: base URL, API key, app URL."""
    return Settings(base_url=view_server.url, api_key=view_server.api_key,
                    app_url=view_server.url)


@pytest.fixture
def client(server_settings: Settings) -> Iterator[GraphQLClient]:
    """A fresh client of the session server with test-sized timeouts and backoff."""
    with GraphQLClient(server_settings, timeout=(2.0, 10.0), retry_budget=5.0,
                       backoff=0.01, max_backoff=0.1) as graphql_client:
        yield graphql_client
