"""kube-v6's CrossGuard policy pack (`pulumi preview --policy-pack policy`); rules in `rules.py`."""
