"""Personal data: nothing plain at rest, validation, masking per role, the reveal and export log."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from govgrid.errors import ActionError, Forbidden, NotFound
from parties import actions, pii
from parties.models import PiiAccessLog, Resident
from parties.tests.conftest import ID_A, ID_B, PHONE_A, PHONE_B

pytestmark = pytest.mark.django_db


def _all_text(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT t::text FROM {table} t")  # noqa: S608 (fixed table names)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_raw_tables_hold_no_plain_id_or_phone(people):
    actions.create_organisation(actor=None, name="Shop", kind="shop", building=people.b1,
                                contact_name="Carol", contact_phone="13900001111")
    dump = "\n".join(_all_text(t) for t in ("parties_resident", "parties_organisation", "parties_residentmove"))
    for number in (ID_A, ID_B, PHONE_A, PHONE_B, "13900001111"):
        assert number not in dump
    assert "440604********" in dump and "138****5678" in dump
    row = Resident.objects.get(pk=people.alice.pk)
    assert row.decrypted_id_number() == ID_A and row.decrypted_phone() == PHONE_A
    assert row.birth_date == dt.date(1980, 5, 17) and row.sex == "M"
    assert Resident.objects.get(id_number_hash=pii.id_hash(ID_A.lower())) == row
    assert Resident.objects.get(phone_hash=pii.phone_hash("+86 138-1234-5678")) == row


@pytest.mark.parametrize(("number", "code"), [
    (ID_A[:17] + ("0" if ID_A[17] != "0" else "1"), "id_check"),  # wrong check digit
    ("440604198002301234", "id_birth"),  # 30 February
    ("44060419800517123", "id_shape"),  # 17 characters
])
def test_bad_id_numbers_are_refused(people, number, code):
    with pytest.raises(ActionError) as err:
        actions.create_resident(actor=None, name="Eve", grid=people.city.g1, id_number=number)
    assert err.value.field == "id_number" and err.value.code == code
    assert not Resident.objects.filter(name="Eve").exists()


def test_bad_mobile_is_refused(people):
    with pytest.raises(ActionError) as err:
        actions.create_resident(actor=None, name="Eve", grid=people.city.g1, phone="12812345678")
    assert err.value.field == "phone"


def test_duplicate_id_names_the_holder_only_to_who_may_see_it(people, english):
    c = people.city
    with pytest.raises(ActionError) as err:
        actions.create_resident(actor=c.g1_worker, name="Alice again", grid=c.g1, id_number=ID_A)
    assert err.value.code == "duplicate" and "Alice" in err.value.message
    with pytest.raises(ActionError) as err:
        actions.create_resident(actor=c.g3_worker, name="Alice again", grid=c.g3, id_number=ID_A)
    assert err.value.code == "duplicate" and "Alice" not in err.value.message
    assert "another grid" in err.value.message
    assert Resident.objects.count() == 2


def test_masking_and_reveal_per_role(people):
    c, alice = people.city, people.alice
    # The grid's worker may see the phone whole, not the ID number; centre staff and admins both.
    assert actions.reveal_pii(alice, actor=c.g1_worker, reason="call about the visit", field="phone") == PHONE_A
    with pytest.raises(Forbidden):
        actions.reveal_pii(alice, actor=c.g1_worker, reason="curious about it", field="id_number")
    assert actions.reveal_pii(alice, actor=c.t1_operator, reason="identity check for case", field="id_number") == ID_A
    assert actions.reveal_pii(alice, actor=c.admin, reason="audit request 12", field="id_number") == ID_A
    # An official reads the subtree but never whole numbers; outside scope it is not there at all.
    with pytest.raises(Forbidden):
        actions.reveal_pii(alice, actor=c.city_official, reason="just looking", field="phone")
    for outsider in (c.g3_worker, c.t2_operator, c.handler, c.nobody):
        with pytest.raises(NotFound):
            actions.reveal_pii(alice, actor=outsider, reason="just looking", field="phone")
    with pytest.raises(ActionError) as err:
        actions.reveal_pii(alice, actor=c.admin, reason=" ", field="phone")
    assert err.value.field == "reason"
    log = list(PiiAccessLog.objects.order_by("pk").values_list("actor__username", "field", "resident", "reason"))
    assert log == [
        ("g1_worker", "phone", alice.pk, "call about the visit"),
        ("t1_operator", "id_number", alice.pk, "identity check for case"),
        ("admin", "id_number", alice.pk, "audit request 12"),
    ]


def test_access_log_is_append_only(people):
    entry = actions.log_export(people.city.admin, "residents of A-1, masked", 2, "monthly report")
    assert entry.kind == "export" and entry.count == 2
    for statement in ("UPDATE parties_piiaccesslog SET reason = 'x'", "DELETE FROM parties_piiaccesslog"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert PiiAccessLog.objects.get().reason == "monthly report"


def test_rotation_re_encrypts_with_the_new_key(people, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    old_token = Resident.objects.get(pk=people.alice.pk).id_number_enc
    settings.PII_OLD_KEYS = [settings.PII_KEY]
    settings.PII_KEY = Fernet.generate_key().decode()
    pii.reset_keys()
    try:
        call_command("rotate_pii_keys")
        settings.PII_OLD_KEYS = []
        pii.reset_keys()
        alice = Resident.objects.get(pk=people.alice.pk)
        assert alice.id_number_enc != old_token
        assert alice.decrypted_id_number() == ID_A and alice.decrypted_phone() == PHONE_A
    finally:
        pii.reset_keys()
