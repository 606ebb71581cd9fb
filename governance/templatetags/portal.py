"""Template filters for natural numbers and times; the rules live in governance/formatting.py."""

from __future__ import annotations

from django import template

from governance import formatting

register = template.Library()

register.filter("percent", formatting.percent)
register.filter("duration", formatting.duration)
register.filter("when", formatting.when)
