"""Reading untrusted XML: no DTD entities, no external resources, errors that name the line."""
from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from catalogue.harvesters.base import SourceError


def parse_xml(content: bytes, where: str) -> Element:
    """The document's root element, or a SourceError naming `where` (a URL or file) and the line.

    Entity declarations are refused outright (billion laughs, quadratic blow-up) and
    nothing is ever fetched from a DTD or an external entity.
    """
    try:
        return fromstring(content, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise SourceError(f"{where}: XML refused, it declares entities or external "
                          f"resources ({type(exc).__name__})") from None
    except ParseError as exc:
        line, column = exc.position
        raise SourceError(f"{where}: not well-formed XML at line {line}, column {column}: "
                          f"{str(exc).split(':')[0]}") from None


def local(tag: str) -> str:
    """An element's name without its namespace: '{ddi:codebook:2_5}var' -> 'var'."""
    return tag.rsplit("}", 1)[-1]
