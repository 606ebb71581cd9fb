"""The flag SDK's engine, standard library only: evaluation (strategies, variants, constraints, hashing), signed
snapshots and their stream, the degraded answer, the flag-operation vocabulary and the operational guards.

Public entry points stay where services import them: `govctl.sdk`, `govctl.django_middleware`,
`govctl.openfeature_provider`.
"""
