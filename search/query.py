"""The query as data; each backend compiles it to its own engine."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_PAGE_SIZE = 100


class Query(BaseModel):
    model_config = ConfigDict(frozen=True)
    text: str = Field(default="", max_length=500)
    filters: dict[str, tuple[str, ...]] = Field(default_factory=dict)  # facet -> accepted values
    year_from: int | None = Field(default=None, ge=1000, le=3000)
    year_to: int | None = Field(default=None, ge=1000, le=3000)
    page: int = Field(default=1, ge=1, le=10_000)
    size: int = Field(default=20, ge=1, le=MAX_PAGE_SIZE)

    @model_validator(mode="after")
    def _years_ordered(self) -> "Query":
        if self.year_from and self.year_to and self.year_to < self.year_from:
            raise ValueError("'to' is before 'from'")
        return self

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size
