"""A sample context holding every key a notification template reads, as the workflows send it
(JSON values): the worker renders every template with it before starting (`check_templates`)."""

from __future__ import annotations

from typing import Any


def sample_context() -> dict[str, Any]:
    session = {
        "number": 2,
        "theme": "Marchés publics et plateformes « coopératives »",
        "place": "Hôtel de Région, salle « Cœur de ville », Lille",
        "starts_at": "2024-11-12T14:00:00+01:00",
        "ends_at": "2024-11-12T17:30:00+01:00",
        "sequence": 0,
    }
    return {
        "campaign": {"id": "ami-2024", "name": "Cycle « plateformes coopératives » 2024", "timezone": "Europe/Paris"},
        "receipt_number": "AMI-2024-0007",
        "collectivite": {"name": "Commune d'Œuvre-sur-Lys", "official_name": "Œuvre-sur-Lys"},
        "received_at": "2024-09-08T14:05:00+02:00",
        "deadline_at": "2024-09-09T00:00:00+02:00",
        "response_at": "2024-09-15T09:00:00+02:00",
        "reasons": [{"code": "incomplete_binome", "message": "Le référent technique n'a pas d'adresse électronique."}],
        "decision": {"decision": "waitlisted", "rank": 12, "score": 3.5, "waitlist_position": 2},
        "confirmation_deadline": "2024-09-25T09:00:00+02:00",
        "attendance": [],
        "session": session,
        "received": 14,
        "states": {"eligibility_checked": 9, "ineligible": 3, "closed": 2},
        "decisions": {"selected": 10, "waitlisted": 2},
        "session_number": 3,
        "month": "2024-12",
        "bounced_purpose": "decision_selected",
        "detail": "550 5.1.1 destinataire inconnu",
        "state": "notified",
        "member": {"id": "cress", "name": "Membre du jury"},
        "jury_url": "https://portail.example.org/jury/jeton",
        "criteria_count": 6,
    }
