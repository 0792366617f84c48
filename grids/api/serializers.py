from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework_gis.fields import GeometryField

from grids.models import Area, Department, GridProfile


class AreaSerializer(serializers.ModelSerializer):
    parent_code = serializers.CharField(source="parent.code", read_only=True, default=None, allow_null=True)
    level_display = serializers.CharField(source="get_level_display", read_only=True)
    centroid = GeometryField(read_only=True)

    class Meta:
        model = Area
        fields = ["id", "code", "name", "level", "level_display", "parent", "parent_code", "path", "centroid"]


class AreaDetailSerializer(AreaSerializer):
    boundary = GeometryField(read_only=True)

    class Meta(AreaSerializer.Meta):
        fields = [*AreaSerializer.Meta.fields, "boundary"]


class GridProfileSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = GridProfile
        fields = ["kind", "kind_display", "households", "population", "buildings", "outside_guidance"]


class GridSerializer(AreaSerializer):
    profile = GridProfileSerializer(read_only=True, default=None)
    community = serializers.CharField(source="parent.name", read_only=True)

    class Meta(AreaSerializer.Meta):
        fields = [*AreaSerializer.Meta.fields, "community", "profile"]


class GridDetailSerializer(GridSerializer):
    boundary = GeometryField(read_only=True)

    class Meta(GridSerializer.Meta):
        fields = [*GridSerializer.Meta.fields, "boundary"]


class DepartmentSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    area_code = serializers.CharField(source="area.code", read_only=True)
    area_name = serializers.CharField(source="area.name", read_only=True)

    class Meta:
        model = Department
        fields = ["id", "name", "name_en", "kind", "kind_display", "area", "area_code", "area_name", "is_active"]


class LocateQuerySerializer(serializers.Serializer):
    lon = serializers.FloatField(min_value=-180, max_value=180, label=_("longitude"))
    lat = serializers.FloatField(min_value=-90, max_value=90, label=_("latitude"))
