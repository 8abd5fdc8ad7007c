"""The SUCCESS-6G edge platform: load the stack's config, build every cluster's services."""

import pulumi

from infra import config_loader
from infra.platform import Platform, PlatformArgs

stack_config, stack_secrets = config_loader.load()
platform = Platform("success6g", PlatformArgs(config=stack_config, secrets=stack_secrets))
pulumi.export("clusters", platform.clusters)
pulumi.export("domain", stack_config.domain)
if platform.fleet_yaml is not None:
    pulumi.export("fleetYaml", platform.fleet_yaml)  # commit it beside the edge manifests Fleet deploys
