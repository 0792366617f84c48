"""The only writers of people and places (DESIGN.md §3): one function per business action, each in a
transaction, checking the actor's scope (grids.scope; objects outside it are NotFound), validating
every field with a message for a person, and keeping ``grid``/``area_path`` right on what it writes.

``actor=None`` is the system (seed, import, beat), which may act anywhere.
"""

from __future__ import annotations

import datetime as dt
import uuid
from datetime import timedelta

from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from govgrid import clock
from govgrid.errors import ActionError, Forbidden, NotFound
from grids.choices import GRID_ROLES, Level
from grids.models import Area
from grids.scope import scope_for
from parties import pii, selectors
from parties.choices import (
    AttentionLevel,
    BuildingRoleKind,
    HouseholdKind,
    HouseUse,
    KeyPersonCategory,
    OrganisationKind,
    PartyOrganisationKind,
    PiiAccessKind,
    PiiField,
    RelationToHead,
    ResidenceKind,
)
from parties.models import (
    Building,
    BuildingRole,
    House,
    Household,
    KeyPerson,
    Organisation,
    PartyMember,
    PartyOrganisation,
    PiiAccessLog,
    Resident,
    ResidentMove,
    Visit,
)

MAX_REASON = 500


# --- shared checks --------------------------------------------------------------------------------


def _act_on_grid(actor, grid: Area, field: str = "grid") -> Area:
    """The grid, if the actor may change what lies in it; the same NotFound for a grid out of scope."""
    if grid is None or grid.level != Level.GRID:
        raise ActionError(_("Choose a grid."), field=field, code="required")
    if actor is not None and not scope_for(actor).covers_area(grid, act=True):
        raise NotFound(_("No such grid."), field=field)
    return grid


def _act_on(actor, obj, message: str) -> None:
    """NotFound unless the actor may change ``obj`` (a row with ``area_path``)."""
    if actor is None:
        return
    scope = scope_for(actor)
    if not scope.is_admin and not any(obj.area_path.startswith(path) for path in scope.act_paths):
        raise NotFound(message)


def _text(value, field: str, *, required: bool = False, max_length: int = 200) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if required and not text:
        raise ActionError(_("This field is required."), field=field, code="required")
    if len(text) > max_length:
        raise ActionError(_("At most %(n)d characters.") % {"n": max_length}, field=field, code="max_length")
    return text


def _choice(value, choices, field: str, default=None) -> str:
    if value in (None, "") and default is not None:
        return default
    if value not in choices.values:
        raise ActionError(_("Not one of the choices."), field=field, code="invalid_choice")
    return value


def _validated(setter, value, field: str) -> None:
    try:
        setter(value)
    except ValidationError as exc:
        raise ActionError(exc.messages[0], field=field, code=exc.code or "invalid") from None


def _check_point(grid: Area, point: Point | None, field: str = "point") -> Point:
    if point is None:
        raise ActionError(_("Give the building's location."), field=field, code="required")
    if point.srid is None:
        point.srid = 4326
    if grid.boundary is not None and not grid.boundary.covers(point):
        raise ActionError(_("This point lies outside the grid %(grid)s.") % {"grid": grid.name},
                          field=field, code="outside_grid")
    return point


def _refuse_duplicate_id(actor, id_hash: str | None, *, exclude: int | None = None) -> None:
    """A duplicate ID number is refused, naming the record that holds it only if the actor may see it."""
    if not id_hash:
        return
    holder = Resident.objects.filter(id_number_hash=id_hash).exclude(pk=exclude).first()
    if holder is None:
        return
    if actor is None or selectors.visible_residents(actor).filter(pk=holder.pk).exists():
        raise ActionError(
            _("This ID card number is already registered: %(name)s (resident %(id)s, %(grid)s).")
            % {"name": holder.name, "id": holder.pk, "grid": holder.grid.name},
            field="id_number", code="duplicate",
        )
    raise ActionError(_("This ID card number is already registered in another grid's records."),
                      field="id_number", code="duplicate")


def _save_resident(resident: Resident, actor) -> None:
    try:
        with transaction.atomic():
            resident.save()
    except IntegrityError as exc:  # a concurrent registration of the same number won the race
        if "resident_id_number_unique" in str(exc):
            _refuse_duplicate_id(actor, resident.id_number_hash, exclude=resident.pk)
        raise


# --- buildings and houses -------------------------------------------------------------------------

