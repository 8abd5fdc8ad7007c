"""Every Service of ours selects some pod template of ours in its cluster and namespace (a Service that
selects nothing has no endpoints: every connection to it is refused)."""

from __future__ import annotations

from harness.pods import pod_templates, selected_templates
from harness.query import SERVICE, cluster_of, manifest, name_of, namespace_of
from harness.run import Evaluation


def check_service_selectors(evaluation: Evaluation) -> list[str]:
    templates = pod_templates(evaluation)
    problems = []
    for service in evaluation.of_type(SERVICE):
        spec = manifest(service).get("spec") or {}
        if spec.get("type") == "ExternalName":
            continue
        where = (f"Service {namespace_of(service) or 'default'}/{name_of(service)} on cluster "
                 f"{cluster_of(service)!r}")
        if not spec.get("selector"):
            problems.append(f"{where}: has no selector, so no endpoints (select the pods it serves)")
        elif not selected_templates(service, templates):
            problems.append(f"{where}: its selector {spec['selector']} matches no pod template in its namespace "
                            "on that cluster")
    return problems
