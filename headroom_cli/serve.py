"""Run the proxy under uvicorn with the effective settings."""

from __future__ import annotations

import os
from typing import Any


def serve(settings: Any, app: Any) -> None:
    """Serve `app` (built from `settings`); with several workers each builds its own from the environment."""
    import uvicorn

    common = dict(host=settings.host, port=settings.port, limit_concurrency=settings.limit_concurrency, log_level="warning")
    if settings.workers == 1:
        uvicorn.run(app, **common)
        return
    # Worker processes build their own app from the environment (headroom_proxy.server:app).
    os.environ.update(settings.to_env())
    uvicorn.run("headroom_proxy.server:app", workers=settings.workers, **common)
