"""Run the proxy under uvicorn with the effective settings."""

from __future__ import annotations

import os
from typing import Any


def serve(settings: Any) -> None:
    import uvicorn

    from headroom_proxy import create_app

    common = dict(host=settings.host, port=settings.port, limit_concurrency=settings.limit_concurrency, log_level="warning")
    if settings.workers == 1:
        uvicorn.run(create_app(settings), **common)
        return
    # Worker processes build their own app from the environment (headroom_proxy.server:app).
    os.environ.update(settings.to_env())
    uvicorn.run("headroom_proxy.server:app", workers=settings.workers, **common)
