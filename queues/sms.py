"""Every SMS the waiting room sends, in one place: what each says, to whom, and that it fits.

- ``token_booked``: on booking (``services.booking.book``). A booking that already starts
  within ``QUEUE_POSITION_SMS_AT`` of the front gets one text that also says the turn is near,
  not a second text in the same second.
- ``turn_near``: once, when the patient reaches ``QUEUE_POSITION_SMS_AT``
  (``services.timers.send_turn_near_sms``).
- ``closed_for_the_day``: the OPD closed before the patient was seen
  (``services.timers.close_finished_days``).

Each goes to the mobile of the account that booked, in its language, and names the family
member it is about by first name (one number holds a family of up to ten).

Length: a text wholly in the GSM 03.38 alphabet fits one SMS (160 characters). Any other
character (Hindi, or a name written in Devanagari) makes the whole text Unicode: 70 characters
in one SMS, 67 per part of a longer one; such a text may take two parts (134 characters). To
stay within that, the OPD's name and then the first name are shortened; the message never is.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import gsm0338  # noqa: F401 - registers the "gsm03.38" codec
from django.utils.translation import gettext as _
from django.utils.translation import override

from core.addressing import supported_language
from notifications.services import queue_sms
from queues.models import Ticket

GSM_SINGLE, GSM_PART = 160, 153
UNICODE_SINGLE, UNICODE_PART = 70, 67
MOST_PARTS = {"gsm": 1, "unicode": 2}
NAME_LONGEST, NAME_SHORTEST = 20, 6  # characters of the first name
OPD_SHORTEST = 12  # characters of the OPD's name


def encoding_and_parts(text: str) -> tuple[str, int]:
    """How a gateway sends ``text``: ``("gsm" | "unicode", number of SMS parts)``."""
    try:
        septets = len(text.encode("gsm03.38"))  # extension characters take two
    except UnicodeEncodeError:
        units = len(text.encode("utf-16-le")) // 2
        return "unicode", 1 if units <= UNICODE_SINGLE else math.ceil(units / UNICODE_PART)
    return "gsm", 1 if septets <= GSM_SINGLE else math.ceil(septets / GSM_PART)


def fits(text: str) -> bool:
    encoding, parts = encoding_and_parts(text)
    return parts <= MOST_PARTS[encoding]


def _fitted(render: Callable[[str, str], str], name: str, opd: str = "") -> str:
    """``render(name, opd)`` with the longest names that keep the text within its parts."""
    name = name[:NAME_LONGEST]
    while True:
        text = render(name, opd)
        if fits(text):
            return text
        if len(opd) > OPD_SHORTEST:
            opd = opd[:-1].rstrip()
        elif len(name) > NAME_SHORTEST:
            name = name[:-1]
        else:
            return text  # nothing left to shorten (no text of ours is that long: tested)


def token_booked(ticket: Ticket, *, near: bool) -> str:
    def render(name: str, opd: str) -> str:
        values = {"token": ticket.token, "name": name, "opd": opd}
        if near:
            return (
                _(
                    "eSanjeevani: token %(token)s for %(name)s at %(opd)s. The turn is near: "
                    "please open the waiting room now and keep it open."
                )
                % values
            )
        return (
            _(
                "eSanjeevani: token %(token)s for %(name)s at %(opd)s. Open the waiting room "
                "in your account; we'll SMS when the turn is near."
            )
            % values
        )

    return _fitted(render, ticket.patient.first_name, ticket.opd.display_name)


def turn_near(ticket: Ticket) -> str:
    def render(name: str, _opd: str) -> str:
        return _(
            "eSanjeevani: the turn of %(name)s is near (token %(token)s). Please open the "
            "waiting room now and keep it open."
        ) % {"token": ticket.token, "name": name}

    return _fitted(render, ticket.patient.first_name)


def closed_for_the_day(ticket: Ticket) -> str:
    def render(name: str, _opd: str) -> str:
        return _(
            "eSanjeevani: the OPD has closed for today and %(name)s (token %(token)s) could "
            "not be seen. Please book again on the next working day."
        ) % {"token": ticket.token, "name": name}

    return _fitted(render, ticket.patient.first_name)


def send(ticket: Ticket, text: Callable[[Ticket], str]) -> None:
    """Send ``text(ticket)`` to the booking account's mobile, in its language, once the
    caller's transaction commits."""
    account = ticket.booked_by
    if not account.mobile:
        return
    with override(supported_language(account.preferred_language)):
        body = text(ticket)
    queue_sms(to=account.mobile, body=body)
