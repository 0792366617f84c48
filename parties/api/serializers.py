"""What the parties API reads and writes. Numbers are masked (``*_masked``); a whole number comes only
from POST /residents/{id}/reveal/ (logged). Writes go through parties.actions, with every id in a
body looked up through parties.access (missing and out of scope answer alike)."""

from __future__ import annotations

from django.contrib.gis.geos import Point
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from parties.choices import (
    AttentionLevel,
    BuildingRoleKind,
    HouseholdKind,
    HouseUse,
    KeyPersonCategory,
    OrganisationKind,
    PartyOrganisationKind,
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
    Resident,
    Visit,
)


class BuildingRoleSerializer(serializers.ModelSerializer):
    role_display = serializers.CharField(source="get_role_display", read_only=True)
    holder = serializers.SerializerMethodField()

    class Meta:
        model = BuildingRole
        fields = ["id", "role", "role_display", "unit", "floor", "resident", "user", "holder", "since"]

    def get_holder(self, obj: BuildingRole) -> str:
        return obj.resident.name if obj.resident_id else (obj.user.get_full_name() or obj.user.username)


class BuildingSerializer(serializers.ModelSerializer):
    grid_code = serializers.CharField(source="grid.code", read_only=True)
    lon = serializers.FloatField(source="point.x", read_only=True)
    lat = serializers.FloatField(source="point.y", read_only=True)

    class Meta:
        model = Building
        fields = ["id", "number", "road", "road_number", "compound", "building_name", "address", "lon", "lat",
                  "grid", "grid_code", "floors", "units"]


class BuildingDetailSerializer(BuildingSerializer):
    roles = BuildingRoleSerializer(many=True, read_only=True)

    class Meta(BuildingSerializer.Meta):
        fields = [*BuildingSerializer.Meta.fields, "roles"]


class BuildingWriteSerializer(serializers.Serializer):
    grid = serializers.CharField(help_text=_("the grid's code"), required=False)
    number = serializers.CharField(max_length=32, required=False)
    road = serializers.CharField(max_length=100, required=False, allow_blank=True)
    road_number = serializers.CharField(max_length=20, required=False, allow_blank=True)
    compound = serializers.CharField(max_length=100, required=False, allow_blank=True)
    building_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    address = serializers.CharField(max_length=255, required=False, allow_blank=True)
    lon = serializers.FloatField(min_value=-180, max_value=180, required=False)
    lat = serializers.FloatField(min_value=-90, max_value=90, required=False)
    floors = serializers.IntegerField(min_value=1, max_value=200, required=False)
    units = serializers.IntegerField(min_value=1, max_value=50, required=False)

    def validate(self, attrs):
        if ("lon" in attrs) != ("lat" in attrs):
            raise serializers.ValidationError({"lat": [_("Give both lon and lat.")]})
        if "lon" in attrs:
            attrs["point"] = Point(attrs.pop("lon"), attrs.pop("lat"), srid=4326)
        return attrs


class HouseSerializer(serializers.ModelSerializer):
    use_display = serializers.CharField(source="get_use_display", read_only=True)
    address = serializers.CharField(source="building.address", read_only=True)
    owner_name = serializers.CharField(source="owner.name", read_only=True, default=None, allow_null=True)

    class Meta:
        model = House
        fields = ["id", "building", "address", "unit", "floor", "room", "use", "use_display", "floor_area",
                  "is_rental", "is_vacant", "owner", "owner_name", "grid"]
        read_only_fields = fields


class HouseWriteSerializer(serializers.Serializer):
    building = serializers.IntegerField(required=False)
    unit = serializers.CharField(max_length=10, required=False, allow_blank=True)
    floor = serializers.IntegerField(min_value=-10, max_value=200, required=False)
    room = serializers.CharField(max_length=20, required=False)
    use = serializers.ChoiceField(choices=HouseUse.choices, required=False)
    floor_area = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0, required=False,
                                          allow_null=True)
    is_rental = serializers.BooleanField(required=False)
    is_vacant = serializers.BooleanField(required=False)
    owner = serializers.IntegerField(required=False, allow_null=True)


