"""A result sink for augmentlab, ``jsonl``: every run of an ablation as one JSON line, the template for your own sink."""
