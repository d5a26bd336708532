"""One store format on every device: a store sealed by the phone's `cryptography` backend
opens inside Chromium with WebCrypto and the WebAssembly Scrypt, and back; in the browser,
ten wrong secrets wipe it, as on a phone."""

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bench.loopback import ServerProcess
from client.encrypted_store import EncryptedStore, Profile
from client.native_crypto import CryptographyBackend
from tests.pwa.browser_python import BrowserPython
from tests.pwa.conftest import chromium_profile

if TYPE_CHECKING:
    from playwright.sync_api import Playwright

AREA = "6f1c2a9e-3f57-4c1e-9d0b-0d7f3b1a2c11"
PROFILE = Profile("u-1", "cleaner1", "cleaner", "http://school.test")

OPEN_IN_BROWSER = """
import json
from client.encrypted_store import EncryptedStore
from client.web_crypto import WebCryptoBackend

store = EncryptedStore("/home/pyodide/store.db", "phone-1", crypto=WebCryptoBackend(),
                       journal_mode="MEMORY")
store.unlock("{secret}", "{kind}")
seen = store.get("areas", "{area}").fields
store.edit("areas", "{area}", {{"name": "三楼走廊（浏览器改）"}})
names = [r.fields["name"] for r in store.records("areas")]
store.close()
json.dumps({{"seen": seen, "names": names, "backend": type(store._crypto).__name__}})
"""

WRONG_TEN_TIMES = """
import json
from client.encrypted_store import DataWiped, EncryptedStore, WrongSecret
from client.web_crypto import WebCryptoBackend

store = EncryptedStore("/home/pyodide/store.db", "phone-1", crypto=WebCryptoBackend(),
                       journal_mode="MEMORY")
left = []
for _ in range(10):
    try:
        store.unlock("not-the-password")
    except WrongSecret as wrong:
        left.append(wrong.remaining)
    except DataWiped:
        left.append("wiped")
json.dumps({"left": left, "profile": store.profile() is None})
"""


@pytest.fixture
def browser_python(
    playwright: "Playwright", pwa_server: ServerProcess, tmp_path: Path
) -> Iterator[BrowserPython]:
    context = chromium_profile(playwright, tmp_path / "profile")
    try:
        page = context.new_page()
        page.goto(f"{pwa_server.base}/app/precache.json")
        yield BrowserPython(page)
    finally:
        context.close()


def phone_store(path: Path) -> EncryptedStore:
    store = EncryptedStore.create(
        path, "phone-1", "correct horse", PROFILE, crypto=CryptographyBackend()
    )
    store.edit(
        "areas",
        AREA,
        {"name": "三楼走廊", "kind": "dorm", "frequency_days": 1, "checklist_template_id": AREA},
    )
    store.set_pin("246810")
    return store


def file_of(store: EncryptedStore) -> bytes:
    store.close()  # the last connection checkpoints the write-ahead log into the file
    return Path(store.path).read_bytes()


@pytest.mark.parametrize(("secret", "kind"), [("correct horse", "password"), ("246810", "pin")])
def test_a_phone_store_opens_in_the_browser_and_back(
    browser_python: BrowserPython, tmp_path: Path, secret: str, kind: str
) -> None:
    sealed_on_phone = file_of(phone_store(tmp_path / "phone.db"))
    assert "三楼走廊".encode() not in sealed_on_phone

    code = OPEN_IN_BROWSER.format(secret=secret, kind=kind, area=AREA)
    seen = browser_python.run(code, {"/home/pyodide/store.db": sealed_on_phone})
    assert seen["backend"] == "WebCryptoBackend"
    assert seen["seen"]["name"] == "三楼走廊"
    assert seen["names"] == ["三楼走廊（浏览器改）"]

    sealed_in_browser = browser_python.read("/home/pyodide/store.db")
    assert "浏览器".encode() not in sealed_in_browser
    back = tmp_path / "back.db"
    back.write_bytes(sealed_in_browser)
    store = EncryptedStore(back, "phone-1", crypto=CryptographyBackend())
    store.unlock(secret, kind)
    record = store.get("areas", AREA)
    assert record is not None and record.fields["name"] == "三楼走廊（浏览器改）"
    assert [entry.fields.get("name") for entry in store.pending(10)][-1] == "三楼走廊（浏览器改）"
    store.close()


def test_a_store_made_in_the_browser_opens_on_a_phone(
    browser_python: BrowserPython, tmp_path: Path
) -> None:
    made = browser_python.run(
        f"""
import json
from client.encrypted_store import EncryptedStore, Profile
from client.web_crypto import WebCryptoBackend

store = EncryptedStore.create("/home/pyodide/new.db", "browser-1", "correct horse",
    Profile("u-2", "teacher1", "class_teacher", "http://school.test"),
    crypto=WebCryptoBackend(), journal_mode="MEMORY")
store.edit("areas", "{AREA}", {{"name": "食堂", "kind": "canteen", "frequency_days": 1,
                               "checklist_template_id": "{AREA}"}})
store.set_pin("13572468")
store.close()
json.dumps(True)
"""
    )
    assert made is True
    path = tmp_path / "from-browser.db"
    path.write_bytes(browser_python.read("/home/pyodide/new.db"))
    for secret, kind in (("correct horse", "password"), ("13572468", "pin")):
        store = EncryptedStore(path, "browser-1", crypto=CryptographyBackend())
        store.unlock(secret, kind)
        record = store.get("areas", AREA)
        assert record is not None and record.fields["name"] == "食堂"
        store.close()


def test_ten_wrong_secrets_wipe_the_store_in_the_browser(
    browser_python: BrowserPython, tmp_path: Path
) -> None:
    outcome = browser_python.run(
        WRONG_TEN_TIMES, {"/home/pyodide/store.db": file_of(phone_store(tmp_path / "p.db"))}
    )
    assert outcome == {"left": [9, 8, 7, 6, 5, 4, 3, 2, 1, "wiped"], "profile": True}
    wiped = tmp_path / "wiped.db"
    wiped.write_bytes(browser_python.read("/home/pyodide/store.db"))
    with sqlite3.connect(wiped) as conn:
        assert conn.execute("SELECT count(*) FROM records").fetchone() == (0,)
