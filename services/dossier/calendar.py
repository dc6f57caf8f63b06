"""Working days in Vietnam: weekends, public holidays (Tết included) and announced swaps.

The `holidays` library knows the statutory holidays and the swaps it has been told
of; a data file adds the days off and the make-up Saturdays the government announces
each year, so an operator can update them without a release.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import holidays

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")
# A dossier due on a day is due at the end of that day's office hours.
END_OF_OFFICE_DAY = time(17, 0)


class WorkingCalendar:
    """Answers 'is this a working day?' and adds working days to a date."""

    def __init__(
        self, days_off: dict[date, str] | None = None, working_days: dict[date, str] | None = None
    ) -> None:
        self.days_off = dict(days_off or {})
        self.working_days = dict(working_days or {})
        self._years: dict[int, holidays.HolidayBase] = {}

    @classmethod
    def from_file(cls, path: Path) -> WorkingCalendar:
        raw = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        return cls(
            {date.fromisoformat(k): str(v) for k, v in raw.get("days_off", {}).items()},
            {date.fromisoformat(k): str(v) for k, v in raw.get("working_days", {}).items()},
        )

    def _holidays(self, year: int) -> holidays.HolidayBase:
        calendar = self._years.get(year)
        if calendar is None:
            calendar = holidays.country_holidays("VN", years=year)
            self._years[year] = calendar
        return calendar

    def is_working_day(self, day: date) -> bool:
        if day in self.working_days:
            return True
        if day in self.days_off:
            return False
        calendar = self._holidays(day.year)
        if day in getattr(calendar, "weekend_workdays", set()):
            return True
        return day.weekday() < 5 and day not in calendar

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (the count starts the next day)."""
        day = start
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; 0 when end is not after start."""
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count


def local_date(moment: datetime) -> date:
    """The calendar day in Vietnam of a UTC moment."""
    return moment.astimezone(VIETNAM_TZ).date()


def end_of_office_day(day: date) -> datetime:
    """The UTC moment a dossier due on `day` falls due."""
    return datetime.combine(day, END_OF_OFFICE_DAY, VIETNAM_TZ).astimezone(UTC)


@lru_cache(maxsize=8)
def load_calendar(path: Path) -> WorkingCalendar:
    return WorkingCalendar.from_file(path)
