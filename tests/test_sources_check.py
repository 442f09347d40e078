"""`catalogue sources check` asks real servers on loopback: a good answer of every kind, a
server error, an answer of the wrong shape, a closed port and a name that does not resolve,
each told apart on its own line; and the bundled production configuration loads."""
import re
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

import pytest

from catalogue.cli import main
from catalogue.harvesters import KINDS
from catalogue.pipeline.harvest import harvest
from catalogue.settings import DEMO_SOURCES
from catalogue.sources import load_config
from support import CONFIG_HEAD, FIXTURES, by_name, corpus, free_port, serve_handler, stop_server

PRODUCTION = DEMO_SOURCES.parents[1] / "production" / "sources.toml"
DEMO_CATALOGUE = DEMO_SOURCES.parent / "files" / "helsedata-katalog.ttl"


class Api(BaseHTTPRequestHandler):
    """Fixed answers by path (the query is ignored): (status, headers, body)."""

    answers: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def do_GET(self) -> None:
        status, headers, body = self.answers.get(urlsplit(self.path).path, (404, {}, b"not here"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    server, url = serve_handler(type("Answers", (Api,), {}))
    port = server.server_address[1]
    server.RequestHandlerClass.answers = {
        "/elvis/:filtered": (200, {"Content-Type": "application/json"},
                             (FIXTURES / "elvis" / "list.json").read_bytes()),
        "/elvis-other/:filtered": (200, {"Content-Type": "application/json"}, b'{"variableList": [{"id": 1}]}'),
        "/api/explorer/variables": (200, {"Content-Type": "application/json"},
                                    corpus("variables", "munin-api", "variables.json").read_bytes()),
        "/katalog.ttl": (200, {"Content-Type": "text/turtle"}, DEMO_CATALOGUE.read_bytes()),
        "/error": (500, {"Content-Type": "text/plain"}, b"internal error"),
        "/page.html": (200, {"Content-Type": "text/html"},
                       b"<!doctype html><html><body><h1>Welcome</h1></body></html>"),
        # the same server under another name, which the source does not allow redirects to
        "/moved": (302, {"Location": f"http://localhost:{port}/katalog.ttl"}, b""),
        # answers of a shape no kind reads
        "/unexpected.json": (200, {"Content-Type": "application/json"}, b'{"unexpected": true}'),
        "/klass/classifications/131": (200, {"Content-Type": "application/json"}, b'{"unexpected": true}'),
        "/api/other/variables": (200, {"Content-Type": "application/json"}, b'{"unexpected": true}'),
        "/other.csv": (200, {"Content-Type": "text/csv"}, b"Navn;Tekst\nKJONN;Kj\xc3\xb8nn\n"),
        "/other.xml": (200, {"Content-Type": "application/xml"}, b"<catalogue><study/></catalogue>"),
        "/kommune.json": (200, {"Content-Type": "text/plain"},
                          corpus("variables", "microdata-no", "unit-type-variables", "KOMMUNE.json").read_bytes()),
    }
    yield url
    stop_server(server)


def check(capsys, *args: str) -> tuple[int, dict[str, str]]:
    """The command's exit status and its output line per source, by source id."""
    status = main(["sources", "check", *args])
    header, *lines, blank, summary = capsys.readouterr().out.splitlines()
    assert header.split() == ["source", "kind", "state", "status", "time", "found"] and not blank
    assert summary.endswith(f"of {len(lines)} sources fine") == (status == 0), summary
    return status, {line.split()[0]: line for line in lines}


def munin(url: str, source_id: str = "munin") -> str:
    return f"""
[[source]]
id = "{source_id}"
name = "Munin (FHI)"
publisher = "fhi"
kind = "munin"
url = "{url}/api/explorer"
"""


def test_every_kind_answering_in_its_shape_is_fine(tmp_path, api, capsys):
    # The bundled demo has a source of every other kind ({demo} served as a harvest serves it).
    path = tmp_path / "sources.toml"
    path.write_text(DEMO_SOURCES.read_text(encoding="utf-8") + f"""
[[source]]
id = "elvis"
name = "ELVIS"
publisher = "fhi"
kind = "elvis"
url = "{api}/elvis"
[source.dataset]{DATASET_FIELDS}
""", encoding="utf-8")
    status, lines = check(capsys, str(path))
    kinds = {"helsedata": "dcat", "klass": "klass", "vardef": "vardef", "mfr": "table", "npr": "table",
             "sysvak": "table", "msis": "table", "helseundersokelsen": "ddi", "microdata": "json-api",
             "munin": "munin", "elvis": "elvis", "icd10": "codelist", "icpc2": "codelist", "atc": "codelist"}
    for source, kind in kinds.items():
        assert re.search(rf"^{source}\s+{kind}\s+ok\s+HTTP 200 ", lines[source]), lines[source]
    assert "18289 variables" in lines["munin"]
    assert "708 codes in" in lines["icpc2"]
    assert "1 catalogue(s), 7 dataset(s)" in lines["helsedata"]
    assert "'Standard for kjønn'" in lines["klass"]
    assert status == 0


def test_each_failure_is_named_and_fails_the_check(tmp_path, api, capsys, monkeypatch):
    closed = f"http://127.0.0.1:{free_port()}"
    path = tmp_path / "sources.toml"
    path.write_text(CONFIG_HEAD + f"""
[[source]]
id = "catalogue"
name = "A catalogue"
publisher = "fhi"
kind = "dcat"
url = "{api}/katalog.ttl"

[[source]]
id = "broken"
name = "A server in trouble"
publisher = "fhi"
kind = "dcat"
url = "{api}/error"

[[source]]
id = "homepage"
name = "A web page, not a catalogue"
publisher = "fhi"
kind = "dcat"
url = "{api}/page.html"

[[source]]
id = "moved"
name = "Moved away"
publisher = "fhi"
kind = "dcat"
url = "{api}/moved"

[[source]]
id = "closed"
name = "Nobody listens"
publisher = "fhi"
kind = "dcat"
url = "{closed}/katalog.ttl"

[[source]]
id = "uploaded"
name = "Published by upload"
publisher = "fhi"
kind = "table"
url = "upload:"
""" + munin("https://munin.check.invalid", "unnamed"), encoding="utf-8")
    monkeypatch.setenv("CATALOGUE_SOURCES", str(path))  # FILE defaults to the configured sources
    status, lines = check(capsys)
    assert re.search(r"^catalogue\s+dcat\s+ok\s+HTTP 200 ", lines["catalogue"])
    assert re.search(r"^broken\s+dcat\s+HTTP error\s+HTTP 500 .*/error: HTTP 500", lines["broken"])
    assert re.search(r"^homepage\s+dcat\s+wrong shape\s+HTTP 200 .*page\.html: cannot parse", lines["homepage"])
    assert re.search(r"^moved\s+dcat\s+refused\s+HTTP 302 .*on a host the source does not allow", lines["moved"])
    assert re.search(r"^closed\s+dcat\s+no answer\s+- .*could not connect", lines["closed"])
    assert re.search(r"^unnamed\s+munin\s+no answer\s+- .*name not resolved", lines["unnamed"])
    assert re.search(r"^uploaded\s+table\s+upload\s", lines["uploaded"])
    assert status == 1


DATASET_FIELDS = """
id = "register"
title = { nb = "Et register" }
description = { nb = "Et register." }
themes = ["http://publications.europa.eu/resource/authority/data-theme/HEAL"]
contact = { name = { nb = "Registeret" }, email = "register@example.no" }
"""
DATASET = "\n[[source.dataset]]" + DATASET_FIELDS  # vardef has one dataset, the others a list
WRONG_SHAPES = {
    "klass": ('url = "{api}/klass"\nclassifications = ["131"]', "not a KLASS classification"),
    "vardef": ('url = "{api}/unexpected.json"\n[source.dataset]' + DATASET_FIELDS,
               "expected a JSON array of variable definitions"),
    "munin": ('url = "{api}/api/other"', "expected a page with 'items'"),
    "json-api": ('url = "{api}/unexpected.json"\nitems = "variables"\n'
                 'fields = { name = "navn", label = { nb = "tittel" } }' + DATASET, "no items at 'variables'"),
    "table": ('url = "{api}/other.csv"\ncolumns = { name = "Variabelnavn", label = "Variabel" }' + DATASET,
              "no header row with the configured name column 'Variabelnavn'"),
    "ddi": ('url = "{api}/other.xml"', "root element <catalogue> is not"),
    "codelist": ('url = "{api}/unexpected.json"\ntitle = { nb = "Kodeverk" }', "expected a JSON array of codes"),
    "elvis": ('url = "{api}/elvis-other"\n[source.dataset]' + DATASET_FIELDS,
              "expected every item of 'variableList' to have a 'techName'"),
}


@pytest.mark.parametrize("kind", WRONG_SHAPES)
def test_an_answer_its_kind_does_not_read_is_the_wrong_shape(tmp_path, api, capsys, kind):
    options, said = WRONG_SHAPES[kind]
    path = tmp_path / "sources.toml"
    path.write_text(CONFIG_HEAD + f"""
[[source]]
id = "odd"
name = "An odd answer"
publisher = "fhi"
kind = "{kind}"
""" + options.replace("{api}", api), encoding="utf-8")
    status, lines = check(capsys, str(path))
    assert re.search(rf"^odd\s+{kind}\s+wrong shape\s+HTTP 200 .*{re.escape(said)}", lines["odd"]), lines["odd"]
    assert status == 1


def test_a_source_of_an_unknown_kind_is_named(tmp_path, api, capsys):
    path = tmp_path / "sources.toml"
    path.write_text(CONFIG_HEAD + munin(api).replace('"munin"', '"munin-v2"'), encoding="utf-8")
    status, lines = check(capsys, str(path))
    assert "unknown kind 'munin-v2'" in lines["munin-v2"]
    assert status == 1


def test_a_configuration_that_does_not_load_is_an_error(tmp_path, capsys):
    path = tmp_path / "sources.toml"
    path.write_text(CONFIG_HEAD + munin("https://x").replace('publisher = "fhi"', 'publisher = "nobody"'))
    assert main(["sources", "check", str(path)]) == 2
    assert "'nobody' is not a key of [publishers]" in capsys.readouterr().err


def test_the_production_configuration_names_known_kinds_at_https_addresses():
    config = load_config(PRODUCTION)
    assert {s.kind for s in config.source} >= {"munin", "elvis", "klass", "vardef", "json-api"}
    for source in config.source:
        assert source.kind in KINDS, source.id
        assert source.url.startswith("https://"), source.id
        assert source.interval_seconds, source.id
    assert {p.identifier for p in config.publishers.values()} == {"983744516", "983544622", "971526920"}


def test_the_production_options_are_read_by_each_kind(tmp_path, capsys):
    """Each probe reads its source's options before it asks anything: pointed at a closed port,
    every source gets as far as asking."""
    closed = f"http://127.0.0.1:{free_port()}"
    path = tmp_path / "sources.toml"
    path.write_text(re.sub(r'(?m)^url = "https://[^/"]+', f'url = "{closed}', PRODUCTION.read_text(encoding="utf-8")),
                    encoding="utf-8")
    status, lines = check(capsys, str(path))
    assert set(lines) == {s.id for s in load_config(PRODUCTION).source}
    for source, line in lines.items():
        assert re.search(r"\sno answer\s+- .*could not connect", line), line
    assert status == 1


def test_the_production_microdata_mapping_reads_microdata_tools_kommune(settings, api, capsys):
    """The unit type KOMMUNE as SSB publishes it, served on loopback in place of its address."""
    config = load_config(PRODUCTION)
    source = config.get("microdata-kommune").model_copy(update={"url": f"{api}/kommune.json"})
    config.source = [source]
    [run] = harvest(settings, config)
    assert run.status == "ok", run.error
    kommune = by_name(settings)["KOMMUNEID"]
    assert kommune.label["en"] == "Municipality"
    assert kommune.value_type == "code_list" and len(kommune.codes) == 1122
