"""Names of headers, keys and query parameters whose whole value is personal or secret.

A value under such a name is replaced as a whole, whatever it looks like.
Names are compared case-insensitively, with ``-`` read as ``_``, and for
dotted keys (``user.email``, ``response.cookies``) by their last part.
"""

from service.privacy.markers import CARD, EMAIL, IP_ADDRESS, MY_NUMBER, PHONE, SECRET, TOKEN

_EXACT_NAMES = {
    "mail": EMAIL,
    "e_mail": EMAIL,
    "phone": PHONE,
    "tel": PHONE,
    "telephone": PHONE,
    "mobile": PHONE,
    "mobile_number": PHONE,
    "card_number": CARD,
    "cardnumber": CARD,
    "credit_card": CARD,
    "creditcard": CARD,
    "cc_number": CARD,
    "pan": CARD,
    "cvv": CARD,
    "cvc": CARD,
    "my_number": MY_NUMBER,
    "mynumber": MY_NUMBER,
    "individual_number": MY_NUMBER,
    "ip": IP_ADDRESS,
    "ip_address": IP_ADDRESS,
    "ipaddress": IP_ADDRESS,
    "client_ip": IP_ADDRESS,
    "remote_addr": IP_ADDRESS,
    "x_forwarded_for": IP_ADDRESS,
    "x_real_ip": IP_ADDRESS,
    "otp": SECRET,
    "session": TOKEN,
    "authorization": TOKEN,
    "proxy_authorization": TOKEN,
}

# Name endings, checked in this order.
_SUFFIXES = (
    ("email", EMAIL),
    ("_phone", PHONE),
    ("phone_number", PHONE),
    ("phonenumber", PHONE),
    ("password", SECRET),
    ("passwd", SECRET),
    ("pwd", SECRET),
    ("secret", SECRET),
    ("token", TOKEN),
    ("api_key", TOKEN),
    ("apikey", TOKEN),
    ("cookie", TOKEN),
    ("cookies", TOKEN),
    ("session_id", TOKEN),
    ("sessionid", TOKEN),
    ("auth", TOKEN),
)

_HEADER_NAMES = {"x_sentry_auth": TOKEN, "x_shindan_key": TOKEN, "x_api_key": TOKEN, "x_amz_security_token": TOKEN}

_QUERY_PARAMETER_NAMES = {
    "key": TOKEN,
    "sig": TOKEN,
    "signature": TOKEN,
    "code": TOKEN,
    "sid": TOKEN,
    "sentry_key": TOKEN,
    "x_amz_signature": TOKEN,
    "x_amz_credential": TOKEN,
}


def _normalize(name: str) -> str:
    return name.rpartition(".")[2].strip().lower().replace("-", "_")


def key_marker(name: str) -> str | None:
    """Return the kind of data a key name announces (``user.email`` → ``email``), or ``None``."""
    normalized = _normalize(name)
    if normalized in _EXACT_NAMES:
        return _EXACT_NAMES[normalized]
    for suffix, kind in _SUFFIXES:
        if normalized.endswith(suffix):
            return kind
    return None


def header_marker(name: str) -> str | None:
    """Return the kind for an HTTP header whose value is a credential or personal, or ``None``."""
    return _HEADER_NAMES.get(_normalize(name)) or key_marker(name)


def query_parameter_marker(name: str) -> str | None:
    """Return the kind for a URL query parameter whose value is a credential or personal, or ``None``."""
    return _QUERY_PARAMETER_NAMES.get(_normalize(name)) or key_marker(name)
