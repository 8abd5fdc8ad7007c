"""Rolling the edge sites out: in waves gated on the earlier wave's health (pulumi mode), or through Rancher Fleet.

plan.py      which sites are built, in which wave, with which profile (pure)
gate.py      the gate Job on the core cluster, one per wave boundary (runs apps/rollout/gate_check.py in our apps image)
hold.py      what `paused: true` means for a site's resources
fleet.py     the Fleet objects of `rollout.mode: fleet`
build.py     the order of it all
"""
