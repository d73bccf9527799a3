"""Country codes and phone numbers as partners and staff type them, read by well-kept libraries
instead of tables of our own:

- countries: django-countries (ISO 3166-1 alpha-2 codes and their names; ``COUNTRIES_OVERRIDE``
  in the settings adds Kosovo, ``XK``, which the centroid table has always known);
- phones: phonenumbers (Google's libphonenumber metadata), the backend of
  django-phonenumber-field, whose ``PhoneNumberField`` stores the numbers (E.164) and shows them
  in ``PHONENUMBER_DEFAULT_FORMAT`` ("+44 20 7946 0000").

The API, the back-office forms, the importers and the services apply these one rules. Where a
country lies (for distances) is ``core.countries``.
"""

import phonenumbers
from django_countries import countries
from phonenumber_field.phonenumber import PhoneNumber

# The API contract's 400 for an unknown country (orders and warehouses).
UNKNOWN_COUNTRY_MESSAGE = "'{code}' is not an ISO 3166-1 alpha-2 country code."
# The same message for Django's ``invalid_choice`` (model and form fields), which passes
# ``value``: the admin and ``full_clean`` say what the API says.
UNKNOWN_COUNTRY_ERRORS = {"invalid_choice": UNKNOWN_COUNTRY_MESSAGE.format(code="%(value)s")}

INVALID_PHONE_MESSAGE = "'{value}' is not a valid phone number."
NO_REGION_HINT = " Start it with + and the country code (e.g. +44 20 7946 0000)."


def is_country_code(code: str) -> bool:
    """Whether ``code`` is a known alpha-2 code exactly as given: ``GB``, not ``gb`` or ``GBR``
    (callers upper-case what people type first)."""
    return code in countries


def country_name(code: str) -> str:
    """The country's name in the active language ("United Kingdom"); ``""`` when unknown."""
    return str(countries.name(code)) if is_country_code(code) else ""


def phone_normalise(value: str, *, region: str | None) -> str:
    """``value`` as an E.164 number (``+442079460000``), or ``""`` when blank.

    A number without a ``+`` prefix is read as dialled in ``region`` (an alpha-2 code: the
    order's shipping country, the customer's country); without a region it must carry its
    country prefix. Raises ``ValueError`` with a message for people when the number cannot be
    read or is not a valid number (libphonenumber's rules for the country).
    """
    value = value.strip()
    if not value:
        return ""
    try:
        number = PhoneNumber.from_string(value, region=region or None)
    except (phonenumbers.NumberParseException, ValueError):
        number = None
    if number is None or not number.is_valid():
        message = INVALID_PHONE_MESSAGE.format(value=value)
        if not value.startswith("+") and not region:
            message += NO_REGION_HINT
        raise ValueError(message)
    return str(number.as_e164)
