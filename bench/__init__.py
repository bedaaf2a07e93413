"""The benchmarks: `python -m bench.run` (every phase, ratios against bare Temporal in the same run),
`python -m bench.region` (the whole region against Temporal's limits). Run from the repository root."""
