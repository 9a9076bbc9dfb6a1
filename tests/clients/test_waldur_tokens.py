"""Waldur's own API tokens, sent as waldur-api-client sends them (its default `Token` prefix),
through `make dev`'s gateway with WALDUR_API_URL pointing at a stand-in for Waldur's
`/api/users/me/` (tests/clients/waldur_stand_in.py; the logs are the demo data in DynamoDB Local).

Run by `make test` (scripts/api-check.sh starts the stand-in, and the functions with
WALDUR_API_URL set).
"""

import os

import httpx
import pytest
from waldur_api_client.api.system_logs import (
    system_logs_instances_list,
    system_logs_list,
    system_logs_stats_retrieve,
)
from waldur_api_client.client import AuthenticatedClient
from waldur_api_client.errors import UnexpectedStatus
from waldur_stand_in import STAFF, SUPPORT, UNREACHABLE, USER

BASE_URL = os.environ.get("LOG_SERVICE_URL", "http://127.0.0.1:3000")
WALDUR = os.environ["WALDUR_API_URL"]


def client(token):
    # Unchanged but for the base URL and the token: the prefix is the client's default, `Token`.
    return AuthenticatedClient(base_url=BASE_URL, token=token, timeout=60)


def lookups(token):
    return httpx.get(f"{WALDUR}/_lookups").json().get(token, 0)


@pytest.mark.parametrize("token", [STAFF, SUPPORT], ids=["staff", "support"])
def test_waldur_staff_and_support_read_every_system_log_route(token):
    with client(token) as authenticated:
        page = system_logs_list.sync_detailed(client=authenticated, page_size=5)
        assert page.status_code == 200, page.content
        assert len(page.parsed) == 5
        assert system_logs_stats_retrieve.sync_detailed(client=authenticated).status_code == 200
        instances = system_logs_instances_list.sync_detailed(client=authenticated)
        assert instances.status_code == 200 and instances.parsed
    assert lookups(token) >= 1, "Waldur was asked, with `Token <key>`"


def refusal(token):
    """What the client raises for a refused list (it raises on any status but 200)."""
    with client(token) as authenticated, pytest.raises(UnexpectedStatus) as raised:
        system_logs_list.sync_detailed(client=authenticated)
    return raised.value


def test_a_plain_waldur_user_is_forbidden():
    refused = refusal(USER)
    assert refused.status_code == 403
    assert refused.content == b'{"detail":"You do not have permission to perform this action."}'


def test_a_token_waldur_refuses_is_401_invalid_token():
    refused = refusal("ffffffffffffffffffffffffffffffffffffffff")
    assert refused.status_code == 401
    assert refused.content == b'{"detail":"Invalid token."}'


def test_when_waldur_does_not_answer_the_caller_gets_503_and_retry_after():
    refused = refusal(UNREACHABLE)
    assert refused.status_code == 503, refused.content
    assert b"retry" in refused.content
    # The same request through the client's own HTTP client, for the headers.
    with client(UNREACHABLE) as authenticated:
        answer = authenticated.get_httpx_client().get("/api/system-logs/")
    assert answer.request.headers["authorization"] == f"Token {UNREACHABLE}"
    assert answer.status_code == 503 and "retry-after" in answer.headers


def test_repeated_requests_with_one_token_cost_one_lookup():
    token = STAFF
    with client(token) as authenticated:
        system_logs_list.sync_detailed(client=authenticated, page=1, page_size=5)
        before = lookups(token)
        for page in (2, 3, 4):
            answer = system_logs_list.sync_detailed(client=authenticated, page=page, page_size=5)
            assert answer.status_code == 200
    assert lookups(token) == before, "answers are cached for WALDUR_TOKEN_CACHE_SECONDS"
