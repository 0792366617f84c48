"""The database router: reads go to the read replica only where govgrid.replica says so, all else to default.

Installed only when ``DATABASE_REPLICA_URL`` is set (govgrid/settings.py). The decision is
``govgrid.replica.read_alias()``: code marked replica-eligible (reports, dashboards, exports, case lists),
no open transaction on default, the user has not just written, the replica is near enough to the primary.
"""

from __future__ import annotations

from govgrid import replica


class ReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        return replica.read_alias()

    def db_for_write(self, model, **hints) -> str:
        return "default"

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # the replica holds the same rows: an object read there relates to one read on default

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints) -> bool:
        return db == "default"  # the replica gets its schema by streaming replication
