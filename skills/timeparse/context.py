"""The fixed facts a parse runs against: the reference instant and the writer's zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from .zones import localize, zone, zone_name


@dataclass(frozen=True, slots=True)
class Context:
    """Reference instant ``now`` seen from zone ``tz``; ``dayfirst`` reads 4/5 as 4 May."""

    now: datetime
    tz: tzinfo
    tz_name: str
    dayfirst: bool = False

    @classmethod
    def build(cls, now: datetime, tz: str, dayfirst: bool = False) -> Context:
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        zone_info = zone(tz)
        return cls(now.astimezone(zone_info), zone_info, zone_name(zone_info), dayfirst)

    @property
    def today(self) -> date:
        return self.now.date()

    def midnight(self, day: date) -> datetime:
        return localize(day, 0, 0, self.tz)[0]

    def days(self, n: int) -> date:
        return self.today + timedelta(days=n)
