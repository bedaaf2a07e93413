"""The custom search attributes coordinators filter on in the Temporal Web UI.

Ids, states, départements, decisions only: never a person's name, email or free text (privacy).
"""

from temporalio.common import SearchAttributeKey

CAMPAIGN = SearchAttributeKey.for_keyword("AmiCampaign")
STATE = SearchAttributeKey.for_keyword("AmiState")
DECISION = SearchAttributeKey.for_keyword("AmiDecision")
DEPARTEMENT = SearchAttributeKey.for_keyword("AmiDepartement")
KIND = SearchAttributeKey.for_keyword("AmiKind")
RECEIPT = SearchAttributeKey.for_keyword("AmiReceipt")

ALL = (CAMPAIGN, STATE, DECISION, DEPARTEMENT, KIND, RECEIPT)
