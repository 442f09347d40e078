"""The demo's variable lists made from real codebooks never drift from them: rebuilt from the
shared corpus, they are byte for byte the files the demo ships. And every copied or derived
file names where it comes from."""
from __future__ import annotations

from pathlib import Path

from catalogue.demo import build
from support import corpus

DEMO = Path(build.__file__).parent


def test_the_shipped_lists_are_exactly_what_the_build_makes_from_the_codebooks():
    made = build.build(corpus())
    assert sorted(map(str, made)) == ["edition-2/mfr-variabelliste.csv", "edition-2/sysvak-variabelliste.csv",
                                      "files/mfr-variabelliste.csv", "files/msis-variabelliste.csv",
                                      "files/sysvak-variabelliste.csv"]
    for path, content in made.items():
        assert (DEMO / path).read_bytes() == content, f"{path} differs: run python -m catalogue.demo.build CORPUS_DIR"


def test_the_lists_keep_names_labels_and_categories_but_not_counts():
    rows = (DEMO / "files" / "mfr-variabelliste.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "Variabelnavn;Variabel;Variable (English);Datatype;Verdier"
    by_name = {row.split(";")[0]: row for row in rows[1:]}
    assert by_name["VEKT"] == "VEKT;Barnets vekt i hele gram;Child`s weight (gram);Heltall;"
    assert by_name["PREEKL"].endswith(';Kode;"Alvorlig=Alvorlig; Lett=Lett; Uspesifisert=Uspesifisert"')
    assert "14444" not in "".join(rows)  # the births of 2004 in the extract: data, not metadata


def test_every_copied_or_derived_file_is_named_with_its_origin():
    sources = (DEMO / "files" / "SOURCES.md").read_text(encoding="utf-8")
    for folder in ("files/codelists", "files/munin"):
        for path in (DEMO / folder).rglob("*"):
            if path.is_file() and not path.name.startswith("LICENSE"):
                assert f"{path.name}`" in sources, path
    for path in build.build(corpus()):
        assert f"`{path}`" in sources, path
    for licence in ("files/codelists/LICENSE.navikt-diagnosekoder", "files/munin/LICENSE",
                    "files/LICENSE.mobarun-phenotypes"):
        assert (DEMO / licence).is_file()
