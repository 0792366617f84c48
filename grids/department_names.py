"""English names of the seeded departments (grids.seed): the place's name, then the department in English.

Place names stay as they are (Chinese); a suffix not listed here gives no English name, and the page
shows the Chinese one.
"""

from __future__ import annotations

# The Chinese suffix of a seeded department's name → its English name.
ENGLISH_SUFFIXES: dict[str, str] = {
    # City, district and county bureaux (grids.seed.UPPER_DEPARTMENTS).
    "城管局": "Urban Management Bureau",
    "公安局": "Public Security Bureau",
    "公安分局": "Public Security Sub-bureau",
    "市场监管局": "Market Regulation Bureau",
    "司法局": "Justice Bureau",
    "住建局": "Housing and Construction Bureau",
    "生态环境局": "Ecology and Environment Bureau",
    "生态环境分局": "Ecology and Environment Sub-bureau",
    "信访局": "Letters and Visits Bureau",
    "应急管理局": "Emergency Management Bureau",
    "水务局": "Water Affairs Bureau",
    "交通运输局": "Transport Bureau",
    "卫健局": "Health Commission",
    "民政局": "Civil Affairs Bureau",
    "消防救援支队": "Fire and Rescue Detachment",
    "消防救援大队": "Fire and Rescue Brigade",
    # A town's or street's offices (grids.seed.TOWN_CORE_DEPARTMENTS, TOWN_EXTRA_DEPARTMENTS).
    "城管中队": "Urban Management Squad",
    "派出所": "Police Station",
    "市场监管所": "Market Regulation Office",
    "司法所": "Justice Office",
    "应急办": "Emergency Management Office",
    "社区卫生服务中心": "Community Health Centre",
    "卫生院": "Township Health Centre",
    "民政办": "Civil Affairs Office",
    "规划建设办": "Planning and Construction Office",
    "环保办": "Environmental Protection Office",
    "水务所": "Water Affairs Station",
    "信访办": "Letters and Visits Office",
    "专职消防队": "Full-time Fire Brigade",
}


def english_name(place: str, name: str) -> str:
    """``东湖街道城管中队`` at ``东湖街道`` → ``东湖街道 Urban Management Squad``; "" when unknown."""
    suffix = name.removeprefix(place)
    english = ENGLISH_SUFFIXES.get(suffix)
    return f"{place} {english}" if english and suffix != name else ""
