"""Duty phone numbers: checked with the phonenumbers library and kept in E.164 form."""

from __future__ import annotations

import phonenumbers

from csomatch.errors import InvalidInput
from csomatch.i18n import _


def e164(text: str, *, field: str) -> str:
    """``text`` as an E.164 number (``+381111234567``), or InvalidInput naming ``field``.

    The number is written in international form (with ``+`` and the country code); it must
    be a valid number of its country, not only a plausible string of digits.
    """
    hint = "give the number in international form, e.g. +381 11 555 0100"
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(_("not a phone number: {hint}", hint=hint), field=field) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidInput(
            _("not a valid phone number of its country: {hint}", hint=hint), field=field
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
