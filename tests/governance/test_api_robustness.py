"""Bad input to any API operation gets a 4xx problem-JSON answer: never a 500, never half-written data.

The operations come from the OpenAPI schema the portal serves, and the malformed requests are derived from
each operation's parameters and request body, so a new endpoint is covered without touching this file. A
route under /api/ (or /ofrep/) that the schema leaves out fails `test_schema__documents_every_api_route`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from governance.models import Scope
from tests.governance.robustness import RowCounter, isolated, recording

API_PREFIXES = ("api/", "ofrep/")
DOCUMENTATION_VIEWS = (SpectacularAPIView, SpectacularRedocView)  # the schema does not list itself
PROBLEM_MEMBERS = {"type", "title", "status", "detail"}
# OFREP (https://openfeature.dev/specification/appendix-c) fixes its own error body for evaluation failures:
# {key, errorCode, errorDetails}; OpenFeature providers parse that, so those answers keep it.
OFREP_ERROR_MEMBERS = {"errorCode", "errorDetails"}
BIG = 2**63
# The service and environment flag delivery reads from headers; harmless for every other endpoint.
TARGET_HEADERS = {"X-Governance-Service": "shop", "X-Governance-Environment": "production"}


# --- the schema --------------------------------------------------------------------------------------


@cache
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations() -> list[tuple[str, str]]:
    return [(method.upper(), path) for path, item in schema()["paths"].items() for method in item
            if method in {"get", "post", "put", "patch", "delete"}]


def resolve(node: Any) -> Any:
    """Follow $ref (and single-element allOf) into components."""
    while isinstance(node, dict) and ("$ref" in node or len(node.get("allOf", [])) == 1):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            node = {**schema()["components"]["schemas"][name], **{k: v for k, v in node.items() if k != "$ref"}}
        else:
            node = {**resolve(node["allOf"][0]), **{k: v for k, v in node.items() if k != "allOf"}}
    return node


def request_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    media = content.get("application/json")
    return resolve(media["schema"]) if media and "schema" in media else None


# --- the routes --------------------------------------------------------------------------------------


def api_routes() -> Iterator[tuple[str, Any]]:
    """(path template with {} for each parameter, view callback) for every route under the API prefixes."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, Any]]:
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, route)
            elif isinstance(entry, URLPattern):
                yield route, entry.callback

    for route, callback in walk(get_resolver().url_patterns, ""):
        route = route.lstrip("^").rstrip("$")
        if route.startswith(API_PREFIXES):
            yield "/" + re.sub(r"<(?:\w+:)?\w+>", "{}", route), callback


def _template(path: str) -> str:
    return re.sub(r"\{\w+\}", "{}", path)


def undocumented_routes() -> list[str]:
    """Routes (and methods) under the API prefixes that the OpenAPI schema does not document."""
    documented: dict[str, set[str]] = {}
    for method, path in operations():
        documented.setdefault(_template(path), set()).add(method)
    missing = []
    for route, callback in api_routes():
        view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if view is not None and issubclass(view, DOCUMENTATION_VIEWS):
            continue
        if view is None:
            methods = {"ANY"}
        else:
            methods = {m.upper() for m in view.http_method_names if m not in ("options", "head") and hasattr(view, m)}
        for method in sorted(methods - documented.get(route, set())):
            missing.append(f"{method} {route}")
    return missing


def test_schema__documents_every_api_route():
    assert undocumented_routes() == []


def test_schema_check__catches_an_undocumented_route(settings):
    settings.ROOT_URLCONF = "tests.governance.urls_undocumented"
    schema.cache_clear()
    try:
        assert undocumented_routes() == ["POST /api/v1/undocumented", "ANY /api/v1/plain-django"]
    finally:
        schema.cache_clear()


def test_fuzzed_operations__include_flag_delivery_and_the_audit_export():
    paths = {path for _, path in operations()}
    assert {"/api/v1/audit/export", "/ofrep/v1/evaluate/flags/{key}", "/ofrep/v1/evaluate/flags",
            "/api/client/features", "/api/client/register", "/api/client/metrics"} <= paths


