"""The explorer's words in bokmål and English."""
from __future__ import annotations

LANGUAGES = ("nb", "en")
DEFAULT = "nb"

WORDS: dict[str, dict[str, str]] = {
    "title": {"nb": "Variabelutforsker", "en": "Variable explorer"},
    "tagline": {"nb": "Finn variabler i norske helseregistre – hvilket register, hvilke år, hva de betydde.",
                "en": "Find variables in Norwegian health registries – which registry, which years, what they meant."},
    "search": {"nb": "Søk", "en": "Search"},
    "search_placeholder": {"nb": "Søk etter variabler, f.eks. fødselsvekt", "en": "Search variables, e.g. birth weight"},
    "results": {"nb": "variabler", "en": "variables"},
    "no_results": {"nb": "Ingen variabler passer søket.", "en": "No variables match the search."},
    "name": {"nb": "Navn", "en": "Name"},
    "description": {"nb": "Beskrivelse", "en": "Description"},
    "source": {"nb": "Kilde", "en": "Source"},
    "publisher": {"nb": "Utgiver", "en": "Publisher"},
    "dataset": {"nb": "Datasett", "en": "Dataset"},
    "theme": {"nb": "Tema", "en": "Theme"},
    "value_type": {"nb": "Verditype", "en": "Value type"},
    "period": {"nb": "Periode", "en": "Period"},
    "periods": {"nb": "Perioder med data", "en": "Periods with data"},
    "years": {"nb": "År med data", "en": "Years with data"},
    "from": {"nb": "Fra år", "en": "From year"},
    "to": {"nb": "Til år", "en": "To year"},
    "filter": {"nb": "Filtrer", "en": "Filter"},
    "reset": {"nb": "Nullstill", "en": "Clear"},
    "previous": {"nb": "Forrige", "en": "Previous"},
    "next": {"nb": "Neste", "en": "Next"},
    "page": {"nb": "Side", "en": "Page"},
    "of": {"nb": "av", "en": "of"},
    "ongoing": {"nb": "pågående", "en": "ongoing"},
    "identifier": {"nb": "Kortnavn", "en": "Short name"},
    "label_en": {"nb": "Engelsk navn", "en": "English name"},
    "unit": {"nb": "Enhet", "en": "Unit"},
    "code_list": {"nb": "Kodeliste", "en": "Code list"},
    "codes": {"nb": "Koder", "en": "Codes"},
    "code": {"nb": "Kode", "en": "Code"},
    "label": {"nb": "Betydning", "en": "Meaning"},
    "versions": {"nb": "Versjoner", "en": "Versions"},
    "valid": {"nb": "Gyldig", "en": "Valid"},
    "uri": {"nb": "URI", "en": "URI"},
    "rdf": {"nb": "RDF (Turtle)", "en": "RDF (Turtle)"},
    "json": {"nb": "JSON", "en": "JSON"},
    "variables": {"nb": "Variabler", "en": "Variables"},
    "keywords": {"nb": "Emneord", "en": "Keywords"},
    "contact": {"nb": "Kontakt", "en": "Contact"},
    "access_rights": {"nb": "Tilgang", "en": "Access"},
    "landing_page": {"nb": "Nettside", "en": "Web page"},
    "coverage": {"nb": "Tidsdekning", "en": "Time coverage"},
    "sources": {"nb": "Kilder", "en": "Sources"},
    "status": {"nb": "Status", "en": "Status"},
    "harvested": {"nb": "Sist høstet", "en": "Last harvested"},
    "accepted": {"nb": "Godtatt", "en": "Accepted"},
    "held_back": {"nb": "Holdt tilbake", "en": "Held back"},
    "error": {"nb": "Feil ved siste høsting", "en": "Last harvest failed"},
    "record": {"nb": "Post", "en": "Record"},
    "problem": {"nb": "Problem", "en": "Problem"},
    "catalogue": {"nb": "DCAT-katalog", "en": "DCAT catalogue"},
    "harvests": {"nb": "Høstinger", "en": "Harvests"},
    "harvest_run": {"nb": "Høsting", "en": "Harvest run"},
    "started": {"nb": "Startet", "en": "Started"},
    "ended": {"nb": "Ferdig", "en": "Ended"},
    "seconds": {"nb": "Sekunder", "en": "Seconds"},
    "seen": {"nb": "Lest", "en": "Seen"},
    "added": {"nb": "Nye", "en": "Added"},
    "changed": {"nb": "Endret", "en": "Changed"},
    "unchanged": {"nb": "Uendret", "en": "Unchanged"},
    "removed": {"nb": "Fjernet", "en": "Removed"},
    "kept": {"nb": "Beholdt forrige versjon", "en": "Previous version kept"},
    "status_ok": {"nb": "OK", "en": "OK"},
    "status_unchanged": {"nb": "Ingen endring hos kilden", "en": "Source unchanged"},
    "status_failed": {"nb": "Feilet – forrige graf beholdt", "en": "Failed – previous graph kept"},
    "fetched": {"nb": "Hentede dokumenter", "en": "Fetched documents"},
    "not_modified": {"nb": "uendret (304)", "en": "not modified (304)"},
    "changes": {"nb": "Endringer", "en": "Changes"},
    "warnings": {"nb": "Advarsler (postene er godtatt)", "en": "Warnings (the records were accepted)"},
    "all_sources": {"nb": "Alle kilder", "en": "All sources"},
    "no_runs": {"nb": "Ingen høstinger ennå.", "en": "No harvests yet."},
    "more_changes": {"nb": "Viser de første {n}.", "en": "Showing the first {n}."},
    "not_found": {"nb": "Fant ikke", "en": "Not found"},
    "all_variables": {"nb": "Alle variabler", "en": "All variables"},
    "more_values": {"nb": "flere", "en": "more"},
}

VALUE_TYPES: dict[str, dict[str, str]] = {
    "code_list": {"nb": "Kodeliste", "en": "Code list"},
    "integer": {"nb": "Heltall", "en": "Integer"},
    "decimal": {"nb": "Desimaltall", "en": "Decimal"},
    "string": {"nb": "Tekst", "en": "Text"},
    "date": {"nb": "Dato", "en": "Date"},
    "boolean": {"nb": "Ja/nei", "en": "Yes/no"},
    "unknown": {"nb": "Ukjent", "en": "Unknown"},
}


def pick(text: dict[str, str] | None, lang: str) -> str:
    """The text in `lang`, else in the other language, else empty."""
    if not text:
        return ""
    return text.get(lang) or text.get(DEFAULT) or next(iter(text.values()), "")


def words(lang: str) -> dict[str, str]:
    return {key: value.get(lang, value[DEFAULT]) for key, value in WORDS.items()}
