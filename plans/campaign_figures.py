"""Figures of campaigns (创无 10+N, 平安细胞): each entry's standing on a day, counts per campaign,
the table and map of what is certified where, and each lead unit's certification rate for the unit
evaluation (三考合一).

A certification is valid on day D when ``certified_on ≤ D ≤ valid_until`` and it was not revoked on
or before D; an entry counts on D when it had entered by D and was not withdrawn by D.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from govgrid import clock
from grids.models import Area
from plans.access import unit_key_of
from plans.choices import EntryStatus
from plans.models import Campaign, CampaignEntry, Certification, Inspection

ONE_PLACE = Decimal("0.1")


def today() -> date:
    return timezone.localdate(clock.now())


def valid_certification_q(on: date, prefix: str = "") -> Q:
    """Certifications valid on ``on`` (``prefix`` reaches them from another model, e.g. ``certifications__``)."""
    return Q(**{f"{prefix}certified_on__lte": on, f"{prefix}valid_until__gte": on}) & (
        Q(**{f"{prefix}revoked_on__isnull": True}) | Q(**{f"{prefix}revoked_on__gt": on}))


def counting_q(on: date, prefix: str = "") -> Q:
    """Entries that count on ``on``: entered by then and not withdrawn by then."""
    return Q(**{f"{prefix}entered_on__lte": on}) & (
        Q(**{f"{prefix}withdrawn_on__isnull": True}) | Q(**{f"{prefix}withdrawn_on__gt": on}))


def with_validity(entries: QuerySet[CampaignEntry], on: date) -> QuerySet[CampaignEntry]:
    """``entries`` annotated with ``is_certified`` (a certification valid on ``on``)."""
    valid = Certification.objects.filter(valid_certification_q(on), entry=OuterRef("pk"))
    return entries.annotate(is_certified=Exists(valid))


def percent(part: int, whole: int) -> Decimal:
    if not whole:
        return Decimal("0.0")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def unit_campaign_rates(area: Area, on: date) -> dict[str, Decimal]:
    """Per lead unit (``department:<id>`` / ``centre:<id>``) of a campaign on ``area`` or below: the
    percent (0–100, one decimal place, half up) of its campaigns' entries counting on ``on`` that hold
    a certification valid on ``on``. Units with no such entries are absent. Two queries."""
    campaigns = Campaign.objects.filter(area_path__startswith=area.path)
    entries = with_validity(CampaignEntry.objects.filter(counting_q(on), campaign__in=campaigns), on)
    rows = (entries.values("campaign__lead_department_id", "campaign__lead_centre_id")
            .annotate(total=Count("pk"), certified=Count("pk", filter=Q(is_certified=True))))
    rates: dict[str, Decimal] = {}
    for row in rows:
        if row["campaign__lead_department_id"]:
            key = f"department:{row['campaign__lead_department_id']}"
        else:
            key = f"centre:{row['campaign__lead_centre_id']}"
        rates[key] = percent(row["certified"], row["total"])
    return rates


@dataclass
class CampaignCounts:
    entries: int = 0
    certified: int = 0
    revoked: int = 0

    @property
    def percent_certified(self) -> Decimal:
        return percent(self.certified, self.entries)


def campaign_counts(campaigns: QuerySet[Campaign], on: date | None = None,
                    entries: QuerySet[CampaignEntry] | None = None) -> dict[int, CampaignCounts]:
    """Per campaign id: entries counting on ``on``, those certified on ``on``, and those whose latest
    certification was revoked (by ``on``). ``entries`` narrows what is counted (a user's scope)."""
    on = on or today()
    entries = CampaignEntry.objects.all() if entries is None else entries
    revoked = Certification.objects.filter(entry=OuterRef("pk"), revoked_on__lte=on)
    rows = (with_validity(entries.filter(counting_q(on), campaign__in=campaigns), on)
            .annotate(has_revoked=Exists(revoked))
            .values("campaign_id")
            .annotate(total=Count("pk"), certified=Count("pk", filter=Q(is_certified=True)),
                      revoked=Count("pk", filter=Q(has_revoked=True, is_certified=False))))
    return {row["campaign_id"]: CampaignCounts(row["total"], row["certified"], row["revoked"]) for row in rows}


def lead_unit_key(campaign: Campaign) -> str:
    return unit_key_of(campaign.lead_unit)


def _after_end(inspection: Inspection, certification: Certification) -> bool:
    """Whether ``inspection`` came after ``certification`` ended (its revocation, or its last day)."""
    if certification.revoked_at is not None:
        return inspection.at > certification.revoked_at
    return timezone.localdate(inspection.at) > certification.valid_until


def entry_status(entry: CampaignEntry, on: date | None = None, *, certifications=None,
                 inspections=None) -> str:
    """The entry's standing on ``on``: withdrawn, certified, or else what its latest certification or
    inspection says (revoked, expired, failed, inspected), or entered."""
    on = on or today()
    if entry.withdrawn_on and entry.withdrawn_on <= on:
        return EntryStatus.WITHDRAWN
    certifications = list(entry.certifications.all() if certifications is None else certifications)
    inspections = list(entry.inspections.all() if inspections is None else inspections)
    certifications = [c for c in certifications if c.certified_on <= on]
    if any(c.is_valid_on(on) for c in certifications):
        return EntryStatus.CERTIFIED
    latest_cert = max(certifications, key=lambda c: (c.certified_on, c.pk), default=None)
    inspections = [i for i in inspections if timezone.localdate(i.at) <= on]
    latest_inspection = max(inspections, key=lambda i: (i.at, i.pk), default=None)
    if latest_inspection is not None and (latest_cert is None or _after_end(latest_inspection, latest_cert)):
        return EntryStatus.INSPECTED if latest_inspection.passed else EntryStatus.FAILED
    if latest_cert is not None:
        return EntryStatus.REVOKED if latest_cert.revoked_on is not None else EntryStatus.EXPIRED
    return EntryStatus.ENTERED


@dataclass
class EntryRow:
    entry: CampaignEntry
    status: str
    valid_until: date | None
    last_inspection: Inspection | None


def entry_rows(entries: QuerySet[CampaignEntry], on: date | None = None) -> list[EntryRow]:
    """The table of entries: each with its status, the end of its current (or latest) certification
    and its last inspection. Three queries."""
    on = on or today()
    entries = list(entries.select_related("area", "organisation", "organisation__grid")
                   .prefetch_related("certifications", "inspections"))
    rows = []
    for entry in entries:
        certifications = list(entry.certifications.all())
        inspections = list(entry.inspections.all())
        status = entry_status(entry, on, certifications=certifications, inspections=inspections)
        current = [c for c in certifications if c.certified_on <= on]
        latest = max(current, key=lambda c: (c.certified_on, c.pk), default=None)
        last = max(inspections, key=lambda i: (i.at, i.pk), default=None)
        rows.append(EntryRow(entry, status, latest.valid_until if latest else None, last))
    return rows


def certified_where(campaigns: QuerySet[Campaign], on: date | None = None,
                    entries: QuerySet[CampaignEntry] | None = None) -> list[dict]:
    """What is certified where on ``on``: one row per entry counting then, with its campaign, type,
    subject, area path and whether it holds a valid certification (the table and the map)."""
    on = on or today()
    entries = CampaignEntry.objects.all() if entries is None else entries
    rows = (with_validity(entries.filter(counting_q(on), campaign__in=campaigns), on)
            .values("pk", "campaign_id", "campaign__title", "campaign__type__code", "area_id", "area__name",
                    "organisation_id", "organisation__name", "area_path", "is_certified")
            .order_by("campaign_id", "area_path", "pk"))
    return [{"entry": r["pk"], "campaign": r["campaign_id"], "campaign_title": r["campaign__title"],
             "type": r["campaign__type__code"], "area": r["area_id"], "organisation": r["organisation_id"],
             "name": r["area__name"] or r["organisation__name"], "area_path": r["area_path"],
             "certified": r["is_certified"]} for r in rows]
