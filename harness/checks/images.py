"""Our own images are the ones the image workflow publishes, chosen by the stack's config.

Every container of ours whose image is one of ours (`<registry>/success6g-edge-<name>:<tag>`), and every Helm
values image map naming one (`{repository|name: …/success6g-edge-<name>, tag: …}`), must equal
`StackConfig.images.ref(name)` (stack keys `images.registry`, `images.tag`), and its repository must be one
that .github/workflows/image.yml publishes (the `images:` of its docker/metadata-action steps, where
`${{ github.repository_owner }}` stands for any lower-case owner, as ghcr.io requires).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from harness.paths import PROJECT_ROOT
from harness.pods import pod_templates
from harness.query import HELM_RELEASE, cluster_of, manifest, stack_config
from harness.run import Evaluation

IMAGE_WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "image.yml"
OURS = re.compile(r"^(?P<repository>.+/success6g-edge-(?P<name>[a-z0-9-]+))(?::(?P<tag>[^@/]+))?(?:@.+)?$")
EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")
OWNER = "[a-z0-9](?:[a-z0-9-]{0,38})"  # a GitHub owner, lower-cased as the metadata action does for ghcr.io


def _expression_pattern(expression: str) -> str:
    return OWNER if expression == "github.repository_owner" else "[^/]+"


def _image_pattern(line: str) -> re.Pattern[str]:
    """An `images:` entry of docker/metadata-action (`<image>` or `name=<image>,enable=…`) as a regex."""
    image = line.strip()
    if "name=" in image:
        image = next(part.split("=", 1)[1] for part in image.split(",") if part.strip().startswith("name="))
    pieces, position = [], 0
    for match in EXPRESSION.finditer(image):
        pieces += [re.escape(image[position:match.start()]), _expression_pattern(match.group(1))]
        position = match.end()
    pieces.append(re.escape(image[position:]))
    return re.compile("".join(pieces))


@cache
def published_repositories(workflow: Path = IMAGE_WORKFLOW) -> tuple[re.Pattern[str], ...]:
    """The repositories the image workflow pushes to, as patterns (a missing or empty workflow publishes none)."""
    if not workflow.is_file():
        return ()
    document = yaml.safe_load(workflow.read_text()) or {}
    patterns = []
    for job in (document.get("jobs") or {}).values():
        for step in job.get("steps") or []:
            if str(step.get("uses", "")).startswith("docker/metadata-action@"):
                images = str((step.get("with") or {}).get("images") or "")
                for row in _matrix_rows(job):
                    patterns += [_image_pattern(_with_matrix(line, row)) for line in images.splitlines()
                                 if line.strip()]
    return tuple(patterns)


def _matrix_rows(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The job's `strategy.matrix.include` rows (one image per row), or one empty row."""
    matrix = (job.get("strategy") or {}).get("matrix") or {}
    return [dict(row) for row in matrix.get("include") or []] or [{}]


def _with_matrix(line: str, row: dict[str, Any]) -> str:
    """`${{ matrix.<key> }}` replaced by the row's value (other expressions stay patterns)."""
    def value(match: re.Match[str]) -> str:
        key = match.group(1).removeprefix("matrix.")
        return str(row[key]) if match.group(1).startswith("matrix.") and key in row else match.group(0)
    return EXPRESSION.sub(value, line)


def _helm_images(values: Any, path: str = "values") -> Iterator[tuple[str, str]]:
    """(where, image) of every image map in Helm values whose repository is one of ours."""
    if isinstance(values, dict):
        repository = values.get("repository") or values.get("name")
        if isinstance(repository, str) and OURS.match(repository):
            tag = values.get("tag")
            yield path, f"{repository}:{tag}" if tag not in (None, "") else repository
        for key, child in values.items():
            yield from _helm_images(child, f"{path}.{key}")
    elif isinstance(values, list):
        for index, child in enumerate(values):
            yield from _helm_images(child, f"{path}[{index}]")


def our_images(evaluation: Evaluation) -> Iterator[tuple[str, str]]:
    """(where, image) of every image of ours the stack runs."""
    for template in pod_templates(evaluation):
        for container in template.containers:
            image = container.get("image")
            if isinstance(image, str) and OURS.match(image):
                yield f"{template.describe()}: container {container.get('name')!r}", image
    for release in evaluation.of_type(HELM_RELEASE):
        where = f"release {release.name} on cluster {cluster_of(release)!r}"
        for path, image in _helm_images(manifest(release).get("values") or {}):
            yield f"{where}: {path}", image


def check_images(evaluation: Evaluation, workflow: Path = IMAGE_WORKFLOW) -> list[str]:
    images = list(our_images(evaluation))
    if not images:
        return []
    config = stack_config(evaluation).images
    published = published_repositories(workflow)
    problems = []
    for where, image in images:
        match = OURS.match(image)
        assert match is not None  # our_images yields only ours
        expected = config.ref(match.group("name"))
        if image != expected:
            problems.append(f"{where}: image {image!r} is not the stack's {expected!r} (set from images.registry "
                            f"and images.tag in stacks/Pulumi.{evaluation.stack}.yaml)")
        if not any(pattern.fullmatch(match.group("repository")) for pattern in published):
            shown = ", ".join(p.pattern for p in published) or "nothing"
            problems.append(f"{where}: repository {match.group('repository')!r} is not one {workflow.name} publishes "
                            f"({shown})")
    return problems
