"""SSB Vardef variable definitions harvested over HTTP: variables with their validity
periods as declared versions, linked to KLASS code lists, and what is held back."""
import json
from datetime import date

import pytest

from catalogue.model.models import Period
from catalogue.pipeline.harvest import harvest
from support import (harvest_demo, EU_HEALTH, FIXTURES, by_name, corpus, graph_lines, search, settings_in,
                     snapshot)

KLASS = "https://data.ssb.no/api/klass/v1/classifications/"
SOCI = "http://publications.europa.eu/resource/authority/data-theme/SOCI"

SOURCE = """
[[source]]
id = "vardef"
name = "SSB Vardef"
publisher = "ssb"
kind = "vardef"
url = "{url}/public/variable-definitions"
{options}

[source.dataset]
id = "befolkning"
title = {{ nb = "Befolkningsvariabler fra SSB" }}
description = {{ nb = "Variabeldefinisjoner fra SSB." }}
themes = ["{theme}"]
contact = {{ name = {{ nb = "SSB" }}, email = "s320@ssb.no" }}
"""

# The [[source]] tables for catalogue/demo/sources.toml: KLASS as it already is there, and Vardef.
VERSIONS = """
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dct: <http://purl.org/dc/terms/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX adms: <http://www.w3.org/ns/adms#>
SELECT ?version ?label ?start ?end ?definition ?notes ?previous WHERE {
  ?variable dct:identifier "%s" ; dcat:hasVersion ?v .
  ?v dcat:version ?version ; skos:prefLabel ?label ; dct:temporal ?t .
  ?t dcat:startDate ?start .
  OPTIONAL { ?t dcat:endDate ?end }
  OPTIONAL { ?v dct:description ?definition FILTER(lang(?definition) = "%s") }
  OPTIONAL { ?v adms:versionNotes ?notes FILTER(lang(?notes) = "%s") }
  OPTIONAL { ?v dcat:previousVersion/dcat:version ?previous }
  FILTER(lang(?label) = "%s")
} ORDER BY ?start
"""


def versions(settings, name: str, lang: str = "nb") -> list[tuple]:
    rows = snapshot(settings).query(VERSIONS % (name, lang, lang, lang))
    return [tuple(row[k].value if row[k] is not None else None
                  for k in ("version", "label", "start", "end", "definition", "notes", "previous"))
            for row in rows]


def source(url: str, options: str = "", theme: str = EU_HEALTH) -> str:
    return SOURCE.format(url=url, options=options, theme=theme)


@pytest.fixture
def fixture_url(serve) -> str:
    return serve(FIXTURES / "vardef").url


# -- the fixture API: rendered definitions, as the public API serves them ---------------

def test_definition_with_two_validity_periods_is_one_variable_with_two_versions(
        settings, make_config, fixture_url):
    [summary] = harvest(settings, make_config(source(fixture_url)))

    assert summary.status == "ok"
    variable = by_name(settings)["sivilstand"]
    assert variable.label == {"nb": "Sivilstand"}
    assert variable.description == {"nb": "Sivilstand etter den kjønnsnøytrale ekteskapsloven."}
    assert variable.periods == [Period(start=date(1993, 1, 1))]  # the union of its periods
    assert variable.code_list == KLASS + "19"
    assert EU_HEALTH in variable.themes  # subject field he03 lies in the area "he"
    assert versions(settings, "sivilstand") == [
        ("1993-01-01 (patch 2)", "Sivilstand", "1993-01-01", "2008-12-31",
         "Sivilstand etter ekteskapsloven og partnerskapsloven.", None, None),
        ("2009-01-01 (patch 1)", "Sivilstand", "2009-01-01", None,
         "Sivilstand etter den kjønnsnøytrale ekteskapsloven.", "Ny definisjon fra 2009.",
         "1993-01-01 (patch 2)"),
    ]


