"""Two API clients change one flag from the same revision at the same time: one applies, the other gets 409."""

import threading

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_concurrent_changes_from_one_revision__exactly_one_wins(api, make_token, make_flag, state_of, operator,
                                                                 release_manager):
    flag = make_flag("race")
    seen = state_of(flag, "development").revision
    secrets = {"olga": make_token("flags:write", owner=operator, name="olga's pager"),
               "rita": make_token("flags:write", owner=release_manager, name="rita's CI")}
    barrier = threading.Barrier(2)
    answers: dict[str, tuple[int, dict]] = {}

    def change(who, rollout):
        try:
            client = api(secrets[who])
            barrier.wait()
            response = client.post("/api/v1/flags/shop/development/race/changes", {
                "operation": "set_strategies", "reason": f"{rollout}%", "expected_revision": seen,
                "payload": {"strategies": [{"name": "flexibleRollout", "parameters": {"rollout": rollout}}]}},
                format="json")
            answers[who] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=change, args=("olga", "10")), threading.Thread(target=change,
                                                                                     args=("rita", "90"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in answers.values()) == [200, 409]
    winner = next(who for who, (status, _) in answers.items() if status == 200)
    loser_body = next(body for status, body in answers.values() if status == 409)
    state = state_of(flag, "development")
    assert loser_body["current_revision"] == state.revision == answers[winner][1]["state"]["revision"]
    assert state.history.latest().history_user.username == winner
    assert state.strategies[0]["parameters"]["rollout"] == ("10" if winner == "olga" else "90")
