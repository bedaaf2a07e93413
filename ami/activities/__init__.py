"""Activities: every side effect of the lifecycle (emails, documents, records, eligibility)."""
