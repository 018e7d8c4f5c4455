"""Kinds of scrubbed data and the markers that replace them in the report."""

USER_ID = "user_id"
EMAIL = "email"
PHONE = "phone"
CARD = "card"
MY_NUMBER = "my_number"
IP_ADDRESS = "ip_address"
TOKEN = "token"
SECRET = "secret"

MARKERS = {
    EMAIL: "[email]",
    PHONE: "[phone]",
    CARD: "[card]",
    MY_NUMBER: "[my_number]",
    IP_ADDRESS: "[ip]",
    TOKEN: "[token]",
    SECRET: "[secret]",
}
