"""Request bodies read within bounds: what a client sends is read only up to a limit, so a
huge upload costs no more than the limit to refuse."""
from __future__ import annotations

from fastapi import Request


async def at_most(request: Request, limit: int) -> bytes:
    """The body, read no further than `limit` + 1 bytes (more than `limit` means too large)."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            break
    return bytes(data)
