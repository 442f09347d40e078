"""A variable as it was on a given date: `GET /api/variables/{id}?at=...`.

Where the source declares versions with validity periods (Vardef, say), the version
valid on that date answers. Otherwise the catalogue's own history does: the version
it had harvested by then (by the end of the day, for a bare date), or, for a date
before its first harvest, the earliest version it holds, marked as such. The code
list is the one that version used, as the catalogue had it then; of a classification
with versions (KLASS), the version valid on the date; of a code list whose codes have
validity, the codes valid on the date.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from catalogue.model.models import CodeList, Variable, code_list_of, value_type
from catalogue.profiles.dcat_ap_no_3 import from_graph, read_values
from catalogue.site.routes.code_lists import without_codes
from catalogue.storage.history import Event, History, graph_of_lines, moment
from catalogue.storage.records import RecordStore, RecordVersion
from catalogue.view import View


def variable_as_of(view: View, history: History, records: RecordStore, variable: Variable,
                   at: str) -> dict[str, Any]:
    """Raises ValueError for an `at` that is not a date or a date and time."""
    when = moment(at)
    day = datetime.fromisoformat(when).date() if len(at) > 10 else date.fromisoformat(at)
    answer: dict[str, Any] = {"at": at, "variable": {"uri": variable.uri, "identifier": variable.identifier}}
    declared = [v for v in view.variable_versions(variable.uri) if any(p.covers(day) for p in v.valid)]
    if declared:
        version = declared[-1]
        answer.update(basis="declared", label=version.label or variable.label,
                      description=version.description, unit=version.unit or variable.unit,
                      representation=version.representation or variable.representation,
                      version={"uri": version.uri, "version": version.version,
                               "valid": [p.model_dump(mode="json") for p in version.valid],
                               "notes": version.notes})
    else:
        event, basis = _harvested(history, variable.uri, when)
        values = read_values(Variable, _graph(records, event), variable.uri) if event else {}
        answer.update(basis=basis if event else "current",
                      label=values.get("label", variable.label),
                      description=values.get("description", {}),
                      unit=values.get("unit"), representation=values.get("representation"),
                      periods=[p.model_dump(mode="json") for p in values.get("periods", [])],
                      version={"harvested": event.at, "run": event.run} if event else None)
        if not event:  # no history at all (harvested before histories were kept): what is there now
            answer.update(description=variable.description, unit=variable.unit,
                          representation=variable.representation,
                          periods=[p.model_dump(mode="json") for p in variable.periods])
    representation = answer.pop("representation")
    answer["value_type"] = value_type(representation)
    uri = code_list_of(representation)
    answer["code_list"] = _code_list_then(view, history, records, uri, when, day) if uri else None
    return answer


def _harvested(history: History, uri: str, when: str) -> tuple[Event | None, str]:
    """The version harvested by `when`, else the earliest there is."""
    event = history.as_of(uri, when)
    if event is not None and event.change != "removed":
        return event, "harvested"
    if event is None:
        first = history.first(uri)
        if first is not None and first.change != "removed":
            return first, "earliest"
    return None, "current"


def _graph(records: RecordStore, event: Event):
    lines = records.lines([RecordVersion(hash=event.version, run=event.run)])
    return graph_of_lines(lines.get(event.version, []))


def _code_list_then(view: View, history: History, records: RecordStore, uri: str, when: str,
                    day: date) -> dict[str, Any]:
    event, _ = _harvested(history, uri, when)
    code_list = (from_graph(CodeList, _graph(records, event), uri) if event else None) or view.code_list(uri)
    if code_list is None:
        return {"uri": uri}
    # a classification: its version valid on the day (only that one read with its codes)
    valid = [u for u in code_list.versions
             if (v := without_codes(view, u)) and any(p.covers(day) for p in v.periods)]
    if valid and (version := view.code_list(valid[-1])):
        code_list = version
    concepts = [c for c in code_list.concepts if not c.valid or any(p.covers(day) for p in c.valid)]
    return {**code_list.model_dump(mode="json", exclude={"concepts"}),
            "concepts": [c.model_dump(mode="json") for c in concepts],
            "harvested": event.at if event else None}
