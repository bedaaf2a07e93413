"""Named timeouts and retry policies shared by the workflows."""

from datetime import timedelta

from temporalio.common import RetryPolicy

# Rendering a template and one SMTP conversation; an outage is retried, never dropped.
EMAIL_TIMEOUT = timedelta(seconds=60)
EMAIL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=10))

# A register lookup and the rules: milliseconds, but the first call loads the register.
ELIGIBILITY_TIMEOUT = timedelta(seconds=30)

# One row in the store.
RECORD_TIMEOUT = timedelta(seconds=30)

# A PDF of a few pages.
DOCUMENT_TIMEOUT = timedelta(seconds=120)

DEFAULT_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=5))
