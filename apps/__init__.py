"""SUCCESS-6G edge apps: our own workloads, each app's runtime code beside its deploy module."""
