"""The portal's own operational flags (service "portal"), for govctl's Django middleware.

Read through the same layers as every snapshot (memory → shared cache → database → last-known-good
file, with break-glass overrides on top), so maintenance mode and the kill switches hold on the
portal itself when PostgreSQL is down.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from govctl.flags.faults import NO_FAULTS, Fault, FaultCache

from flags import delivery

log = logging.getLogger("flags")


class PortalFlagSource:
    def __init__(self) -> None:
        self._faults = FaultCache()
        self.capabilities: set[str] = set()  # the chaos hooks govctl's middleware loaded (chaos-http, chaos-db)
        self._reading = threading.local()

    def faults(self) -> tuple[Fault, ...]:
        """The portal's own active chaos faults (its snapshot's "faults" member, expiry checked here).

        The database fault wrapper asks for faults on every statement; reading the snapshot may itself run
        statements (a rebuild): those are the flag plane's own and get no fault (else the read would recurse,
        and a db_down drill would take the portal's flag plane down with the pages it is meant to test).
        """
        if getattr(self._reading, "active", False):
            return NO_FAULTS
        self._reading.active = True
        try:
            snapshot = delivery.get_snapshot(settings.FLAGS_PORTAL_SERVICE, settings.FLAGS_PORTAL_ENVIRONMENT)
        except delivery.UnknownTarget:
            return NO_FAULTS
        finally:
            self._reading.active = False
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
