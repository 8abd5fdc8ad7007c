"""Federated learning as the program deploys it: the SuperLink on core, a SuperNode per listed edge node,
only SuperNodes (through the gateway, or locally) reach the Fleet API, keys generated and registered."""

from __future__ import annotations

import dataclasses

import pytest

from harness.checks import ALL_CHECKS
from harness.checks.references import check_references
from harness.query import cluster_of, objects, one, plain
from harness.run import Evaluation, Recorded, evaluate
from infra.components.federated_run import CLIENT_LABEL
from infra.components.vehicle_api import READER_LABEL
from tests.program.known_gaps import unexpected_problems

DEPLOYMENT, SECRET = "kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Secret"
POLICY, ROUTE = "kubernetes:networking.k8s.io/v1:NetworkPolicy", "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
DEV_FEDERATED = {"enabled": True, "sites": [{"cluster": "testbed", "nodes": ["rpi-1", "rpi-2"]}]}


@pytest.fixture(scope="module")
def dev_federated() -> Evaluation:
    evaluation = evaluate("dev", overrides={"success6g-edge:federated": DEV_FEDERATED})
    assert evaluation.error is None, evaluation.error
    return evaluation


def container(deployment: Recorded, name: str) -> dict:
    return next(c for c in deployment.inputs["spec"]["template"]["spec"]["containers"] if c["name"] == name)


def test_the_superlink_serves_tls_admits_registered_supernodes_and_keeps_state(evaluations):
    superlink = one(evaluations["edge"], DEPLOYMENT, "superlink", "federated")
    assert cluster_of(superlink) == "core"
    main = container(superlink, "superlink")
    args = main["args"]
    assert main["image"] == "docker.io/flwr/superlink:1.42.0"
    assert "--enable-supernode-auth" in args and "--insecure" not in args
    assert args[args.index("--ssl-certfile") + 1] == "/tls/tls.crt" and "--host=0.0.0.0" in args  # beyond the pod
    assert args[args.index("--database") + 1] == "/state/state.db"
    volumes = {v["name"]: v for v in superlink.inputs["spec"]["template"]["spec"]["volumes"]}
    assert volumes["state"]["persistentVolumeClaim"]["claimName"] == "superlink-state"
    assert volumes["tls"]["secret"]["secretName"] == "superlink-tls"
    for probe in ("readinessProbe", "livenessProbe"):
        assert main[probe]["httpGet"] == {"path": "/health", "port": 8000, "scheme": "HTTPS"}
    certificate = one(evaluations["edge"], "kubernetes:cert-manager.io/v1:Certificate", "superlink-tls", "federated")
    assert certificate.inputs["spec"]["issuerRef"]["name"] == "success6g-ca"
    assert "flower.edge.success6g.eu" in certificate.inputs["spec"]["dnsNames"]


def test_only_the_fleet_api_goes_through_the_gateway(evaluations):
    route = one(evaluations["edge"], ROUTE, "flower", "federated")
    [rule] = route.inputs["spec"]["rules"]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/v1/fleet"}}]  # not /v1/control
    assert rule["backendRefs"] == [{"name": "superlink", "port": 8000}]
    policy = one(evaluations["edge"], POLICY, "superlink", "federated")
    [ingress] = policy.inputs["spec"]["ingress"]
    peers = [peer.get("podSelector", {}).get("matchLabels") or peer["namespaceSelector"]["matchLabels"]
             for peer in ingress["from"]]
    assert peers == [CLIENT_LABEL, {"kubernetes.io/metadata.name": "istio-system"}]
    assert ingress["ports"] == [{"port": 8000, "protocol": "TCP"}]


