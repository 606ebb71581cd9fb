"""The HTTP API in Toxiproxy's shape, and the command line (``python -m chaos.netproxy``)."""

from __future__ import annotations

import argparse
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chaos.netproxy.proxy import NetProxy, ProxyError, _address

# -- the HTTP API (Toxiproxy's shape) -------------------------------------------------------------------------


VERSION = "chaos.netproxy 1 (toxiproxy API subset)"


def _route(proxy: NetProxy, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    parts = [p for p in path.split("?")[0].split("/") if p]
    if parts == ["version"] and method == "GET":
        return 200, VERSION
    if parts == ["reset"] and method == "POST":
        proxy.reset()
        return 204, None
    if parts[:1] != ["proxies"]:
        raise ProxyError("not found", 404)
    if len(parts) == 1:
        if method == "GET":
            return 200, proxy.all()
        if method == "POST":
            return 201, proxy.create(str(body.get("name", "")), listen=str(body.get("listen", "")),
                                     upstream=str(body.get("upstream", "")), enabled=bool(body.get("enabled", True)))
    elif len(parts) == 2:
        name = parts[1]
        if method == "GET":
            return 200, proxy.get(name)
        if method in ("POST", "PATCH"):
            return 200, proxy.update(name, enabled=body.get("enabled"), listen=body.get("listen"),
                                     upstream=body.get("upstream"))
        if method == "DELETE":
            proxy.delete(name)
            return 204, None
    elif parts[2] == "toxics" and len(parts) == 3:
        if method == "GET":
            return 200, proxy.toxics(parts[1])
        if method == "POST":
            return 200, proxy.add_toxic(parts[1], type=str(body.get("type")), name=body.get("name"),
                                        stream=str(body.get("stream", "downstream")),
                                        toxicity=body.get("toxicity", 1.0), attributes=body.get("attributes"))
    elif parts[2] == "toxics" and len(parts) == 4:
        if method == "GET":
            return 200, proxy.toxic(parts[1], parts[3])
        if method in ("POST", "PATCH"):
            return 200, proxy.update_toxic(parts[1], parts[3], toxicity=body.get("toxicity"),
                                           attributes=body.get("attributes"))
        if method == "DELETE":
            proxy.remove_toxic(parts[1], parts[3])
            return 204, None
    raise ProxyError(f"{method} {path} is not part of the API", 405)


def serve_api(proxy: NetProxy, host: str = "127.0.0.1", port: int = 8474) -> ThreadingHTTPServer:
    """Serve the HTTP API in a daemon thread; ``server.server_address`` tells the port (0: a free one)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                if not isinstance(body, dict):
                    raise ProxyError("the body must be a JSON object")
                status, payload = _route(proxy, self.command, self.path, body)
            except ProxyError as exc:
                status, payload = exc.status, {"error": str(exc), "status": exc.status}
            except ValueError as exc:
                status, payload = 400, {"error": f"bad JSON: {exc}", "status": 400}
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = do_PATCH = _handle

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="chaos-netproxy-api", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos.netproxy",
                                     description="A TCP proxy with Toxiproxy's vocabulary and HTTP API.")
    parser.add_argument("--api", default="127.0.0.1:8474", help="host:port of the HTTP API (default %(default)s)")
    parser.add_argument("--proxy", action="append", default=[], metavar="NAME=LISTEN_HOST:PORT:UPSTREAM_HOST:PORT",
                        help="a proxy to create at start (repeatable)")
    args = parser.parse_args(argv)
    proxy = NetProxy()
    for spec in args.proxy:
        match = re.fullmatch(r"([^=]+)=([^:]+:\d+):([^:]+:\d+)", spec)
        if match is None:
            parser.error(f"--proxy {spec!r}: expected NAME=LISTEN_HOST:PORT:UPSTREAM_HOST:PORT")
        created = proxy.create(match[1], listen=match[2], upstream=match[3])
        print(f"proxy {created['name']}: {created['listen']} -> {created['upstream']}", flush=True)
    host, port = _address(args.api)
    server = serve_api(proxy, host, port)
    api_host, api_port = server.server_address[:2]
    print(f"API on http://{api_host!s}:{api_port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        proxy.close()
    return 0
