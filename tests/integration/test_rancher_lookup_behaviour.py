"""The Rancher client's cluster lookup when Rancher's answer is not the tidy one: unfiltered lists, two clusters
of one name, empty or malformed documents. A loopback server answers each request with a canned document, so
each case is exactly the answer a proxy, an older Rancher or a misconfigured URL could give.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from harness.fake_rancher import fake_kubeconfig
from harness.loopback import LoopbackServer
from infra.rancher import USER_AGENT, RancherError, RancherServer, cluster_kubeconfig

pytestmark = pytest.mark.integration
LIST_PATH = "/v3/clusters?name=edge-north"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class CannedRancher(LoopbackServer):
    """Answers (method, path) with (status, body); anything else 404. Records every request with its headers."""

    answers: dict[tuple[str, str], tuple[int, bytes]]
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        canned = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                canned.seen.append(Seen(method, self.path, dict(self.headers.items()), body))
                status, payload = canned.answers.get((method, self.path), (404, b'{"type": "error"}'))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        LoopbackServer.__init__(self, Handler)


def listing(*clusters: dict[str, Any]) -> tuple[int, bytes]:
    return 200, json.dumps({"type": "collection", "data": list(clusters)}).encode()


def kubeconfig_answer(cluster_id: str, name: str = "edge-north") -> tuple[int, bytes]:
    return 200, json.dumps({"type": "generateKubeconfigOutput", "config": fake_kubeconfig(cluster_id, name)}).encode()


def generate_path(cluster_id: str) -> str:
    return f"/v3/clusters/{cluster_id}?action=generateKubeconfig"


@pytest.fixture
def token() -> str:
    return f"token-test:{secrets.token_hex(8)}"


def lookup(answers: dict[tuple[str, str], tuple[int, bytes]], token: str) -> tuple[str, CannedRancher]:
    with CannedRancher(answers=answers) as rancher:
        return cluster_kubeconfig(RancherServer(rancher.url, token), "north", "edge-north"), rancher


def lookup_error(answers: dict[tuple[str, str], tuple[int, bytes]], token: str) -> str:
    with CannedRancher(answers=answers) as rancher, pytest.raises(RancherError) as caught:
        cluster_kubeconfig(RancherServer(rancher.url, token), "north", "edge-north")
    return str(caught.value).replace(rancher.url, "{url}")


def test_an_unfiltered_answer_still_gives_the_named_cluster_not_the_first(token: str) -> None:
    # A Rancher (or proxy) that ignores ?name= lists every cluster: the site must still get its own kubeconfig.
    answers = {
        ("GET", LIST_PATH): listing({"id": "c-core", "name": "success6g-core"},
                                    {"id": "c-north2", "name": "edge-north-2"},
                                    {"id": "c-north", "name": "edge-north"}),
        ("POST", generate_path("c-north")): kubeconfig_answer("c-north"),
    }
    config, rancher = lookup(answers, token)
    assert config == fake_kubeconfig("c-north", "edge-north")
    assert [(s.method, s.path) for s in rancher.seen] == [("GET", LIST_PATH), ("POST", generate_path("c-north"))]


def test_a_cluster_whose_name_only_starts_like_the_wanted_one_is_not_taken(token: str) -> None:
    answers = {("GET", LIST_PATH): listing({"id": "c-north2", "name": "edge-north-2"}, {"id": "c-x", "name": "Edge-North"})}
    assert lookup_error(answers, token) == (
        "site 'north': Rancher at {url} has no cluster named 'edge-north' that this token can see; "
        "check clusters[].rancher.cluster")


def test_two_clusters_of_one_name_stop_with_both_ids_instead_of_picking_one(token: str) -> None:
    answers = {("GET", LIST_PATH): listing({"id": "c-b", "name": "edge-north"}, {"id": "c-core", "name": "core"},
                                           {"id": "c-a", "name": "edge-north"})}
    assert lookup_error(answers, token) == (
        "site 'north': Rancher at {url} has 2 clusters named 'edge-north' (c-a, c-b); rename one")


@pytest.mark.parametrize("document", [{"type": "collection", "data": []}, {"type": "collection", "data": None},
                                      {"type": "collection"}])
def test_an_empty_or_missing_list_is_no_such_cluster(token: str, document: dict) -> None:
    answers = {("GET", LIST_PATH): (200, json.dumps(document).encode())}
    assert "has no cluster named 'edge-north' that this token can see" in lookup_error(answers, token)


def test_requests_carry_the_token_accept_json_and_say_who_asks(token: str) -> None:
    answers = {("GET", LIST_PATH): listing({"id": "c-north", "name": "edge-north"}),
               ("POST", generate_path("c-north")): kubeconfig_answer("c-north")}
    _, rancher = lookup(answers, token)
    for seen in rancher.seen:
        assert seen.headers["Authorization"] == f"Bearer {token}"
        assert seen.headers["Accept"] == "application/json"
        assert seen.headers["User-Agent"] == USER_AGENT
    # the action is a POST with an empty body, sent with its length (proxies refuse a POST without one: 411)
    assert rancher.seen[1].headers.get("Content-Length") == "0"
    assert "Content-Length" not in rancher.seen[0].headers


def test_a_cluster_id_is_quoted_into_the_path(token: str) -> None:
    answers = {("GET", LIST_PATH): listing({"id": "c/north x", "name": "edge-north"}),
               ("POST", generate_path("c%2Fnorth%20x")): kubeconfig_answer("c/north x")}
    config, _ = lookup(answers, token)
    assert "c/north x" in config


@pytest.mark.parametrize(("answer", "message"), [
    ((200, b'{"type": "generateKubeconfigOutput", "config": "  "}'),
     "site 'north': Rancher at {url} returned no kubeconfig for 'c-north'"),
    ((200, b'{"type": "generateKubeconfigOutput"}'), "site 'north': Rancher at {url} returned no kubeconfig for 'c-north'"),
    ((200, b'{"type": "generateKubeconfigOutput", "config": 7}'),
     "site 'north': Rancher at {url} returned no kubeconfig for 'c-north'"),
    ((200, json.dumps({"config": "apiVersion: v1\nclusters: []\n"}).encode()),
     "site 'north': Rancher at {url} returned a kubeconfig without clusters for 'c-north'"),
    ((200, json.dumps({"config": "clusters: [unclosed\n"}).encode()),
     "site 'north': Rancher at {url} returned a kubeconfig without clusters for 'c-north'"),
    ((200, json.dumps({"config": "- just\n- a list\n"}).encode()),
     "site 'north': Rancher at {url} returned a kubeconfig without clusters for 'c-north'"),
    ((200, b"<html>login</html>"),
     ("site 'north': Rancher at {url}: POST /v3/clusters/c-north?action=generateKubeconfig did not answer JSON "
     "(is the URL Rancher's?)")),
    ((200, b"[]"), ("site 'north': Rancher at {url}: POST /v3/clusters/c-north?action=generateKubeconfig answered "
                   "list, not an object")),
    ((500, b'{"type": "error", "message": "etcd is down"}'),
     ("site 'north': Rancher at {url}: POST /v3/clusters/c-north?action=generateKubeconfig failed with HTTP 500: "
     "etcd is down")),
    # 300 Multiple Choices is no answer (requests follows only redirects with a Location), even with a body
    ((300, b'{"type": "generateKubeconfigOutput", "config": "clusters: []"}'),
     "site 'north': Rancher at {url}: POST /v3/clusters/c-north?action=generateKubeconfig failed with HTTP 300"),
    ((502, b"bad gateway"),
     "site 'north': Rancher at {url}: POST /v3/clusters/c-north?action=generateKubeconfig failed with HTTP 502"),
    ((500, b'{"type": "error", "message": ""}'),
     "site 'north': Rancher at {url}: POST /v3/clusters/c-north?action=generateKubeconfig failed with HTTP 500"),
])
def test_a_bad_kubeconfig_answer_is_named(token: str, answer: tuple[int, bytes], message: str) -> None:
    answers = {("GET", LIST_PATH): listing({"id": "c-north", "name": "edge-north"}),
               ("POST", generate_path("c-north")): answer}
    assert lookup_error(answers, token) == message


def test_a_url_with_a_trailing_slash_asks_the_same_paths(token: str) -> None:
    answers = {("GET", LIST_PATH): listing({"id": "c-north", "name": "edge-north"}),
               ("POST", generate_path("c-north")): kubeconfig_answer("c-north")}
    with CannedRancher(answers=answers) as rancher:
        cluster_kubeconfig(RancherServer(rancher.url + "/", token), "north", "edge-north")
    assert [s.path for s in rancher.seen] == [LIST_PATH, generate_path("c-north")]


def test_an_unreachable_rancher_is_named_with_the_plain_reason(token: str) -> None:
    # The operator reads the network's reason ("[Errno 111] Connection refused"), not requests' whole wrapper.
    with CannedRancher(answers={}) as rancher:
        url = rancher.url
    with pytest.raises(RancherError) as caught:
        cluster_kubeconfig(RancherServer(url, token), "north", "edge-north")
    assert str(caught.value) == (f"site 'north': Rancher at {url} is unreachable (Failed to establish a new "
                                 "connection: [Errno 111] Connection refused); check the URL, the network and "
                                 "'rancher.caPem'")


def test_a_failing_listing_names_the_request(token: str) -> None:
    answers = {("GET", LIST_PATH): (503, b'{"type": "error", "message": "cattle-cluster-agent is restarting"}')}
    assert lookup_error(answers, token) == (
        "site 'north': Rancher at {url}: GET /v3/clusters?name=edge-north failed with HTTP 503: "
        "cattle-cluster-agent is restarting")
