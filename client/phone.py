"""The entry module of the phone and desktop builds (`flet build`, `flet run`).

Built apps set FLET_APP_STORAGE_DATA, so the stores live in the app's own data folder.
The server address is asked at the first sign-in.
"""

import flet as ft

from client.config import data_dir
from client.main import make_app, prepare_assets

DEFAULT_SERVER = "https://"

if __name__ == "__main__":
    folder = data_dir()
    ft.run(make_app(DEFAULT_SERVER, folder), assets_dir=str(prepare_assets(folder / "assets")))
