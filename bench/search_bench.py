"""Index build time and query latency of the embedded backend on synthetic variables.

Run: .venv/bin/python bench/search_bench.py [N]   (default 20000 variables)
Prints medians; this machine is shared, so compare medians, not single runs.
"""
from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from catalogue.models import Period
from catalogue.search import EmbeddedBackend, Query, VariableDoc

WORDS = ("fødselsvekt svangerskap diagnose behandling kommune fylke sykehus legemiddel resept "
         "dødsårsak kreft svulst screening vaksine smitte kontakt fastlege legevakt alder kjønn "
         "sivilstand utdanning inntekt røyking høyde vekt blodtrykk innleggelse utskrivning").split()
QUERIES = ["fødselsvekt", "kreft", "diagnose sykehus", "røyking svangerskap", "fylke", "legemiddel"]


def synthetic(n: int) -> list[VariableDoc]:
    rng = random.Random(1)
    docs = []
    for i in range(n):
        source = f"kilde{i % 10}"
        start = rng.randint(1951, 2015)
        docs.append(VariableDoc(
            id=f"{source}/ds{i % 200}/V{i}", uri=f"http://bench.test/v/{i}", name=f"V{i}",
            label={"nb": " ".join(rng.sample(WORDS, 2)).capitalize(), "en": "Variable"},
            description={"nb": " ".join(rng.choices(WORDS, k=rng.randint(20, 60)))},
            source=source, source_name=source, publisher=f"p{i % 4}", dataset=f"{source}/ds{i % 200}",
            dataset_uri=f"http://bench.test/ds/{i % 200}", themes=[f"t{i % 7}"],
            value_type=rng.choice(["integer", "string", "code_list"]),
            periods=[Period(start=date(start, 1, 1),
                            end=None if rng.random() < .6 else date(rng.randint(start, 2024), 12, 31))]))
    return docs


def main(n: int) -> None:
    docs = synthetic(n)
    with tempfile.TemporaryDirectory() as folder:
        backend = EmbeddedBackend(Path(folder))
        builds = []
        for _ in range(3):
            started = time.perf_counter()
            backend.rebuild(docs)
            builds.append(time.perf_counter() - started)
        latencies = []
        for _ in range(5):
            for text in QUERIES:
                for query in (Query(text=text), Query(text=text, filters={"source": ("kilde3",)},
                                                      year_from=2000, year_to=2010)):
                    started = time.perf_counter()
                    backend.search(query)
                    latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    print(f"variables: {n}")
    print(f"index build: median {statistics.median(builds):.2f} s over {len(builds)} runs")
    print(f"search with total and 5 facets: median {statistics.median(latencies):.1f} ms, "
          f"p95 {latencies[int(len(latencies) * .95)]:.1f} ms over {len(latencies)} queries")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
