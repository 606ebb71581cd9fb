"""`govctl flags`: evaluate offline against a snapshot file; list and change flags on the portal.

`list`, `set`, `kill`, `unkill` and `maintenance on|off` call /api/v1/flags (flags:read, flags:write).
Exit codes of a change: 0 applied, 5 pending approval (a change request waits for a second person),
1 refused (bad change, stale --expected-revision, unknown flag), 2 usage, 3 portal unreachable, 4 token
refused or restricted; the portal's reason goes to standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from govctl.api import Client, Config, GovctlError
from govctl.durations import parse_minutes
from govctl.flags import flag_ops
from govctl.flags.evaluation import ErrorCode, SnapshotError, State, evaluate

PENDING_APPROVAL = 5  # 3 already means "portal unreachable" for every command
OPERATIONS = tuple(flag_ops.OPERATIONS)  # the portal's vocabulary (govctl.flags.flag_ops)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("flags", help="feature flags")
    flags_sub = parser.add_subparsers(dest="flags_command", metavar="SUBCOMMAND", required=True)

    ev = flags_sub.add_parser(
        "evaluate",
        help="evaluate a flag offline against a snapshot file",
        description="Evaluate FLAG against a snapshot in the Unleash client-API format "
        "({version, features, segments}) and print the result as JSON.",
    )
    ev.add_argument("--state", required=True, metavar="FILE", help="snapshot file (JSON)")
    ev.add_argument("--flag", required=True, metavar="KEY", help="flag key")
    ev.add_argument(
        "--context",
        default="{}",
        metavar="JSON",
        help='Unleash context, e.g. \'{"userId": "42", "properties": {"plan": "pro"}}\'',
    )
    ev.set_defaults(func=run_evaluate)

    ls = flags_sub.add_parser("list", help="a service's flags with their state per environment",
                              description="One line per flag and environment: state, revision (give it back as "
                              "--expected-revision), expiry of an emergency toggle, pending change requests.")
    ls.add_argument("--service", required=True)
    ls.add_argument("--environment", help="default: every environment the token may see")
    ls.add_argument("--json", action="store_true", help="print the portal's answer as JSON")
    ls.set_defaults(func=run_list)

    change = flags_sub.add_parser(
        "set", help="change a flag in an environment (exit 0 applied, 5 pending approval)",
        description="Apply one operation through the portal's rules: a change that reduces exposure applies at "
        "once; one that widens it where a second person is needed becomes a change request (exit 5).")
    _target_arguments(change)
    change.add_argument("--operation", required=True, choices=OPERATIONS)
    change.add_argument("--payload", metavar="JSON",
                        help='set_strategies: \'{"strategies": [...], "variants": [...]}\'; set_number: '
                        '\'{"number": 1.5}\'; @FILE reads it from a file')
    change.add_argument("--expires-in", type=parse_minutes, metavar="DURATION",
                        help="engage_kill_switch / enter_maintenance: revert after this long (e.g. 30m, 2h, 1d)")
    change.set_defaults(func=run_set)

    kill = flags_sub.add_parser("kill", help="engage a kill switch (applies at once)")
    _target_arguments(kill)
    kill.add_argument("--expires-in", type=parse_minutes, metavar="DURATION",
                      help="disengage on its own after this long (e.g. 30m, 2h); default: until unkill")
    kill.set_defaults(func=run_set, operation=flag_ops.ENGAGE, payload=None)

    unkill = flags_sub.add_parser("unkill", help="disengage a kill switch (may need a second person's approval)")
    _target_arguments(unkill)
    unkill.set_defaults(func=run_set, operation=flag_ops.DISENGAGE, payload=None, expires_in=None)

    maintenance = flags_sub.add_parser("maintenance", help="maintenance mode on (applies at once) or off")
    maintenance.add_argument("state", choices=("on", "off"))
    _target_arguments(maintenance, flag=False)
    maintenance.add_argument("--expires-in", type=parse_minutes, metavar="DURATION",
                             help="on: end on its own after this long (default 30 minutes)")
    maintenance.set_defaults(func=run_maintenance)


def _target_arguments(parser: argparse.ArgumentParser, *, flag: bool = True) -> None:
    parser.add_argument("--service", required=True)
    parser.add_argument("--environment", required=True, help="e.g. preview, production")
    if flag:
        parser.add_argument("--flag", required=True, metavar="KEY", help="flag key")
    parser.add_argument("--reason", required=True, help="why (recorded in the audit trail with the token owner)")
    parser.add_argument("--expected-revision", type=int, metavar="N",
                        help="the revision you read (`flags list`); refused if the flag changed since")
    parser.add_argument("--json", action="store_true", help="print the portal's answer as JSON")


def _load_state(path: Path) -> State:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GovctlError(f"snapshot file not found: {path}", exit_code=2)
    except (OSError, UnicodeDecodeError) as exc:
        raise GovctlError(f"cannot read snapshot file {path}: {exc}", exit_code=2)
    try:
        return State.from_json(text)
    except SnapshotError as exc:
        raise GovctlError(f"{path}: {exc}", exit_code=2)


def _parse_context(text: str) -> dict[str, Any]:
    try:
        context = json.loads(text)
    except ValueError as exc:
        raise GovctlError(f"--context is not valid JSON: {exc}", exit_code=2)
    if not isinstance(context, dict):
        raise GovctlError("--context must be a JSON object", exit_code=2)
    return context


def run_evaluate(args: argparse.Namespace) -> int:
    state = _load_state(Path(args.state))
    context = _parse_context(args.context)
    result = evaluate(state, args.flag, context)
    if result.error_code == ErrorCode.FLAG_NOT_FOUND:
        known = ", ".join(sorted(state.features)[:10]) or "none"
        raise GovctlError(f"unknown flag {args.flag!r} in {args.state} (flags: {known})", exit_code=2)
    variant = result.variant
    output = {
        "enabled": result.enabled,
        "variant": {
            "name": variant.name,
            "enabled": variant.enabled,
            "feature_enabled": variant.feature_enabled,
            "payload": None if variant.payload is None else dict(variant.payload),
        },
        "reason": result.reason,
    }
    print(json.dumps(output, indent=2, ensure_ascii=False))
    return 0


def _state_text(state: dict[str, Any]) -> str:
    if not state["enabled"]:
        return "off"
    if state["value_type"] == "number" and state.get("number") is not None:
        return f"{state['number']:g}"
    strategies = state.get("strategies") or []
    return f"on ({len(strategies)} strateg{'y' if len(strategies) == 1 else 'ies'})" if strategies else "on"


def run_list(args: argparse.Namespace) -> int:
    params = {"service": args.service}
    if args.environment:
        params["environment"] = args.environment
    client = Client(Config.from_env())
    try:
        body = client.get("/api/v1/flags", **params)
    except GovctlError as exc:
        raise GovctlError(f"cannot list the flags of {args.service}: {exc}", exit_code=exc.exit_code) from None
    finally:
        client.close()
    if args.json:
        print(json.dumps(body, indent=2, ensure_ascii=False))
        return 0
    rows = [("FLAG", "ENVIRONMENT", "KIND", "STATE", "REVISION", "EXPIRES", "PENDING")]
    rows += [(s["key"], s["environment"], s["kind"], _state_text(s), str(s["revision"]), s["expires_at"] or "-",
              str(s["pending_change_requests"])) for s in body["flags"]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def _payload(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    source = "--payload"
    if text.startswith("@"):
        source = text[1:]
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as exc:
            raise GovctlError(f"--payload: cannot read {source}: {exc.strerror or exc}", exit_code=2) from None
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise GovctlError(f"{source} is not valid JSON: {exc}", exit_code=2) from None
    if not isinstance(payload, dict):
        raise GovctlError(f"{source} must be a JSON object", exit_code=2)
    return payload


def _change(args: argparse.Namespace, key: str, operation: str) -> int:
    body: dict[str, Any] = {"operation": operation, "reason": args.reason}
    payload = _payload(getattr(args, "payload", None))
    if payload is not None:
        body["payload"] = payload
    if getattr(args, "expires_in", None) is not None:
        body["expires_in_minutes"] = args.expires_in
    if args.expected_revision is not None:
        body["expected_revision"] = args.expected_revision
    where = f"{args.service}/{key} in {args.environment}"
    path = f"/api/v1/flags/{quote(args.service, safe='')}/{quote(args.environment, safe='')}/{quote(key, safe='')}/changes"
    client = Client(Config.from_env())
    try:
        answer = client.post(path, body)
    except GovctlError as exc:
        raise GovctlError(f"cannot {operation.replace('_', ' ')} {where}: {exc}", exit_code=exc.exit_code) from None
    finally:
        client.close()
    if args.json:
        print(json.dumps(answer, indent=2, ensure_ascii=False))
    state = answer["state"]
    if answer["applied"]:
        expiry = f", reverts at {state['expires_at']}" if state.get("expires_at") else ""
        print(f"applied: {where} is {_state_text(state)} (revision {state['revision']}{expiry})", file=sys.stderr)
        if not args.json:
            print(state["revision"])
        return 0
    request = answer["change_request"]
    print(f"pending approval: change request #{request['id']} widens exposure in {args.environment}; someone "
          f"other than {request['author']} approves it at {request['admin_url']} (status: {request['url']})",
          file=sys.stderr)
    if not args.json:
        print(request["id"])
    return PENDING_APPROVAL


def run_set(args: argparse.Namespace) -> int:
    return _change(args, args.flag, args.operation)


def run_maintenance(args: argparse.Namespace) -> int:
    if args.state == "off" and args.expires_in is not None:
        raise GovctlError("--expires-in applies to `maintenance on` only", exit_code=2)
    operation = flag_ops.MAINTENANCE_ON if args.state == "on" else flag_ops.MAINTENANCE_OFF
    return _change(args, flag_ops.MAINTENANCE, operation)
