"""Shared fixtures: a real local view server over HTTP with a temporary SQLite file, a real
headless Chromium to load its pages, one local Spark session, a throwaway PostgreSQL cluster;
and the conformance harness's refusal summary at the end of the session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wsquery.apps.server import ViewServer
from wsquery.wandb.graphql import GraphQLClient, Settings

from .conformance import TALLY, PostgresCluster


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


#: The environment W&B's SDK runs in here: quiet, no error reports, no git or code capture.
WANDB_ENVIRONMENT = {"WANDB_SILENT": "true", "WANDB_ERROR_REPORTING": "false",
                     "WANDB_DISABLE_CODE": "true", "WANDB_DISABLE_GIT": "true"}
#: Where W&B's SDK keeps its files: a temporary folder.
WANDB_FOLDERS = ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR")


@pytest.fixture(scope="module")
def wandb_environment(view_server: ViewServer, tmp_path_factory: pytest.TempPathFactory
                      ) -> Iterator[None]:
    """W&B's environment variables (``WANDB_BASE_URL``, ``WANDB_API_KEY``) pointing W&B's own
    clients at the session server, with the SDK's files in a temporary folder; the SDK's
    service process ends with the module."""
    import wandb

    folder = tmp_path_factory.mktemp("wandb")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in WANDB_ENVIRONMENT.items():
            patch.setenv(name, value)
        for name in WANDB_FOLDERS:
            patch.setenv(name, str(folder))
        patch.setenv("WANDB_BASE_URL", view_server.url)
        patch.setenv("WANDB_API_KEY", view_server.api_key)
        yield
        wandb.teardown()


@pytest.fixture
def client(server_settings: Settings) -> Iterator[GraphQLClient]:
    """A fresh client of the session server with test-sized timeouts and backoff."""
    with GraphQLClient(server_settings, timeout=(2.0, 10.0), deadline=5.0,
                       backoff=0.01, max_backoff=0.1) as graphql_client:
        yield graphql_client


#: Chromium's flags for a machine without network: no background connections, no first run.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars")


class Chromium:
    """Headless Chromium run as a subprocess, each call with a fresh profile (so no cookie
    carries over between calls)."""

    def __init__(self, executable: str) -> None:
        self.executable = executable

    def _run(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        with tempfile.TemporaryDirectory(prefix="wsquery-chromium-") as profile:
            result = subprocess.run(
                [self.executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments],
                capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stderr[-2000:]
        return result

    def dom(self, url: str) -> str:
        """The page's DOM after it loaded, serialized."""
        return self._run("--dump-dom", url).stdout

    def screenshot(self, url: str, path: Path, size: tuple[int, int] = (1400, 1000)) -> Path:
        """A PNG of the page as a window of ``size`` shows it."""
        self._run(f"--screenshot={path}", f"--window-size={size[0]},{size[1]}", url)
        assert path.stat().st_size > 0
        return path


@pytest.fixture(scope="session")
def chromium() -> Chromium:
    """Debian's chromium; a machine without it fails the page tests under CI (``.ci/run``
    installs it) and skips them, saying why, elsewhere."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        message = "the view-page tests need Chromium: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message + " (set CI to fail instead)")
    return Chromium(executable)


def artifacts_folder() -> Path:
    path = Path(os.environ.get("WSQUERY_TEST_ARTIFACTS") or Path(__file__).parent / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where tests keep what a person may want to look at (screenshots, the conformance
    summary): ``$WSQUERY_TEST_ARTIFACTS``, else tests/artifacts/ (ignored by git)."""
    return artifacts_folder()


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session for the test run, in UTC, on 127.0.0.1 (pyspark is a test
    dependency). A machine without Java fails the Spark tests under CI (``.ci/run`` installs
    it) and skips them, saying why, elsewhere."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        message = "the Spark tests need Java 17: apt-get install openjdk-17-jre-headless"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message + " (set CI to fail instead)")

    session = (SparkSession.builder.master("local[1]").appName("wsquery-tests")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "1")
               .getOrCreate())
    yield session
    session.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A connection to a throwaway PostgreSQL 15 cluster, stopped and removed at the end. A
    machine that cannot start one fails the tests under CI (``.ci/run`` installs it) and
    skips them, saying why, elsewhere."""
    cluster = PostgresCluster()
    try:
        cluster.start()
        connection = cluster.connect()
    except Exception as error:  # whatever stops the server: the message says
        cluster.stop()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL did not start: {error}")
        pytest.skip(f"PostgreSQL did not start (set CI to fail instead): {error}")
    try:
        yield connection
    finally:
        connection.close()
        cluster.stop()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Each target's refusals in the conformance tests, printed and written to
    conformance.json and conformance.md among the artifacts."""
    summary = TALLY.summary()
    if not summary:
        return
    folder = artifacts_folder()
    (folder / "conformance.json").write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
    (folder / "conformance.md").write_text(TALLY.markdown() + "\n", "utf-8")
    terminalreporter.section("conformance: refusals per target")
    for line in TALLY.markdown().splitlines():
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"(written to {folder / 'conformance.md'} and .json)")
