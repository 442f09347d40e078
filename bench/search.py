"""Search at scale: synthetic catalogues of health-registry variables, rebuilt from the store
and searched through the backend and through the HTTP API.

Run: .venv/bin/python bench/search.py [--sizes 10000,100000,1000000] [--queries 200]
         [--backend embedded|opensearch|elasticsearch]

For each size, in a process of its own (so peak memory is that size's), it writes a store
(one N-Triples graph per source, as a harvest leaves it), then times a full rebuild:
loading the store, building the search documents and indexing them, and prints documents
per second, index size and peak memory. Then it runs the same mixed queries (words, compounds,
typos, English, with facet and period filters, some sorted) through the backend and through
`catalogue serve` over HTTP (`/api/variables`, which counts every facet), and prints
p50/p95/p99 latency. The machine is shared: compare medians, run again when in doubt.

`--backend opensearch` runs the same against the server named by CATALOGUE_ES_URL or, without
it, against a two-node OpenSearch cluster on loopback started as the tests start theirs
(tests/opensearch_cluster.py; 2 GB of heap per node); `--backend elasticsearch` needs
CATALOGUE_ES_URL. Peak memory is then the catalogue's process alone, and the index size the
primary copy's on the server.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from catalogue.search import EmbeddedBackend
from catalogue.settings import SEARCH_BACKENDS, Settings

BASE = "http://bench.test/"
ROOT = Path(__file__).resolve().parents[1]
SERVER_HEAP = "2g"  # per node of the cluster started here
SOURCES = ["mfr", "npr", "kpr", "kreft", "dar", "msis", "lmr", "ssb", "hunt", "norpd"]
DATASETS_PER_SOURCE = 20
# Words as registries write them: stems that combine into compounds, and the small words between.
STEMS = ("fødsel vekt lengde svangerskap mor far barn røyk diagnose behandling opphold innleggelse "
         "utskrivning sykehus kommune fylke bosted alder kjønn dato år kode pasient lege fastlege "
         "legevakt resept legemiddel kreft svulst stadium screening mammografi vaksine smitte "
         "dødsårsak død sivilstand utdanning inntekt yrke blodtrykk kolesterol høyde kroppsmasse "
         "indeks hjerte infarkt slag diabetes astma allergi operasjon prosedyre takst kontakt "
         "konsultasjon henvisning ventetid hjemmetjeneste sykehjem omsorg psykisk rus helse "
         "tilstand tjeneste skade ulykke forgiftning graviditet abort keisersnitt apgar placenta "
         "blod urin prøve analyse laboratorium resultat verdi grense nivå dose styrke pakning "
         "forskriver apotek utlevering refusjon egenandel bidrag trygd sykepenger arbeid fravær "
         "uføre rehabilitering fysioterapi ergoterapi tannhelse syn hørsel språk utvikling vekst "
         "ernæring kosthold fysisk aktivitet søvn stress angst depresjon demens hukommelse "
         "rusmiddel alkohol tobakk snus narkotika overdose forgiftning selvmord vold overgrep "
         "ulykke trafikk fall brudd hode nakke rygg skulder hofte kne ankel hånd fot lunge lever "
         "nyre tarm mage hud øye øre nese hals munn tann bein muskel ledd nerve hjerne ryggmarg "
         "infeksjon virus bakterie sopp parasitt antibiotika resistens utbrudd karantene smittevei "
         "meldingsplikt overvåking register melding skjema variabel kilde periode endring versjon "
         "kvalitet fullstendighet dekningsgrad samtykke reservasjon personvern utlevering kobling "
         "fødested fødeland statsborgerskap innvandring botid husholdning familie sosken tvilling "
         "svangerskapsuke termin ultralyd misdannelse syndrom kromosom arv gen mutasjon "
         "cellegift stråling kirurgi transplantasjon dialyse intensiv respirator anestesi smerte").split()
SMALL = "ved før etter i og for av med per til fra om".split()
ENGLISH = ("birth weight length pregnancy mother father child smoking diagnosis treatment stay "
           "admission discharge hospital municipality county residence age sex date year code "
           "patient doctor prescription drug cancer tumour stage vaccine infection cause death").split()


def synthetic_store(folder: Path, n: int, seed: int = 1) -> None:
    """A data directory whose store holds `n` variables across SOURCES, as harvests leave it."""
    rng = random.Random(seed)
    graphs = folder / "graphs"
    graphs.mkdir(parents=True)
    state = {"generation": 1, "index": None, "sources": {}}
    per_source = n // len(SOURCES)
    for s, source in enumerate(SOURCES):
        name = f"{source}.bench.nt"
        with open(graphs / name, "w", encoding="utf-8") as out:
            for d in range(DATASETS_PER_SOURCE):
                ds = f"<{BASE}id/dataset/{source}/ds{d}>"
                out.write(f'{ds} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/ns/dcat#Dataset> .\n'
                          f'{ds} <http://purl.org/dc/terms/identifier> "ds{d}" .\n'
                          f'{ds} <http://purl.org/dc/terms/title> "{_title(rng)} ({source.upper()})"@nb .\n'
                          f'{ds} <http://purl.org/dc/terms/publisher> <{BASE}agent/{s % 4}> .\n'
                          f'{ds} <http://purl.org/dc/terms/accessRights> <http://publications.europa.eu/resource/authority/access-right/{rng.choice(["PUBLIC", "RESTRICTED", "NON_PUBLIC"])}> .\n'
                          f'{ds} <http://www.w3.org/ns/dcat#theme> <http://publications.europa.eu/resource/authority/data-theme/HEAL> .\n')
            for i in range(per_source):
                _variable(out, rng, source, i)
        state["sources"][source] = {"id": source, "name": f"Kilde {source}", "publisher": "p",
                                    "kind": "bench", "url": "bench", "graph_file": name}
    (folder / "state.json").write_text(json.dumps(state))


def _word(rng: random.Random) -> str:
    """Words as descriptions use them: many small words, some compounds, and the domain's
    words with a few far more common than the rest."""
    draw = rng.random()
    if draw < .35:
        return rng.choice(SMALL)
    if draw < .55:
        return rng.choice(STEMS) + rng.choice(STEMS)
    return STEMS[min(len(STEMS) - 1, int(rng.paretovariate(1.2)) - 1)] if draw < .7 else rng.choice(STEMS)


def _title(rng: random.Random) -> str:
    return " ".join(rng.sample(STEMS, 2)).capitalize()


def _variable(out, rng: random.Random, source: str, i: int) -> None:
    v = f"<{BASE}id/variable/{source}/V{i}>"
    ds = f"<{BASE}id/dataset/{source}/ds{i % DATASETS_PER_SOURCE}>"
    label = rng.choice(STEMS) + rng.choice(STEMS)  # a compound, as Norwegian writes them
    if rng.random() < .5:
        label = f"{label} {rng.choice(SMALL)} {rng.choice(STEMS)}"
    description = " ".join(_word(rng) for _ in range(rng.randint(20, 60)))
    start = rng.randint(1951, 2018)
    period = f"<{BASE}.well-known/genid/{source}{i}>"
    lines = [
        f"{ds} <http://rdf-vocabulary.ddialliance.org/discovery#variable> {v}",
        f"{v} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://rdf-vocabulary.ddialliance.org/discovery#Variable>",
        f'{v} <http://purl.org/dc/terms/identifier> "V{i}_{label.split()[0].upper()[:12]}"',
        f'{v} <http://www.w3.org/2004/02/skos/core#prefLabel> "{label.capitalize()}"@nb',
        f'{v} <http://www.w3.org/2004/02/skos/core#prefLabel> "{" ".join(rng.sample(ENGLISH, 2)).capitalize()}"@en',
        f'{v} <http://purl.org/dc/terms/description> "{description.capitalize()}."@nb',
        f"{v} <http://rdf-vocabulary.ddialliance.org/discovery#representation> "
        + rng.choice(["<http://www.w3.org/2001/XMLSchema#integer>", "<http://www.w3.org/2001/XMLSchema#string>",
                      "<http://www.w3.org/2001/XMLSchema#date>", f"<{BASE}codelist/{source}/{i % 50}>"]),
        f"{v} <http://purl.org/dc/terms/temporal> {period}",
        f'{period} <http://www.w3.org/ns/dcat#startDate> "{start}-01-01"^^<http://www.w3.org/2001/XMLSchema#date>',
    ]
    if rng.random() < .4:
        lines.append(f'{period} <http://www.w3.org/ns/dcat#endDate> "{rng.randint(start, 2025)}-12-31"'
                     "^^<http://www.w3.org/2001/XMLSchema#date>")
    out.write(" .\n".join(lines) + " .\n")


def queries(count: int, seed: int = 2) -> list[dict]:
    """Mixed queries as the explorer sends them: text of several kinds, facets, years, sorting."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        kind = n % 6
        if kind == 0:
            text = rng.choice(STEMS)
        elif kind == 1:
            text = rng.choice(STEMS) + rng.choice(STEMS)             # a compound
        elif kind == 2:
            word = rng.choice([w for w in STEMS if len(w) >= 6])
            cut = rng.randrange(1, len(word) - 1)
            text = word[:cut] + word[cut + 1:]                         # a letter missing
        elif kind == 3:
            text = " ".join(rng.sample(ENGLISH, 2))
        elif kind == 4:
            text = f"{rng.choice(STEMS)} {rng.choice(SMALL)} {rng.choice(STEMS)}"
        else:
            text = ""                                                  # browsing by filters
        params: dict = {"q": text}
        if rng.random() < .5:
            params["source"] = rng.sample(SOURCES, rng.randint(1, 2))
        if rng.random() < .3:
            params["value_type"] = rng.choice(["integer", "code_list"])
        if rng.random() < .3:
            first = rng.randint(1960, 2015)
            params.update({"from": first, "to": first + rng.randint(0, 10)})
            if rng.random() < .3:
                params["period"] = "cover"
        if rng.random() < .15:
            params["sort"] = rng.choice(["name", "first_year", "source"])
        out.append(params)
    return out


