"""The floor: a bare Django view that authenticates a DRF token and inserts one row.

It pays what every authenticated write pays on this server (WSGI, the middleware stack, one token
look-up with its user, JSON parsing, one INSERT in autocommit, a small JSON answer) and nothing that
is GovGrid's own, so intake time / floor time is the app's overhead.
"""

from __future__ import annotations

import json

from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from bench.floor.models import FloorRow


@csrf_exempt
@require_POST
def insert_one(request):
    # The same query rest_framework.authentication.TokenAuthentication makes.
    header = request.headers.get("Authorization", "")
    keyword, _, key = header.partition(" ")
    if keyword != "Token" or not key:
        return JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)
    try:
        token = Token.objects.select_related("user").get(key=key)
    except Token.DoesNotExist:
        return JsonResponse({"detail": "Invalid token."}, status=401)
    if not token.user.is_active:
        return JsonResponse({"detail": "User inactive or deleted."}, status=401)
    try:
        data = json.loads(request.body)
    except ValueError:
        return JsonResponse({"detail": "Send JSON."}, status=400)
    row = FloorRow.objects.create(
        author=token.user, created_at=timezone.now(), client_uuid=data.get("client_uuid"),
        description=str(data.get("description", ""))[:1000],
    )
    return JsonResponse({"id": row.pk, "created_at": row.created_at.isoformat()}, status=201)
