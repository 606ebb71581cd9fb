"""SLO definitions (create, update, seed, OpenSLO import) and SLI telemetry (ingest, the portal's own service,
retention)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from governance import services as core
from governance.models import Environment, Service
from observability import sli, slo_math
from observability.models import Slo

SLO_FIELDS = ["display_name", "description", "sli_type", "objective", "window_minutes", "min_events", "threshold_ms",
              "slice_error_threshold", "source", "prometheus_good_query", "prometheus_total_query", "enabled",
              "exclude_maintenance"]


def _fields_from_definition(definition: slo_math.SloDefinition) -> dict[str, Any]:
    return {
        "display_name": definition.display_name,
        "description": definition.description,
        "sli_type": definition.sli_type.value,
        "objective": definition.objective,
        "window_minutes": int(definition.window / timedelta(minutes=1)),
        "min_events": definition.min_events,
        "threshold_ms": definition.threshold_ms,
        "slice_error_threshold": definition.slice_error_threshold,
        "exclude_maintenance": definition.exclude_maintenance,
    }


def _validate_slo(slo: Slo) -> None:
    slo.full_clean()  # field validators and Slo.clean(): the maths' rules and the source's


@transaction.atomic
def create_slo(*, service: Service, environment: Environment, name: str, actor: Any, reason: str,
               **fields: Any) -> Slo:
    """Define an SLO; the definition is checked by the same rules as the maths (`SloDefinition`)."""
    if Slo.objects.filter(service=service, environment=environment, name=name).exists():
        raise ValidationError({"name": f"{service.slug}/{environment.slug} already has an SLO named '{name}'."})
    slo = Slo(service=service, environment=environment, name=name, **fields)
    _validate_slo(slo)
    slo.stamp(actor=actor, reason=core.require_reason(reason))
    slo.save()
    return slo


@transaction.atomic
def update_slo(*, slo: Slo, actor: Any, reason: str, **fields: Any) -> Slo:
    """Change an SLO's target or SLI; only the fields given (and actually different) are written."""
    unknown = set(fields) - set(SLO_FIELDS)
    if unknown:
        raise ValidationError({"__all__": f"These SLO fields cannot be changed here: {sorted(unknown)}"})
    slo = Slo.objects.select_for_update().select_related("service", "environment").get(pk=slo.pk)
    changed = [name for name, value in fields.items() if getattr(slo, name) != value]
    if not changed:
        return slo
    for name in changed:
        setattr(slo, name, fields[name])
    _validate_slo(slo)
    slo.stamp(actor=actor, reason=core.require_reason(reason))
    slo.save(update_fields=changed)
    return slo


@transaction.atomic
def seed_default_slos(*, service: Service, actor: Any, reason: str,
                      environments: Iterable[Environment] | None = None) -> list[Slo]:
    """The four default SLOs (slo_math.default_slos) in every environment; existing ones are left alone."""
    created = []
    for environment in environments if environments is not None else Environment.objects.all():
        existing = set(Slo.objects.filter(service=service, environment=environment).values_list("name", flat=True))
        for definition in slo_math.default_slos(environment.slug, service=service.slug):
            if definition.name in existing:
                continue
            created.append(create_slo(service=service, environment=environment, name=definition.name, actor=actor,
                                      reason=reason, **_fields_from_definition(definition)))
    return created


def on_service_created(*, service: Service, actor: Any, reason: str) -> None:
    """governance.hooks.SERVICE_CREATED: every new service starts with its default SLOs."""
    seed_default_slos(service=service, actor=actor, reason=f"default SLOs: {reason}")


@dataclass(frozen=True)
class ImportResult:
    created: list[Slo]
    updated: list[Slo]
    unchanged: list[Slo]


@transaction.atomic
def import_slos(*, definitions: Sequence[slo_math.SloDefinition], actor: Any, reason: str) -> ImportResult:
    """Create or update SLOs from definitions (OpenSLO import); all or nothing, errors name the document."""
    reason = core.require_reason(reason)
    services = {s.slug: s for s in Service.objects.filter(slug__in={d.service for d in definitions})}
    environments = {e.slug: e for e in Environment.objects.filter(slug__in={d.environment for d in definitions})}
    created: list[Slo] = []
    updated: list[Slo] = []
    unchanged: list[Slo] = []
    for index, definition in enumerate(definitions, start=1):
        where = f"SLO {index} ({definition.service}/{definition.environment}/{definition.name})"
        service = services.get(definition.service)
        if service is None:
            raise ValidationError({"spec.service": f"{where}: no service '{definition.service}'; "
                                                   "register it first (admin or POST /api/v1/services)."})
        environment = environments.get(definition.environment)
        if environment is None:
            raise ValidationError({"metadata.labels.environment": f"{where}: no environment "
                                                                  f"'{definition.environment}'."})
        fields = _fields_from_definition(definition)
        existing = Slo.objects.filter(service=service, environment=environment, name=definition.name).first()
        try:
            if existing is None:
                created.append(create_slo(service=service, environment=environment, name=definition.name,
                                          actor=actor, reason=reason, **fields))
                continue
            before = {name: getattr(existing, name) for name in fields}
            slo = update_slo(slo=existing, actor=actor, reason=reason, **fields)
            (updated if before != {name: getattr(slo, name) for name in fields} else unchanged).append(slo)
        except ValidationError as exc:
            raise ValidationError(f"{where}: {'; '.join(exc.messages)}") from None
    return ImportResult(created, updated, unchanged)


def ingest_sli_points(*, service: Service, environment: Environment, source: str,
                      points: Sequence[sli.Point]) -> sli.UpsertResult:
    """Store per-minute points; a minute already stored for this source is replaced, never added to."""
    sli.validate_source(source)
    if source.startswith(sli.RESERVED_SOURCE_PREFIX):
        raise ValidationError({"source": f"Sources starting with '{sli.RESERVED_SOURCE_PREFIX}' belong to the "
                                         "portal's own measurements."})
    with transaction.atomic():
        return sli.upsert_points(service_id=service.pk, environment_id=environment.pk, source=source, points=points)


def ensure_portal_service() -> tuple[int, int]:
    """(service id, environment id) of the portal's own service; created with its SLOs on first use."""
    env = Environment.objects.filter(slug=settings.SLO_SELF_ENVIRONMENT).first()
    if env is None:
        raise ValidationError(f"SLO_SELF_ENVIRONMENT '{settings.SLO_SELF_ENVIRONMENT}' does not exist.")
    service = Service.objects.filter(slug=settings.SLO_SELF_SERVICE).first()
    if service is None:
        try:
            with transaction.atomic():
                service = core.create_service(slug=settings.SLO_SELF_SERVICE, name="Governance portal",
                                              owners="platform", actor=core.system_user(),
                                              reason="self-measurement: the portal measures its own requests")
        except (IntegrityError, ValidationError):
            service = Service.objects.get(slug=settings.SLO_SELF_SERVICE)  # another worker created it first
    return service.pk, env.pk


@transaction.atomic
def purge_sli_points(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete points older than the retention (telemetry; no SLO window reaches that far back)."""
    from observability.models import SliPoint

    deleted, _ = SliPoint.objects.filter(minute__lt=(now or timezone.now()) - older_than).delete()
    return deleted
