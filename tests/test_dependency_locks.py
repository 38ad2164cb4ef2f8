"""Dependencies by role: production installs no test tool, and only the provider SDKs it uses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.doctor import _missing_extras
from orchestrator.settings import Settings

LOCKS = Path(__file__).resolve().parents[1] / "requirements"
TEST_TOOLS = {"pytest", "pytest-xdist", "pytest-httpserver", "hypothesis", "mypy", "ruff", "pymap"}
SDKS = {
    "google": {"google-api-python-client", "google-auth"},
    "microsoft": {"msgraph-sdk", "msgraph-core", "azure-identity", "msal"},
    "llm": {"litellm", "openai", "tiktoken", "tokenizers", "huggingface-hub"},
}


def packages(lock: str) -> set[str]:
    text = (LOCKS / f"{lock}.lock").read_text()
    return {
        m.group(1).lower() for m in re.finditer(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==", text, re.M)
    }


def test_the_runtime_lock_holds_no_test_tool_and_no_provider_sdk() -> None:
    runtime = packages("runtime")
    assert {"slack-bolt", "sqlmodel", "psycopg", "rq", "gunicorn", "icalendar"} <= runtime
    assert runtime & TEST_TOOLS == set()
    for extra, sdks in SDKS.items():
        assert runtime & sdks == set(), extra


@pytest.mark.parametrize("extra", sorted(SDKS))
def test_a_provider_lock_adds_its_own_sdk_and_no_other(extra: str) -> None:
    lock = packages(extra)
    assert packages("runtime") <= lock
    assert SDKS[extra] & lock, f"{extra}.lock lacks its SDK"
    assert lock & TEST_TOOLS == set()
    for other, sdks in SDKS.items():
        if other != extra:
            assert lock & sdks == set(), f"{extra}.lock pulls in the {other} SDK"


def test_the_dev_lock_holds_everything() -> None:
    dev = packages("dev")
    assert dev >= TEST_TOOLS
    for extra in SDKS:
        assert packages(extra) <= dev


def test_every_lock_pins_httpx_with_its_extra_for_old_pip() -> None:
    for lock in LOCKS.glob("*.lock"):
        text = lock.read_text()
        if "httpx" in packages(lock.stem):
            assert re.search(r"^httpx(\[http2\])?==", text, re.M), lock.name
            if "h2" in packages(lock.stem):
                assert "httpx[http2]==" in text, lock.name


def test_doctor_names_each_missing_extra() -> None:
    settings = Settings(
        _env_file=None,
        calendar_backend="google",
        google_client_id="id",
        google_client_secret="secret",
        llm_model="openai/gpt-4o-mini",
    )
    assert _missing_extras(settings, installed=lambda _module: False) == [
        "Google sign-in or CALENDAR_BACKEND=google needs the `google` extra: "
        "pip install --require-hashes -r requirements/google.lock",
        "LLM_MODEL=openai/gpt-4o-mini needs the `llm` extra: "
        "pip install --require-hashes -r requirements/llm.lock",
    ]
    assert _missing_extras(settings, installed=lambda _module: True) == []
    assert _missing_extras(Settings(_env_file=None), installed=lambda _module: False) == []
