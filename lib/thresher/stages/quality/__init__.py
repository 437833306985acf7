"""Quality stages: URL and language filters, the Gopher / C4 / FineWeb heuristic rules, refinement, PII and
bad-word filters."""
