"""The one reason policy: how long a reason may be, how a composed one is cut, and the field that asks for it.

Two limits, one rule:
- REASON_MAX: what a person or a pipeline types (every admin form, API serializer and `--reason`).
- STORED_REASON_MAX: what a service accepts (require_reason). It leaves CONTEXT_MAX characters for what the
  portal adds around the typed text ("api (<token name, at most 100>): ", " (manage.py <command>)",
  "scheduled change #<n>: "), so an added prefix never turns a valid reason into a 400: the stored reason keeps
  the whole typed text and the prefix. The history column is a TextField (governance.audit_base).
- fit_reason: a reason the portal composes from other reasons (a scheduled change quoting its request's reason,
  break glass) that could still exceed STORED_REASON_MAX is cut visibly, ending in "…", never refused.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from rest_framework import serializers
from rest_framework.request import Request

REASON_MAX = 1000
CONTEXT_MAX = 200
STORED_REASON_MAX = REASON_MAX + CONTEXT_MAX
REASON_HELP = "Why? Recorded in the audit trail with your name."
API_REASON_HELP = (f"Why; recorded in the audit trail (at most {REASON_MAX} characters), stored whole as "
                   "'api (<token name>): <reason>'.")


def require_reason(reason: str, *, limit: int = STORED_REASON_MAX) -> str:
    """The reason, stripped; ValidationError when blank or longer than `limit`."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "A reason is required for every governed change."})
    if len(reason) > limit:
        raise ValidationError({"reason": f"Keep the reason to {limit} characters or fewer (it has {len(reason)})."})
    return reason


def fit_reason(text: str) -> str:
    """A reason the portal composed, cut to STORED_REASON_MAX with a visible "…" when longer."""
    return text if len(text) <= STORED_REASON_MAX else text[: STORED_REASON_MAX - 1] + "…"


def api_reason(request: Request, reason: str) -> str:
    """The audited reason of a change made through the API: the token's name says which pipeline made it.

    A reason within REASON_MAX is stored whole with its prefix (the token name is at most 100 characters)."""
    from governance.api.permissions import request_token

    return fit_reason(f"api ({request_token(request).name}): {reason}")


class ReasonFormField(forms.CharField):
    """The required reason of an admin form: a small textarea of at most REASON_MAX characters."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 2, "cols": 60}))
        kwargs.setdefault("help_text", REASON_HELP)
        super().__init__(max_length=REASON_MAX, **kwargs)


class ReasonSerializerField(serializers.CharField):
    """The reason of an API Input serializer: at most REASON_MAX characters, stated in the OpenAPI schema."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", API_REASON_HELP)
        super().__init__(max_length=REASON_MAX, **kwargs)
