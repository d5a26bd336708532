"""`carerounds-client` (the app served from a host to browsers): each browser is its own
device, with its own device id and stores, not one device per host folder."""

import httpx
import pytest

from tests.e2e.app_harness import AppPage, Browsing, RestartableServer
from tests.e2e.harness import login

pytestmark = pytest.mark.postgres_only


def _web_devices(base: str, user_id: str) -> set[str]:
    lead = login(base, "lead")
    answer = httpx.get(
        f"{base}/api/v1/admin/devices",
        headers={"authorization": f"Bearer {lead.token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return {
        d["device_id"]
        for d in answer.json()
        if d["user_id"] == user_id and d["name"] == "CareRounds web"
    }


def test_each_browser_is_a_device_of_its_own(
    browsing: Browsing, app_server: RestartableServer
) -> None:
    (host,) = browsing.clients_for(app_server.base, "zh")
    cleaner = login(app_server.base, "cleaner1")

    first = browsing.tab(host)  # a browser (its own storage)
    first.sign_in("cleaner1", app_server.base)
    assert len(_web_devices(app_server.base, cleaner.user_id)) == 1

    again = browsing.adopt(AppPage(first.context, host).open())  # a second tab, same browser
    again.find(again.text("ui.on_this_phone"))  # it knows who signed in on this browser
    assert len(_web_devices(app_server.base, cleaner.user_id)) == 1

    other = browsing.tab(host)  # another browser on the same computer
    other.find(other.text("ui.sign_in"), roles=("button",))
    assert not other.shows(other.text("ui.on_this_phone")), "a new browser has no one's data"
    other.sign_in("cleaner1", app_server.base)
    assert len(_web_devices(app_server.base, cleaner.user_id)) == 2
