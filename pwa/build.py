"""Builds the CareRounds client as a static, installable, offline PWA in build/web/.

    .venv/bin/python pwa/build.py [--force] [--out DIR] [--main FILE]
    (or scripts/build-web.sh, which first runs scripts/setup.sh)

Everything comes from PyPI and npm packages, nothing else is downloaded: `flet publish`
gets its Python-build manifest and its Pyodide runtime (npm `pyodide`) locally, the
browser's wheels (pwa/requirements.txt) are installed into the app's `__pypackages__` at
build time, so the browser installs nothing, and our own service worker (pwa/sw.js)
precaches every file left after the unused renderers are deleted. The inputs are hashed
into build/web/.build-stamp: an unchanged tree is not built again. Downloads, the Pyodide
cache and the converted font stay in build/.web-cache/, so a rebuild runs offline.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PWA = ROOT / "pwa"
OUT = ROOT / "build" / "web"
STAGE = ROOT / "build" / ".web-stage"
CACHE = ROOT / "build" / ".web-cache"
NODE_MODULES = PWA / "node_modules"
ICONS = PWA / "icons"

APP_NAME = "CareRounds 校园防控"
APP_SHORT_NAME = "CareRounds"
APP_DESCRIPTION = "离线可用的校园卫生防控：消毒巡查、病例随访、心理个案"
BASE_URL = "/app/"
THEME_COLOR = "#00897B"
BACKGROUND_COLOR = "#FFFFFF"
PYTHON_VERSION = "3.14"
PYTHON_FULL_VERSION = "3.14.6"
PYODIDE_VERSION = "314.0.7"
WASM_PLATFORM = "pyemscripten_2026_0_wasm32"
FONT_SOURCE = "fonts/ofl/notosanssc/NotoSansSC[wght].ttf"
FONT_TARGET = "fonts/NotoSansSC.ttf"  # client/app.py's FONT_FILE, the same on every platform
# fontTools needs brotli for WOFF2; it is a build tool only, installed into the cache.
BROTLI = "brotli==1.2.1"
MAIN_PY = "from client.web import main\n\nmain()\n"
CACHE_PREFIX = "carerounds-"
# Inside a tar member mtime of 0 would read as 1970; any constant keeps the archive stable.
FIXED_MTIME = 315532800  # 1980-01-01

# Deleted after `flet publish`: what a Chromium/Firefox/Safari start with the canvaskit
# renderer and the dart2js build never requests (checked with Chromium's request log).
UNUSED = (
    "main.dart.wasm",  # dart2wasm build, only with the skwasm renderer
    "main.dart.mjs",
    "flutter.js.map",
    "flutter_service_worker.js",  # Flutter's own worker: ours replaces it
    "manifest.json",  # replaced by manifest.webmanifest
    "flutter.js",  # flutter_bootstrap.js carries its own copy
    "canvaskit/skwasm.js",
    "canvaskit/skwasm.wasm",
    "canvaskit/skwasm_heavy.js",
    "canvaskit/skwasm_heavy.wasm",
    "canvaskit/wimp.js",
    "canvaskit/wimp.wasm",
    "canvaskit/experimental_webparagraph",
    # Assets of Flutter plugins behind controls CareRounds does not use (video, audio
    # recording, wake lock, maps): loaded only by those controls.
    "assets/packages/media_kit",
    "assets/packages/record_web",
    "assets/packages/wakelock_plus",
    "assets/packages/flutter_map",
    "icons/icon-maskable-192.png",
    "icons/apple-touch-icon-192.png",
    # The worker imports pyodide.mjs; the rest is for Node, the REPL and TypeScript.
    "pyodide/pyodide.js",
    "pyodide/ffi.d.ts",
    "pyodide/pyodide.d.ts",
    "pyodide/python",
    "pyodide/python.bat",
    "pyodide/python.exe",
    "pyodide/python_cli_entry.mjs",
    "pyodide/package.json",
    # micropip only loads when the app archive names requirements, and ours names none.
    "pyodide/micropip-0.11.1-py3-none-any.whl",
    "pyodide/packaging-26.1-py3-none-any.whl",
)
UNUSED_SUFFIXES = (".symbols", ".map")

SW_REGISTRATION = """<script>
    // CareRounds' service worker (sw.js) keeps every file of this build for offline starts.
    // A new build is taken on the first online start after it is deployed: the browser
    // checks sw.js on every start (fetched past the HTTP cache); a changed sw.js precaches
    // the new files, then skipWaiting() + clients.claim() make it control this page at
    // once, and the page reloads once so that the Flutter and Python code of the new build
    // run rather than a mix. A first visit (no controller before) is not reloaded.
    if ("serviceWorker" in navigator) {
      const hadController = Boolean(navigator.serviceWorker.controller);
      let reloading = false;
      navigator.serviceWorker.addEventListener("controllerchange", () => {
        if (hadController && !reloading) {
          reloading = true;
          window.location.reload();
        }
      });
      window.addEventListener("load", () => {
        navigator.serviceWorker
          .register("sw.js", { scope: "./", updateViaCache: "none" })
          .catch((error) => console.warn("CareRounds: no offline support:", error));
      });
    }
    // The stores hold work not yet synced: ask the browser not to evict them under storage
    // pressure (granted to installed apps and sites people use; only a window may ask).
    if (navigator.storage && navigator.storage.persist) {
      navigator.storage.persist().catch(() => {});
    }
  </script>
