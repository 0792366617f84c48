"""The dispute ledger (矛盾纠纷台账) as XLSX: one row per dispute in the reader's scope.

Parties appear by name and role only (never an ID or phone number); text from people is quoted so a
spreadsheet does not run it as a formula (parties.exports.safe_text).
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from django.utils import timezone
from django.utils.translation import gettext as _

from cases.disputes import DisputeDetails
from parties.exports import safe_text


def ledger_columns() -> list[str]:
    return [_("Case number"), _("Category"), _("Dispute type"), _("Grid"), _("Resolution centre"), _("Source"),
            _("Registered at"), _("Parties"), _("People involved"), _("Amount at stake (yuan)"), _("Risk level"),
            _("Why the risk was raised"), _("Leader in charge"), _("Stage"), _("Sessions"), _("Agreement"),
            _("Judicial confirmation"), _("Resolved at"), _("Case status")]


def _local(moment):
    return timezone.localtime(moment).replace(tzinfo=None) if moment else None


def ledger_rows(disputes: Iterable[DisputeDetails]):
    from cases.disputes import RiskReason

    reasons = dict(RiskReason.choices)
    for row in disputes:
        case = row.case
        parties = "; ".join(f"{p.get_role_display()}: {p.party.name}" for p in case.dispute_parties.all())
        agreement = getattr(case, "agreement", None)
        confirmation = ""
        if agreement is not None:
            confirmation = (_("granted %(day)s") % {"day": agreement.confirmation_granted_on}
                            if agreement.confirmation_granted_on else
                            _("requested %(day)s") % {"day": agreement.confirmation_requested_on}
                            if agreement.confirmation_requested_on else "")
        yield [
            case.number, case.category.display_name, row.get_dispute_type_display(), case.grid.name,
            row.centre.name, row.get_source_display(), _local(row.opened_at), safe_text(parties),
            row.people_involved, float(row.amount) if row.amount is not None else None,
            row.get_risk_level_display(), ", ".join(str(reasons.get(r, r)) for r in row.risk_reasons),
            (row.leader.get_full_name() or row.leader.username) if row.leader else "", row.get_stage_display(),
            getattr(row, "session_count", None),
            safe_text(agreement.terms[:200]) if agreement else "", confirmation, _local(row.resolved_at),
            case.get_status_display(),
        ]


def ledger_workbook(disputes: Iterable[DisputeDetails]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Dispute ledger")[:31])
    sheet.freeze_panes = "A2"
    heads = []
    for label in ledger_columns():
        cell = WriteOnlyCell(sheet, value=label)
        cell.font = Font(bold=True)
        heads.append(cell)
    sheet.append(heads)
    for values in ledger_rows(disputes):
        sheet.append([str(v) if hasattr(v, "_proxy____cast") else v for v in values])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
