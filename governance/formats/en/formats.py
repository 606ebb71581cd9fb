"""Dates and times as every admin page shows them (Django's localized display of model fields): ISO-like and
with the zone, e.g. "2026-12-05 20:38 UTC" (`governance.formatting.when` gives the same text in Python)."""

DATETIME_FORMAT = "Y-m-d H:i T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i T"
