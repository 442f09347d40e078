"""Harvesting a large versioned code list: the real Norwegian ICD-10 in four yearly versions
(some 19,600 codes each, 78,500 in all) from the shared corpus, served over loopback HTTP,
through the whole pipeline (fetch, parse, SHACL gate, store, index), then the code list
page and its JSON twin.

Run: .venv/bin/python bench/codelists.py [--corpus ../shared/corpus/codelists]
Prints seconds for a first harvest (every version validated), a second one with the same
files (nothing read again), and the page; this machine is shared, so run it when quiet.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from catalogue.pipeline.fileserver import FileServer
from catalogue.pipeline.harvest import harvest
from catalogue.settings import Settings
from catalogue.site.app import create_app
from catalogue.sources import load_config

CONFIG = """\
[catalogue]
publisher = "helsedirektoratet"
contact = {{ name = {{ nb = "Katalog" }}, email = "katalog@example.no" }}

[publishers.helsedirektoratet]
name = "Helsedirektoratet"
uri = "https://organization-catalog.fellesdatakatalog.digdir.no/organizations/983544622"

[[source]]
id = "icd10"
name = "ICD-10"
publisher = "helsedirektoratet"
kind = "codelist"
url = "{url}/icd10-no/ICD10_{{version}}.json"
title = {{ nb = "ICD-10" }}
versions = ["2023", "2024", "2025", "2026"]
"""
BASE_URI = "http://127.0.0.1:8000/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "corpus" / "codelists")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, FileServer(args.corpus) as server:
        sources = Path(folder) / "sources.toml"
        sources.write_text(CONFIG.format(url=server.url), encoding="utf-8")
        settings = Settings(data_dir=Path(folder) / "data", sources_file=sources, base_uri=BASE_URI)
        for label in ("first harvest", "same files again"):
            started = time.perf_counter()
            [summary] = harvest(settings, load_config(sources))
            print(f"{label}: {time.perf_counter() - started:.1f} s ({summary.status}, "
                  f"{summary.accepted} records accepted, {len(summary.held_back)} held back)")
        client = TestClient(create_app(settings))
        for path in ("/api/code-lists", "/code-lists"):
            started = time.perf_counter()
            answer = client.get(path, params={"uri": f"{BASE_URI}id/codelist/icd10/icd10"})
            print(f"{path}: {time.perf_counter() - started:.1f} s (status {answer.status_code})")


if __name__ == "__main__":
    main()
