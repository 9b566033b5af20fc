"""The `processcafe` command: serve, worker, doctor, db upgrade, deploy, start, users and tokens."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import click

from . import metrics, wsgi
from .app import create_app
from .bootstrap import prepare
from .config import Settings
from .context import Cafe
from .migrations import upgrade
from .services import deployments, identity, instances
from .services.errors import ServiceError
from .social import channels


def _cafe(app) -> Cafe:
    return app.extensions["processcafe"]


def _app(**overrides):
    settings = Settings.from_env(**overrides)
    upgrade(settings.database_url)
    return create_app(settings)


def _served_url(host: str, port: int) -> str:
    """Where `serve` listens, as a link: what posts, images and Atom feeds point to when
    PROCESSCAFE_PUBLIC_URL is not set (`serve --port 8080` links to 8080, not the default 5000).
    A wildcard address is no place to link to, so it becomes this machine's loopback."""
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Commands(click.Group):
    """What the services refuse (an unknown key, a diagram that cannot run, a short password) ends
    the command with its message and exit code 1, as click's own errors do, not with a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ServiceError as err:
            problems = getattr(err, "problems", None) or []  # a rejected deployment's, one per line
            raise click.ClickException("\n".join(map(str, problems)) if len(problems) > 1 else err.detail) from None


@click.group(cls=_Commands)
@click.option("--verbose", "-v", is_flag=True, help="Log debug output.")
def main(verbose: bool) -> None:
    """Process Café: a BPMN process server whose steps talk to people."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # SpiffWorkflow logs every task state change at INFO: lines per step of every instance, which
    # flood the log and cost a busy server a good share of its time (the history keeps the record)
    logging.getLogger("spiff").setLevel(logging.DEBUG if verbose else logging.WARNING)
    if not verbose:
        logging.getLogger("alembic.runtime.migration").addFilter(_only_migrations_run)


def _only_migrations_run(record: logging.LogRecord) -> bool:
    """Alembic names its dialect at INFO on every command; of its lines only the migrations it
    runs ("Running upgrade 0009 -> 0010, ...") are news (and its warnings)."""
    return record.levelno > logging.INFO or record.getMessage().startswith("Running ")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=min(2, os.cpu_count() or 1), show_default=True, type=int,
              help="Server processes (each with its own job-runner thread in the embedded mode).")
@click.option("--threads", default=32, show_default=True, type=int,
              help="Request threads per process (a live feed stream holds one).")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    """Migrate the database, create the first admin, deploy the examples, serve HTTP."""
    app = _app() if os.environ.get("PROCESSCAFE_PUBLIC_URL") else _app(public_url=_served_url(host, port))
    cafe = _cafe(app)
    for line in prepare(cafe):
        click.echo(line)
    cafe.db.dispose()
    # request and job counters of all worker processes add up in files there (server/metrics.py)
    metrics.use_multiprocess_dir(cafe.settings.data_dir / "metrics" / f"serve-{port}")
    click.echo(f"Process Café serving on http://{host}:{port} with {workers} process(es) "
               f"(database {cafe.db.engine.url.render_as_string()})")
    wsgi.serve(app, host, port, workers, threads)


@main.command()
@click.option("--concurrency", "-c", default=os.cpu_count() or 1, show_default=True, type=int,
              help="Job processes in this worker (each runs one job at a time).")
@click.option("--loglevel", default="info", show_default=True)
@click.option("--metrics-port", type=int, help="Serve this worker's job metrics for Prometheus on this port.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
@click.option("--schema-wait", default=60.0, show_default=True, help="Seconds to wait for a migrated database.")
def worker(concurrency: int, loglevel: str, metrics_port: int | None, metrics_host: str, schema_wait: float) -> None:
    """Run jobs as a Celery worker (scaled-out mode; needs DATABASE_URL and BROKER_URL)."""
    from .jobs.worker import WorkerSetupError, run_worker

    try:
        run_worker(concurrency, loglevel, metrics_port, schema_wait, metrics_host)
    except WorkerSetupError as err:
        raise click.ClickException(str(err)) from None


@main.command()
def doctor() -> None:
    """Check the database, the broker, the workers and the job backlog; exit 1 on a problem."""
    from . import doctor as checks

    findings = checks.check(Settings.from_env())
    for finding in findings:
        click.echo(str(finding))
    problems = [f for f in findings if not f.ok]
    click.echo(f"{len(problems)} problem(s) found" if problems else "all is well")
    raise SystemExit(1 if problems else 0)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    settings = Settings.from_env()
    upgrade(settings.database_url)
    click.echo("database is at the newest schema")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="Deployment name (default: first file's name).")
def deploy(files: tuple[Path, ...], name: str | None) -> None:
    """Deploy .bpmn/.dmn files (and form files) as one deployment."""
    app = _app()
    with _cafe(app).db.transaction() as session:
        result = deployments.deploy(session, [(f.name, f.read_bytes()) for f in files], name=name,
                                    source="processcafe cli", user="cli")
        for d in result.definitions:
            state = "new" if d in result.new_definitions else "unchanged"
            click.echo(f"{d.key} version {d.version} ({state}): {d.id}")


def _parse_var(text: str) -> tuple[str, object]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"{text!r}: write variables as name=value")
    try:
        return name, json.loads(raw)
    except ValueError:
        return name, raw


@main.command()
@click.argument("key")
@click.option("--var", "variables", multiple=True, help="name=value; values are JSON when they parse as JSON.")
@click.option("--business-key")
def start(key: str, variables: tuple[str, ...], business_key: str | None) -> None:
    """Start an instance of the latest version of KEY."""
    app = _app()
    cafe = _cafe(app)
    with cafe.db.transaction() as session:
        definition = cafe.store.specs.latest(session, key)
        instance, outcome = instances.start(session, cafe.store, definition, dict(map(_parse_var, variables)),
                                            business_key, "cli")
        click.echo(f"{instance.id} {instance.status}")
        for task in outcome.user_tasks:
            click.echo(f"  task {task.id} {task.name or task.bpmn_id}")


