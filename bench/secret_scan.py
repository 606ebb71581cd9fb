"""Cost of the portal's refusal of secrets in evidence (governance.secret_scan.scan) on large, clean evidence.

Baseline, measured in the same run: detect-secrets' own ad-hoc path (`detect_secrets.core.scan.scan_line` under
its default settings) over every line of every string, the plain way to ask the library. Reports the median and
p90 of --runs runs per payload and the ratio to the baseline.

    .venv/bin/python bench/secret_scan.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "client")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings_test")


def _payloads() -> dict[str, Any]:
    lines = [f"- **cart:** save carts for later (#{i}) (a1b2c3d) by Dana <dana@example.com>" for i in range(2500)]
    artifacts = {"matrix": [{"python": "3.11", "image": "registry.example.com/shop@sha256:" + "ab" * 32, "n": str(i)}
                            for i in range(500)]}
    return {"changelog 2,500 lines (194 KB)": {"changelog": "\n".join(lines)},
            "artifacts 1,500 strings": {"artifacts": artifacts},
            "check summary (1 line)": {"summary": "412 passed, 3 skipped", "url": "https://ci.example.com/run/7"}}


def _strings(value: Any) -> list[str]:
    from governance.secret_scan import _all_strings

    return _all_strings(value)


def _library_loop(payload: Any) -> int:
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import default_settings

    with default_settings():
        return sum(1 for text in _strings(payload) for line in text.splitlines() for _ in scan_line(line))


def _time(function: Callable[[Any], Any], payload: Any, runs: int) -> list[float]:
    function(payload)  # warm: regexes compiled, plugins loaded
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        function(payload)
        out.append(time.perf_counter() - start)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from governance.secret_scan import scan

    print(f"{'payload':34} {'scan median s':>13} {'p90':>7} {'library loop s':>14} {'ratio':>6}")
    for name, payload in _payloads().items():
        ours = _time(scan, payload, args.runs)
        theirs = _time(_library_loop, payload, args.runs)
        p90 = statistics.quantiles(ours, n=10)[-1] if len(ours) > 1 else ours[0]
        print(f"{name:34} {statistics.median(ours):13.3f} {p90:7.3f} {statistics.median(theirs):14.3f} "
              f"{statistics.median(ours) / statistics.median(theirs):6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
