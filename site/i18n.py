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
    "bad_request": {"nb": "Ugyldig forespørsel", "en": "Invalid request"},
    "all_variables": {"nb": "Alle variabler", "en": "All variables"},
    "more_values": {"nb": "flere", "en": "more"},
    "period_match": {"nb": "Årene gjelder", "en": "The years mean"},
    "period_overlap": {"nb": "data i minst ett av årene", "en": "data in some of the years"},
    "period_cover": {"nb": "data i hvert av årene", "en": "data in every one of the years"},
    "coverage_derived": {"nb": "Tidsdekning (fra variablene)", "en": "Time coverage (from its variables)"},
    "declared_period": {"nb": "Oppgitt periode", "en": "Declared period"},
    "timeline": {"nb": "Tidslinje", "en": "Timeline"},
    "availability": {"nb": "År med data per variabel", "en": "Years with data per variable"},
    "availability_note": {"nb": "✓ = data det året", "en": "✓ = data that year"},
    "variable": {"nb": "Variabel", "en": "Variable"},
    "csv": {"nb": "CSV", "en": "CSV"},
    "last_harvest": {"nb": "Siste høsting", "en": "Last harvest"},
    "history": {"nb": "Historikk", "en": "History"},
    "history_note": {"nb": "Det katalogen har sett endre seg mellom høstinger, nyeste først.",
                     "en": "What the catalogue saw change between harvests, newest first."},
    "no_history": {"nb": "Ingen endringer registrert.", "en": "No changes recorded."},
    "declared_versions": {"nb": "Versjoner oppgitt av kilden", "en": "Versions declared by the source"},
    "version": {"nb": "Versjon", "en": "Version"},
    "notes": {"nb": "Merknad", "en": "Note"},
    "version_notes": {"nb": "Versjonsmerknad", "en": "Version notes"},
    "previous_version": {"nb": "Forrige versjon", "en": "Previous version"},
    "field": {"nb": "Felt", "en": "Field"},
    "old_value": {"nb": "Før", "en": "Before"},
    "new_value": {"nb": "Etter", "en": "After"},
    "when": {"nb": "Når", "en": "When"},
    "what": {"nb": "Hva", "en": "What"},
    "by": {"nb": "Kilde og høsting", "en": "Source and run"},
    "recent_changes": {"nb": "Endringer i katalogen", "en": "Changes in the catalogue"},
    "changes_since": {"nb": "Endringer siden", "en": "Changes since"},
    "atom_feed": {"nb": "Atom-strøm", "en": "Atom feed"},
    "no_changes": {"nb": "Ingen endringer i perioden.", "en": "No changes in this period."},
    "show": {"nb": "Vis", "en": "Show"},
    "kind_variable": {"nb": "variabel", "en": "variable"},
    "kind_dataset": {"nb": "datasett", "en": "dataset"},
    "kind_code_list": {"nb": "kodeliste", "en": "code list"},
    "kind_version": {"nb": "versjon", "en": "version"},
    "kind_source": {"nb": "kilde", "en": "source"},
    "explorer_no_holder": {"nb": "Uten oppgitt utgiver", "en": "No publisher given"},
    "similar": {"nb": "Lignende variabler i andre registre", "en": "Similar variables in other registries"},
    "similar_note": {"nb": "Funnet ved søk på navnet (samme ord, ordstammer og synonymer), ikke kontrollert av en fagperson.",
                     "en": "Found by searching for the name (the same words, stems and synonyms), not checked by an expert."},
    "partners": {"nb": "For høstere", "en": "For harvesters"},
    "partners_endpoints": {"nb": "Endepunkter", "en": "Endpoints"},
    "partners_catalog": {"nb": "Hele katalogen i Turtle, JSON-LD, RDF/XML eller N-Triples etter Accept (eller ?format=ttl|jsonld|rdf|nt).",
                         "en": "The whole catalogue in Turtle, JSON-LD, RDF/XML or N-Triples by Accept (or ?format=ttl|jsonld|rdf|nt)."},
    "partners_pages": {"nb": "Sider med Hydra-lenker (hydra:next, hydra:last, hydra:totalItems); hver ressurs er hel på én side.",
                       "en": "Pages with Hydra links (hydra:next, hydra:last, hydra:totalItems); each resource is whole on one page."},
    "partners_since": {"nb": "Bare det som er endret siden (dct:modified), for høsting av endringer.",
                       "en": "Only what changed since (dct:modified), for harvesting changes."},
    "partners_ids": {"nb": "Alle URI-er katalogen lager kan slås opp: RDF etter Accept, nettleseren sendes til siden.",
                     "en": "Every URI the catalogue mints dereferences: RDF by Accept, browsers are sent to the page."},
    "partners_sparql": {"nb": "SPARQL 1.1 (kun lesing), svar som SPARQL JSON, XML eller CSV.",
                        "en": "SPARQL 1.1 (read-only), answers as SPARQL JSON, XML or CSV."},
    "partners_changes": {"nb": "Endringene i katalogen som Atom-strøm.", "en": "The catalogue's changes as an Atom feed."},
    "partners_example": {"nb": "Eksempel på høsting", "en": "Example harvest"},
    "partners_example_note": {"nb": "Som en kilde i en annen instans av denne katalogen (sources.toml), og med curl:",
                              "en": "As a source in another instance of this catalogue (sources.toml), and with curl:"},
    "named_matches": {"nb": "Datasett, kilder og kodelister som passer", "en": "Matching datasets, sources and code lists"},
    "add_to_list": {"nb": "Legg til i listen", "en": "Add to list"},
    "my_list": {"nb": "Min variabelliste", "en": "My variable list"},
    "list_intro": {"nb": "Variablene du vil søke om. Skriv for hver hva slags data du trenger og for hvilke år, og eksporter listen til søknaden.",
                   "en": "The variables you want to apply for. Note for each what data you need and for which years, and export the list for your application."},
    "list_empty": {"nb": "Listen er tom. Legg til variabler fra søket eller fra en variabelside.",
                   "en": "The list is empty. Add variables from the search or from a variable page."},
    "not_in_catalogue": {"nb": "finnes ikke lenger i katalogen", "en": "no longer in the catalogue"},
    "note_label": {"nb": "Hvilke data trengs, og hvorfor", "en": "What data is wanted, and why"},
    "years_wanted": {"nb": "Ønskede år", "en": "Years wanted"},
    "save": {"nb": "Lagre", "en": "Save"},
    "move_up": {"nb": "Flytt opp", "en": "Move up"},
    "move_down": {"nb": "Flytt ned", "en": "Move down"},
    "remove_item": {"nb": "Fjern", "en": "Remove"},
    "export": {"nb": "Eksporter", "en": "Export"},
    "export_note": {"nb": "Én rad per variabel: variabel, kilde, datasett, perioder med data, ønskede år og merknad – klar til å legge ved søknaden.",
                    "en": "One row per variable: variable, source, dataset, periods with data, years wanted and note – ready to attach to the application."},
    "share": {"nb": "Del listen", "en": "Share the list"},
    "share_note": {"nb": "Lager en kort kode og lenke som alle kan åpne i {days} dager. Bare variablene, merknadene og årene lagres.",
                   "en": "Makes a short code and link anyone can open for {days} days. Only the variables, notes and years are stored."},
    "share_button": {"nb": "Lag delingslenke", "en": "Make a share link"},
    "shared_list": {"nb": "Delt variabelliste", "en": "Shared variable list"},
    "shared_until": {"nb": "Kan åpnes til {date}.", "en": "Can be opened until {date}."},
    "copy_list": {"nb": "Kopier til min liste", "en": "Copy into my list"},
    "open_shared": {"nb": "Åpne en delt liste med kode", "en": "Open a shared list by its code"},
    "has_code_list": {"nb": "Har kodeliste", "en": "Has a code list"},
    "decade": {"nb": "Tiår med data", "en": "Decade with data"},
    "yes": {"nb": "Ja", "en": "Yes"},
    "no": {"nb": "Nei", "en": "No"},
    "decade_value": {"nb": "{d}-tallet", "en": "{d}s"},
    "sort": {"nb": "Sorter", "en": "Sort"},
    "sort_relevance": {"nb": "Mest relevant", "en": "Relevance"},
    "sort_name": {"nb": "Kortnavn", "en": "Short name"},
    "sort_first_year": {"nb": "Eldste data først", "en": "Oldest data first"},
    "sort_desc_first_year": {"nb": "Nyeste start først", "en": "Latest start first"},
    "sort_source": {"nb": "Kilde", "en": "Source"},
    "event_added": {"nb": "Lagt til", "en": "Added"},
    "event_changed": {"nb": "Endret", "en": "Changed"},
    "event_removed": {"nb": "Fjernet", "en": "Removed"},
    "as_of": {"nb": "Slik variabelen var", "en": "The variable as it was on"},
    "as_of_ask": {"nb": "Vis variabelen slik den var på dato", "en": "Show the variable as it was on"},
    "as_of_now": {"nb": "Vis slik den er nå", "en": "Show as it is now"},
    "as_of_declared": {"nb": "Versjonen kilden oppgir som gyldig den dagen", "en": "The version the source declares valid that day"},
    "as_of_harvested": {"nb": "Versjonen katalogen hadde høstet da", "en": "The version the catalogue had harvested by then"},
    "as_of_earliest": {"nb": "Datoen er før katalogen først høstet variabelen; dette er den eldste versjonen den har", "en": "The date is before the catalogue first harvested the variable; this is the earliest version it holds"},
    "as_of_current": {"nb": "Ingen historikk er registrert; dette er slik den er nå", "en": "No history is recorded; this is how it is now"},
    "code_changes": {"nb": "Endring mellom versjoner", "en": "Change between versions"},
    "replaces": {"nb": "Erstatter", "en": "Replaces"},
    "replaced_by": {"nb": "Erstattet av", "en": "Replaced by"},
    "codes_removed": {"nb": "fjernet eller endret", "en": "removed or changed"},
    "codes_added": {"nb": "ny eller endret", "en": "new or changed"},
    # The explorer's search page (templates/explorer.html, static/explorer.js)
    "explorer_skip": {"nb": "Hopp til treffene", "en": "Skip to the results"},
    "explorer_search_label": {"nb": "Søk etter variabler", "en": "Search for variables"},
    "explorer_results": {"nb": "Treff", "en": "Results"},
    "explorer_filters": {"nb": "Filtre", "en": "Filters"},
    "explorer_selected": {"nb": "valgt", "en": "selected"},
    "explorer_columns": {"nb": "Kolonner", "en": "Columns"},
    "explorer_columns_legend": {"nb": "Vis disse kolonnene i tabellen", "en": "Show these columns in the table"},
    "explorer_columns_apply": {"nb": "Bruk kolonnene", "en": "Apply columns"},
    "explorer_list_column": {"nb": "Liste", "en": "List"},
    "explorer_added": {"nb": "Lagt til", "en": "Added"},
    "explorer_add_failed": {"nb": "Kunne ikke legge til i listen. Prøv igjen.",
                            "en": "Could not add to the list. Please try again."},
    "explorer_pages": {"nb": "Sider med treff", "en": "Result pages"},
    "explorer_page_of": {"nb": "side {page} av {pages}", "en": "page {page} of {pages}"},
}