def to_query(params: dict):
    from catalogue.search import FACETS, Query
    return Query(text=params["q"], filters={f: tuple(params[f]) if isinstance(params[f], list) else (params[f],)
                                            for f in FACETS if f in params},
                 year_from=params.get("from"), year_to=params.get("to"),
                 period=params.get("period", "overlap"), sort=params.get("sort", "relevance"))


def percentiles(ms: list[float]) -> str:
    ms = sorted(ms)
    at = lambda p: ms[min(len(ms) - 1, int(len(ms) * p))]  # noqa: E731
    return f"p50 {statistics.median(ms):.1f} ms, p95 {at(.95):.1f} ms, p99 {at(.99):.1f} ms"


def run_size(n: int, count: int, search: str) -> None:
    """One size, in this process: rebuild, then latency through the backend and over HTTP."""
    from catalogue.pipeline.harvest import reindex
    from catalogue.search import open_backend
    from catalogue.storage.store import Store
    folder = Path(tempfile.mkdtemp(prefix=f"search-bench-{n}-"))
    try:
        started = time.perf_counter()
        synthetic_store(folder, n)
        print(f"\n== {n:,} variables (store written in {time.perf_counter() - started:.0f} s)", flush=True)
        settings = Settings(data_dir=folder, sources_file=folder / "none.toml", base_uri=BASE, search=search,
                            es_url=os.environ.get("CATALOGUE_ES_URL"), es_index=f"search-bench-{n}")
        started = time.perf_counter()
        indexed = reindex(Store(folder, BASE), settings)
        seconds = time.perf_counter() - started
        backend = open_backend(settings)
        size = index_size(backend, folder)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"full rebuild from the store: {seconds:.1f} s for {indexed:,} documents "
              f"({indexed / seconds:,.0f} documents/s), index {size / 1e6:,.0f} MB, peak memory {peak:,.0f} MB")
        mixed = queries(count)
        for params in mixed[:20]:  # warm up: open the index, fill caches
            backend.search(to_query(params))
        timings = []
        for params in mixed:
            query = to_query(params)
            started = time.perf_counter()
            backend.search(query)
            timings.append((time.perf_counter() - started) * 1000)
        print(f"backend, {len(timings)} queries with facets: {percentiles(timings)}", flush=True)
        print(f"HTTP /api/variables, {len(mixed)} queries with facets: "
              f"{percentiles(http_timings(folder, mixed, settings))}", flush=True)
        if search != "embedded":
            backend.drop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def index_size(backend, folder: Path) -> int:
    """Bytes of the index: its folder's, or on a server its primary copy's."""
    if isinstance(backend, EmbeddedBackend):
        return sum(p.stat().st_size for p in (folder / "index").rglob("*") if p.is_file())
    stats = backend.client.indices.stats(index=backend.alias, metric="store")
    return stats["_all"]["primaries"]["store"]["size_in_bytes"]


