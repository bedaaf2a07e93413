"""Workflows: one per file, each reading top-down (state, the run story, then handlers)."""
