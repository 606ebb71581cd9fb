"""The portal's own operational flags (service "portal"), for govctl's Django middleware.

Read through the same layers as every snapshot (memory → shared cache → database → last-known-good
file, with break-glass overrides on top), so maintenance mode and the kill switches hold on the
portal itself when PostgreSQL is down.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from govctl.faults import NO_FAULTS, Fault, FaultCache

from flags import delivery

log = logging.getLogger("flags")


class PortalFlagSource:
    def __init__(self) -> None:
        self._faults = FaultCache()
        self.capabilities: set[str] = set()  # the chaos hooks govctl's middleware loaded (chaos-http, chaos-db)

    def faults(self) -> tuple[Fault, ...]:
        """The portal's own active chaos faults (its snapshot's "faults" member, expiry checked here)."""
        try:
            snapshot = delivery.get_snapshot(settings.FLAGS_PORTAL_SERVICE, settings.FLAGS_PORTAL_ENVIRONMENT)
        except delivery.UnknownTarget:
            return NO_FAULTS
        return NO_FAULTS if snapshot is None else self._faults.active(snapshot.body)

    def report_capability(self, name: str) -> None:
        self.capabilities.add(name)

    def get_flag(self, key: str) -> tuple[bool, Any]:
        try:
            snapshot = delivery.get_snapshot(settings.FLAGS_PORTAL_SERVICE, settings.FLAGS_PORTAL_ENVIRONMENT)
        except delivery.UnknownTarget:
            return False, None  # no "portal" service (yet): nothing is switched
        if snapshot is None:
            return False, None
        result = snapshot.constant(key)
        return result.enabled, result.value


source = PortalFlagSource()
