"""Re-encrypt every ID and phone number with the current PII_KEY and recompute the lookup hashes with
the current PII_HASH_KEY (parties/pii.py explains the rotation steps)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from parties import pii
from parties.models import Organisation, Resident

BATCH = 2000


class Command(BaseCommand):
    help = "Re-encrypt personal data with the current PII_KEY and rehash it with the current PII_HASH_KEY."

    def handle(self, *args, **options) -> None:
        residents = self._rotate(Resident, [("id_number_enc", "id_number_hash", "id"),
                                            ("phone_enc", "phone_hash", "phone")])
        organisations = self._rotate(Organisation, [("contact_phone_enc", "contact_phone_hash", "phone")])
        self.stdout.write(f"re-encrypted {residents} residents and {organisations} organisations")

    def _rotate(self, model, columns: list[tuple[str, str, str]]) -> int:
        done, last = 0, 0
        fields = [name for column in columns for name in column[:2]]
        while True:
            with transaction.atomic():
                rows = list(model.objects.select_for_update().filter(pk__gt=last).order_by("pk").only(*fields)[:BATCH])
                if not rows:
                    return done
                for row in rows:
                    for enc, hashed, kind in columns:
                        token = getattr(row, enc)
                        if token:
                            setattr(row, hashed, pii.lookup_hash(pii.decrypt(token), kind))
                            setattr(row, enc, pii.rotate(token))
                model.objects.bulk_update(rows, fields)
                done += len(rows)
                last = rows[-1].pk
