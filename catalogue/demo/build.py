"""Builds the demo's variable lists of MFR, SYSVAK and MSIS from codebooks of real registry
extracts: the Markdown codebooks MobaRun/phenotypes generated from the SPSS files of MFR,
SYSVAK and MSIS extracts linked to the MoBa cohort (CC-BY-4.0). Each becomes a CSV in the
layout the demo's `table` sources read: the variable's name, its label, its English label
where an English codebook gives one, and its categories as codes (the counts are dropped:
they describe the extract's data, not the variable).

    python -m catalogue.demo.build CORPUS_DIR

CORPUS_DIR holds `variables/norwegian-registries/moba-linked-extracts/`. The files are
written over `files/` (edition 1) and `edition-2/` (a later delivery) beside this module;
the same input always gives the same bytes.
"""
from __future__ import annotations

import csv
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

DEMO = Path(__file__).parent
EXTRACTS = Path("variables", "norwegian-registries", "moba-linked-extracts")
HEADER = ["Variabelnavn", "Variabel", "Variable (English)", "Datatype", "Verdier"]
# A codebook's summary of a numeric variable: an SPSS date counts seconds from 1582-10-14,
# so any date after 1899 is above this.
SPSS_DATE_FLOOR = 1e10


@dataclass
class Variable:
    name: str
    label: str  # "" where the codebook gives none
    kind: str  # "Kode", "Heltall", "Desimaltall" or "Dato"
    categories: list[str] = field(default_factory=list)


def read_codebook(path: Path) -> dict[str, Variable]:
    """The variables of one codebook, in its order. A section is `### NAME`, the variable's
    SPSS label (`NAME:RECORD; label; .`, or the bare label), then a table of categories or
    of summary statistics."""
    text = path.read_text(encoding="utf-8")
    variables: dict[str, Variable] = {}
    for section in re.split(r"^### ", text, flags=re.M)[1:]:
        name, _, body = section.partition("\n")
        name = name.strip()
        before_table, _, table = body.partition("\n|")
        label = " ".join(line.strip() for line in before_table.splitlines() if line.strip())
        spss = re.fullmatch(rf"{re.escape(name)}:[^;]*;\s*(.*?)\s*(?:;\s*\.?)?", label, flags=re.S)
        label = spss.group(1) if spss else label
        rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
                for line in ("|" + table).splitlines() if line.startswith("|")]
        if not rows:
            raise ValueError(f"{path}: variable {name}: no table of categories or values")
        if rows[0][0] == "Category":
            categories = sorted({_as_code(row[0]) for row in rows[2:] if row[0] not in ("", "NA")}, key=_natural)
            for category in categories:
                if re.search(r"[;|]", category):
                    raise ValueError(f"{path}: variable {name}: category {category!r} has ';' or '|'")
            variables[name] = Variable(name, "" if label == name else label, "Kode", categories)
        else:  # a summary: of text (`Class: character`) or of numbers (Min., Median ...)
            summary = {row[0]: row[1] for row in rows[2:]}
            variables[name] = Variable(name, "" if label == name else label, _kind(summary))
    return variables


def _kind(summary: dict[str, str]) -> str:
    if summary.get("Class") == "character":
        return "Tekst"
    stats = {key: float(value) for key, value in summary.items() if value not in ("", "NA")}
    if stats.get("Min.", 0) > SPSS_DATE_FLOOR:
        return "Dato"
    return "Heltall" if all(value == int(value) for key, value in stats.items() if key != "Mean") else "Desimaltall"


def _as_code(category: str) -> str:
    """A category as a code of the table's `code=label` cells, which cannot hold `=`:
    `>=` and `<=` as `≥` and `≤`, any other `=` as `＝`."""
    return category.replace(">=", "≥").replace("<=", "≤").replace("=", "＝")


def _natural(text: str) -> tuple:
    """Numbers in their order (2 before 10), then text."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text) if part)


def merge(*codebooks: dict[str, Variable]) -> dict[str, Variable]:
    """One delivery's files (a child's, a mother's, a father's ...) as one list: a variable in
    several keeps the first label it has and all its categories."""
    merged: dict[str, Variable] = {}
    for book in codebooks:
        for name, variable in book.items():
            if name not in merged:
                merged[name] = Variable(name, variable.label, variable.kind, list(variable.categories))
                continue
            known = merged[name]
            known.label = known.label or variable.label
            known.categories = sorted(set(known.categories) | set(variable.categories), key=_natural)
    return merged


def table(variables: dict[str, Variable], english: dict[str, Variable]) -> bytes:
    """The CSV of a table source: `;`-separated UTF-8, one row a variable. A variable without a
    label in the codebook is labelled by its name (as the extract shows it)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(HEADER)
    for variable in variables.values():
        other = english.get(variable.name)
        writer.writerow([variable.name, variable.label or variable.name, other.label if other else "",
                         variable.kind, "; ".join(f"{c}={c}" for c in variable.categories)])
    return out.getvalue().encode("utf-8")


def build(corpus: Path) -> dict[Path, bytes]:
    """Every file this module makes, by its path under the demo folder."""
    extracts = corpus / EXTRACTS
    mfr_2023 = read_codebook(extracts / "MFR_extract_nb_2023.md")
    mfr_2025 = read_codebook(extracts / "MFR_extract_en_2025.md")
    # The 2025 delivery, Norwegian where the 2023 one names a variable: its labels and
    # categories are English translations of the same SPSS file's.
    mfr_2025_nb = {name: mfr_2023.get(name, Variable(name, "", variable.kind, variable.categories))
                   for name, variable in mfr_2025.items()}

    def sysvak(date: str) -> dict[str, Variable]:
        return merge(*(read_codebook(extracts / "sysvak" / f"{date}_PDB2824_SYSVAK_{who}.md")
                       for who in ("Barn", "Mor", "Far")))

    msis = merge(*(read_codebook(extracts / "msis" / f"2021_05_27_PDB2824_MSIS_{who}.md")
                   for who in ("Barn", "Mor", "Far")))
    return {
        Path("files", "mfr-variabelliste.csv"): table(mfr_2023, mfr_2025),
        Path("edition-2", "mfr-variabelliste.csv"): table(mfr_2025_nb, mfr_2025),
        Path("files", "sysvak-variabelliste.csv"): table(sysvak("2021_04_09"), {}),
        Path("edition-2", "sysvak-variabelliste.csv"): table(sysvak("2021_09_16"), {}),
        Path("files", "msis-variabelliste.csv"): table(msis, {}),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m catalogue.demo.build CORPUS_DIR", file=sys.stderr)
        return 2
    for path, content in build(Path(argv[0])).items():
        (DEMO / path).write_bytes(content)
        print(DEMO / path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
