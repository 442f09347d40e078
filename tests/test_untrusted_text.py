"""Harvested text is shown escaped, and harvested URLs become links only when they are web URLs."""
from fastapi.testclient import TestClient

from catalogue.harvest import harvest
from catalogue.site.app import create_app
from support import DCAT_SOURCE

HOSTILE_TITLE = '<script>alert("x")</script> Dødsårsaker'


def test_hostile_title_and_landing_page_are_defused(settings, make_config, served):
    folder, url = served
    catalogue = folder / "dcat" / "katalog.ttl"
    text = catalogue.read_text(encoding="utf-8")
    dataset_line = next(line for line in text.splitlines() if "dct:description" in line and "dødsfall" in line)
    catalogue.write_text(text.replace(dataset_line, dataset_line + "\n    dcat:landingPage <javascript:alert(1)> ;"
                                      + f"\n    dct:title {HOSTILE_TITLE!r}@en ;".replace("'", '"""'), 1),
                         encoding="utf-8")
    [summary] = harvest(settings, make_config(DCAT_SOURCE.format(url=url)))
    assert summary.status == "ok", summary.error
    client = TestClient(create_app(settings))
    dataset_id = client.get("/api/variables").json()["items"][0]["dataset"]

    page = client.get(f"/datasets/{dataset_id}", params={"lang": "en"}).text

    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    assert "javascript:alert(1)" in page and 'href="javascript:' not in page