class HouseholdSerializer(serializers.ModelSerializer):
    head_name = serializers.CharField(source="head.name", read_only=True, default=None, allow_null=True)

    class Meta:
        model = Household
        fields = ["id", "number", "kind", "house", "head", "head_name", "grid"]
        read_only_fields = fields


class HouseholdWriteSerializer(serializers.Serializer):
    house = serializers.IntegerField(required=False, allow_null=True)
    grid = serializers.CharField(required=False, help_text=_("the grid's code, when there is no house"))
    kind = serializers.ChoiceField(choices=HouseholdKind.choices, default=HouseholdKind.REGISTERED)
    number = serializers.CharField(max_length=32, required=False, allow_blank=True)


class ResidentSerializer(serializers.ModelSerializer):
    """A resident with masked numbers (``id_number``, ``phone`` are always the masked text)."""

    id_number = serializers.CharField(source="id_number_masked", read_only=True)
    phone = serializers.CharField(source="phone_masked", read_only=True)
    residence_kind_display = serializers.CharField(source="get_residence_kind_display", read_only=True)

    class Meta:
        model = Resident
        fields = ["id", "name", "id_number", "phone", "birth_date", "sex", "residence_kind",
                  "residence_kind_display", "household", "relation_to_head", "house", "grid",
                  "moved_in_on", "moved_out_on"]
        read_only_fields = fields


class ResidentDetailSerializer(ResidentSerializer):
    grid_code = serializers.CharField(source="grid.code", read_only=True)
    key_person_categories = serializers.SerializerMethodField()

    class Meta(ResidentSerializer.Meta):
        fields = [*ResidentSerializer.Meta.fields, "grid_code", "note", "key_person_categories"]

    def get_key_person_categories(self, obj: Resident) -> list[str]:
        return [kp.category for kp in obj.key_person_records.all() if kp.is_active]


class ResidentWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=50, required=False)
    id_number = serializers.CharField(max_length=20, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    residence_kind = serializers.ChoiceField(choices=ResidenceKind.choices, required=False)
    relation_to_head = serializers.ChoiceField(choices=RelationToHead.choices, required=False, allow_blank=True)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    # Where the resident lives: only on create (a move goes through /move/).
    grid = serializers.CharField(required=False, help_text=_("the grid's code"))
    house = serializers.IntegerField(required=False, allow_null=True)
    household = serializers.IntegerField(required=False, allow_null=True)
    moved_in_on = serializers.DateField(required=False)


class MoveSerializer(serializers.Serializer):
    moved_on = serializers.DateField()
    to_house = serializers.IntegerField(required=False, allow_null=True)
    to_household = serializers.IntegerField(required=False, allow_null=True)
    to_grid = serializers.CharField(required=False, help_text=_("the grid's code"))
    residence_kind = serializers.ChoiceField(choices=ResidenceKind.choices, required=False)
    moved_out = serializers.BooleanField(default=False)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class RevealSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=[PiiField.ID_NUMBER, PiiField.PHONE])
    reason = serializers.CharField(max_length=500, help_text=_("why the whole number is needed (logged)"))


class ContactRevealSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=[PiiField.CONTACT_PHONE])
    reason = serializers.CharField(max_length=500, help_text=_("why the whole number is needed (logged)"))


class RevealedSerializer(serializers.Serializer):
    field = serializers.CharField()
    value = serializers.CharField()


class OrganisationSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    contact_phone = serializers.CharField(source="contact_phone_masked", read_only=True)

    class Meta:
        model = Organisation
        fields = ["id", "name", "kind", "kind_display", "credit_code", "building", "house", "address", "grid",
                  "contact_name", "contact_phone", "employees"]
        read_only_fields = fields


class OrganisationWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    kind = serializers.ChoiceField(choices=OrganisationKind.choices, required=False)
    credit_code = serializers.CharField(max_length=18, required=False, allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    contact_name = serializers.CharField(max_length=50, required=False, allow_blank=True)
    contact_phone = serializers.CharField(max_length=20, required=False, allow_blank=True)
    employees = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    grid = serializers.CharField(required=False, help_text=_("the grid's code, when there is no building"))
    building = serializers.IntegerField(required=False, allow_null=True)
    house = serializers.IntegerField(required=False, allow_null=True)


class KeyPersonSerializer(serializers.ModelSerializer):
    resident_name = serializers.CharField(source="resident.name", read_only=True)
    category_display = serializers.CharField(source="get_category_display", read_only=True)
    attention_level_display = serializers.CharField(source="get_attention_level_display", read_only=True)

    class Meta:
        model = KeyPerson
        fields = ["id", "resident", "resident_name", "category", "category_display", "attention_level",
                  "attention_level_display", "worker", "visit_every_days", "next_visit_due", "last_visited_at",
                  "overdue_since", "is_active", "grid", "note"]
        read_only_fields = fields


class KeyPersonWriteSerializer(serializers.Serializer):
    resident = serializers.IntegerField()
    category = serializers.ChoiceField(choices=KeyPersonCategory.choices)
    attention_level = serializers.ChoiceField(choices=AttentionLevel.choices, default=AttentionLevel.GENERAL)
    worker = serializers.IntegerField(required=False, allow_null=True, help_text=_("the responsible grid worker"))
    visit_every_days = serializers.IntegerField(min_value=1, max_value=366, default=30)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class VisitSerializer(serializers.ModelSerializer):
    class Meta:
        model = Visit
        fields = ["id", "key_person", "worker", "visited_at", "due_at", "on_time", "note", "findings", "photo",
                  "grid"]
        read_only_fields = fields


class VisitWriteSerializer(serializers.Serializer):
    key_person = serializers.IntegerField()
    visited_at = serializers.DateTimeField(required=False)
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    findings = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    photo = serializers.ImageField(required=False)
    client_uuid = serializers.UUIDField(required=False, allow_null=True, default=None,
                                        label=_("client request id"),
                                        help_text=_("A resend with the same id answers with the first visit."))


class BuildingRoleWriteSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=BuildingRoleKind.choices)
    resident = serializers.IntegerField(required=False, allow_null=True)
    unit = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")
    floor = serializers.IntegerField(required=False, allow_null=True)


class PartyOrganisationSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    area_code = serializers.CharField(source="area.code", read_only=True)
    area_name = serializers.CharField(source="area.name", read_only=True)

    class Meta:
        model = PartyOrganisation
        fields = ["id", "name", "kind", "kind_display", "parent", "area", "area_code", "area_name", "compound"]
        read_only_fields = fields


class PartyOrganisationWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    kind = serializers.ChoiceField(choices=PartyOrganisationKind.choices, required=False)
    area = serializers.CharField(required=False, help_text=_("the area's code (a grid or any level above)"))
    parent = serializers.IntegerField(required=False, allow_null=True)
    compound = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                     help_text=_("the compound this organisation is built in, as buildings name it"))


class PartyMemberSerializer(serializers.ModelSerializer):
    """A party member; a resident's phone number is the masked text."""

    name = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    organisation_name = serializers.CharField(source="organisation.name", read_only=True)

    class Meta:
        model = PartyMember
        fields = ["id", "organisation", "organisation_name", "resident", "user", "name", "phone", "joined_on",
                  "is_grid_worker", "is_building_head", "building"]
        read_only_fields = fields

    def get_name(self, obj: PartyMember) -> str:
        return str(obj)

    def get_phone(self, obj: PartyMember) -> str:
        return obj.resident.phone_masked if obj.resident_id else ""


class PartyMemberWriteSerializer(serializers.Serializer):
    organisation = serializers.IntegerField(required=False)
    resident = serializers.IntegerField(required=False, allow_null=True)
    user = serializers.IntegerField(required=False, allow_null=True, help_text=_("a staff user"))
    joined_on = serializers.DateField(required=False, allow_null=True)
    is_grid_worker = serializers.BooleanField(required=False)
    is_building_head = serializers.BooleanField(required=False)
    building = serializers.IntegerField(required=False, allow_null=True, help_text=_("the building headed"))