# --- the world the requests aim at -------------------------------------------------------------------


@dataclass
class World:
    """Real rows for path parameters and reference fields, so bad input reaches validation and services."""

    by_name: dict[str, Any]
    by_collection: dict[str, Any]
    fields: dict[str, Any]
    secret: str  # a token with every scope

    def path_value(self, path: str, name: str) -> str:
        segments = path.strip("/").split("/")
        collection = segments[segments.index("{" + name + "}") - 1]
        value = self.by_name.get(name, self.by_collection.get(collection, "1"))
        return str(value)


@pytest.fixture
def world(service, system_user, make_token, tmp_path) -> World:
    from flags import services as flag_services
    from recovery import services as recovery_services
    from releases import services as release_services
    from schemaplans import services as plan_services

    release = release_services.register_release(service=service, version="1.0.0", build_sha="c0ffee" + "0" * 34,
                                                actor=system_user, reason="fixture").release
    plan = plan_services.create_plan(service=service, slug="orders-status-code", table="orders",
                                     columns=["status_code"], verification_sql="SELECT 0", actor=system_user,
                                     reason="fixture")
    backfill = plan_services.create_backfill(name="orders: copy status", table="orders", plan=plan,
                                             sql="UPDATE orders SET status_code = 1 WHERE id >= %(lo)s AND id < %(hi)s",
                                             actor=system_user, reason="fixture")
    target = recovery_services.create_backup_target(name="shop-db", dsn_env="GOV_FUZZ_UNSET_DSN",
                                                    directory=str(tmp_path / "backups"), service=service,
                                                    actor=system_user, reason="fixture")
    # Queued only: on_commit never fires inside the test's transaction, so no drill runs.
    drill = recovery_services.request_drill(target=target, kind="restore", actor=system_user, reason="fixture")
    flag = flag_services.create_flag(service=service, key="new-checkout", actor=system_user, reason="fixture")
    run, fault = _chaos_rows(service, system_user)
    return World(
        by_name={"service": service.slug, "version": release.version, "key": flag.key, "slug": plan.slug},
        by_collection={"releases": release.pk, "backfills": backfill.pk, "drills": drill.pk, "runs": run.pk,
                       "faults": fault.pk},
        fields={**KNOWN, "release": release.pk},
        secret=make_token(*Scope.values),
    )


def _chaos_rows(service: Any, system_user: Any) -> tuple[Any, Any]:
    """An experiment keyed like the flag (so /experiments/shop/new-checkout/export exists), a pending run, a fault."""
    from chaos import ctk
    from chaos import services as chaos_services
    from governance.models import Environment

    preview = Environment.objects.get(slug="preview")
    experiment = chaos_services.save_experiment(service=service, key="new-checkout", actor=system_user,
                                                reason="fixture", definition={
        "title": "fixture", "description": "fixture", "method": [ctk.fault_action(name="inject", service=service.slug, environment="preview",
                                                        kind="http_errors", params={}, reason="fixture")]})
    run = chaos_services.request_run(experiment=experiment, environment=preview, actor=system_user, reason="fixture")
    fault = chaos_services.create_fault(service=service, environment=preview, kind="http_latency", ttl_seconds=600,
                                        actor=system_user, reason="fixture", run=run)
    return run, fault


# --- valid-looking values from the schema -------------------------------------------------------------

_minute = (datetime.now(UTC) - timedelta(minutes=5)).replace(second=0, microsecond=0)
# Values for fields the fixtures give a meaning to (a field's name means the same across the API).
KNOWN: dict[str, Any] = {
    "service": "shop", "environment": "production", "target": "shop-db", "reason": "robustness test",
    "instance_id": "fuzz-1", "minute": _minute.isoformat(), "total": 10, "version": "1.0.1",
}
PATTERN_SAMPLES = ["shop", "a" * 40, "1.0.0", "robustness"]