BUILDING_FIELDS = ("number", "road", "road_number", "compound", "building_name", "address", "floors", "units")


def _compose_address(building: Building) -> str:
    parts = [building.road, f"{building.road_number}号" if building.road_number else "", building.compound,
             building.building_name or (f"{building.number}栋" if building.number else "")]
    return "".join(part for part in parts if part)


@transaction.atomic
def create_building(*, actor, grid: Area, number: str, point: Point, road: str = "", road_number: str = "",
                    compound: str = "", building_name: str = "", address: str = "", floors: int = 1,
                    units: int = 1) -> Building:
    """Add a standard address (一标) to a grid; its point must lie inside the grid."""
    _act_on_grid(actor, grid)
    building = Building(
        grid=grid, area_path=grid.path, number=_text(number, "number", required=True, max_length=32),
        road=_text(road, "road", max_length=100), road_number=_text(road_number, "road_number", max_length=20),
        compound=_text(compound, "compound", max_length=100),
        building_name=_text(building_name, "building_name", max_length=100),
        point=_check_point(grid, point), floors=max(1, int(floors or 1)), units=max(1, int(units or 1)),
    )
    building.address = _text(address, "address", max_length=255) or _compose_address(building)
    if Building.objects.filter(grid=grid, number=building.number).exists():
        raise ActionError(_("This grid already has a building with this number."), field="number", code="duplicate")
    building.save()
    return building


@transaction.atomic
def update_building(building: Building, *, actor, point: Point | None = None, **changes) -> Building:
    _act_on(actor, building, _("No such building."))
    building = Building.objects.select_for_update().get(pk=building.pk)
    for name, value in changes.items():
        if name not in BUILDING_FIELDS:
            raise ActionError(_("This field cannot be changed here."), field=name)
        if name in ("floors", "units"):
            value = max(1, int(value or 1))
        else:
            value = _text(value, name, required=name in ("number",), max_length=255 if name == "address" else 100)
        setattr(building, name, value)
    if point is not None:
        building.point = _check_point(building.grid, point)
    if "address" in changes and not building.address:
        building.address = _compose_address(building)
    building.save()
    return building


HOUSE_FIELDS = ("unit", "floor", "room", "use", "floor_area", "is_rental", "is_vacant", "owner")


def _house_values(actor, values: dict) -> dict:
    cleaned = {}
    for name, value in values.items():
        if name not in HOUSE_FIELDS:
            raise ActionError(_("This field cannot be changed here."), field=name)
        if name == "use":
            value = _choice(value, HouseUse, "use", HouseUse.RESIDENTIAL)
        elif name in ("unit", "room"):
            value = _text(value, name, required=name == "room", max_length=20 if name == "room" else 10)
        elif name == "floor":
            value = int(value if value not in (None, "") else 1)
        elif name in ("is_rental", "is_vacant"):
            value = bool(value)
        elif (name == "owner" and value is not None and actor is not None
              and not selectors.visible_residents(actor).filter(pk=value.pk).exists()):
            raise NotFound(_("No such resident."), field="owner")
        cleaned[name] = value
    return cleaned


@transaction.atomic
def create_house(*, actor, building: Building, room: str, **values) -> House:
    _act_on(actor, building, _("No such building."))
    house = House(building=building, grid_id=building.grid_id, area_path=building.area_path,
                  **_house_values(actor, {"room": room, **values}))
    if House.objects.filter(building=building, unit=house.unit, room=house.room).exists():
        raise ActionError(_("This building already has this room in this unit."), field="room", code="duplicate")
    house.save()
    return house


@transaction.atomic
def update_house(house: House, *, actor, **changes) -> House:
    _act_on(actor, house, _("No such house."))
    house = House.objects.select_for_update().get(pk=house.pk)
    for name, value in _house_values(actor, changes).items():
        setattr(house, name, value)
    house.save()
    return house


# --- households and residents ---------------------------------------------------------------------


@transaction.atomic
def register_household(*, actor, grid: Area | None = None, house: House | None = None,
                       kind: str = HouseholdKind.REGISTERED, number: str = "") -> Household:
    """A household at a house (its grid is the house's), or in a grid without a known house."""
    if house is not None:
        _act_on(actor, house, _("No such house."))
        grid = house.grid
    _act_on_grid(actor, grid)
    return Household.objects.create(
        number=_text(number, "number", max_length=32), kind=_choice(kind, HouseholdKind, "kind"),
        house=house, grid=grid, area_path=grid.path,
    )


