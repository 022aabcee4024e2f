"""The cabinet's own static files (styles, script, icons, vendored htmx), served from the package:
nothing comes from a CDN."""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi.responses import FileResponse, Response

from amanah.api.routing import Router
from amanah.core import limits

STATIC_DIR = (Path(__file__).parent.parent / "static").resolve()
_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
CACHE_S = 3600

router = Router(include_in_schema=False)


def _found(name: str) -> Path | None:
    """The file under ``STATIC_DIR`` that ``name`` names, or None: any name the file system refuses
    (too long, a NUL, a loop, not a directory, ...) is simply not one of our files, never a 500."""
    if len(name) > limits.STATIC_PATH_LENGTH_MAX or "\x00" in name:
        return None
    try:
        path = (STATIC_DIR / name).resolve()
        if not path.is_relative_to(STATIC_DIR) or path.suffix not in _TYPES or not path.is_file():
            return None
    except (OSError, ValueError, RuntimeError):  # ENAMETOOLONG, ELOOP, embedded NUL, symlink loops
        return None
    return path


@router.get("/static/{name:path}")
def static_file(name: str) -> Response:
    path = _found(name)
    if path is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    media_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": f"public, max-age={CACHE_S}",
                                                              "X-Content-Type-Options": "nosniff"})
