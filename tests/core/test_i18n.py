"""The Hindi catalogues: complete, in step with the code, and used by pages, page scripts and the
API. Two domains: ``django`` (Python and templates) and ``djangojs`` (static/js, served by
Django's JavaScript catalogue at /jsi18n/<language>/)."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.signals import setting_changed
from django.utils import translation
from django.utils.html import escape

from tests.factories import PatientFactory

PO_PATH = Path(settings.BASE_DIR) / "locale" / "hi" / "LC_MESSAGES" / "django.po"
JS_PO_PATH = PO_PATH.with_name("djangojs.po")
DOMAINS = {"django": PO_PATH, "djangojs": JS_PO_PATH}

# The command that generates a committed catalogue (add ``-d <domain>``), with the same ignores.
MAKEMESSAGES = [
    "makemessages",
    "-l",
    "hi",
    "--ignore=.venv",
    "--ignore=var",
    "--ignore=tests",
    "--ignore=bench",
    "--ignore=static/vendor",
    "--ignore=node_modules",
    "--no-obsolete",
    "--add-location",
    "file",
]
# Not source: left out of the throw-away copy the catalogue is regenerated in.
NOT_SOURCE = (
    ".git",
    ".venv",
    "var",
    "tests",
    "bench",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "node_modules",
    "*.egg-info",
    "*.mo",
)

# printf-style (%(name)s, %d) and brace-style ({minutes}, filled in by JavaScript).
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]?\d*(?:\.\d+)?[sdifr%]|\{\w*\}")
HTML_TAG = re.compile(r"<[^>]+>")


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.msgctxt, self.msgid, self.msgid_plural)

    @property
    def translations(self) -> list[str]:
        return [self.msgstr[n] for n in sorted(self.msgstr)]


def parse_po(text: str) -> list[Entry]:
    """The entries of a PO file; the header and obsolete ``#~`` entries are left out."""
    entries: list[Entry] = []
    for block in re.split(r"\n\s*\n", text):
        entry = Entry()
        target: tuple[str, int] | None = None
        for raw_line in block.splitlines():
            line = raw_line.strip()
            if not line or line.startswith("#"):
                continue
            keyword, _, rest = line.partition(" ")
            if line.startswith('"'):
                keyword, rest = "", line
            value = ast.literal_eval(rest)
            if keyword.startswith("msgstr"):
                index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
                target = ("msgstr", index)
                entry.msgstr[index] = value
            elif keyword in ("msgid", "msgid_plural", "msgctxt"):
                target = (keyword, 0)
                setattr(entry, keyword, value)
            elif target and target[0] == "msgstr":
                entry.msgstr[target[1]] += value
            elif target:
                setattr(entry, target[0], (getattr(entry, target[0]) or "") + value)
        if entry.msgstr and entry.msgid:
            entries.append(entry)
    return entries


def catalogue(path: Path = PO_PATH) -> dict[str, Entry]:
    return {entry.msgid: entry for entry in parse_po(path.read_text(encoding="utf-8"))}


def hindi(msgid: str) -> str:
    """The catalogue's translation of ``msgid``, HTML-escaped as a page shows it."""
    return escape(catalogue()[msgid].msgstr[0])


