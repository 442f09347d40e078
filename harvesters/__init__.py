"""Harvesters, one module per source format, chosen by a source's `kind`."""
from __future__ import annotations

from importlib import import_module

from catalogue.harvesters.base import (HarvestContext, Harvester, Record, SourceError,
                                       parse_options)
from catalogue.harvesters.http import Fetched, Fetcher, FetchError, Limits

# kind -> "module:class"; a module is imported only when a source of its kind is harvested.
KINDS: dict[str, str] = {
    "dcat": "dcat:DcatHarvester",
    "klass": "klass:KlassHarvester",
    "vardef": "vardef:VardefHarvester",
    "table": "table:TableHarvester",
    "ddi": "ddi:DdiHarvester",
    "json-api": "json_api:JsonApiHarvester",
    "munin": "munin:MuninHarvester",
    "elvis": "elvis:ElvisHarvester",
    "codelist": "codelist:CodeListHarvester",
}


def for_kind(kind: str) -> Harvester:
    try:
        module, name = KINDS[kind].split(":")
    except KeyError:
        raise SourceError(f"unknown kind {kind!r} (known: {', '.join(sorted(KINDS))})") from None
    return getattr(import_module(f"catalogue.harvesters.{module}"), name)()


__all__ = ["KINDS", "FetchError", "Fetched", "Fetcher", "HarvestContext", "Harvester",
           "Limits", "Record", "SourceError", "for_kind", "parse_options"]
