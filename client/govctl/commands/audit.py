"""`govctl audit verify FILE`: prove an audit export complete and untouched, offline (no portal, no database).

Exit codes: 0 verified; 1 verification failed (the line and the problem are printed); 2 usage: no trusted
key given, or the export, key or checkpoint file cannot be read.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from govctl.errors import GovctlError

KEY_ID = re.compile(r"^[0-9a-f]{32}$")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("audit", help="work with audit exports")
    commands = parser.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    verify = commands.add_parser(
        "verify",
        help="verify an audit export's chain and signed trailer offline (exit 0 ok, 1 failed, 2 usage)",
        description="Verify an audit export offline: every record's hash and link, then the signed trailer "
        "(record count, first and last record, head hash) against a key you trust. Give the portal's "
        "published key list or key (--public-key) or pin a key id (--key-id, from docs/AUDIT.md); both "
        "together require that key. Exit codes: 0 verified, 1 failed (line and problem printed), 2 usage.",
    )
    verify.add_argument("file", metavar="FILE", help="the export (JSON Lines)")
    verify.add_argument("--public-key", metavar="FILE",
                        help="trusted key: PEM, base64 raw key, or the JSON of GET /api/v1/audit/public-key")
    verify.add_argument("--key-id", help="pin the signing key id (32 hex digits)")
    verify.add_argument("--checkpoint", metavar="FILE",
                        help="a signed checkpoint (GET /api/v1/audit/checkpoints/latest): also prove the export "
                        "holds every record up to it")
    verify.set_defaults(func=run_verify)


def _read(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise GovctlError(f"cannot read the {what} {path}: {getattr(exc, 'strerror', None) or exc}",
                          exit_code=2) from None


def trusted_keys(public_key: str | None, key_id: str | None, *, what: str) -> dict[str, Any]:
    """The keys to trust from --public-key FILE and/or --key-id ID (usage errors, exit code 2, otherwise)."""
    from govctl.audit import audit_proof

    if not public_key and not key_id:
        raise GovctlError(f"give a key you trust: --public-key FILE or --key-id ID ({what} cannot vouch "
                          "for itself)", exit_code=2)
    if key_id and not KEY_ID.match(key_id):
        raise GovctlError(f"--key-id: expected 32 hex digits, got {key_id!r}", exit_code=2)
    keys: dict[str, Any] = {}
    if public_key:
        try:
            keys = dict(audit_proof.load_keyring(_read(public_key, "key file")))
        except audit_proof.BadKey as exc:
            raise GovctlError(f"--public-key {public_key}: {exc}", exit_code=2) from None
        if key_id:
            keys = {k: v for k, v in keys.items() if k == key_id}
            if not keys:
                raise GovctlError(f"--key-id {key_id} is not in {public_key}", exit_code=2)
    return keys


def run_verify(args: argparse.Namespace) -> int:
    from govctl.audit import audit_proof  # needs `cryptography`: imported only by the commands that verify

    keys = trusted_keys(args.public_key, args.key_id, what="an export")
    checkpoint: dict[str, Any] | None = None
    if args.checkpoint:
        try:
            checkpoint = json.loads(_read(args.checkpoint, "checkpoint"))
        except ValueError:
            raise GovctlError(f"--checkpoint {args.checkpoint}: not JSON", exit_code=2) from None
        if not isinstance(checkpoint, dict):
            raise GovctlError(f"--checkpoint {args.checkpoint}: not a JSON object", exit_code=2)
    try:
        result = audit_proof.verify_export(audit_proof.read_lines(args.file), keys=keys,
                                           pinned_key_id=args.key_id, checkpoint=checkpoint)
    except OSError as exc:
        raise GovctlError(f"cannot read the export {args.file}: {exc.strerror}", exit_code=2) from None
    print(f"{args.file}: {result.message}", file=sys.stdout if result.ok else sys.stderr)
    return result.exit_code
