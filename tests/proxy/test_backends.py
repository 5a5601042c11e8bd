"""--backend, --region, --bedrock-api-url as Settings (no CLI), and what each backend implies."""

from __future__ import annotations

import importlib.util

import pytest

from headroom_proxy import ENV_VARS, Settings, SettingsError, create_app
from headroom_proxy.backends import OPENROUTER_URL, upstream_bases
from headroom_proxy.routes import Provider

AWS = {"AWS_ACCESS_KEY_ID": "AKIDX", "AWS_SECRET_ACCESS_KEY": "SECRETX", "AWS_SESSION_TOKEN": "TOKENX"}


def test_env_names_are_the_seeds() -> None:
    assert ENV_VARS["backend"] == "HEADROOM_BACKEND"
    assert ENV_VARS["bedrock_api_url"] == "BEDROCK_TARGET_API_URL"
    assert ENV_VARS["region"] == "HEADROOM_REGION"
    assert ENV_VARS["gemini_api_url"] == "GEMINI_TARGET_API_URL"


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert (settings.backend, settings.region, settings.bedrock_api_url, settings.aws_credentials) == ("anthropic", "us-west-2", None, None)
    assert settings.bedrock_url == "https://bedrock-runtime.us-west-2.amazonaws.com"


def test_bedrock_settings_from_env() -> None:
    env = {"HEADROOM_BACKEND": "Bedrock", "HEADROOM_REGION": "eu-central-1", **AWS}
    settings = Settings.from_env(env)
    assert settings.backend == "bedrock"
    assert settings.bedrock_url == "https://bedrock-runtime.eu-central-1.amazonaws.com"
    assert settings.aws_credentials is not None and settings.aws_credentials.access_key_id == "AKIDX"
    assert Settings.from_env({**env, "BEDROCK_TARGET_API_URL": "http://gw.local"}).bedrock_url == "http://gw.local"
    create_app(settings)  # credentials present: starts


def test_credentials_stay_out_of_repr_and_worker_env() -> None:
    settings = Settings.from_env({"HEADROOM_BACKEND": "bedrock", **AWS})
    rendered = repr(settings) + repr(settings.to_env())
    assert "SECRETX" not in rendered and "TOKENX" not in rendered
    assert settings.to_env()["HEADROOM_BACKEND"] == "bedrock"
    assert Settings.from_env({**settings.to_env(), **AWS}) == settings


@pytest.mark.parametrize("value", ["azure", "litellm", "litellm-", ""])
def test_unknown_backend_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="HEADROOM_BACKEND"):
        Settings.from_env({"HEADROOM_BACKEND": value})


@pytest.mark.parametrize(("backend", "package"), [("litellm-bedrock", "litellm"), ("anyllm", "any-llm-sdk")])
def test_library_backends_name_their_package(backend: str, package: str) -> None:
    module = "litellm" if package == "litellm" else "any_llm"
    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed here")
    with pytest.raises(SettingsError, match=f"pip install {package}"):
        create_app(Settings.from_env({"HEADROOM_BACKEND": backend}))


def test_openrouter_replaces_only_default_targets() -> None:
    bases = upstream_bases(Settings(backend="openrouter"))
    assert bases[Provider.ANTHROPIC] == bases[Provider.OPENAI] == OPENROUTER_URL
    mine = upstream_bases(Settings(backend="openrouter", openai_api_url="http://127.0.0.1:1/v1"))
    assert mine[Provider.OPENAI] == "http://127.0.0.1:1/v1" and mine[Provider.ANTHROPIC] == OPENROUTER_URL
    assert upstream_bases(Settings())[Provider.ANTHROPIC] == "https://api.anthropic.com"
