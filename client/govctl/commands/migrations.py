"""`govctl migrations lint|check|rules`: lint SQL migrations and check contract steps against their schema plan."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict
from urllib.parse import quote

from govctl import migration_lint
from govctl.errors import GovctlError
from govctl.migration_lint import RULES, LintResult, Phase, read_emc
from govctl.migration_lint.annotations import PLAN_ID  # by name: the package's `annotations` is the __future__ one
from govctl.migration_lint.cache import cache_dir as result_cache_dir

if TYPE_CHECKING:  # the portal client (httpx) is imported only by `migrations check`, not by `lint`
    import httpx

    from govctl.api import Client

PLAN_DONE = ("verified", "contracted")


class _Verdict(TypedDict):
    plan: str
    ok: bool
    status: str | None
    reason: str
    files: list[str]


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("migrations", help="lint SQL migrations; check contract migrations' schema plans")
    commands = parser.add_subparsers(dest="migrations_command", metavar="SUBCOMMAND", required=True)

    lint = commands.add_parser("lint", help="check SQL migration files for online-safety and phase problems")
    lint.add_argument("files", nargs="+", type=Path, metavar="FILE.sql")
    lint.add_argument("--format", choices=("human", "json"), default="human")
    lint.add_argument("--pg-version", type=int, default=15, help="target PostgreSQL major version (default 15)")
    lint.add_argument(
        "--in-transaction", action="store_true", help="the migration tool wraps each file in a transaction"
    )
    lint.add_argument(
        "--lock-timeout-set", action="store_true", help="the migration tool's session already sets lock_timeout"
    )
    lint.add_argument(
        "--new-table",
        action="append",
        default=[],
        metavar="TABLE",
        help="a table no running code uses yet (repeatable)",
    )
    lint.add_argument(
        "--validated-not-null",
        action="append",
        default=[],
        metavar="TABLE.COLUMN",
        help="a column an earlier migration proved non-null with a validated CHECK (col IS NOT NULL): SET NOT NULL "
        "then skips its scan on PostgreSQL 12+ (repeatable)",
    )
    lint.add_argument("--disable", action="append", default=[], metavar="RULE", help="rule id to skip (repeatable)")
    lint.add_argument("--strict", action="store_true", help="warnings fail too")
    lint.add_argument("--no-cache", action="store_true",
                      help="do not read or keep results in the lint cache (GOVCTL_CACHE_DIR, ~/.cache/govctl/lint)")
    lint.set_defaults(func=run_lint)

    check = commands.add_parser(
        "check", help="exit 0 only if every schema plan named by --plan or by `-- emc: contract plan=ID` is verified"
    )
    check.add_argument("files", nargs="*", type=Path, metavar="FILE.sql")
    check.add_argument("--plan", action="append", default=[], metavar="ID", help="schema plan id (repeatable)")
    check.add_argument("--format", choices=("human", "json"), default="human")
    check.set_defaults(func=run_check)

    rules = commands.add_parser("rules", help="list the lint rules")
    rules.add_argument("--format", choices=("human", "json"), default="human")
    rules.set_defaults(func=run_rules)


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise GovctlError(f"cannot read {path}: {exc.strerror or exc}", exit_code=2)
    except UnicodeDecodeError:
        raise GovctlError(f"{path} is not UTF-8", exit_code=2)


def _print_human(result: LintResult) -> None:
    declared = f"declared {result.declared_phase}" if result.declared_phase else "undeclared"
    plan = f", plan {result.plan_id}" if result.plan_id else ""
    print(f"{result.name}: phase {result.inferred_phase} ({declared}{plan})")
    for finding in result.findings:
        print(f"  {result.name}:{finding.line}: {finding.severity} [{finding.rule}] {finding.message}")
        if finding.detail:
            print(f"      at: {finding.detail}")
        if finding.statement:
            print(f"      sql: {finding.statement}")
        print(f"      safe: {finding.safe_alternative}")


def run_lint(args: argparse.Namespace) -> int:
    unknown = sorted(set(args.disable) - set(RULES))
    if unknown:
        raise GovctlError(f"unknown rule id(s): {', '.join(unknown)} (see `govctl migrations rules`)", exit_code=2)
    bad_columns = [pair for pair in args.validated_not_null if "." not in pair.strip(".")]
    if bad_columns:
        raise GovctlError(f"--validated-not-null expects TABLE.COLUMN, got {', '.join(bad_columns)}", exit_code=2)
    sources = [(str(path), _read(path)) for path in args.files]
    results: list[LintResult] = []
    cache = None if args.no_cache else result_cache_dir()
    try:
        for name, sql in sources:
            results.append(
                migration_lint.lint_sql(
                    sql,
                    name=name,
                    in_transaction=args.in_transaction,
                    lock_timeout_set=args.lock_timeout_set,
                    pg_version=args.pg_version,
                    new_tables=args.new_table,
                    validated_not_null=args.validated_not_null,
                    disabled=args.disable,
                    cache=cache,
                )
            )
    except migration_lint.LintUnavailable as exc:
        raise GovctlError(str(exc), exit_code=2)
    errors = sum(len(r.errors) for r in results)
    warnings = sum(len(r.warnings) for r in results)
    failed = errors > 0 or (args.strict and warnings > 0)
    if args.format == "json":
        print(
            json.dumps(
                {
                    "ok": not failed, "errors": errors, "warnings": warnings,
                    # What a release's artifacts["migrations"] holds (docs/MIGRATIONS.md): the release gate reads it.
                    "migrations": [
                        {"name": r.name, "phase": str(r.declared_phase or r.inferred_phase), "plan": r.plan_id}
                        for r in results
                    ],
                    "files": [r.to_dict() for r in results],
                },
                indent=2,
            )
        )
    else:
        for result in results:
            _print_human(result)
        print(f"{errors} error(s), {warnings} warning(s) in {len(results)} file(s)")
    return 1 if failed else 0


def _plans_from_files(files: list[Path]) -> tuple[dict[str, list[str]], list[str]]:
    """Plan id -> files naming it, and the problems that fail the check by themselves."""
    plans: dict[str, list[str]] = {}
    problems: list[str] = []
    for path in files:
        declaration = read_emc(_read(path))
        for line, problem in declaration.problems:
            problems.append(f"{path}:{line}: unreadable -- emc: annotation: {problem}")
        if declaration.phase is Phase.CONTRACT:
            if declaration.plan_id:
                plans.setdefault(declaration.plan_id, []).append(str(path))
            else:
                problems.append(f"{path}:{declaration.line}: contract migration names no plan (plan=<id>)")
    return plans, problems


def _plan_verdict(client: Client, plan_id: str) -> tuple[bool, str, str | None]:
    try:
        body = client.get(f"/api/v1/schema-plans/{quote(plan_id, safe='')}")
    except GovctlError as exc:
        if exc.exit_code != 1:  # unreachable portal or refused token: no verdict is possible for any plan
            raise
        return False, str(exc), None
    status = body.get("status") if isinstance(body, dict) else None
    if status in PLAN_DONE:
        return True, f"status {status}", status
    why = next(
        (str(body[key]) for key in ("reason", "detail", "blocked_by") if isinstance(body, dict) and body.get(key)), ""
    )
    reason = f"status {status!r}; a contract migration needs the plan verified or contracted"
    return False, reason + (f" ({why})" if why else ""), status


def run_check(args: argparse.Namespace, transport: httpx.BaseTransport | None = None) -> int:
    plans, problems = _plans_from_files(args.files)
    for plan_id in args.plan:
        if not PLAN_ID.fullmatch(plan_id):
            raise GovctlError(f"invalid plan id {plan_id!r}", exit_code=2)
        plans.setdefault(plan_id, [])
    if not args.plan and not args.files:
        raise GovctlError("give --plan ID or the SQL migration files to check", exit_code=2)
    verdicts: list[_Verdict] = []
    if plans:
        from govctl.api import Client, Config

        client = Client(Config.from_env(), transport=transport)
        try:
            for plan_id, files in plans.items():
                ok, reason, status = _plan_verdict(client, plan_id)
                verdicts.append({"plan": plan_id, "ok": ok, "status": status, "reason": reason, "files": files})
        finally:
            client.close()
    failed = bool(problems) or not all(v["ok"] for v in verdicts)
    if args.format == "json":
        print(json.dumps({"ok": not failed, "plans": verdicts, "problems": problems}, indent=2))
    else:
        for problem in problems:
            print(f"FAIL {problem}")
        for verdict in verdicts:
            where = f" [{', '.join(verdict['files'])}]" if verdict["files"] else ""
            print(f"{'ok  ' if verdict['ok'] else 'FAIL'} plan {verdict['plan']}: {verdict['reason']}{where}")
        if not plans and not problems:
            print(f"no contract migrations in {len(args.files)} file(s): nothing to check")
    return 1 if failed else 0


def run_rules(args: argparse.Namespace) -> int:
    if args.format == "json":
        print(
            json.dumps(
                [
                    {
                        "id": r.id,
                        "severity": str(r.severity),
                        "message": r.message,
                        "safe_alternative": r.safe_alternative,
                        "squawk": list(migration_lint.SQUAWK_EQUIVALENTS.get(r.id, ())),
                    }
                    for r in RULES.values()
                ],
                indent=2,
            )
        )
    else:
        for rule in RULES.values():
            print(f"{rule.id} ({rule.severity})\n    {rule.message}\n    safe: {rule.safe_alternative}")
    return 0
