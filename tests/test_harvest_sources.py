"""DCAT and KLASS sources over HTTP, a failing source that leaves the others alone,
and the `catalogue validate` command."""
from datetime import date
from pathlib import Path

import pytest

from catalogue import cli
from catalogue.model.models import CodeList, Period
from catalogue.pipeline.harvest import harvest
from catalogue.profiles.dcat_ap_no_3 import from_graph
from catalogue.settings import Settings
from catalogue.storage.store import Store
from support import DCAT_SOURCE, KLASS_SOURCE, FIXTURES, MFR_SOURCE, by_name, search, snapshot


DAR_VARIABLES = {"UNDERLIGGENDE", "DODSSTED"}
KLASS = "https://data.ssb.no/api/klass/v1/"


def stored(settings: Settings, source: str) -> tuple[str | None, bytes | None]:
    """The name and the content of the source's current graph file."""
    store = Store(settings.data_dir, settings.base_uri)
    name = store.state().sources[source].graph_file
    return name, (store.graphs_dir / name).read_bytes() if name else None


# -- (a) dcat ---------------------------------------------------------------------

@pytest.fixture
def dar_config(fixture_server, make_config):
    return make_config(DCAT_SOURCE.format(url=fixture_server.url))


def test_dcat_harvest_again_stores_identical_graphs(settings, dar_config, make_config, fixture_server):
    [first] = harvest(settings, dar_config)
    name_1, graph_1 = stored(settings, "dar")
    [second] = harvest(settings, dar_config)
    name_2, _ = stored(settings, "dar")
    # A changed configuration means the graph is built again from the same documents.
    renamed = make_config(DCAT_SOURCE.format(url=fixture_server.url).replace(
        'name = "Dødsårsaksregisteret – DCAT"', 'name = "DÅR"'))
    [third] = harvest(settings, renamed)
    name_3, graph_3 = stored(settings, "dar")

    assert (first.status, first.accepted, first.added, first.held_back) == ("ok", first.seen, first.seen, [])
    assert (second.status, name_2) == ("unchanged", name_1)  # nothing fetched had changed
    assert (third.status, third.added, third.changed, third.unchanged) == ("ok", 0, 0, first.seen)
    assert name_1 != name_3  # a new file was written ...
    assert graph_1 == graph_3  # ... with the same triples, blank nodes named the same way
    assert b"_:" not in graph_1


@pytest.mark.parametrize("text, name", [("dødsårsak", "UNDERLIGGENDE"),
                                        ("underlying cause", "UNDERLIGGENDE"),
                                        ("place of death", "DODSSTED")])
def test_dcat_variables_are_searchable(settings, dar_config, text, name):
    harvest(settings, dar_config)

    assert name in [doc.name for doc in search(settings, text)]


def test_dcat_variables_keep_their_blank_node_periods(settings, dar_config):
    harvest(settings, dar_config)
    docs = by_name(settings)

    assert set(docs) == DAR_VARIABLES
    assert docs["UNDERLIGGENDE"].periods == [Period(start=date(1951, 1, 1), end=date(1995, 12, 31)),
                                             Period(start=date(1996, 1, 1))]
    assert docs["DODSSTED"].periods == [Period(start=date(1986, 1, 1))]
    assert docs["UNDERLIGGENDE"].dataset_title == {"nb": "Dødsårsaksregisteret",
                                                   "en": "Cause of Death Registry"}


def test_dcat_period_given_as_a_year_is_indexed(settings, make_config, served):
    folder, url = served
    catalogue = folder / "dcat" / "katalog.ttl"
    catalogue.write_text(catalogue.read_text(encoding="utf-8").replace(
        '"1986-01-01"^^xsd:date', '"1986"^^xsd:gYear'), encoding="utf-8")

    [summary] = harvest(settings, make_config(DCAT_SOURCE.format(url=url)))

    assert summary.status == "ok"
    assert by_name(settings)["DODSSTED"].periods == [Period(start=date(1986, 1, 1))]


# -- (b) klass --------------------------------------------------------------------

@pytest.fixture
def klass_graph(settings, fixture_server, make_config):
    [summary] = harvest(settings, make_config(KLASS_SOURCE.format(url=fixture_server.url, classifications='["77"]')))
    assert (summary.status, summary.held_back) == ("ok", [])
    return snapshot(settings).to_graph()


