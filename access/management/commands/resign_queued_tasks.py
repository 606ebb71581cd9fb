"""manage.py resign_queued_tasks: re-sign django-q2 tasks queued under a previous SECRET_KEY (docs/RUNBOOK.md).

django-q2 signs every queued task with SECRET_KEY and ignores SECRET_KEY_FALLBACKS: after a rotation its worker
drops (logs "Failed to push task to queue" and deletes) a task signed with the old key. With the ORM broker the
queue is the `django_q_ormq` table: this command verifies each payload with a fallback key and signs it again with
the current one. Run it with the worker stopped, after every process that enqueues has the new key.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction


class Command(BaseCommand):
    help = "Re-sign queued django-q2 tasks signed with a SECRET_KEY_FALLBACKS key with the current SECRET_KEY."

    def handle(self, *args: Any, **options: Any) -> None:
        from django_q import core_signing
        from django_q.conf import Conf
        from django_q.models import OrmQ
        from django_q.signing import PickleSerializer

        if not Conf.ORM:
            raise CommandError("Only the ORM broker's queue can be re-signed here: with Redis, drain the queue "
                               "before the rotation (docs/RUNBOOK.md § Rotating SECRET_KEY).")
        current = resigned = unreadable = 0
        with transaction.atomic():
            for row in OrmQ.objects.select_for_update().order_by("id"):
                try:
                    core_signing.loads(row.payload, key=Conf.SECRET_KEY, salt=Conf.PREFIX, serializer=PickleSerializer)
                    current += 1
                    continue
                except core_signing.BadSignature:
                    pass
                for key in settings.SECRET_KEY_FALLBACKS:
                    try:
                        # Verified with a key the portal trusts before anything is unpickled.
                        task = core_signing.loads(row.payload, key=key, salt=Conf.PREFIX, serializer=PickleSerializer)
                    except core_signing.BadSignature:
                        continue
                    row.payload = core_signing.dumps(task, key=Conf.SECRET_KEY, salt=Conf.PREFIX,
                                                     compress=Conf.COMPRESSED, serializer=PickleSerializer)
                    row.save(update_fields=["payload"])
                    resigned += 1
                    break
                else:
                    unreadable += 1
        self.stdout.write(f"{resigned} task(s) re-signed, {current} already signed with the current key, "
                          f"{unreadable} signed with no known key (the worker will drop them).")
