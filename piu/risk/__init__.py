"""Risk scoring: features per call, the rule registry, rules files and scores."""
