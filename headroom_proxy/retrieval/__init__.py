"""The retrieve tool and the loop that answers it inside the proxy (issue 6): `Retrieval`, with one
module per wire format for the shapes of requests, responses and streams."""

from .loop import Retrieval, has_marker

__all__ = ["Retrieval", "has_marker"]
