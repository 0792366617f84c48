"""ASGI entry points.

``live_application`` is what the ``live`` process serves (Procfile: uvicorn): the live event stream
(reports.live.stream) and nothing else, so that long-lived server-sent-event connections never take a
gunicorn sync worker, and the pages keep being served the way they were (bench/intake.py unchanged).
A proxy in front routes ``/live/`` to it (README, Architecture). ``application`` is the whole site.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govgrid.settings")
application = get_asgi_application()

LIVE_PREFIX = "/live/"


async def live_application(scope, receive, send):
    if scope["type"] == "http" and not scope.get("path", "").startswith(LIVE_PREFIX):
        await send({"type": "http.response.start", "status": 404,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
        await send({"type": "http.response.body", "body": b"Only the live stream is served here."})
        return
    if scope["type"] == "lifespan":
        # Django has no lifespan events; say so, as uvicorn expects, without starting anything.
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
        if message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
        return
    await application(scope, receive, send)
