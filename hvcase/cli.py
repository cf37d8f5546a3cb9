"""Operator commands: ``flask --app hvcase <command>``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy import select

from hvcase.auth.models import User
from hvcase.auth.passwords import MAX_LENGTH, MIN_LENGTH, hash_password
from hvcase.auth.services import end_all_sign_ins, normalise_email
from hvcase.extensions import db
from hvcase.screenings import windows
from hvcase.screenings.catalog import catalog


@click.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_admin(email: str, name: str, password: str) -> None:
    """Create an admin, or reset an existing admin's password (non-interactive with options)."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise click.BadParameter(f"{MIN_LENGTH} to {MAX_LENGTH} characters", param_hint="password")
    email = normalise_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None and user.role != "admin":
        raise click.ClickException(f"{email} is a {user.role}, not an admin.")
    if user is None:
        user = User(email=email, name=name, role="admin", password_hash=hash_password(password))
        db.session.add(user)
        action = "created"
    else:
        user.name, user.active = name, True
        user.password_hash = hash_password(password)
        end_all_sign_ins(user)
        action = "updated"
    db.session.commit()
    click.echo(f"Admin {email} {action}.")


@click.command("seed-demo")
def seed_demo() -> None:
    """Load demo data (a coalition, its agencies and users of every role) and print the logins.
    Never in production: the demo accounts share a published password."""
    from hvcase import demo

    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException(
            "seed-demo never runs in production (HVCASE_ENV=production): its accounts share a "
            "published password. Nothing was written."
        )

    logins = demo.seed()
    db.session.commit()
    if not logins:
        click.echo("Demo data is already loaded.")
        logins = demo.LOGINS
    click.echo(f"Demo logins (password for all: {demo.PASSWORD}):")
    for email, role, agency in logins:
        click.echo(f"  {role:<13} {email:<36} {agency}")


@click.command("revoke-sign-ins")
@click.option("--email", required=True)
def revoke_sign_ins(email: str) -> None:
    """End every session and token of a user at once (a lost tablet, a departed employee)."""
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        raise click.ClickException(f"No user {email}.")
    end_all_sign_ins(user)
    db.session.commit()
    click.echo(f"Every sign-in of {user.email} has ended.")


@click.command("refresh-screening-windows")
def refresh_screening_windows() -> None:
    """Compute every child's required screening windows again (after the upgrade that added
    them, on a database that already had children; the app keeps them up to date after)."""
    written = windows.refresh_all(db.session, catalog().instruments)
    db.session.commit()
    click.echo(f"{written} screening windows written.")


def init_app(app: Flask) -> None:
    for command in (create_admin, seed_demo, revoke_sign_ins, refresh_screening_windows):
        app.cli.add_command(command)
