"""`govctl whoami`: which token the portal sees, with its scopes."""

from __future__ import annotations

import argparse
import json

from govctl.api import Client, Config


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("whoami", help="show the token's name, owner, scopes and restrictions")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    client = Client(Config.from_env())
    try:
        print(json.dumps(client.get("/api/v1/whoami"), indent=2, sort_keys=True))
    finally:
        client.close()
    return 0
