"""The applicant's list as a sheet to attach to an application: one row per variable, the
columns an application form asks for, in the page's language (bokmål or English)."""
from __future__ import annotations

from typing import Any

from catalogue.model.models import Period
from catalogue.site.i18n import access_name, pick


# The export's columns, as an application form asks for them: key (JSON), bokmål and English header.
EXPORT_COLUMNS = (
    ("holder", "Dataansvarlig", "Data controller"), ("register", "Register", "Register"),
    ("dataset", "Datasett", "Dataset"), ("variable", "Variabel-ID", "Variable id"),
    ("name", "Kortnavn", "Short name"), ("label", "Navn", "Name"), ("description", "Beskrivelse", "Description"),
    ("periods_with_data", "Perioder med data", "Periods with data"),
    ("wanted_from", "Ønsket fra år", "Wanted from year"), ("wanted_to", "Ønsket til år", "Wanted to year"),
    ("note", "Begrunnelse og merknad", "Justification and note"), ("access", "Tilgangsnivå", "Access level"),
    ("code_list", "Kodeverk", "Code list"),
    ("code_list_versions", "Kodeverksversjoner i årene", "Code list versions in the years"),
    ("warnings", "Advarsler om årene", "Warnings about the years"),
    ("code_changes", "Kodeendringer i årene", "Code changes in the years"),
    ("page", "Lenke", "Link"), ("dataset_uri", "Datasettets URI", "Dataset URI"),
)
CODES_LISTED = 100  # codes named per kind of change in an export cell; the count is always whole
CHANGE_WORDS = {"removed": {"nb": "fjernet", "en": "removed"}, "added": {"nb": "nye", "en": "added"},
                "relabelled": {"nb": "endret tekst", "en": "text changed"}}


def export_header(lang: str) -> list[str]:
    return [nb if lang == "nb" else en for _, nb, en in EXPORT_COLUMNS]


def export_rows(items: list[dict[str, Any]], base_uri: str, lang: str) -> list[list]:
    """A row per item of the list page's context (EXPORT_COLUMNS), in the page's language."""
    rows = []
    for item in items:
        doc = item["doc"] or {}
        changes = item.get("code_changes") or {}
        values = {
            "holder": pick(doc.get("publisher_name"), lang), "register": doc.get("source_name", ""),
            "dataset": pick(doc.get("dataset_title"), lang), "variable": item["variable"],
            "name": doc.get("name", ""), "label": pick(doc.get("label"), lang),
            "description": pick(doc.get("description"), lang),
            "periods_with_data": ", ".join(Period.model_validate(p).label() for p in doc.get("periods", [])),
            "wanted_from": item["wanted_from"], "wanted_to": item["wanted_to"], "note": item["note"],
            "access": access_name(doc["access_rights"], lang) if doc.get("access_rights") else "",
            "code_list": pick(doc.get("code_list_title"), lang),
            "code_list_versions": ", ".join(changes.get("versions", [])),
            "warnings": " ".join(pick(w, lang) for w in item.get("warnings", [])),
            "code_changes": "; ".join(_step_text(step, lang) for step in changes.get("changes", [])),
            "page": f"{base_uri}variables/{item['variable']}", "dataset_uri": doc.get("dataset_uri", ""),
        }
        rows.append([values[key] for key, _, _ in EXPORT_COLUMNS])
    return rows


def _step_text(step: dict[str, Any], lang: str) -> str:
    """One version to the next in words: "2025 → 2026: 5 fjernet (M1906, ...)"."""
    parts = []
    for kind, words in CHANGE_WORDS.items():
        if step["counts"][kind]:
            codes = [c["code"] for c in step[kind][:CODES_LISTED]]
            more = ", …" if step["counts"][kind] > len(codes) else ""
            parts.append(f"{step['counts'][kind]} {words[lang]} ({', '.join(codes)}{more})")
    return f"{step['from']} → {step['to']}: " + (", ".join(parts) or {"nb": "ingen endringer", "en": "no changes"}[lang])