def _placement(actor, *, grid: Area | None, house: House | None, household: Household | None) -> Area:
    """The grid a resident lives in: the house's, else the household's, else the one given."""
    if house is not None:
        _act_on(actor, house, _("No such house."))
        grid = house.grid
    if household is not None:
        _act_on(actor, household, _("No such household."))
        grid = grid or household.grid
    return _act_on_grid(actor, grid)


@transaction.atomic
def create_resident(*, actor, name: str, grid: Area | None = None, house: House | None = None,
                    household: Household | None = None, id_number: str = "", phone: str = "",
                    residence_kind: str = ResidenceKind.REGISTERED, relation_to_head: str = "",
                    moved_in_on: dt.date | None = None, note: str = "") -> Resident:
    """Register a resident (ID and phone validated, encrypted, hashed, masked; a duplicate ID refused)."""
    grid = _placement(actor, grid=grid, house=house, household=household)
    resident = Resident(
        name=_text(name, "name", required=True, max_length=50),
        residence_kind=_choice(residence_kind, ResidenceKind, "residence_kind"),
        relation_to_head=_choice(relation_to_head, RelationToHead, "relation_to_head", "") if relation_to_head else "",
        household=household, house=house, grid=grid, area_path=grid.path,
        moved_in_on=moved_in_on or timezone.localdate(clock.now()), note=_text(note, "note", max_length=2000),
    )
    _validated(resident.set_id_number, id_number, "id_number")
    _validated(resident.set_phone, phone, "phone")
    _refuse_duplicate_id(actor, resident.id_number_hash)
    _save_resident(resident, actor)
    if household is not None and relation_to_head == RelationToHead.SELF:
        Household.objects.filter(pk=household.pk).update(head=resident)
    ResidentMove.objects.create(
        resident=resident, moved_on=resident.moved_in_on, to_grid=grid, to_house=house, to_household=household,
        residence_kind=resident.residence_kind, reason=_("registered"), actor=actor, recorded_at=clock.now(),
    )
    return resident


RESIDENT_FIELDS = ("name", "id_number", "phone", "residence_kind", "relation_to_head", "note")


@transaction.atomic
def update_resident(resident: Resident, *, actor, **changes) -> Resident:
    """Change a resident's own data; where they live changes only through move_resident."""
    _act_on(actor, resident, _("No such resident."))
    resident = Resident.objects.select_for_update().get(pk=resident.pk)
    for name, value in changes.items():
        if name not in RESIDENT_FIELDS:
            raise ActionError(_("This field cannot be changed here."), field=name)
        if name == "id_number":
            _validated(resident.set_id_number, value, "id_number")
            _refuse_duplicate_id(actor, resident.id_number_hash, exclude=resident.pk)
        elif name == "phone":
            _validated(resident.set_phone, value, "phone")
        elif name == "residence_kind":
            resident.residence_kind = _choice(value, ResidenceKind, name)
        elif name == "relation_to_head":
            resident.relation_to_head = _choice(value, RelationToHead, name) if value else ""
        else:
            setattr(resident, name, _text(value, name, required=name == "name",
                                          max_length=50 if name == "name" else 2000))
    _save_resident(resident, actor)
    return resident


@transaction.atomic
def move_resident(resident: Resident, *, actor, moved_on: dt.date, to_house: House | None = None,
                  to_grid: Area | None = None, to_household: Household | None = None,
                  residence_kind: str | None = None, moved_out: bool = False, reason: str = "") -> Resident:
    """Move a resident to another house, household or grid, or out of the registry (``moved_out``);
    the old place is kept in a ResidentMove row. The actor must reach both the old and the new place."""
    _act_on(actor, resident, _("No such resident."))
    resident = Resident.objects.select_for_update().get(pk=resident.pk)
    if moved_out and resident.moved_out_on is not None:
        raise ActionError(_("This resident has already moved out."), code="wrong_state")
    move = ResidentMove(
        resident=resident, moved_on=moved_on, from_grid_id=resident.grid_id, from_house_id=resident.house_id,
        from_household_id=resident.household_id, reason=_text(reason, "reason", max_length=200), actor=actor,
        recorded_at=clock.now(),
    )
    if moved_out:
        resident.moved_out_on = moved_on
    else:
        grid = _placement(actor, grid=to_grid or (None if (to_house or to_household) else resident.grid),
                          house=to_house, household=to_household)
        resident.grid, resident.area_path = grid, grid.path
        resident.house, resident.household = to_house, to_household
        resident.moved_out_on = None
        if to_household is None:
            resident.relation_to_head = ""
        move.to_grid, move.to_house, move.to_household = grid, to_house, to_household
    if residence_kind:
        resident.residence_kind = _choice(residence_kind, ResidenceKind, "residence_kind")
    move.residence_kind = resident.residence_kind
    resident.save()
    move.save()
    # A key person moves with the resident: the record follows the grid.
    KeyPerson.objects.filter(resident=resident).update(grid=resident.grid, area_path=resident.area_path)
    # So does a party member's place in the figures (their organisation stays until a transfer).
    PartyMember.objects.filter(resident=resident).update(area_path=resident.area_path)
    return resident


