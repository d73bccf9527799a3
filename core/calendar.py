"""Working days: the one calendar the order dates and carrier estimates count in.

A business day is Monday to Friday (no public holidays are known to the system). Pure
functions on ``datetime.date``; no app is imported here (``core`` is the bottom layer).
"""

import datetime


def is_business_day(day: datetime.date) -> bool:
    return day.weekday() < 5


def add_business_days(start: datetime.date, days: int) -> datetime.date:
    """The ``days``-th business day after ``start`` (``start`` itself not counted). With
    ``days`` = 0 (or less) ``start`` is returned unchanged, even on a weekend.

    Friday + 1 = Monday; Saturday + 1 = Monday; Wednesday + 3 = Monday. A count that would
    run past the calendar's last day stops there (bad data must not make callers fail)."""
    day = start
    while days > 0:
        if day == datetime.date.max:
            return day
        day += datetime.timedelta(days=1)
        if is_business_day(day):
            days -= 1
    return day


def business_days_between(start: datetime.date, end: datetime.date) -> int:
    """How many business days ``end`` lies after ``start``: the business days in
    (``start``, ``end``]; 0 when ``end`` is not after ``start``. The inverse of
    :func:`add_business_days` for a business-day ``end``: Friday → next Tuesday = 2."""
    if end <= start:
        return 0
    days = (end - start).days
    weeks, rest = divmod(days, 7)
    count = weeks * 5
    for offset in range(1, rest + 1):
        if is_business_day(start + datetime.timedelta(days=offset)):
            count += 1
    return count
