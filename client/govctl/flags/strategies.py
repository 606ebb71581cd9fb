"""Unleash activation strategies, compiled once per snapshot.

Each strategy becomes a rule over the context plus its constraints (its own and those of the
segments it references). Unknown (custom) strategies never match: the portal does not ship code.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from govctl.flags.constraints import Predicate, compile_all, context_value, fallback_identifier
from govctl.flags.murmur import normalized_hash
from govctl.flags.variants import VariantSet, variant_set

__all__ = ["CompiledStrategy", "compile_strategy"]

Rule = Callable[[Mapping[str, Any]], bool]

_STATIC = "STATIC"
_TARGETING = "TARGETING_MATCH"
_SPLIT = "SPLIT"


@lru_cache(maxsize=1)
def _local_hostname() -> str:
    return (os.environ.get("HOSTNAME") or socket.gethostname()).lower()


def _percentage(value: Any) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN never matches


def _never(context: Mapping[str, Any]) -> bool:
    return False


class CompiledStrategy:
    __slots__ = ("name", "rule", "constraints", "variants", "reason")

    def __init__(
        self,
        name: str,
        rule: Rule | None,
        constraints: tuple[Predicate, ...],
        variants: VariantSet | None,
        reason: str,
    ) -> None:
        self.name = name
        self.rule = rule  # None: the strategy itself always matches
        self.constraints = constraints
        self.variants = variants
        self.reason = reason

    def is_enabled(self, context: Mapping[str, Any]) -> bool:
        for constraint in self.constraints:
            if not constraint(context):
                return False
        rule = self.rule
        return rule is None or rule(context)


def _rollout_rule(percent: float | None, stickiness: str, group: str) -> tuple[Rule | None, bool]:
    """The rule of a percentage rollout and whether it needs a sticky field from the context."""
    if percent is None or percent <= 0:
        return _never, False
    if stickiness in ("default", "random") and percent >= 100:
        return None, False  # every bucket is in 1..100, so nothing needs hashing
    if stickiness == "default":

        def rule(context: Mapping[str, Any]) -> bool:
            sticky = context.get("userId") or context.get("sessionId") or fallback_identifier(context)
            return normalized_hash(str(sticky), group) <= percent

        return rule, False
    if stickiness == "random":
        return (lambda context: normalized_hash(fallback_identifier(context), group) <= percent), False

    def sticky_rule(context: Mapping[str, Any]) -> bool:
        sticky = context_value(context, stickiness)
        if sticky is None or sticky == "":
            return False
        return normalized_hash(str(sticky), group) <= percent

    return sticky_rule, True


def _split_reason(rule: Rule | None, percent: float | None, needs_field: bool, constrained: bool) -> str:
    if rule is None and not constrained:
        return _STATIC
    if percent is not None and 0 < percent < 100:
        return _SPLIT
    return _TARGETING if (needs_field or constrained or rule is not None) else _STATIC


def _remote_address_rule(ips: str) -> Rule:
    exact = set()
    networks = []
    for entry in ips.split(","):
        entry = entry.strip()
        if not entry:
            continue
        exact.add(entry)
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue  # Unleash skips entries that are neither an address nor a range

    def rule(context: Mapping[str, Any]) -> bool:
        address = context.get("remoteAddress")
        if not address:
            return False
        address = str(address).strip()
        if address in exact:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip.version == net.version and ip in net for net in networks)

    return rule


def compile_strategy(raw: Mapping[str, Any], feature_name: str, segments: Mapping[Any, Any]) -> CompiledStrategy:
    name = str(raw.get("name", ""))
    params = raw.get("parameters") or {}
    raw_constraints = list(raw.get("constraints") or ())
    broken_segment = False
    for segment_id in raw.get("segments") or ():
        segment = segments.get(segment_id)
        if segment is None:
            broken_segment = True  # a strategy pointing at an unknown segment never matches
            break
        raw_constraints.extend(segment.get("constraints") or ())
    constraints = compile_all(raw_constraints)
    constrained = bool(constraints)
    stickiness = str(params.get("stickiness") or "default")
    group = str(params.get("groupId") or feature_name)
    variants = variant_set(raw.get("variants"), stickiness, group)

    rule: Rule | None
    if name == "default":
        rule, reason = None, (_TARGETING if constrained else _STATIC)
    elif name == "flexibleRollout":
        percent = _percentage(params.get("rollout"))
        rule, needs_field = _rollout_rule(percent, stickiness, group)
        reason = _split_reason(rule, percent, needs_field, constrained)
    elif name == "gradualRolloutRandom":
        percent = _percentage(params.get("percentage"))
        rule, _ = _rollout_rule(percent, "random", str(params.get("groupId") or feature_name))
        reason = _split_reason(rule, percent, False, constrained)
    elif name in ("gradualRolloutUserId", "gradualRolloutSessionId"):
        percent = _percentage(params.get("percentage"))
        field = "userId" if name == "gradualRolloutUserId" else "sessionId"
        rule, _ = _rollout_rule(percent, field, str(params.get("groupId") or ""))
        reason = _split_reason(rule, percent, True, constrained)
    elif name == "userWithId":
        ids = frozenset(i.strip() for i in str(params.get("userIds") or "").split(",") if i.strip())
        rule = lambda context: (u := context.get("userId")) is not None and str(u) in ids  # noqa: E731
        reason = _TARGETING
    elif name == "remoteAddress":
        rule, reason = _remote_address_rule(str(params.get("IPs") or "")), _TARGETING
    elif name == "applicationHostname":
        hosts = frozenset(h.strip().lower() for h in str(params.get("hostNames") or "").split(",") if h.strip())

        def rule(context: Mapping[str, Any]) -> bool:
            # The portal evaluates for other machines, so a "hostname" in the context wins over ours.
            host = context_value(context, "hostname")
            return (str(host).lower() if host else _local_hostname()) in hosts

        reason = _TARGETING
    else:
        rule, reason = _never, _TARGETING
    if broken_segment:
        rule = _never
    return CompiledStrategy(name, rule, constraints, variants, reason)
