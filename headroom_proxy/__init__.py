"""headroom_proxy: a local HTTP proxy that puts headroom_core between any client and its provider."""

from .app import create_app
from .errors import render_error
from .settings import ENV_VARS, Settings, SettingsError

__all__ = ["ENV_VARS", "Settings", "SettingsError", "create_app", "render_error"]