# --- organisations --------------------------------------------------------------------------------

ORGANISATION_FIELDS = ("name", "kind", "credit_code", "address", "contact_name", "contact_phone", "employees")


def _organisation_values(organisation: Organisation, values: dict) -> None:
    for name, value in values.items():
        if name not in ORGANISATION_FIELDS:
            raise ActionError(_("This field cannot be changed here."), field=name)
        if name == "kind":
            organisation.kind = _choice(value, OrganisationKind, "kind")
        elif name == "contact_phone":
            _validated(organisation.set_contact_phone, value, "contact_phone")
        elif name == "employees":
            organisation.employees = int(value) if value not in (None, "") else None
        else:
            setattr(organisation, name, _text(value, name, required=name == "name",
                                              max_length={"credit_code": 18, "contact_name": 50}.get(name, 200)))


@transaction.atomic
def create_organisation(*, actor, name: str, kind: str, grid: Area | None = None, building: Building | None = None,
                        house: House | None = None, **values) -> Organisation:
    if house is not None:
        _act_on(actor, house, _("No such house."))
        building = house.building
    if building is not None:
        _act_on(actor, building, _("No such building."))
        grid = building.grid
    _act_on_grid(actor, grid)
    organisation = Organisation(grid=grid, area_path=grid.path, building=building, house=house)
    _organisation_values(organisation, {"name": name, "kind": kind, **values})
    if not organisation.address and building is not None:
        organisation.address = building.address + (f" {house.room}" if house is not None else "")
    organisation.save()
    return organisation


@transaction.atomic
def update_organisation(organisation: Organisation, *, actor, **changes) -> Organisation:
    _act_on(actor, organisation, _("No such organisation."))
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    _organisation_values(organisation, changes)
    organisation.save()
    return organisation


# --- building roles -------------------------------------------------------------------------------


@transaction.atomic
def assign_building_role(*, actor, building: Building, role: str, resident: Resident | None = None,
                         user=None, unit: str = "", floor: int | None = None,
                         since: dt.date | None = None) -> BuildingRole:
    """Name the building head, a unit head or a floor head; the place's previous holder steps down."""
    _act_on(actor, building, _("No such building."))
    role = _choice(role, BuildingRoleKind, "role")
    if (resident is None) == (user is None):
        raise ActionError(_("A building role is held by a resident or by a user, not both."), field="resident")
    if resident is not None and actor is not None and not selectors.visible_residents(actor).filter(
            pk=resident.pk).exists():
        raise NotFound(_("No such resident."), field="resident")
    unit = _text(unit, "unit", max_length=10) if role != BuildingRoleKind.BUILDING_HEAD else ""
    floor = floor if role == BuildingRoleKind.FLOOR_HEAD else None
    if role == BuildingRoleKind.FLOOR_HEAD and floor is None:
        raise ActionError(_("Say which floor."), field="floor", code="required")
    BuildingRole.objects.filter(building=building, role=role, unit=unit, floor=floor).delete()
    return BuildingRole.objects.create(building=building, role=role, resident=resident, user=user, unit=unit,
                                       floor=floor, since=since or timezone.localdate(clock.now()))


# --- key persons and visits -----------------------------------------------------------------------


def _check_worker(worker, grid: Area) -> None:
    if worker is None:
        return
    scope = scope_for(worker)
    if not (scope.roles.intersection(GRID_ROLES) and scope.covers_area(grid, act=True)):
        raise ActionError(_("The responsible worker must be a grid worker of this resident's grid."),
                          field="worker", code="invalid")


