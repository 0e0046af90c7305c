"""Collected for production, the pages' ES modules import each other by hashed name, so a
cached module is never paired with a newer one it imports (core/staticfiles.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.core.management import call_command
from django.test import override_settings

from esanjeevani import settings as production

PRODUCTION_STORAGES = {
    **production.STORAGES,
    "staticfiles": {"BACKEND": "core.staticfiles.ManifestStaticFilesStorage"},
}
ONLY_THE_PROJECT = ["django.contrib.staticfiles.finders.FileSystemFinder"]


def collected(root: Path) -> tuple[dict[str, str], Path]:
    with override_settings(
        STATIC_ROOT=root, STORAGES=PRODUCTION_STORAGES, STATICFILES_FINDERS=ONLY_THE_PROJECT
    ):
        call_command("collectstatic", "--no-input", "-v", "0")
    paths: dict[str, str] = json.loads((root / "staticfiles.json").read_text())["paths"]
    return paths, root


def imports_of(path: Path) -> list[str]:
    return re.findall(r'^import .* from "([^"]+)";$', path.read_text(), re.MULTILINE)


def test_it_imports_every_page_module_by_hashed_name(tmp_path: Path) -> None:
    paths, root = collected(tmp_path)
    call = root / paths["js/call.js"]
    assert "./call/negotiation.js" not in call.read_text()
    checked = 0
    for name, hashed in paths.items():
        if not (name.startswith("js/") and name.endswith(".js")):
            continue
        for imported in imports_of(root / hashed):
            target = (root / hashed).parent / imported
            # The import names a hashed file that exists, the one the manifest gives.
            relative = target.resolve().relative_to(root.resolve()).as_posix()
            assert relative in paths.values(), (name, imported)
            assert relative not in paths, (name, imported)
            checked += 1
    assert checked >= 10
