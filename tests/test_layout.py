"""The package layout rules of STYLE.md section 1: public APIs are pinned, imports only point down."""

from __future__ import annotations

import subprocess
import sys

import headroom_core


def _modules_loaded_by(statement: str) -> set[str]:
    out = subprocess.check_output([sys.executable, "-c", f"{statement}; import sys; print(*sys.modules)"], text=True)
    return {name.split(".")[0] for name in out.split()}


def test_core_imports_neither_proxy_cli_nor_their_dependencies() -> None:
    loaded = _modules_loaded_by("import headroom_core")
    assert not {"headroom_proxy", "headroom_cli", "httpx", "starlette", "rich", "click", "msgspec", "aiohttp"} & loaded


def test_core_loads_no_tokenizer_at_import() -> None:
    assert "tiktoken" not in _modules_loaded_by("import headroom_core")


def test_core_public_api_is_pinned() -> None:
    assert sorted(headroom_core.__all__) == sorted(
        [
            "MARKER_PATTERN",
            "RETRIEVE_TOOL_NAME",
            "Action",
            "Config",
            "Decision",
            "HeadroomError",
            "InvalidRequest",
            "Kind",
            "Mode",
            "Result",
            "RetrievalError",
            "Source",
            "UnknownWire",
            "Wire",
            "__version__",
            "compress",
            "compress_request",
            "count_tokens",
            "detect_wire",
            "encoding_for_model",
            "retrieval_id",
            "retrieve",
            "retrieve_tool",
        ]
    )
    for name in headroom_core.__all__:
        assert hasattr(headroom_core, name)
