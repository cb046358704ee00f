"""Batch jobs: one sub-command per job, each a few lines of wiring over the packages.

python cli.py generate --scale small --seed 7 --out data/demo/sources
python cli.py run --sources data/demo/sources --as-of 2025-11-20 --out runs/demo
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Register ``cmd_<name>`` as the sub-command ``<name>``."""
    COMMANDS[func.__name__.removeprefix("cmd_")] = func
    return func


@command
def cmd_generate(args: argparse.Namespace) -> int:
    from synth.generate import generate_drop

    summary = generate_drop(
        scale=args.scale,
        seed=args.seed,
        out=Path(args.out),
        truth=Path(args.truth) if args.truth else None,
        fmt=args.format,
        profile=args.profile,
    )
    print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    return 0


def show(value: object) -> int:
    """Print a job's result as JSON; exit status 0."""
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))
    return 0


@command
def cmd_cut(args: argparse.Namespace) -> int:
    from synth.cut import cut_drop

    return show(cut_drop(Path(args.sources), Path(args.out), args.before, since=args.since))


@command
def cmd_ingest(args: argparse.Namespace) -> int:
    from jobs.batch import ingest_job

    return show(ingest_job(Path(args.sources), Path(args.out)))


@command
def cmd_run(args: argparse.Namespace) -> int:
    from jobs.batch import run_job

    return show(run_job(Path(args.sources), args.as_of, Path(args.out), args.store, args.backtest_months))


@command
def cmd_update(args: argparse.Namespace) -> int:
    from jobs.daily import update_job, watch

    if args.watch:
        return show(watch(Path(args.watch), Path(args.out), interval=args.interval, once=args.once))
    if not args.sources or not args.as_of:
        raise ValueError("update needs --sources and --as-of (or --watch FOLDER)")
    return show(update_job(Path(args.sources), args.as_of, Path(args.out)))


@command
def cmd_train(args: argparse.Namespace) -> int:
    from jobs.daily import train_job

    return show(
        train_job(
            Path(args.sources), args.as_of, Path(args.out), args.backtest_months, ablation=args.ablation
        )
    )


@command
def cmd_score(args: argparse.Namespace) -> int:
    from jobs.batch import score_job

    return show(score_job(Path(args.run), args.as_of, Path(args.out) if args.out else None))


@command
def cmd_assign(args: argparse.Namespace) -> int:
    from jobs.batch import assign_job

    return show(assign_job(Path(args.run), store=args.store))


@command
def cmd_load(args: argparse.Namespace) -> int:
    from jobs.batch import load_job

    return show(load_job(Path(args.run), args.store))


@command
def cmd_stats(args: argparse.Namespace) -> int:
    from jobs.batch import stats_job

    return show(stats_job(Path(args.run), args.store))


@command
def cmd_decide(args: argparse.Namespace) -> int:
    from register.store import Register

    with Register.from_settings() as register:
        return show(register.decide_tier(args.dispute, args.tier, args.reason, args.user))


@command
def cmd_team(args: argparse.Namespace) -> int:
    from jobs.decisions import replace_member
    from register.store import Register

    with Register.from_settings() as register:
        return show(
            replace_member(register, args.dispute, args.replace, args.with_staff, args.reason, args.user)
        )


@command
def cmd_persons(args: argparse.Namespace) -> int:
    from jobs.decisions import split_person
    from register.store import Register

    with Register.from_settings() as register:
        if args.action == "merge":
            if len(args.ids) != 2:
                raise ValueError("persons merge needs two person ids: KEEP OTHER")
            return show(register.merge_persons(args.ids[0], args.ids[1], args.reason, args.user))
        if args.action == "split":
            if len(args.ids) != 1 or not args.records:
                raise ValueError("persons split needs one person id and --records KEY_OR_EVENT[,…]")
            return show(split_person(register, args.ids[0], args.records.split(","), args.reason, args.user))
        if args.action == "undo":
            if len(args.ids) != 1 or not args.ids[0].isdigit():
                raise ValueError("persons undo needs the id of the merge or split decision")
            return show(register.undo_person_decision(int(args.ids[0]), args.reason, args.user))
        return show(register.person_decisions().to_dict("records"))


