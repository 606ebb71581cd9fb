"""Release planning without the portal: Conventional Commits, SemVer, bump policies, changelogs, commit ranges and
the release plan (`govctl semver`, `govctl commits`, `govctl release plan`); the portal imports the same code.
"""
