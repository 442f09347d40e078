"""The `catalogue` command: harvest, index, serve, validate, check sources, manage accounts,
back up the data directory."""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from catalogue import logs
from catalogue.settings import SEARCHES_PER_CORE, Settings
from catalogue.site import listening
from catalogue.storage.database import DatabaseUnavailable
from catalogue.storage.published import SecondRecord
from catalogue.storage.sqlite import SchemaTooNew


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="catalogue", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    harvest = commands.add_parser("harvest", help="harvest the configured sources into the data directory")
    harvest.add_argument("--source", action="append", metavar="ID", help="only this source (repeatable)")
    harvest.add_argument("--only-new", action="store_true", help="only sources with no stored graph yet")
    harvest.add_argument("--due", action="store_true",
                         help="only sources whose `interval` has passed since their last attempt")
    harvest.add_argument("--accept-shrink", action="store_true",
                         help="with --source: apply an answer that would remove more of the source's "
                              "records than its max_shrink (or all of them), which is otherwise held")
    harvest.add_argument("--demo-edition", type=int, default=1, choices=[1, 2],
                         help="serve the bundled demo sources as of this edition (2: some of "
                              "them changed since 1, to show histories)")
    commands.add_parser("index", help="rebuild the search index from the store")
    serve = commands.add_parser("serve", help="serve the explorer")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--schedule", action="store_true",
                       help="also run due harvests in the background (checked every minute)")
    serve.add_argument("--check-every", type=float, default=60.0, metavar="SECONDS",
                       help="with --schedule: seconds between checks for due sources (default 60)")
    serve.add_argument("--workers", type=int, metavar="N",
                       help="processes answering requests, sharing the one index (default: the number of cores)")
    validate = commands.add_parser("validate", help="check an RDF file against the catalogue's shapes")
    validate.add_argument("file", type=Path)
    validate.add_argument("--format", help="RDF syntax (default: from the file name)")
    validate.add_argument("--profile", default="dcat-ap-no", choices=["dcat-ap-no", "dcat-ap"],
                          help="which of the gate's profiles to check (default: dcat-ap-no)")
    validate.add_argument("--shapes", type=Path, action="append",
                          help="validate against these shape files instead (repeatable)")
    validate.add_argument("--lang", default="en", choices=["en", "nb"])
    sources = commands.add_parser("sources", help="look at the configured sources without harvesting them")
    source_commands = sources.add_subparsers(dest="action", required=True)
    check = source_commands.add_parser(
        "check", help="ask each source whether it answers, in the shape its kind reads (exit status 1 if any does not)")
    check.add_argument("file", type=Path, nargs="?",
                       help="the sources configuration (default: CATALOGUE_SOURCES, else the bundled demo)")
    accounts = commands.add_parser("accounts", help="manage the accounts that may write to the catalogue")
    account_commands = accounts.add_subparsers(dest="action", required=True)
    add = account_commands.add_parser("add", help="add an account (asks for its password unless --no-password)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["publisher", "curator", "admin"])
    add.add_argument("--organisation", help="for a publisher: the key of its organisation in [publishers]")
    add.add_argument("--no-password", action="store_true", help="a machine account: API tokens only")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    token = account_commands.add_parser("token", help="make an API token for an account and print it (once)")
    token.add_argument("name")
    token.add_argument("--label", default="token")
    account_commands.add_parser("list", help="list the accounts")
    for action in ("disable", "enable"):
        account_commands.add_parser(action, help=f"{action} an account").add_argument("name")
    backup = commands.add_parser("backup", help="copy what the data directory cannot rebuild into a new folder, "
                                                "consistently while the catalogue runs")
    backup.add_argument("dest", type=Path, help="a folder that does not exist yet (or is empty)")
    ontologies = commands.add_parser("ontologies", help="maintain the shipped ontology files")
    ontologies.add_argument("--update-manifest", action="store_true", required=True)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        return COMMANDS[args.command](settings, args)
    except (SchemaTooNew, DatabaseUnavailable, SecondRecord) as exc:  # a later release's data, or no database: say so, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _harvest(settings: Settings, args) -> int:
    from catalogue.pipeline.harvest import harvest
    from catalogue.sources import ConfigError, load_config
    if args.accept_shrink and not args.source:
        print("error: --accept-shrink applies to the sources named with --source", file=sys.stderr)
        return 2
    try:
        config = load_config(settings.sources_file)
        runs = harvest(settings, config, only=args.source, only_new=args.only_new, due=args.due,
                       demo_edition=args.demo_edition, accept_shrink=args.accept_shrink,
                       progress=lambda line: print(line, file=sys.stderr, flush=True))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"\n{'source':<22} {'status':<10} {'seen':>6} {'accepted':>9} {'held back':>10} "
          f"{'added':>6} {'changed':>8} {'removed':>8} {'time':>7}")
    for s in runs:
        print(f"{s.source:<22} {s.status:<10} {s.seen:>6} {s.accepted:>9} {s.held_back_records:>10} "
              f"{s.added:>6} {s.changed:>8} {s.removed:>8} {s.seconds:>6.1f}s")
    for s in runs:
        if s.status == "held":
            print(f"\n{s.source}: {s.error}; the last good graph is kept until "
                  f"`catalogue harvest --accept-shrink --source {s.source}` applies it")
        elif s.error:
            print(f"\n{s.source}: failed, last good graph kept: {s.error}")
        for h in s.held_back[:20]:
            where = f" {h.path}" if h.path else ""
            print(f"\n{s.source}: held back {h.record}{where}: {h.message}")
        if len(s.held_back) > 20:
            print(f"{s.source}: ... and {len(s.held_back) - 20} more (see the source page)")
    print(f"\ndata directory: {settings.data_dir}")
    return 1 if any(s.status in ("failed", "held") for s in runs) else 0


