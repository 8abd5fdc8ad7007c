"""The platform's CrossGuard policy pack: `pulumi preview --policy-pack policy` (rules in rules.py)."""
