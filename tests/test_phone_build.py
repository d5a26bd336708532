"""The phone build's configuration, checked offline by flet-cli 1.0.5's own code.

`flet build apk|aab|ipa phone` reads phone/pyproject.toml, picks the Python to bundle,
checks the entry module, renders its template settings, then hands serious_python the app
folder with the dependency and exclude lists. These tests run those same steps of
`flet_cli.commands.build.Command` on a freshly staged phone app and stop where the build
would start downloading: the Flutter/Android SDK set-up is skipped, and the
`dart run serious_python:main package` call is recorded instead of run.
"""

import ast
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flet_cli.cli import get_parser
from flet_cli.commands.build_base import BaseBuildCommand
from flet_cli.commands.flutter_base import BaseFlutterCommand
from flet_cli.utils import python_versions
from flet_cli.utils.hash_stamp import HashStamp
from flet_platform_assets import (
    IconOptions,
    SplashOptions,
    load_source,
    render_icons,
    render_splash,
    square,
)
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
PHONE_TARGETS = ("apk", "aab", "ipa")
# What the client imports; the phone bundle installs these and nothing else.
CLIENT_PACKAGES = {"flet", "pydantic", "cryptography", "httpx", "msgspec", "tzdata"}
# What must never load on a phone: the server, its packages, and the font package (the
# font ships as a bundle asset instead).
SERVER_MODULES = {
    "server",
    "fastapi",
    "starlette",
    "uvicorn",
    "sqlmodel",
    "sqlalchemy",
    "alembic",
    "psycopg",
    "pwdlib",
    "fpdf",
    "openpyxl",
    "justmytype_intl_cjk",
}


class BuildRefused(Exception):
    """flet build stopped with an error (it would print the message and exit)."""


class _Packaging(Exception):
    """flet build got as far as running serious_python's packager."""

    def __init__(self, args: list[str]) -> None:
        super().__init__("serious_python package")
        self.package_args = args


@dataclass
class PlannedBuild:
    command: BaseBuildCommand
    package_args: list[str]

    def flag_values(self, flag: str) -> list[str]:
        args = self.package_args
        return [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == flag]

    @property
    def dependencies(self) -> set[str]:
        return {Requirement(spec).name.lower() for spec in self.flag_values("-r")}


PlanBuild = Callable[[str, Path], PlannedBuild]


@pytest.fixture(scope="session")
def phone_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The phone app folder as build/README.md stages it, outside the working tree."""
    folder = tmp_path_factory.mktemp("staged") / "phone"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "stage_phone_app.py"), str(folder)],
        check=True,
        capture_output=True,
    )
    return folder


@pytest.fixture
def python_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Which Pythons flet can bundle: a local manifest through flet's own override
    (FLET_PYTHON_BUILD_MANIFEST) instead of the one it downloads from GitHub."""
    rows = {
        version: {
            "full_version": f"{version}.9",
            "pyodide_version": "0.27.7",
            "android_abis": ["arm64-v8a", "x86_64"],
        }
        for version in ("3.12", "3.13", "3.14")
    }
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"default_python_version": "3.12", "pythons": rows}))
    monkeypatch.setenv("FLET_PYTHON_BUILD_MANIFEST", str(manifest))
    python_versions._load_data.cache_clear()
    yield
    python_versions._load_data.cache_clear()


@pytest.fixture
def plan_build(monkeypatch: pytest.MonkeyPatch, python_manifest: None) -> PlanBuild:
    """`flet build <target> <app>` up to serious_python's packaging, with no downloads."""

    def plan(target: str, app: Path) -> PlannedBuild:
        # Finds or installs the Flutter SDK, the JDK and the Android SDK: not reachable here.
        monkeypatch.setattr(BaseFlutterCommand, "initialize_command", lambda self: None)
        options = get_parser().parse_args(["build", target, str(app), "--no-rich-output"])
        command = options.handler.__self__

        def refuse(exit_code: int, message: object = None, no_border: bool = False) -> None:
            raise BuildRefused(str(message))

        def run(args: list[str], cwd: str, env: object = None, capture_output: bool = True) -> None:
            raise _Packaging(args)

        command.cleanup = refuse  # instead of running `flutter doctor` and exiting
        command.run = run
        command.dart_exe = "dart"
        BaseBuildCommand.handle(command, options)  # Command.handle runs every build step
        command.initialize_command()
        if target != "ipa":  # a host check: ipa builds only on macOS
            command.validate_target_platform()
        command.validate_entry_point()
        command.setup_template_data()
        with pytest.raises(_Packaging) as packaging:
            command.package_python_app()
        return PlannedBuild(command, packaging.value.package_args)

    return plan


@pytest.mark.parametrize("target", PHONE_TARGETS)
def test_flet_build_accepts_the_phone_app(
    plan_build: PlanBuild, phone_app: Path, target: str
) -> None:
    build = plan_build(target, phone_app)

    command = build.command
    assert command.package_app_path == phone_app
    assert (phone_app / f"{command.python_module_name}.py").is_file()
    assert build.package_args[4:6] == ["package", str(phone_app)]
    assert command.python_release.short == "3.12"
    assert command.template_data["bundle_id"] == "org.carerounds.carerounds"
    assert command.template_data["product_name"] == "CareRounds 校园防控"


