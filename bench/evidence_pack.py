#!/usr/bin/env python
"""Evidence pack build and offline verification against the plain signed audit export of the same range.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python bench/evidence_pack.py [--events 3000]

Runs in the portal's database (migrated). Creates a throwaway service `bench-evidence-<random>` and gives it
--events audited changes, then, alternating --repeat times over the same range and service:
1. baseline: `export_audit` of the range to a file (the chain and the signed trailer);
2. `evidence_pack` of the same range (every registered section, the same export inside, the signed manifest);
3. `govctl evidence verify` of the pack (offline: manifest signature, every hash, the audit chain).
Prints the medians, the ratios pack/export and verify/export, and the pack's size. Each run leaves its
AuditExport rows (they are the audit records of the exports), as a real export would.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "client"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")

import django  # noqa: E402

django.setup()

from django.utils import timezone  # noqa: E402
from govctl.audit import audit_proof  # noqa: E402
from govctl.audit import evidence_pack as pack_format  # noqa: E402

from governance import audit_exports, evidence_pack, services  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    actor = services.system_user()
    start = timezone.now()
    service = services.create_service(slug=f"bench-evidence-{uuid.uuid4().hex[:6]}", name="Bench", actor=actor,
                                      reason="evidence pack benchmark")
    for i in range(args.events):
        service.owners = f"team-{i}"
        services.save_audited(instance=service, actor=actor, reason=f"bench change {i}", update_fields=["owners"])
    end = timezone.now()
    keys = {k["key_id"]: audit_proof.load_public_key(k["public_key"]) for k in audit_exports.published_keys()}
    filters = audit_exports.AuditFilters(since=start, until=end, service=service)
    export_s, pack_s, verify_s, size = [], [], [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            began = time.perf_counter()
            with open(Path(tmp) / "audit.jsonl", "w", encoding="utf-8") as fh:
                fh.writelines(audit_exports.export_audit(actor=actor, filters=filters))
            export_s.append(time.perf_counter() - began)
            out = io.BytesIO()
            began = time.perf_counter()
            evidence_pack.build_pack(actor=actor, start=start, end=end, service=service, out=out)
            pack_s.append(time.perf_counter() - began)
            data, size = out.getvalue(), len(out.getvalue())
            began = time.perf_counter()
            result = pack_format.verify_pack(data, keys=keys)
            verify_s.append(time.perf_counter() - began)
            assert result.ok, result.summary()
    export, pack, verify = (statistics.median(x) for x in (export_s, pack_s, verify_s))
    print(f"events: {args.events + 1} in range; repeats: {args.repeat}")
    print(f"audit export (baseline): {export:.3f} s")
    print(f"evidence pack:           {pack:.3f} s  ratio to export {pack / export:.2f}x; {size / 1024:.0f} KiB")
    print(f"offline verify:          {verify:.3f} s  ratio to export {verify / export:.2f}x")


if __name__ == "__main__":
    main()
