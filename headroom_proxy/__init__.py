"""headroom_proxy: a local HTTP proxy that puts headroom_core between any client and its provider."""

from .settings import ENV_VARS, Settings, SettingsError

__all__ = ["ENV_VARS", "Settings", "SettingsError"]
