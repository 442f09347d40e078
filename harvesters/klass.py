"""`klass`: SSB's KLASS classification API into SKOS code lists.

Each classification becomes a code list whose versions (one per validity
period) are code lists of their own, holding that version's codes.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any, ClassVar
from urllib.parse import urljoin

from pydantic import BaseModel, ConfigDict, Field

from catalogue.harvesters.base import (HarvestContext, Record, SourceError, parse_options,
                                       text_value)
from catalogue.models import CodeList, Concept, Period
from catalogue.namespaces import KLASS
from catalogue.profiles.dcat_ap_no_3 import to_graph


class KlassOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    classifications: list[str] = Field(min_length=1)
    language: str = "nb"
    # Code lists are named by SSB's own URIs, whichever mirror they are fetched from.
    uri_base: str = str(KLASS)


class KlassHarvester:
    kind: ClassVar[str] = "klass"

    def gather(self, ctx: HarvestContext) -> Iterator[Record]:
        options = parse_options(KlassOptions, ctx)
        base = ctx.url.rstrip("/") + "/"
        for class_id in options.classifications:
            url = urljoin(base, f"classifications/{class_id}")
            body = _json(ctx, url)
            uri = f"{options.uri_base}classifications/{class_id}"
            versions = []
            for version in body.get("versions") or []:
                href = ((version.get("_links") or {}).get("self") or {}).get("href")
                if not href:
                    raise SourceError(f"classification {class_id}: version {version.get('id')} "
                                      "has no _links.self.href")
                versions.append(self._version(ctx, options, class_id, urljoin(url, href)))
            classification = CodeList(
                uri=uri, identifier=str(class_id),
                title={options.language: text_value(body.get("name")) or f"KLASS {class_id}"},
                description=_text(options, body.get("description")),
                publisher=ctx.publisher.uri,
                periods=[p for v in versions for p in v.periods],
                versions=[v.uri for v in versions])
            record = Record(key=f"classification {class_id}")
            to_graph(classification, record.graph)
            yield record
            for version in versions:
                record = Record(key=f"classification {class_id} version {version.identifier}")
                to_graph(version, record.graph)
                yield record

    def _version(self, ctx, options: KlassOptions, class_id: str, url: str) -> CodeList:
        body = _json(ctx, url)
        version_id = text_value(body.get("id"))
        if not version_id:
            raise SourceError(f"{url}: classification {class_id} version has no id")
        uri = f"{options.uri_base}versions/{version_id}"
        try:
            period = Period(start=_day(body.get("validFrom")), end=_day(body.get("validTo")))
        except ValueError as exc:
            raise SourceError(f"{url}: version {version_id}, field validFrom/validTo: {exc}") from None
        concepts = []
        for item in body.get("classificationItems") or []:
            code = text_value(item.get("code"))
            if not code:
                raise SourceError(f"{url}: version {version_id} has an item without 'code'")
            concepts.append(Concept(uri=f"{uri}/codes/{code}", notation=code,
                                    label=_text(options, item.get("name")), scheme=uri))
        return CodeList(uri=uri, identifier=version_id,
                        title={options.language: text_value(body.get("name")) or version_id},
                        description=_text(options, body.get("introduction")),
                        publisher=ctx.publisher.uri, periods=[period],
                        version_label=text_value(body.get("name")) or None, concepts=concepts)


def _json(ctx: HarvestContext, url: str) -> dict[str, Any]:
    fetched = ctx.http.get(url, accept="application/json")
    try:
        body = json.loads(fetched.content)
    except ValueError as exc:
        raise SourceError(f"{url}: not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise SourceError(f"{url}: expected a JSON object")
    return body


def _text(options: KlassOptions, value: Any) -> dict[str, str]:
    text = text_value(value)
    return {options.language: text} if text else {}


def _day(value: Any) -> date | None:
    text = text_value(value)
    return date.fromisoformat(text[:10]) if text else None
