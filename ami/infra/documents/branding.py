"""Who signs the documents: one place for the organisation's name and the metadata author."""

from __future__ import annotations

ORGANISATION = "Apes Hauts-de-France"
AUTHOR = "Apes Hauts-de-France — moteur ami"
