"""The API documentation page: Swagger UI served from the package, no CDN.

Stage: serve. FastAPI's default docs page loads Swagger UI from a CDN; here the same
assets come from the ``fastapi-offline`` package and the page is behind the token like
everything else. The page has no inline script (its start-up script is a file of its
own), so the docs' Content-Security-Policy allows scripts from this server only.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["DOCS_ASSETS", "DOCS_HTML", "DOCS_INIT_JS", "asset_path"]

DOCS_HTML = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>predscore API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" href="/docs/assets/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>
"""

DOCS_INIT_JS = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: false,
  });
});
"""

#: Asset name → media type of the files served under ``/docs/assets/``.
DOCS_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}


def asset_path(name: str) -> Path:
    """Path of a Swagger UI asset shipped by ``fastapi-offline``."""
    return Path(str(resources.files("fastapi_offline").joinpath("static", name)))