@transaction.atomic
def set_key_person(*, actor, resident: Resident, category: str, attention_level: str = AttentionLevel.GENERAL,
                   worker=None, visit_every_days: int = 30, note: str = "") -> KeyPerson:
    """Put a resident on the key-person list (or change their record in that category); the first
    visit falls due ``visit_every_days`` from now."""
    _act_on(actor, resident, _("No such resident."))
    category = _choice(category, KeyPersonCategory, "category")
    level = _choice(attention_level, AttentionLevel, "attention_level", AttentionLevel.GENERAL)
    try:
        every = int(visit_every_days)
    except (TypeError, ValueError):
        every = 0
    if not 1 <= every <= 366:
        raise ActionError(_("Visit every 1 to 366 days."), field="visit_every_days", code="invalid")
    _check_worker(worker, resident.grid)
    now = clock.now()
    key_person, created = KeyPerson.objects.select_for_update().get_or_create(
        resident=resident, category=category,
        defaults={"grid": resident.grid, "area_path": resident.area_path,
                  "next_visit_due": now + timedelta(days=every)},
    )
    key_person.attention_level, key_person.worker, key_person.note = level, worker, _text(note, "note",
                                                                                            max_length=2000)
    if not created and (key_person.visit_every_days != every or not key_person.is_active):
        base = key_person.last_visited_at or now
        key_person.next_visit_due = max(base + timedelta(days=every), now if not key_person.is_active else base)
    key_person.visit_every_days, key_person.is_active = every, True
    key_person.save()
    return key_person


@transaction.atomic
def end_key_person(key_person: KeyPerson, *, actor, note: str = "") -> KeyPerson:
    """Take a resident off the list: no more visits fall due."""
    _act_on(actor, key_person, _("No such key person."))
    KeyPerson.objects.filter(pk=key_person.pk).update(is_active=False, overdue_since=None,
                                                     note=_text(note, "note", max_length=2000) or key_person.note)
    key_person.refresh_from_db()
    return key_person


@transaction.atomic
def record_visit(key_person: KeyPerson, *, actor, visited_at: dt.datetime | None = None, note: str = "",
                 findings: str = "", photo=None, client_uuid: uuid.UUID | str | None = None) -> Visit:
    """Record a visit (走访): on time if made by the due time; the next one falls due a full period later.

    A resend with the same ``client_uuid`` by the same worker (the phone's offline queue, a retry on a
    flaky network) returns the visit of the first call. The look-up is made under the key person's row
    lock, so two copies in flight record one visit; the unique constraint backs it up.
    """
    _act_on(actor, key_person, _("No such key person."))
    if client_uuid is not None:
        try:
            client_uuid = uuid.UUID(str(client_uuid))
        except ValueError:
            raise ActionError(_("client_uuid is not a valid UUID."), field="client_uuid") from None
    key_person = KeyPerson.objects.select_for_update().get(pk=key_person.pk)
    if client_uuid is not None:
        existing = Visit.objects.filter(worker=actor, client_uuid=client_uuid).first()
        if existing is not None:
            return existing
    if not key_person.is_active:
        raise ActionError(_("This person is no longer on the key-person list."), code="wrong_state")
    now = clock.now()
    visited_at = visited_at or now
    if visited_at > now + timedelta(minutes=5):
        raise ActionError(_("A visit cannot be recorded in the future."), field="visited_at")
    due = key_person.next_visit_due
    visit = Visit(
        key_person=key_person, worker=actor, visited_at=visited_at, due_at=due,
        on_time=due is None or visited_at <= due, note=_text(note, "note", max_length=4000),
        findings=_text(findings, "findings", max_length=4000), grid_id=key_person.grid_id,
        area_path=key_person.area_path, client_uuid=client_uuid,
    )
    if photo:
        visit.photo = photo
    visit.save()
    if key_person.last_visited_at is None or visited_at >= key_person.last_visited_at:
        key_person.last_visited_at = visited_at
        key_person.next_visit_due = visited_at + timedelta(days=key_person.visit_every_days)
        key_person.overdue_since = None
        key_person.save(update_fields=["last_visited_at", "next_visit_due", "overdue_since"])
    return visit