def test_a_changed_definition_makes_its_records_again_and_the_rest_are_taken_as_stored(
        tmp_path, settings, make_config, fixture_copy, serve):
    """A definition and its validity periods are what its variable and versions are made from:
    after one changed, a harvest makes those and the dataset (whose coverage reads every
    variable), and takes the others as stored, as a harvest into an empty data directory would."""
    folder = fixture_copy("vardef")
    config = make_config(source(serve(folder).url, 'status = ["PUBLISHED_INTERNAL", "PUBLISHED_EXTERNAL"]'))
    [first] = harvest(settings, config)
    periods = folder / "public" / "variable-definitions" / "sv000001" / "validity-periods.json"
    answer = json.loads(periods.read_text(encoding="utf-8"))
    answer[-1]["definition"] = "Sivilstand etter ekteskapsloven (endret)."
    periods.write_text(json.dumps(answer, ensure_ascii=False), encoding="utf-8")
    [again] = harvest(settings, config)
    made = again.seen - again.held_back_records - again.reused
    # sivilstand, its two versions and the dataset; kjoenn and its version are taken as stored
    assert (first.reused, again.status, again.changed, made, again.reused) == (0, "ok", 2, 4, 2)
    assert by_name(settings)["sivilstand"].description == {"nb": "Sivilstand etter ekteskapsloven (endret)."}
    fresh = settings_in(tmp_path / "fresh")
    assert [r.status for r in harvest(fresh, config)] == ["ok"]
    assert graph_lines(settings, "vardef") == graph_lines(fresh, "vardef")


def test_only_externally_published_definitions_by_default(settings, make_config, fixture_url):
    harvest(settings, make_config(source(fixture_url)))
    assert "kjoenn" not in by_name(settings) and "utkast" not in by_name(settings)

    both = 'status = ["PUBLISHED_INTERNAL", "PUBLISHED_EXTERNAL"]'
    harvest(settings, make_config(source(fixture_url, both)))

    names = by_name(settings)
    assert names["kjoenn"].code_list == KLASS + "2"
    assert "utkast" not in names


def test_bad_definitions_are_held_back_naming_record_and_field(settings, make_config, fixture_url):
    [summary] = harvest(settings, make_config(source(fixture_url)))

    held = {h.record: h.message for h in summary.held_back}
    assert held.keys() == {"variable fodested", "variable dodsarsak",
                           "variable definition nn000001"}
    assert "validity period 1" in held["variable fodested"]
    assert "field 'valid_until' (2019-12-31) is before 'valid_from' (2020-01-01)" in (
        held["variable fodested"])
    missing = f"{fixture_url}/public/variable-definitions/mg000001/validity-periods: HTTP 404"
    assert missing in held["variable dodsarsak"]
    assert "field 'short_name' is missing" in held["variable definition nn000001"]
    assert set(by_name(settings)) == {"sivilstand"}  # the rest went through


def test_plain_texts_take_the_configured_language(settings, make_config, fixture_url):
    harvest(settings, make_config(source(fixture_url, 'languages = ["nn"]')))

    assert by_name(settings)["sivilstand"].label == {"nn": "Sivilstand"}


def test_each_language_is_asked_for_and_the_texts_merged(settings, make_config, fixture_url):
    # The API renders one language per request, chosen by Accept-Language; the fixture
    # server has English for sivilstand, and no nynorsk at all (which must not fail it).
    [run] = harvest(settings, make_config(source(fixture_url, 'languages = ["nb", "en", "nn"]')))

    assert run.status == "ok"
    assert by_name(settings)["sivilstand"].label == {"nb": "Sivilstand", "en": "Marital status"}
    assert [v[4] for v in versions(settings, "sivilstand", "en")] == [
        "Marital status under the Marriage Act and the Partnership Act.",
        "Marital status under the Marriage Act."]


def test_unknown_option_fails_the_source_naming_it(settings, make_config, fixture_url):
    [summary] = harvest(settings, make_config(source(fixture_url, 'statuses = ["DRAFT"]')))

    assert summary.status == "failed"
    assert "statuses" in summary.error and "vardef" in summary.error


# -- the real corpus ------------------------------------------------------------------

def block_examples(spec: str) -> list:
    """The spec's example responses written as JSON in YAML block scalars (`value: |-`),
    in the order of the spec (no YAML parser is installed; these blocks are plain JSON)."""
    lines = spec.splitlines()
    examples = []
    for number, line in enumerate(lines):
        if line.strip() == "value: |-":
            indent = len(line) - len(line.lstrip())
            block = []
            for following in lines[number + 1:]:
                if following.strip() and len(following) - len(following.lstrip()) <= indent:
                    break
                block.append(following)
            examples.append(json.loads("\n".join(block)))
    return examples