def sample(node: Any, known: dict[str, Any], name: str = "") -> Any:
    """A plausible valid value for a schema node: its required properties and those `known` gives values for."""
    node = resolve(node)
    if name in known:
        return known[name]
    if node.get("enum"):
        return next(v for v in node["enum"] if v is not None)
    kind = node.get("type")
    if kind == "string":
        fmt = node.get("format", "")
        if fmt == "date-time":
            return datetime.now(UTC).isoformat()
        if fmt == "date":
            return "2025-01-31"
        if fmt == "uri":
            return "https://example.com/x"
        if "pattern" in node:
            return next((s for s in PATTERN_SAMPLES if re.search(node["pattern"], s)), "robustness")
        return "robustness"
    if kind == "integer":
        return max(node.get("minimum", 1), 1)
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return False
    if kind == "array":
        return [sample(node["items"], known)] if "items" in node else []
    if kind == "object" or "properties" in node:
        required = set(node.get("required", []))
        return {key: sample(child, known, key) for key, child in node.get("properties", {}).items()
                if key in required or key in known}
    return {}


# --- malformed values ---------------------------------------------------------------------------------

BAD_VALUES: dict[str, Any] = {
    "string": "robustness",
    "empty string": "",
    "negative": -1,
    "2**63": BIG,
    "-2**63-1": -BIG - 1,
    "2**63 as text": str(BIG),
    "float": 1.5,
    "true": True,
    "'true'": "true",
    "null": None,
    "empty list": [],
    "list": ["robustness", 1],
    "empty object": {},
    "object": {"a": {"b": [1]}},
    "10k chars": "x" * 10_000,
    "NUL": "a\x00b",
    "NUL in a list": ["a\x00b"],
    "NUL in an object": {"k": "a\x00b", "a\x00b": 1},
    "unicode": "ü😀\u202e\u0301",
    "lone surrogate": "\ud800",
    "lone surrogate in an object": {"k": "\udfff"},
    "nested 800 deep": {"k": json.loads("[" * 800 + "]" * 800)},
    "nested 33 deep": {"k": json.loads("[" * 33 + "]" * 33)},
    "NUL deep in an object": {"a": [{"b": {"c": "\x00"}}]},
    "NUL only in a key": {"a\x00": "b"},
}
# Items of nested arrays get a shorter list: type confusion and the classic database breakers.
NESTED_BAD = ["null", "empty list", "object", "2**63", "10k chars", "NUL", "lone surrogate", "'true'"]

BAD_BODIES: dict[str, bytes] = {
    "not JSON": b"{not json",
    "truncated JSON": b'{"reason": "x"',
    "empty body": b"",
    "JSON array": b"[]",
    "JSON array of an object": b"[{}]",
    "JSON string": b'"robustness"',
    "JSON null": b"null",
    "JSON number": b"42",
    "empty object": b"{}",
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "nested 900 deep": b'{"k": ' + b"[" * 900 + b"]" * 900 + b"}",
    "invalid UTF-8": b'{"reason": "\xff\xfe"}',
    "NUL escape in a key": b'{"\\u0000": 1}',
    "3 MB": json.dumps({"reason": "x" * 3_000_000}).encode(),
}

BAD_PATH_VALUES = ["0", "-1", str(BIG), "abc", "%00", "x" * 300, "%C3%BC%F0%9F%98%80", "a%2Fb", "%ff"]
BAD_QUERY_VALUES = ["", "x" * 10_000, "a\x00b", str(BIG), "-1", "not-a-date", "2025-13-45", "ü😀"]
BAD_HEADERS: dict[str, dict[str, str]] = {
    "service header of 10k chars": {"X-Governance-Service": "x" * 10_000},
    "unknown service header": {"X-Governance-Service": "no-such-service"},
    "unknown environment header": {"X-Governance-Environment": "no-such-env"},
    "garbage If-None-Match": {"If-None-Match": 'W/"", *, "' + "x" * 5000},
    "Idempotency-Key of 201 chars": {"Idempotency-Key": "k" * 201},
    "unicode Idempotency-Key": {"Idempotency-Key": "clé-ü"},
    "no scheme and no token": {"Authorization": "Bearer"},
    "two tokens": {"Authorization": "Bearer a b"},
    "Basic auth": {"Authorization": "Basic dXNlcjpwYXNz"},
    "unknown token": {"Authorization": "Bearer gov_unknown"},
}


