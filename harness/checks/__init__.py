"""The checks on an evaluated stack, one module each. A check takes an Evaluation and returns its problems
(empty means it passes). This registry is the list the stack tests run; no check module imports it.

Determinism (harness/checks/determinism.py) is not in the registry: it evaluates the stack itself, twice.
"""

from __future__ import annotations

from collections.abc import Callable

from harness.checks.builtin_schemas import check_builtin_schemas
from harness.checks.custom_resources import check_custom_resources
from harness.checks.helm_values import check_helm_releases
from harness.checks.images import check_images
from harness.checks.ordering import check_ordering
from harness.checks.port_names import check_port_names
from harness.checks.providers import check_providers
from harness.checks.references import check_references
from harness.checks.routes import check_route_backends
from harness.checks.secrets import check_no_plaintext_secrets
from harness.checks.service_hosts import check_service_hosts
from harness.checks.service_selectors import check_service_selectors
from harness.checks.uniqueness import check_unique_urns
from harness.run import Evaluation

Check = Callable[[Evaluation], list[str]]

ALL_CHECKS: dict[str, Check] = {
    "builtin-schemas": check_builtin_schemas,
    "custom-resources": check_custom_resources,
    "helm-values": check_helm_releases,
    "plaintext-secrets": check_no_plaintext_secrets,
    "providers": check_providers,
    "unique-urns": check_unique_urns,
    "crd-ordering": check_ordering,
    # the wiring: what our pods, Services, monitors and routes name exists, and our images are the published ones
    "references": check_references,
    "service-hosts": check_service_hosts,
    "service-selectors": check_service_selectors,
    "port-names": check_port_names,
    "route-backends": check_route_backends,
    "images": check_images,
}
WIRING_CHECKS = ("references", "service-hosts", "service-selectors", "port-names", "route-backends", "images")
CHECKS_NEEDING_SHARED = frozenset({"custom-resources", "helm-values"})  # they read ../shared

