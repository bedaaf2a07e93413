"""A rule's refusal as the workflows' update validators raise it: an `ApplicationError` of type
"Refused", not retryable, whose message is the rule's French sentence."""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from ami.domain.refusal import Refusal


def refuse(message: str) -> ApplicationError:
    return ApplicationError(message, type="Refused", non_retryable=True)


def checked(check: Callable[[], None]) -> None:
    """Run a rule's check; its refusal becomes the validator's."""
    try:
        check()
    except Refusal as refusal:
        raise refuse(refusal.message) from None
