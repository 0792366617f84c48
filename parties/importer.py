"""Import residents from the CSV and XLSX forms grid workers keep (人口信息采集表), all or nothing.

The whole file is checked first and every problem is collected, each named by its spreadsheet row
number (the header is row 1) and column: a bad ID number (GB 11643 check digit and birth date,
``parties.pii``), an unknown grid or address, a duplicate (within the file, and against the database
through the keyed hash of the number), a missing field, a point outside its grid. A dry run stops
there. An import writes only a file without problems, in one transaction; if the database refuses
a row (someone registered the same person since the check) nothing is written either.

**Why this module writes rows itself.** Everywhere else ``parties.actions`` is the only writer. A
form of 100,000 rows through the one-row actions would cost a few queries and an event per person,
and the checks would run row by row. Here the checks are set-based (one query per kind for the whole
file), and the rows go in with ``bulk_create`` in one transaction. It stores personal data only
through the same model setters (``Resident.set_id_number`` / ``set_phone``: validate, encrypt, keyed
hash, mask) as the actions, so no plain number reaches a table, and writes a ``ResidentMove`` per
resident as a move does. It is the one writer for bulk rows; nothing else may bulk-write residents.

The columns (``COLUMNS``; the template, ``template_xlsx``, has them with one example row): Chinese
headers as on the paper form, English names accepted too. A row names its building by number within
its grid. A building not yet registered is added when the row gives its road, road number and point
(which must lie inside the grid); rows after the first may leave those out. Rooms (unit + room) are
added to their building as needed; rows with the same household number (户编号) in one grid form one
household, joined to an existing household of that number if there is one.

Large files go through Celery (``run_import_job``): the uploaded file is kept in the default storage
under ``imports/<id>`` only until the job ends (it holds plain ID numbers), and the job's state and
progress live in the cache under ``resident-import:<id>``, like reports' export jobs.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import Point
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from govgrid import clock
from grids.choices import Level
from grids.models import Area
from grids.scope import scope_for
from parties import pii
from parties.actions import _compose_address as compose_address
from parties.choices import HouseholdKind, RelationToHead, ResidenceKind
from parties.models import Building, House, Household, Resident, ResidentMove

logger = logging.getLogger(__name__)

BULK_BATCH_SIZE = 1000
PROGRESS_EVERY = 2000
# A file up to this size (about 5,000 rows) is checked or imported in the request; a larger one by a worker.
INLINE_MAX_BYTES = 512 * 1024
JOB_TIMEOUT = 24 * 3600
FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # the Chinese header of the form and the template
    aliases: tuple[str, ...]
    required: bool = False
    example: str = ""
    note: str = ""


COLUMNS: tuple[Column, ...] = (
    Column("grid", "网格编码", ("grid", "grid_code", "网格", "网格代码"), True, "440604001001001"),
    Column("building", "楼栋编号", ("building", "building_number", "楼栋号", "楼号"), True, "12"),
    Column("road", "路(街)名", ("road", "路名", "街路巷"), example="季华路",
           note="新楼栋必填 / required for a new building"),
    Column("road_number", "门牌号", ("road_number", "门牌"), example="18",
           note="新楼栋必填 / required for a new building"),
    Column("compound", "小区", ("compound", "小区名称"), example="金沙花园"),
    Column("lon", "经度", ("lon", "lng", "longitude"), example="113.005",
           note="新楼栋必填, WGS84 / required for a new building"),
    Column("lat", "纬度", ("lat", "latitude"), example="23.005",
           note="新楼栋必填, WGS84 / required for a new building"),
    Column("unit", "单元", ("unit", "单元号"), example="1"),
    Column("floor", "楼层", ("floor", "层"), example="3"),
    Column("room", "房号", ("room", "房间号", "室"), True, "301"),
    Column("rental", "出租房", ("rental", "is_rental", "是否出租"), example="否", note="是/否 / yes/no"),
    Column("name", "姓名", ("name", "full_name"), True, "张三"),
    Column("id_number", "公民身份号码", ("id_number", "id", "id_card", "身份证号", "身份证号码"), True,
           note="18位, 请设为文本格式 / 18 characters, as text"),
    Column("phone", "联系电话", ("phone", "mobile", "手机号", "手机号码"), example="13812345678"),
    Column("residence_kind", "人口类型", ("residence_kind", "kind", "type"), True, "户籍",
           note="户籍/流动/境外 / registered, floating, overseas"),
    Column("household", "户编号", ("household", "household_number", "户号"), example="H0001"),
    Column("relation", "与户主关系", ("relation", "relation_to_head"), example="户主",
           note="户主/配偶/子女/父母/孙子女/祖父母/兄弟姐妹/其他"),
    Column("moved_in", "迁入日期", ("moved_in", "moved_in_on", "入住日期"), example="2024-03-01", note="YYYY-MM-DD"),
)
COLUMNS_BY_KEY = {column.key: column for column in COLUMNS}


def _header_key(text: str) -> str:
    return "".join(str(text).split()).lower().replace("（", "(").replace("）", ")").replace("-", "_")


HEADER_ALIASES: dict[str, str] = {}
for _column in COLUMNS:
    for _name in (_column.header, _column.key, *_column.aliases):
        HEADER_ALIASES[_header_key(_name)] = _column.key

KIND_ALIASES = {
    "户籍": ResidenceKind.REGISTERED, "户籍人口": ResidenceKind.REGISTERED, "registered": ResidenceKind.REGISTERED,
    "流动": ResidenceKind.FLOATING, "流动人口": ResidenceKind.FLOATING, "floating": ResidenceKind.FLOATING,
    "境外": ResidenceKind.OVERSEAS, "境外人员": ResidenceKind.OVERSEAS, "overseas": ResidenceKind.OVERSEAS,
}
RELATION_ALIASES = {
    "户主": RelationToHead.SELF, "本人": RelationToHead.SELF, "self": RelationToHead.SELF, "head": RelationToHead.SELF,
    "配偶": RelationToHead.SPOUSE, "妻": RelationToHead.SPOUSE, "夫": RelationToHead.SPOUSE,
    "spouse": RelationToHead.SPOUSE,
    "子女": RelationToHead.CHILD, "子": RelationToHead.CHILD, "女": RelationToHead.CHILD, "儿子": RelationToHead.CHILD,
    "女儿": RelationToHead.CHILD, "child": RelationToHead.CHILD,
    "父母": RelationToHead.PARENT, "父亲": RelationToHead.PARENT, "母亲": RelationToHead.PARENT,
    "parent": RelationToHead.PARENT,
    "孙子女": RelationToHead.GRANDCHILD, "孙子": RelationToHead.GRANDCHILD, "孙女": RelationToHead.GRANDCHILD,
    "grandchild": RelationToHead.GRANDCHILD,
    "祖父母": RelationToHead.GRANDPARENT, "grandparent": RelationToHead.GRANDPARENT,
    "兄弟姐妹": RelationToHead.SIBLING, "sibling": RelationToHead.SIBLING,
    "其他": RelationToHead.OTHER, "other": RelationToHead.OTHER,
}
YES = {"是", "y", "yes", "true", "1", "出租"}
NO = {"否", "n", "no", "false", "0", "自住", ""}

_NAME_MAX = Resident._meta.get_field("name").max_length
_BUILDING_MAX = Building._meta.get_field("number").max_length
_ROOM_MAX = House._meta.get_field("room").max_length
_UNIT_MAX = House._meta.get_field("unit").max_length
_HOUSEHOLD_MAX = Household._meta.get_field("number").max_length
_ROAD_MAX = Building._meta.get_field("road").max_length
_ROAD_NUMBER_MAX = Building._meta.get_field("road_number").max_length
_COMPOUND_MAX = Building._meta.get_field("compound").max_length


# --- problems -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong: the spreadsheet row (None for the file as a whole), the column, the message."""

    row: int | None
    column: str | None  # the column key; ``column_label`` is for people
    message: str

    @property
    def column_label(self) -> str:
        column = COLUMNS_BY_KEY.get(self.column or "")
        # The header as on the form and its English name: both are what a file may carry.
        return f"{column.header} ({column.key})" if column else ""

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column or "", "column_label": self.column_label,
                "message": self.message}

    def __str__(self) -> str:
        if self.row is None:
            return self.message
        if self.column:
            return _("row %(row)d, %(column)s: %(problem)s") % {"row": self.row, "column": self.column_label,
                                                                "problem": self.message}
        return _("row %(row)d: %(problem)s") % {"row": self.row, "problem": self.message}