@pytest.mark.parametrize("target", PHONE_TARGETS)
def test_bundle_dependencies_are_the_clients_alone(
    plan_build: PlanBuild, phone_app: Path, target: str
) -> None:
    build = plan_build(target, phone_app)

    root = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    server_packages = {
        Requirement(spec).name.lower() for spec in root["project"]["dependencies"]
    } - CLIENT_PACKAGES
    assert "flet" in build.dependencies
    assert build.dependencies & server_packages == set()
    assert build.dependencies <= CLIENT_PACKAGES
    # Flet's Android/iOS index has cryptography 43.0.1 only.
    cryptography = next(
        Requirement(spec)
        for spec in build.flag_values("-r")
        if Requirement(spec).name == "cryptography"
    )
    assert cryptography.specifier.contains("43.0.1")


def test_bundle_holds_the_client_and_nothing_of_the_server(
    plan_build: PlanBuild, phone_app: Path
) -> None:
    build = plan_build("apk", phone_app)

    excluded = {Path(path) for path in build.flag_values("--exclude")}
    packed = [
        path.relative_to(phone_app)
        for path in phone_app.rglob("*")
        if not any(path.relative_to(phone_app).is_relative_to(e) for e in excluded)
    ]
    top = {path.parts[0] for path in packed}
    assert top == {"main.py", "pyproject.toml", "assets", "client", "shared"}
    assert not [path for path in packed if SERVER_MODULES & set(path.parts)]


def test_the_font_is_a_bundle_asset(phone_app: Path) -> None:
    font_file = _client_constant("FONT_FILE")
    font = phone_app / "assets" / font_file
    assert font.is_file()
    assert font.stat().st_size > 1_000_000  # the whole Noto Sans SC, not a stub


def test_icons_and_splash_are_where_flet_looks(plan_build: PlanBuild, phone_app: Path) -> None:
    command = plan_build("apk", phone_app).command
    assets = phone_app / "assets"
    stamp = HashStamp(phone_app / "build" / ".hash" / "test")

    assert command.find_platform_image(assets, "icon_android", stamp) == "icon_android.png"
    assert command.find_platform_image(assets, "icon", stamp) == "icon.png"
    assert command.find_platform_image(assets, "splash", stamp) == "splash.png"

    options = IconOptions(
        background=command._resolve_icon_background(),
        application_id=command.template_data["bundle_id"],
    )
    assert options.background == (0x00, 0x89, 0x7B)
    android, _ = load_source(assets / "icon_android.png")
    generic, _ = load_source(assets / "icon.png")
    assert android.size == generic.size == (1024, 1024)
    assert render_icons(android, options, platform="android").warnings == []
    assert render_icons(generic, options, platform="ios", derived=True).warnings == []

    splash, _ = square(load_source(assets / "splash.png")[0])
    colours = command.template_data["splash"]
    splash_options = SplashOptions(color=colours["color"], dark_color=colours["dark_color"])
    for platform in ("android", "ios"):
        assert render_splash(splash, None, splash_options, platform=platform).warnings == []


def test_entry_module_imports_nothing_of_the_server(phone_app: Path, tmp_path: Path) -> None:
    loaded = _in_the_bundle(phone_app, tmp_path, "import client.phone")

    assert Path(loaded["client"]).is_relative_to(phone_app)
    assert SERVER_MODULES & set(loaded["modules"]) == set()


def test_phone_start_uses_the_bundled_font(phone_app: Path, tmp_path: Path) -> None:
    started = _in_the_bundle(
        phone_app,
        tmp_path,
        "import flet, runpy\n"
        "runs = []\n"
        "flet.run = lambda main, **options: runs.append(options.get('assets_dir'))\n"
        "runpy.run_path('main.py', run_name='__main__')\n",
    )

    # Built apps set FLET_ASSETS_DIR, which flet.run prefers to its assets_dir argument.
    assert len(started["runs"]) == 1
    assert SERVER_MODULES & set(started["modules"]) == set()
    assert not (tmp_path / "data" / "assets").exists()  # no font copied per device


def test_phone_version_is_the_projects() -> None:
    phone = tomllib.loads((ROOT / "phone" / "pyproject.toml").read_text(encoding="utf-8"))
    root = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

    assert phone["project"]["version"] == root["project"]["version"]
    # `flet build` at the root would bundle the server's dependencies.
    assert "flet" not in root.get("tool", {})


def _in_the_bundle(app: Path, tmp_path: Path, code: str) -> dict[str, Any]:
    """Run `code` in a fresh Python whose working folder is the staged app, as a built app
    finds its modules, with the folders a built app is given; report what loaded."""
    report = (
        "\nimport json, sys\n"
        "print(json.dumps({'modules': sorted({m.split('.')[0] for m in sys.modules}),\n"
        "    'client': sys.modules['client'].__file__, 'runs': globals().get('runs')}))\n"
    )
    env = {
        **os.environ,
        "FLET_APP_STORAGE_DATA": str(tmp_path / "data"),
        "FLET_ASSETS_DIR": str(app / "assets"),
    }
    done = subprocess.run(
        [sys.executable, "-c", code + report],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report_line: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report_line


def _client_constant(name: str) -> str:
    """A string constant from the client's source (read, not imported)."""
    for source in sorted((ROOT / "client").glob("*.py")):
        for node in ast.parse(source.read_text(encoding="utf-8")).body:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
                and isinstance(node.value, ast.Constant)
            ):
                return str(node.value.value)
    raise LookupError(name)
