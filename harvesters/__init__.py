"""Harvesters, one module per source format, chosen by a source's `kind`."""
from catalogue.harvesters.base import (HarvestContext, Harvester, Record, SourceError,
                                       parse_options)
from catalogue.harvesters.dcat import DcatHarvester
from catalogue.harvesters.http import Fetched, Fetcher, FetchError, Limits
from catalogue.harvesters.klass import KlassHarvester
from catalogue.harvesters.table import TableHarvester

HARVESTERS: dict[str, Harvester] = {h.kind: h for h in (DcatHarvester(), TableHarvester(), KlassHarvester())}


def for_kind(kind: str) -> Harvester:
    try:
        return HARVESTERS[kind]
    except KeyError:
        raise SourceError(f"unknown kind {kind!r} (known: {', '.join(sorted(HARVESTERS))})") from None


__all__ = ["HARVESTERS", "FetchError", "Fetched", "Fetcher", "HarvestContext", "Harvester",
           "Limits", "Record", "SourceError", "for_kind", "parse_options"]
