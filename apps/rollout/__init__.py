"""Code that runs in the rollout's pods: the health gate's check (stdlib only)."""
