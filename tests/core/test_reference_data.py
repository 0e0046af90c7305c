"""Reference data shipped with the project and loaded by migrations."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from core.models import District, Language, State

pytestmark = pytest.mark.django_db

# LGD state codes as ABDM returns them (../shared/context/DOMAIN.md).
LGD = {
    "JK": 1, "HP": 2, "PB": 3, "CH": 4, "UK": 5, "HR": 6, "DL": 7, "RJ": 8, "UP": 9, "BR": 10,
    "SK": 11, "AR": 12, "NL": 13, "MN": 14, "MZ": 15, "TR": 16, "ML": 17, "AS": 18, "WB": 19,
    "JH": 20, "OD": 21, "CG": 22, "MP": 23, "GJ": 24, "MH": 27, "AP": 28, "KA": 29, "GA": 30,
    "LD": 31, "KL": 32, "TN": 33, "PY": 34, "AN": 35, "TS": 36, "LA": 37, "DH": 38,
}  # fmt: skip
UNION_TERRITORIES = {"AN", "CH", "DH", "DL", "JK", "LA", "LD", "PY"}


def test_there_are_28_states_and_8_union_territories():
    assert State.objects.filter(kind="state").count() == 28
    assert set(State.objects.filter(kind="ut").values_list("code", flat=True)) == UNION_TERRITORIES


def test_state_codes_match_lgd():
    assert dict(State.objects.values_list("code", "lgd_code")) == LGD


def test_large_states_have_all_their_districts():
    counts = {code: District.objects.filter(state__code=code).count() for code in LGD}
    assert counts["UP"] == 75
    assert counts["MH"] == 36
    assert counts["BR"] == 38
    assert District.objects.get(lgd_code=162).name == "Lucknow"


def test_languages_include_the_22_scheduled_and_english():
    assert Language.objects.count() == 23
    assert Language.objects.get(code="hi").native_name == "हिन्दी"


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "districts.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_import_districts_adds_and_updates(tmp_path, capsys):
    before = District.objects.count()
    path = _csv(
        tmp_path,
        "state_code,lgd_code,name,name_hi\nRJ,99001,Jaipur,जयपुर\nUP,162,Lucknow,लखनऊ\n",
    )
    call_command("import_districts", str(path))
    assert District.objects.count() == before + 1
    assert District.objects.get(lgd_code=99001).state.code == "RJ"
    assert "created 1" in capsys.readouterr().out


def test_import_districts_changes_nothing_when_any_row_is_bad(tmp_path):
    before = District.objects.count()
    path = _csv(
        tmp_path,
        "state_code,lgd_code,name,name_hi\nRJ,99001,Jaipur,\nZZ,99002,Nowhere,\nRJ,abc,Ajmer,\n",
    )
    with pytest.raises(CommandError) as error:
        call_command("import_districts", str(path))
    assert "line 3: unknown state code 'ZZ'" in str(error.value)
    assert "line 4" in str(error.value)
    assert District.objects.count() == before


def test_import_districts_dry_run_writes_nothing(tmp_path):
    before = District.objects.count()
    call_command(
        "import_districts",
        str(_csv(tmp_path, "state_code,lgd_code,name,name_hi\nRJ,99001,Jaipur,\n")),
        "--dry-run",
    )
    assert District.objects.count() == before


def test_import_districts_refuses_a_file_without_the_columns(tmp_path):
    with pytest.raises(CommandError):
        call_command("import_districts", str(_csv(tmp_path, "code,name\nRJ,Jaipur\n")))


def test_reference_data_is_public_over_the_api(client):
    states = client.get("/api/states/").json()
    assert len(states) == 36
    districts = client.get("/api/states/up/districts/").json()
    assert len(districts) == 75
    assert client.get("/api/states/ZZ/districts/").status_code == 404
