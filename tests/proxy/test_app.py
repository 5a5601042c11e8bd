from __future__ import annotations

import subprocess
import sys

import headroom_proxy


def test_public_api() -> None:
    assert headroom_proxy.__all__ == ["ENV_VARS", "Settings", "SettingsError", "create_app", "render_error"]


def test_server_module_builds_the_app_from_the_environment() -> None:
    code = "from headroom_proxy.server import app; print(app.state.settings.openai_api_url)"
    env = {"OPENAI_TARGET_API_URL": "http://127.0.0.1:9/v1", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "http://127.0.0.1:9/v1"
