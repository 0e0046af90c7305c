"""How static files are stored when collected for production."""

from __future__ import annotations

# whitenoise ships no type information.
from whitenoise.storage import CompressedManifestStaticFilesStorage  # type: ignore[import-untyped]


class ManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):  # type: ignore[misc]
    """Whitenoise's compressed, hashed files, with the pages' ES modules importing each other
    by hashed name: a page's module changes name whenever a module it imports changes, so a
    browser never pairs a cached module with a newer one it imports."""

    support_js_module_import_aggregation = True
