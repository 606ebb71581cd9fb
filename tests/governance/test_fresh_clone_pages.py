"""What a fresh clone's first visitor sees: offline API docs, a token expiry default, a useful "View site"."""

import re
from datetime import timedelta

from django.conf import settings
from django.contrib.staticfiles import finders
from django.utils import timezone


def test_api_docs__load_their_javascript_from_our_own_static_files(client, db):
    page = client.get("/api/docs/").content.decode()
    scripts = re.findall(r'<script[^>]+src="([^"]+)"', page)
    assert scripts, page
    for src in scripts:
        assert src.startswith(settings.STATIC_URL) or src.startswith("/" + settings.STATIC_URL), src
        assert finders.find(src.split(settings.STATIC_URL, 1)[1]), f"{src} is not a static file we ship"


def test_token_add_form__expiry_defaults_to_api_token_default_days(admin_client, settings):
    settings.API_TOKEN_DEFAULT_DAYS = 30
    form = admin_client.get(f"/{settings.ADMIN_PATH}governance/apitoken/add/").context["adminform"].form
    initial = form["expires_at"].initial
    assert abs(initial - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)


def test_view_site_link__leads_to_a_page_that_exists(admin_client):
    page = admin_client.get(f"/{settings.ADMIN_PATH}")
    link = page.context["site_url"]
    assert link != "/"
    assert admin_client.get(link, follow=True).status_code == 200
