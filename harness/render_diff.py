"""Diff two render trees (`python -m harness.render --out <dir>`), per stack and cluster, as Markdown.

    python -m harness.render_diff build/render-base build/render-head [--out diff.md]

A tree is <root>/<stack>/<cluster>/<namespace>/<Kind>-<name>.yaml. The Markdown lists, per cluster,
the objects added, removed and changed, each change as a unified diff; it is what CI comments on a
pull request, so it is cut at --max-chars (GitHub refuses comments over 65,536 characters).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

MARKER = "<!-- success6g-render-diff -->"  # lets CI find and update its own comment
DEFAULT_MAX_CHARS = 60_000

Tree = dict[tuple[str, str], dict[str, str]]  # (stack, cluster) -> {"<namespace>/<file>": text}


@dataclass
class ClusterDiff:
    stack: str
    cluster: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, str] = field(default_factory=dict)  # object -> unified diff

    @property
    def summary(self) -> str:
        return f"{len(self.added)} added, {len(self.changed)} changed, {len(self.removed)} removed"


def read_tree(root: Path) -> Tree:
    """Every rendered object under root, by stack and cluster (an absent root is an empty tree)."""
    tree: Tree = {}
    if not root.is_dir():
        return tree
    for path in sorted(root.glob("*/*/*/*.yaml")):
        stack, cluster, namespace = path.parts[-4:-1]
        tree.setdefault((stack, cluster), {})[f"{namespace}/{path.name}"] = path.read_text()
    return tree


def diff_trees(base: Tree, head: Tree) -> list[ClusterDiff]:
    """The clusters whose objects differ, in stack and cluster order."""
    diffs = []
    for key in sorted(base.keys() | head.keys()):
        before, after = base.get(key, {}), head.get(key, {})
        diff = ClusterDiff(*key, added=sorted(after.keys() - before.keys()),
                           removed=sorted(before.keys() - after.keys()))
        for name in sorted(before.keys() & after.keys()):
            if before[name] != after[name]:
                diff.changed[name] = "".join(difflib.unified_diff(
                    before[name].splitlines(keepends=True), after[name].splitlines(keepends=True),
                    fromfile=f"base/{name}", tofile=f"head/{name}", n=3))
        if diff.added or diff.removed or diff.changed:
            diffs.append(diff)
    return diffs


def _cluster_section(diff: ClusterDiff, head: Tree) -> list[str]:
    lines = [f"#### `{diff.stack}` / cluster `{diff.cluster}`: {diff.summary}", ""]
    lines += [f"- removed `{name}`" for name in diff.removed]
    for name in diff.added:
        body = head[(diff.stack, diff.cluster)][name]
        lines += [f"<details><summary>added <code>{name}</code></summary>", "", "```yaml", body.rstrip("\n"), "```",
                  "</details>"]
    for name, text in diff.changed.items():
        lines += [f"<details><summary>changed <code>{name}</code></summary>", "", "```diff", text.rstrip("\n"),
                  "```", "</details>"]
    return [*lines, ""]


def to_markdown(diffs: list[ClusterDiff], head: Tree, stacks: Sequence[str],
                max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The pull request comment: a summary table, then each cluster's changes, cut to fit max_chars."""
    header = [MARKER, "### Rendered manifests: base → head", ""]
    if not diffs:
        return "\n".join([*header, f"No change in the rendered manifests of {', '.join(sorted(stacks))}.", ""])
    header += ["| stack | cluster | added | changed | removed |", "|---|---|---|---|---|"]
    header += [f"| {d.stack} | {d.cluster} | {len(d.added)} | {len(d.changed)} | {len(d.removed)} |" for d in diffs]
    text = "\n".join([*header, ""]) + "\n"
    for diff in diffs:
        section = "\n".join(_cluster_section(diff, head)) + "\n"
        if len(text) + len(section) > max_chars:
            omitted = ", ".join(f"{d.stack}/{d.cluster}" for d in diffs[diffs.index(diff):])
            return text + (f"_Cut to fit a comment: the diffs of {omitted} are left out; "
                           "the full diff is in the workflow's artifact._\n")
        text += section
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.render_diff", description=__doc__.split("\n\n")[0])
    parser.add_argument("base", type=Path, help="render tree of the base commit")
    parser.add_argument("head", type=Path, help="render tree of the head commit")
    parser.add_argument("--out", type=Path, help="write the Markdown here (default: standard output)")
    parser.add_argument("--max-chars", type=int, default=DEFAULT_MAX_CHARS)
    args = parser.parse_args(argv)
    if not args.head.is_dir():
        parser.error(f"no render tree at {args.head} (run: python -m harness.render --out {args.head})")
    # A missing base is an empty tree: the base commit may predate the stack or the render command.
    base, head = read_tree(args.base), read_tree(args.head)
    stacks = sorted({stack for stack, _ in base.keys() | head.keys()})
    markdown = to_markdown(diff_trees(base, head), head, stacks, args.max_chars)
    if args.out is None:
        sys.stdout.write(markdown)
    else:
        args.out.write_text(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