@command
def cmd_register(args: argparse.Namespace) -> int:
    from register.store import Register

    with Register.from_settings() as register:
        if args.action == "migrate":
            return show({"revision": register.migrate()})
        if args.action == "backup":
            if not args.to:
                raise ValueError("register backup needs --to FILE")
            return show({"backup": str(register.backup(Path(args.to)))})
        return show(register.status())


@command
def cmd_users(args: argparse.Namespace) -> int:
    from config import get_settings
    from security.provisioning import add_user, read_new_password, read_staff
    from security.user_store import users_frame

    settings = get_settings()
    if args.action == "list":
        print(users_frame(settings.users_file).to_string(index=False))
        return 0
    if args.action in ("unlock", "disable", "enable", "passwd"):
        import getpass

        from security.audit import AuditLog
        from security.signin import unlock_user
        from security.user_store import disable_user, enable_user, set_password

        name = args.target or args.username
        if not name:
            raise ValueError(f"users {args.action} needs a USERNAME")
        try:
            operator = f"cli:{getpass.getuser()}"
        except (OSError, KeyError):
            operator = "cli"
        audit = AuditLog(settings.audit_log)
        if args.action in ("disable", "enable"):
            (disable_user if args.action == "disable" else enable_user)(settings, name, audit, by=operator)
            print(json.dumps({args.action + "d": name}))
            return 0
        if args.action == "passwd":
            set_password(settings, name, read_new_password(args.password_stdin), audit, by=operator)
            print(json.dumps({"password_set": name}))
            return 0
        before = unlock_user(name, audit, settings, by=operator)
        until = before.locked_until.isoformat() if before.locked_until else None
        print(json.dumps({"unlocked": name, "was_locked": before.locked, "locked_until": until}))
        return 0
    if not args.username or not args.role:
        raise ValueError("users add needs --username and --role")
    staff = read_staff(Path(args.run)) if args.staff_id and args.run else None
    grids = frozenset(g for g in args.grids.split(";") if g) if args.grids else None
    password = read_new_password(args.password_stdin)
    principal = add_user(
        settings,
        args.username,
        password,
        args.role,
        display_name=args.display_name,
        staff_id=args.staff_id,
        county=args.county,
        grids=grids,
        staff=staff,
    )
    scope = {"county": principal.county, "grids": sorted(principal.grids) if principal.grids else None}
    print(json.dumps({"added": principal.username, "role": principal.role, **scope}, ensure_ascii=False))
    return 0


@command
def cmd_bench(args: argparse.Namespace) -> int:
    from bench.report import write_report
    from bench.runner import run_bench

    work = Path(args.work or f"runs/bench/{args.scale}")
    invoked = sys.argv[1:] if Path(sys.argv[0]).name == "cli.py" else ["bench"]

    def described(result: dict) -> dict:
        return {
            **result,
            "command": "python cli.py " + " ".join(invoked),
            "conditions": args.conditions or "",
        }

    def save(partial: dict) -> None:
        write_report(described(partial), Path(args.out), args.merge)

    result = run_bench(
        args.scale, work, repeat=args.repeat, seed=args.seed, sources=Path(args.sources) if args.sources else None,
        reuse_run=Path(args.run) if args.run else None, stages=args.stages, neo4j=args.neo4j, growth=args.growth,
        sessions=args.sessions, loops=args.loops, think_s=args.think_s, crowd=args.crowd, dashboard_store=args.dashboard_store, label=args.label, timeout_s=args.timeout, on_stage=save,
        progress=lambda message: print(f"bench: {message}", file=sys.stderr, flush=True),
    )  # fmt: skip
    markdown, data = write_report(described(result), Path(args.out), args.merge)
    seconds = {name: stage.get("seconds", stage["status"]) for name, stage in result["stages"].items()}
    print(json.dumps({"markdown": str(markdown), "json": str(data), "seconds": seconds}, indent=2))
    return 0