"""


def log(message: str) -> None:
    print(message, flush=True)


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, quiet: bool = False) -> str:
    """Runs a command; on failure prints its output and stops the build."""
    result = subprocess.run(  # noqa: S603 (our own arguments, no shell)
        args, cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"build failed: {' '.join(args)} exited with {result.returncode}")
    if not quiet and result.stdout.strip():
        log(result.stdout.rstrip())
    return result.stdout


def files_under(folder: Path) -> Iterator[Path]:
    """The files below folder in a stable order, without bytecode caches."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_files() -> list[Path]:
    """What the build reads from the repository; the npm and PyPI packages are pinned in it."""
    pwa_inputs = ["build.py", "sw.js", "requirements.txt", "package.json", "package-lock.json"]
    return [
        *files_under(ROOT / "client"),
        *files_under(ROOT / "shared"),
        *(PWA / name for name in pwa_inputs),
        *files_under(ICONS),
    ]


def input_stamp(main_py: str) -> str:
    """One hash over every input of the build, the tool versions included."""
    digest = hashlib.sha256()
    for package in ("flet", "flet-web", "flet-cli", "justmytype-intl-cjk", "fonttools"):
        digest.update(f"{package}=={importlib.metadata.version(package)}\n".encode())
    digest.update(f"main.py\0{main_py}\n".encode())
    for path in input_files():
        digest.update(f"{path.relative_to(ROOT).as_posix()}\0{file_hash(path)}\n".encode())
    return digest.hexdigest()


def ensure_node_modules() -> None:
    if not (NODE_MODULES / "pyodide" / "package.json").exists():
        log("Installing pwa/node_modules (npm ci)...")
        run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PWA)
    installed = json.loads((NODE_MODULES / "pyodide" / "package.json").read_text())["version"]
    if installed != PYODIDE_VERSION:
        raise SystemExit(f"pwa/node_modules has pyodide {installed}, run: cd pwa && npm ci")


