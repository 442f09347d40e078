"""Relevance: do applicants' queries find what a registry expert expects on the first page?

Run: .venv/bin/python bench/relevance.py [--data DIR] [--show N]

Harvests the bundled demo into a scratch directory (or uses `--data`, a data directory that
already holds it), runs every query of bench/relevance_judgments.toml through the configured
search backend (CATALOGUE_SEARCH), and prints recall@10, MRR and nDCG@10 per query group and
overall, the targets, and the queries that missed something (`--show`).
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from catalogue.settings import Settings

JUDGMENTS = Path(__file__).with_name("relevance_judgments.toml")
K = 10
TARGET_OVERALL, TARGET_GROUP = 0.95, 0.85


@dataclass
class Scored:
    group: str
    text: str
    relevant: list[str]
    found: list[str]

    @property
    def recall(self) -> float:
        return len(set(self.found[:K]) & set(self.relevant)) / len(self.relevant)

    @property
    def reciprocal_rank(self) -> float:
        return next((1 / rank for rank, hit in enumerate(self.found[:K], 1) if hit in self.relevant), 0.0)

    @property
    def ndcg(self) -> float:
        gain = sum(1 / math.log2(rank + 1) for rank, hit in enumerate(self.found[:K], 1) if hit in self.relevant)
        ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(K, len(self.relevant)) + 1))
        return gain / ideal


def score(settings: Settings) -> list[Scored]:
    from catalogue.search import Query, open_backend, open_concepts
    backend, concepts = open_backend(settings), open_concepts(settings)
    judged = tomllib.loads(JUDGMENTS.read_text(encoding="utf-8"))["query"]
    return [Scored(q["group"], q["text"], q["relevant"],
                   [hit.id for hit in backend.search(Query(text=q["text"], via=concepts.via(q["text"]), size=K)).items])
            for q in judged]


def report(scored: list[Scored], show: int) -> None:
    groups = sorted({s.group for s in scored})
    print(f"{'group':<10} {'queries':>7} {'recall@10':>10} {'MRR':>6} {'nDCG@10':>8}")
    recalls = {}
    for group in [*groups, "overall"]:
        rows = [s for s in scored if group in ("overall", s.group)]
        recalls[group] = statistics.fmean(s.recall for s in rows)
        print(f"{group:<10} {len(rows):>7} {recalls[group]:>10.3f} "
              f"{statistics.fmean(s.reciprocal_rank for s in rows):>6.3f} "
              f"{statistics.fmean(s.ndcg for s in rows):>8.3f}")
    low = [g for g in groups if recalls[g] < TARGET_GROUP]
    print(f"\ntarget recall@10 >= {TARGET_OVERALL} overall: {'met' if recalls['overall'] >= TARGET_OVERALL else 'NOT met'}"
          f"; no group below {TARGET_GROUP}: {'met' if not low else 'NOT met (' + ', '.join(low) + ')'}")
    missed = sorted((s for s in scored if s.recall < 1), key=lambda s: s.recall)[:show]
    if missed:
        print(f"\nqueries that missed something (worst {len(missed)}):")
        for s in missed:
            lost = [r for r in s.relevant if r not in s.found[:K]]
            print(f"  [{s.group}] {s.text!r}: recall {s.recall:.2f}; not in the first {K}: {', '.join(lost)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="a data directory that holds the harvested demo")
    parser.add_argument("--show", type=int, default=20, help="how many missed queries to list")
    args = parser.parse_args()
    if args.data:
        settings = Settings.from_env({**os.environ, "CATALOGUE_DATA_DIR": str(args.data)})
        report(score(settings), args.show)
        return
    from catalogue.pipeline.harvest import harvest
    from catalogue.sources import load_config
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.from_env({**os.environ, "CATALOGUE_DATA_DIR": folder})
        harvest(settings, load_config(settings.sources_file))
        report(score(settings), args.show)


if __name__ == "__main__":
    main()
