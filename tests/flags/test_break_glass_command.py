"""manage.py flags_break_glass: clear refusals, status, and an idempotent replay."""

import pytest
from django.core.management import CommandError, call_command

from flags import breakglass, services
from flags.models import BreakGlassRecord


@pytest.mark.parametrize(("args", "options", "message"), [
    (["engage", "ghost"], {"service": "shop", "environment": "production", "reason": "x"}, "no flag 'ghost'"),
    (["engage", "new-checkout"], {"service": "shop", "environment": "production", "reason": "x"},
     "break glass is for kill switches"),
    (["engage", "kill_switch_api"], {"service": "shop", "environment": "production", "reason": "x",
                                     "expires_in": "soon"}, "a number and a unit"),
    (["engage", "kill_switch_api"], {"service": "shop", "environment": "production"}, "needs --reason"),
    (["disengage", "kill_switch_api"], {"service": "shop", "environment": "production", "reason": "x",
                                        "expires_in": "5m"}, "engage only"),
    (["engage", "kill_switch_api"], {"service": "shop", "environment": "production", "reason": "x",
                                     "actor": "nobody"}, "no portal user 'nobody'"),
])
def test_bad_invocation__is_refused_before_anything_changes(make_flag, args, options, message):
    make_flag("new-checkout")
    with pytest.raises(CommandError, match=message):
        call_command("flags_break_glass", *args, **options)
    assert breakglass.entries() == []


def test_status_and_replay__report_pending_overrides(service, capsys):
    entry = breakglass.add(service="shop", environment="preview", flag="kill_switch_api", action="engage",
                           reason="offline switch")
    call_command("flags_break_glass", "status")
    assert entry["id"] in capsys.readouterr().out
    call_command("flags_break_glass", "replay")
    assert "recorded as revision" in capsys.readouterr().out
    assert BreakGlassRecord.objects.filter(override_id=entry["id"]).exists()
    call_command("flags_break_glass", "status")
    assert "No break-glass override pending" in capsys.readouterr().out


def test_replay__records_each_override_once(service, production, system_user):
    entry = breakglass.add(service="shop", environment="production", flag="kill_switch_api", action="engage",
                           reason="offline switch")
    BreakGlassRecord.objects.create(override_id=entry["id"], service_slug="shop", environment_slug="production",
                                    flag_key="kill_switch_api", action="engage", reason="offline switch",
                                    created_at=entry["created_at"])  # another process recorded it already
    [(_, outcome)] = breakglass.replay()
    assert outcome == "already recorded" and not breakglass.entries()
    state = services.state_for(service=service, environment=production, key="kill_switch_api")
    assert not state.enabled  # not applied a second time
