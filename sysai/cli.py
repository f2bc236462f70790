"""The `sysai` command: the umbrella over the four labs.

``sysai list``, ``sysai tour``, ``sysai check``, ``sysai handout``, and one command group per
lab (``sysai trio ...``, ``sysai llm-la ...``), each registered by the lab itself through the
``sysai.labs`` entry points. Errors a user can fix print one line and exit 2; ``--debug``
anywhere on the command line shows the traceback instead.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Iterable, Optional

import typer

from sysai import __version__
from sysai.catalog import CATALOG, LabInfo, discover
from sysai.errors import EXIT_USAGE, UserError
from sysai.options import DEFAULT_SEED, Plugin, Quick, Seed, load_plugins
from sysai.tables import make_console, print_table

try:  # recent Typer ships its own copy of Click; its exceptions are the ones raised
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older Typer uses Click itself
    from click.exceptions import ClickException, NoArgsIsHelpError, UsageError

HELP = (
    "Hands-on labs for a systems-for-AI tutorial: TrIO container-image I/O, LLM-LA load "
    "balancing, openYuanrong serverless on Ray, EulerCopilot fault diagnosis.\n\n"
    "Start with `sysai list` and `sysai tour`. Add --debug to any command for tracebacks."
)


# The options every lab command takes (sysai.options), which users also try before the command
SHARED_OPTIONS = ("--seed", "--quick", "--json", "--out", "--plugin")


def build_app(load: Iterable[str] | None = None) -> typer.Typer:
    """The command tree. Only the labs named in `load` (all when None) are imported; the others
    appear in `--help` from their catalog line alone, so `sysai --help` imports no lab."""
    app = typer.Typer(help=HELP, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
    app.command("list")(list_labs)
    app.command("tour")(tour)
    app.command("check")(check)
    app.command("plugins")(plugins)
    app.command("handout")(handout)
    app.command("version")(version)
    wanted = None if load is None else set(load)
    for status in discover(only=wanted):
        if status.lab is not None:
            app.add_typer(status.lab.app, name=status.info.name, help=f"Lab {status.info.number}: {status.info.talk}.")
        elif wanted is not None and status.info.name not in wanted:
            app.command(status.info.name, help=f"Lab {status.info.number}: {status.info.talk}.",
                        add_help_option=False)(_unbuilt(status.info, "not loaded"))
        else:
            app.command(
                status.info.name,
                help=f"Lab {status.info.number}: {status.info.system} ({status.status}).",
                context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
                add_help_option=False,
            )(_unbuilt(status.info, status.status))
    return app


def _named_lab(args: list[str]) -> list[str]:
    """The lab a command line is for (its first word, if that is a lab's name), as a list."""
    words = [a for a in args if not a.startswith("-")]
    names = {info.name for info in CATALOG}
    return words[:1] if words and words[0] in names else []


def _unbuilt(info: LabInfo, why: str):
    def not_built() -> None:
        raise UserError(f"lab {info.name} ({info.system}) is {why}")

    return not_built


def list_labs() -> None:
    """The four labs, one line each: talk, what it shows, status."""
    rows = [[s.info.number, s.info.name, s.info.talk, s.info.shows, s.status] for s in discover()]
    print_table("sysai-labs", ["#", "lab", "talk", "what it shows", "status"], rows)


def tour(
    quick: Quick = False,
    out: Annotated[Path, typer.Option("--out", help="Report folder.")] = Path("results/tour"),
    seed: Seed = DEFAULT_SEED,
) -> None:
    """Run each lab's headline comparison at a small scale; write report.md, index.html, PNGs."""
    from sysai.tour import run_tour

    entries = run_tour(out, seed, quick)
    console = make_console()
    rows = [[e.system, e.status, round(e.seconds, 1)] for e in entries]
    print_table("tour summary", ["lab", "status", "seconds"], rows, console=console)
    console.print(f"report: {out / 'report.md'} (and {out / 'index.html'})")
    if any(e.status.startswith("failed") for e in entries):
        raise typer.Exit(1)


def check(
    task: Annotated[Optional[str], typer.Argument(help="Task number, e.g. 2.3.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the graded tasks.")] = False,
) -> None:
    """Run the graded tests of one task (e.g. `sysai check 2.3`) and print pass/fail per test."""
    from sysai.check import run_check
    from sysai.tasks import registered_tasks

    if list_:
        tasks = registered_tasks()
        if not tasks:
            print("no graded tasks yet")
        print_table("graded tasks", ["task", "what to do"], [[t.number, t.description] for t in tasks])
        return
    if task is None:
        raise UserError("name a task (e.g. `sysai check 2.3`) or use `sysai check --list`")
    if not run_check(task):
        raise typer.Exit(1)


def plugins(
    lab: Annotated[Optional[str], typer.Argument(help="Only this lab (e.g. llm-la).")] = None,
    plugin: Plugin = None,
) -> None:
    """Every plugin of every lab's registries, with its options: what `--plugin FILE` can add to."""
    from sysai.registry import resolve

    statuses = [s for s in discover() if lab is None or s.info.name == lab]
    if not statuses:
        raise UserError(f"unknown lab {lab!r} (choose from: {', '.join(i.name for i in CATALOG)})")
    load_plugins(plugin)  # after the labs: a plugin file imports its lab's registry
    rows = []
    for status in statuses:
        for path in status.lab.registries if status.lab is not None else ():
            registry = resolve(path)
            for info in registry.describe():
                options = "; ".join(f"{key}={default}" for key, default, _ in info.options) or "-"
                rows.append([status.info.name, registry.kind, info.name, "yes" if info.default else "",
                             options, info.summary])
    print_table("plugins", ["lab", "kind", "name", "default", "options (key=default)", "what it does"], rows,
                note="options: --set NAME.KEY=VALUE where a command offers it; a new plugin is one file "
                     "with @REGISTRY.register(name) (docs/extending.md)")


def handout(
    out: Annotated[Path, typer.Option("--out", help="New folder for the student copy.")],
    task: Annotated[Optional[str], typer.Option("--task", help="Stub only this task (default: all).")] = None,
) -> None:
    """Write a student copy of the repository with the reference solutions replaced by stubs."""
    from sysai.tasks import find_task, write_handout

    only = find_task(task).marker if task else None
    count = write_handout(out, only)
    print(f"handout written to {out}/ ({count} solution blocks stubbed)")


def version() -> None:
    """Print the version."""
    print(f"sysai-labs {__version__}")


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    command = typer.main.get_command(build_app(load=_named_lab(args)))
    try:
        result = command.main(args=args, prog_name="sysai", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except NoArgsIsHelpError as exc:  # `sysai` or `sysai llm-la` alone: the help is the answer, not an error
        if exc.format_message().strip():  # plain Click returns the help text; Typer's rich help is printed already
            print(exc.format_message())
        return 0
    except UsageError as exc:  # typer's own: one line too, pointing to the right --help
        path = exc.ctx.command_path if exc.ctx is not None else "sysai"
        message = exc.format_message()
        option = getattr(exc, "option_name", None)
        if path == "sysai" and option in SHARED_OPTIONS:  # `sysai --seed 1 llm-la compare`: a common slip
            message = (f"{option} is an option of each command: put it after the command "
                       f"(`sysai llm-la compare {option} ...`)")
        print(f"error: {message} (see `{path} --help`)", file=sys.stderr)
        return EXIT_USAGE
    except ClickException as exc:
        print(f"error: {exc.format_message()}", file=sys.stderr)
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        return 130
    except UserError as exc:
        if debug:
            raise
        # .message, not str(): a UserError raised inside a Ray task comes back as Ray's subclass of it,
        # whose str() is the remote traceback; the message is the one line
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        if debug:
            raise
        print(f"error: {exc.strerror or exc}: {exc.filename}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        if debug:
            raise
        print(f"sysai: internal error: {type(exc).__name__}: {exc} (run again with --debug for the traceback)",
              file=sys.stderr)
        return 1


def entry() -> None:
    sys.exit(main())
