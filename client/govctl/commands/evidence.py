"""`govctl evidence verify PACK`: prove an evidence pack complete and untouched, offline (no portal, no database).

Exit codes: 0 verified; 1 a file was changed, removed or added, or the audit chain inside is broken (each
problem printed); 2 usage (no trusted key, unreadable file); 3 the manifest is not signed by a key you trust.
"""

from __future__ import annotations

import argparse
import sys

from govctl.commands.audit import trusted_keys
from govctl.errors import GovctlError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("evidence", help="work with evidence packs")
    commands = parser.add_subparsers(dest="evidence_command", metavar="COMMAND", required=True)
    verify = commands.add_parser(
        "verify",
        help="verify an evidence pack offline (exit 0 ok, 1 file or chain problem, 2 usage, 3 untrusted signature)",
        description="Verify an evidence pack offline: the manifest's Ed25519 signature against a key you trust, "
        "every file's SHA-256 and size against the manifest (none missing, none added), and the audit export's "
        "chain and signed trailer. Exit codes: 0 verified; 1 a file was changed, removed or added, or the audit "
        "chain is broken; 2 usage; 3 the manifest is not signed by a key you trust (docs/COMPLIANCE.md).",
    )
    verify.add_argument("pack", metavar="PACK", help="the evidence pack (.zip)")
    verify.add_argument("--public-key", metavar="FILE",
                        help="trusted key: PEM, base64 raw key, or the JSON of GET /api/v1/audit/public-key")
    verify.add_argument("--key-id", help="pin the signing key id (32 hex digits)")
    verify.set_defaults(func=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    from govctl.audit import evidence_pack  # needs `cryptography`: imported only by the commands that verify

    keys = trusted_keys(args.public_key, args.key_id, what="a pack")
    try:
        with open(args.pack, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise GovctlError(f"cannot read the pack {args.pack}: {exc.strerror}", exit_code=2) from None
    result = evidence_pack.verify_pack(data, keys=keys, pinned_key_id=args.key_id)
    print(f"{args.pack}: {result.summary()}", file=sys.stdout if result.ok else sys.stderr)
    return result.exit_code
