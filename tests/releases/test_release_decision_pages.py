"""Approve and promote pages show what the person signs; a failed check is unmissable; blocked means disabled."""

import re

from django.urls import reverse

from releases import services
from releases.models import Approval, Deployment

CHANGELIST = "admin:releases_release_changelist"


def _post(client, action, release, follow=False, **extra):
    return client.post(reverse(CHANGELIST), {"action": action, "_selected_action": [release.pk], **extra},
                       follow=follow)


def _confirm_button(html):
    match = re.search(r'<input type="submit"[^>]*id="confirm-button"[^>]*>', html)
    assert match is not None, "no Confirm button on the page"
    return match.group(0)


def test_failed_security_scan__promote_page_disables_confirm_with_the_reason(
        client, release_manager, release, gate_policy, system_user):
    gate_policy(required_checks=[], approvals_required=0)
    services.report_check(release=release, name="security-scan", status="failure", actor=system_user, reason="ci")
    client.force_login(release_manager)
    html = _post(client, "promote", release).content.decode()
    assert release.evidence_digest in html
    assert 'class="failure-banner"' in html and "security-scan" in html
    assert 'id="gate-decision">block</span>' in html
    assert "disabled" in _confirm_button(html)
    assert "Cannot confirm: shop 1.0.0: required-checks: failed: security-scan" in html
    # a crafted confirm is refused by the same rule: nothing deployed
    _post(client, "promote", release, confirm="yes", reason="ship it anyway")
    assert not Deployment.objects.filter(release=release).exists()


def test_failed_check__approve_is_refused_even_when_posted(client, release_manager, release, gate_policy,
                                                           system_user):
    services.report_check(release=release, name="security-scan", status="failure", actor=system_user, reason="ci")
    client.force_login(release_manager)
    html = _post(client, "approve", release).content.decode()
    assert "disabled" in _confirm_button(html)
    page = _post(client, "approve", release, confirm="yes", reason="lgtm", follow=True).content.decode()
    assert "the gate blocks" in page
    assert not Approval.objects.filter(release=release).exists()


def test_approve_page__shows_digest_checks_and_every_gate_input_without_an_error_box(
        client, release_manager, release, system_user):
    services.report_check(release=release, name="tests", status="success", actor=system_user, reason="ci")
    client.force_login(release_manager)
    html = _post(client, "approve", release).content.decode()
    assert release.evidence_digest in html and "verdict-success" in html
    for name in ("release-state", "required-checks", "soak-time", "approvals", "freeze-window", "deploy-provider"):
        assert f"<code>{name}</code>" in html
    assert 'class="errornote"' not in html
    assert "disabled" not in _confirm_button(html)


def test_release_list_and_page__show_a_failed_check(client, release_manager, release, system_user):
    services.report_check(release=release, name="security-scan", status="failure", actor=system_user, reason="ci")
    client.force_login(release_manager)
    listing = client.get(reverse(CHANGELIST)).content.decode()
    assert "✗ failed: security-scan" in listing
    page = client.get(reverse("admin:releases_release_change", args=[release.pk])).content.decode()
    assert 'class="failure-banner"' in page


def test_rolled_back_release__page_offers_neither_approve_nor_promote(client, release_manager, release):
    release.state = "rolled_back"  # the state a rollback leaves; set directly as only the page is under test
    release.stamp(actor=release_manager, reason="test")
    release.save(update_fields=["state"])
    client.force_login(release_manager)
    page = client.get(reverse("admin:releases_release_change", args=[release.pk])).content.decode()
    assert 'value="approve"' not in page and 'value="promote"' not in page
