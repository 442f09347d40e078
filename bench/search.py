"""Search at scale: synthetic catalogues of health-registry variables, rebuilt from the store
and searched over HTTP beside a raw tantivy index of the same documents.

Run: .venv/bin/python bench/search.py [--sizes 100000,1000000] [--queries 100] [--workers N]
         [--backend embedded|opensearch|elasticsearch]

For each size, in a process of its own (so peak memory is that size's), it writes a store
(one N-Triples graph per source, as a harvest leaves it), then times a full rebuild:
loading the store, building the search documents and indexing them, and prints documents
per second, index size and peak memory. Then, per kind of query (one word, several words,
English, filtered, deep page, sorted, browse, suggest), it prints the p50/p95 latency of
`catalogue serve` over HTTP (`/api/variables`, which counts every facet, and `/api/suggest`)
beside a raw baseline in the same run: a minimal tantivy index of the same documents doing
the same work in this process (the top 20 read from the index, the count, and the same
facets in one aggregation; for suggest, the prefix lookup and its documents), and the ratio.
Last, the throughput of the server with 8 and 32 clients sending the same queries at once,
beside the raw index's with 8 threads, and the server's peak memory (its processes' peaks
added). The machine may be shared: compare medians, run again when in doubt.

Disk: at 1,000,000 variables the data directory takes about 5.3 kB a variable (graph store
2.8 GB, graph files 1.5 GB, index 0.7 GB, quality scores 0.3 GB), and the raw index 0.5 kB
more. The graph store takes more a variable the more there are while it loads: at 10,000,000 it
had passed 47 GB, beside 15 GB of graph files, before it was whole. A size is not started
without DISK_PER_VARIABLE bytes a variable free where its data directory is made (TMPDIR).

`--backend opensearch` serves from the server named by CATALOGUE_ES_URL or, without it, from a
two-node OpenSearch cluster on loopback started as the tests start theirs
(tests/opensearch_cluster.py; 2 GB of heap per node); `--backend elasticsearch` needs
CATALOGUE_ES_URL. Peak memory is then the catalogue's process alone, and the index size the
primary copy's on the server. The raw baseline stays the in-process tantivy index.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import httpx

from memory import TreePeak, peak_resident_mb, tree

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


KINDS = ("one word", "several words", "English", "filtered", "deep page", "sorted", "browse", "suggest")
DEEP_PAGE = 50
WARM_UP = 5  # queries of each kind asked before the timed ones (others than those)
CLIENTS = (8, 32)
DISK_PER_VARIABLE = 8_000  # free bytes a size needs (see Disk in the docstring)


def queries(count: int, seed: int = 2) -> dict[str, list[dict]]:
    """`count` queries of each kind, as the explorer sends them (for suggest, as one types)."""
    rng = random.Random(seed)
    stem = lambda: rng.choice(STEMS)  # noqa: E731
    make = {
        "one word": lambda: {"q": stem()},
        "several words": lambda: {"q": f"{stem()} {rng.choice(SMALL)} {stem()}" if rng.random() < .5
                                  else f"{stem()} {stem()}"},
        "English": lambda: {"q": " ".join(rng.sample(ENGLISH, 2))},
        "filtered": lambda: {"q": stem(), "source": rng.sample(SOURCES, rng.randint(1, 2)),
                             "from": (first := rng.randint(1960, 2015)), "to": first + rng.randint(0, 10)},
        "deep page": lambda: {"q": rng.choice(STEMS[:20]), "page": DEEP_PAGE},
        "sorted": lambda: {"q": stem(), "sort": rng.choice(["name", "first_year"])},
        "browse": lambda: {"source": rng.sample(SOURCES, 1)} if rng.random() < .7 else {},
        "suggest": lambda: {"q": (word := stem())[:rng.randint(3, max(3, len(word)))]},
    }
    return {kind: [make[kind]() for _ in range(count)] for kind in KINDS}


def path(kind: str, params: dict) -> str:
    return ("/api/suggest?" if kind == "suggest" else "/api/variables?") + urlencode(params, doseq=True)


class Raw:
    """The baseline: a minimal tantivy index of the same documents (name, labels and
    descriptions with tantivy's own analyzer, the facets as fast fields, the document stored),
    doing what a page needs: the top 20 read, the count, every facet in one aggregation."""
    TERMS = ("source", "publisher", "dataset", "theme", "value_type", "access_rights", "has_code_list")

    def __init__(self, folder: Path, docs: Iterable) -> None:
        import tantivy
        from catalogue.search.fields import indexed
        self.tantivy = tantivy
        builder = tantivy.SchemaBuilder()
        for field in ("name", "label", "description", "suggest"):
            builder.add_text_field(field)
        for field in (*self.TERMS, "name_sort"):
            builder.add_text_field(field, tokenizer_name="raw", fast=True)
        for field in ("first_year", "last_year"):
            builder.add_integer_field(field, indexed=True, fast=True)
        builder.add_bytes_field("doc", stored=True)
        self.schema = builder.build()
        folder.mkdir()
        self.index = tantivy.Index(self.schema, path=str(folder))
        writer = self.index.writer(heap_size=256_000_000)
        year = time.gmtime().tm_year
        for doc in docs:
            fields = indexed(doc, year)
            writer.add_document(tantivy.Document(
                name=[doc.name], label=list(doc.label.values()), description=list(doc.description.values()),
                suggest=[doc.name, *doc.label.values()], name_sort=fields["name_sort"],
                first_year=fields["first_year"], last_year=fields["last_year"],
                doc=[doc.model_dump_json().encode()], **{f: fields[f] for f in self.TERMS if f in fields}))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()
        self.aggregations = {f: {"terms": {"field": f, "size": 100}} for f in self.TERMS}
        self.aggregations.update({f: {"histogram": {"field": f, "interval": 10}}
                                  for f in ("first_year", "last_year")})

    def run(self, kind: str, params: dict) -> int | None:
        """One query as a page asks it; how many documents it matched (None for suggest)."""
        tantivy, searcher = self.tantivy, self.searcher
        if kind == "suggest":
            words = params["q"].lower().split()
            hits = searcher.search(tantivy.Query.phrase_prefix_query(self.schema, "suggest", words), limit=30).hits
            [searcher.doc(address)["doc"][0] for _, address in hits]
            return None
        Occur, Q = tantivy.Occur, tantivy.Query
        clauses = [(Occur.Must, self.index.parse_query(params["q"], ["name", "label", "description"]))] \
            if params.get("q") else []
        if params.get("source"):
            clauses.append((Occur.Must, Q.term_set_query(self.schema, "source", params["source"])))
        if "from" in params:
            years = tantivy.FieldType.Integer
            clauses += [(Occur.Must, Q.range_query(self.schema, "first_year", years, 0, params["to"])),
                        (Occur.Must, Q.range_query(self.schema, "last_year", years, params["from"], 9999))]
        query = Q.boolean_query(clauses) if clauses else Q.all_query()
        sort = params.get("sort")
        order = {"order_by_field": "name_sort" if sort == "name" else sort} if sort else {}
        result = searcher.search(query, limit=20, offset=(params.get("page", 1) - 1) * 20, count=True, **order)
        [searcher.doc(address)["doc"][0] for _, address in result.hits]
        searcher.aggregate(query, self.aggregations)
        return result.count


def percentile(ms: list[float], p: float) -> float:
    ms = sorted(ms)
    return statistics.median(ms) if p == .5 else ms[min(len(ms) - 1, int(len(ms) * p))]


def run_size(n: int, count: int, search: str, workers: int | None) -> None:
    """One size, in this process: rebuild, then each kind of query over HTTP beside the raw index."""
    from catalogue.pipeline.harvest import reindex
    from catalogue.search import Query, open_backend
    from catalogue.storage.store import Store
    folder = Path(tempfile.mkdtemp(prefix=f"search-bench-{n}-"))
    try:
        started = time.perf_counter()
        synthetic_store(folder, n)
        print(f"\n== {n:,} variables (store written in {time.perf_counter() - started:.0f} s)", flush=True)
        settings = Settings(data_dir=folder, sources_file=folder / "none.toml", base_uri=BASE, search=search,
                            es_url=os.environ.get("CATALOGUE_ES_URL"), es_index=f"search-bench-{n}")
        store, started = Store(folder, BASE), time.perf_counter()
        with store.lock():  # the graph store's checkpoint, which a harvest leaves and documents are read from
            store.write_state(store.state())
        print(f"graph store checkpoint written in {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        with TreePeak(os.getpid()) as held:
            indexed = reindex(store, settings)
        seconds = time.perf_counter() - started
        backend = open_backend(settings)
        size = index_size(backend, folder)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"full rebuild from the store: {seconds:.1f} s for {indexed:,} documents "
              f"({indexed / seconds:,.0f} documents/s), index {size / 1e6:,.0f} MB, peak memory {peak:,.0f} MB "
              f"(with the processes it forks, {held.mb:,.0f} MB Pss)",
              flush=True)
        # the documents a register at a time, so that the baseline holds one register's, not all
        raw = Raw(folder / "raw", (doc for source in SOURCES for d in range(DATASETS_PER_SOURCE)
                                   for doc in backend.matching(Query(filters={"dataset": (f"{source}/ds{d}",)}))))
        with serving(folder, settings, workers) as server:
            table(raw, queries(count), server.port)
            throughput(raw, count, server.port)
            print(f"server peak memory: {server.peak_mb():,.0f} MB (each of its {server.processes()} processes' "
                  "peak, added)", flush=True)
        if search != "embedded":
            backend.drop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Served:
    """`catalogue serve` as the benchmark started it: its port, and what its processes hold."""

    def __init__(self, process: subprocess.Popen, port: int):
        self.process, self.port = process, port

    def processes(self) -> int:
        return len(tree(self.process.pid))

    def peak_mb(self) -> float:
        """The peak resident memory of each of the server's processes (VmHWM), added up."""
        return peak_resident_mb(tree(self.process.pid))


def index_size(backend, folder: Path) -> int:
    """Bytes of the index: its folder's, or on a server its primary copy's."""
    if isinstance(backend, EmbeddedBackend):
        return sum(p.stat().st_size for p in (folder / "index").rglob("*") if p.is_file())
    stats = backend.client.indices.stats(index=backend.alias, metric="store")
    return stats["_all"]["primaries"]["store"]["size_in_bytes"]


def table(raw: Raw, asked: dict[str, list[dict]], port: int) -> None:
    """The per-kind table, with how many variables a query of the kind matches (median) in
    ours and in the raw index: what a query costs grows with what it matches, and ours
    matches compound parts, stems, synonyms and typos that the raw index does not."""
    print(f"\n{'kind':<14} {'ours p50':>9} {'p95':>7} {'raw p50':>9} {'p95':>7} {'ratio p50':>10} {'p95':>6}  (ms)"
          f"  {'matched ours':>12} {'raw':>8}")
    warm = queries(WARM_UP, seed=5)
    for kind, params in asked.items():
        for p in warm[kind]:  # the caches of the index files, and the server's of words seen
            raw.run(kind, p)
        asyncio.run(_timed(port, [path(kind, p) for p in warm[kind]]))
        mine = asyncio.run(_timed(port, [path(kind, p) for p in params]))
        theirs, raw_matched = [], []
        for p in params:
            started = time.perf_counter()
            raw_matched.append(raw.run(kind, p))
            theirs.append((time.perf_counter() - started) * 1000)
        ours50, ours95, raw50, raw95 = (percentile(ms, p) for ms in (mine, theirs) for p in (.5, .95))
        matched = "" if kind == "suggest" else \
            f"  {statistics.median(_matched(port, kind, params)):>12,.0f} {statistics.median(raw_matched):>8,.0f}"
        print(f"{kind:<14} {ours50:>9.1f} {ours95:>7.1f} {raw50:>9.1f} {raw95:>7.1f} "
              f"{ours50 / raw50:>9.1f}× {ours95 / raw95:>5.1f}×{matched}", flush=True)


def _matched(port: int, kind: str, params: list[dict]) -> list[int]:
    """How many variables each query matches on the server (asked after the timing)."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        return [client.get(path(kind, {**p, "size": 1, "page": 1})).json()["total"] for p in params]


def throughput(raw: Raw, count: int, port: int) -> None:
    """Every kind of query in turn, each query asked once (none answered from what the server
    remembers of an earlier one), by 8 and then 32 clients at once."""
    def mixed(seed: int) -> list[tuple[str, dict]]:
        return [item for group in zip(*([(kind, p) for p in ps] for kind, ps in queries(count, seed).items()))
                for item in group]
    asked = mixed(3)
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:  # tantivy lets go of the GIL while it searches
        list(pool.map(lambda item: raw.run(*item), asked))
    raw_rate = len(asked) / (time.perf_counter() - started)
    for clients in CLIENTS:
        paths = [path(kind, p) for kind, p in mixed(clients)]
        started = time.perf_counter()
        asyncio.run(_timed(port, paths, clients))
        rate = len(paths) / (time.perf_counter() - started)
        print(f"throughput, {clients} clients: {rate:,.0f} requests/s "
              f"(raw, 8 threads: {raw_rate:,.0f} queries/s)", flush=True)


async def _timed(port: int, paths: list[str], clients: int = 1) -> list[float]:
    """Each path asked once over `clients` kept-alive connections; the milliseconds of each answer.
    A plain HTTP/1.1 client: it costs far less of the shared cores than the server it measures."""
    todo, timings = iter(paths), []

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for asked in todo:
                started = time.perf_counter()
                writer.write(f"GET {asked} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                await reader.readexactly(int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1)))
                timings.append((time.perf_counter() - started) * 1000)
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(f"{asked}: {head.splitlines()[0].decode()}")
        finally:
            writer.close()
    await asyncio.gather(*(client() for _ in range(clients)))
    return timings


@contextmanager
def serving(folder: Path, settings: Settings, workers: int | None):
    """`catalogue serve` on the data directory in `folder`, on a free port, until done."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "CATALOGUE_DATA_DIR": str(folder), "CATALOGUE_BASE_URI": BASE,
           "CATALOGUE_SEARCH": settings.search, "CATALOGUE_ES_INDEX": settings.es_index}
    log = open(folder / "serve.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "catalogue.cli", "serve", "--port", str(port),
                               *(["--workers", str(workers)] if workers else [])],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with httpx.Client(timeout=60) as client:
            deadline = time.monotonic() + 120
            while True:
                try:
                    client.get(f"http://127.0.0.1:{port}/api/variables", params={"size": 1}).raise_for_status()
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(.2)
        yield Served(server, port)
    except (httpx.HTTPError, RuntimeError, OSError):
        print(f"the server failed (exit {server.poll()}); its log ends:\n"
              + (folder / "serve.log").read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        server.terminate()
        try:  # workers finish the requests they hold first: at a million variables, a while
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:  # the server and its workers, started in a session of their own
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=100, help="per kind of query")
    parser.add_argument("--workers", type=int, help="the server's worker processes (default: its own)")
    parser.add_argument("--backend", choices=SEARCH_BACKENDS, default="embedded")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a single size, in this process
    args = parser.parse_args()
    if args.one:
        run_size(args.one, args.queries, args.backend, args.workers)
        return
    if args.backend == "elasticsearch" and not os.environ.get("CATALOGUE_ES_URL"):
        parser.error("--backend elasticsearch needs CATALOGUE_ES_URL")
    sizes = [int(s) for s in args.sizes.split(",")]
    free = shutil.disk_usage(tempfile.gettempdir()).free
    if too_large := [n for n in sizes if n * DISK_PER_VARIABLE > free]:
        parser.error(f"{max(too_large):,} variables need about {max(too_large) * DISK_PER_VARIABLE / 1e9:,.0f} GB "
                     f"free in {tempfile.gettempdir()}, which has {free / 1e9:,.0f} GB: set TMPDIR to a larger disk")
    cluster = None
    if args.backend == "opensearch" and not os.environ.get("CATALOGUE_ES_URL"):
        sys.path.insert(0, str(ROOT / "tests"))
        from opensearch_cluster import Cluster
        cluster = Cluster(Path(tempfile.mkdtemp(prefix="search-bench-opensearch-")), heap=SERVER_HEAP)
        os.environ["CATALOGUE_ES_URL"] = cluster.url  # for the processes of each size
    try:
        if cluster:
            cluster.start_all()
        for n in sizes:
            subprocess.run([sys.executable, __file__, "--one", str(n), "--queries", str(args.queries),
                            "--backend", args.backend, *(["--workers", str(args.workers)] if args.workers else [])],
                           check=True)
    finally:
        if cluster:
            cluster.stop()
            shutil.rmtree(cluster.folder, ignore_errors=True)


if __name__ == "__main__":
    main()
