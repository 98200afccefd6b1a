"""The benchmark and the fuzz campaign run with the commands the README gives: short smoke runs
that check what they print and write, never a timing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *arguments], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_the_benchmark_prints_every_section() -> None:
    result = run("benchmarks/bench.py", "--quick")
    assert result.returncode == 0, result.stderr
    for heading in ("Query text -> saved filterV2 JSON", "numbers, strings and in lists",
                    "Scaling:", "Cache:", "Decompile (run-set JSON -> Query):", "Evaluator:",
                    "Filtering a table:", "Building a table (to_frame):",
                    "Fresh interpreters:"):
        assert heading in result.stdout, heading
    assert "import wsquery, compile 1 query:" in result.stdout
    # the table filtered by every mix, every path agreeing on the runs and their order
    assert "2,000 runs; " in result.stdout
    for mix in ("numbers: ", "state, tags, text: ", "regexes, in lists: "):
        assert mix in result.stdout, mix
    for engine in ("polars", "pandas", "duckdb", "sqlite", "python"):
        assert f"  {engine} " in result.stdout, engine
    assert "json_normalize" in result.stdout


def test_the_benchmark_runs_only_the_sections_asked_for() -> None:
    result = run("benchmarks/bench.py", "--quick", "--only", "cache,table",
                 "--table-runs", "300")
    assert result.returncode == 0, result.stderr
    assert "Cache:" in result.stdout and "300 runs; " in result.stdout
    assert "Scaling:" not in result.stdout
    refused = run("benchmarks/bench.py", "--only", "cahce")
    assert refused.returncode == 2 and "unknown sections cahce" in refused.stderr


def test_the_fuzz_campaign_reports_its_inputs_and_no_failure(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = run("benchmarks/fuzz_campaign.py", "--minutes", "0.01", "--examples", "50",
                 "--out", str(report))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "failures: 0" in result.stdout
    written = json.loads(report.read_text(encoding="utf-8"))
    assert written["failures"] == []
    assert all(count > 0 for count in written["inputs"].values()), written["inputs"]
    assert written["slowest"]
