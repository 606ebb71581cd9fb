"""Hand-written ids and filters in the admin get a message, a 404 or Django's "invalid filter" page: no 500."""

from datetime import timedelta

from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone

from governance.models import ApiToken


def test_history_of_a_malformed_id__is_404(client, make_user, service):
    client.force_login(make_user("sudo", superuser=True))
    assert client.get(reverse("admin:governance_service_history", args=["abc"])).status_code == 404
    assert client.get(reverse("admin:governance_service_history", args=[service.pk])).status_code == 200


def test_action_on_a_selection_that_is_no_id__does_nothing_and_says_so(client, make_user, make_token):
    make_token("flags:read")
    token = ApiToken.objects.get()
    client.force_login(make_user("sudo", superuser=True))
    page = client.post(reverse("admin:governance_apitoken_changelist"), {
        "action": "revoke", "_selected_action": [str(token.pk), "1 OR 1=1"], "confirm": "yes", "reason": "leak"},
        follow=True)
    assert page.status_code == 200
    assert "The selection holds a value that is not an id: nothing was done." in page.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None


def test_service_filter_that_is_no_id__shows_the_invalid_filter_page(client, make_user, service):
    client.force_login(make_user("sudo", superuser=True))
    response = client.get(reverse("admin:governance_auditevent_changelist"), {"service": "abc"})
    assert response.status_code == 302 and response["Location"].endswith("/auditevent/?e=1")


def test_axes_cleanup_action__removes_expired_attempts(client, make_user):
    client.force_login(make_user("sudo", superuser=True))  # before the attempt: axes cleans up on each login too
    old = AccessAttempt.objects.create(username="mallory", ip_address="10.0.0.9", user_agent="x", get_data="",
                                       post_data="", failures_since_start=3)
    AccessAttempt.objects.filter(pk=old.pk).update(attempt_time=timezone.now() - timedelta(hours=2))
    page = client.post(reverse("admin:axes_accessattempt_changelist"),
                       {"action": "cleanup_expired_attempts", "_selected_action": [old.pk]}, follow=True)
    assert page.status_code == 200 and "Cleaned up 1 expired access attempts." in page.content.decode()
    assert not AccessAttempt.objects.exists()
