"""`mlayer demo`: train, build, replay a seed-like ingest locally, and report against the seed's numbers."""
