"""People and places in the grid (人进户、户进房、房进格、格进图): buildings, houses, households,
residents, organisations, key persons and their visits, the people structure of a building, and the
log of every whole view of personal data.

Every row that people are scoped by carries ``grid`` and ``area_path`` (the grid's materialised path,
copied when the row is written, as Case.area_path is), so a scope is one indexed prefix match
(grids.scope). ID and phone numbers are stored only encrypted (``*_enc``), with a keyed hash for
lookup (``*_hash``) and the masked text for lists (``*_masked``); see parties/pii.py.

Nothing here writes itself: parties.actions is the only writer.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from parties import pii
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
    Sex,
)

GRID = "grids.Area"


def _path_index(model: str) -> models.Index:
    return models.Index(fields=["area_path"], opclasses=["text_pattern_ops"], name=f"{model}_area_path")


class Building(models.Model):
    """A standard address (一标): one building with its number, structured address, point and grid."""

    number = models.CharField(_("building number"), max_length=32)
    road = models.CharField(_("road"), max_length=100, blank=True)
    road_number = models.CharField(_("road number"), max_length=20, blank=True)
    compound = models.CharField(_("compound"), max_length=100, blank=True)
    building_name = models.CharField(_("building name"), max_length=100, blank=True)
    address = models.CharField(_("full address"), max_length=255)
    point = models.PointField(_("location"), srid=4326)  # GiST index: Django's default for a geometry
    grid = models.ForeignKey(GRID, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="buildings")
    area_path = models.CharField(_("area path"), max_length=255, editable=False)
    floors = models.PositiveSmallIntegerField(_("floors"), default=1)
    units = models.PositiveSmallIntegerField(_("units"), default=1)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        ordering = ["area_path", "number"]
        indexes = [_path_index("building")]
        constraints = [
            models.UniqueConstraint(
                fields=["grid", "number"], name="building_number_per_grid",
                violation_error_message=_("This grid already has a building with this number."),
            ),
        ]

    def __str__(self) -> str:
        return self.address


class Resident(models.Model):
    """A person living (or registered) in a grid: 实有人口. A move writes a ResidentMove row."""

    name = models.CharField(_("name"), max_length=50)
    id_number_enc = models.TextField(_("ID card number (encrypted)"), blank=True, editable=False)
    id_number_hash = models.CharField(_("ID card number (keyed hash)"), max_length=64, null=True, blank=True,
                                      editable=False)
    id_number_masked = models.CharField(_("ID card number"), max_length=18, blank=True, editable=False)
    phone_enc = models.TextField(_("phone number (encrypted)"), blank=True, editable=False)
    phone_hash = models.CharField(_("phone number (keyed hash)"), max_length=64, blank=True, editable=False)
    phone_masked = models.CharField(_("phone number"), max_length=11, blank=True, editable=False)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    residence_kind = models.CharField(_("residence kind"), max_length=16, choices=ResidenceKind.choices,
                                      default=ResidenceKind.REGISTERED)
    household = models.ForeignKey("Household", verbose_name=_("household"), null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="members")
    relation_to_head = models.CharField(_("relation to the head of household"), max_length=16,
                                        choices=RelationToHead.choices, blank=True)
    house = models.ForeignKey("House", verbose_name=_("house"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="occupants")
    grid = models.ForeignKey(GRID, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="residents")
    area_path = models.CharField(_("area path"), max_length=255, editable=False)
    moved_in_on = models.DateField(_("moved in on"), null=True, blank=True)
    moved_out_on = models.DateField(_("moved out on"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("resident")
        verbose_name_plural = _("residents")
        ordering = ["area_path", "name", "pk"]
        indexes = [
            _path_index("resident"),
            models.Index(fields=["phone_hash"], name="resident_phone_hash"),
            models.Index(fields=["residence_kind", "area_path"], name="resident_kind_path",
                         opclasses=["text_pattern_ops", "text_pattern_ops"]),
        ]
        constraints = [
            # One person, one record: the hash of the number is unique (NULL for someone without one).
            models.UniqueConstraint(
                fields=["id_number_hash"], name="resident_id_number_unique",
                violation_error_message=_("A resident with this ID card number is already registered."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    # The PII field API: setters validate, encrypt, hash and mask; getters decrypt (callers that show
    # the result to a person go through parties.actions.reveal_pii, which logs it).
    def set_id_number(self, value: str) -> None:
        """Validate (GB 11643) and store an ID number; sets birth date and sex from it. Empty clears."""
        if not (value or "").strip():
            self.id_number_enc, self.id_number_hash, self.id_number_masked = "", None, ""
            return
        number, self.birth_date, self.sex = pii.parse_id_number(value)
        self.id_number_enc = pii.encrypt(number)
        self.id_number_hash = pii.lookup_hash(number, "id")
        self.id_number_masked = pii.mask_id_number(number)

    def set_phone(self, value: str) -> None:
        if not (value or "").strip():
            self.phone_enc, self.phone_hash, self.phone_masked = "", "", ""
            return
        number = pii.parse_mobile(value)
        self.phone_enc = pii.encrypt(number)
        self.phone_hash = pii.lookup_hash(number, "phone")
        self.phone_masked = pii.mask_phone(number)

    def decrypted_id_number(self) -> str:
        return pii.decrypt(self.id_number_enc)

    def decrypted_phone(self) -> str:
        return pii.decrypt(self.phone_enc)

    @property
    def is_present(self) -> bool:
        return self.moved_out_on is None


class House(models.Model):
    """A room (户/房) in a building: use, area, rental flag, owner, vacancy. Tenants are its occupants."""

    building = models.ForeignKey(Building, verbose_name=_("building"), on_delete=models.CASCADE,
                                 related_name="houses")
    unit = models.CharField(_("unit"), max_length=10, blank=True)
    floor = models.SmallIntegerField(_("floor"), default=1)
    room = models.CharField(_("room"), max_length=20)
    use = models.CharField(_("use"), max_length=16, choices=HouseUse.choices, default=HouseUse.RESIDENTIAL)
    floor_area = models.DecimalField(_("floor area (m²)"), max_digits=8, decimal_places=2, null=True, blank=True)
    is_rental = models.BooleanField(_("rental house"), default=False)
    is_vacant = models.BooleanField(_("vacant"), default=False)
    owner = models.ForeignKey(Resident, verbose_name=_("owner"), null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="owned_houses")
    grid = models.ForeignKey(GRID, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+")
    area_path = models.CharField(_("area path"), max_length=255, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("house")
        verbose_name_plural = _("houses")
        ordering = ["building", "unit", "floor", "room"]
        indexes = [_path_index("house")]
        constraints = [
            models.UniqueConstraint(
                fields=["building", "unit", "room"], name="house_room_per_building_unit",
                violation_error_message=_("This building already has this room in this unit."),
            ),
        ]

    def __str__(self) -> str:
        unit = f"{self.unit}-" if self.unit else ""
        return f"{self.building} {unit}{self.room}"


class Household(models.Model):
    """A household (户): its house, its head, registered or floating. Members point here."""

    number = models.CharField(_("household number"), max_length=32, blank=True)
    kind = models.CharField(_("household kind"), max_length=16, choices=HouseholdKind.choices,
                            default=HouseholdKind.REGISTERED)
    house = models.ForeignKey(House, verbose_name=_("house"), null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="households")
    head = models.ForeignKey(Resident, verbose_name=_("head of household"), null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+")
    grid = models.ForeignKey(GRID, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+")
    area_path = models.CharField(_("area path"), max_length=255, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["area_path", "pk"]
        indexes = [_path_index("household")]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"


class ResidentMove(models.Model):
    """One move of a resident (in, between houses or grids, out): the history a move keeps."""

    resident = models.ForeignKey(Resident, verbose_name=_("resident"), on_delete=models.CASCADE,
                                 related_name="moves")
    moved_on = models.DateField(_("moved on"))
    from_grid = models.ForeignKey(GRID, verbose_name=_("from grid"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    to_grid = models.ForeignKey(GRID, verbose_name=_("to grid"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    from_house = models.ForeignKey(House, verbose_name=_("from house"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    to_house = models.ForeignKey(House, verbose_name=_("to house"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    from_household = models.ForeignKey(Household, verbose_name=_("from household"), null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")
    to_household = models.ForeignKey(Household, verbose_name=_("to household"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    residence_kind = models.CharField(_("residence kind"), max_length=16, choices=ResidenceKind.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("resident move")
        verbose_name_plural = _("resident moves")
        ordering = ["resident", "-moved_on", "-pk"]


class Organisation(models.Model):
    """An organisation at an address: company, shop, social organisation, party branch, school …"""

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("organisation kind"), max_length=16, choices=OrganisationKind.choices)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    building = models.ForeignKey(Building, verbose_name=_("building"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="organisations")
    house = models.ForeignKey(House, verbose_name=_("house"), null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="organisations")
    address = models.CharField(_("address"), max_length=255, blank=True)
    grid = models.ForeignKey(GRID, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="organisations")
    area_path = models.CharField(_("area path"), max_length=255, editable=False)
    contact_name = models.CharField(_("contact person"), max_length=50, blank=True)
    contact_phone_enc = models.TextField(_("contact phone (encrypted)"), blank=True, editable=False)
    contact_phone_hash = models.CharField(_("contact phone (keyed hash)"), max_length=64, blank=True,
                                          editable=False)
    contact_phone_masked = models.CharField(_("contact phone"), max_length=11, blank=True, editable=False)
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")
        ordering = ["area_path", "name"]
        indexes = [_path_index("organisation")]

    def __str__(self) -> str:
        return self.name

    def set_contact_phone(self, value: str) -> None:
        if not (value or "").strip():
            self.contact_phone_enc, self.contact_phone_hash, self.contact_phone_masked = "", "", ""
            return
        number = pii.parse_mobile(value)
        self.contact_phone_enc = pii.encrypt(number)
        self.contact_phone_hash = pii.lookup_hash(number, "phone")
        self.contact_phone_masked = pii.mask_phone(number)

    def decrypted_contact_phone(self) -> str:
        return pii.decrypt(self.contact_phone_enc)


class KeyPerson(models.Model):
    """A resident who needs attention (重点人员): category, level, responsible worker, visit frequency.

    ``next_visit_due`` is stored on the row (a visit moves it on by ``visit_every_days``); the
    worker's to-do and the daily overdue sweep read it through a partial index.
    """

    resident = models.ForeignKey(Resident, verbose_name=_("resident"), on_delete=models.CASCADE,
                                 related_name="key_person_records")
    category = models.CharField(_("key person category"), max_length=24, choices=KeyPersonCategory.choices)
    attention_level = models.CharField(_("attention level"), max_length=8, choices=AttentionLevel.choices,
                                       default=AttentionLevel.GENERAL)
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("responsible grid worker"), null=True,
                               blank=True, on_delete=models.SET_NULL, related_name="key_persons")
    visit_every_days = models.PositiveSmallIntegerField(_("visit every (days)"), default=30)
    next_visit_due = models.DateTimeField(_("next visit due"), null=True, blank=True)
    last_visited_at = models.DateTimeField(_("last visited at"), null=True, blank=True)
    overdue_since = models.DateTimeField(_("overdue since"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    grid = models.ForeignKey(GRID, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+")
    area_path = models.CharField(_("area path"), max_length=255, editable=False)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("key person")
        verbose_name_plural = _("key persons")
        ordering = ["next_visit_due", "pk"]
        indexes = [
            _path_index("keyperson"),
            models.Index(fields=["next_visit_due"], condition=Q(is_active=True), name="keyperson_due_active"),
            models.Index(fields=["worker", "next_visit_due"], condition=Q(is_active=True),
                         name="keyperson_worker_due"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["resident", "category"], name="keyperson_one_per_category",
                violation_error_message=_("This resident is already a key person of this category."),
            ),
            models.CheckConstraint(
                condition=Q(visit_every_days__gte=1), name="keyperson_visit_every_positive",
                violation_error_message=_("Visits must be at least one day apart."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident} ({self.get_category_display()})"


class Visit(models.Model):
    """A visit (走访) to a key person. ``on_time`` compares it with the due time it answered.

    No foreign key to a case: cases depend on parties, not the other way round (DESIGN.md §3); a
    finding that becomes a case is linked from the case's side.
    """

    key_person = models.ForeignKey(KeyPerson, verbose_name=_("key person"), on_delete=models.CASCADE,
                                   related_name="visits")
    worker = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("visited by"), null=True,
                               on_delete=models.SET_NULL, related_name="+")
    visited_at = models.DateTimeField(_("visited at"))
    due_at = models.DateTimeField(_("was due at"), null=True, blank=True)
    on_time = models.BooleanField(_("on time"), default=True)
    note = models.TextField(_("note"), blank=True)
    findings = models.TextField(_("findings"), blank=True)
    photo = models.ImageField(_("photo"), upload_to="visits/%Y/%m/", blank=True)
    grid = models.ForeignKey(GRID, verbose_name=_("grid"), on_delete=models.PROTECT, related_name="+")
    area_path = models.CharField(_("area path"), max_length=255, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # The phone's id of the request (a visit saved offline and sent later): a resend with the same id
    # answers with this visit instead of recording a second one.
    client_uuid = models.UUIDField(_("client request id"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-visited_at", "-pk"]
        indexes = [_path_index("visit"), models.Index(fields=["key_person", "-visited_at"], name="visit_person_time")]
        constraints = [
            models.UniqueConstraint(fields=["worker", "client_uuid"], name="visit_client_uuid_per_worker",
                                    condition=Q(client_uuid__isnull=False)),
        ]


class BuildingRole(models.Model):
    """The people structure of a building (社区七级组织体系): 楼栋长, 单元长, 楼层长, held by a resident
    or a staff user."""

    building = models.ForeignKey(Building, verbose_name=_("building"), on_delete=models.CASCADE,
                                 related_name="roles")
    role = models.CharField(_("role"), max_length=16, choices=BuildingRoleKind.choices)
    resident = models.ForeignKey(Resident, verbose_name=_("resident"), null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="building_roles")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), null=True, blank=True,
                             on_delete=models.CASCADE, related_name="building_roles")
    unit = models.CharField(_("unit"), max_length=10, blank=True)
    floor = models.SmallIntegerField(_("floor"), null=True, blank=True)
    since = models.DateField(_("since"), null=True, blank=True)

    class Meta:
        verbose_name = _("building role")
        verbose_name_plural = _("building roles")
        ordering = ["building", "role", "unit", "floor"]
        constraints = [
            models.CheckConstraint(
                condition=Q(resident__isnull=False, user__isnull=True) | Q(resident__isnull=True, user__isnull=False),
                name="buildingrole_one_holder",
                violation_error_message=_("A building role is held by a resident or by a user, not both."),
            ),
            models.UniqueConstraint(
                fields=["building", "role", "unit", "floor"], nulls_distinct=False, name="buildingrole_one_per_place",
                violation_error_message=_("This place already has someone in this role."),
            ),
        ]


class PiiAccessLog(models.Model):
    """Append-only: every whole view and every export of personal data (who, when, whose, which, why).

    A database trigger (migration 0001) refuses UPDATE and DELETE, so not even the admin's delete
    action or a shell can change history. ``resident`` keeps no database constraint for the same
    reason: deleting a resident must not rewrite (or be blocked by) the log.
    """

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("who"), on_delete=models.DO_NOTHING,
                              db_constraint=False, related_name="+")
    at = models.DateTimeField(_("when"))
    kind = models.CharField(_("access kind"), max_length=8, choices=PiiAccessKind.choices)
    resident = models.ForeignKey(Resident, verbose_name=_("whose record"), null=True, blank=True,
                                 on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    organisation = models.ForeignKey(Organisation, verbose_name=_("organisation"), null=True, blank=True,
                                     on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    field = models.CharField(_("field"), max_length=16, choices=PiiField.choices, blank=True)
    reason = models.CharField(_("reason"), max_length=500)
    description = models.CharField(_("what was exported"), max_length=500, blank=True)
    count = models.PositiveIntegerField(_("records"), default=1)

    class Meta:
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data access log")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["resident", "-at"], name="piilog_resident_time")]


class PartyOrganisation(models.Model):
    """A party organisation of the party-building network (两网融合): a committee, branch or group placed
    on an area (a grid or any level above it) and, for a compound's own organisation, on a compound
    (the ``Building.compound`` name of buildings in that area). Groups built on grids (党小组建到网格)
    are groups whose area is a grid."""

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("party organisation kind"), max_length=16, choices=PartyOrganisationKind.choices)
    parent = models.ForeignKey("self", verbose_name=_("parent organisation"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="children")
    area = models.ForeignKey(GRID, verbose_name=_("area"), on_delete=models.PROTECT, related_name="+")
    area_path = models.CharField(_("area path"), max_length=255, editable=False)
    compound = models.CharField(_("compound"), max_length=100, blank=True,
                                help_text=_("the compound this organisation is built in, as buildings name it"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("party organisation")
        verbose_name_plural = _("party organisations")
        ordering = ["area_path", "kind", "name", "pk"]
        indexes = [_path_index("partyorg")]

    def __str__(self) -> str:
        return self.name


class PartyMember(models.Model):
    """A party member among the residents and/or the staff, in one organisation, with the roles of the
    network: party grid worker (党建网格员) and party-member building head (党员楼长, of ``building``).
    ``area_path`` is where the member lives (the resident's grid) or else the organisation's area."""

    organisation = models.ForeignKey(PartyOrganisation, verbose_name=_("party organisation"),
                                     on_delete=models.PROTECT, related_name="members")
    resident = models.ForeignKey(Resident, verbose_name=_("resident"), null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="party_memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("staff user"), null=True, blank=True,
                             on_delete=models.CASCADE, related_name="party_memberships")
    joined_on = models.DateField(_("joined the party on"), null=True, blank=True)
    is_grid_worker = models.BooleanField(_("party grid worker"), default=False)
    is_building_head = models.BooleanField(_("party-member building head"), default=False)
    building = models.ForeignKey(Building, verbose_name=_("building headed"), null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="party_heads")
    area_path = models.CharField(_("area path"), max_length=255, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("party member")
        verbose_name_plural = _("party members")
        ordering = ["area_path", "pk"]
        indexes = [_path_index("partymember")]
        constraints = [
            models.CheckConstraint(
                condition=Q(resident__isnull=False) | Q(user__isnull=False), name="partymember_is_someone",
                violation_error_message=_("A party member is a resident or a staff user."),
            ),
            models.UniqueConstraint(fields=["resident"], condition=Q(resident__isnull=False),
                                    name="partymember_resident_once"),
            models.UniqueConstraint(fields=["user"], condition=Q(user__isnull=False), name="partymember_user_once"),
        ]

    def __str__(self) -> str:
        if self.resident_id:
            return self.resident.name
        return self.user.get_full_name() or self.user.username
