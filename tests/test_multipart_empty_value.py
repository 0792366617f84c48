"""An empty field written the way Werkzeug writes it (no line break for the empty value) is an absent
field, not a garbled form; a part that has no name still is."""

from __future__ import annotations

import io

import pytest
from django.test import RequestFactory

from govgrid.parsers import BadMultipart, StrictMultiPartParser

BOUNDARY = "-----------------WerkzeugFormPart_1796322156.27446150.8444218515250481"


def _parse(body: bytes):
    media_type = f"multipart/form-data; boundary={BOUNDARY}"
    request = RequestFactory().post("/x", data=body, content_type=media_type)
    return StrictMultiPartParser().parse(io.BytesIO(body), media_type, {"request": request})


def _part(headers: str, value: str | None) -> str:
    return f"--{BOUNDARY}\r\n{headers}\r\n\r\n" + ("" if value is None else f"{value}\r\n")


def test_an_empty_value_without_its_line_break_is_an_absent_field():
    body = (_part('Content-Disposition: form-data; name="note"', None)
            + _part('Content-Disposition: form-data; name="resident"', "255") + f"--{BOUNDARY}--\r\n").encode()
    assert dict(_parse(body).data.lists()) == {"resident": ["255"]}


def test_an_empty_value_with_its_line_break_is_kept():
    body = (_part('Content-Disposition: form-data; name="note"', "")
            + _part('Content-Disposition: form-data; name="resident"', "255") + f"--{BOUNDARY}--\r\n").encode()
    assert dict(_parse(body).data.lists()) == {"note": [""], "resident": ["255"]}


def test_a_part_without_a_name_is_still_refused():
    body = (_part("Content-Disposition: form-data", "x")
            + _part('Content-Disposition: form-data; name="resident"', "255") + f"--{BOUNDARY}--\r\n").encode()
    with pytest.raises(BadMultipart):
        _parse(body)
