"""The opt-in read replica for flag delivery (governance/db_router.py), with a real standby: a throwaway primary,
a standby made with `pg_basebackup -R` on another port, and a portal (gunicorn) pointed at both. The shared server
on 5432 is never touched.

Reads on the replica are counted with the standby's own statistics (scans of flags_flagstate on the standby:
the lag check does not read that table, and nothing else reads the standby).
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.flags.live_portal import ROOT, Cluster, Portal, free_port, manage, pg_bin, token_maker

TARGET = {"service": "shop", "environment": "development"}
KEY = "kill_switch_api"
MAX_LAG = 2.0
CHECK = 0.5
WINDOW = MAX_LAG + CHECK + 1.0  # governance.db_router.window()


class Standby(Cluster):
    """A hot standby of `primary`, made with pg_basebackup -R (streaming replication, recovery settings written)."""

    def __init__(self, primary: Cluster) -> None:  # no initdb: the data directory is the base backup
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="gov-pg-standby-"))
        self.data = self.dir / "data"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run([pg_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                   "-D", str(self.data), "-R", "-X", "stream", "-c", "fast"])


@pytest.fixture(scope="module")
def setup():
    primary = Cluster()
    standby: Standby | None = None
    portal: Portal | None = None
    lkg_dir = Path(tempfile.mkdtemp(prefix="gov-lkg-"))
    try:
        primary.start()
        primary.create_database("portal")
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "governance.settings", "DEBUG": "true", "REDIS_URL": "",
               "CACHE_KEY_PREFIX": f"replica-{uuid.uuid4().hex[:8]}", "DATABASE_URL": primary.url("portal"),
               "FLAGS_LKG_DIR": str(lkg_dir), "CONN_MAX_AGE": "0", "FLAGS_SIGNING_SECRET": "replica-secret",
               "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "client")])}
        manage(env, "migrate", "--noinput")
        manage(env, "seed_demo")
        standby = Standby(primary)
        standby.start()
        issue = token_maker(env, "replica test")  # writes after the standby started: it has replayed something
        tokens = {"reader": issue("--name", "sdk", "--scope", "flags:read"),
                  "admin": issue("--name", "ops", "--scope", "flags:write", "--scope", "flags:read")}
        env.update(DATABASE_REPLICA_URL=standby.url("portal"), DATABASE_REPLICA_MAX_LAG_SECONDS=str(MAX_LAG),
                   DATABASE_REPLICA_LAG_CHECK_SECONDS=str(CHECK), FLAGS_MEMORY_TTL_SECONDS="0.2")
        portal = Portal(env, workers=1, threads=4)
        yield {"primary": primary, "standby": standby, "portal": portal, "tokens": tokens}
    finally:
        if portal is not None:
            portal.stop()
        if standby is not None:
            standby.destroy()
        primary.destroy()
        shutil.rmtree(lkg_dir, ignore_errors=True)


def _replica_reads(standby: Cluster) -> int:
    """Scans of flags_flagstate on the standby (statistics are flushed when the portal's connection closes)."""
    rows = standby.query("portal", "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables "
                                   "WHERE relname = 'flags_flagstate'")
    return int(rows[0][0]) if rows else 0


def _evict(setup) -> None:
    """Drop the shared snapshot generation (as a cache restart or eviction does, not a flag change): the next read
    builds the snapshot again, from the replica when the router allows it."""
    setup["primary"].query("portal", "DELETE FROM portal_cache WHERE cache_key LIKE %s RETURNING cache_key",
                           ("%flags:generation",))
    time.sleep(0.3)  # past FLAGS_MEMORY_TTL_SECONDS: the process asks the shared cache again


def _read(setup, token: str) -> tuple[int, bool]:
    response = httpx.get(f"{setup['portal'].url}/api/v1/flags/snapshot", params=TARGET,
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    return int(body["revision"]), {f["name"]: f["enabled"] for f in body["features"]}[KEY]


def _change(setup) -> tuple[int, bool]:
    """Toggle the kill switch through the API as the admin; returns the primary's revision and the new state."""
    _, before = _read(setup, setup["tokens"]["admin"])
    operation = "disengage_kill_switch" if before else "engage_kill_switch"
    changed = httpx.post(f"{setup['portal'].url}/api/v1/flags/shop/development/{KEY}/changes",
                         headers={"Authorization": f"Bearer {setup['tokens']['admin']}"},
                         json={"operation": operation, "reason": "replica test"}, timeout=10)
    assert changed.status_code == 200, changed.text
    revision = setup["primary"].query(
        "portal", "SELECT max(s.revision) FROM flags_flagstate s JOIN flags_flag f ON f.id = s.flag_id "
                  "JOIN governance_service sv ON sv.id = f.service_id JOIN governance_environment e "
                  "ON e.id = s.environment_id WHERE sv.slug = %s AND e.slug = %s",
        (TARGET["service"], TARGET["environment"]))[0][0]
    return int(revision), not before


def _wait(condition, timeout: float, step: float = 0.3) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def test_flag_reads_with_a_caught_up_replica__are_served_from_the_replica(setup):
    before = _replica_reads(setup["standby"])

    def served_from_replica() -> bool:
        _evict(setup)
        _read(setup, setup["tokens"]["reader"])
        return _replica_reads(setup["standby"]) > before

    assert _wait(served_from_replica, WINDOW + 10), "no flag read reached the standby"


def test_an_admin_who_just_changed_a_flag__reads_their_own_write_with_replay_paused(setup):
    setup["standby"].query("portal", "SELECT pg_wal_replay_pause()")
    try:
        revision, state = _change(setup)
        served = _read(setup, setup["tokens"]["admin"])  # at once, the replica does not have the change
        assert served == (revision, state)
    finally:
        setup["standby"].query("portal", "SELECT pg_wal_replay_resume()")


def test_paused_replay_beyond_the_lag_bound__reads_go_to_the_primary_and_are_never_older(setup):
    standby = setup["standby"]
    standby.query("portal", "SELECT pg_wal_replay_pause()")
    try:
        revision, state = _change(setup)
        on_replica = _replica_reads(standby)
        served = []
        deadline = time.monotonic() + WINDOW + MAX_LAG + 2  # past the read-your-writes window: only the lag decides
        while time.monotonic() < deadline:
            _evict(setup)  # every read builds: from the replica, if the router let it
            served.append(_read(setup, setup["tokens"]["reader"]))
        assert len(served) > 10
        assert all(read == (revision, state) for read in served), served  # never older than the change
        assert _replica_reads(standby) == on_replica  # the lagging replica served nothing
    finally:
        standby.query("portal", "SELECT pg_wal_replay_resume()")
    # resumed: the replica catches up and reads go back to it, still with the change
    back = _replica_reads(standby)

    def replica_serves_the_change() -> bool:
        _evict(setup)
        assert _read(setup, setup["tokens"]["reader"]) == (revision, state)
        return _replica_reads(standby) > back

    assert _wait(replica_serves_the_change, WINDOW + 10), "reads did not return to the replica after resume"


def test_a_stopped_replica__sends_reads_to_the_primary_with_the_current_state(setup):
    revision, state = _change(setup)
    time.sleep(WINDOW)  # past read-your-writes: only the replica's health decides
    setup["standby"].stop()
    try:
        served = []
        for _ in range(5):
            _evict(setup)  # every read builds; the lag check fails fast (connection refused): primary
            response = httpx.get(f"{setup['portal'].url}/api/v1/flags/snapshot", params=TARGET, timeout=10,
                                 headers={"Authorization": f"Bearer {setup['tokens']['reader']}"})
            body = response.json()
            served.append((response.headers["X-Flags-Source"], int(body["revision"]),
                           {f["name"]: f["enabled"] for f in body["features"]}[KEY]))
        # built afresh from the primary, not a degraded in-process copy
        assert served == [("database", revision, state)] * 5
    finally:
        setup["standby"].start()
