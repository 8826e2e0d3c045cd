"""Report texts: the gettext catalogue in English, Arabic and Hindi, each
lab's overrides (inherited down the lab hierarchy, never across it), the
cache they are read through, and the interface language per request."""

import gettext
import re
import subprocess
from pathlib import Path

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils.translation import pgettext_lazy

from admin.account.models import LabRelation
from core.cache.backends import RedisStorage
from core.models import LabTranslation
from core.models.translation import lab_text, lab_texts, override_lab_ids
from core.utils.clients import get_client, registry
from core.utils.translation import REPORT_TEXTS, default_text, text_direction
from tests.cache_settings import cache_service
from tests.redis_servers import redis_server

LOCALE_DIR = Path(__file__).resolve().parents[3] / "core" / "locale"
ARABIC = re.compile(r"[\u0600-\u06ff]")
DEVANAGARI = re.compile(r"[\u0900-\u097f]")


def override(lab, key: str, language: str, text: str) -> LabTranslation:
    row = LabTranslation(lab=lab, key=key, language=language, text=text)
    row.save()
    return row


# -- the catalogue ----------------------------------------------------------


def test_the_catalogue_has_a_dozen_real_report_texts():
    assert len(REPORT_TEXTS) >= 12
    assert {"report.title", "report.patient_name", "report.released_by"} <= set(
        REPORT_TEXTS
    )


@pytest.mark.parametrize("key", sorted(REPORT_TEXTS))
def test_every_text_has_an_arabic_and_a_hindi_default(key):
    english = default_text(key, "en")

    arabic, hindi = default_text(key, "ar"), default_text(key, "hi")

    assert ARABIC.search(arabic) and arabic != english
    assert DEVANAGARI.search(hindi) and hindi != english


@pytest.mark.parametrize("language", ["ar", "hi"])
def test_the_committed_mo_files_match_their_po_sources(language, tmp_path):
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    compiled = tmp_path / "django.mo"

    subprocess.run(
        ["/usr/bin/msgfmt", "--check", "-o", str(compiled), str(folder / "django.po")],
        check=True,
    )

    with compiled.open("rb") as fresh, (folder / "django.mo").open("rb") as committed:
        assert (
            gettext.GNUTranslations(committed)._catalog  # type: ignore[attr-defined]
            == gettext.GNUTranslations(fresh)._catalog  # type: ignore[attr-defined]
        )


def test_the_defaults_read_as_a_report_does():
    assert default_text("report.title", "en") == "Laboratory Report"
    assert default_text("report.title", "ar") == "تقرير المختبر"
    assert default_text("report.title", "hi") == "प्रयोगशाला रिपोर्ट"


def test_a_language_without_a_translation_falls_back_to_english(settings):
    settings.LANGUAGES = [*settings.LANGUAGES, ("fr", "French")]

    assert default_text("report.released_by", "fr") == "Released By"