def flet_environment() -> dict[str, str]:
    """`flet publish`'s environment: its manifest and its Pyodide cache, both local.

    flet keeps a cached Pyodide only when pyodide-lock.json's info.version names it, which
    the lock files no longer carry: it is added here (Pyodide itself reads abi_version).
    """
    manifest = CACHE / "python-build-manifest.json"
    pyodide = CACHE / "flet" / "pyodide" / PYODIDE_VERSION
    pyodide.mkdir(parents=True, exist_ok=True)
    manifest.write_text(
        json.dumps(
            {
                "default_python_version": PYTHON_VERSION,
                "pythons": {
                    PYTHON_VERSION: {
                        "full_version": PYTHON_FULL_VERSION,
                        "pyodide_version": PYODIDE_VERSION,
                        "android_abis": [],
                        "prerelease": False,
                    }
                },
            },
            indent=2,
        )
    )
    npm = NODE_MODULES / "pyodide"
    for name in ("pyodide.mjs", "pyodide.js", "pyodide.asm.mjs", "pyodide.asm.wasm"):
        shutil.copyfile(npm / name, pyodide / name)
    for name in ("python_stdlib.zip", "package.json"):
        shutil.copyfile(npm / name, pyodide / name)
    lock = json.loads((npm / "pyodide-lock.json").read_text())
    lock["info"]["version"] = PYODIDE_VERSION
    (pyodide / "pyodide-lock.json").write_text(json.dumps(lock))
    # micropip and packaging: not in the npm package, shipped inside flet-web.
    flet_web_pyodide = web_package_dir() / "pyodide"
    for wheel in flet_web_pyodide.glob("*.whl"):
        shutil.copyfile(wheel, pyodide / wheel.name)
    env = dict(os.environ)
    env["FLET_PYTHON_BUILD_MANIFEST"] = str(manifest)
    env["FLET_CACHE_DIR"] = str(CACHE / "flet")
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def web_package_dir() -> Path:
    from flet_web import get_package_web_dir  # type: ignore[import-untyped]

    return Path(get_package_web_dir())


def pip_environment() -> dict[str, str]:
    # This machine's pip config names a global constraints file for unrelated packages;
    # requirements.txt pins everything exactly, so no constraint applies to this install.
    return {**os.environ, "PIP_CONSTRAINT": "", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def install_packages(target: Path) -> None:
    """Installs pwa/requirements.txt's wasm wheels into the app's __pypackages__.

    Offline from build/.web-cache/wheels when it holds them all, else downloaded there first.
    """
    wheels = CACHE / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    requirements = str(PWA / "requirements.txt")
    platform = [
        "--platform",
        WASM_PLATFORM,
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--abi",
        "cp314",
        "--only-binary=:all:",
        "--no-deps",
    ]
    pip = [sys.executable, "-m", "pip"]
    install = [
        *pip,
        "install",
        "--quiet",
        "--no-compile",
        "--no-index",
        "--find-links",
        str(wheels),
        "--target",
        str(target),
        *platform,
        "-r",
        requirements,
    ]
    env = pip_environment()
    probe = subprocess.run(  # noqa: S603
        install, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        log("Downloading the browser's wheels into build/.web-cache/wheels...")
        run(
            [*pip, "download", "--quiet", "-d", str(wheels), *platform, "-r", requirements],
            ROOT,
            env,
        )
        shutil.rmtree(target, ignore_errors=True)
        run(install, cwd=ROOT, env=env)
    # Console scripts are of no use in a browser.
    shutil.rmtree(target / "bin", ignore_errors=True)


def web_font(source: Path) -> Path:
    """Noto Sans SC as WOFF2: 7.8 MB instead of 17.8, every weight kept, drawn the same.

    The file keeps the name client/app.py gives it (fonts/NotoSansSC.ttf): Flutter reads
    the format from the bytes, not the name. Converted once per font (about a minute and a
    half), then taken from build/.web-cache/fonts.
    """
    converted = CACHE / "fonts" / f"NotoSansSC-{file_hash(source)[:16]}.woff2"
    if converted.exists():
        return converted
    tools = CACHE / "tools" / BROTLI.replace("==", "-")
    if not (tools / "brotli.py").exists():
        log(f"Installing {BROTLI} (fontTools' WOFF2 compressor) into build/.web-cache/tools...")
        shutil.rmtree(tools, ignore_errors=True)
        run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(tools), BROTLI],
            ROOT,
            pip_environment(),
        )
    log("Compressing Noto Sans SC to WOFF2 (once)...")
    converted.parent.mkdir(parents=True, exist_ok=True)
    partial = converted.with_suffix(".partial")
    compress = "import sys; from fontTools.ttLib import woff2; woff2.compress(*sys.argv[1:])"
    run(
        [sys.executable, "-c", compress, str(source), str(partial)],
        ROOT,
        {**os.environ, "PYTHONPATH": str(tools)},
    )
    partial.rename(converted)
    return converted


