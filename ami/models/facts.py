"""The facts of a dossier the store records (the `record_fact` activity's input): a jury review or
conflict, an attendance, a feedback, an experiment. One model per kind, told apart by `kind`, so
the activity dispatches on the type.

`fact_id` is unique per fact, so a retried activity adds no second row. The JSON is the one the
workflows have always written (`kind` beside `data`); a fact written by an older worker repeats
`at` and `kind` inside its data, which is ignored.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ami.models.campaign_messages import ConflictInput, ScoreInput
from ami.models.candidature_messages import RecordExperimentInput
from ami.models.tagged import DataT, KindT, Tagged
from ami.models.values import Attendance, Feedback

_LOOSE = ConfigDict(extra="ignore")


class FactKind(StrEnum):
    REVIEW = "review"
    CONFLICT = "conflict"
    ATTENDANCE = "attendance"
    FEEDBACK = "feedback"
    EXPERIMENT = "experiment"


class ReviewData(ScoreInput):
    """A jury member's scores, and whether they replace the member's earlier ones."""

    model_config = _LOOSE

    replaces: bool = False


class ConflictData(ConflictInput):
    model_config = _LOOSE


class _Where(BaseModel):
    workflow_id: str
    campaign_id: str
    receipt_number: str
    fact_id: str
    at: AwareDatetime


class _Fact(Tagged[KindT, DataT], _Where): ...


class ReviewFact(_Fact[Literal[FactKind.REVIEW], ReviewData]): ...


class ConflictFact(_Fact[Literal[FactKind.CONFLICT], ConflictData]): ...


class AttendanceFact(_Fact[Literal[FactKind.ATTENDANCE], Attendance]): ...


class FeedbackFact(_Fact[Literal[FactKind.FEEDBACK], Feedback]): ...


class ExperimentFact(_Fact[Literal[FactKind.EXPERIMENT], RecordExperimentInput]): ...


RecordFactInput = Annotated[ReviewFact | ConflictFact | AttendanceFact | FeedbackFact | ExperimentFact, Field(discriminator="kind")]
