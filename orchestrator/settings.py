"""All configuration in one pydantic-settings object, read from the environment or `.env`."""

from __future__ import annotations

from functools import cached_property
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

EMBEDDED_DATABASE_URL = "sqlite:///convene.db"


def reveal(secret: SecretStr | None) -> str | None:
    """The plain value of a secret setting, for the one call that hands it to a client."""
    return secret.get_secret_value() if secret is not None else None


class Settings(BaseSettings):
    """Production sets the Slack, database and Redis variables; everything else has a default.

    With nothing set, Convene runs embedded: a SQLite file, an in-process Redis stand-in,
    the database-backed calendar and mailbox, and the offline rules instead of an LLM.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(
        default=EMBEDDED_DATABASE_URL,
        description="SQLAlchemy URL; postgresql+psycopg://… in production, a SQLite file embedded.",
    )
    redis_url: str | None = Field(
        default=None, description="Redis for the RQ queue; unset = in-process stand-in."
    )
    queue_name: str = "convene"
    llm_model: str = Field(default="rules", description="litellm model name, or `rules` (offline).")
    llm_api_base: str | None = Field(
        default=None, description="OpenAI-compatible base URL (a proxy, a local fake)."
    )
    # Every secret is a SecretStr: printed, logged or repr'd it shows as '**********'; code that
    # needs the value calls `reveal()` at the one place it hands it to a client.
    llm_api_key: SecretStr | None = None
    llm_timeout_seconds: float = Field(default=20.0, gt=0)
    llm_monthly_budget_usd: float = Field(
        default=50.0, ge=0, description="Per org and calendar month (UTC); 0 turns the LLM off."
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = Field(default=None, description="xapp-… for Socket Mode.")
    slack_api_url: str | None = Field(
        default=None, description="Override of https://slack.com/api/ (local Slack stand-ins)."
    )

    calendar_backend: Literal["local", "google", "microsoft"] = "local"
    # Whose mailbox a rep's email leaves from, unless the rep's own `mail_provider` says otherwise.
    mail_backend: Literal["local", "connected", "smtp"] = Field(
        default="local",
        description="local: the embedded mailbox; connected: each rep's Gmail or Microsoft 365, "
        "linked by /schedule connect; smtp: the org's SMTP/IMAP server (SMTP_*, IMAP_*).",
    )
    mail_timeout_seconds: float = Field(default=30.0, gt=0, description="Per mail request.")
    # A rep with a request under way (or just finished) has their mailbox read every clock
    # interval; everyone else's is read once a round of this many minutes, a slice of them per
    # interval, so an emailed ask to meet reaches any rep without reading every mailbox often.
    idle_mailbox_minutes: float = Field(
        default=5.0,
        ge=0,
        description="How often the mailbox of a rep with nothing under way is read for new "
        "asks to meet; 0 reads only mailboxes with a request open or finished in 14 days.",
    )
    tentative_is_busy: bool = True
    # Our side's public holidays; unset, each person keeps their zone's country's (the prospect
    # always does): orchestrator/steps/public_holidays.py.
    holiday_country: str | None = Field(
        default=None,
        description="ISO 3166 code whose public holidays our side keeps (US, or DE-BY with a "
        "subdivision); unset = each person's country from their time zone.",
    )
    meeting_buffer_minutes: int = Field(
        default=0,
        ge=0,
        le=240,
        description="Minutes kept clear before and after our side's other meetings when "
        "finding times.",
    )

    # Connecting calendars (OAuth). Tokens are encrypted with CREDENTIAL_KEYS: comma-separated
    # Fernet keys, the first encrypts and all decrypt, so a new key can be put in front.
    credential_keys: SecretStr | None = None
    oauth_state_secret: SecretStr | None = None
    public_url: str | None = Field(default=None, description="Where Slack and browsers reach us.")
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    google_authorize_url: str | None = None  # overrides for local stand-ins
    google_token_url: str | None = None
    google_api_endpoint: str | None = None
    microsoft_client_id: str | None = None
    microsoft_client_secret: SecretStr | None = None
    microsoft_tenant: str = "common"
    microsoft_authority: str | None = None
    graph_base_url: str | None = None
    gmail_api_endpoint: str | None = None  # Gmail's root URL; its paths start with gmail/v1/
    mail_domain: str = Field(default="convene.local", description="Right side of our Message-IDs.")
    # Push intake (orchestrator/inbox/mail_watches.py, bot/push_routes.py): a provider's
    # notification only triggers the read polling does, which stays as the fallback.
    gmail_push_topic: str | None = Field(
        default=None,
        description="Pub/Sub topic Gmail publishes to (projects/<project>/topics/<topic>); "
        "unset = Gmail mailboxes are polled only.",
    )
    gmail_push_audience: str | None = Field(
        default=None, description="The audience the push subscription puts in its OIDC token."
    )
    gmail_push_service_account: str | None = Field(
        default=None, description="The service account the push subscription signs tokens as."
    )
    gmail_push_certs_url: str = Field(
        default="https://www.googleapis.com/oauth2/v1/certs",
        description="Where Google's token-signing certificates are read (local stand-ins).",
    )
    graph_push: bool = Field(
        default=False,
        description="Microsoft 365 mailboxes get change notifications at "
        "PUBLIC_URL/webhooks/graph; false = they are polled only.",
    )
    # Zoom meetings per booking through a Server-to-Server OAuth app; without it a Zoom
    # booking uses the rep's own meeting link (`/schedule settings`).
    zoom_account_id: str | None = None
    zoom_client_id: str | None = None
    zoom_client_secret: SecretStr | None = None
    zoom_api_url: str = "https://api.zoom.us/v2"
    zoom_token_url: str = "https://zoom.us/oauth/token"

    # SMTP/IMAP, one server for the org. A username may contain `{email}` to log in as each rep
    # (e.g. a Dovecot master user `{email}*convene`); without it every rep shares one mailbox
    # and each reads only the mail addressed to them. IMAP defaults to the SMTP login.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_save_sent: bool = Field(
        default=True,
        description="Append a copy to the IMAP Sent folder; false when the server files it itself.",
    )
    imap_host: str | None = None
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_ssl: bool = True
    imap_username: str | None = None
    imap_password: SecretStr | None = None
    imap_sent_folder: str = "Sent"

    undo_seconds: int = Field(default=30, ge=0, description="Undo window after Approve.")
    daily_send_limit: int = Field(default=50, ge=1)
    step_lease_seconds: int = Field(default=120, ge=5)
    execution_lease_seconds: int = Field(
        default=120, ge=5, description="How long a claimed send is its worker's alone."
    )
    max_step_attempts: int = Field(default=5, ge=1)
    worker_max_jobs: int = Field(
        default=10_000,
        ge=1,
        description="Jobs a worker process runs before `convene worker` forks a fresh one.",
    )
    clock_interval_seconds: float = Field(default=30.0, gt=0)
    dm_per_hour_cap: int = Field(
        default=6, ge=1, description="Most unprompted DMs (briefs, notices) a rep gets per hour."
    )
    pre_meeting_brief_minutes: int = Field(
        default=90,
        ge=0,
        le=24 * 60,
        description="Minutes before a booked meeting its attendees get the brief; 0 = none.",
    )

    # Outbound webhooks (orchestrator/webhooks/): each delivery is one worker job, bounded by
    # the timeout, so a slow receiver holds up nothing but its own delivery.
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, description="Whole webhook request, connect to last byte."
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=20, description="Attempts per webhook delivery before it is failed."
    )
    webhook_ca_file: str | None = Field(
        default=None,
        description="PEM bundle receivers' certificates are checked against; "
        "unset = the system's trust store.",
    )
    # Inbound transcripts (POST /webhooks/transcript): a meeting recorder signs each delivery
    # with this shared secret; unset, the route answers 404.
    transcript_webhook_secret: SecretStr | None = None

    ops_channel: str | None = Field(
        default=None, description="Slack channel id where health findings are posted once."
    )
    stale_request_hours: int = Field(
        default=24, ge=1, description="A live request unmoved this long, with nothing ahead."
    )

    # Retention (days): the clock prunes older rows hourly; see orchestrator/timers/retention.py.
    retention_job_runs_days: int = Field(default=14, ge=1)
    retention_audit_days: int = Field(default=400, ge=1, description="Finished requests only.")
    retention_mail_body_days: int = Field(
        default=90, ge=1, description="Finished requests only; the row and Message-ID stay."
    )
    retention_llm_usage_days: int = Field(default=400, ge=40, description="Budget needs a month.")
    retention_webhook_days: int = Field(
        default=30, ge=1, description="Ended webhook deliveries (their log); open ones stay."
    )

    # Error reporting (orchestrator/error_reporting.py): off unless set; errors only, scrubbed.
    sentry_dsn: SecretStr | None = Field(
        default=None, description="Sentry DSN; unset = no error reporting, sentry never started."
    )
    sentry_environment: str | None = Field(
        default=None, description="Sentry's environment tag (production, staging…)."
    )

    listener_threads: int = Field(default=32, ge=1, description="Bolt listener thread pool.")
    # Loopback unless told otherwise: the development server is not for the open internet.
    host: str = "127.0.0.1"
    port: int = Field(default=3000, ge=1, le=65535)
    log_level: str = "INFO"
    log_json: bool = False

    @field_validator(
        "redis_url",
        "llm_api_key",
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "slack_api_url",
        "credential_keys",
        "oauth_state_secret",
        "public_url",
        "google_client_id",
        "google_client_secret",
        "microsoft_client_id",
        "microsoft_client_secret",
        "smtp_host",
        "smtp_username",
        "smtp_password",
        "imap_host",
        "imap_username",
        "imap_password",
        "holiday_country",
        "sentry_dsn",
        "sentry_environment",
        "webhook_ca_file",
        "gmail_push_topic",
        "gmail_push_audience",
        "gmail_push_service_account",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("holiday_country")
    @classmethod
    def _country_code(cls, value: str | None) -> str | None:
        return value.strip().upper() if value else None

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("DATABASE_URL must be sqlite:///… or postgresql+psycopg://…")
        if value.startswith(("postgresql://", "postgres://")):
            # psycopg 3 is the driver we ship; the bare scheme would look for psycopg2.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @cached_property
    def embedded(self) -> bool:
        return self.redis_url is None or self.database_url.startswith("sqlite")

    def secret_values(self) -> list[str]:
        """Every configured secret, as the log redactor must never let it through.

        The SecretStr settings plus the passwords inside the database and Redis URLs.
        """
        values = [
            value.get_secret_value()
            for value in self.__dict__.values()
            if isinstance(value, SecretStr) and value.get_secret_value()
        ]
        for url in (self.database_url, self.redis_url):
            password = make_url(url).password if url else None
            if password:
                values.append(str(password))
        if self.credential_keys:
            # Each Fernet key on its own too: one may be logged alone, e.g. in a rotation error.
            values.extend(
                key.strip() for key in self.credential_keys.get_secret_value().split(",") if key
            )
        return values

    def oauth_providers(self) -> list[str]:
        """Providers a rep can connect, given what is configured."""
        found = []
        if self.google_client_id and self.google_client_secret:
            found.append("google")
        if self.microsoft_client_id and self.microsoft_client_secret:
            found.append("microsoft")
        return found

    def config_errors(self) -> list[str]:
        """Combinations that cannot work; `convene doctor` exits non-zero on any."""
        errors = []
        backend = self.calendar_backend
        if backend != "local" and backend not in self.oauth_providers():
            prefix = "GOOGLE" if backend == "google" else "MICROSOFT"
            errors.append(
                f"CALENDAR_BACKEND={backend} needs {prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET"
            )
        if self.oauth_providers():
            for name in ("credential_keys", "oauth_state_secret", "public_url"):
                if not getattr(self, name):
                    errors.append(f"connecting calendars needs {name.upper()}")
        if self.mail_backend == "connected" and not self.oauth_providers():
            errors.append(
                "MAIL_BACKEND=connected needs Google or Microsoft sign-in "
                "(GOOGLE_CLIENT_ID/SECRET or MICROSOFT_CLIENT_ID/SECRET)"
            )
        if self.mail_backend == "smtp":
            errors.extend(self.smtp_errors())
        zoom = (self.zoom_account_id, self.zoom_client_id, self.zoom_client_secret)
        if any(zoom) and not all(zoom):
            errors.append(
                "Zoom meetings need ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET"
            )
        if self.gmail_push_topic and not self.gmail_push_receiving():
            errors.append(
                "GMAIL_PUSH_TOPIC needs GMAIL_PUSH_AUDIENCE and GMAIL_PUSH_SERVICE_ACCOUNT "
                "(the push's token is checked against them)"
            )
        if self.graph_push and not self.public_url:
            errors.append("GRAPH_PUSH needs PUBLIC_URL (Graph posts to PUBLIC_URL/webhooks/graph)")
        if self.holiday_country:
            from orchestrator.steps.public_holidays import country_error

            if problem := country_error(self.holiday_country):
                errors.append(f"HOLIDAY_COUNTRY: {problem}")
        return errors

    def gmail_push_receiving(self) -> bool:
        """Whether /webhooks/gmail can verify who sent a push (else it serves nothing)."""
        return bool(self.gmail_push_audience and self.gmail_push_service_account)

    def watched_providers(self) -> list[str]:
        """The reps' `mail_provider`s whose mailboxes get a push watch."""
        found = []
        if self.gmail_push_topic and self.gmail_push_receiving():
            found.append("gmail")
        if self.graph_push and self.public_url:
            found.append("microsoft")
        return found

    def zoom_app(self) -> tuple[str, str, SecretStr] | None:
        """(account id, client id, client secret) when a Zoom app is configured."""
        if self.zoom_account_id and self.zoom_client_id and self.zoom_client_secret:
            return self.zoom_account_id, self.zoom_client_id, self.zoom_client_secret
        return None

    @property
    def imap_login(self) -> tuple[str | None, SecretStr | None]:
        """IMAP username and password; the SMTP login unless IMAP has its own."""
        if self.imap_username:
            return self.imap_username, self.imap_password
        return self.smtp_username, self.imap_password or self.smtp_password

    def smtp_errors(self) -> list[str]:
        """What SMTP/IMAP mail still needs (reported whenever a rep sends through SMTP)."""
        errors = []
        if not self.smtp_host:
            errors.append("SMTP mail needs SMTP_HOST")
        if self.smtp_username and not self.smtp_password:
            errors.append("SMTP mail needs SMTP_PASSWORD for SMTP_USERNAME")
        if not self.imap_host:
            errors.append("SMTP mail needs IMAP_HOST (replies and the Sent copy are read there)")
        username, password = self.imap_login
        if not username or not password:
            errors.append("SMTP mail needs an IMAP login: IMAP_USERNAME/IMAP_PASSWORD or SMTP_*")
        loopback = self.smtp_host in ("localhost", "127.0.0.1", "::1")
        if self.smtp_security == "none" and self.smtp_username and not loopback:
            errors.append("SMTP_SECURITY=none would send the SMTP password unencrypted")
        return errors

    def http_problem(self) -> str | None:
        """Which Slack settings `convene web` cannot serve without, in one line; None if set."""
        missing = [
            name
            for name, value in (
                ("SLACK_BOT_TOKEN (xoxb-…)", self.slack_bot_token),
                ("SLACK_SIGNING_SECRET", self.slack_signing_secret),
            )
            if not value
        ]
        return f"{' and '.join(missing)} required (README: Production)" if missing else None

    def production_gaps(self) -> list[str]:
        """What a production deployment still needs, in words an operator can act on."""
        gaps = []
        if self.database_url.startswith("sqlite"):
            gaps.append("DATABASE_URL is SQLite: set postgresql+psycopg://… for production")
        if self.redis_url is None:
            gaps.append("REDIS_URL is unset: the queue lives in this process only")
        if not self.slack_bot_token:
            gaps.append("SLACK_BOT_TOKEN is unset (xoxb-…)")
        if not self.slack_signing_secret:
            gaps.append("SLACK_SIGNING_SECRET is unset")
        if self.llm_model == "rules":
            gaps.append("LLM_MODEL is `rules`: replies the rules are unsure of go to the rep")
        return gaps
