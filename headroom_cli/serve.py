"""Run the proxy under uvicorn with the effective settings."""

from __future__ import annotations

import os
from typing import Any


def serve(settings: Any, app: Any) -> None:
    """Serve `app` (built from `settings`); with several workers each builds its own from the environment."""
    import uvicorn

    # At log level warning uvicorn's access lines (INFO) never print, but it still formats each one's
    # path and client address unless the access log is off.
    common = dict(host=settings.host, port=settings.port, limit_concurrency=settings.limit_concurrency, log_level="warning", access_log=False)
    if settings.workers == 1:
        uvicorn.run(app, **common)
        return
    # Worker processes build their own app from the environment (headroom_proxy.server:app).
    os.environ.update(settings.to_env())
    uvicorn.run("headroom_proxy.server:app", workers=settings.workers, **common)