def test_text_direction_is_rtl_for_arabic_only():
    assert [text_direction(code) for code in ("en", "ar", "hi")] == [
        "ltr",
        "rtl",
        "ltr",
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: text_direction("fr"), "'fr' is not a language of this site"),
        (lambda: default_text("report.title", "xx"), "use one of: en, ar, hi"),
        (lambda: default_text("report.nope", "en"), "'report.nope' is not a report"),
        (lambda: lab_text("report.nope", "en", 1), "use one of: message."),
        (lambda: lab_texts(1, "fr"), "'fr' is not a language"),
    ],
)
def test_an_unknown_key_or_language_is_refused_with_the_valid_ones(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


# -- overrides ----------------------------------------------------------------


@pytest.mark.django_db
def test_without_overrides_a_lab_prints_the_languages_default(labs):
    north = labs["north"].pk

    assert lab_text("report.result", "en", north) == "Result"
    assert lab_text("report.result", "ar", north) == "النتيجة"
    assert lab_text("report.result", "hi", north) == "परिणाम"


@pytest.mark.django_db
def test_an_override_replaces_the_default_in_its_language_only(labs):
    override(labs["north"], "report.referred_by", "ar", "الطبيب المعالج")
    override(labs["north"], "report.referred_by", "hi", "चिकित्सक")
    north = labs["north"].pk

    assert lab_text("report.referred_by", "ar", north) == "الطبيب المعالج"
    assert lab_text("report.referred_by", "hi", north) == "चिकित्सक"
    assert lab_text("report.referred_by", "en", north) == "Referred By"


@pytest.mark.django_db
def test_placeholders_are_filled_in_defaults_and_overrides(labs):
    override(labs["north"], "report.page_of", "hi", "पृष्ठ %(page)s (कुल %(pages)s)")
    north = labs["north"].pk

    assert lab_text("report.page_of", "ar", north, page=1, pages=2) == "صفحة 1 من 2"
    assert lab_text("report.page_of", "en", north, page=1, pages=2) == "Page 1 of 2"
    assert lab_text("report.page_of", "hi", north, page=1, pages=2) == ("पृष्ठ 1 (कुल 2)")


@pytest.mark.django_db
def test_an_override_reaches_the_labs_children_and_no_one_else(labs):
    override(labs["north"], "report.title", "en", "North Diagnostics Report")

    seen = {name: lab_text("report.title", "en", lab.pk) for name, lab in labs.items()}

    assert seen == {
        "north": "North Diagnostics Report",
        "north_clinic": "North Diagnostics Report",  # a child inherits
        "central": "Laboratory Report",  # a parent does not
        "south": "Laboratory Report",  # nor a sibling
        "other": "Laboratory Report",  # nor an unrelated lab
    }


@pytest.mark.django_db
def test_the_nearest_labs_override_wins(labs):
    override(labs["central"], "report.released_by", "en", "Authorised by")
    override(labs["north"], "report.released_by", "en", "Verified by")
    override(labs["north_clinic"], "report.released_by", "en", "Checked by")
    override(labs["central"], "report.unit", "ar", "الوحدات")

    texts = {name: lab_texts(lab.pk, "en") for name, lab in labs.items()}

    assert texts["north_clinic"]["report.released_by"] == "Checked by"
    assert texts["north"]["report.released_by"] == "Verified by"
    assert texts["south"]["report.released_by"] == "Authorised by"  # its parent's
    assert texts["other"]["report.released_by"] == "Released By"
    # Nothing nearer: the grandparent's wording.
    assert lab_texts(labs["north_clinic"].pk, "ar")["report.unit"] == "الوحدات"


@pytest.mark.django_db
def test_lab_texts_gives_every_key_with_the_labs_wording(labs):
    override(labs["north"], "report.title", "hi", "उत्तर लैब रिपोर्ट")

    texts = lab_texts(labs["north_clinic"].pk, "hi")

    assert set(texts) == set(REPORT_TEXTS)
    assert texts["report.title"] == "उत्तर लैब रिपोर्ट"
    assert texts["report.result"] == "परिणाम"


@pytest.mark.django_db
def test_with_two_parents_the_nearer_then_the_lower_id_wins(lab_factory):
    elder = lab_factory("Elder Processing Lab")
    grandparent = lab_factory("Regional Hub")
    younger = lab_factory("Younger Processing Lab", parent=grandparent)
    centre = lab_factory("Collection Centre", parent=younger)
    LabRelation(parent_lab=elder, child_lab=centre).save()
    override(grandparent, "report.title", "en", "Regional Hub Report")
    override(younger, "report.title", "en", "Younger Lab Report")

    chain = override_lab_ids(centre.pk)
    first = lab_text("report.title", "en", centre.pk)
    override(elder, "report.title", "en", "Elder Lab Report")
    second = lab_text("report.title", "en", centre.pk)

    assert chain == [centre.pk, elder.pk, younger.pk, grandparent.pk]
    assert first == "Younger Lab Report"  # a parent beats a grandparent
    assert second == "Elder Lab Report"  # two parents: the lower id


@pytest.mark.django_db
def test_an_override_of_a_key_that_left_the_catalogue_is_ignored(labs, monkeypatch):
    retired = "report.retired_label"
    monkeypatch.setitem(
        REPORT_TEXTS, retired, pgettext_lazy("lab report", "Retired label")
    )
    override(labs["north"], retired, "en", "Old wording")
    monkeypatch.undo()  # the key leaves the catalogue; the row stays

    texts = lab_texts(labs["north"].pk, "en")

    assert LabTranslation.objects.filter(key=retired).exists()
    assert retired not in texts and set(texts) == set(REPORT_TEXTS)
    assert lab_text("report.title", "en", labs["north"].pk) == "Laboratory Report"


# -- the cache ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_overrides_are_read_from_the_labs_own_cache_hash(
    labs, django_assert_num_queries
):
    override(labs["other"], "report.title", "ar", "تقرير مختبر الشبكة")
    override(labs["north"], "report.title", "ar", "تقرير مختبر الشمال")
    lab_texts(labs["other"].pk, "ar")  # fills the cache
    lab_texts(labs["north_clinic"].pk, "ar")

    with django_assert_num_queries(1):  # the lab's ancestors; texts from cache
        other = lab_text("report.title", "ar", labs["other"].pk)
    with django_assert_num_queries(2):  # two ancestors: the links, ordered
        clinic = lab_texts(labs["north_clinic"].pk, "ar")["report.title"]

    assert (other, clinic) == ("تقرير مختبر الشبكة", "تقرير مختبر الشمال")
    assert LabTranslation.get_cache_key(labs["other"].pk) == (
        f"LabTranslation_CentreId{labs['other'].pk}_List"
    )