def _index(settings: Settings, args) -> int:
    from catalogue.pipeline.harvest import settle
    from catalogue.storage.store import Store
    store = Store(settings.data_dir, settings.base_uri, settings.store_url)
    with store.lock():
        count = settle(settings, store, rebuild=True)
    print(f"indexed {count} variables")
    return 0


def _serve(settings: Settings, args) -> int:
    import uvicorn
    workers = args.workers or len(os.sched_getaffinity(0))
    if workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    host, port = args.host or settings.host, args.port or settings.port
    # each worker's searches at once: for its share of the cores (see Services.searches)
    share = -(-len(os.sched_getaffinity(0)) // workers)
    os.environ.setdefault("CATALOGUE_SEARCHES_AT_ONCE", str(SEARCHES_PER_CORE * share))
    if args.schedule:  # in this process alone: with several workers, it is the one that watches them
        from catalogue.pipeline.schedule import Scheduler
        Scheduler(settings, check_every=args.check_every).start()
    print(f"serving {settings.data_dir} at http://{host}:{port} with {workers} worker(s)", file=sys.stderr)
    metrics = None  # the workers' request metrics, in files that /metrics of any of them sums
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        metrics = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="catalogue-metrics-")
    # each worker makes its app from the environment, which its settings were read from
    site = dict(app="catalogue.cli:app", factory=True, workers=workers, host=host, port=port,
                log_config=logs.config(settings.log_format, settings.log_level))
    try:
        if workers > 1 and listening.OWN_SOCKETS:
            from uvicorn.supervisors import Multiprocess
            config = uvicorn.Config(**site)
            try:
                address = listening.one_per_worker(host, port)
            except OSError as exc:
                print(f"error: cannot listen on {host}:{port}: {exc.strerror}", file=sys.stderr)
                return 1
            Multiprocess(config, sockets=[address]).run()
        else:
            uvicorn.run(**site)
    finally:
        if metrics:
            shutil.rmtree(metrics, ignore_errors=True)
    return 0


def app():
    """The site, for `catalogue serve`'s worker processes."""
    import gc
    from catalogue.site.app import create_app
    # A search makes thousands of short-lived objects (the engine's counts, hits as models).
    # With Python's default, young objects were collected every 700 of them, several times a
    # request, and older ones often: a tenth of a worker's time. Every 20,000: about once.
    gc.set_threshold(20_000, 10, 10)
    return create_app(Settings.from_env())


def _validate(settings: Settings, args) -> int:
    from rdflib import Graph

    from catalogue.harvesters.dcat import rdf_syntax
    from catalogue.model.rdf import TooLarge, read_rdf
    from catalogue.gate.shacl import profile_shapes, validate
    path = Path(args.file)
    try:  # as a harvest reads it: bounded, and nothing (a JSON-LD context) fetched
        graph = read_rdf(path.read_bytes(), args.format or rdf_syntax("", path.name), path.resolve().as_uri())
    except (OSError, KeyError, SyntaxError, TooLarge) as exc:
        print(f"{args.file}: cannot parse: {exc}", file=sys.stderr)
        return 2
    shapes = profile_shapes(args.profile)
    if args.shapes:
        shapes = Graph()
        for path in args.shapes:
            shapes.parse(path)
    report = validate(graph, shapes, language=args.lang)
    for result in report.results:
        print(result.describe())
    violations, others = len(report.violations), len(report.results) - len(report.violations)
    verdict = "conforms" if report.conforms else "does not conform"
    print(f"{args.file}: {verdict} ({len(graph)} triples, {violations} violations, {others} warnings)")
    return 0 if report.conforms else 1