def http_timings(folder: Path, mixed: list[dict], settings: Settings) -> list[float]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "CATALOGUE_DATA_DIR": str(folder), "CATALOGUE_BASE_URI": BASE,
           "CATALOGUE_SEARCH": settings.search, "CATALOGUE_ES_INDEX": settings.es_index}
    log = open(folder / "serve.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "catalogue.cli", "serve", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/api/variables"
        with httpx.Client(timeout=60) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    client.get(url, params={"size": 1})
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(.2)
            for params in mixed[:20]:
                client.get(url, params=params)
            timings = []
            for params in mixed:
                started = time.perf_counter()
                response = client.get(url, params=params)
                timings.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
        return timings
    except httpx.HTTPError:
        print(f"the server failed (exit {server.poll()}); its log ends:\n"
              + (folder / "serve.log").read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--backend", choices=SEARCH_BACKENDS, default="embedded")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a single size, in this process
    args = parser.parse_args()
    if args.one:
        run_size(args.one, args.queries, args.backend)
        return
    if args.backend == "elasticsearch" and not os.environ.get("CATALOGUE_ES_URL"):
        parser.error("--backend elasticsearch needs CATALOGUE_ES_URL")
    cluster = None
    if args.backend == "opensearch" and not os.environ.get("CATALOGUE_ES_URL"):
        sys.path.insert(0, str(ROOT / "tests"))
        from opensearch_cluster import Cluster
        cluster = Cluster(Path(tempfile.mkdtemp(prefix="search-bench-opensearch-")), heap=SERVER_HEAP)
        os.environ["CATALOGUE_ES_URL"] = cluster.url  # for the processes of each size
    try:
        if cluster:
            cluster.start_all()
        for n in (int(s) for s in args.sizes.split(",")):
            subprocess.run([sys.executable, __file__, "--one", str(n), "--queries", str(args.queries),
                            "--backend", args.backend], check=True)
    finally:
        if cluster:
            cluster.stop()
            shutil.rmtree(cluster.folder, ignore_errors=True)


if __name__ == "__main__":
    main()
