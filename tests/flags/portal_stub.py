"""A real HTTP server on 127.0.0.1 that plays the portal's snapshot and heartbeat endpoints."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from govctl.flags.snapshot import canonical_json, sign_snapshot

TOKEN = "test-token"
SECRET = "snapshot-signing-secret"


class PortalStub:
    def __init__(self) -> None:
        self.body = b""
        self.etag = ""
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self.heartbeats: list[dict[str, Any]] = []
        self.queries: list[dict[str, list[str]]] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
                # recorded before answering, so the test sees it as soon as the client has its reply
                with stub.lock:
                    stub.requests.append((self.command, urlparse(self.path).path, status))
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._reply(401, b'{"detail": "bad token"}')
                if url.path != "/api/v1/flags/snapshot":
                    return self._reply(404)
                with stub.lock:
                    stub.queries.append(parse_qs(url.query))
                    body, etag = stub.body, stub.etag
                if self.headers.get("If-None-Match") == etag:
                    return self._reply(304, headers={"ETag": etag})
                self._reply(
                    200, body, {"ETag": etag, "Content-Type": "application/json", "Cache-Control": "max-age=300"}
                )

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                payload = json.loads(self.rfile.read(length) or b"null")
                if urlparse(self.path).path != "/api/v1/flags/heartbeat":
                    return self._reply(404)
                with stub.lock:
                    stub.heartbeats.append(payload)
                self._reply(204)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def publish(self, features: list[dict[str, Any]], revision: int, *, sign: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "version": 2,
            "features": features,
            "segments": [],
            "revision": revision,
            "generated_at": "2025-01-01T00:00:00Z",
        }
        if sign:
            body["signature"] = sign_snapshot(body, SECRET)
        with self.lock:
            self.body = json.dumps(body).encode()
            self.etag = '"' + hashlib.sha256(canonical_json(body)).hexdigest()[:16] + '"'
        return body

    def count(self, method: str, path_suffix: str, status: int | None = None) -> int:
        with self.lock:
            return sum(
                1
                for m, p, s in self.requests
                if m == method and p.endswith(path_suffix) and (status is None or s == status)
            )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
