"""Readers, heading mapping, normalisers and ingest: agents' files into canonical tables."""
