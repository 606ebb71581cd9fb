"""The form of one flag state: the common rollout as fields, the Unleash JSON as the advanced way.

One source of truth per save: the one the person edited. Fields edited (what they describe differs from the
stored rollout): the strategies and variants are written from them. JSON edited: the JSON is saved as typed.
Both edited: refused with a message rather than guessing which one wins (they could disagree). A state whose JSON holds
more than the fields can show (segments, several constraint sets, strategy variants…) is edited as JSON only.
Everything is checked here, before anything is saved, by the services' own `validate_definition`, so an error
shows the page again with every input kept (JSON and reason included).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from flags import services
from flags.models import FlagState, ValueType
from flags.rollout_fields import (
    STICKINESS,
    Rollout,
    constraint_line,
    from_definition,
    parse_constraint_line,
    parse_variant_line,
    to_definition,
    variant_line,
)

ROLLOUT_FIELDS = ["percentage", "stickiness", "group_id", "user_ids", "constraint_lines", "variant_lines"]
JSON_FIELDS = ["strategies", "variants"]
PAYLOAD_TYPES = {ValueType.NUMBER: "number", ValueType.JSON: "json"}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class FlagStateForm(forms.ModelForm):
    seen_revision = forms.IntegerField(widget=forms.HiddenInput, required=False)
    percentage = forms.DecimalField(
        required=False, min_value=0, max_value=100, decimal_places=2, label="Percentage rollout",
        help_text="% of users who get the flag (empty: no percentage rollout).")
    stickiness = forms.ChoiceField(choices=[(s, s) for s in STICKINESS], initial="default", required=False,
                                   help_text="What keeps a user in or out: default = userId, else sessionId.")
    group_id = forms.CharField(required=False, max_length=100, label="Group id",
                               help_text="Hash group (empty: the flag's key). The same group id gives the same users.")
    user_ids = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
                               label="User ids", help_text="These users always get the flag; commas or new lines.")
    constraint_lines = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), label="Constraints",
        help_text="One per line: context field, operator, values, e.g. <code>country IN NL, BE</code> or "
                  "<code>appVersion SEMVER_GTE 2.1.0</code>. All must hold (for the rollout and the user ids).")
    variant_lines = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), label="Variants",
        help_text="One per line: name, share, optional payload, e.g. <code>blue 50%</code>, "
                  "<code>green 50% #00aa00</code>.")

    class Meta:
        model = FlagState
        fields = ["enabled", "strategies", "variants", "dependencies", "number"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        state = self.instance
        self.rollout = from_definition(state.strategies, state.variants) if state.pk else Rollout()
        if self.rollout is None:  # the JSON holds more than the fields show: JSON only
            for name in ROLLOUT_FIELDS:
                if name in self.fields:
                    self.fields[name].disabled = True
                    self.fields[name].help_text = ("This state's JSON holds more than the fields can show "
                                                   "(segments, several constraint sets, strategy variants…): edit "
                                                   "the advanced JSON.")
            return
        rollout = self.rollout
        initial = {
            "percentage": None if rollout.percentage is None else f"{rollout.percentage:g}", "stickiness": rollout.stickiness, "group_id": rollout.group_id,
            "user_ids": ", ".join(rollout.user_ids),
            "constraint_lines": "\n".join(constraint_line(c) for c in rollout.constraints),
            "variant_lines": "\n".join(variant_line(v) for v in rollout.variants),
        }
        if rollout.stickiness not in STICKINESS:  # a custom context field read from the JSON
            self.fields["stickiness"].choices = [*self.fields["stickiness"].choices,  # type: ignore[attr-defined]
                                                 (rollout.stickiness, rollout.stickiness)]
        for name, value in initial.items():
            if name in self.fields:
                self.fields[name].initial = value

    # --- parsing the fields ----------------------------------------------------------------------------

    def _rollout_from_fields(self) -> Rollout | None:
        data, ok = self.cleaned_data, True
        rollout = Rollout(stickiness=data.get("stickiness") or "default", group_id=data.get("group_id") or "")
        if data.get("percentage") is not None:
            rollout.percentage = float(data["percentage"])
        rollout.user_ids = [u.strip() for line in _lines(data.get("user_ids") or "") for u in line.split(",")
                            if u.strip()]
        for line in _lines(data.get("constraint_lines") or ""):
            try:
                rollout.constraints.append(parse_constraint_line(line, services.KNOWN_OPERATORS))
            except ValueError as exc:
                self.add_error("constraint_lines", str(exc))
                ok = False
        for line in _lines(data.get("variant_lines") or ""):
            try:
                rollout.variants.append(parse_variant_line(line))
            except ValueError as exc:
                self.add_error("variant_lines", str(exc))
                ok = False
        return rollout if ok else None

    def _definition(self, rollout: Rollout) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        flag = self.instance.flag
        return to_definition(rollout, flag_key=flag.key, payload_type=PAYLOAD_TYPES.get(flag.value_type, "string"))

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or self.cleaned_data
        if self.errors:
            return data  # e.g. JSON that does not parse: said on its own field, nothing more to check
        state: FlagState = self.instance
        edited_json = any(n in self.changed_data for n in JSON_FIELDS)
        from_fields = self._rollout_from_fields() if self.rollout is not None else None
        if self.errors:
            return data
        edited_fields = from_fields is not None and self.rollout is not None and (
            self._definition(from_fields) != self._definition(self.rollout))
        if edited_json and edited_fields:
            raise ValidationError("You edited both the rollout fields and the advanced JSON: they could disagree, "
                                  "so nothing was saved. Undo one of the two edits (the fields are saved when only "
                                  "they change, the JSON when only it changes).")
        if edited_fields:
            assert from_fields is not None
            data["strategies"], data["variants"] = self._definition(from_fields)
        seen = data.get("seen_revision")
        if seen is not None and seen != state.revision:
            raise ValidationError(f"This state changed since you loaded it (revision {seen}, now {state.revision}): "
                                  "open it again in another tab to see the change; your input is kept here.")
        if self.definition_changed:
            try:
                services.validate_definition(flag=state.flag, strategies=data["strategies"], variants=data["variants"],
                                             dependencies=data["dependencies"], number=data.get("number"))
            except ValidationError as exc:
                self._add_service_errors(exc, fields_mode=edited_fields)
        return data

    def _add_service_errors(self, exc: ValidationError, *, fields_mode: bool) -> None:
        where = {"strategies": "constraint_lines", "variants": "variant_lines"} if fields_mode else {}
        errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
        for field, messages in errors.items():
            target = where.get(str(field), field)
            self.add_error(target if target in self.fields else None, messages)

    @property
    def definition_changed(self) -> bool:
        """Whether this save changes the strategies, variants or dependencies (from whichever source)."""
        data = getattr(self, "cleaned_data", {})
        return any(data.get(name) != self.initial.get(name) for name in ("strategies", "variants", "dependencies"))