def test_the_openapi_examples_are_harvested(settings, make_config, serve, tmp_path):
    """The spec's own example responses, served at the paths the spec gives them."""
    spec = corpus("variables", "ssb-vardef", "openapi", "variable-definitions-public.yml")
    listing, periods = block_examples(spec.read_text(encoding="utf-8"))  # list, validity periods
    api = tmp_path / "api" / "public"
    (api / "variable-definitions" / "wypvb3wd").mkdir(parents=True)
    (api / "variable-definitions.json").write_text(json.dumps(listing), encoding="utf-8")
    (api / "variable-definitions" / "wypvb3wd" / "validity-periods.json").write_text(
        json.dumps(periods), encoding="utf-8")
    url = serve(tmp_path / "api").url

    internal = 'status = ["PUBLISHED_INTERNAL"]'  # as the spec's example is
    [summary] = harvest(settings, make_config(source(url, internal, theme=SOCI)))

    assert (summary.status, summary.held_back) == ("ok", [])
    variable = by_name(settings)["string"]  # the spec's example short name
    assert variable.label == {"nb": "Landbakgrunn"}
    assert variable.code_list == KLASS + "91"
    assert variable.unit == "Andel"
    assert variable.periods == [Period(start=date(2003, 1, 1))]
    assert "Landbakgrunn" in [d.label["nb"] for d in search(settings, "fødeland")]


@pytest.mark.parametrize("folder, name", [
    ("vardef-input", "bus.json"), ("vardef-input", "deadweight.json"),
    ("vardef-input", "landbakk.json"), ("vardef-input", "pris.json"), ("vardef-input", "tax.json"),
    ("vardef-yaml", "variable_definition_landbak_wypvb3wd.yaml"),
    ("vardef-yaml", "variable_definition_var_test_wypvb3wd.yaml"),
])
def test_input_payloads_and_editing_files_are_not_api_responses(settings, make_config, serve,
                                                                folder, name):
    """Create payloads (one object, no id) and dapla-toolbelt's YAML editing files are not
    what the API serves: the source fails with a message naming the file."""
    url = serve(corpus("variables", "ssb-vardef")).url

    [summary] = harvest(settings, make_config(source(url).replace(
        f"{url}/public/variable-definitions", f"{url}/{folder}/{name}")))

    assert summary.status == "failed"
    assert f"{url}/{folder}/{name}" in summary.error
    expected = "expected a JSON array" if name.endswith(".json") else "not JSON: "
    assert expected in summary.error


# -- the demo -------------------------------------------------------------------------

def test_demo_source_links_variables_to_the_demo_klass_code_lists(settings):
    summaries = harvest_demo(settings, "klass", "vardef")

    assert [(s.status, s.held_back) for s in summaries] == [("ok", []), ("ok", [])]
    names = by_name(settings)
    assert {"landbak", "kjoenn", "sivilstand", "bostedsfylke", "samlet_inntekt", "utd_nivaa",
            "doedsdato", "foedselsaar"} <= set(names)
    assert names["kjoenn"].label == {"nb": "Kjønn", "nn": "Kjønn", "en": "Sex"}
    for name, klass, title in [("kjoenn", "2", "Standard for kjønn"),
                               ("sivilstand", "19", "Standard for sivilstand"),
                               ("bostedsfylke", "104", "Standard for fylkesinndeling")]:
        assert names[name].code_list == KLASS + klass
        assert names[name].code_list_title["nb"] == title
    assert names["samlet_inntekt"].unit == "Valuta"
    public_health = "https://psi.norge.no/los/tema/folkehelse"  # subject field he03
    assert public_health in names["doedsdato"].themes
    assert public_health not in names["foedselsaar"].themes
    assert [v[:4] for v in versions(settings, "landbak", "en")] == [
        ("1990-01-01 (patch 1)", "Country background", "1990-01-01", "2002-12-31"),
        ("2003-01-01 (patch 3)", "Country background", "2003-01-01", None)]
    assert "sivilstand" in [d.name for d in search(settings, "marital status")]
