"""infra.rancher against a loopback Rancher (plain HTTP and TLS with its own CA): kubeconfigs and exact errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from infra.rancher import RancherError, RancherServer, cluster_kubeconfig
from tests.conftest import need_binary
from tests.support.fake_rancher import FakeRancher, fake_kubeconfig

pytestmark = pytest.mark.integration
TOKEN = "token-test:placeholder"
CLUSTERS = {"edge-north": "c-m-north1", "success6g-core": "c-m-core01"}


def server(fake: FakeRancher, token: str = TOKEN, **extra: object) -> RancherServer:
    return RancherServer(fake.url, token, **extra)  # type: ignore[arg-type]


def test_finds_the_cluster_by_name_then_asks_for_its_kubeconfig() -> None:
    with FakeRancher(token=TOKEN, clusters=CLUSTERS) as fake:
        config = cluster_kubeconfig(server(fake), "north", "edge-north")
    assert config == fake_kubeconfig("c-m-north1", "edge-north")
    assert [(r.method, r.path, r.authorization) for r in fake.requests] == [
        ("GET", "/v3/clusters?name=edge-north", f"Bearer {TOKEN}"),
        ("POST", "/v3/clusters/c-m-north1?action=generateKubeconfig", f"Bearer {TOKEN}"),
    ]


@pytest.mark.parametrize(("fake_args", "token", "message"), [
    ({}, "wrong-token", ("site 'north': Rancher at {url} rejected the API token (HTTP 401: must authenticate); "
                         "set a valid one: pulumi config set --secret rancherToken")),
    ({"forbidden_tokens": ("limited-token",)}, "limited-token",
     "site 'north': Rancher at {url} rejected the API token (HTTP 403: clusters.management.cattle.io is forbidden)"),
    ({"clusters": {"success6g-core": "c-1"}}, TOKEN,
     ("site 'north': Rancher at {url} has no cluster named 'edge-north' that this token can see; "
      "check clusters[].rancher.cluster")),
])
def test_refusals_name_the_site_and_the_url(fake_args: dict, token: str, message: str) -> None:
    with FakeRancher(**{"token": TOKEN, "clusters": CLUSTERS, **fake_args}) as fake, \
            pytest.raises(RancherError) as caught:
        cluster_kubeconfig(server(fake, token), "north", "edge-north")
    assert str(caught.value).startswith(message.format(url=fake.url))


def test_a_closed_port_is_unreachable() -> None:
    with FakeRancher(token=TOKEN, clusters=CLUSTERS) as fake:
        url = fake.url
    with pytest.raises(RancherError, match=rf"site 'north': Rancher at {url} is unreachable \(.*refused"):
        cluster_kubeconfig(RancherServer(url, TOKEN), "north", "edge-north")


def test_a_slow_rancher_times_out() -> None:
    with FakeRancher(token=TOKEN, clusters=CLUSTERS, delay_seconds=1.0) as fake, \
            pytest.raises(RancherError, match=r"is unreachable \(.*timed out"):
        cluster_kubeconfig(server(fake, timeout_seconds=0.2), "north", "edge-north")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    need_binary("openssl", "Debian package openssl")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    return cert, key


def test_tls_is_verified_with_the_configured_ca(certificate: tuple[Path, Path]) -> None:
    with FakeRancher(token=TOKEN, clusters=CLUSTERS, tls=certificate) as fake:
        trusted = server(fake, ca_pem=certificate[0].read_text())
        assert "c-m-core01" in cluster_kubeconfig(trusted, "core", "success6g-core")
        with pytest.raises(RancherError, match=r"is unreachable \(.*CERTIFICATE_VERIFY_FAILED"):
            cluster_kubeconfig(server(fake), "core", "success6g-core")  # system CAs do not know it
