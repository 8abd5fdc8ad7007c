"""Render a stack without a cluster: what a reviewer reads instead of `pulumi preview`.

    python -m harness.render --stack dev --out build/render

Writes every Kubernetes object as YAML into <out>/<stack>/<cluster>/<namespace>/<kind>-<name>.yaml (Helm
releases as the release with its values), secret values shown as `[secret]`, and prints a summary per
cluster and namespace: resources, Helm releases with chart versions, and the resource budget per node
role against its capacity.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from harness.paths import PROJECT_ROOT
from harness.query import HELM_RELEASE, cluster_of, manifest, parse_type, stack_config
from harness.run import Evaluation, evaluate, stack_names


def object_path(resource_type: str, name: str, body: dict[str, Any]) -> tuple[str, str]:
    """(namespace folder, file name) of one rendered object."""
    metadata = body.get("metadata") or {}
    parsed = parse_type(resource_type)
    kind = body.get("kind") or (parsed[2] if parsed else resource_type.rsplit(":", 1)[-1])
    if resource_type == HELM_RELEASE:
        return str(body.get("namespace") or "_cluster"), f"HelmRelease-{body.get('name', name)}.yaml"
    namespace = metadata.get("namespace") or "_cluster"
    return str(namespace), f"{kind}-{metadata.get('name') or name}.yaml"


def write_tree(evaluation: Evaluation, out: Path) -> dict[str, list[tuple[str, str, dict[str, Any]]]]:
    """Write the objects of every cluster; return them per cluster as (namespace, file, body)."""
    per_cluster: dict[str, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
    for resource in evaluation.resources:
        if not resource.type.startswith("kubernetes:"):
            continue
        body = manifest(resource)
        folder, file_name = object_path(resource.type, resource.name, body)
        cluster = cluster_of(resource) or "_unknown"
        target = out / cluster / folder / file_name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(body, sort_keys=True, default_flow_style=False))
        per_cluster[cluster].append((folder, file_name, body))
    return per_cluster


def budget_lines(evaluation: Evaluation) -> dict[str, list[str]]:
    from infra.platform import cluster_placements
    from infra.profiles import role_budgets
    from infra.rollout.plan import built_clusters, site_config

    config = stack_config(evaluation)
    lines: dict[str, list[str]] = {}
    for cluster in built_clusters(config):
        site = site_config(config, cluster)  # a site may override the stack's profile
        budgets = role_budgets(cluster, site.profile, cluster_placements(cluster, site))
        lines[cluster.name] = [
            f"  {b.role:5} nodes {b.nodes}: requests {b.requested} of {b.capacity}"
            f" ({100 * b.requested.cpu / b.capacity.cpu:.0f}% cpu, "
            f"{100 * b.requested.memory_gb / b.capacity.memory_gb:.0f}% memory)"
            for b in budgets
        ]
    return lines


def summary(evaluation: Evaluation, per_cluster: dict[str, list[tuple[str, str, dict[str, Any]]]]) -> str:
    budgets = budget_lines(evaluation)
    out = [f"stack {evaluation.stack}: {sum(len(v) for v in per_cluster.values())} Kubernetes objects"]
    for cluster in sorted(per_cluster):
        objects = per_cluster[cluster]
        out.append(f"cluster {cluster}:")
        out.extend(budgets.get(cluster, []))
        by_namespace = Counter(folder for folder, _, _ in objects)
        for namespace in sorted(by_namespace):
            kinds = Counter(file.split("-", 1)[0] for folder, file, _ in objects if folder == namespace)
            listed = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
            out.append(f"  namespace {namespace}: {listed}")
        for folder, file, body in sorted(objects, key=lambda item: item[1]):
            if file.startswith("HelmRelease-"):
                out.append(f"  helm {body.get('name')}: {body.get('chart')} {body.get('version')} in {folder}")
    return "\n".join(out)


def render(stack: str, out: Path, root: Path = PROJECT_ROOT) -> str:
    evaluation = evaluate(stack, root=root)
    if evaluation.error is not None:
        raise SystemExit(f"stack {stack}: the program failed: {evaluation.error}")
    target = out / stack
    if target.exists():
        shutil.rmtree(target)
    per_cluster = write_tree(evaluation, target)
    return summary(evaluation, per_cluster)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.render", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", action="append", help="a stack name (repeatable); default: every stack file")
    parser.add_argument("--out", type=Path, default=Path("build/render"), help="output folder (default build/render)")
    args = parser.parse_args(argv)
    known = stack_names()
    stacks = args.stack or known
    unknown = [s for s in stacks if s not in known]
    if unknown:
        parser.error(f"no stack file stacks/Pulumi.{unknown[0]}.yaml; known stacks: {', '.join(known)}")
    for stack in stacks:
        print(render(stack, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
