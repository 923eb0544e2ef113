"""Reading a JSON body: bounded in size while it streams in, and in depth, for every endpoint that takes JSON.

    body = await read_json(request)                      # the portal's limits (settings)
    body = await read_json(request, max_bytes=8 << 20)   # a route that takes images in base64

Raises `JsonBodyError` (a `ValueError`) with a French `message` and a `reason` (`too_large`,
`bad_json`, `too_deep`); each API answers it in its own error format, always with status 400
(413 for `too_large`).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from bouquet.web.limits import human_size

DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_MAX_DEPTH = 32


class JsonBodyError(ValueError):
    """A JSON body refused: `reason` for programs, `message` for people, `status` for HTTP."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message

    @property
    def status(self) -> int:
        return 413 if self.reason == "too_large" else 400


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, read chunk by chunk and refused (`JsonBodyError("too_large")`) past `max_bytes`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, *, max_bytes: int | None = None, max_depth: int | None = None,
                    empty: Any = None) -> Any:
    """The body parsed as JSON (`empty` for an empty body), within the size and depth limits."""
    settings = getattr(request.app.state, "settings", None)
    if max_bytes is None:
        max_bytes = settings.max_body_bytes if settings is not None else DEFAULT_MAX_BYTES
    if max_depth is None:
        max_depth = settings.max_json_depth if settings is not None else DEFAULT_MAX_DEPTH
    raw = await read_body(request, max_bytes)
    if not raw.strip():
        return empty
    return parse_json(raw, max_depth=max_depth)


def parse_json(raw: bytes | str, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """`raw` parsed as JSON, refused (`JsonBodyError`) when it is not JSON or nests deeper than `max_depth`."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except (ValueError, UnicodeDecodeError):
        raise JsonBodyError("bad_json", "Le corps de la requête n'est pas un JSON valide.") from None
    if depth_exceeds(value, max_depth):
        raise _too_deep(max_depth)
    return value


def depth_exceeds(value: Any, max_depth: int) -> bool:
    """Whether arrays and objects nest deeper than `max_depth` in `value` (without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _too_large(max_bytes: int) -> JsonBodyError:
    return JsonBodyError("too_large", f"Le corps de la requête dépasse la taille autorisée ({human_size(max_bytes)}).")


def _too_deep(max_depth: int) -> JsonBodyError:
    return JsonBodyError("too_deep", f"Le JSON envoyé est trop imbriqué (au plus {max_depth} niveaux de tableaux et d'objets).")
