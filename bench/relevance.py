"""Relevance: do applicants' queries find what a registry expert expects on the first page?

Run: .venv/bin/python bench/relevance.py [--data DIR] [--show N]

Harvests the bundled demo into a scratch directory (or uses `--data`, a data directory that
already holds it), runs the judged queries through the configured search backend
(CATALOGUE_SEARCH) and prints recall@10, MRR and nDCG@10 per query group and overall for two
sets side by side: the tuning set (bench/relevance_judgments.toml, which the synonyms and the
ranking are written against; the targets apply to it) and the held-out set
(bench/relevance_heldout.toml, written before reading the vocabulary and never tuned to,
which says whether search generalises; the same targets are reported for it, met or not).
Then the queries of each set that missed something (`--show`).
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

SETS = {"tuning": Path(__file__).with_name("relevance_judgments.toml"),
        "held-out": Path(__file__).with_name("relevance_heldout.toml")}
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


def score(settings: Settings, judgments: Path) -> list[Scored]:
    from catalogue.search import Query, open_backend, open_concepts
    backend, concepts = open_backend(settings), open_concepts(settings)
    judged = tomllib.loads(judgments.read_text(encoding="utf-8"))["query"]
    return [Scored(q["group"], q["text"], q["relevant"],
                   [hit.id for hit in backend.search(Query(text=q["text"], via=concepts.via(q["text"]), size=K)).items])
            for q in judged]


def figures(scored: list[Scored]) -> dict[str, tuple[int, float, float, float]]:
    """Per group and overall: queries, mean recall@10, MRR and nDCG@10."""
    out = {}
    for group in [*sorted({s.group for s in scored}), "overall"]:
        rows = [s for s in scored if group in ("overall", s.group)]
        out[group] = (len(rows), statistics.fmean(s.recall for s in rows),
                      statistics.fmean(s.reciprocal_rank for s in rows), statistics.fmean(s.ndcg for s in rows))
    return out


def verdict(recalls: dict[str, float]) -> str:
    low = [g for g, r in recalls.items() if g != "overall" and r < TARGET_GROUP]
    return (f"recall@10 >= {TARGET_OVERALL} overall: {'met' if recalls['overall'] >= TARGET_OVERALL else 'NOT met'}"
            f"; no group below {TARGET_GROUP}: {'met' if not low else 'NOT met (' + ', '.join(low) + ')'}")


def report(scored: dict[str, list[Scored]], show: int) -> None:
    table = {name: figures(rows) for name, rows in scored.items()}
    groups = sorted({g for t in table.values() for g in t if g != "overall"}) + ["overall"]
    print(f"{'':<10} " + " | ".join(f"{name:^33}" for name in table))
    print(f"{'group':<10} " + " | ".join(f"{'queries':>7} {'recall@10':>10} {'MRR':>6} {'nDCG@10':>7}" for _ in table))
    for group in groups:
        cells = [t.get(group) for t in table.values()]
        print(f"{group:<10} " + " | ".join(f"{c[0]:>7} {c[1]:>10.3f} {c[2]:>6.3f} {c[3]:>7.3f}" if c else f"{'':>33}"
                                           for c in cells))
    print()
    for name, t in table.items():
        print(f"{name} set: {verdict({g: c[1] for g, c in t.items()})}"
              + ("" if name == "tuning" else " (reported only: never tuned to)"))
    for name, rows in scored.items():
        missed = sorted((s for s in rows if s.recall < 1), key=lambda s: s.recall)[:show]
        if missed:
            print(f"\n{name} queries that missed something (worst {len(missed)}):")
            for s in missed:
                lost = [r for r in s.relevant if r not in s.found[:K]]
                print(f"  [{s.group}] {s.text!r}: recall {s.recall:.2f}; not in the first {K}: {', '.join(lost)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="a data directory that holds the harvested demo")
    parser.add_argument("--show", type=int, default=20, help="how many missed queries of each set to list")
    args = parser.parse_args()

    def run(settings: Settings) -> None:
        report({name: score(settings, path) for name, path in SETS.items()}, args.show)

    if args.data:
        run(Settings.from_env({**os.environ, "CATALOGUE_DATA_DIR": str(args.data)}))
        return
    from catalogue.pipeline.harvest import harvest
    from catalogue.sources import load_config
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.from_env({**os.environ, "CATALOGUE_DATA_DIR": folder})
        harvest(settings, load_config(settings.sources_file))
        run(settings)


if __name__ == "__main__":
    main()
