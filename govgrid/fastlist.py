"""Lists of many rows without DRF's per-field machinery (issue #16: the case list at a million cases).

DRF turns a row into a dict field by field: for every field of every row it walks the field's source
with try/except, wraps related ids in an object, checks for None and calls the field's
``to_representation``; and it builds the serializer's fields again for every request. On the case
list (37 fields, 25 rows) that was most of the time a request took outside SQL.

``PlannedListSerializer`` (a ModelSerializer's ``Meta.list_serializer_class``) works out once per
serializer class how to read and convert each field — a getter and a converter — and applies that
plan to every row. It gives the same JSON as DRF (``govgrid/tests/test_fastlist.py`` compares the
two over every kind of field and over None and blank values). It plans only read-only fields of
the kinds listed in ``_converter``; a serializer with any other kind of field (a nested serializer, a
method field, a file or hyperlink, which read the request) keeps DRF's own path, as does a row whose
source cannot be read (a null link in a dotted source).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from rest_framework import ISO_8601, relations, serializers
from rest_framework import fields as drf_fields
from rest_framework.settings import api_settings

try:
    from rest_framework_gis.fields import GeometryField
except ImportError:  # pragma: no cover - the project depends on it
    GeometryField = None

Getter = Callable[[Any], Any]
Converter = Callable[[Any], Any] | None  # None: the value as it is
_PLANS: dict[type, list[tuple[str, Getter, Any]] | None] = {}
_DATETIME = object()  # converted with the list's time zone, read once per list


def _getter(attrs: list[str]) -> Getter:
    """DRF's own ``fields.get_attribute`` over the field's source, without the Field wrapper around it."""
    return functools.partial(drf_fields.get_attribute, attrs=attrs)


def _point(field) -> Converter:
    def convert(value):
        if value.geom_type == "Point" and not value.empty:
            return {"type": "Point", "coordinates": list(value.coords)}
        return field.to_representation(value)

    return convert


def _converter(field) -> Converter | object | bool:
    """How to turn a read value into JSON for this field, or False when it cannot be planned."""
    if isinstance(field, relations.PrimaryKeyRelatedField):
        return None if field.pk_field is None else False
    if isinstance(field, relations.RelatedField | relations.ManyRelatedField | serializers.BaseSerializer):
        return False
    if GeometryField is not None and isinstance(field, GeometryField):
        plain = field.transform is None and field.precision is None and not field.remove_dupes and not field.auto_bbox
        return _point(field) if plain else False
    if isinstance(field, drf_fields.DateTimeField):
        output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
        if isinstance(output_format, str) and output_format.lower() == ISO_8601 and not hasattr(field, "timezone"):
            return _DATETIME
        return False
    if isinstance(field, drf_fields.ChoiceField):
        # A model field's choices are its stored values: DRF maps str(value) back to the same value.
        if all(type(key) is str for key in field.choices):
            return None
        return field.to_representation
    if type(field) in (drf_fields.CharField, drf_fields.ReadOnlyField):
        return str if type(field) is drf_fields.CharField else None
    if isinstance(field, drf_fields.IntegerField | drf_fields.BooleanField | drf_fields.FloatField
                  | drf_fields.DecimalField | drf_fields.UUIDField | drf_fields.DateField):
        return field.to_representation  # pure functions of the value and the field's settings
    return False


def plan_for(child: serializers.Serializer) -> list[tuple[str, Getter, Any]] | None:
    """The plan of a serializer class (built from a fresh instance, cached), or None for DRF's path."""
    cls = type(child)
    if cls in _PLANS:
        return _PLANS[cls]
    if cls.get_fields not in (serializers.ModelSerializer.get_fields, serializers.Serializer.get_fields):
        _PLANS[cls] = None  # fields that may depend on the request: DRF's path
        return None
    plan: list[tuple[str, Getter, Any]] | None = []
    for name, field in cls().fields.items():
        if field.write_only:
            continue
        converter = _converter(field) if field.read_only else False
        if converter is False:
            plan = None
            break
        if isinstance(field, relations.PrimaryKeyRelatedField):
            if len(field.source_attrs) != 1:
                plan = None
                break
            model_field = cls.Meta.model._meta.get_field(field.source_attrs[0])
            getter = _getter([model_field.attname])
        else:
            getter = _getter(field.source_attrs)
        plan.append((name, getter, converter))
    _PLANS[cls] = plan
    return plan


def _isoformat(value: dt.datetime, zone) -> str:
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class PlannedListSerializer(serializers.ListSerializer):
    """``many=True`` through the child's plan (DRF's own path when it has none)."""

    def to_representation(self, data):
        plan = plan_for(self.child)
        if plan is None:
            return super().to_representation(data)
        rows = data.all() if hasattr(data, "all") else data
        zone = timezone.get_current_timezone()
        out = []
        for row in rows:
            try:
                item = {}
                for name, get, convert in plan:
                    value = get(row)
                    if value is None or convert is None:
                        item[name] = value
                    elif convert is _DATETIME:
                        if isinstance(value, dt.datetime) and timezone.is_aware(value):
                            item[name] = _isoformat(value, zone)
                        else:
                            item[name] = self.child.fields[name].to_representation(value)
                    else:
                        item[name] = convert(value)
            except (AttributeError, KeyError, ObjectDoesNotExist):
                item = self.child.to_representation(row)
            out.append(item)
        return out
