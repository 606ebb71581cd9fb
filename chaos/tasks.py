"""django-q2 entry points: execute a run, the watchdog, scheduled drills."""

from __future__ import annotations

from django.utils import timezone

from governance.locks import advisory_lock


def execute_run(run_id: int) -> str:
    from chaos import engine

    with advisory_lock(f"chaos:run:{run_id}", wait=False, scope="session") as held:
        if not held:
            return f"run #{run_id} is already being executed"
        return engine.execute(run_id)


def watchdog() -> str:
    from chaos import services
    from governance.services import system_user

    result = services.watchdog(actor=system_user())
    return f"interrupted {result['interrupted']} run(s), removed {result['orphans_removed']} orphaned fault(s)"


def start_scheduled_drills() -> str:
    """Experiments with a cron: a run in preview when the current minute matches (once per minute slot)."""
    from croniter import croniter

    from chaos import services
    from chaos.models import Experiment, Run
    from governance.models import Environment
    from governance.services import system_user

    now = timezone.now().replace(second=0, microsecond=0)
    preview = Environment.objects.filter(slug="preview").first()
    if preview is None:
        return "no preview environment"
    started = []
    for experiment in Experiment.objects.exclude(schedule_cron="").select_related("service"):
        if not croniter.match(experiment.schedule_cron, now):
            continue
        if Run.objects.filter(experiment=experiment, environment=preview, created_at__gte=now).exists():
            continue
        run = services.request_run(experiment=experiment, environment=preview, actor=system_user(),
                                   reason=f"scheduled drill ({experiment.schedule_cron}) (task chaos.tasks)")
        started.append(run.pk)
    return f"started {len(started)} scheduled drill(s)"
