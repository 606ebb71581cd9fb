from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from govctl.audit import audit_proof

from governance import audit_exports


class Command(BaseCommand):
    help = ("Verify an audit export against every key this portal ever signed with: the chain, then the signed "
            "trailer (truncation, re-chaining, bad signature). The same check as `govctl audit verify`.")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")
        parser.add_argument("--checkpoint", help="a signed checkpoint the export must cover")

    def handle(self, *args: Any, file: str, checkpoint: str | None = None, **o: Any) -> None:
        keys = {k["key_id"]: audit_proof.load_public_key(k["public_key"]) for k in audit_exports.published_keys()}
        document = None
        try:
            if checkpoint:
                with open(checkpoint, encoding="utf-8") as fh:
                    document = json.load(fh)
                if not isinstance(document, dict):
                    raise ValueError("not an object")
            result = audit_proof.verify_export(audit_proof.read_lines(file), keys=keys, checkpoint=document)
        except OSError as exc:
            raise CommandError(f"cannot read {exc.filename}: {exc.strerror}") from None
        except ValueError:
            raise CommandError(f"{checkpoint}: not JSON") from None
        if not result.ok:
            raise CommandError(f"{file}: {result.message}")
        self.stdout.write(result.message)