@command
def cmd_report(args: argparse.Namespace) -> int:
    from jobs.report import report_job

    summary = report_job(Path(args.run), Path(args.out), month=args.month)
    print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    from synth.profiles import PROFILES

    parser = argparse.ArgumentParser(prog="cli.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="write a synthetic source drop (and its ground truth)")
    p.add_argument("--scale", choices=["tiny", "small", "city-quarter", "city-half", "city"], default="small")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", required=True)
    p.add_argument("--truth", default=None, help="truth folder (default: OUT/../truth)")
    p.add_argument("--format", choices=["mixed", "clean"], default="mixed")
    p.add_argument(
        "--profile",
        choices=list(PROFILES),
        default="default",
        help="the world: what drives escalation, how operators write, how noisy person rows are",
    )

    p = sub.add_parser("cut", help="the part of a drop that happened before a date (successive exports)")
    p.add_argument("--sources", required=True)
    p.add_argument("--before", required=True, help="YYYY-MM-DD[ HH:MM]: keep events strictly before it")
    p.add_argument(
        "--since", default=None, help="only what is new or changed from this moment on (a daily export)"
    )
    p.add_argument("--out", required=True)

    p = sub.add_parser("ingest", help="read, validate, resolve and link a drop into canonical tables")
    p.add_argument("--sources", required=True)
    p.add_argument("--out", required=True)

    p = sub.add_parser("run", help="ingest, graph, train and score a drop as of a date")
    p.add_argument("--sources", required=True)
    p.add_argument("--as-of", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--store", choices=["memory", "neo4j"], default=None)
    p.add_argument("--backtest-months", type=int, default=6, help="review months in the rolling backtest")

    p = sub.add_parser("update", help="apply a newer export of the city: scores, alerts (a new batch)")
    p.add_argument(
        "--sources", default=None, help="the export: a full re-export or only new and changed rows"
    )
    p.add_argument("--as-of", default=None, help='"YYYY-MM-DD HH:MM": the moment of the export')
    p.add_argument("--out", required=True, help="batch folder (with --watch: the folder of batch folders)")
    p.add_argument("--watch", default=None, help="apply each new export dropped into this folder")
    p.add_argument("--interval", type=float, default=30.0, help="--watch: seconds between looks")
    p.add_argument("--once", action="store_true", help="--watch: apply what is there, then stop")

    p = sub.add_parser("train", help="fit, backtest and register the monthly model (the model in force)")
    p.add_argument("--sources", required=True)
    p.add_argument("--as-of", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--backtest-months", type=int, default=6, help="review months in the rolling backtest")
    p.add_argument(
        "--ablation", action="store_true", help="also backtest the model without each feature family"
    )

    p = sub.add_parser("score", help="re-score a run's tables with the model in force: a new batch")
    p.add_argument("--run", required=True)
    p.add_argument("--as-of", default=None, help="default: the date the model was trained as of")
    p.add_argument("--out", default=None, help="batch folder (default: a new sibling of --run)")

    p = sub.add_parser("assign", help="continue the 多包一 teams of a batch's red/orange disputes")
    p.add_argument("--run", required=True)
    p.add_argument("--store", choices=["memory", "neo4j"], default=None)

    p = sub.add_parser("load", help="load a run's canonical tables into the graph store (idempotent)")
    p.add_argument("--run", required=True)
    p.add_argument("--store", choices=["memory", "neo4j"], default=None)

    p = sub.add_parser("stats", help="node and relationship counts of the graph store")
    p.add_argument("--run", required=True, help="run folder (the memory store is built from it)")
    p.add_argument("--store", choices=["memory", "neo4j"], default="memory")

    p = sub.add_parser("decide", help="record a tier decision (in force until replaced)")
    p.add_argument("--dispute", required=True)
    p.add_argument("--tier", required=True, help="red | orange | yellow | green")
    p.add_argument("--reason", required=True)
    p.add_argument("--user", required=True)

    p = sub.add_parser("team", help="replace a member of a dispute's 多包一 team")
    p.add_argument("--dispute", required=True)
    p.add_argument("--replace", required=True, help="staff_id of the member who leaves")
    p.add_argument("--with", dest="with_staff", required=True, help="staff_id of the member who joins")
    p.add_argument("--reason", required=True)
    p.add_argument("--user", required=True)

    p = sub.add_parser("persons", help="merge or split persons by hand, undo it, or list those decisions")
    p.add_argument("action", choices=["merge", "split", "undo", "list"])
    p.add_argument("ids", nargs="*", help="merge: KEEP OTHER; split: PERSON; undo: DECISION_ID")
    p.add_argument("--records", default=None, help="split: ','-separated record keys or event ids that leave")
    p.add_argument("--reason", default="")
    p.add_argument("--user", default="")

    p = sub.add_parser(
        "register", help="the register: status (counts, last batch, model in force) or migrate"
    )
    p.add_argument("action", choices=["status", "migrate"])

    p = sub.add_parser(
        "users", help="add, list, unlock, disable, enable dashboard users or set a password (audited)"
    )
    p.add_argument("action", choices=["add", "list", "unlock", "disable", "enable", "passwd"])
    p.add_argument("target", nargs="?", default=None, help="unlock/disable/enable/passwd: the USERNAME")
    p.add_argument("--username")
    p.add_argument(
        "--role",
        choices=["commander", "analyst", "grid_worker", "community_officer", "data_scientist", "admin"],
    )
    p.add_argument("--display-name", default=None)
    p.add_argument("--staff-id", default=None, help="bind to a staff member (scope from --run's staff table)")
    p.add_argument("--run", default=None, help="run folder whose staff table gives the scope of --staff-id")
    p.add_argument("--county", default=None, help="commander's county (default: the whole city)")
    p.add_argument("--grids", default=None, help="';'-separated grid_ids (grid workers, officers)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")

    p = sub.add_parser("bench", help="time every stage and the anchors; write BENCHMARKS.md and bench.json")
    p.add_argument("--scale", choices=["tiny", "small", "city-quarter", "city-half", "city"], default="small")
    p.add_argument("--repeat", type=int, default=3, help="processes per stage (heavy ones: once at city)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=".", help="folder of BENCHMARKS.md and bench.json")
    p.add_argument("--work", default=None, help="scratch folder (default: runs/bench/SCALE)")
    p.add_argument("--sources", default=None, help="reuse this drop (truth in ../truth), do not generate")
    p.add_argument("--run", default=None, help="reuse this finished run folder instead of timing `run`")
    p.add_argument("--stages", nargs="+", default=None, help="only these stages (default: all)")
    p.add_argument("--neo4j", choices=["auto", "require", "skip"], default="auto")
    p.add_argument("--growth", action=argparse.BooleanOptionalAction, default=None,
                   help="graph-feature growth at 0.25x/0.5x/1x city (default: at city scale)")  # fmt: skip
    p.add_argument(
        "--sessions",
        type=int,
        nargs="+",
        default=None,
        help="dashboard_browser: concurrent browser sessions, one phase each (default: 1 4)",
    )
    p.add_argument(
        "--loops",
        type=int,
        default=None,
        help="dashboard_browser: rounds of the path per session (default: 6; tiny: 2)",
    )
    p.add_argument(
        "--think-s",
        type=float,
        nargs="+",
        default=None,
        help="dashboard_browser: mean pause between a session's steps (uniform 0.5-1.5x, not timed), "
        "one value for every phase or one per --sessions value (default: 0, back to back)",
    )
    p.add_argument(
        "--crowd",
        type=int,
        nargs="+",
        default=None,
        help="dashboard_browser: sessions over Streamlit's websocket protocol beside each phase's browsers "
        "(they load the server without a browser's cost), one value or one per --sessions value (default: 0)",
    )
    p.add_argument(
        "--dashboard-store",
        choices=["memory", "neo4j"],
        default=None,
        help="dashboard_browser's graph store (default: neo4j with --neo4j require, else memory)",
    )
    p.add_argument("--conditions", default=None, help="a note on the machine's state, printed in the table")
    p.add_argument("--label", default=None, help="name of this entry in bench.json (default: the scale)")
    p.add_argument(
        "--merge", action="store_true", help="add these stages to the entry instead of replacing it"
    )
    p.add_argument("--timeout", type=float, default=None, help="seconds allowed to each stage process")

    p = sub.add_parser("report", help="write the monthly review (PDF and XLSX) of a run")
    p.add_argument("--run", required=True)
    p.add_argument("--month", default=None, help="YYYY-MM (default: the month of the run's as-of date)")
    p.add_argument("--out", required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse ``argv`` and run the chosen job; errors print one clear line."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, FileNotFoundError) as exc:  # DecisionError, DropError and friends are ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
