import logging
import signal
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from governance.supervisor import Options, Supervisor

logger = logging.getLogger("governance.supervisor")


def _alert_sender() -> Any:
    """Alerts go to the portal-wide notification channels, read now (and refreshed) so they work without the
    database."""
    from governance.notifications import notify
    from governance.notifications import routing as ops_alerts

    channels: list[notify.ChannelConfig] = []
    try:
        channels = ops_alerts.portal_channels()
    except Exception as exc:  # noqa: BLE001 - start supervising even when the database is down at start-up
        logger.warning("notification channels not read (%s): alerts are logged only until they are",
                       exc.__class__.__name__)

    def send(title: str, text: str) -> None:
        nonlocal channels
        try:
            channels = ops_alerts.portal_channels()
        except Exception:  # noqa: BLE001, S110 - keep the last list read
            pass
        ops_alerts.send(notify.Message(severity=notify.Severity.CRITICAL, title=title, text=text,
                                       source=ops_alerts.SOURCE), channels)

    return send


class Command(BaseCommand):
    help = ("Run the django-q2 worker (manage.py qcluster) and restart it when it dies or its heartbeat goes stale "
            "(docs/RUNBOOK.md). SIGTERM or Ctrl-C stops both, with one SIGTERM to the worker.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--max-age", type=float, default=float(settings.HEARTBEAT_MAX_AGE_SECONDS),
                            help="heartbeat age (s) that counts as stuck (default HEARTBEAT_MAX_AGE_SECONDS)")
        parser.add_argument("--check-every", type=float, default=5.0, help="seconds between checks")
        parser.add_argument("--probe-every", type=float, default=90.0,
                            help="queue a heartbeat task when the last beat is older than this (s)")
        parser.add_argument("--settle", type=float, default=30.0,
                            help="seconds the database must be back before a stale beat counts")
        parser.add_argument("--grace", type=float, default=30.0, help="seconds between SIGTERM and SIGKILL")
        parser.add_argument("--backoff-max", type=float, default=60.0, help="longest wait between restarts (s)")

    def handle(self, *args: Any, **o: Any) -> None:
        if min(o["max_age"], o["check_every"], o["probe_every"], o["grace"]) <= 0 or o["settle"] < 0:
            self.stderr.write("supervise_worker: every duration must be positive")
            sys.exit(2)
        options = Options(max_age=o["max_age"], check_every=o["check_every"], probe_every=o["probe_every"],
                          settle=o["settle"], grace=o["grace"], backoff_max=o["backoff_max"],
                          command=(sys.executable, str(settings.BASE_DIR / "manage.py"), "qcluster"))
        supervisor = Supervisor(options=options, alert=_alert_sender())

        def stop(signum: int, frame: Any) -> None:
            supervisor.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        sys.exit(supervisor.run())
