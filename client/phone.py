"""The entry module of the phone and desktop builds (`flet build`, `flet run`).

Built apps set FLET_APP_STORAGE_DATA, so the stores live in the app's own data folder, and
FLET_ASSETS_DIR, the bundle's assets (the font is one: see `phone/` and build/README.md).
The server address is asked at the first sign-in.
"""

import flet as ft

from client.accounts import PhoneUsers
from client.app import Device, make_app
from client.config import data_dir
from client.httpx_transport import HttpxTransport
from client.main import default_language

DEFAULT_SERVER = "https://"

if __name__ == "__main__":
    folder = data_dir()

    async def users(_page: ft.Page) -> PhoneUsers:
        return PhoneUsers(folder / "phone", HttpxTransport, device_name="CareRounds phone")

    device = Device(users=users, default_server=DEFAULT_SERVER)
    ft.run(make_app(device, default_lang=default_language))