def _sources(settings: Settings, args) -> int:
    from catalogue.sources import ConfigError, load_config
    from catalogue.pipeline.sources_check import check_sources
    path = args.file or settings.sources_file
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"checking {len(config.source)} sources of {path}", file=sys.stderr, flush=True)
    checks = check_sources(settings, config)
    print(f"{'source':<22} {'kind':<9} {'state':<12} {'status':<8} {'time':>6}  found")
    for check in checks:
        print(check.line())
    failing = [c.source for c in checks if not c.fine]
    print(f"\n{len(checks) - len(failing)} of {len(checks)} sources fine"
          + (f"; not fine: {', '.join(failing)}" if failing else ""))
    return 1 if failing else 0


def _accounts(settings: Settings, args) -> int:
    """Accounts from the command line (the first admin is made this way); logged in the
    audit log as the system user who ran it."""
    import getpass

    from catalogue.access.accounts import AccountError, Accounts
    from catalogue.access.audit import Audit
    from catalogue.sources import load_config
    from catalogue.storage.database import open_database
    database = open_database(settings)
    accounts, audit = Accounts(database), Audit(database)
    actor = f"cli:{getpass.getuser()}"
    try:
        if args.action == "list":
            for a in accounts.all():
                print(f"{a.name:<24} {a.role:<10} {a.organisation or '-':<16} {'disabled' if a.disabled else 'active'}")
        elif args.action == "add":
            if args.organisation and args.organisation not in load_config(settings.sources_file).publishers:
                raise AccountError(f"{args.organisation!r} is not a key of [publishers] in {settings.sources_file}")
            password = None
            if not args.no_password:
                password = (sys.stdin.readline().rstrip("\n") if args.password_stdin
                            else getpass.getpass(f"password for {args.name}: "))
            made = accounts.add(args.name, args.role, args.organisation, password)
            audit.record(actor, "admin", "account.create", f"account:{made.name}",
                         after={"role": made.role, "organisation": made.organisation}, organisation=made.organisation)
            print(f"added {made.name} ({made.role}{', ' + made.organisation if made.organisation else ''})")
        elif args.action == "token":
            print(accounts.new_token(args.name, args.label))
            audit.record(actor, "admin", "token.create", f"account:{args.name}", after={"label": args.label})
        else:
            accounts.set_disabled(args.name, args.action == "disable")
            audit.record(actor, "admin", f"account.{args.action}", f"account:{args.name}",
                         after={"disabled": args.action == "disable"})
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


# What a restored data directory rebuilds by itself (the search index and its note, quality
# scores, the graph store, and the folder where earlier releases kept quality scores) or only
# speeds up (the HTTP cache of harvests): left out of a backup.
REBUILT = {"index", "concepts", "indexed.json", "quality.sqlite", "quality", "http", "store"}


def _backup(settings: Settings, args) -> int:
    """Copies the data directory holding the writers' lock, so that no commit or clean-up
    happens midway: the state and the files it names are copied as one generation.
    SQLite files are copied through SQLite's backup API, which also takes what is still in
    their write-ahead logs and is consistent while the site writes (lists, logins)."""
    import shutil
    import sqlite3
    from contextlib import closing

    from catalogue.storage.store import Store
    store, dest = Store(settings.data_dir, settings.base_uri, settings.store_url), args.dest.resolve()
    if not store.state_file.exists():
        print(f"error: {settings.data_dir} holds no catalogue (no state.json): nothing to back up", file=sys.stderr)
        return 2
    if dest == store.data_dir.resolve() or store.data_dir.resolve() in dest.parents:
        print(f"error: {dest} is inside the data directory it would copy; choose a folder outside it", file=sys.stderr)
        return 2
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        print(f"error: {dest} already exists and is not an empty folder: a backup is written into a new one",
              file=sys.stderr)
        return 2
    dest.mkdir(parents=True, exist_ok=True)
    copied = 0
    with store.lock():
        for path in sorted(settings.data_dir.rglob("*")):
            relative = path.relative_to(settings.data_dir)
            if relative.parts[0] in REBUILT or any(part.startswith(".") for part in relative.parts) \
                    or path.suffix in (".sqlite-wal", ".sqlite-shm") or path == store.state_file:
                continue  # dot files: locks and files being written
            target = dest / relative
            if path.is_dir():
                target.mkdir(exist_ok=True)
                continue
            if path.suffix == ".sqlite":
                with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(target)) as copy:
                    source.backup(copy)
            else:
                shutil.copy2(path, target)
            copied += 1
        shutil.copy2(store.state_file, dest / store.state_file.name)  # last: a cut-off backup has none
        generation = store.state().generation
    print(f"backed up generation {generation} of {settings.data_dir} to {dest} ({copied + 1} files)")
    return 0


def _ontologies(settings: Settings, args) -> int:
    from catalogue.model import ontology
    for name, digest in ontology.update_manifest().items():
        print(f"{digest}  {name}")
    return 0


COMMANDS = {"harvest": _harvest, "index": _index, "serve": _serve, "validate": _validate,
            "ontologies": _ontologies, "accounts": _accounts, "sources": _sources, "backup": _backup}

if __name__ == "__main__":
    sys.exit(main())