@pytest.mark.django_db(transaction=True)
def test_a_committed_change_shows_at_once_and_a_rolled_back_one_never(labs):
    row = override(labs["north"], "report.result", "hi", "नतीजा")
    assert lab_text("report.result", "hi", labs["north"].pk) == "नतीजा"  # cached

    row.text = "परीक्षण परिणाम"
    row.save()
    after_commit = lab_text("report.result", "hi", labs["north"].pk)
    with pytest.raises(RuntimeError), transaction.atomic():
        row.text = "रद्द"
        row.save()
        raise RuntimeError("the request failed after the save")
    after_rollback = lab_text("report.result", "hi", labs["north"].pk)
    LabTranslation.objects.get(pk=row.pk).delete()
    after_delete = lab_text("report.result", "hi", labs["north"].pk)

    assert after_commit == "परीक्षण परिणाम"
    assert after_rollback == "परीक्षण परिणाम"
    assert after_delete == "परिणाम"


@pytest.mark.django_db(transaction=True)
def test_on_redis_each_lab_has_its_own_hash_invalidated_after_commit(labs, settings):
    with redis_server() as server:
        settings.SERVICES = {
            **settings.SERVICES,
            "cache": cache_service("redis", url=server.url),
        }
        registry.reset()
        assert isinstance(get_client("cache").storage, RedisStorage)
        row = override(labs["north"], "report.title", "en", "North Report")
        override(labs["south"], "report.title", "en", "South Report")
        lab_text("report.title", "en", labs["north"].pk)
        lab_text("report.title", "en", labs["south"].pk)
        north_key = f"LabTranslation_CentreId{labs['north'].pk}_List"
        south_key = f"LabTranslation_CentreId{labs['south'].pk}_List"
        stored_before = server.client().hget(north_key, str(row.pk))

        row.text = "North Lab Report"
        row.save()
        changed = lab_text("report.title", "en", labs["north"].pk)
        stored_after = server.client().hget(north_key, str(row.pk))
        south_fields = server.client().hkeys(south_key)
        registry.reset()

    assert isinstance(stored_before, bytes) and b"North Report" in stored_before
    assert isinstance(stored_after, bytes) and b"North Lab Report" in stored_after
    assert changed == "North Lab Report"
    assert str(row.pk).encode() not in south_fields


# -- the interface --------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("accept", "lang", "direction"),
    [("", "en", "ltr"), ("ar", "ar", "rtl"), ("hi,en;q=0.5", "hi", "ltr")],
)
def test_the_interface_speaks_the_users_language(client, accept, lang, direction):
    headers = {"Accept-Language": accept} if accept else {}

    page = client.get(reverse("admin:login"), headers=headers)

    assert page.status_code == 200
    assert f'lang="{lang}" dir="{direction}"' in page.content.decode()
