"""What an operator's load balancer and monitoring ask: /healthz (the process answers),
/readyz (and the stores it needs answer, naming those that do not) and /metrics (Prometheus)."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from catalogue.services import Services
from catalogue.site.metrics import Metrics


def operation_routes(services: Services, metrics: Metrics) -> APIRouter:
    app = APIRouter(include_in_schema=False)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Alive: answered without touching any store (a restart is what helps otherwise)."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> JSONResponse:
        """Ready for traffic: every store answers; 503 names each that does not, and why. A
        follower tells the generation it serves and the one it is catching up with."""
        checks = services.readiness()
        down = {name: why for name, why in checks.items() if why}
        body = {"status": "not ready" if down else "ready", "down": down,
                "checks": {name: "down" if why else "up" for name, why in checks.items()}}
        if (follower := services.follower) is not None and not down:
            body["follower"] = follower.status()
        return JSONResponse(body, status_code=503 if down else 200, headers={"Cache-Control": "no-store"})

    @app.get("/metrics")
    def prometheus() -> Response:
        body, media_type = metrics.exposition()
        return Response(body, media_type=media_type, headers={"Cache-Control": "no-store"})

    return app
