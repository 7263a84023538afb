"""`netwatch export`: the probes' counts as Prometheus metrics (see command.py)."""
