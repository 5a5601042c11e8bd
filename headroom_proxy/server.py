"""The deployment entry point: `gunicorn -k uvicorn_worker.UvicornWorker headroom_proxy.server:app`.

The app is built from the environment (`HEADROOM_*`, `*_TARGET_API_URL`) when this module loads.
"""

from __future__ import annotations

from .app import create_app
from .settings import Settings

app = create_app(Settings.from_env())
