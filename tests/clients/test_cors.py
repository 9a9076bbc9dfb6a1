"""A browser's requests from another origin, as the OCM console and Waldur's HomePort make them,
against `make dev`'s local gateway (scripts/gateway.py) with one origin allowed.

Run by `make test` (scripts/api-check.sh starts the functions, the gateway with
ALLOWED_ORIGINS=$CORS_ALLOWED_ORIGIN, and seeds the demo data). Deployed, API Gateway does the same
from template.yaml's CorsConfiguration (tests/template.rs checks it).
"""

import os
from urllib.parse import urlsplit

import httpx
import pytest

BASE_URL = os.environ.get("LOG_SERVICE_URL", "http://127.0.0.1:3000")
ALLOWED = os.environ["CORS_ALLOWED_ORIGIN"]
REFUSED = "https://evil.example"
SYSTEM_LOG_TOKEN = os.environ["LOG_SERVICE_TOKEN"]
CLUSTER_LOG_TOKEN = os.environ["CLUSTER_LOG_TOKEN"]
# A cluster of the demo data set (devtools' seed), as the console's cluster history asks for it.
CLUSTER_HISTORY = "/api/service_logs/v1/clusters/cluster_logs?cluster_uuid=2d1c5f8a-7b3e-4f19-9c2d-6e8a0b4f7d13&size=20&page=1"


@pytest.fixture(scope="module")
def browser():
    with httpx.Client(base_url=BASE_URL, timeout=60) as client:
        yield client


def preflight(browser, origin, path, method, headers="authorization"):
    return browser.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


def cors_headers(response):
    return {k.lower(): v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


@pytest.mark.parametrize(
    "path,method,headers",
    [
        ("/api/system-logs/?page_size=10", "GET", "authorization"),
        (CLUSTER_HISTORY, "GET", "authorization"),
        ("/api/service_logs/v1/cluster_logs", "POST", "authorization,content-type"),
    ],
)
def test_a_preflight_from_an_allowed_origin_is_answered_without_a_token(browser, path, method, headers):
    answer = preflight(browser, ALLOWED, path, method, headers)
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    assert method in answer.headers["access-control-allow-methods"].split(", ")
    allowed = answer.headers["access-control-allow-headers"].split(", ")
    assert {"authorization", "content-type"} <= set(allowed)
    assert "access-control-allow-credentials" not in answer.headers


def test_a_preflight_from_any_other_origin_gets_no_cors_headers(browser):
    answer = preflight(browser, REFUSED, "/api/system-logs/", "GET")
    assert answer.status_code == 204
    assert cors_headers(answer) == {}


def test_homeports_call_from_an_allowed_origin_may_read_the_paging_headers(browser):
    answer = browser.get(
        "/api/system-logs/?page_size=5",
        headers={"Origin": ALLOWED, "Authorization": f"Token {SYSTEM_LOG_TOKEN}"},
    )
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    exposed = {h.strip() for h in answer.headers["access-control-expose-headers"].split(",")}
    assert {"link", "x-result-count", "retry-after"} <= exposed
    assert int(answer.headers["x-result-count"]) > 5
    assert "access-control-allow-credentials" not in answer.headers


def test_the_consoles_call_from_an_allowed_origin_gets_its_answer_and_cors_headers(browser):
    answer = browser.get(
        CLUSTER_HISTORY,
        headers={"Origin": ALLOWED, "Authorization": f"Bearer {CLUSTER_LOG_TOKEN}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == ALLOWED
    assert answer.json()["kind"] == "ClusterLogList"


def test_a_call_from_any_other_origin_gets_its_answer_without_cors_headers(browser):
    answer = browser.get(
        "/api/system-logs/?page_size=5",
        headers={"Origin": REFUSED, "Authorization": f"Token {SYSTEM_LOG_TOKEN}"},
    )
    assert answer.status_code == 200
    assert cors_headers(answer) == {}


def test_the_gateway_is_the_local_server_on_loopback():
    assert urlsplit(BASE_URL).hostname == "127.0.0.1"
