"""RDF namespaces, defined once."""
from rdflib import Namespace
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

DCT = DCTERMS
# rdflib's DCAT namespace is DCAT 2 and closed; DCAT 3 adds the versioning terms.
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DISCO = Namespace("http://rdf-vocabulary.ddialliance.org/discovery#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SCHEMA = Namespace("https://schema.org/")
ADMS = Namespace("http://www.w3.org/ns/adms#")
XKOS = Namespace("http://rdf-vocabulary.ddialliance.org/xkos#")
EU_THEME = Namespace("http://publications.europa.eu/resource/authority/data-theme/")
EU_ACCESS = Namespace("http://publications.europa.eu/resource/authority/access-right/")
KLASS = Namespace("https://data.ssb.no/api/klass/v1/")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
# HealthDCAT-AP and what it builds on (catalogue.profiles.healthdcat_ap_r8)
HEALTHDCATAP = Namespace("http://healthdataportal.eu/ns/health#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
CV = Namespace("http://data.europa.eu/m8g/")
CSVW = Namespace("http://www.w3.org/ns/csvw#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
DPV = Namespace("https://w3id.org/dpv#")  # the Data Privacy Vocabulary: purposes, legal bases
EU_HEALTH = str(EU_THEME.HEAL)  # the theme every health dataset carries

PREFIXES = {
    "dcat": DCAT, "dct": DCT, "foaf": FOAF, "rdf": RDF, "rdfs": RDFS, "skos": SKOS,
    "xsd": XSD, "disco": DISCO, "vcard": VCARD, "schema": SCHEMA, "adms": ADMS, "xkos": XKOS,
}


def bind_prefixes(graph) -> None:
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, override=True)