class ResidentImportError(Exception):
    """The file has problems; nothing was written. ``problems`` lists every one of them."""

    def __init__(self, problems: list[RowProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems[:50]))
        self.problems = problems


@dataclass
class ParsedRow:
    """One data row as checked. Fields are None where the row gave nothing or a problem was reported."""

    row: int
    grid_code: str = ""
    building: str = ""
    road: str = ""
    road_number: str = ""
    compound: str = ""
    point: Point | None = None
    unit: str = ""
    floor: int | None = None
    room: str = ""
    rental: bool | None = None
    name: str = ""
    id_number: str = ""
    id_hash: str = ""
    phone: str = ""
    residence_kind: str = ""
    household: str = ""
    relation: str = ""
    moved_in: dt.date | None = None
    grid: Area | None = None


@dataclass
class CheckResult:
    """What a check found: the rows, every problem, and what an import would add."""

    rows: list[ParsedRow]
    problems: list[RowProblem]
    new_buildings: int = 0
    new_houses: int = 0
    new_households: int = 0
    # Filled by the check for the writer: grid id -> Area; (grid id, number) -> existing building id ...
    grids: dict[str, Area] = field(default_factory=dict)
    buildings: dict[tuple[int, str], int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> dict[str, Any]:
        bad_rows = len({p.row for p in self.problems if p.row is not None})
        return {"rows": len(self.rows), "bad_rows": bad_rows, "problems": len(self.problems),
                "residents": len(self.rows) if self.ok else 0, "new_buildings": self.new_buildings,
                "new_houses": self.new_houses, "new_households": self.new_households}


Progress = Callable[[int, int], None]


def _no_progress(done: int, total: int) -> None:
    pass


# --- reading the file ---------------------------------------------------------------------------


class FileProblem(Exception):
    """The file as a whole cannot be read (format, encoding, no header)."""


def file_format(name: str) -> str | None:
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return suffix if suffix in FORMATS else None


def read_rows(content: bytes, fmt: str) -> Iterator[tuple[int, list[Any]]]:
    """(spreadsheet row number, cells) of each row, the header first. Raises FileProblem."""
    if fmt == "csv":
        return _csv_rows(content)
    if fmt == "xlsx":
        return _xlsx_rows(content)
    raise FileProblem(_("Only .csv and .xlsx files can be imported."))


def _csv_rows(content: bytes) -> Iterator[tuple[int, list[Any]]]:
    # Excel on a Chinese Windows saves "CSV" in GBK (GB18030 is its superset); UTF-8 files may carry a BOM.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise FileProblem(_("The CSV file is neither UTF-8 nor GBK text."))
    if "\x00" in text:
        raise FileProblem(_("The CSV file holds NUL characters; is it really a CSV file?"))
    try:
        return enumerate(list(csv.reader(io.StringIO(text, newline=""))), 1)
    except csv.Error as exc:
        raise FileProblem(_("The CSV file cannot be read: %(error)s") % {"error": exc}) from exc


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        # read_only streams the sheet (memory stays flat for 100,000 rows); data_only reads cached formula values.
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML or openpyxl errors: all mean "not a workbook we can read"
        raise FileProblem(_("The file is not an Excel workbook (.xlsx) that can be read.")) from exc

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            sheet = workbook.worksheets[0]
            for number, values in enumerate(sheet.iter_rows(values_only=True), 1):
                yield number, list(values)
        finally:
            workbook.close()

    return rows()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


# --- checking -----------------------------------------------------------------------------------


def check_file(content: bytes, fmt: str, *, user=None, progress: Progress = _no_progress,
               today: dt.date | None = None) -> CheckResult:
    """Read and check a whole file; return its rows and every problem (a dry run). Writes nothing.

    ``user`` (None: a management command, everything) limits the grids rows may name to those the
    user may act on; a grid outside that scope is "unknown", the same answer as a code that does not
    exist. A few queries whatever the size: grids, buildings, houses, households and ID hashes.
    """
    try:
        rows_iter = read_rows(content, fmt)
        header = _find_header(rows_iter)
    except FileProblem as exc:
        return CheckResult([], [RowProblem(None, None, str(exc))])
    except Exception:  # a workbook whose sheet XML is broken part-way
        logger.info("unreadable import file", exc_info=True)
        return _unreadable()
    if header is None:
        return CheckResult([], [RowProblem(None, None, _("The file is empty."))])
    columns, problems = _map_header(*header)
    if problems:
        return CheckResult([], problems)

    today = today or timezone.localdate()
    result = CheckResult([], [])
    raw_rows: list[ParsedRow] = []
    try:
        for number, cells in rows_iter:
            if not any(_cell_text(v) for v in cells):
                continue  # blank lines between blocks are common in hand-kept sheets
            values = {key: cells[index] if index < len(cells) else None for index, key in columns.items()}
            raw_rows.append(_parse_row(number, values, result.problems, today))
            if len(raw_rows) % PROGRESS_EVERY == 0:
                progress(len(raw_rows), 0)
    except Exception:
        logger.info("unreadable import file", exc_info=True)
        return _unreadable()
    if not raw_rows:
        result.problems.append(RowProblem(None, None, _("The file has a header but no rows.")))
        return result
    result.rows = raw_rows
    _check_against_database(result, user)
    result.problems.sort(key=lambda p: (p.row or 0, list(COLUMNS_BY_KEY).index(p.column) if p.column else -1))
    return result


HEADER_SEARCH_ROWS = 10


def _unreadable() -> CheckResult:
    return CheckResult([], [RowProblem(None, None, _("The file is not an Excel workbook (.xlsx) that can be read."))])


def _find_header(rows: Iterator[tuple[int, list[Any]]]) -> tuple[int, list[Any]] | None:
    """The header row: the first of the first few non-blank rows that names at least three known
    columns (real forms often start with a title row such as "××社区人口信息采集表"), else the first
    non-blank row, whose missing columns are then reported."""
    first = None
    for seen, (number, cells) in enumerate(rows):
        if not any(_cell_text(v) for v in cells):
            continue
        first = first or (number, cells)
        if sum(_header_key(_cell_text(v)) in HEADER_ALIASES for v in cells if v is not None) >= 3:
            return number, cells
        if seen >= HEADER_SEARCH_ROWS:
            break
    return first


def _map_header(number: int, cells: list[Any]) -> tuple[dict[int, str], list[RowProblem]]:
    columns: dict[int, str] = {}
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(cells):
        text = _cell_text(cell)
        if not text:
            continue
        key = HEADER_ALIASES.get(_header_key(text))
        if key is None:
            continue  # extra columns (remarks, serial numbers) are common on real forms and ignored
        if key in seen:
            problems.append(RowProblem(number, key, _("the column appears twice (columns %(first)d and %(second)d)")
                                       % {"first": seen[key] + 1, "second": index + 1}))
            continue
        seen[key] = index
        columns[index] = key
    for column in COLUMNS:
        if column.required and column.key not in seen:
            problems.append(RowProblem(number, column.key, _("the header has no column %(header)s (or %(alias)s)")
                                       % {"header": column.header, "alias": column.key}))
    return columns, problems


def _parse_row(number: int, values: dict[str, Any], problems: list[RowProblem], today: dt.date) -> ParsedRow:
    row = ParsedRow(row=number)

    def bad(key: str, message: str) -> None:
        problems.append(RowProblem(number, key, message))

    def text(key: str, max_length: int | None = None) -> str:
        value = _cell_text(values.get(key))
        if COLUMNS_BY_KEY[key].required and not value:
            bad(key, _("missing: this column is required"))
        if max_length is not None and len(value) > max_length:
            bad(key, _("longer than %(max)d characters") % {"max": max_length})
            return ""
        return value

    row.grid_code = text("grid")
    row.building = text("building", _BUILDING_MAX)
    row.road = text("road", _ROAD_MAX)
    row.road_number = text("road_number", _ROAD_NUMBER_MAX)
    row.compound = text("compound", _COMPOUND_MAX)
    row.unit = text("unit", _UNIT_MAX)
    row.room = text("room", _ROOM_MAX)
    row.name = text("name", _NAME_MAX)
    row.household = text("household", _HOUSEHOLD_MAX)

    lon, lat = _cell_text(values.get("lon")), _cell_text(values.get("lat"))
    if lon or lat:
        try:
            x, y = float(lon), float(lat)
            if not (-180 <= x <= 180 and -90 <= y <= 90):
                raise ValueError
            row.point = Point(x, y, srid=4326)
        except ValueError:
            bad("lon" if not _is_float(lon) or not lat else "lat",
                _("%(lon)s, %(lat)s is not a WGS84 longitude and latitude") % {"lon": lon or "—", "lat": lat or "—"})

    floor = _cell_text(values.get("floor"))
    if floor:
        try:
            row.floor = int(floor)
            if not -10 <= row.floor <= 200:
                raise ValueError
        except ValueError:
            row.floor = None
            bad("floor", _("%(value)s is not a floor number") % {"value": floor})

    rental = _cell_text(values.get("rental")).lower()
    if rental in YES:
        row.rental = True
    elif rental in NO:
        row.rental = False if rental else None
    else:
        bad("rental", _("%(value)s is not yes (是) or no (否)") % {"value": rental})

    id_value = values.get("id_number")
    id_text = _cell_text(id_value)
    if isinstance(id_value, int | float) and not isinstance(id_value, bool) and len(id_text) > 15:
        # Excel keeps 15 significant digits: an 18-digit number typed into a number cell has lost its end.
        bad("id_number", _("the ID card number was stored as a number and lost its last digits; "
                           "format the column as text and type it again"))
    elif id_text:
        try:
            row.id_number, _birth, _sex = pii.parse_id_number(id_text, today=today)
            row.id_hash = pii.lookup_hash(row.id_number, "id")
        except ValidationError as exc:
            bad("id_number", " ".join(exc.messages))
    else:
        bad("id_number", _("missing: this column is required"))

    phone = _cell_text(values.get("phone"))
    if phone:
        try:
            row.phone = pii.parse_mobile(phone)
        except ValidationError as exc:
            bad("phone", " ".join(exc.messages))

    kind = _cell_text(values.get("residence_kind"))
    if kind:
        found = KIND_ALIASES.get(kind.lower())
        if found is None:
            bad("residence_kind", _("%(value)s is not a residence kind; use 户籍, 流动 or 境外") % {"value": kind})
        else:
            row.residence_kind = found
    else:
        bad("residence_kind", _("missing: this column is required"))

    relation = _cell_text(values.get("relation"))
    if relation:
        found = RELATION_ALIASES.get(relation.lower())
        if found is None:
            bad("relation", _("%(value)s is not a relation to the head of household") % {"value": relation})
        else:
            row.relation = found
        if not row.household:
            bad("household", _("a relation to the head of household needs a household number"))

    moved_in = values.get("moved_in")
    if isinstance(moved_in, dt.datetime):
        row.moved_in = moved_in.date()
    elif isinstance(moved_in, dt.date):
        row.moved_in = moved_in
    elif _cell_text(moved_in):
        row.moved_in = _parse_date(_cell_text(moved_in))
        if row.moved_in is None:
            bad("moved_in", _("%(value)s is not a date (YYYY-MM-DD)") % {"value": _cell_text(moved_in)})
    if row.moved_in is not None and row.moved_in > today:
        bad("moved_in", _("the date %(date)s is in the future") % {"date": row.moved_in.isoformat()})
        row.moved_in = None
    return row


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _parse_date(value: str) -> dt.date | None:
    for separator in ("-", "/", "."):
        parts = value.split(separator)
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            try:
                return dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
            except ValueError:
                return None
    if len(value) == 8 and value.isdigit():
        try:
            return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
        except ValueError:
            return None
    return None


def _check_against_database(result: CheckResult, user) -> None:
    """Grids, buildings, points, duplicates and households against the file and the database."""
    rows, problems = result.rows, result.problems

    def bad(row: ParsedRow, key: str, message: str) -> None:
        problems.append(RowProblem(row.row, key, message))

    codes = {row.grid_code for row in rows if row.grid_code}
    grids = Area.objects.filter(level=Level.GRID, code__in=codes).only("id", "code", "name", "path", "boundary")
    if user is not None:
        grids = grids.filter(scope_for(user).area_q(act=True))
    result.grids = {grid.code: grid for grid in grids}
    for row in rows:
        if row.grid_code:
            row.grid = result.grids.get(row.grid_code)
            if row.grid is None:
                bad(row, "grid", _("unknown grid %(code)s (or not one you may import into)") % {"code": row.grid_code})

    # Points: checked in Python against each grid's boundary (prepared geometry: one grid, many points).
    prepared = {code: grid.boundary.prepared for code, grid in result.grids.items() if grid.boundary}
    for row in rows:
        if row.point is not None and row.grid is not None:
            boundary = prepared.get(row.grid.code)
            if boundary is None or not boundary.covers(row.point):
                bad(row, "lon", _("the point %(lon).6f, %(lat).6f lies outside grid %(code)s")
                    % {"lon": row.point.x, "lat": row.point.y, "code": row.grid.code})

    # Buildings: known by (grid, number); a new one needs road, road number and point on some row.
    wanted = {(row.grid.pk, row.building) for row in rows if row.grid is not None and row.building}
    grid_ids = {grid_id for grid_id, _number in wanted}
    existing = Building.objects.filter(grid_id__in=grid_ids, number__in={n for _g, n in wanted}).values_list(
        "grid_id", "number", "id")
    result.buildings = {(grid_id, number): pk for grid_id, number, pk in existing if (grid_id, number) in wanted}
    new_buildings: dict[tuple[int, str], ParsedRow] = {}
    for row in rows:
        if row.grid is None or not row.building:
            continue
        key = (row.grid.pk, row.building)
        if key in result.buildings:
            continue
        first = new_buildings.get(key)
        if first is not None:
            continue
        if row.road and row.road_number and row.point is not None:
            new_buildings[key] = row
    for row in rows:
        if row.grid is None or not row.building:
            continue
        key = (row.grid.pk, row.building)
        if key not in result.buildings and key not in new_buildings:
            bad(row, "building", _("unknown address: grid %(grid)s has no building %(number)s; to add it, give its "
                                   "road, road number, longitude and latitude")
                % {"grid": row.grid.code, "number": row.building})
    result.new_buildings = len(new_buildings)

    # Houses: (building, unit, room); count the ones the import would add.
    existing_rooms = set(House.objects.filter(building_id__in=set(result.buildings.values())).values_list(
        "building_id", "unit", "room"))
    new_rooms = set()
    for row in rows:
        if row.grid is None or not row.building or not row.room:
            continue
        building_id = result.buildings.get((row.grid.pk, row.building))
        if building_id is None or (building_id, row.unit, row.room) not in existing_rooms:
            new_rooms.add((row.grid.pk, row.building, row.unit, row.room))
    result.new_houses = len(new_rooms)

    # Duplicates: in the file, then in the database through the keyed hash.
    first_row: dict[str, int] = {}
    for row in rows:
        if not row.id_hash:
            continue
        if row.id_hash in first_row:
            bad(row, "id_number", _("duplicate: the same ID card number is on row %(row)d")
                % {"row": first_row[row.id_hash]})
        else:
            first_row[row.id_hash] = row.row
    hashes = list(first_row)
    scope = scope_for(user) if user is not None else None
    held: dict[str, tuple[int, str, str]] = {}
    for start in range(0, len(hashes), 10_000):
        held.update((h, (pk, name, path)) for h, pk, name, path in Resident.objects.filter(
            id_number_hash__in=hashes[start:start + 10_000]).values_list("id_number_hash", "id", "name", "area_path"))
    for row in rows:
        holder = held.get(row.id_hash)
        if holder is None:
            continue
        pk, name, path = holder
        if scope is None or scope.is_admin or any(path.startswith(p) for p in scope.see_paths):
            bad(row, "id_number", _("duplicate: already registered as %(name)s (resident %(id)d)")
                % {"name": name, "id": pk})
        else:
            bad(row, "id_number", _("duplicate: a resident with this ID card number is already registered "
                                    "outside your area"))

    # Households: one head each; the same number must stay in one house.
    keys = {(row.grid.pk, row.household) for row in rows if row.grid is not None and row.household}
    existing_households = set(Household.objects.filter(
        grid_id__in={g for g, _n in keys}, number__in={n for _g, n in keys}).values_list("grid_id", "number"))
    heads: dict[tuple[int, str], int] = {}
    homes: dict[tuple[int, str], tuple[ParsedRow, tuple[str, str, str]]] = {}
    for row in rows:
        if row.grid is None or not row.household:
            continue
        key = (row.grid.pk, row.household)
        if row.relation == RelationToHead.SELF:
            if key in heads:
                bad(row, "relation", _("household %(number)s already has its head on row %(row)d")
                    % {"number": row.household, "row": heads[key]})
            else:
                heads[key] = row.row
        home = (row.building, row.unit, row.room)
        if key in homes and homes[key][1] != home:
            bad(row, "household", _("household %(number)s lives in another room on row %(row)d")
                % {"number": row.household, "row": homes[key][0].row})
        homes.setdefault(key, (row, home))
    result.new_households = len(keys - existing_households)


# --- writing ------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    residents: int
    buildings: int
    houses: int
    households: int

    def as_dict(self) -> dict[str, int]:
        return {"residents": self.residents, "new_buildings": self.buildings, "new_houses": self.houses,
                "new_households": self.households}


def import_file(content: bytes, fmt: str, *, user=None, progress: Progress = _no_progress) -> ImportResult:
    """Check a file and, if it has no problems, write all its rows in one transaction.

    Raises ``ResidentImportError`` listing every problem, with nothing written, when the file is bad
    or the database refuses a row (for example a person registered by someone else since the check).
    """
    result = check_file(content, fmt, user=user, progress=progress)
    if not result.ok:
        raise ResidentImportError(result.problems)
    try:
        return _write(result, actor=user, progress=progress)
    except IntegrityError as exc:
        raise ResidentImportError([RowProblem(None, None, _(
            "the database refused the import, nothing was written (was one of these people registered in the "
            "meantime?): %(error)s") % {"error": str(exc).strip().splitlines()[0]})]) from exc


@transaction.atomic
def _write(result: CheckResult, *, actor, progress: Progress) -> ImportResult:
    rows = result.rows
    total = len(rows)
    buildings = dict(result.buildings)
    new_buildings: list[Building] = []
    for row in rows:
        key = (row.grid.pk, row.building)
        if key in buildings or not (row.road and row.road_number and row.point is not None):
            continue
        building = Building(number=row.building, road=row.road, road_number=row.road_number, compound=row.compound,
                            point=row.point, grid=row.grid, area_path=row.grid.path)
        building.address = compose_address(building)[:255]  # the same text create_building writes
        new_buildings.append(building)
        buildings[key] = -1  # placeholder until the insert gives the id
    Building.objects.bulk_create(new_buildings, batch_size=BULK_BATCH_SIZE)
    buildings.update({(b.grid_id, b.number): b.pk for b in new_buildings})

    houses: dict[tuple[int, str, str], House] = {
        (h.building_id, h.unit, h.room): h
        for h in House.objects.filter(building_id__in=set(buildings.values())).only(
            "id", "building_id", "unit", "room", "is_rental")
    }
    new_houses: list[House] = []
    rental_changes: list[House] = []
    for row in rows:
        key = (buildings[(row.grid.pk, row.building)], row.unit, row.room)
        house = houses.get(key)
        if house is None:
            house = House(building_id=key[0], unit=row.unit, room=row.room, floor=row.floor or 1,
                          is_rental=bool(row.rental), grid=row.grid, area_path=row.grid.path)
            houses[key] = house
            new_houses.append(house)
        elif row.rental is not None and house.pk and house.is_rental != row.rental:
            house.is_rental = row.rental  # the form is newer than the registry on this one flag
            rental_changes.append(house)
    House.objects.bulk_create(new_houses, batch_size=BULK_BATCH_SIZE)
    if rental_changes:
        House.objects.bulk_update(rental_changes, ["is_rental"], batch_size=BULK_BATCH_SIZE)

    household_keys = {(row.grid.pk, row.household) for row in rows if row.household}
    households: dict[tuple[int, str], Household] = {}
    for household in Household.objects.filter(grid_id__in={g for g, _n in household_keys},
                                              number__in={n for _g, n in household_keys}).order_by("pk"):
        households.setdefault((household.grid_id, household.number), household)
    new_households: list[Household] = []
    for row in rows:
        if not row.household:
            continue
        key = (row.grid.pk, row.household)
        if key not in households:
            house = houses[(buildings[(row.grid.pk, row.building)], row.unit, row.room)]
            registered = row.residence_kind == ResidenceKind.REGISTERED
            kind = HouseholdKind.REGISTERED if registered else HouseholdKind.FLOATING
            households[key] = Household(number=row.household, kind=kind, house=house, grid=row.grid,
                                        area_path=row.grid.path)
            new_households.append(households[key])
    Household.objects.bulk_create(new_households, batch_size=BULK_BATCH_SIZE)

    now = clock.now()
    today = timezone.localdate(now)
    reason = _("imported from a form")
    heads: dict[int, int] = {}  # household id -> the first head of household written for it
    # Residents and their moves go in a batch at a time, so memory holds one batch of model objects
    # (with their cipher texts), not 100,000 of them.
    for start in range(0, total, BULK_BATCH_SIZE):
        batch = []
        for row in rows[start:start + BULK_BATCH_SIZE]:
            resident = Resident(
                name=row.name, residence_kind=row.residence_kind, relation_to_head=row.relation,
                house=houses[(buildings[(row.grid.pk, row.building)], row.unit, row.room)],
                household=households.get((row.grid.pk, row.household)) if row.household else None,
                grid=row.grid, area_path=row.grid.path, moved_in_on=row.moved_in or today,
            )
            resident.set_id_number(row.id_number)  # encrypt, keyed hash, mask; birth date and sex from it
            resident.set_phone(row.phone)
            batch.append(resident)
        Resident.objects.bulk_create(batch)
        ResidentMove.objects.bulk_create([
            ResidentMove(resident=r, moved_on=r.moved_in_on, to_grid_id=r.grid_id, to_house_id=r.house_id,
                         to_household_id=r.household_id, residence_kind=r.residence_kind, reason=reason,
                         actor=actor, recorded_at=now)
            for r in batch
        ])
        for resident in batch:
            if resident.relation_to_head == RelationToHead.SELF and resident.household_id is not None:
                heads.setdefault(resident.household_id, resident.pk)
        progress(total + (start + len(batch)) // 2, total * 2)

    changed = []
    for household in households.values():
        if household.head_id is None and household.pk in heads:
            household.head_id = heads[household.pk]
            changed.append(household)
    if changed:
        Household.objects.bulk_update(changed, ["head"], batch_size=BULK_BATCH_SIZE)
    progress(total * 2, total * 2)
    return ImportResult(residents=total, buildings=len(new_buildings), houses=len(new_houses),
                        households=len(new_households))


# --- the template -------------------------------------------------------------------------------


def template_xlsx() -> bytes:
    """The form to fill in: one sheet with the header and one example row, and a sheet saying what each
    column takes. The ID and phone columns are text cells, so Excel keeps all 18 digits."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "居民"
    sheet.append([column.header for column in COLUMNS])
    example = {column.key: column.example for column in COLUMNS}
    example["id_number"] = pii.make_id_number("440604", dt.date(1990, 1, 1), 123, female=False)
    sheet.append([example[column.key] for column in COLUMNS])
    for index, column in enumerate(COLUMNS, 1):
        letter = get_column_letter(index)
        head = sheet.cell(row=1, column=index)
        head.font = Font(bold=True, color="B3261E" if column.required else "000000")
        head.fill = PatternFill("solid", fgColor="EEF1F5")
        sheet.column_dimensions[letter].width = max(10, len(column.header) * 2.4, len(example[column.key]) * 1.3)
        if column.key in ("id_number", "phone", "grid", "building", "room", "household", "unit"):
            # "@" (text) for the whole column, so numbers typed later keep their digits and leading zeros.
            sheet.column_dimensions[letter].number_format = "@"
            sheet.cell(row=2, column=index).number_format = "@"
    sheet.freeze_panes = "A2"

    notes = workbook.create_sheet("说明")
    notes.append(["列 column", "英文列名 English name", "必填 required", "说明 notes"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for column in COLUMNS:
        notes.append([column.header, column.key, "是 yes" if column.required else "", column.note])
    for letter, width in zip("ABCD", (16, 22, 12, 60), strict=True):
        notes.column_dimensions[letter].width = width
    workbook.properties.title = "GovGrid 居民导入模板"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


TEMPLATE_FILENAME = "residents-import-template.xlsx"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- jobs (large files) -------------------------------------------------------------------------


def job_key(job_id: str) -> str:
    return f"resident-import:{job_id}"


def get_job(job_id: str) -> dict[str, Any] | None:
    return cache.get(job_key(job_id))


def set_job(job_id: str, **changes: Any) -> dict[str, Any]:
    job = {**(get_job(job_id) or {}), **changes}
    cache.set(job_key(job_id), job, JOB_TIMEOUT)
    return job


def start_job(content: bytes, fmt: str, *, user, dry_run: bool, filename: str = "",
              language: str | None = None) -> dict[str, Any]:
    """Keep the file, record the job and send it to a worker. The job is marked failed (and the file
    removed) when the broker cannot be reached, so nobody polls forever."""
    job_id = uuid.uuid4().hex
    path = default_storage.save(f"imports/{job_id}.{fmt}", ContentFile(content))
    job = set_job(job_id, id=job_id, state="pending", progress=0, dry_run=dry_run, fmt=fmt, filename=filename,
                  user_id=user.pk if user is not None else None, file=path, summary={}, problems=[], error="")
    arguments = {"job_id": job_id, "language": language or translation.get_language()}
    try:
        if run_import_job.app.conf.task_always_eager:
            run_import_job.apply_async(kwargs=arguments)
            return get_job(job_id) or job
        with run_import_job.app.producer_or_acquire() as producer:
            producer.connection.ensure_connection(max_retries=0)
            run_import_job.apply_async(kwargs=arguments, retry=False, ignore_result=True, producer=producer)
    except Exception:
        logger.warning("could not enqueue resident import %s", job_id, exc_info=True)
        _remove_file(path)
        return set_job(job_id, state="failed", file="", error=_("The import could not be started; try again later."))
    return job


def _remove_file(path: str) -> None:
    if path and default_storage.exists(path):
        default_storage.delete(path)


# A form of 100,000 rows takes minutes on a busy machine: more than the project's default task limit.
JOB_TIME_LIMIT = 3600


@shared_task(acks_late=True, time_limit=JOB_TIME_LIMIT, soft_time_limit=JOB_TIME_LIMIT - 60)
def run_import_job(job_id: str, language: str | None = None) -> str:
    """Check (dry run) or import one stored file as the user who sent it; the result lands in the job.

    The user's scope is read again here. The stored file is removed however the job ends. A job runs
    once: a long import outlives the broker's visibility timeout, and Redis then hands the same message
    to another worker, which finds the job claimed (an atomic ``cache.add``) and leaves it.
    """
    job = get_job(job_id)
    if job is None or not cache.add(job_key(job_id) + ":claimed", True, JOB_TIMEOUT):
        return job_id
    user = None
    if job.get("user_id"):
        user = get_user_model().objects.filter(pk=job["user_id"], is_active=True).first()
        if user is None:
            _remove_file(job.get("file", ""))
            set_job(job_id, state="failed", file="", error="inactive user")
            return job_id
    with translation.override(language or settings.LANGUAGE_CODE):
        set_job(job_id, state="running", progress=1)

        def progress(done: int, total: int) -> None:
            set_job(job_id, progress=min(99, int(done * 100 / total)) if total else 1)

        try:
            with default_storage.open(job["file"], "rb") as stored:
                content = stored.read()
            if job.get("dry_run"):
                result = check_file(content, job["fmt"], user=user, progress=progress)
                set_job(job_id, state="done", progress=100, ok=result.ok, summary=result.summary(),
                        problems=[p.as_dict() for p in result.problems])
            else:
                try:
                    written = import_file(content, job["fmt"], user=user, progress=progress)
                except ResidentImportError as exc:
                    set_job(job_id, state="done", progress=100, ok=False, summary={"problems": len(exc.problems)},
                            problems=[p.as_dict() for p in exc.problems])
                else:
                    set_job(job_id, state="done", progress=100, ok=True, summary=written.as_dict(), problems=[])
        except Exception as exc:
            logger.exception("resident import %s failed", job_id)
            set_job(job_id, state="failed", error=str(exc)[:200])
            raise
        finally:
            _remove_file(job.get("file", ""))
            set_job(job_id, file="")
    return job_id


def problems_text(problems: Iterable[RowProblem]) -> list[str]:
    return [str(problem) for problem in problems]
