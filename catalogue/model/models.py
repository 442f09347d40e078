"""The domain: catalogue, dataset, variable, code list, concept, period, agent.

Texts are maps from language tag to text ({"nb": ..., "en": ...}); references
between resources are URIs, so a model never holds another resource's copy.
"""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator

Text = dict[str, str]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_order(start, end) -> None:
    if isinstance(start, date) and isinstance(end, date) and end < start:
        raise ValueError(f"period ends ({end}) before it starts ({start})")


class Period(Model):
    """A span with data; no end means ongoing."""

    start: date | None = None
    end: date | None = None

    def __init__(self, **data) -> None:
        # Harvesters build periods from source text: a plain ValueError with one sentence
        # reads better in a publisher's report than pydantic's wrapped one.
        _check_order(data.get("start"), data.get("end"))
        super().__init__(**data)

    @model_validator(mode="after")
    def _ordered(self) -> "Period":  # for periods validated from data (model_validate)
        _check_order(self.start, self.end)
        return self

    def covers(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    @property
    def ongoing(self) -> bool:
        return self.end is None

    def meets(self, first_year: int, last_year: int) -> bool:
        """Whether the period has a day in some year of first_year..last_year."""
        return (self.start is None or self.start.year <= last_year) and (self.end is None or self.end.year >= first_year)

    def years(self, this_year: int) -> range:
        first = self.start.year if self.start else (self.end.year if self.end else this_year)
        last = self.end.year if self.end else this_year
        return range(first, last + 1)

    def label(self) -> str:
        start = str(self.start.year) if self.start else "?"
        return f"{start}–{self.end.year}" if self.end else f"{start}–"


def merge_periods(periods: list[Period]) -> list[Period]:
    """Sorted, with overlapping or touching periods joined; gaps stay."""
    out: list[Period] = []
    for p in sorted(periods, key=lambda p: (p.start or date.min, p.end or date.max)):
        last = out[-1] if out else None
        if last and (last.end is None or (p.start and (p.start - last.end).days <= 1)):
            end = None if last.end is None or p.end is None else max(last.end, p.end)
            out[-1] = Period(start=last.start, end=end)
        else:
            out.append(p)
    return out



class Agent(Model):
    uri: str
    name: Text
    identifier: str | None = None


class ContactPoint(Model):
    uri: str | None = None
    name: Text
    email: str | None = None
    url: str | None = None


class Concept(Model):
    uri: str
    notation: str
    label: Text = Field(default_factory=dict)
    scheme: str
    notes: Text = Field(default_factory=dict)
    broader: str | None = None  # the parent code's concept in the same scheme
    # When the code is valid, only where that is narrower than its scheme's periods.
    valid: list[Period] = Field(default_factory=list)
    replaces: list[str] = Field(default_factory=list)     # codes of an earlier version
    replaced_by: list[str] = Field(default_factory=list)  # codes of a later version


class CodeList(Model):
    """A SKOS concept scheme; a versioned classification links its versions."""

    uri: str
    identifier: str
    title: Text
    description: Text = Field(default_factory=dict)
    publisher: str | None = None
    periods: list[Period] = Field(default_factory=list)
    versions: list[str] = Field(default_factory=list)
    version_label: str | None = None
    concepts: list[Concept] = Field(default_factory=list)


XSD = "http://www.w3.org/2001/XMLSchema#"
CODE_LIST = "code_list"


def value_type(representation: str | None) -> str:
    """An XSD datatype's local name, "code_list" or "unknown"."""
    if not representation:
        return "unknown"
    return representation[len(XSD):] if representation.startswith(XSD) else CODE_LIST


def code_list_of(representation: str | None) -> str | None:
    return representation if value_type(representation) == CODE_LIST else None


class Variable(Model):
    uri: str
    identifier: str
    label: Text
    description: Text = Field(default_factory=dict)
    dataset: str
    representation: str | None = None  # an XSD datatype or a code list URI
    unit: str | None = None
    themes: list[str] = Field(default_factory=list)
    periods: list[Period] = Field(default_factory=list)


class VariableVersion(Model):
    """One declared version of a variable's definition (a Vardef validity period, say):
    what the variable meant while that version was valid."""

    uri: str
    variable: str  # the variable this is a version of
    version: str   # the source's own version label
    label: Text = Field(default_factory=dict)
    description: Text = Field(default_factory=dict)
    valid: list[Period] = Field(default_factory=list)
    notes: Text = Field(default_factory=dict)
    previous: str | None = None
    representation: str | None = None
    unit: str | None = None


class Dataset(Model):
    uri: str
    identifier: str
    title: Text
    description: Text
    publisher: str
    contact: ContactPoint
    themes: list[str]
    keywords: list[str] = Field(default_factory=list)
    periods: list[Period] = Field(default_factory=list)
    access_rights: str | None = None
    landing_page: str | None = None
    language: str | None = None
    variables: list[str] = Field(default_factory=list)
    # DCAT 3 versioning, as a source declares it
    version: str | None = None
    version_notes: Text = Field(default_factory=dict)
    previous: str | None = None
    versions: list[str] = Field(default_factory=list)
    # The same register as a dataset another source describes (owl:sameAs): the explorer
    # shows the two as one dataset under that one's id.
    same_as: str | None = None


class Catalogue(Model):
    uri: str
    identifier: str = ""  # DCAT-AP-NO asks for one; the catalogue's URI where none is given
    title: Text
    description: Text
    publisher: str
    contact: ContactPoint
    datasets: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _identified(cls, data):
        if isinstance(data, dict) and not data.get("identifier"):
            data = {**data, "identifier": data.get("uri", "")}
        return data
