"""What the activity classes that need the settings and the store share: the worker hands them its
own, tests hand theirs, and anything not given is read from the environment."""

from __future__ import annotations

from ami.infra.settings import Settings, get_settings
from ami.infra.store import Store, store_for


class StoreActivities:
    def __init__(self, settings: Settings | None = None, store: Store | None = None) -> None:
        self.settings = settings or get_settings()
        self.store = store or store_for(self.settings.resolved_database_url())