def msgattrib(option: str, path: Path = PO_PATH) -> list[Entry]:
    result = subprocess.run(
        ["msgattrib", option, "--no-wrap", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_po(result.stdout)


@pytest.fixture(scope="module")
def compiled_catalogue() -> None:
    """Pages need the .mo; ``make test`` compiles it, a bare pytest run may not have.

    Only the rendering tests ask for it: a broken entry fails compilation, and the catalogue
    tests should still run and name it."""

    def stale(po: Path) -> bool:
        mo = po.with_suffix(".mo")
        return po.exists() and (not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime)

    if any(stale(po) for po in DOMAINS.values()):
        call_command("compilemessages", ignore_patterns=[".venv", "var"], verbosity=0)
        # Forget catalogues loaded before the .mo existed (Django's own reset, as in tests).
        setting_changed.send(
            sender=type(settings), setting="LOCALE_PATHS", value=settings.LOCALE_PATHS, enter=True
        )


@pytest.fixture(autouse=True)
def _restore_language() -> Iterator[None]:
    """A Hindi request leaves Hindi active in this thread; later tests expect the default."""
    language = translation.get_language()
    yield
    if language:
        translation.activate(language)
    else:
        translation.deactivate()


@pytest.fixture
def hindi_client(compiled_catalogue, db, client):
    response = client.post("/i18n/setlang/", {"language": "hi", "next": "/"})
    assert response.status_code == 302
    return client


by_domain = pytest.mark.parametrize("path", DOMAINS.values(), ids=DOMAINS.keys())


@by_domain
def test_it_has_no_untranslated_entries(path):
    untranslated = [entry.msgid for entry in msgattrib("--untranslated", path)]
    assert untranslated == []


@by_domain
def test_it_has_no_fuzzy_entries(path):
    fuzzy = [entry.msgid for entry in msgattrib("--only-fuzzy", path)]
    assert fuzzy == []


@pytest.mark.parametrize("domain", DOMAINS)
def test_it_matches_the_strings_marked_in_the_code(tmp_path, domain):
    """A string marked for translation but missing here (or left over here) fails."""
    po_path = DOMAINS[domain]
    copy = tmp_path / "project"
    shutil.copytree(settings.BASE_DIR, copy, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    run = subprocess.run(
        [sys.executable, "manage.py", *MAKEMESSAGES, "-d", domain, "--verbosity=0"],
        cwd=copy,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "esanjeevani.settings_test"},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    regenerated_po = copy / po_path.relative_to(settings.BASE_DIR)
    regenerated = {entry.key for entry in parse_po(regenerated_po.read_text(encoding="utf-8"))}
    committed = {entry.key for entry in parse_po(po_path.read_text(encoding="utf-8"))}
    missing = "\n".join(sorted(msgid for _, msgid, _ in regenerated - committed))
    stale = "\n".join(sorted(msgid for _, msgid, _ in committed - regenerated))
    assert not missing, f"Marked in the code, missing from the .po (makemessages):\n{missing}"
    assert not stale, f"In the .po, no longer in the code (makemessages):\n{stale}"


@by_domain
def test_it_keeps_every_placeholder(path):
    changed = {
        entry.msgid: text
        for entry in catalogue(path).values()
        for text in entry.translations
        if Counter(PLACEHOLDER.findall(text))
        != Counter(PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
        or "{{" in text
        or "{%" in text
    }
    assert changed == {}


@by_domain
def test_it_keeps_every_html_tag(path):
    changed = {
        entry.msgid: text
        for entry in catalogue(path).values()
        for text in entry.translations
        if Counter(HTML_TAG.findall(text)) != Counter(HTML_TAG.findall(entry.msgid))
    }
    assert changed == {}


@by_domain
def test_it_has_a_hindi_header(path):
    header = path.read_text(encoding="utf-8").split("\n\n", 1)[0]
    assert "#, fuzzy" not in header  # msgfmt would drop a fuzzy header: no charset, no plurals
    assert "Language: hi\\n" in header
    assert "charset=UTF-8" in header
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header


def test_it_renders_the_home_page_in_hindi(hindi_client):
    page = hindi_client.get("/").content.decode()
    assert '<html lang="hi">' in page
    assert hindi("See a government doctor from home, free of charge") in page
    assert "See a government doctor from home" not in page


def test_it_labels_the_mobile_number_field_in_hindi(hindi_client):
    page = hindi_client.get("/signin/").content.decode()
    assert '<html lang="hi">' in page
    assert f'<label for="id_mobile">{hindi("Mobile number")}</label>' in page


@pytest.mark.django_db
@pytest.mark.usefixtures("compiled_catalogue")
def test_it_answers_api_errors_in_the_requested_language(client):
    response = client.post(
        "/api/auth/otp/request/",
        {"mobile": "123"},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="hi",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["fields"]["mobile"] == [
        catalogue()["Enter a valid 10-digit Indian mobile number, e.g. 98765 43210."].msgstr[0]
    ]
    assert error["message"] == catalogue()["Some of the information is not valid."].msgstr[0]


@pytest.mark.django_db
def test_it_answers_api_errors_in_english_by_default(client):
    response = client.post(
        "/api/auth/otp/request/", {"mobile": "123"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["mobile"] == [
        "Enter a valid 10-digit Indian mobile number, e.g. 98765 43210."
    ]


@pytest.mark.django_db
def test_it_remembers_a_signed_in_users_language(client):
    holder = PatientFactory()
    client.force_login(holder.account)
    response = client.post("/i18n/setlang/", {"language": "hi", "next": "/family/"})
    assert response.status_code == 302
    holder.account.refresh_from_db()
    assert holder.account.preferred_language == "hi"


# --- The page scripts' catalogue (djangojs), served by Django's JavaScriptCatalog ---------------


@pytest.mark.django_db
@pytest.mark.usefixtures("compiled_catalogue")
def test_it_serves_the_page_scripts_their_hindi(client):
    response = client.get("/jsi18n/hi/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Content-Language"] == "hi"
    script = response.content.decode()
    wait = catalogue(JS_PO_PATH)["about %(minutes)s minute"]
    assert json.dumps(wait.msgstr[0]) in script  # the catalogue is JSON (non-ASCII escaped)
    assert "django.ngettext = function" in script
    assert "(n != 1)" in script  # Hindi's plural rule, from the catalogue's header


@pytest.mark.django_db
def test_it_serves_english_scripts_no_translations_and_nothing_else(client):
    script = client.get("/jsi18n/en/").content.decode()
    assert "about %(minutes)s minute" not in script  # English needs no entries
    assert client.get("/jsi18n/xx/").status_code == 404


@pytest.mark.django_db
def test_browsers_check_the_script_catalogue_again_and_get_304_while_it_is_unchanged(client):
    first = client.get("/jsi18n/hi/")
    assert "no-cache" in first["Cache-Control"]
    again = client.get("/jsi18n/hi/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
