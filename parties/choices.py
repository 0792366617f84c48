"""Choices of the people-and-places registry (DESIGN.md §6, GB/T 31000 "9+X")."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ResidenceKind(models.TextChoices):
    REGISTERED = "registered", _("registered (户籍)")
    FLOATING = "floating", _("floating (流动)")
    OVERSEAS = "overseas", _("overseas (境外)")


class HouseholdKind(models.TextChoices):
    REGISTERED = "registered", _("registered household")
    FLOATING = "floating", _("floating household")


class Sex(models.TextChoices):
    MALE = "M", _("male")
    FEMALE = "F", _("female")


class RelationToHead(models.TextChoices):
    SELF = "self", _("head of household")
    SPOUSE = "spouse", _("spouse")
    CHILD = "child", _("child")
    PARENT = "parent", _("parent")
    GRANDCHILD = "grandchild", _("grandchild")
    GRANDPARENT = "grandparent", _("grandparent")
    SIBLING = "sibling", _("sibling")
    OTHER = "other", _("other relative or lodger")


class HouseUse(models.TextChoices):
    RESIDENTIAL = "residential", _("residential")
    COMMERCIAL = "commercial", _("shop or commercial")
    OFFICE = "office", _("office")
    MIXED = "mixed", _("residential and commercial")
    OTHER = "other", _("other use")


class OrganisationKind(models.TextChoices):
    COMPANY = "company", _("company")
    SHOP = "shop", _("shop")
    SOCIAL = "social", _("social organisation")
    PARTY_BRANCH = "party_branch", _("party branch")
    SCHOOL = "school", _("school")
    HOSPITAL = "hospital", _("hospital")
    PROPERTY = "property", _("property management company")
    PUBLIC = "public", _("public institution")
    OTHER = "other", _("other organisation")


class KeyPersonCategory(models.TextChoices):
    RELEASED = "released", _("released from prison")
    CORRECTION = "correction", _("under community correction")
    DRUG = "drug", _("drug user")
    MENTAL = "mental", _("severe mental disorder")
    YOUTH = "youth", _("youth at risk")
    ELDERLY_ALONE = "elderly_alone", _("elderly living alone")
    LEFT_BEHIND_CHILD = "left_behind_child", _("left-behind child")
    HARDSHIP = "hardship", _("family in hardship")
    PETITIONER = "petitioner", _("repeated petitioner")
    OTHER = "other", _("other key person")


class AttentionLevel(models.TextChoices):
    GENERAL = "general", _("general attention")
    MEDIUM = "medium", _("medium attention")
    SERIOUS = "serious", _("serious attention")


class BuildingRoleKind(models.TextChoices):
    BUILDING_HEAD = "building_head", _("building head")
    UNIT_HEAD = "unit_head", _("unit head")
    FLOOR_HEAD = "floor_head", _("floor head")


class PiiField(models.TextChoices):
    ID_NUMBER = "id_number", _("ID card number")
    PHONE = "phone", _("phone number")
    CONTACT_PHONE = "contact_phone", _("contact phone number")


class PiiAccessKind(models.TextChoices):
    REVEAL = "reveal", _("shown whole")
    EXPORT = "export", _("exported")


class PartyOrganisationKind(models.TextChoices):
    COMMITTEE = "committee", _("party committee")
    BRANCH = "branch", pgettext_lazy("party organisation kind", "party branch")
    GROUP = "group", _("party group")
