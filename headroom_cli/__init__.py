"""headroom_cli: the `headroom` command. Holds no logic the proxy or the core should own."""

from .main import main

__all__ = ["main"]
