"""Content negotiation as HTTP says it: what an Accept (or Accept-Profile) header asks for,
most wanted first by its q-values, and the RDF syntax or profile that answers it."""
from __future__ import annotations

from fastapi import Query as Param, Request
from fastapi.responses import Response
from rdflib import Graph

# format name -> (rdflib's syntax name, media type)
RDF_FORMATS = {"ttl": ("turtle", "text/turtle"), "jsonld": ("json-ld", "application/ld+json"),
               "rdf": ("xml", "application/rdf+xml"), "nt": ("nt", "application/n-triples")}
RDF_MEDIA = tuple(media for _, media in RDF_FORMATS.values())


def preferences(header: str) -> list[str]:
    """The media types (or <profile URIs>, without their brackets) a header asks for, most
    wanted first: by q-value, then in the order given; those with q=0 are refused, not asked."""
    asked = []
    for order, part in enumerate(header.split(",")):
        name, *params = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0  # an unreadable weight asks for nothing
        if name and weight > 0:
            asked.append((-weight, order, name[1:-1] if name.startswith("<") and name.endswith(">") else name.lower()))
    return [name for _, _, name in sorted(asked)]


def rdf_format(request: Request) -> str | None:
    """The RDF syntax the Accept header wants most, if it names one before anything else it takes."""
    for media in preferences(request.headers.get("accept", "")):
        for fmt, (_, offered) in RDF_FORMATS.items():
            if media == offered:
                return fmt
        if media in ("text/html", "application/xhtml+xml"):
            return None
    return None


def browser(request: Request, format: str | None) -> bool:
    """A browser asking for a page: HTML wanted before any RDF syntax, and none asked for by name."""
    if format is not None:
        return False
    for media in preferences(request.headers.get("accept", "")):
        if media in ("text/html", "application/xhtml+xml"):
            return True
        if media in RDF_MEDIA:
            return False
    return False


# ?format=, for clients that cannot set Accept
RDF_FORMAT = Param(None, pattern="^(ttl|jsonld|rdf|nt)$")


def split_format(path: str) -> tuple[str, str | None]:
    """A path and the RDF syntax its suffix asks for (`…/X.ttl`), if any."""
    base, dot, suffix = path.rpartition(".")
    return (base, suffix) if dot and suffix in RDF_FORMATS else (path, None)


def rdf_response(graph: Graph, fmt: str) -> Response:
    syntax, media = RDF_FORMATS[fmt]
    return Response(graph.serialize(format=syntax), media_type=f"{media}; charset=utf-8")
