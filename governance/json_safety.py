"""One rule for JSON that people send: nested at most JSON_MAX_DEPTH levels, and no NUL character.

Deeper documents were accepted once and then made pages 500 (decoding them deep inside a request overflows the
recursion limit); PostgreSQL cannot store NUL in jsonb. The API parser (`governance.api.parsers`) and every form
field for a models.JSONField (`JSONFormField`, installed by `GovernanceConfig.ready`, so every admin's) use
`json_problem`; `decode_stored` keeps values stored before the cap from breaking any page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput

TOO_DEEP_KEY = "__not_shown__"


def max_depth() -> int:
    return int(getattr(settings, "JSON_MAX_DEPTH", 32))


def _too_deep(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def json_problem(value: Any) -> str | None:
    """Why a decoded JSON value is refused (too deep, NUL in a string or key, naming where), or None.
    Iterative: no recursion."""
    limit = max_depth()
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, path = stack.pop()
        where = f" (at {path.lstrip('.')})" if path else ""
        if isinstance(item, dict | list):
            if depth > limit:
                return f"the document is nested more than {limit} levels deep"
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str) and "\x00" in key:
                        return f"a key holds a NUL character (\\u0000), which cannot be stored{where}"
                    stack.append((child, depth + 1, f"{path}.{key}"))
            else:
                stack.extend((child, depth + 1, f"{path}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, str) and "\x00" in item:
            return f"a string holds a NUL character (\\u0000), which cannot be stored{where}"
    return None


class JSONFormField(forms.JSONField):
    """forms.JSONField that refuses what `json_problem` refuses, and never raises RecursionError."""

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except RecursionError:
            raise ValidationError(f"Enter JSON nested at most {max_depth()} levels deep.",
                                  code="too_deep") from None

    def bound_data(self, data: Any, initial: Any) -> Any:
        try:
            return super().bound_data(data, initial)
        except RecursionError:  # the refused text is shown again as typed
            return InvalidJSONInput(data)

    def validate(self, value: Any) -> None:
        super().validate(value)
        problem = json_problem(value)
        if problem:
            raise ValidationError(f"Invalid JSON: {problem}.", code="invalid")

    def prepare_value(self, value: Any) -> Any:
        try:
            return super().prepare_value(value)
        except RecursionError:
            return json.dumps(_not_shown(str(value)))


def _not_shown(raw: str) -> dict[str, str]:
    return {TOO_DEEP_KEY: f"stored value nested more than {max_depth()} levels deep, not shown "
                          f"({len(raw)} characters; replace it)"}


def decode_stored(from_db_value: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap models.JSONField.from_db_value: a stored document deeper than the cap (stored before it existed)
    becomes a small marker object (see _not_shown) instead of a RecursionError in whatever page or task loads or
    renders the row."""

    def wrapper(self: Any, value: Any, expression: Any, connection: Any) -> Any:
        raw = value if isinstance(value, str) else ""
        try:
            decoded = from_db_value(self, value, expression, connection)
        except RecursionError:
            return _not_shown(raw)
        limit = max_depth()
        # counting brackets runs at C speed; only a document with that many is walked
        if raw.count("[") + raw.count("{") > limit and _too_deep(decoded, limit):
            return _not_shown(raw)
        return decoded

    wrapper.__wrapped__ = from_db_value  # type: ignore[attr-defined]  # so it is never wrapped twice
    return wrapper


def capped_formfield(formfield: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap models.JSONField.formfield: JSONFormField unless a form class is asked for."""

    def wrapper(self: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("form_class", JSONFormField)
        return formfield(self, **kwargs)

    wrapper.__wrapped__ = formfield  # type: ignore[attr-defined]  # so it is never wrapped twice
    return wrapper
