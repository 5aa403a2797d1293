"""piu: port intelligence unit toolkit (manifest ingest, rule-based risk scoring, reports)."""

__version__ = "0.1.0"
