"""The custom search attributes coordinators filter on in the Temporal Web UI.

Ids, states, départements, decisions and the date of a candidature's next deadline only: never a
person's name, email or free text (privacy).
"""

from temporalio.common import SearchAttributeKey

CAMPAIGN = SearchAttributeKey.for_keyword("AmiCampaign")
STATE = SearchAttributeKey.for_keyword("AmiState")
DECISION = SearchAttributeKey.for_keyword("AmiDecision")
DEPARTEMENT = SearchAttributeKey.for_keyword("AmiDepartement")
KIND = SearchAttributeKey.for_keyword("AmiKind")
RECEIPT = SearchAttributeKey.for_keyword("AmiReceipt")
# The instant of the candidature's next deadline (unset when it waits for none): the worker's monitor
# counts the deadlines of the next 24 hours from it, without querying (and so replaying) any workflow.
NEXT_DEADLINE = SearchAttributeKey.for_datetime("AmiNextDeadline")

ALL = (CAMPAIGN, STATE, DECISION, DEPARTEMENT, KIND, RECEIPT, NEXT_DEADLINE)
