"""The query as data; each backend compiles it to its own engine."""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_PAGE_SIZE = 100
MAX_PAGE = 10_000  # the deepest page a search reads
# A cover query asks for every year of its span, one index term each: keep the span sane.
MAX_COVER_YEARS = 150
# relevance, or a field, ascending; "-first_year" for the newest first
SORTS = ("relevance", "name", "first_year", "-first_year", "source")


class Code(BaseModel):
    """A code of a code list, as a search names it."""
    model_config = ConfigDict(frozen=True)
    code_list: str
    code_list_title: str
    notation: str
    label: str


class Via(Code):
    """A concept of a code list that the query's words match: the variables coded with that
    list are found through it, weighed by how well it matches (see search.concepts)."""
    score: float = Field(default=1.0, gt=0)


class Query(BaseModel):
    model_config = ConfigDict(frozen=True)
    text: str = Field(default="", max_length=500)
    filters: dict[str, tuple[str, ...]] = Field(default_factory=dict)  # facet -> accepted values
    year_from: int | None = Field(default=None, ge=1000, le=3000)
    year_to: int | None = Field(default=None, ge=1000, le=3000)
    # overlap: data in some year of from..to; cover: data in every year of it (gaps break cover).
    period: Literal["overlap", "cover"] = "overlap"
    sort: Literal[SORTS] = "relevance"  # without text, relevance means by id
    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    size: int = Field(default=20, ge=1, le=MAX_PAGE_SIZE)
    # The best concept of each code list the text matches (search.concepts): an alternative to the text
    via: tuple[Via, ...] = ()

    @model_validator(mode="after")
    def _years_ordered(self) -> "Query":
        if self.year_from and self.year_to and self.year_to < self.year_from:
            raise ValueError("'to' is before 'from'")
        if self.period == "cover":
            self._check_cover_span()
        return self

    def _check_cover_span(self) -> None:
        if self.year_from is None:
            raise ValueError("period=cover needs a 'from' year")
        last = self.year_to or date.today().year
        if last < self.year_from:
            raise ValueError("period=cover with no 'to' runs to this year, and 'from' is after it")
        if last - self.year_from + 1 > MAX_COVER_YEARS:
            raise ValueError(f"period=cover spans at most {MAX_COVER_YEARS} years")

    @property
    def cover_years(self) -> range:
        """The years a variable must all have for period=cover (an open end is this year)."""
        if self.year_from is None:
            return range(0)
        return range(self.year_from, (self.year_to or date.today().year) + 1)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size
