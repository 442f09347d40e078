"""DCAT-AP 3 beyond DCAT-AP-NO 3: its range shapes expect the things a dataset points to to
say their class (an access right is a dct:RightsStatement, a contact point a vcard:Kind, ...).
The catalogue says it where the source did not, so it checks out against both."""
from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph as ox
from rdflib import BNode, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, SKOS

from catalogue.model.namespaces import DCAT, VCARD

# What DCAT-AP 3's range shapes require the object of each property to be typed as.
RANGES = {DCTERMS.accessRights: DCTERMS.RightsStatement, DCAT.contactPoint: VCARD.Kind,
          DCAT.landingPage: FOAF.Document, DCTERMS.language: DCTERMS.LinguisticSystem,
          DCAT.theme: SKOS.Concept}


def range_types(store: ox.Store) -> Iterator[tuple]:
    """(thing, rdf:type, class) for every thing the store's statements point to by RANGES."""
    for predicate, cls in RANGES.items():
        values = {q.object for q in store.quads_for_pattern(None, ox.NamedNode(str(predicate)), None, None)}
        for value in values:
            if isinstance(value, (ox.NamedNode, ox.BlankNode)):
                yield URIRef(value.value) if isinstance(value, ox.NamedNode) else BNode(value.value), RDF.type, cls
