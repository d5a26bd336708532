"""The phone bundle's entry point: flet build runs this file as `__main__`.

flet build packs this folder and wants its entry module as a file at the folder's root;
the app's own entry is client/phone.py, which this runs.
"""

import runpy

if __name__ == "__main__":
    runpy.run_module("client.phone", run_name="__main__")