# --- the cases ----------------------------------------------------------------------------------------


@dataclass
class Case:
    label: str
    path_params: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] | str | None = None
    body: bytes | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def _json(value: Any) -> bytes:
    # ensure_ascii: a lone surrogate travels as the \ud800 escape real clients send, not as invalid UTF-8
    return json.dumps(value, ensure_ascii=True).encode()


def _as_list_item(base: dict[str, Any], key: str, changed: Any) -> dict[str, Any]:
    return {**base, key: [changed]}


def _field_cases(base: dict[str, Any], node: dict[str, Any], known: dict[str, Any], trail: str,
                 place: Callable[[Any], Any]) -> Iterator[Case]:
    """Each required field left out, each field given each bad value; one level into arrays of objects."""
    for key in node.get("required", []):
        yield Case(f"{trail}{key} missing", body=_json(place({k: v for k, v in base.items() if k != key})))
    for key, child in node.get("properties", {}).items():
        child = resolve(child)
        if child.get("readOnly"):
            continue
        names = BAD_VALUES if not trail else NESTED_BAD
        for label in names:
            yield Case(f"{trail}{key} = {label}", body=_json(place({**base, key: BAD_VALUES[label]})))
        items = resolve(child.get("items", {}))
        if child.get("type") == "array" and "properties" in items and not trail:
            item = sample(items, known)
            yield from _field_cases(item, items, known, f"{key}[0].",
                                    partial(_as_list_item, base, key))


def cases(method: str, path: str, world: World) -> Iterator[Case]:
    operation = schema()["paths"][path][method.lower()]
    parameters = [resolve(p) for p in operation.get("parameters", [])]
    path_names = [p["name"] for p in parameters if p["in"] == "path"]
    valid_path = {name: world.path_value(path, name) for name in path_names}
    query_params = [p for p in parameters if p["in"] == "query"]
    valid_query = {p["name"]: sample(p.get("schema", {}), world.fields, p["name"]) for p in query_params if p.get("required")}
    body_schema = request_schema(operation)
    valid_body = sample(body_schema, world.fields) if body_schema is not None else None
    body = _json(valid_body) if valid_body is not None else None

    yield Case("valid-looking request", valid_path, valid_query, body)
    for name in path_names:
        for value in BAD_PATH_VALUES:
            yield Case(f"path {name} = {value[:20]}", {**valid_path, name: value}, valid_query, body)
    for p in query_params:
        name = p["name"]
        if p.get("required"):
            yield Case(f"query {name} missing", valid_path, {k: v for k, v in valid_query.items() if k != name}, body)
        for value in BAD_QUERY_VALUES:
            yield Case(f"query {name} = {value[:20]!r}", valid_path, {**valid_query, name: value}, body)
        yield Case(f"query {name} repeated", valid_path, urlencode({**valid_query, name: ["a", "b"]}, doseq=True),
                   body)
    yield Case("unknown query parameter", valid_path, {**valid_query, "zzz": "1"}, body)
    yield Case("query format = bogus", valid_path, {**valid_query, "format": "bogus"}, body)
    yield Case("query string not UTF-8", valid_path, "service=%ff%fe&environment=%00", body)
    for label, headers in BAD_HEADERS.items():
        yield Case(f"header: {label}", valid_path, valid_query, body, headers=headers)
    for p in parameters:
        if p["in"] == "header":
            for value in ["", "x" * 10_000, "*", 'W/"x", "y"']:
                yield Case(f"header {p['name']} = {value[:20]!r}", valid_path, valid_query, body,
                           headers={p["name"]: value})
    if method in ("POST", "PUT", "PATCH"):
        for label, raw in BAD_BODIES.items():
            yield Case(f"body: {label}", valid_path, valid_query, raw)
        yield Case("body: form-encoded", valid_path, valid_query, b"reason=x", "application/x-www-form-urlencoded")
        yield Case("body: text/plain", valid_path, valid_query, b"{}", "text/plain")
        if body_schema is not None and isinstance(valid_body, dict):
            for case in _field_cases(valid_body, body_schema, world.fields, "", lambda changed: changed):
                case.path_params, case.query = valid_path, valid_query
                yield case