def stage_app(stage: Path, main_py: str) -> None:
    """The folder `flet publish` packs: the client's code, its packages and its assets only."""
    from importlib import resources

    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("client", "shared"):
        shutil.copytree(ROOT / package, stage / package, ignore=ignore)
    (stage / "main.py").write_text(main_py, encoding="utf-8")
    assets = stage / "assets"
    (assets / "icons").mkdir(parents=True)
    font = assets / FONT_TARGET
    font.parent.mkdir(parents=True)
    with resources.as_file(resources.files("justmytype_intl_cjk") / FONT_SOURCE) as path:
        shutil.copyfile(web_font(path), font)
    for icon in ICONS.glob("*.png"):
        if icon.name == "favicon.png":
            shutil.copyfile(icon, assets / icon.name)
        else:
            shutil.copyfile(icon, assets / "icons" / icon.name)
    install_packages(stage / "__pypackages__")


def publish(stage: Path, dist: Path) -> None:
    args = [
        *(sys.executable, "-m", "flet.cli", "publish", "main.py"),
        *("--distpath", str(dist)),
        "--no-cdn",
        *("--base-url", BASE_URL),
        *("--python-version", PYTHON_VERSION),
        *("--app-name", APP_NAME),
        *("--app-short-name", APP_SHORT_NAME),
        *("--app-description", APP_DESCRIPTION),
        *("--web-renderer", "canvaskit"),
        # Path URLs under /app/; the service worker answers every navigation in its scope
        # with index.html, so a deep link starts offline too.
        *("--route-url-strategy", "path"),
        *("--pwa-theme-color", THEME_COLOR),
        *("--pwa-background-color", BACKGROUND_COLOR),
    ]
    run(args, cwd=stage, env=flet_environment(), quiet=True)


