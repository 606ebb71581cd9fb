"""Admin for flags, one module per screen family (importing them registers the ModelAdmins):

- `flags.admin.flag_states`: flags with their per-environment states (rollouts, the ops console's actions), segments;
- `flags.admin.changes`: change requests (four-eyes) and scheduled changes;
- `flags.admin.telemetry`: SDK instances and break-glass records (read-only).
"""

from flags.admin import changes, flag_states, telemetry  # noqa: F401 - registers the ModelAdmins