# The fields a change event can name (catalogue.history.KINDS).
FIELD_NAMES: dict[str, dict[str, str]] = {
    "identifier": WORDS["identifier"], "label": WORDS["name"], "title": {"nb": "Tittel", "en": "Title"},
    "description": WORDS["description"], "value_type": WORDS["value_type"],
    "code_list": WORDS["code_list"], "unit": WORDS["unit"], "periods": WORDS["periods"],
    "dataset": WORDS["dataset"], "themes": WORDS["theme"], "publisher": WORDS["publisher"],
    "access_rights": WORDS["access_rights"], "keywords": WORDS["keywords"],
    "landing_page": WORDS["landing_page"], "versions": WORDS["versions"],
    "version_label": WORDS["version"], "codes": WORDS["codes"], "version": WORDS["version"],
    "valid": WORDS["valid"], "notes": WORDS["notes"], "representation": WORDS["value_type"],
    "previous": {"nb": "Forrige versjon", "en": "Previous version"},
    "version_notes": WORDS["version_notes"],
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


# The EU access-right authority table, as datasets state access
ACCESS_RIGHTS: dict[str, dict[str, str]] = {
    "http://publications.europa.eu/resource/authority/access-right/PUBLIC": {"nb": "Åpen", "en": "Public"},
    "http://publications.europa.eu/resource/authority/access-right/RESTRICTED": {"nb": "Begrenset", "en": "Restricted"},
    "http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC": {"nb": "Ikke-offentlig", "en": "Non-public"},
}


def access_name(uri: str, lang: str) -> str:
    """An EU access-right URI in words (its last part for one the table does not know)."""
    return pick(ACCESS_RIGHTS.get(uri), lang) or uri.rsplit("/", 1)[-1]


def facet_label(facet: str, value, lang: str) -> str:
    """How the explorer names a facet value (a FacetValue as JSON)."""
    if facet == "value_type":
        return pick(VALUE_TYPES.get(value["value"]), lang) or value["value"]
    if facet == "access_rights":
        return access_name(value["value"], lang)
    if facet == "has_code_list":
        return words(lang)["yes" if value["value"] == "yes" else "no"]
    if facet == "decade":
        return words(lang)["decade_value"].format(d=value["value"])
    return pick(value["label"], lang) or value["value"]


def language(request) -> str:
    """The page's language: ?lang= if given, else the one chosen before (cookie), else bokmål."""
    for candidate in (request.query_params.get("lang"), request.cookies.get("lang")):
        if candidate in LANGUAGES:
            return candidate
    return DEFAULT


def pick(text: dict[str, str] | None, lang: str) -> str:
    """The text in `lang`, else in the other language, else empty."""
    if not text:
        return ""
    return text.get(lang) or text.get(DEFAULT) or next(iter(text.values()), "")


def words(lang: str) -> dict[str, str]:
    return {key: value.get(lang, value[DEFAULT]) for key, value in WORDS.items()}
