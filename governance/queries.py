"""Reads that encode a rule."""

from __future__ import annotations

from django.db.models import QuerySet

from governance.models import ApiToken, Service


def services_for_token(token: ApiToken) -> QuerySet[Service]:
    """Services a token may see: its restriction list, or all when unrestricted."""
    restricted = list(token.services.all())
    if restricted:
        return Service.objects.filter(pk__in=[s.pk for s in restricted])
    return Service.objects.all()
