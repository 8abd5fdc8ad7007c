"""The rollout's config: Rancher access, waves, paused/excluded sites, Fleet mode; errors name file and key."""

from __future__ import annotations

import json

import pytest

from infra.config import ConfigError, parse_stack_config
from tests.support.stacks import core_cluster, edge_site

FLEET = {"mode": "fleet", "fleet": {"managementCluster": {"name": "rancher", "kubernetesVersion": "1.36",
                                                          "kubeconfig": {"path": "~/.kube/r.yaml"}},
                                    "repo": "https://git.example.org/deploy.git"}}


def raw(clusters: list[dict], **values: object) -> dict[str, str]:
    merged = {"domain": "edge.example.org", "gateway": {"mode": "existing", "className": "traefik"},
              "clusters": clusters, **values}
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in merged.items()}


def error_of(values: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_stack_config(values, "edge")
    return str(caught.value)


def test_site_defaults_are_wave_zero_not_paused_not_excluded() -> None:
    config = parse_stack_config(raw([core_cluster(), edge_site("a")]), "edge")
    site = config.clusters[1]
    assert (site.wave, site.paused, site.excluded, site.profile, site.model_version) == (0, False, False, None, None)
    assert config.rollout.mode == "pulumi" and config.rollout.gate.max_error_rate == 0.01


def test_rancher_sites_need_the_rancher_section() -> None:
    message = error_of(raw([core_cluster(), edge_site("a", rancher={"cluster": "a"})]))
    assert "clusters ['a'] are reached through Rancher: set 'rancher' (url, caPem)" in message


@pytest.mark.parametrize(("url", "ok"), [("https://rancher.example.org", True), ("http://127.0.0.1:8443", True),
                                         ("http://rancher.example.org", False)])
def test_rancher_url_must_be_https_unless_loopback(url: str, ok: bool) -> None:
    values = raw([core_cluster(), edge_site("a", rancher={"cluster": "a"})], rancher={"url": url})
    if ok:
        assert parse_stack_config(values, "edge").rancher.url == url
    else:
        assert "success6g-edge:rancher: Value error, Rancher's URL must be https://" in error_of(values)


def test_rancher_ca_must_be_pem() -> None:
    message = error_of(raw([core_cluster()], rancher={"url": "https://r.example.org", "caPem": "not a cert"}))
    assert "'caPem' must hold PEM certificates" in message


@pytest.mark.parametrize("field", [{"wave": 1}, {"paused": True}, {"excluded": True}])
def test_the_core_cluster_goes_first_and_always(field: dict) -> None:
    assert "has the core role: it goes first" in error_of(raw([core_cluster(**field), edge_site("a")]))


def test_a_site_cannot_be_both_paused_and_excluded() -> None:
    message = error_of(raw([core_cluster(), edge_site("a", paused=True, excluded=True)]))
    assert "sites ['a'] are both paused and excluded" in message


def test_a_negative_wave_and_an_unknown_profile_are_named() -> None:
    message = error_of(raw([core_cluster(), edge_site("a", wave=-1, profile="huge")]))
    assert "success6g-edge:clusters[1].wave: Input should be greater than or equal to 0" in message
    assert "success6g-edge:clusters[1].profile: Input should be 'minimal' or 'full'" in message


def test_fleet_mode_needs_its_section_and_takes_no_paused_site() -> None:
    assert "mode 'fleet' needs 'fleet'" in error_of(raw([core_cluster()], rollout={"mode": "fleet"}))
    assert "which Fleet cannot do per site" in error_of(raw([core_cluster(), edge_site("a", paused=True)],
                                                            rollout=FLEET))
    assert parse_stack_config(raw([core_cluster(), edge_site("a")], rollout=FLEET), "edge").rollout.fleet.paths == [
        "deploy/edge"]


def test_gate_limits_are_bounded() -> None:
    message = error_of(raw([core_cluster()], rollout={"gate": {"maxErrorRate": 2, "timeoutSeconds": 5}}))
    assert "success6g-edge:rollout.gate.maxErrorRate: Input should be less than or equal to 1" in message
    assert "success6g-edge:rollout.gate.timeoutSeconds: Input should be greater than or equal to 60" in message
