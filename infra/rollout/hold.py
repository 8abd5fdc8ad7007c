"""What `paused: true` means for a site: it keeps running what it runs, and nothing new is rolled out to it.

Every resource of a paused site is registered with all of its inputs in
`ignore_changes` (a changed input is not applied: Pulumi keeps the state's
value) and with `retain_on_delete` (a resource the new version drops stays in
the cluster). A resource the new version *adds* is still created: Pulumi
cannot know which resources already exist without state, so a site that must
not receive anything at all is `excluded` instead (which removes it).
A paused site is left out of its wave's health gate, and does not wait for
the gate before it.

This is a legacy `transformations` hook rather than a `transforms` one on
purpose: transformations run inside the program, so the mock harness sees
their effect exactly as the engine does.
"""

from __future__ import annotations

import pulumi


def hold(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
    """Keep a custom resource as it is in the state: ignore changes to every input, retain it on delete."""
    if not isinstance(args.resource, pulumi.CustomResource):
        return None  # components carry no inputs of their own; their children pass through here too
    already = set(args.opts.ignore_changes or [])
    added = sorted(key for key in args.props if not key.startswith("__") and key not in already)
    opts = pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(ignore_changes=added, retain_on_delete=True))
    return pulumi.ResourceTransformationResult(props=args.props, opts=opts)


def paused_options() -> pulumi.ResourceOptions:
    """The options a paused site's services are created with (inherited by every child)."""
    return pulumi.ResourceOptions(transformations=[hold])