def test_klass_classification_links_its_versions(klass_graph):
    classification = from_graph(CodeList, klass_graph, KLASS + "classifications/77")

    assert classification.title == {"nb": "Standard for sivilstand"}
    assert classification.versions == [KLASS + "versions/701", KLASS + "versions/702"]
    assert classification.periods == [Period(start=date(1993, 8, 1), end=date(2017, 12, 31)),
                                      Period(start=date(2018, 1, 1))]


@pytest.mark.parametrize("version, period, codes", [
    ("701", Period(start=date(1993, 8, 1), end=date(2017, 12, 31)),
     [("1", "Ugift"), ("2", "Gift"), ("6", "Registrert partner")]),
    ("702", Period(start=date(2018, 1, 1)), [("1", "Ugift"), ("2", "Gift")]),
])
def test_klass_version_has_its_validity_and_codes(klass_graph, version, period, codes):
    code_list = from_graph(CodeList, klass_graph, KLASS + "versions/" + version)

    assert code_list.periods == [period]
    assert [(c.notation, c.label["nb"]) for c in code_list.concepts] == codes


# -- (c) one failing source leaves the others alone -----------------------------

def test_source_that_disappears_fails_alone_and_keeps_its_last_graph(settings, make_config, served):
    folder, url = served
    config = make_config(DCAT_SOURCE.format(url=url) + MFR_SOURCE.format(url=url))
    assert [s.status for s in harvest(settings, config)] == ["ok", "ok"]
    (folder / "dcat" / "katalog.ttl").unlink()
    with (folder / "table" / "mfr-variabler.csv").open("a", encoding="utf-8") as csv:
        csv.write("PARITET;Paritet;Parity;;;;;;1967;\n")

    summaries = {s.source: s for s in harvest(settings, config)}

    assert summaries["dar"].status == "failed"
    assert f"{url}/dcat/katalog.ttl" in summaries["dar"].error and "404" in summaries["dar"].error
    assert summaries["mfr"].status == "ok"
    names = set(by_name(settings))
    assert DAR_VARIABLES <= names  # the failed source's last good graph is still searchable
    assert "PARITET" in names      # the other source was updated
    assert "PARITET" in [d.name for d in search(settings, "parity")]


# -- (d) broken Turtle ------------------------------------------------------------

def test_broken_turtle_fails_naming_url_and_error_and_keeps_stored_graph(settings, make_config, served):
    folder, url = served
    config = make_config(DCAT_SOURCE.format(url=url))
    harvest(settings, config)
    before = stored(settings, "dar")
    (folder / "dcat" / "katalog.ttl").write_text(
        '@prefix dct: <http://purl.org/dc/terms/> .\n<https://data.fhi.no/datasett/dar> dct:title "Dødsår\n',
        encoding="utf-8")

    [summary] = harvest(settings, config)

    assert summary.status == "failed"
    assert f"{url}/dcat/katalog.ttl" in summary.error
    assert "cannot parse as turtle" in summary.error and "line" in summary.error
    assert stored(settings, "dar") == before
    assert Store(settings.data_dir, settings.base_uri).state().sources["dar"].error == summary.error
    assert set(by_name(settings)) == DAR_VARIABLES


# -- (e) catalogue validate -------------------------------------------------------

INVALID_VARIABLE = """\
@prefix dct: <http://purl.org/dc/terms/> .
@prefix disco: <http://rdf-vocabulary.ddialliance.org/discovery#> .
<https://data.fhi.no/datasett/dar> disco:variable <https://data.fhi.no/datasett/dar/variabel/X> .
<https://data.fhi.no/datasett/dar/variabel/X> a disco:Variable ; dct:identifier "X" .
"""


def test_validate_command_accepts_a_valid_file(capsys):
    code = cli.main(["validate", str(FIXTURES / "dcat" / "katalog.ttl")])

    assert code == 0
    assert "katalog.ttl: conforms" in capsys.readouterr().out


@pytest.mark.parametrize("lang, message", [("en", "A variable needs a name"),
                                           ("nb", "En variabel må ha et navn")])
def test_validate_command_refuses_an_invalid_file_naming_the_path(tmp_path: Path, capsys, lang, message):
    invalid = tmp_path / "variabel.ttl"
    invalid.write_text(INVALID_VARIABLE, encoding="utf-8")

    code = cli.main(["validate", str(invalid), "--lang", lang])

    out = capsys.readouterr().out
    assert code == 1
    assert "<https://data.fhi.no/datasett/dar/variabel/X> skos:prefLabel" in out
    assert message in out
    assert "does not conform" in out
