"""The mail and report sections of the org config (`email:`, `report:`); re-exported by `hullcheck.config`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from hullcheck.config_sources import StrictModel


def mail_address(v: str) -> str:
    """One mail address, checked so that it can only ever be an address in a header (no CR/LF, one @)."""
    from email.utils import parseaddr

    if any(c in v for c in "\r\n\0"):
        raise ValueError("a mail address cannot contain a line break")
    _, addr = parseaddr(v)
    if not addr or addr.count("@") != 1 or addr.startswith("@") or addr.endswith("@") or " " in addr:
        raise ValueError(f"{v!r} is not a mail address (name@example.org)")
    return v


class SmtpSettings(StrictModel):
    host: str = Field(description="the mail relay")
    port: int | None = Field(None, ge=1, le=65535, description="default: 587 for starttls, 465 for tls, 25 for none")
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls (upgrade a plain connection), tls (implicit TLS) or none (loopback relays)"
    )
    username: str | None = Field(None, description="log in as this user (AUTH); needs password_env")
    password_env: str | None = Field(None, description="the environment variable holding the password")
    ca_file: Path | None = Field(None, description="trust this CA bundle (a private relay); default: the system's")
    timeout_seconds: float = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _login(self) -> SmtpSettings:
        if self.username and not self.password_env:
            raise ValueError("username needs password_env: the name of the variable holding the password")
        return self

    def effective_port(self) -> int:
        return self.port or {"starttls": 587, "tls": 465, "none": 25}[self.security]


class EmailSettings(StrictModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    sender: str = Field(alias="from", description="the From: address")
    org_to: list[str] = Field(default_factory=list, description="who gets the org digest (the platform team)")
    reply_to: str | None = None
    smtp: SmtpSettings | None = Field(None, description="how to send; without it only --dry-run works")

    @field_validator("sender", "reply_to")
    @classmethod
    def _one(cls, v: str | None) -> str | None:
        return None if v is None else mail_address(v)

    @field_validator("org_to", mode="before")
    @classmethod
    def _many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("org_to")
    @classmethod
    def _all(cls, v: list[str]) -> list[str]:
        return [mail_address(a) for a in v]


class ReportSettings(StrictModel):
    out_dir: Path | None = Field(None, description="where the site is written; default: report/ beside the database")
    base_url: str | None = Field(None, description="where the site is served: mails link to its pages")
    top: int = Field(10, ge=1, le=1000, description="how many offenders each table lists")

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not (v.startswith("https://") or v.startswith("http://")):
            raise ValueError("base_url must start with https:// (or http://)")
        return v if v is None or v.endswith("/") else v + "/"


class AlertSettings(StrictModel):
    """Where the nightly flow says that a run is not ok, besides the mail to `email.org_to`."""

    webhook_url_env: str | None = Field(
        None, description="the environment variable holding a webhook URL (Slack, Teams, Mattermost: they "
                          "accept a JSON `text`); never the URL itself, which usually carries a token")  # fmt: skip
    timeout_seconds: float = Field(10.0, gt=0)
