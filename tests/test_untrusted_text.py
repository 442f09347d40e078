"""Harvested text is shown escaped (a `javascript:` landing page does not pass the gate:
tests/test_hostile_inputs.py)."""
from fastapi.testclient import TestClient

from catalogue.pipeline.harvest import harvest
from catalogue.site.app import create_app
from support import DCAT_SOURCE

HOSTILE_TITLE = '<script>alert("x")</script> Dødsårsaker'


def test_hostile_title_is_escaped(settings, make_config, served):
    folder, url = served
    catalogue = folder / "dcat" / "katalog.ttl"
    text = catalogue.read_text(encoding="utf-8")
    dataset_line = next(line for line in text.splitlines() if "dct:description" in line and "dødsfall" in line)
    catalogue.write_text(text.replace(dataset_line, dataset_line
                                      + f"\n    dct:title {HOSTILE_TITLE!r}@en ;".replace("'", '"""'), 1),
                         encoding="utf-8")
    [summary] = harvest(settings, make_config(DCAT_SOURCE.format(url=url)))
    assert summary.status == "ok", summary.error
    client = TestClient(create_app(settings))
    dataset_id = client.get("/api/variables").json()["items"][0]["dataset"]

    page = client.get(f"/datasets/{dataset_id}", params={"lang": "en"}).text

    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
