"""The access policy's admin field: YAML (JSON is YAML too), with the portal's JSON limits."""

from __future__ import annotations

from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput

from governance.json_safety import JSONFormField, max_depth

MAX_CHARS = 200_000


class _NoAliasLoader(yaml.SafeLoader):
    """Aliases could expand a small document into a huge one: a policy never needs them."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("YAML aliases (*name) are not allowed in a policy")
        return super().compose_node(parent, index)


def parse_policy(text: str) -> Any:
    """YAML or JSON text -> the policy document; a ValidationError says why not."""
    if len(text) > MAX_CHARS:
        raise ValidationError(f"The policy is longer than {MAX_CHARS} characters.", code="invalid")
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise ValidationError(f"Enter a policy nested at most {max_depth()} levels deep.", code="too_deep") from None
    except yaml.YAMLError as exc:
        raise ValidationError(f"Not valid YAML or JSON: {exc}", code="invalid") from None


class PolicyDocumentField(JSONFormField):
    """Typed and shown as YAML; stored as JSON (jsonb)."""

    def to_python(self, value: Any) -> Any:
        if self.disabled or value in self.empty_values:
            return super().to_python(value)
        if not isinstance(value, str):
            return value
        return parse_policy(value)

    def bound_data(self, data: Any, initial: Any) -> Any:
        if self.disabled:
            return initial
        try:
            return parse_policy(data) if isinstance(data, str) else data
        except ValidationError:
            return InvalidJSONInput(data)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, InvalidJSONInput):
            return value
        return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False)

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != initial
        except ValidationError:
            return True
