"""One way to declare the members of a discriminated union (the facts a dossier records, the
documents an activity makes): a generic `Tagged[kind, data]`, so that a member is one line,
`class ReviewFact(_Fact[Literal[FactKind.REVIEW], ReviewData]): ...`.

The member's `kind` is filled from its `Literal` when not given, so no caller repeats it. The JSON
is the one hand-written members wrote: the union's common fields first, then `kind` beside `data`
(a union's base lists `Tagged` first among its bases, and pydantic orders the fields of the most
basic class first).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Generic, TypeVar, get_args

from pydantic import BaseModel, model_validator

KindT = TypeVar("KindT", bound=StrEnum)
DataT = TypeVar("DataT")


def _filled() -> Any:
    """The default of `kind`, never used (the validator fills it in): it tells the type checker that
    a caller need not pass the kind."""
    return None


class Tagged(BaseModel, Generic[KindT, DataT]):
    """A model told apart by its `kind`, a one-value `Literal` in each concrete member."""

    kind: KindT = _filled()
    data: DataT

    @model_validator(mode="before")
    @classmethod
    def _kind_of_the_member(cls, value: Any) -> Any:
        if isinstance(value, dict) and "kind" not in value:
            (kind,) = get_args(cls.model_fields["kind"].annotation)
            return {**value, "kind": kind}
        return value
