"""A small reader of Mapbox Vector Tiles (spec 2.1) for the tests: layers, features, properties and
geometry in tile coordinates, enough to check what the tile endpoints send. Only the protobuf wire
types the spec uses (varint, 64-bit, length-delimited, 32-bit)."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i
        shift += 7


def _fields(buf: bytes):
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            size, i = _varint(buf, i)
            value, i = buf[i:i + size], i + size
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire} is not in a vector tile")
        yield number, wire, value


def _packed(buf: bytes) -> list[int]:
    out, i = [], 0
    while i < len(buf):
        value, i = _varint(buf, i)
        out.append(value)
    return out


def _zigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _value(buf: bytes):
    for number, _wire, raw in _fields(buf):
        if number == 1:
            return raw.decode()
        if number == 2:
            return struct.unpack("<f", raw)[0]
        if number == 3:
            return struct.unpack("<d", raw)[0]
        if number in (4, 5):
            return raw if number == 5 or raw < 2**63 else raw - 2**64
        if number == 6:
            return _zigzag(raw)
        if number == 7:
            return bool(raw)
    return None


def _geometry(commands: list[int]) -> list[list[tuple[int, int]]]:
    """The geometry as parts (a point's positions, a line, a polygon's rings), in tile coordinates."""
    parts: list[list[tuple[int, int]]] = []
    x = y = i = 0
    while i < len(commands):
        command, count = commands[i] & 7, commands[i] >> 3
        i += 1
        if command == 7:  # ClosePath
            continue
        if command == 1:
            parts.append([])
        for _ in range(count):
            x += _zigzag(commands[i])
            y += _zigzag(commands[i + 1])
            i += 2
            parts[-1].append((x, y))
    return parts


GEOMETRY_TYPES = {1: "Point", 2: "LineString", 3: "Polygon"}


@dataclass
class Feature:
    type: str
    properties: dict
    parts: list[list[tuple[int, int]]] = field(default_factory=list)


@dataclass
class Layer:
    name: str
    extent: int
    features: list[Feature]


def decode(data: bytes) -> dict[str, Layer]:
    layers = {}
    for number, _wire, raw in _fields(data):
        if number != 3:
            continue
        name, extent, keys, values, raw_features = "", 4096, [], [], []
        for lnum, _lw, lraw in _fields(raw):
            if lnum == 1:
                name = lraw.decode()
            elif lnum == 2:
                raw_features.append(lraw)
            elif lnum == 3:
                keys.append(lraw.decode())
            elif lnum == 4:
                values.append(_value(lraw))
            elif lnum == 5:
                extent = lraw
        features = []
        for raw_feature in raw_features:
            tags, kind, commands = [], 0, []
            for fnum, _fw, fraw in _fields(raw_feature):
                if fnum == 2:
                    tags = _packed(fraw)
                elif fnum == 3:
                    kind = fraw
                elif fnum == 4:
                    commands = _packed(fraw)
            properties = {keys[tags[k]]: values[tags[k + 1]] for k in range(0, len(tags), 2)}
            features.append(Feature(GEOMETRY_TYPES.get(kind, "Unknown"), properties, _geometry(commands)))
        layers[name] = Layer(name, extent, features)
    return layers


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """The z/x/y of the Web Mercator tile holding the point."""
    n = 1 << z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def lonlat(z: int, x: int, y: int, px: float, py: float, extent: int = 4096) -> tuple[float, float]:
    """A position in tile coordinates back to longitude and latitude."""
    n = 1 << z
    fx, fy = (x + px / extent) / n, (y + py / extent) / n
    return fx * 360 - 180, math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * fy))))
