"""Shared fixtures: a real local view server over HTTP with a temporary SQLite file, a real
headless Chromium to load its pages, one local Spark session, a throwaway PostgreSQL cluster;
and the conformance harness's refusal summary at the end of the session."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wsquery.apps.server import ViewServer
from wsquery.wandb.graphql import GraphQLClient
from wsquery.wandb.settings import Settings

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

    def evaluate(self, url: str, expressions: list[str], size: tuple[int, int] = (1280, 900)
                 ) -> list[Any]:
        """The values of JavaScript ``expressions`` on the page at ``url`` once it loaded in a
        viewport of ``size``, asked over the DevTools protocol on a pipe (the pages forbid
        scripts of their own; DevTools reads them without any)."""
        with tempfile.TemporaryDirectory(prefix="wsquery-chromium-") as profile:
            to_browser, commands = os.pipe()
            answers, from_browser = os.pipe()

            def give_pipes() -> None:  # DevTools reads fd 3 and writes fd 4
                reading, writing = os.dup(to_browser), os.dup(from_browser)  # above 4
                os.dup2(reading, 3)
                os.dup2(writing, 4)

            process = subprocess.Popen(
                [self.executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                 "--remote-debugging-pipe", "about:blank"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=give_pipes, close_fds=False, start_new_session=True)
            os.close(to_browser)
            os.close(from_browser)
            try:
                with os.fdopen(commands, "wb") as writer, os.fdopen(answers, "rb") as reader:
                    return _DevTools(writer, reader).evaluate(url, expressions, size)
            finally:
                # Chromium's own children (renderer, GPU) write into the profile too: stop
                # them all before the profile is removed, or removing it races them
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


class _DevTools:
    """The DevTools protocol over Chromium's pipe: JSON messages ended by a NUL byte."""

    def __init__(self, writer: Any, reader: Any) -> None:
        self._writer = writer
        self._reader = reader
        self._next = 0
        self._buffer = b""

    def _message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._reader.fileno(), 1 << 16)
            assert chunk, "Chromium closed its DevTools pipe"
            self._buffer += chunk
        text, _, self._buffer = self._buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(text)
        return message

    def send(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        self._writer.write(json.dumps(message).encode() + b"\0")
        self._writer.flush()
        while True:
            answer = self._message()
            if answer.get("id") == self._next:
                assert "error" not in answer, answer["error"]
                result: dict[str, Any] = answer["result"]
                return result

    def wait_for(self, event: str, session: str) -> None:
        for _ in range(10_000):
            message = self._message()
            if message.get("method") == event and message.get("sessionId") == session:
                return
        raise AssertionError(f"no {event} from Chromium")

    def evaluate(self, url: str, expressions: list[str], size: tuple[int, int]) -> list[Any]:
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.send("Emulation.setDeviceMetricsOverride", session, width=size[0],
                  height=size[1], deviceScaleFactor=1, mobile=False)
        self.send("Page.enable", session)
        self.send("Page.navigate", session, url=url)
        self.wait_for("Page.loadEventFired", session)
        values = []
        for expression in expressions:
            answer = self.send("Runtime.evaluate", session, expression=expression,
                               returnByValue=True)
            assert "exceptionDetails" not in answer, answer["exceptionDetails"]
            values.append(answer["result"].get("value"))
        return values


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