def pack_app(stage: Path, archive: Path) -> None:
    """Replaces flet's app.tar.gz with a byte-stable one that names no requirements.

    flet's archive carries timestamps (so every build would change the precache) and a
    requirements.txt that makes the browser load micropip; with every package already in
    __pypackages__ there is nothing for micropip to do.
    """

    def members(folder: Path) -> Iterable[Path]:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if relative.parts[0] == "assets" or "__pycache__" in relative.parts:
                continue
            yield path

    with (
        archive.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.GNU_FORMAT) as tar,
    ):
        for path in members(stage):
            info = tar.gettarinfo(str(path), arcname=path.relative_to(stage).as_posix())
            info.mtime = FIXED_MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = 0o755 if info.isdir() else 0o644
            if info.isfile():
                with path.open("rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)


def remove_unused(dist: Path) -> None:
    for name in UNUSED:
        path = dist / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    for path in list(dist.rglob("*")):
        if path.is_file() and path.suffix in UNUSED_SUFFIXES:
            path.unlink()


def substitute(text: str, pattern: str, replacement: str, what: str) -> str:
    """re.sub that stops the build when flet's files no longer look as expected."""
    new, count = re.subn(pattern, replacement, text, count=1, flags=re.DOTALL)
    if count != 1:
        raise SystemExit(f"build failed: cannot patch {what} (flet-web changed?)")
    return new


def patch_pages(dist: Path) -> None:
    index = dist / "index.html"
    html = index.read_text(encoding="utf-8")
    # A module worker cannot import the bare "pyodide/pyodide.mjs".
    html = substitute(
        html, r'flet\.pyodideUrl="[^"]*";', 'flet.pyodideUrl="./pyodide/pyodide.mjs";', "pyodideUrl"
    )
    html = substitute(
        html,
        r'<link rel="manifest" href="manifest\.json">',
        '<link rel="manifest" href="manifest.webmanifest">\n'
        f'  <meta name="theme-color" content="{THEME_COLOR}">',
        "the manifest link",
    )
    html = substitute(
        html,
        r'<link rel="apple-touch-icon" href="[^"]*">',
        '<link rel="apple-touch-icon" href="icons/apple-touch-icon.png">',
        "apple-touch-icon",
    )
    html = substitute(html, r"<html>", '<html lang="zh-CN">', "the html tag")
    html = substitute(html, r"</head>", SW_REGISTRATION + "</head>", "the head")
    index.write_text(html, encoding="utf-8")

    bootstrap = dist / "flutter_bootstrap.js"
    script = bootstrap.read_text(encoding="utf-8")
    script = substitute(
        script, r"\n\s*serviceWorkerSettings: \{.*?\},", "", "Flutter's service worker settings"
    )
    bootstrap.write_text(script, encoding="utf-8")
    start_python_early(dist)


# Flet creates the Python worker only when Flutter has loaded and connects (jsConnect), so
# Pyodide's boot (3 s), the app archive and the app's imports wait for Flutter's shell
# (1.5 s). The worker is started as soon as the page runs python.js instead, and does those
# while Flutter loads; jsConnect takes it, and Flet's own start finds the archive unpacked.
EARLY_WORKER = """
// CareRounds: the Python worker starts now, beside Flutter (pwa/build.py).
const _workerUrl = () => (flet.entrypointBaseUrl.endsWith("/") ?
    flet.entrypointBaseUrl.slice(0, -1) : flet.entrypointBaseUrl) + "/python-worker.js";
let _earlyWorker = new Worker(_workerUrl(), { type: "module" });
_earlyWorker.postMessage({
    preload: flet.pyodideUrl || "pyodide/pyodide.mjs", archive: flet.appPackageUrl });
"""
EARLY_BOOT = """
self.bootPyodide = async function (url) {
    const pyodideModule = await import(url);
    const loadPyodide = pyodideModule.loadPyodide || self.loadPyodide;
    return await loadPyodide({
        stdout: (text) => self.sendPythonOutput(text, false),
        stderr: (text) => self.sendPythonOutput(text, true),
    });
};
self.prepareApp = async function (pyodide, archive) {
    pyodide.registerJsModule("flet_js", flet_js);
    pyodide.globals.set("early_archive", archive);
    await pyodide.runPythonAsync(`
import sys, js
from pyodide.http import pyfetch
_response = await pyfetch(early_archive)
if _response.ok:
    await _response.unpack_archive(format="gztar")
    js.console.log("carerounds-early unpacked")
    sys.path.insert(0, "__pypackages__")
    import client.app  # the app's imports (Flet, the screens, the schemas)
    js.console.log("carerounds-early imported")
`);
    return pyodide;
};
"""


def start_python_early(dist: Path) -> None:
    page_side = dist / "python.js"
    script = page_side.read_text(encoding="utf-8")
    script = substitute(script, r"let _apps = \{\};", "let _apps = {};" + EARLY_WORKER, "python.js")
    script = substitute(
        script,
        r"app\.worker = new Worker\(.*?\{ type: \"module\" \}\);",
        'app.worker = _earlyWorker || new Worker(_workerUrl(), { type: "module" });\n'
        "    _earlyWorker = null;",
        "the worker's creation",
    )
    page_side.write_text(script, encoding="utf-8")

    worker = dist / "python-worker.js"
    script = worker.read_text(encoding="utf-8")
    script = substitute(
        script,
        r"self\.initPyodide = async function",
        EARLY_BOOT + "self.initPyodide = async function",
        "initPyodide",
    )
    script = substitute(
        script,
        r"const pyodideModule = await import\(self\.pyodideUrl\);.*?\}\);",
        "self.pyodide = await (self.pyodideBoot || self.bootPyodide(self.pyodideUrl));",
        "the Pyodide boot",
    )
    script = substitute(
        script,
        r"self\.onmessage = async \(event\) => \{",
        "self.onmessage = async (event) => {\n"
        "    if (event.data && event.data.preload) {\n"
        "        self.pyodideBoot = self.bootPyodide(event.data.preload)\n"
        "            .then((py) => {\n"
        "                console.log('carerounds-early booted');\n"
        "                return self.prepareApp(py, event.data.archive);\n"
        "            });\n"
        "        return;\n"
        "    }",
        "the worker's messages",
    )
    script = substitute(
        script,
        r'( *)if "script" not in py_args:',
        r'\1if "script" not in py_args and os.path.exists(f"{python_module_name}.py"):\n'
        r'\1    print("The app archive was unpacked early")\n'
        r'\1elif "script" not in py_args:',
        "the archive's download",
    )
    worker.write_text(script, encoding="utf-8")


def write_manifest(dist: Path) -> None:
    manifest = {
        "id": BASE_URL,
        "name": APP_NAME,
        "short_name": APP_SHORT_NAME,
        "description": APP_DESCRIPTION,
        "lang": "zh-CN",
        "start_url": BASE_URL,
        "scope": BASE_URL,
        "display": "standalone",
        "background_color": BACKGROUND_COLOR,
        "theme_color": THEME_COLOR,
        "icons": [
            {"src": "icons/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "icons/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {
                "src": "icons/icon-maskable-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    (dist / "manifest.webmanifest").write_text(text, encoding="utf-8")


def add_vendor_files(dist: Path) -> None:
    # The whole library as one ES module (216 kB): the client imports its scrypt.
    vendor = dist / "vendor"
    vendor.mkdir()
    shutil.copyfile(
        NODE_MODULES / "hash-wasm" / "dist" / "index.esm.min.js", vendor / "hash-wasm.mjs"
    )


def write_service_worker(dist: Path) -> dict[str, object]:
    """sw.js with the precache list, and precache.json with the sizes for tests and benches."""
    files = sorted(
        path.relative_to(dist).as_posix()
        for path in dist.rglob("*")
        if path.is_file() and path.name not in ("sw.js", ".build-stamp", "precache.json")
    )
    hashes = {name: file_hash(dist / name)[:16] for name in files}
    build = hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()[:16]
    template = (PWA / "sw.js").read_text(encoding="utf-8")
    for placeholder, value in (
        ("__CACHE_NAME__", json.dumps(CACHE_PREFIX + build)),
        ("__CACHE_PREFIX__", json.dumps(CACHE_PREFIX)),
        ("__PRECACHE__", json.dumps(hashes, indent=1)),
    ):
        if placeholder not in template:
            raise SystemExit(f"build failed: pwa/sw.js lacks {placeholder}")
        template = template.replace(placeholder, value)
    (dist / "sw.js").write_text(template, encoding="utf-8")
    sizes = {name: (dist / name).stat().st_size for name in files}
    total = sum(sizes.values())
    # What one browser precaches: sw.js skips the canvaskit variant it will not load.
    chromium = sum(v for k, v in sizes.items() if not k.startswith("canvaskit/canvaskit."))
    others = sum(v for k, v in sizes.items() if not k.startswith("canvaskit/chromium/"))
    report: dict[str, object] = {
        "build": build,
        "cache": CACHE_PREFIX + build,
        "files": [{"path": name, "bytes": sizes[name], "sha256": hashes[name]} for name in files],
        "count": len(files),
        "total_bytes": total,
        "total_mb": round(total / 1e6, 2),
        "browser_mb": {"chromium": round(chromium / 1e6, 2), "others": round(others / 1e6, 2)},
    }
    (dist / "precache.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return report


def replace_output(new: Path, out: Path) -> None:
    """Puts the finished build in place; a failed build never leaves a half build/web."""
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    new.rename(out)
    shutil.rmtree(old, ignore_errors=True)


def build(main_py: str, stamp: str, out: Path) -> None:
    started = time.monotonic()
    ensure_node_modules()
    CACHE.mkdir(parents=True, exist_ok=True)
    log("Staging the client in build/.web-stage...")
    stage_app(STAGE, main_py)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".web-", dir=out.parent))
    try:
        dist = work / "web"
        log("flet publish --no-cdn --base-url /app/ ...")
        publish(STAGE, dist)
        pack_app(STAGE, dist / "app.tar.gz")
        remove_unused(dist)
        patch_pages(dist)
        write_manifest(dist)
        add_vendor_files(dist)
        report = write_service_worker(dist)
        (dist / ".build-stamp").write_text(stamp + "\n", encoding="utf-8")
        replace_output(dist, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(
        f"Precache: {report['count']} files, {report['total_mb']} MB; one browser keeps"
        f" {report['browser_mb']} MB "
        f"({display(out / 'precache.json')}); built in {time.monotonic() - started:.0f} s"
    )


def draw_icons(folder: Path) -> None:
    """Draws the app's icons (a white cross on teal); run once, the PNGs are checked in."""
    from PIL import Image, ImageDraw

    teal = (0, 137, 123, 255)
    white = (255, 255, 255, 255)

    def icon(size: int, maskable: bool) -> Image.Image:
        scale = 4  # drawn large, then scaled down: smooth edges
        big = size * scale
        image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
        draw = ImageDraw.Draw(image)
        if maskable:
            # Full bleed; the cross stays inside the central 80 % safe circle.
            draw.rectangle((0, 0, big, big), fill=teal)
            arm, bar = big * 0.25, big * 0.09
        else:
            margin = big * 0.04
            draw.rounded_rectangle(
                (margin, margin, big - margin, big - margin), radius=big * 0.22, fill=teal
            )
            arm, bar = big * 0.3, big * 0.105
        middle = big / 2
        draw.rounded_rectangle(
            (middle - bar, middle - arm, middle + bar, middle + arm), radius=bar * 0.35, fill=white
        )
        draw.rounded_rectangle(
            (middle - arm, middle - bar, middle + arm, middle + bar), radius=bar * 0.35, fill=white
        )
        return image.resize((size, size), Image.Resampling.LANCZOS)

    folder.mkdir(parents=True, exist_ok=True)
    icon(192, False).save(folder / "icon-192.png", optimize=True)
    icon(512, False).save(folder / "icon-512.png", optimize=True)
    icon(512, True).save(folder / "icon-maskable-512.png", optimize=True)
    # iOS masks the corners itself and wants no transparency.
    icon(180, True).convert("RGB").save(folder / "apple-touch-icon.png", optimize=True)
    icon(48, False).save(folder / "favicon.png", optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    parser.add_argument(
        "--main",
        type=Path,
        help="stage this file as main.py instead of `from client.web import main` (trials)",
    )
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (build/web)")
    parser.add_argument(
        "--draw-icons", action="store_true", help="redraw pwa/icons/*.png, then exit"
    )
    options = parser.parse_args()
    if options.draw_icons:
        draw_icons(ICONS)
        return
    main_py = options.main.read_text(encoding="utf-8") if options.main else MAIN_PY
    stamp = input_stamp(main_py)
    out = options.out.resolve()
    stamp_file = out / ".build-stamp"
    if not options.force and stamp_file.exists() and stamp_file.read_text().strip() == stamp:
        log(f"{display(out)} is up to date")
        return
    build(main_py, stamp, out)


def display(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


if __name__ == "__main__":
    main()