def mark_overdue_visits(*, now: dt.datetime | None = None) -> list[int]:
    """Mark active key persons whose visit is past due (compare-and-set: each is marked once, by
    whoever gets there first). Returns the ids newly marked, for notices to their workers."""
    now = now or clock.now()
    with transaction.atomic():
        ids = list(
            KeyPerson.objects.filter(is_active=True, next_visit_due__lt=now, overdue_since__isnull=True)
            .values_list("pk", flat=True)
        )
        KeyPerson.objects.filter(pk__in=ids, overdue_since__isnull=True).update(overdue_since=now)
    return ids


# --- personal data --------------------------------------------------------------------------------


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if len(text) < 4:
        raise ActionError(_("Say why you need to see the whole number (at least 4 characters)."), field="reason",
                          code="required")
    if len(text) > MAX_REASON:
        raise ActionError(_("At most %(n)d characters.") % {"n": MAX_REASON}, field="reason", code="max_length")
    return text


@transaction.atomic
def reveal_pii(subject: Resident | Organisation, *, actor, reason: str, field: str) -> str:
    """Show one whole number to a user whose role needs it (parties.selectors.may_reveal), after a
    stated reason; writes the access log row (who, when, whose record, which field, why)."""
    if isinstance(subject, Resident):
        message, fields = _("No such resident."), {PiiField.ID_NUMBER: "id_number_enc", PiiField.PHONE: "phone_enc"}
        visible = selectors.visible_residents(actor)
    else:
        message, fields = _("No such organisation."), {PiiField.CONTACT_PHONE: "contact_phone_enc"}
        visible = selectors.visible_organisations(actor)
    if actor is None or not visible.filter(pk=subject.pk).exists():
        raise NotFound(message)
    if field not in fields:
        raise ActionError(_("Not one of the choices."), field="field", code="invalid_choice")
    reason = _reason(reason)
    if not selectors.may_reveal(actor, subject.area_path, field):
        raise Forbidden(_("Your role may not see this number whole."), field="field")
    token = type(subject).objects.filter(pk=subject.pk).values_list(fields[field], flat=True).get()
    if not token:
        raise ActionError(_("No number is recorded."), field="field", code="empty")
    PiiAccessLog.objects.create(
        actor=actor, at=clock.now(), kind=PiiAccessKind.REVEAL, field=field, reason=reason,
        resident=subject if isinstance(subject, Resident) else None,
        organisation=subject if isinstance(subject, Organisation) else None,
    )
    return pii.decrypt(token)


def log_export(actor, description: str, count: int, reason: str) -> PiiAccessLog:
    """Log an export of personal data (whole or masked): who, when, what, how many rows, why."""
    return PiiAccessLog.objects.create(
        actor=actor, at=clock.now(), kind=PiiAccessKind.EXPORT, reason=_reason(reason),
        description=(description or "")[:500], count=max(0, int(count)),
    )


# --- the party-building network (两网融合) ---------------------------------------------------------

# Which kinds may sit under which: a committee leads committees and branches, a branch its groups.
PARTY_CHILD_KINDS = {
    PartyOrganisationKind.COMMITTEE: {PartyOrganisationKind.COMMITTEE, PartyOrganisationKind.BRANCH,
                                      PartyOrganisationKind.GROUP},
    PartyOrganisationKind.BRANCH: {PartyOrganisationKind.GROUP},
    PartyOrganisationKind.GROUP: set(),
}


def _act_on_area(actor, area: Area | None, field: str = "area") -> Area:
    if area is None:
        raise ActionError(_("Choose an area."), field=field, code="required")
    if actor is not None and not scope_for(actor).covers_area(area, act=True):
        raise NotFound(_("No such area."), field=field)
    return area


def _party_compound(area: Area, compound) -> str:
    compound = _text(compound, "compound", max_length=100)
    if compound and not Building.objects.filter(area_path__startswith=area.path, compound=compound).exists():
        raise ActionError(_("No building of this area lies in a compound of this name."), field="compound",
                          code="unknown_compound")
    return compound


