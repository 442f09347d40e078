"""What XML 1.0 forbids in text: most control characters, surrogates, U+FFFE and U+FFFF,
which it cannot hold at all, not even escaped. One in a harvested literal would make every
RDF/XML, Atom and SPARQL XML answer holding it ill-formed: the gate strips them
(catalogue.pipeline.harvest), and the site's XML outputs leave out any stored before."""
from __future__ import annotations

import re

# What XML 1.0 allows: tab, line feed, carriage return and the characters from U+0020 on,
# but surrogates, U+FFFE and U+FFFF.
NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    return NOT_XML.sub("", text)
