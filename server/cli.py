"""`carerounds-server`: serve, demo, migrate, import-users, import-students."""

import argparse
import contextlib
import ipaddress
import secrets
import socket
import sys
from pathlib import Path

import uvicorn
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from server import demo, retention, roster
from server.config import Settings
from server.db import make_engine, migrate
from server.models import User
from server.web_app import PREFIX, is_built
from shared.hlc import Clock


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    if settings.is_sqlite and args.workers > 1:
        print("note: several workers on SQLite share one writer; PostgreSQL scales further.")
    tls = args.ssl_certfile is not None
    for line in app_address_lines(args.host, args.port, tls=tls, built=is_built(settings.web_dir)):
        print(line)
    sys.stdout.flush()  # before uvicorn's own lines, which go to stderr
    uvicorn.run(
        "server.main:serve_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        access_log=args.access_log,
        ssl_certfile=str(args.ssl_certfile.resolve()) if tls else None,
        ssl_keyfile=str(args.ssl_keyfile.resolve()) if tls else None,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )


def app_address_lines(host: str, port: int, *, tls: bool, built: bool) -> list[str]:
    """Where to open the app: the address served, or, served on every interface, this
    machine's addresses (for a phone on the school's network) and 127.0.0.1."""
    if not built:
        return [
            f"CareRounds app: not built; run scripts/build-web.sh, then start the server "
            f"again to serve it at {PREFIX}/"
        ]
    scheme = "https" if tls else "http"
    hosts = _machine_addresses() if _is_every_interface(host) else [host]
    return [f"CareRounds app: {scheme}://{_url_host(h)}:{port}{PREFIX}/" for h in hosts]


def _is_every_interface(host: str) -> bool:
    try:
        return not host or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def _url_host(host: str) -> str:
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    return host


def _machine_addresses() -> list[str]:
    """This machine's IPv4 addresses a phone could reach, then 127.0.0.1."""
    found: list[str] = []
    with contextlib.suppress(OSError):
        for *_, sockaddr in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.append(str(sockaddr[0]))
    # The address of the way out to the network (connecting a UDP socket sends nothing):
    # the hostname often names only 127.0.1.1.
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))
        found.append(str(probe.getsockname()[0]))
    reachable = [a for a in found if not ipaddress.ip_address(a).is_loopback]
    return [*dict.fromkeys(reachable), "127.0.0.1"]


def _check_tls_files(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Both TLS files or neither, and each one there (else a usage error, exit 2)."""
    given = [f for f in (args.ssl_certfile, args.ssl_keyfile) if f is not None]
    if len(given) == 1:
        parser.error("HTTPS needs both --ssl-certfile and --ssl-keyfile")
    for path in given:
        if not path.is_file():
            parser.error(f"no such file {path}")


def _cli_clock() -> Clock:
    return Clock(f"cli-{secrets.token_hex(4)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="carerounds-server", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("serve", "apply migrations, then serve the API and the app"),
        ("demo", "seed the demo school into an empty database, then serve"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--host", default="127.0.0.1")
        sub.add_argument("--port", type=int, default=8000)
        sub.add_argument("--workers", type=int, default=1, help="server processes")
        sub.add_argument(
            "--ssl-certfile", type=Path, metavar="PATH", help="serve HTTPS: the certificate (PEM)"
        )
        sub.add_argument(
            "--ssl-keyfile", type=Path, metavar="PATH", help="serve HTTPS: its private key (PEM)"
        )
        sub.add_argument(
            "--access-log",
            action="store_true",
            help="log a line per request (method, path, status; off by default: a school's "
            "phones make several requests a second each, and a proxy in front logs them)",
        )
        sub.add_argument(
            "--forwarded-allow-ips",
            default="127.0.0.1",
            metavar="IPS",
            help="proxies (comma-separated, or *) whose X-Forwarded-Proto/-For are believed",
        )
    commands.add_parser("migrate", help="bring the database schema up to date")
    commands.add_parser(
        "retention",
        help="now, not at the next hourly sweep: move closed cases off the phones (the "
        "school's setting) and delete those the server no longer keeps",
    )
    users = commands.add_parser("import-users", help="import accounts from a CSV file")
    users.add_argument("csv", type=Path)
    students = commands.add_parser("import-students", help="import students from a CSV file")
    students.add_argument("csv", type=Path)
    students.add_argument(
        "--create-classes", action="store_true", help="create classes the file names"
    )
    args = parser.parse_args(argv)
    if args.command in ("serve", "demo"):
        _check_tls_files(parser, args)

    settings = Settings()
    engine = make_engine(settings)
    try:
        migrate(settings, engine)
        status = _run(args, engine)
    finally:
        # Before serving too: the server processes open their own connections.
        engine.dispose()
    if status is None:
        _serve(settings, args)
        return 0
    return status


def _run(args: argparse.Namespace, engine: Engine) -> int | None:
    """Run a one-off command; None means "now serve"."""
    if args.command == "migrate":
        print("database is up to date")
        return 0
    if args.command in ("import-users", "import-students"):
        return _import(args, engine)
    if args.command == "retention":
        settings = Settings()
        with Session(engine) as session:
            done = retention.sweep(session, _cli_clock(), settings.keep_closed_cases_days)
        kept = settings.keep_closed_cases_days
        print(f"{done.archived} closed cases left the phones")
        if kept is None:
            print("the server keeps closed cases forever (CAREROUNDS_KEEP_CLOSED_CASES_DAYS)")
        else:
            print(
                f"{done.purged} closed cases ({done.purged_records} records) closed over "
                f"{kept} days ago were deleted from the server"
            )
        return 0
    if args.command == "demo":
        with Session(engine) as session:
            if demo.is_empty(session):
                seeded = demo.seed(session, _cli_clock())
                print("seeded the demo school")
            else:
                print("the database already has people; not seeding the demo school")
                seeded = list(session.exec(select(User).order_by(col(User.created_at))))
            print(demo.logins_table(seeded))
    return None


def _import(args: argparse.Namespace, engine: Engine) -> int:
    if not args.csv.is_file():
        print(f"error: no such file {args.csv}", file=sys.stderr)
        return 2
    with Session(engine) as session:
        try:
            if args.command == "import-users":
                report = roster.import_users(session, _cli_clock(), args.csv)
            else:
                report = roster.import_students(
                    session, _cli_clock(), args.csv, create_classes=args.create_classes
                )
        except roster.RosterError as exc:
            print(f"nothing imported; fix these lines of {args.csv}:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
    print(f"imported {report.created} new, updated {report.updated}")
    if report.classes_created:
        print(f"created classes: {', '.join(report.classes_created)}")
    if report.generated_passwords:
        print("one-time passwords (hand them out, then ask people to change them):")
        for username, password in report.generated_passwords:
            print(f"  {username}  {password}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
