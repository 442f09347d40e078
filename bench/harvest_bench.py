"""Harvest throughput: a DCAT catalogue of many datasets and a spreadsheet of many variables,
served over loopback HTTP and harvested through the whole pipeline (fetch, parse, cut into
records, SHACL gate, record versions, store). Indexing is not counted.

Run: .venv/bin/python bench/harvest_bench.py [--datasets 10000] [--variables 50000] [--repeat 3]
Prints medians of records per second; this machine is shared, so compare medians.
Each repeat harvests into a fresh data directory (a first harvest: every record added and
validated); then both sources again unchanged (answered 304, nothing stored), and the
catalogue again with one dataset changed (parsed again, only that dataset validated).
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import textwrap
import time
from pathlib import Path

from openpyxl import Workbook

from catalogue.pipeline.fileserver import FileServer
from catalogue.pipeline.harvest import harvest
from catalogue.settings import Settings
from catalogue.sources import load_config

HEAD = """\
[catalogue]
publisher = "fhi"
contact = { name = { nb = "Katalog" }, email = "katalog@example.no" }

[publishers.fhi]
name = "Folkehelseinstituttet"
uri = "https://organization-catalog.fellesdatakatalog.digdir.no/organizations/983744516"
"""
SOURCES = """
[[source]]
id = "dcat"
name = "DCAT"
publisher = "fhi"
kind = "dcat"
url = "{url}/katalog.ttl"

[[source]]
id = "table"
name = "Table"
publisher = "fhi"
kind = "table"
url = "{url}/variabler.xlsx"
columns = {{ name = "Variabelnavn", label = "Variabel", description = "Beskrivelse", start = "Fra", end = "Til" }}

[[source.dataset]]
id = "register"
title = {{ nb = "Registeret" }}
description = {{ nb = "Alle variabler i registeret." }}
themes = ["http://publications.europa.eu/resource/authority/data-theme/HEAL"]
contact = {{ name = {{ nb = "Registeret" }}, email = "register@example.no" }}
"""


def write_catalogue(path: Path, n: int, edition: int = 1) -> None:
    publisher = "<https://organization-catalog.fellesdatakatalog.digdir.no/organizations/983744516>"
    with path.open("w", encoding="utf-8") as out:
        out.write("@prefix dcat: <http://www.w3.org/ns/dcat#> .\n@prefix dct: <http://purl.org/dc/terms/> .\n"
                  "@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .\n"
                  "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n")
        for i in range(n):
            out.write(textwrap.dedent(f"""
                <https://data.example.no/datasett/{i}> a dcat:Dataset ;
                    dct:identifier "ds{i}" ;
                    dct:title "Datasett {i}{' (endret)' if i == 0 and edition > 1 else ''}"@nb, "Dataset {i}"@en ;
                    dct:description "Opplysninger om helsetjenester, nummer {i}."@nb ;
                    dct:publisher {publisher} ;
                    dcat:contactPoint [ a vcard:Organization ; vcard:fn "Registeret"@nb ;
                                        vcard:hasEmail <mailto:register{i % 50}@example.no> ] ;
                    dcat:theme <http://publications.europa.eu/resource/authority/data-theme/HEAL> ;
                    dcat:keyword "helse"@nb, "register"@nb ;
                    dct:temporal [ a dct:PeriodOfTime ; dcat:startDate "{1950 + i % 70}-01-01"^^xsd:date ] .
                """))


def write_workbook(path: Path, n: int) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("Variabler")
    sheet.append(["Variabelnavn", "Variabel", "Beskrivelse", "Fra", "Til"])
    for i in range(n):
        sheet.append([f"VAR{i}", f"Variabel {i}", f"Hva variabel {i} beskriver, med noen ord til.",
                      str(1960 + i % 40), "" if i % 3 else f"31.12.{2000 + i % 24}"])
    book.save(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--variables", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        served = folder / "served"
        served.mkdir()
        write_catalogue(served / "katalog.ttl", args.datasets)
        write_workbook(served / "variabler.xlsx", args.variables)
        rates: dict[str, list[float]] = {"dcat": [], "table": []}
        again: list[float] = []
        one_changed: list[float] = []
        with FileServer(served) as server:
            (folder / "sources.toml").write_text(HEAD + SOURCES.format(url=server.url), encoding="utf-8")
            config = load_config(folder / "sources.toml")
            for i in range(args.repeat):
                settings = Settings(data_dir=folder / f"data{i}", sources_file=folder / "sources.toml",
                                    base_uri="http://bench.test/")
                for source in ("dcat", "table"):
                    [run] = harvest(settings, config, only=[source])
                    assert run.status == "ok" and not run.held_back, (run.error, run.held_back[:3])
                    rates[source].append(run.seen / run.seconds)
                    print(f"  {source}: {run.seen} records in {run.seconds:.1f} s", flush=True)
                started = time.perf_counter()
                runs = harvest(settings, config)
                assert {r.status for r in runs} == {"unchanged"}
                again.append(time.perf_counter() - started)
                write_catalogue(served / "katalog.ttl", args.datasets, edition=2)
                [run] = harvest(settings, config, only=["dcat"])
                assert (run.changed, run.unchanged) == (1, args.datasets - 1)
                one_changed.append(run.seconds)
                write_catalogue(served / "katalog.ttl", args.datasets)
    print(f"dcat, {args.datasets} datasets: median {statistics.median(rates['dcat']):,.0f} records/s")
    print(f"table, {args.variables} variables: median {statistics.median(rates['table']):,.0f} records/s")
    print(f"both again, unchanged (304): median {statistics.median(again):.1f} s")
    print(f"dcat again with one dataset changed (only it validated): "
          f"median {statistics.median(one_changed):.1f} s")


if __name__ == "__main__":
    main()