# --- sending and judging ------------------------------------------------------------------------------


def _url(path: str, case: Case) -> str:
    url = path
    for name, value in case.path_params.items():
        # Values are sent as written: some are already percent-encoded on purpose (%00, %ff).
        url = url.replace("{" + name + "}", value if "%" in value else quote(value, safe=""))
    if case.query:
        query = case.query if isinstance(case.query, str) else urlencode(case.query, doseq=True)
        url += "?" + query
    return url


def _judge(path: str) -> Callable[[Any], str]:
    def check(response: Any) -> str:
        if not 400 <= response.status_code < 500:
            return ""
        try:
            body = json.loads(response.content)
        except ValueError:
            return f"answered {response.status_code} without a JSON body: {response.content[:200]!r}"
        if not isinstance(body, dict):
            return f"answered {response.status_code} with a non-object body {body!r}"
        if path.startswith("/ofrep/") and OFREP_ERROR_MEMBERS <= body.keys():
            return ""
        missing = PROBLEM_MEMBERS - body.keys()
        if missing:
            return f"answered {response.status_code} without problem members {sorted(missing)}: {body}"
        if response["Content-Type"] != "application/problem+json":
            return f"answered {response.status_code} as {response['Content-Type']}, not application/problem+json"
        if body["status"] != response.status_code:
            return f"problem status {body['status']} differs from the HTTP status {response.status_code}"
        return ""

    return check


def _send(client: APIClient, method: str, path: str, case: Case, secret: str, idempotency: bool) -> Callable[[], Any]:
    headers = {"Authorization": f"Bearer {secret}", **TARGET_HEADERS, **case.headers}
    if method == "POST" and idempotency and "Idempotency-Key" not in case.headers:
        headers["Idempotency-Key"] = uuid.uuid4().hex
    url = _url(path, case)
    return partial(client.generic, method, url, case.body or b"", content_type=case.content_type,  # type: ignore[arg-type]  # bytes bodies are fine; the stubs say str
                   headers=headers)


@pytest.mark.parametrize(("method", "path"), operations(), ids=[f"{m} {p}" for m, p in operations()])
def test_malformed_requests__get_4xx_problem_json_and_write_nothing(method, path, world):
    client = APIClient(raise_request_exception=False)
    counter = RowCounter()
    check = _judge(path)
    with recording() as recorder:
        for number, case in enumerate(cases(method, path, world)):
            send = _send(client, method, path, case, world.secret, idempotency=bool(number % 2))  # both paths, in turn
            isolated(recorder, counter, f"{method} {path} [{case.label}]", send, check)
    recorder.assert_clean()


# --- random JSON (hypothesis) on top of the fixed cases ------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10)
BODY_OPERATIONS = [(m, p) for m, p in operations() if request_schema(schema()["paths"][p][m.lower()]) is not None]


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS, ids=[f"{m} {p}" for m, p in BODY_OPERATIONS])
@hypothesis_settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_json_in_a_field__gets_4xx_problem_json_and_writes_nothing(method, path, world, data):
    operation = schema()["paths"][path][method.lower()]
    body_schema = request_schema(operation)
    assert body_schema is not None  # the parametrisation only lists operations that take a JSON body
    body = sample(body_schema, world.fields)
    properties = sorted(body_schema.get("properties", {}))
    if properties and data.draw(st.booleans(), label="one field (else the whole body)"):
        body = {**body, data.draw(st.sampled_from(properties), label="field"): data.draw(JSON_VALUES, label="value")}
    else:
        body = data.draw(JSON_VALUES, label="body")
    case = Case("random JSON", {n: world.path_value(path, n) for n in re.findall(r"\{(\w+)\}", path)},
                body=_json(body))
    counter = RowCounter()
    with recording() as recorder:
        isolated(recorder, counter, f"{method} {path} {json.dumps(body)[:300]}",
                 _send(APIClient(raise_request_exception=False), method, path, case, world.secret, idempotency=False),
                 _judge(path))
    recorder.assert_clean()

