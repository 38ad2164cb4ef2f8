"""Microsoft Graph's Windows zone names become IANA names through CLDR's table."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from connectors.calendar.microsoft import iana_zone


@pytest.mark.parametrize(
    ("windows", "iana"),
    [
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("Eastern Standard Time", "America/New_York"),
        ("GMT Standard Time", "Europe/London"),
        ("W. Europe Standard Time", "Europe/Berlin"),
        # Beyond the handful a hand-kept list had: a rep in Moscow, Auckland, Bogotá, Dubai.
        ("Russian Standard Time", "Europe/Moscow"),
        ("New Zealand Standard Time", "Pacific/Auckland"),
        ("SA Pacific Standard Time", "America/Bogota"),
        ("Arabian Standard Time", "Asia/Dubai"),
        ("Cen. Australia Standard Time", "Australia/Adelaide"),
        ("UTC", "UTC"),
        ("Coordinated Universal Time", "UTC"),
    ],
)
def test_windows_names_map_to_iana(windows: str, iana: str) -> None:
    assert iana_zone(windows) == iana
    ZoneInfo(iana)


def test_an_iana_name_passes_and_an_unknown_one_is_none() -> None:
    assert iana_zone("Europe/Lisbon") == "Europe/Lisbon"
    assert iana_zone("Mars Standard Time") is None
    assert iana_zone("") is None
    assert iana_zone(None) is None
