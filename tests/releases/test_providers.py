"""Deploy-provider adapters: Vercel over httpx.MockTransport, the signed webhook against a real local server."""

import json

import httpx
import pytest

from releases import providers

REQUEST = providers.DeployRequest(
    action="promote", deployment_id=7, service="shop", environment="production",
    release={"id": 3, "version": "1.2.0", "tag": "v1.2.0", "build_sha": "a" * 40},
    previous={"id": 2, "version": "1.1.0", "tag": "v1.1.0", "build_sha": "b" * 40},
    requested_by="rita", reason="ship it", provider_ref="dpl_abc",
)
VERCEL = {"project_id": "prj_1", "team_id": "team_1", "token_env": "VERCEL_TOKEN_SHOP"}
ENV = {"VERCEL_TOKEN_SHOP": "vercel-token", "HOOK_SECRET": "hook-secret-for-tests"}


def _vercel(handler, settings=VERCEL, environ=ENV):
    seen = []

    def record(request):
        seen.append(request)
        return handler(request)

    provider = providers.get_provider("vercel", settings, environ=environ, transport=httpx.MockTransport(record),
                                      sleep=lambda s: None)
    return provider, seen


def test_vercel_promote__posts_to_the_promote_endpoint_with_the_token():
    provider, seen = _vercel(lambda request: httpx.Response(201, json={}))
    result = provider.run(REQUEST)
    assert result.ok and result.provider_ref == "dpl_abc"
    [request] = seen
    assert request.method == "POST"
    assert request.url.path == "/v10/projects/prj_1/promote/dpl_abc"
    assert request.url.params["teamId"] == "team_1"
    assert request.headers["Authorization"] == "Bearer vercel-token"


def test_vercel_rollback__posts_to_the_rollback_endpoint():
    provider, seen = _vercel(lambda request: httpx.Response(201, json={}))
    from dataclasses import replace

    assert provider.run(replace(REQUEST, action="rollback", provider_ref="dpl_old")).ok
    assert seen[0].url.path == "/v1/projects/prj_1/rollback/dpl_old"
    assert seen[0].url.params["description"] == "ship it"


def test_vercel_5xx__is_retried_then_succeeds():
    answers = iter([httpx.Response(502), httpx.Response(503), httpx.Response(202, json={})])
    provider, seen = _vercel(lambda request: next(answers))
    result = provider.run(REQUEST)
    assert result.ok and len(seen) == 3
    assert [a["status"] for a in result.details["attempts"]] == [502, 503, 202]


def test_vercel_refusal__fails_with_vercels_message_without_retrying():
    provider, seen = _vercel(lambda request: httpx.Response(
        403, json={"error": {"code": "forbidden", "message": "Not authorized to promote"}}))
    result = provider.run(REQUEST)
    assert not result.ok and len(seen) == 1
    assert result.error == "Vercel answered 403: Not authorized to promote"


def test_vercel_without_a_deployment_id__fails_clearly():
    from dataclasses import replace

    provider, seen = _vercel(lambda request: httpx.Response(201))
    result = provider.run(replace(REQUEST, provider_ref=""))
    assert not result.ok and not seen
    assert "no Vercel deployment id" in result.error


@pytest.mark.parametrize(("deploy_settings", "environ", "fragment"), [
    ({"team_id": "t"}, ENV, "deploy_settings.project_id is required"),
    (VERCEL, {}, "VERCEL_TOKEN_SHOP (deploy_settings.token_env) is not set"),
    ({**VERCEL, "api_url": "http://api.vercel.com"}, ENV, "https://"),
    ({**VERCEL, "retries": 99}, ENV, "deploy_settings.retries must be a number from 0 to 10"),
])
def test_vercel_bad_settings__name_the_setting(deploy_settings, environ, fragment):
    with pytest.raises(providers.ProviderConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        providers.get_provider("vercel", deploy_settings, environ=environ)


def test_unknown_provider__is_a_config_error():
    with pytest.raises(providers.ProviderConfigError, match="unknown deploy provider 'heroku'"):
        providers.get_provider("heroku", {})


def test_record_only__succeeds_without_calling_anything():
    result = providers.get_provider("record", {}).run(REQUEST)
    assert result.ok and "record-only" in result.details["note"]


def _webhook(receiver, **settings):
    return providers.get_provider("webhook", {"url": receiver.url, "secret_env": "HOOK_SECRET", **settings},
                                  environ=ENV, sleep=lambda s: None)


def test_webhook__delivers_a_signed_body_the_receiver_verifies(receiver):
    result = _webhook(receiver).run(REQUEST)
    assert result.ok and result.provider_ref == "build-42" and result.url == "https://shop.example.com"
    [delivery] = receiver.received
    assert delivery["valid"] is True and delivery["event"] == "release.promote"
    body = delivery["body"]
    assert (body["service"], body["environment"], body["release"]["version"]) == ("shop", "production", "1.2.0")
    assert body["previous"]["version"] == "1.1.0" and body["delivery_id"] == delivery["delivery"]


def test_webhook_5xx__is_retried_with_the_same_delivery_id(receiver):
    receiver.statuses = [503, 500]
    result = _webhook(receiver, retries=3).run(REQUEST)
    assert result.ok
    assert len(receiver.received) == 3
    assert len({r["delivery"] for r in receiver.received}) == 1
    assert [a["status"] for a in result.details["attempts"]] == [503, 500, 200]


def test_webhook_retries_exhausted__fail_with_the_last_answer(receiver):
    receiver.statuses = [503, 503, 503]
    result = _webhook(receiver, retries=2).run(REQUEST)
    assert not result.ok and len(receiver.received) == 3
    assert result.error == "webhook answered 503 after 3 attempt(s): busy"


def test_webhook_wrong_secret__is_refused_by_the_receiver_and_not_retried(receiver):
    provider = providers.get_provider("webhook", {"url": receiver.url, "secret_env": "HOOK_SECRET"},
                                      environ={"HOOK_SECRET": "not-the-secret"}, sleep=lambda s: None)
    result = provider.run(REQUEST)
    assert not result.ok and len(receiver.received) == 1
    assert receiver.received[0]["valid"] is False
    assert "401" in result.error and "signature mismatch" in result.error


def test_webhook_unreachable__fails_after_the_retries():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = providers.get_provider("webhook", {"url": f"http://127.0.0.1:{port}/", "secret_env": "HOOK_SECRET",
                                                  "retries": 1, "timeout": 2}, environ=ENV, sleep=lambda s: None)
    result = provider.run(REQUEST)
    assert not result.ok and "unreachable after 2 attempt(s)" in result.error


def test_signature__covers_the_exact_body():
    body = json.dumps({"a": 1}).encode()
    signature = providers.sign("k", body)
    assert providers.verify_signature("k", body, signature)
    assert not providers.verify_signature("k", body + b" ", signature)
    assert not providers.verify_signature("k", body, None)
