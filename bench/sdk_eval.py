"""Local flag evaluation: govctl's SDK against the official Unleash Python SDK (UnleashClient 6.9.1).

Both evaluate the same feature set for the same contexts, with no network during the timed loop:
UnleashClient is bootstrapped from a dict through its FileCache (never initialised, so it never
polls); govctl's FlagClient fetched the same snapshot once from a local HTTP server on 127.0.0.1
before timing (its poller then sleeps for the 300 s interval). Both answers are compared first,
so the benchmark also cross-checks the evaluators. Reports ops/s (best of several rounds) and the
ratio; the goal is ratio >= 1.

    .venv/bin/python bench/sdk_eval.py [--rounds 5] [--contexts 500] [--pure-python]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from govctl.flags.evaluation import State, evaluate
from govctl.sdk import FlagClient


def feature_set() -> dict[str, Any]:
    """A mix like a real service's: kill switches, rollouts, targeting, constraints, variants."""
    features: list[dict[str, Any]] = []
    for i in range(10):
        features.append({"name": f"switch-{i}", "enabled": i % 3 != 0, "strategies": [{"name": "default"}]})
    for i in range(10):
        features.append(
            {
                "name": f"rollout-{i}",
                "enabled": True,
                "strategies": [
                    {
                        "name": "flexibleRollout",
                        "parameters": {"rollout": str(10 * i), "stickiness": "userId", "groupId": f"rollout-{i}"},
                    }
                ],
            }
        )
    for i in range(10):
        features.append(
            {
                "name": f"targeted-{i}",
                "enabled": True,
                "strategies": [
                    {"name": "userWithId", "parameters": {"userIds": ",".join(str(u) for u in range(i, 400, 7))}},
                    {
                        "name": "flexibleRollout",
                        "parameters": {"rollout": "50", "stickiness": "default", "groupId": f"targeted-{i}"},
                        "constraints": [
                            {"contextName": "plan", "operator": "IN", "values": ["pro", "enterprise"]},
                            {"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@example.com"]},
                            {"contextName": "appVersion", "operator": "SEMVER_GTE", "value": "2.3.0"},
                            {"contextName": "seats", "operator": "NUM_GT", "value": str(i)},
                        ],
                    },
                ],
            }
        )
    for i in range(10):
        features.append(
            {
                "name": f"experiment-{i}",
                "enabled": True,
                "strategies": [
                    {
                        "name": "flexibleRollout",
                        "parameters": {"rollout": "80", "stickiness": "default", "groupId": f"experiment-{i}"},
                        "segments": [1],
                    }
                ],
                "variants": [
                    {"name": "control", "weight": 500, "stickiness": "default"},
                    {"name": "treatment", "weight": 500, "stickiness": "default",
                     "payload": {"type": "string", "value": "new"}},
                ],
            }
        )  # fmt: skip
    segments = [{"id": 1, "constraints": [{"contextName": "country", "operator": "NOT_IN", "values": ["XX"]}]}]
    return {"version": 2, "features": features, "segments": segments, "revision": 1}


def contexts(count: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    return [
        {
            "userId": str(rng.randrange(1000)),
            "sessionId": f"s-{rng.randrange(10**6)}",
            "properties": {
                "plan": rng.choice(["free", "pro", "enterprise"]),
                "email": rng.choice(["a@example.com", "b@other.org"]),
                "appVersion": rng.choice(["2.2.9", "2.3.0", "2.10.1"]),
                "seats": str(rng.randrange(20)),
                "country": rng.choice(["NO", "SE", "XX"]),
            },
        }
        for _ in range(count)
    ]


def serve(snapshot: dict[str, Any]) -> ThreadingHTTPServer:
    body = json.dumps(snapshot).encode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("ETag", '"bench"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def unleash_client(snapshot: dict[str, Any], cache_dir: str) -> Any:
    from UnleashClient import UnleashClient
    from UnleashClient.cache import FileCache

    cache = FileCache("govctl-bench", directory=cache_dir)
    cache.bootstrap_from_dict(snapshot)
    # Never initialised: a bootstrapped client evaluates from the cache without contacting a server.
    return UnleashClient(
        url="http://127.0.0.1:9/unused",
        app_name="govctl-bench",
        disable_metrics=True,
        disable_registration=True,
        cache=cache,
    )


def ops_per_second(check: Callable[[str, dict[str, Any]], bool], pairs: list[tuple[str, dict]], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for name, context in pairs:
            check(name, context)
        best = min(best, time.perf_counter() - start)
    return len(pairs) / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--contexts", type=int, default=500)
    parser.add_argument("--pure-python", action="store_true", help="hash with govctl's pure-Python murmur3, not mmh3")
    args = parser.parse_args(argv)
    if args.pure_python:
        import govctl.flags.murmur

        govctl.flags.murmur.hash32 = govctl.flags.murmur._pure_hash32  # as installed without the "fast" extra
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")

    snapshot = feature_set()
    names = [f["name"] for f in snapshot["features"]]
    pairs = [(name, ctx) for ctx in contexts(args.contexts) for name in names]

    server = serve(snapshot)
    ours = FlagClient(
        url=f"http://127.0.0.1:{server.server_address[1]}",
        token="bench",  # noqa: S106  # the local stand-in server checks no token
        service="bench",
        environment="production",
        lkg_path=tempfile.mkdtemp() + "/lkg.json",
    )
    ours.start()
    assert ours.source == "portal", ours.last_error
    state = State(snapshot)

    with tempfile.TemporaryDirectory() as cache_dir:
        theirs = unleash_client(snapshot, cache_dir)
        mismatches = [(n, c) for n, c in pairs if ours.is_enabled(n, c) != theirs.is_enabled(n, c)]
        variant_mismatches = [
            (n, c)
            for n, c in pairs
            if n.startswith("experiment") and ours.get_variant(n, c).name != theirs.get_variant(n, c)["name"]
        ]
        print(f"feature set: {len(names)} flags x {args.contexts} contexts = {len(pairs)} evaluations per round")
        print(f"answers that differ: is_enabled {len(mismatches)}, get_variant {len(variant_mismatches)}")

        theirs_ops = ops_per_second(theirs.is_enabled, pairs, args.rounds)
        ours_ops = ops_per_second(ours.is_enabled, pairs, args.rounds)
        engine_ops = ops_per_second(lambda n, c: evaluate(state, n, c).enabled, pairs, args.rounds)
        theirs.destroy()
    ours.stop()
    server.shutdown()

    hashing = "pure-Python murmur3" if args.pure_python else "mmh3"
    print(f"govctl hashing with {hashing}")
    print(f"UnleashClient 6.9.1 is_enabled : {theirs_ops:>12,.0f} ops/s")
    print(f"govctl FlagClient.is_enabled   : {ours_ops:>12,.0f} ops/s")
    print(f"govctl evaluate() (engine only): {engine_ops:>12,.0f} ops/s")
    print(f"ratio govctl / UnleashClient   : {ours_ops / theirs_ops:.2f}x (goal >= 1)")
    return 0 if not mismatches and not variant_mismatches else 1


if __name__ == "__main__":
    sys.exit(main())
