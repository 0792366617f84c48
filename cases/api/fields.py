"""Related fields whose choices and look-ups come from the access module (cases.access).

An id in a request body is found the way an id in a URL is: through the user's scope, with the same
404 and message whether the object does not exist or is out of scope. The serializer's context holds
the request and the case the action is on.
"""

from __future__ import annotations

from collections.abc import Callable

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class ScopedRelatedField(serializers.RelatedField):
    """``choices(user, case)`` is the queryset (for the schema and forms); ``find(user, case, value)``
    returns the object or raises NotFound (answered 404 by the API's exception handler)."""

    def __init__(self, *, choices: Callable, find: Callable, value_type: type = int, **kwargs):
        self._choices, self._find, self.value_type = choices, find, value_type
        kwargs.setdefault("queryset", None)
        super().__init__(**kwargs)

    def _user_case(self):
        context = self.context  # the root serializer's
        request = context.get("request")
        return (request.user if request else None), context.get("case")

    def get_queryset(self):
        user, case = self._user_case()
        return self._choices(user, case) if case is not None else None

    def to_internal_value(self, data):
        user, case = self._user_case()
        if self.value_type is int and (isinstance(data, bool) or not isinstance(data, int | str)):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return self._find(user, case, data)

    def to_representation(self, value):
        return value.pk if self.value_type is int else getattr(value, "username", str(value))

    default_error_messages = {"incorrect_type": "Incorrect type. Expected an id, received {data_type}."}


@extend_schema_field(OpenApiTypes.INT)
class ScopedIdField(ScopedRelatedField):
    """An object named by its id."""


@extend_schema_field({"type": "string", "minLength": 1})  # "" reads as null, which the field refuses
class ScopedUsernameField(ScopedRelatedField):
    """A person named by their username."""

    def __init__(self, **kwargs):
        super().__init__(value_type=str, **kwargs)


class LeafCategoryField(serializers.SlugRelatedField):
    """A case category by code, among the active leaves: from the per-process table of categories
    (cases.selectors.leaf_categories), so a report costs no query for it. Same errors as a slug field."""

    def __init__(self, **kwargs):
        from cases.models import Category

        kwargs.setdefault("queryset", Category.objects.filter(parent__isnull=False, is_active=True))
        super().__init__(slug_field="code", **kwargs)

    def to_internal_value(self, data):
        from cases.selectors import leaf_categories

        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        found = leaf_categories().get(str(data))
        if found is None:
            self.fail("does_not_exist", slug_name=self.slug_field, value=str(data))
        return found
