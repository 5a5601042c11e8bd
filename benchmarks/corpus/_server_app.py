"""A tiny orders service (plain ASGI) that the corpus runs under uvicorn to capture a real log.

Its data is synthetic with a fixed seed; one order lacks its currency, so fetching it raises and
uvicorn logs a 500 with a traceback among hundreds of ordinary requests.
"""

from __future__ import annotations

import json
import logging
import random
import sys

logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)-9s %(name)s: %(message)s")
log = logging.getLogger("orders")


def _orders() -> dict[int, dict]:
    rng = random.Random(7)
    statuses = ["paid"] * 90 + ["refunded"] * 6 + ["pending"] * 4
    out = {}
    for i in range(1000, 1400):
        out[i] = {
            "id": f"ord_{i:05d}",
            "customer": f"cus_{rng.randrange(100, 999)}",
            "status": rng.choice(statuses),
            "amount_cents": rng.randrange(500, 50000),
            "currency": "EUR",
            "items": rng.randrange(1, 6),
            "created_at": f"2025-03-14T{8 + (i - 1000) // 60:02d}:{(i - 1000) % 60:02d}:00Z",
            "error": None,
        }
    out[1187].update(status="failed", error="card_declined: insufficient_funds (issuer 05)")
    out[4242] = {"id": "ord_04242", "customer": "cus_314", "status": "paid", "amount_cents": 1999, "items": 1}
    return out


ORDERS = _orders()


def _total(order: dict) -> str:
    return f"{order['amount_cents'] / 100:.2f} {order['currency']}"


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    path, query = scope["path"], scope.get("query_string", b"").decode()
    status, body = 200, {}
    if path == "/healthz":
        body = {"ok": True}
    elif path == "/api/orders":
        limit = int(query.partition("limit=")[2] or 50)
        body = [o for _, o in sorted(ORDERS.items()) if _ < 4000][:limit]
        log.info("listed %d orders", len(body))
    elif path.startswith("/api/orders/"):
        key = int(path.rsplit("/", 1)[1])
        order = ORDERS.get(key)
        if order is None:
            status, body = 404, {"error": "not found"}
            log.warning("order %s not found", key)
        else:
            body = {**order, "total": _total(order)}
            log.info("order %s loaded (%d items, %s)", order["id"], order["items"], body["total"])
    elif path.startswith("/api/customers/"):
        body = {"id": f"cus_{path.rsplit('/', 1)[1]}", "orders": 3}
        log.info("customer %s loaded", body["id"])
    else:
        body = "console.log('app');"
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": data})
