"""Change events as the site shows them: with a link to the page of what changed, and
as an Atom feed for those who follow variables from a feed reader."""
from __future__ import annotations

import hashlib
from typing import Any
from xml.etree import ElementTree as ET

from catalogue.model import ids
from catalogue.model.xml_text import xml_text
from catalogue.search import SearchBackend
from catalogue.site.i18n import FIELD_NAMES, pick, words
from catalogue.storage.history import Event
from catalogue.view import View

ATOM = "http://www.w3.org/2005/Atom"


class Linker:
    """The explorer page of an event's resource, if it is still in the catalogue."""

    def __init__(self, view: View, search: SearchBackend):
        self.view, self.search = view, search
        self._versions: dict[str, str | None] = {}

    def url(self, event: Event) -> str | None:
        if event.kind == "dataset":
            dataset_id = self.view.dataset_ids.get(event.subject)
            return f"/datasets/{dataset_id}" if dataset_id else None
        if event.kind == "variable":
            return self._variable(event.owner, event.name, event.subject)
        if event.kind == "version" and event.owner:
            if event.owner not in self._versions:
                variable = self.view.variable(event.owner)
                self._versions[event.owner] = variable and self._variable(
                    variable.dataset, variable.identifier, variable.uri)
            return self._versions[event.owner]
        return None  # code lists are shown on the pages of the variables that use them

    def _variable(self, dataset: str | None, name: str | None, uri: str) -> str | None:
        dataset_id = self.view.dataset_ids.get(dataset or "")
        variable_id = dataset_id and ids.variable_id(dataset_id, name, uri)
        return f"/variables/{variable_id}" if variable_id and self.search.get(variable_id) else None


def shown(events: list[Event], linker: Linker) -> list[dict[str, Any]]:
    return [{**e.model_dump(mode="json"), "url": linker.url(e)} for e in events]


def atom(items: list[dict[str, Any]], title: str, feed_id: str, self_url: str, site: str,
         lang: str, updated: str) -> bytes:
    """An Atom 1.0 feed: one entry per event, its text a plain summary (never markup)."""
    t = words(lang)
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": lang})
    _text(feed, "title", title)
    _text(feed, "id", feed_id)
    _text(feed, "updated", items[0]["at"] if items else updated)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_url)
    _text(ET.SubElement(feed, f"{{{ATOM}}}author"), "name", "Helsevariabler")
    for item in items:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        name = pick(item["label"], lang) or item["name"] or item["subject"]
        _text(entry, "title", f"{name}: {t['event_' + item['change']].lower()} ({t['kind_' + item['kind'].replace(' ', '_')]})")
        # One event per run and resource: an id that survives the history being rebuilt.
        _text(entry, "id", f"{site}harvests/{item['run']}#{hashlib.sha256(item['subject'].encode()).hexdigest()[:16]}")
        _text(entry, "updated", item["at"])
        if item["url"]:
            ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=xml_text(site.rstrip("/") + item["url"]))
        _text(entry, "summary", summary(item, lang))
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def summary(item: dict[str, Any], lang: str) -> str:
    t = words(lang)
    lines = [f"{t['source']}: {item['source']} ({t['harvest_run'].lower()} {item['run']})",
             f"URI: {item['subject']}"]
    for change in item["fields"]:
        lines.append(f"{pick(FIELD_NAMES.get(change['field']), lang) or change['field']}: "
                     f"{_plain(change['old'], lang)} → {_plain(change['new'], lang)}")
    return "\n".join(lines)


def _plain(value: Any, lang: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, dict):
        if value and all(isinstance(v, dict) for v in value.values()):  # codes
            return "; ".join(f"{code}={pick(label, lang)}" for code, label in value.items()) or "–"
        return pick(value, lang) if all(isinstance(v, str) for v in value.values()) else str(value)
    if isinstance(value, list):
        return ", ".join(_period(v) if isinstance(v, dict) else str(v) for v in value)
    return str(value)


def _period(period: dict) -> str:
    return f"{period.get('start', '?')}–{period.get('end', '')}"


def _text(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{tag}").text = xml_text(text)