@main.group()
def user() -> None:
    """Users."""


@user.command("add")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--admin", is_flag=True)
@click.option("--group", "groups", multiple=True)
def user_add(username: str, password: str, admin: bool, groups: tuple[str, ...]) -> None:
    """Create a user."""
    app = _app()
    with _cafe(app).db.transaction() as session:
        identity.create_user(session, username, password, is_admin=admin, groups=list(groups))
    click.echo(f"user {username} created")


@user.command("list")
def user_list() -> None:
    """Every user: name, state, role and groups."""
    app = _app()
    with _cafe(app).db.read() as session:
        for row in identity.list_users(session):
            state = "active" if row.active else "deactivated"
            role = "admin" if row.is_admin else "user"
            click.echo(f"{row.username}\t{state}\t{role}\t{','.join(row.group_names)}")


@user.command("deactivate")
@click.argument("username")
def user_deactivate(username: str) -> None:
    """Lock USERNAME out: password and tokens stop working (running servers: within a minute)."""
    app = _app()
    with _cafe(app).db.transaction() as session:
        identity.set_active(session, username, False)
    click.echo(f"user {username} deactivated")


@user.command("activate")
@click.argument("username")
def user_activate(username: str) -> None:
    """Let USERNAME sign in again, with their password and tokens."""
    app = _app()
    with _cafe(app).db.transaction() as session:
        identity.set_active(session, username, True)
    click.echo(f"user {username} activated")


@user.command("password")
@click.argument("username")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the password from the first line of standard input.")
def user_password(username: str, from_stdin: bool) -> None:
    """Set USERNAME's password: asked for twice, read from standard input (--stdin) or taken from
    PROCESSCAFE_NEW_PASSWORD, so that scripts keep it out of the command line."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = os.environ.get("PROCESSCAFE_NEW_PASSWORD") or click.prompt(
            "New password", hide_input=True, confirmation_prompt=True)
    app = _app()
    with _cafe(app).db.transaction() as session:
        identity.set_password(session, username, password)
    click.echo(f"password of {username} changed")


@main.group()
def channel() -> None:
    """Social channels (credentials are stored encrypted and never shown)."""


@channel.command("list")
def channel_list() -> None:
    app = _app()
    with _cafe(app).db.read() as session:
        for row in channels.list_channels(session):
            state = "enabled" if row.enabled else "disabled"
            click.echo(f"{row.name}\t{row.kind}\t{state}\t{json.dumps(row.settings)}")


@channel.command("add")
@click.argument("name")
@click.argument("kind")
@click.option("--setting", "settings", multiple=True, help="name=value (JSON values parse as JSON)")
@click.option("--credentials-file", type=click.File("r"),
              help="A JSON file with the credentials (kept out of the shell history); - reads standard input.")
@click.option("--allow-private", is_flag=True, help="Allow private or loopback addresses (a local server).")
def channel_add(name: str, kind: str, settings: tuple[str, ...], credentials_file, allow_private: bool) -> None:
    """Configure channel NAME of KIND (mastodon, x, matrix, webhook, email)."""
    app = _app()
    cafe = _cafe(app)
    credentials = json.load(credentials_file) if credentials_file else None
    with cafe.db.transaction() as session:
        channels.create(session, cafe.vault, name, kind, dict(map(_parse_var, settings)), credentials, allow_private)
    click.echo(f"channel {name} ({kind}) configured")


@channel.command("remove")
@click.argument("name")
def channel_remove(name: str) -> None:
    app = _app()
    with _cafe(app).db.transaction() as session:
        channels.delete(session, name)
    click.echo(f"channel {name} removed")


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.argument("username")
@click.option("--name", default="cli", show_default=True)
@click.option("--expires-in-days", type=click.IntRange(1), help="Days it works (default: PROCESSCAFE_TOKEN_DAYS).")
@click.option("--never-expires", is_flag=True, help="No expiry (unless PROCESSCAFE_TOKEN_MAX_DAYS is set).")
def token_create(username: str, name: str, expires_in_days: int | None, never_expires: bool) -> None:
    """Create an API token for USERNAME and print it (it is shown only once; its expiry goes to
    standard error, so `TOKEN=$(processcafe token create NAME)` takes the token alone)."""
    if expires_in_days and never_expires:
        raise click.UsageError("give --expires-in-days or --never-expires, not both")
    app = _app()
    settings = _cafe(app).settings
    days = None if never_expires else expires_in_days or settings.token_days or None
    expires_at = identity.token_expiry(days, settings.token_max_days)
    with _cafe(app).db.transaction() as session:
        click.echo(identity.create_token(session, identity.get_user(session, username), name, expires_at))
    click.echo(f"expires {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "never expires", err=True)


@token.command("list")
@click.argument("username")
def token_list(username: str) -> None:
    """USERNAME's tokens: id, name, created, expires (never the token itself)."""
    app = _app()
    with _cafe(app).db.read() as session:
        for row in identity.tokens_of(session, username):
            expires = f"{row.expires_at:%Y-%m-%d %H:%M}" if row.expires_at else "never"
            click.echo(f"{row.id}\t{row.name}\t{row.created_at:%Y-%m-%d %H:%M}\t{expires}")


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Delete token TOKEN_ID (see `token list`): it stops working (running servers: within half a minute)."""
    app = _app()
    with _cafe(app).db.transaction() as session:
        row = identity.revoke_token(session, token_id)
        click.echo(f"token {row.id} ({row.name}) of {row.user.username} revoked")