def test_a_supernode_per_listed_node_with_its_own_secret_key(evaluations):
    edge = evaluations["edge"]
    supernodes = [d for d in objects(edge, DEPLOYMENT, namespace="edge-apps") if d.inputs["metadata"]["name"]
                  .startswith("supernode-")]
    placed = {(cluster_of(d), d.inputs["spec"]["template"]["spec"]["nodeSelector"]["kubernetes.io/hostname"])
              for d in supernodes}
    assert placed == {("edge-a", "edge-a-1"), ("edge-a", "edge-a-2"), ("edge-b", "edge-b-1"), ("edge-b", "edge-b-2")}
    keys = set()
    for deployment in supernodes:
        args = container(deployment, "supernode")["args"]
        assert args[args.index("--superlink") + 1] == "flower.edge.success6g.eu:443"
        # the gateway's certificate is signed by the stack's CA (self-signed stack): the SuperNode trusts it
        assert args[args.index("--root-certificates") + 1] == "/ca/ca.crt"
        [ca] = [v for v in deployment.inputs["spec"]["template"]["spec"]["volumes"] if v["name"] == "ca"]
        assert ca["configMap"] == {"name": "success6g-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}
        one(edge, "kubernetes:core/v1:ConfigMap", "success6g-ca", "edge-apps", cluster_of(deployment))
        node = deployment.inputs["spec"]["template"]["spec"]["nodeSelector"]["kubernetes.io/hostname"]
        assert f'node="{node}"' in args[args.index("--node-config") + 1]
        labels = deployment.inputs["spec"]["template"]["metadata"]["labels"]
        assert READER_LABEL.items() <= labels.items() and CLIENT_LABEL.items() <= labels.items()
        secret = one(edge, SECRET, f"supernode-{node}-key", "edge-apps", cluster_of(deployment))
        assert "4dabf18193072939515e22adb298388d" in str(secret.inputs["stringData"])  # a Pulumi secret
        keys.add(plain(secret)["stringData"]["private.key"])
    assert len(keys) == 4  # one key pair per node, none shared
    public = one(edge, "kubernetes:core/v1:ConfigMap", "supernode-public-keys", "federated")
    assert sorted(public.inputs["data"]) == ["edge-a--edge-a-1.pub", "edge-a--edge-a-2.pub",
                                             "edge-b--edge-b-1.pub", "edge-b--edge-b-2.pub"]
    job = one(edge, "kubernetes:batch/v1:Job", "register-supernodes", "federated")
    assert "flwr supernode register" in container(job, "register")["command"][-1]


def test_supernodes_take_no_connections_and_may_read_their_node_s_redis(evaluations):
    for cluster in ("edge-a", "edge-b"):
        deny = one(evaluations["edge"], POLICY, "supernodes", "edge-apps", cluster)
        assert deny.inputs["spec"]["policyTypes"] == ["Ingress"] and not deny.inputs["spec"].get("ingress")
        redis = one(evaluations["edge"], POLICY, "vehicle-api", "edge-apps", cluster)
        assert {"podSelector": {"matchLabels": READER_LABEL}} in redis.inputs["spec"]["ingress"][0]["from"]
    services = [s for s in evaluations["edge"].of_type("kubernetes:core/v1:Service")
                if READER_LABEL.items() <= (s.inputs["spec"].get("selector") or {}).items()]
    assert services == []


def test_on_a_cluster_with_both_roles_supernodes_stay_inside(dev_federated):
    supernode = one(dev_federated, DEPLOYMENT, "supernode-rpi-1", "edge-apps")
    args = container(supernode, "supernode")["args"]
    assert args[args.index("--superlink") + 1] == "superlink.federated.svc.cluster.local:8000"
    assert args[args.index("--root-certificates") + 1] == "/ca/ca.crt"
    assert objects(dev_federated, ROUTE, "flower") == []  # no edge-only site: the Fleet API is not published
    trust = one(dev_federated, "kubernetes:cert-manager.io/v1:Certificate", "flower-trust", "edge-apps")
    assert trust.inputs["spec"]["issuerRef"]["name"] == "success6g-ca"


@pytest.mark.parametrize("check", sorted(ALL_CHECKS))
def test_a_stack_with_federated_learning_on_a_both_cluster_passes_check(dev_federated, check):
    assert unexpected_problems(check, dev_federated) == []


def test_a_site_that_is_no_edge_cluster_is_named():
    evaluation = evaluate("dev", overrides={"success6g-edge:federated": {
        "enabled": True, "sites": [{"cluster": "nowhere", "nodes": ["n1"]}]}})
    assert "success6g-edge:federated.sites[0].cluster: 'nowhere' is not an edge cluster" in str(evaluation.error)


def test_the_superlink_s_secret_counts_only_because_its_certificate_makes_it(evaluations):
    """The references check accepts Secrets cert-manager makes from the stack's Certificates, and only those."""
    edge = evaluations["edge"]
    assert [p for p in check_references(edge) if "'superlink-tls'" in p] == []  # (other gaps: known_gaps.py)
    without = dataclasses.replace(edge, resources=[r for r in edge.resources if not (
        r.type.endswith(":Certificate") and r.inputs["metadata"]["name"] == "superlink-tls")])
    problems = [p for p in check_references(without) if "Secret 'superlink-tls'" in p]
    assert {p.split(":")[0] for p in problems} == {  # every pod of the federation that trusts or serves it
        "Deployment federated/superlink on cluster 'core'", "Deployment federated/serverapp on cluster 'core'",
        "Job federated/register-supernodes on cluster 'core'", "CronJob federated/federated-run on cluster 'core'"}


def test_a_gateway_with_its_own_ca_is_trusted_through_fleet_ca_pem():
    edge = evaluate("edge", overrides={"success6g-edge:federated": {
        "enabled": True, "fleetCaPem": GATEWAY_CA, "sites": [{"cluster": "edge-a", "nodes": ["edge-a-1"]}]}})
    assert edge.error is None, edge.error
    supernode = one(edge, DEPLOYMENT, "supernode-edge-a-1", "edge-apps", "edge-a")
    [ca] = [v for v in supernode.inputs["spec"]["template"]["spec"]["volumes"] if v["name"] == "ca"]
    assert ca["configMap"]["name"] == "flower-fleet-ca"
    assert one(edge, "kubernetes:core/v1:ConfigMap", "flower-fleet-ca", "edge-apps", "edge-a").inputs["data"] == {
        "ca.crt": GATEWAY_CA}


# a certificate's shape only (the program stores and mounts it; nothing here verifies with it)
GATEWAY_CA = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUY2F0YWxvZw==\n-----END CERTIFICATE-----\n"
