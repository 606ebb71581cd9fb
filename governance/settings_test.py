"""Test settings: the real settings, a fast hasher, django-q2 in sync mode."""

import os

from governance.settings import *  # noqa: F403
from governance.settings import Q_CLUSTER

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
Q_CLUSTER["sync"] = True  # read at import time: override_settings has no effect (PITFALLS.md)
AXES_ENABLED = True
REST_FRAMEWORK_THROTTLE_DISABLED = False
SLO_SELF_MEASURE = False  # tests that measure the portal enable it themselves
# The test cluster logs in as the `postgres` superuser; typed SQL refuses that elsewhere (governance.sql_rules).
# tests/schemaplans/test_typed_sql_superuser_login.py removes it to test the refusal.
os.environ["TYPED_SQL_ALLOW_SUPERUSER"] = "1"
