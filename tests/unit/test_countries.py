"""Countries as people type them: codes, English names, French/Dutch/German names, never a guess."""

from __future__ import annotations

import pycountry
import pytest

from bulkport.rules.countries import country_code, fold_country


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("NL", "NL"),
        ("nl", "NL"),
        (" Nl ", "NL"),
        ("DE ", "DE"),
        ("la", "LA"),
        ("us", "US"),
        ("U.S.", "US"),
    ],
)
def test_an_alpha_2_code_in_any_case_is_taken(text: str, code: str) -> None:
    assert country_code(text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [("NLD", "NL"), ("deu", "DE"), ("GBR", "GB"), ("USA", "US"), ("U.S.A.", "US"), ("che", "CH")],
)
def test_an_alpha_3_code_gives_the_alpha_2_code(text: str, code: str) -> None:
    assert country_code(text) == code


def test_every_iso_country_answers_to_its_codes() -> None:
    for country in pycountry.countries:
        assert country_code(country.alpha_2) == country.alpha_2
        assert country_code(country.alpha_3.lower()) == country.alpha_2


def test_every_iso_country_answers_to_its_name_but_the_ambiguous_congo() -> None:
    # "Congo" is ISO's name for the Republic, but the Democratic Republic answers to it too.
    answers = {country.name: country_code(country.name) for country in pycountry.countries}
    assert {name for name, code in answers.items() if code is None} == {"Congo"}
    assert all(
        answers[country.name] == country.alpha_2
        for country in pycountry.countries
        if country.name != "Congo"
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Netherlands", "NL"),
        ("The Netherlands", "NL"),
        ("the netherlands", "NL"),
        ("Kingdom of the Netherlands", "NL"),
        ("Holland", "NL"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("U.K.", "GB"),
        ("Great Britain", "GB"),
        ("England", "GB"),
        ("Scotland", "GB"),
        ("Wales", "GB"),
        ("Northern Ireland", "GB"),
        ("United States", "US"),
        ("United States of America", "US"),
        ("Czech Republic", "CZ"),
        ("Czechia", "CZ"),
        ("South Korea", "KR"),
        ("Korea, Republic of", "KR"),
        ("Republic of Korea", "KR"),
        ("North Korea", "KP"),
        ("Russia", "RU"),
        ("Russian Federation", "RU"),
        ("Vietnam", "VN"),
        ("Viet Nam", "VN"),
        ("Ivory Coast", "CI"),
        ("Côte d'Ivoire", "CI"),
        ("Cote d’Ivoire", "CI"),
        ("Türkiye", "TR"),
        ("Turkey", "TR"),
        ("Iran", "IR"),
        ("Bolivia", "BO"),
        ("Democratic Republic of the Congo", "CD"),
        ("Holy See", "VA"),
        ("Vatican City State", "VA"),
        ("St Lucia", "LC"),
        ("St. Kitts and Nevis", "KN"),
    ],
)
def test_english_official_common_and_everyday_names_are_taken(text: str, code: str) -> None:
    assert country_code(text) == code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        # French
        ("Pays-Bas", "NL"),
        ("les Pays-Bas", "NL"),
        ("Allemagne", "DE"),
        ("l'Allemagne", "DE"),
        ("Belgique", "BE"),
        ("la Belgique", "BE"),
        ("Royaume-Uni", "GB"),
        ("le Royaume-Uni", "GB"),
        ("États-Unis", "US"),
        ("Etats Unis", "US"),
        ("Suisse", "CH"),
        ("Autriche", "AT"),
        # Dutch
        ("Nederland", "NL"),
        ("Duitsland", "DE"),
        ("België", "BE"),
        ("Belgie", "BE"),
        ("Verenigde Staten", "US"),
        ("de Verenigde Staten", "US"),
        ("het Verenigd Koninkrijk", "GB"),
        ("Zwitserland", "CH"),
        ("Oostenrijk", "AT"),
        # German
        ("Deutschland", "DE"),
        ("Österreich", "AT"),
        ("ÖSTERREICH", "AT"),
        ("Schweiz", "CH"),
        ("Niederlande", "NL"),
        ("Großbritannien", "GB"),
        ("Grossbritannien", "GB"),
        ("Vereinigte Staaten", "US"),
    ],
)
def test_french_dutch_and_german_names_are_taken(text: str, code: str) -> None:
    assert country_code(text) == code


@pytest.mark.parametrize(
    "text",
    [
        "America",  # the United States or the continent
        "Amerika",
        "Korea",  # North or South
        "Corée",
        "Congo",  # the Republic or the Democratic Republic
        "Virgin Islands",  # British or American
        "Îles Vierges",
        "Saint Martin",  # the French or the Dutch part
    ],
)
def test_a_name_two_countries_answer_to_is_not_guessed(text: str) -> None:
    assert country_code(text) is None


@pytest.mark.parametrize(
    "text",
    ["", "   ", "the", "The ", "xx", "Atlantis", "N/A", "n.a.", "n/a", "-", "?", "日本"],
)
def test_text_that_names_no_country_is_none(text: str) -> None:
    assert country_code(text) is None


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("The Netherlands", "netherlands"),
        ("  les  Pays-Bas ", "paysbas"),
        ("L’Allemagne", "allemagne"),
        ("het Verenigd Koninkrijk", "verenigdkoninkrijk"),
        ("de Verenigde Staten", "verenigdestaten"),
        ("Côte d'Ivoire", "cotedivoire"),
        ("Großbritannien", "grossbritannien"),
        ("DE ", "de"),
        ("Theland", "theland"),
        ("Denmark", "denmark"),
    ],
)
def test_folding_drops_a_leading_article_case_accents_spaces_and_punctuation(
    text: str, folded: str
) -> None:
    assert fold_country(text) == folded
