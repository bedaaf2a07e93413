"""`ami portal`: the collectivités' and jurors' web front door (docs/portal.md)."""
