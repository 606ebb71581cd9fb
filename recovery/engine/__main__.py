"""Run the recovery engine by hand: `python -m recovery.engine {backup,drill,verify,pitr-drill,retention}`.

Exit codes: 0 passed, 1 a verdict failed, 2 bad arguments. `--json FILE` writes the evidence record.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from recovery.engine import backup as backups
from recovery.engine import pitr, restore, retention
from recovery.engine.evidence import utc_now, verdict_rows
from recovery.engine.manifest import CHECKSUM_EXPRESSIONS, DEFAULT_CHECKSUM_ALGORITHM

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def _write_json(path: str | None, record: DataclassInstance) -> None:
    if path:
        Path(path).write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")


def _backup(args: argparse.Namespace) -> int:
    info = backups.take_backup(
        dsn=args.dsn, directory=Path(args.dir), checksum_algorithm=args.algorithm, timeout_seconds=args.timeout
    )
    _write_json(args.json, info)
    phases = ", ".join(f"{p.name} {p.seconds:.2f}s" for p in info.phases)
    print(f"{info.path}\n  {info.tables} tables, {info.rows} rows, {info.size_bytes} bytes, sha256 {info.sha256}")
    print(f"  {info.seconds:.2f}s ({phases})\n  manifest: {info.manifest_path}")
    return 0


def _drill(args: argparse.Namespace) -> int:
    evidence = restore.run_restore_drill(
        dump_path=Path(args.dump),
        admin_dsn=args.admin_dsn,
        shadow_prefix=args.prefix,
        smoke_queries=args.smoke or [],
        objective=args.objective,
        statement_timeout_seconds=args.statement_timeout,
        timeout_seconds=args.timeout,
        restore_jobs=args.jobs,
    )
    _write_json(args.json, evidence)
    print(evidence.report_markdown)
    return 0 if evidence.passed else 1


def _verify(args: argparse.Namespace) -> int:
    _, manifest = backups.load_backup(Path(args.dump))
    verdicts = restore.verify_database(
        dsn=args.dsn, manifest=manifest, smoke_queries=args.smoke or [], timeout_seconds=args.timeout
    )
    print("\n".join(verdict_rows(verdicts)))
    return 0 if all(v.status != "fail" for v in verdicts) else 1


def _pitr(args: argparse.Namespace) -> int:
    target = datetime.fromisoformat(args.target) if args.target else None
    evidence = pitr.run_pitr_drill(target_time=target, timeout_seconds=args.timeout)
    _write_json(args.json, evidence)
    print(evidence.report_markdown)
    return 0 if evidence.passed else 1


def _retention(args: argparse.Namespace) -> int:
    found = backups.list_backups(Path(args.dir))
    doomed = retention.apply_retention(found, args.keep_daily, args.keep_monthly, utc_now())
    for item in doomed:
        print(("deleting " if args.delete else "would delete ") + item.path)
        if args.delete:
            backups.delete_backup(item)
    print(f"{len(found) - len(doomed)} kept, {len(doomed)} {'deleted' if args.delete else 'to delete'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m recovery.engine", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("backup", help="pg_dump + manifest under one snapshot")
    p.add_argument("--dsn", required=True, help="the database to back up")
    p.add_argument("--dir", required=True)
    p.add_argument("--algorithm", default=DEFAULT_CHECKSUM_ALGORITHM, choices=sorted(CHECKSUM_EXPRESSIONS))
    p.add_argument("--timeout", type=float, default=4 * 3600)
    p.add_argument("--json")
    p.set_defaults(func=_backup)

    p = sub.add_parser("drill", help="restore into a shadow database, verify, drop it")
    p.add_argument("--dump", required=True, help="the .dump file; its .manifest.json must sit beside it")
    p.add_argument("--admin-dsn", required=True, help="a maintenance database on the server to drill on")
    p.add_argument("--prefix", default="gov", help="shadow databases are named <prefix>_shadow_<random>")
    p.add_argument("--smoke", action="append", help="SQL returning one true/non-zero value (repeatable)")
    p.add_argument("--objective", default="critical", choices=sorted(restore.DEFAULT_OBJECTIVES))
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--statement-timeout", type=float, default=15 * 60)
    p.add_argument("--timeout", type=float, default=4 * 3600)
    p.add_argument("--json")
    p.set_defaults(func=_drill)

    p = sub.add_parser("verify", help="check an existing (restored) database against a backup's manifest")
    p.add_argument("--dsn", required=True)
    p.add_argument("--dump", required=True)
    p.add_argument("--smoke", action="append")
    p.add_argument("--timeout", type=float, default=4 * 3600)
    p.set_defaults(func=_verify)

    p = sub.add_parser("pitr-drill", help="point-in-time recovery drill in throwaway clusters")
    p.add_argument("--target", help="ISO timestamp with zone (default: between the drill's two write batches)")
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--json")
    p.set_defaults(func=_pitr)

    p = sub.add_parser("retention", help="apply keep-daily/keep-monthly to a backup directory")
    p.add_argument("--dir", required=True)
    p.add_argument("--keep-daily", type=int, required=True)
    p.add_argument("--keep-monthly", type=int, required=True)
    p.add_argument("--delete", action="store_true", help="delete (default: only list)")
    p.set_defaults(func=_retention)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
