"""govctl's own tests, mirroring client/govctl by domain: flags (the SDK engine), releases (commits, versions,
changelogs), migration_lint, audit; tests that need the portal's database use the shared fixtures of tests/conftest.py."""