@transaction.atomic
def create_party_organisation(*, actor, name: str, kind: str, area: Area | None,
                              parent: PartyOrganisation | None = None, compound: str = "") -> PartyOrganisation:
    """Place a party committee, branch or group on an area (a group on a grid: 党小组建到网格), under
    ``parent`` if given, and optionally in a compound of that area (the compound's own organisation)."""
    area = _act_on_area(actor, area)
    kind = _choice(kind, PartyOrganisationKind, "kind")
    name = _text(name, "name", required=True)
    if parent is not None:
        _act_on(actor, parent, _("No such party organisation."))
        if kind not in PARTY_CHILD_KINDS[parent.kind]:
            raise ActionError(_("A %(parent)s cannot lead a %(kind)s.") % {
                "parent": parent.get_kind_display(), "kind": PartyOrganisationKind(kind).label},
                field="parent", code="bad_parent")
        if not area.path.startswith(parent.area_path):
            raise ActionError(_("The organisation must lie within the area of its parent."), field="parent",
                              code="outside_parent")
    return PartyOrganisation.objects.create(name=name, kind=kind, area=area, area_path=area.path, parent=parent,
                                            compound=_party_compound(area, compound))


@transaction.atomic
def update_party_organisation(organisation: PartyOrganisation, *, actor, **changes) -> PartyOrganisation:
    _act_on(actor, organisation, _("No such party organisation."))
    organisation = PartyOrganisation.objects.select_for_update().select_related("area").get(pk=organisation.pk)
    for name, value in changes.items():
        if name == "name":
            organisation.name = _text(value, "name", required=True)
        elif name == "compound":
            organisation.compound = _party_compound(organisation.area, value)
        else:
            raise ActionError(_("This field cannot be changed here."), field=name)
    organisation.save()
    return organisation


def _party_roles(member: PartyMember, actor, organisation: PartyOrganisation, values: dict) -> None:
    for name, value in values.items():
        if name == "joined_on":
            if value is not None and value > timezone.localdate(clock.now()):
                raise ActionError(_("This date lies in the future."), field="joined_on", code="future")
            member.joined_on = value
        elif name in ("is_grid_worker", "is_building_head"):
            setattr(member, name, bool(value))
        elif name == "building":
            if value is not None:
                _act_on(actor, value, _("No such building."))
                if not value.area_path.startswith(organisation.area_path):
                    raise ActionError(_("The building must lie within the organisation's area."), field="building",
                                      code="outside_area")
            member.building = value
        else:
            raise ActionError(_("This field cannot be changed here."), field=name)
    if member.is_building_head and member.building is None:
        raise ActionError(_("Say which building this building head is for."), field="building", code="required")
    if not member.is_building_head:
        member.building = None


@transaction.atomic
def add_party_member(*, actor, organisation: PartyOrganisation, resident: Resident | None = None, user=None,
                     **roles) -> PartyMember:
    """Enrol a party member (a resident living within the organisation's area, and/or a staff user) with
    their roles: party grid worker (党建网格员), party-member building head (党员楼长) of a building."""
    _act_on(actor, organisation, _("No such party organisation."))
    if resident is None and user is None:
        raise ActionError(_("A party member is a resident or a staff user."), field="resident", code="required")
    if resident is not None:
        _act_on(actor, resident, _("No such resident."))
        if not resident.area_path.startswith(organisation.area_path):
            raise ActionError(_("The resident must live within the organisation's area."), field="resident",
                              code="outside_area")
    if user is not None and not user.is_active:
        raise ActionError(_("No such user."), field="user", code="invalid")
    taken = PartyMember.objects.filter(resident=resident) if resident is not None else PartyMember.objects.none()
    if user is not None:
        taken = taken | PartyMember.objects.filter(user=user)
    if taken.exists():
        raise ActionError(_("This person is already a party member."), field="resident" if resident else "user",
                          code="duplicate")
    member = PartyMember(organisation=organisation, resident=resident, user=user,
                         area_path=resident.area_path if resident is not None else organisation.area_path)
    _party_roles(member, actor, organisation, roles)
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError:  # a concurrent enrolment of the same person won the race
        raise ActionError(_("This person is already a party member."), code="duplicate") from None
    return member


@transaction.atomic
def update_party_member(member: PartyMember, *, actor, **changes) -> PartyMember:
    """Change a member's roles or joining date."""
    _act_on(actor, member, _("No such party member."))
    member = PartyMember.objects.select_for_update().select_related("organisation").get(pk=member.pk)
    _party_roles(member, actor, member.organisation, changes)
    member.save()
    return member


@transaction.atomic
def remove_party_member(member: PartyMember, *, actor) -> None:
    """Take a member off the network (moved away, transferred to another organisation elsewhere)."""
    _act_on(actor, member, _("No such party member."))
    PartyMember.objects.filter(pk=member.pk).delete()
