"""Probes: `/livez` (the process answers), `/readyz` (ready to forward; never calls a provider),
`/health` (status, version, mode and the counters so far), and `HEAD /` / `GET /`, which Claude
Code sends before anything else."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from headroom_core import __version__

from .settings import Settings
from .stats import Stats

SERVICE = "headroom-proxy"


@dataclass(slots=True)
class Readiness:
    """True until shutdown begins (then load balancers stop sending new requests)."""

    is_ready: bool = True


class Health:
    def __init__(self, settings: Settings, stats: Stats, readiness: Readiness) -> None:
        self.stats = stats
        self.readiness = readiness
        self.mode = settings.config.mode.value
        self.optimize = settings.optimize
        self.stateless = settings.stateless

    async def root(self, request: Request) -> Response:
        if request.method == "HEAD":
            return Response(status_code=200)
        return JSONResponse({"service": SERVICE, "status": "ok", "version": __version__})

    async def livez(self, request: Request) -> Response:
        return JSONResponse({"service": SERVICE, "alive": True, "version": __version__})

    async def readyz(self, request: Request) -> Response:
        ready = self.readiness.is_ready
        return JSONResponse({"service": SERVICE, "ready": ready, "version": __version__}, 200 if ready else 503)

    async def health(self, request: Request) -> Response:
        counters = self.stats.snapshot()
        return JSONResponse(
            {
                "service": SERVICE,
                "status": "healthy" if self.readiness.is_ready else "stopping",
                "version": __version__,
                "mode": self.mode,
                "optimize": self.optimize,
                "stateless": self.stateless,
                "uptime_seconds": round(self.stats.uptime_s, 3),
                "requests": counters["requests"],
                "tokens_saved": counters["tokens_saved"],
                "stats": counters,
            }
        )
