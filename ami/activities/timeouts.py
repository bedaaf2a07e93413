"""Named timeouts and retry policies shared by the workflows.

A task lost with its worker (a crash, a SIGKILL) is only retried when its timeout expires: the slow
activities (emails, documents) heartbeat and are retried after `*_HEARTBEAT` of silence, the quick
ones have tight `start_to_close` timeouts. A lost task resumes within about ten seconds
(docs/reliability.md gives the measured figures). Activity options are not part of the determinism
check: changing these values never breaks the replay of a history.
"""

from datetime import timedelta

from temporalio.common import RetryPolicy

# How often a heartbeating activity reports (ami/activities/heartbeat.py); well under the timeouts below.
HEARTBEAT_EVERY = timedelta(seconds=1)

# Rendering a template and one SMTP conversation; an outage is retried, never dropped.
EMAIL_TIMEOUT = timedelta(seconds=60)
EMAIL_HEARTBEAT = timedelta(seconds=5)
# At most 30 s between attempts: once the relay or the store is back, the letters go out within 30 s.
EMAIL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=30))

# A register lookup and the rules: milliseconds, but the first call loads the register.
ELIGIBILITY_TIMEOUT = timedelta(seconds=8)

# One row in the store.
RECORD_TIMEOUT = timedelta(seconds=5)
# The journal's rows are written by local activities (ami/workflows/journal.py): attempts run in the
# worker, inside the workflow task, which the worker keeps alive with a heartbeat (three history
# events every eight seconds or so). Past JOURNAL_LOCAL_RETRY_THRESHOLD of backoff, the next attempt
# waits on a durable timer instead (about five events per attempt, one attempt every 30 s at most):
# a store outage costs history, never the row; attempts are unlimited and no schedule-to-close
# timeout applies, so an outage never fails the workflow. The backoff reaches the threshold after
# about 15 s of failed attempts (1 + 2 + 4 + 8 s).
JOURNAL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=30))
JOURNAL_LOCAL_RETRY_THRESHOLD = timedelta(seconds=10)

# A PDF of a few pages.
DOCUMENT_TIMEOUT = timedelta(seconds=120)
DOCUMENT_HEARTBEAT = timedelta(seconds=5)

DEFAULT_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0, maximum_interval=timedelta(seconds=30))
