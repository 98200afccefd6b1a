"""Time query text -> run-set JSON at several sizes, and ``import wsquery``; print medians.

    python benchmarks/bench.py [--rounds 7] [--per-round 200]

Every timed string is distinct (the leaf literals change), so no cache can serve a repeat.
Figures are medians over rounds; compare them with each other, not across machines.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_LEAVES = [
    'summary.val_loss <= {n}',
    'config.lr >= 0.00{n}',
    'state == "finished"',
    'config.optimizer in ["adam", "sgd{n}"]',
    'summary.acc >= 0.{n}',
    'created_at within last {n}d',
    'tags contains "best{n}"',
    'config.batch_size != {n}',
]


def query_with(leaves: int, serial: int) -> str:
    """A query of ``leaves`` conditions joined by and/or, its literals varied by ``serial``."""
    parts = [_LEAVES[i % len(_LEAVES)].format(n=serial + i + 1) for i in range(leaves)]
    text = parts[0]
    for index, part in enumerate(parts[1:], 1):
        text += (" or " if index % 5 == 0 else " and ") + part
    return text


def time_compile(leaves: int, rounds: int, per_round: int) -> float:
    """Median seconds for one string -> ``compile(...).to_json()``."""
    import wsquery

    medians = []
    serial = 0
    for _ in range(rounds):
        texts = [query_with(leaves, serial + i) for i in range(per_round)]
        serial += per_round
        start = time.perf_counter()
        for text in texts:
            wsquery.compile(text).to_json()
        medians.append((time.perf_counter() - start) / per_round)
    return statistics.median(medians)


def time_import(rounds: int) -> float:
    """Median seconds for ``import wsquery`` in a fresh interpreter (minus an empty one)."""
    def run(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
        return time.perf_counter() - start

    with_import = [run("import wsquery") for _ in range(rounds)]
    bare = [run("pass") for _ in range(rounds)]
    return statistics.median(with_import) - statistics.median(bare)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--per-round", type=int, default=200)
    args = parser.parse_args()
    print(f"{'leaves':>8} {'median µs':>10} {'µs/leaf':>8}")
    for leaves in (1, 4, 10, 40):
        seconds = time_compile(leaves, args.rounds, max(1, args.per_round // leaves))
        print(f"{leaves:>8} {seconds * 1e6:>10.1f} {seconds * 1e6 / leaves:>8.1f}")
    print(f"import wsquery: {time_import(args.rounds) * 1e3:.1f} ms (median, fresh interpreter)")


if __name__ == "__main__":
    main()
