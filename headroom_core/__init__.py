"""headroom_core: make LLM requests smaller without changing what the model can know. Pure functions."""

from .api import compress, compress_request, detect_wire
from .config import Config, Mode, Wire
from .errors import HeadroomError, InvalidRequest, UnknownWire
from .markers import MARKER_PATTERN, RETRIEVE_TOOL_NAME, retrieval_id
from .result import Action, Decision, Kind, Result, Source
from .retrieval import RetrievalError, retrieve, retrieve_tool
from .tokens import count_tokens, encoding_for_model

__version__ = "0.1.0"

__all__ = [
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
