"""URLs for the self-measurement tests: the portal's own, plus a failing view and a failing query."""

from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.urls import include, path

import governance.urls


def boom(request):
    raise RuntimeError("a bug")


def bad_query(request):
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")
    except DatabaseError:
        pass
    return HttpResponse("handled")


urlpatterns = [path("boom", boom), path("bad-query", bad_query), path("", include(governance.urls))]
