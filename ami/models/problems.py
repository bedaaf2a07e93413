"""Why the portal refuses a request: a reason code that carries the French sentence shown to the person."""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class Problem(StrEnum):
    """A member is written `NAME = "code", "Message en français."`; its value is the code."""

    _value_: str
    message: str

    def __new__(cls, code: str, message: str) -> Self:
        member = str.__new__(cls, code)
        member._value_ = code
        member.message = message
        return member


class ProblemError(Exception):
    """A refusal for one `Problem`, whose message is the exception's text."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(problem.message)
