"""`carerounds-server`: serve, demo, migrate, import-users, import-students."""

import argparse
import secrets
import sys
from pathlib import Path

import uvicorn
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from server import demo, roster
from server.config import Settings
from server.db import make_engine, migrate
from server.models import User
from shared.hlc import Clock


def _serve(settings: Settings, args: argparse.Namespace) -> None:
    if settings.is_sqlite and args.workers > 1:
        print("note: several workers on SQLite share one writer; PostgreSQL scales further.")
    uvicorn.run(
        "server.main:serve_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
    )


def _cli_clock() -> Clock:
    return Clock(f"cli-{secrets.token_hex(4)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="carerounds-server", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("serve", "apply migrations, then serve the API"),
        ("demo", "seed the demo school into an empty database, then serve"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--host", default="127.0.0.1")
        sub.add_argument("--port", type=int, default=8000)
        sub.add_argument("--workers", type=int, default=1, help="server processes")
    commands.add_parser("migrate", help="bring the database schema up to date")
    users = commands.add_parser("import-users", help="import accounts from a CSV file")
    users.add_argument("csv", type=Path)
    students = commands.add_parser("import-students", help="import students from a CSV file")
    students.add_argument("csv", type=Path)
    students.add_argument(
        "--create-classes", action="store_true", help="create classes the file names"
    )
    args = parser.parse_args(argv)

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
