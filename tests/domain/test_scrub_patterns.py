"""Free-text scrubbing: each kind of personal data, and what must stay untouched."""

import pytest

from service.privacy.patterns import has_card_prefix, is_valid_my_number, passes_luhn, scrub_text, scrub_url


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("taro.yamada@example.co.jp", "[email]"),
        ("連絡はtaro@example.comです", "連絡は[email]です"),
        ("山田太郎 <yamada@例え.jp>", "山田太郎 <[email]>"),
        ("contact: jane+crash@mail.example.org.", "contact: [email]."),
        ("login failed for HANAKO_S@EXAMPLE.NE.JP", "login failed for [email]"),
        ("email=taro%40example.com", "email=[email]"),
        ("全角＠も: taro＠example.jp", "全角＠も: [email]"),
    ],
)
def test_email_replaced(text: str, expected: str) -> None:
    scrubbed, kinds = scrub_text(text)

    assert scrubbed == expected
    assert kinds == {"email"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("電話は090-1234-5678です", "電話は[phone]です"),
        ("携帯 080-9876-5432", "携帯 [phone]"),
        ("03-1234-5678", "[phone]"),
        ("06-6123-4567 (大阪)", "[phone] (大阪)"),
        ("フリーダイヤル 0120-123-456", "フリーダイヤル [phone]"),
        ("0570-012-345", "[phone]"),
        ("09012345678", "[phone]"),
        ("05012345678", "[phone]"),
        ("０９０－１２３４－５６７８", "[phone]"),
        ("０３（１２３４）５６７８", "[phone]"),
        ("(03) 1234-5678", "[phone]"),
        ("090ー1234ー5678", "[phone]"),
        ("+81 90 1234 5678", "[phone]"),
        ("+81-3-1234-5678", "[phone]"),
        ("+81 (0)90-1234-5678", "[phone]"),
        ("+819012345678", "[phone]"),
        ("tel:+44 20 7946 0958", "tel:[phone]"),
        ("+1 (415) 555-0123", "[phone]"),
        ("+49 30 901820", "[phone]"),
        ("call 415-555-0123 now", "call [phone] now"),
    ],
)
def test_phone_replaced(text: str, expected: str) -> None:
    scrubbed, kinds = scrub_text(text)

    assert scrubbed == expected
    assert kinds == {"phone"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111 1111 1111 1111", "card [card]"),
        ("カード番号4111-1111-1111-1111で決済", "カード番号[card]で決済"),
        ("JCB 3530111333300000", "JCB [card]"),
        ("MC 5555555555554444", "MC [card]"),
        ("Amex 3782 822463 10005", "Amex [card]"),
        ("Diners 30569309025904", "Diners [card]"),
        ("pan=4012888888881881;", "pan=[card];"),
        ("全角４１１１１１１１１１１１１１１１", "全角[card]"),
    ],
)
def test_card_replaced(text: str, expected: str) -> None:
    scrubbed, kinds = scrub_text(text)

    assert scrubbed == expected
    assert kinds == {"card"}


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # fails the Luhn check
        "1796410800512",  # a millisecond timestamp: no card brand starts with 1
        "order 7583606041296518095",  # 19 digits, no card prefix
        "4111 1111-1111 1111",  # mixed separators
    ],
)
def test_card_like_numbers_kept(text: str) -> None:
    assert scrub_text(text) == (text, set())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("個人番号は9832 0567 3214です", "個人番号は[my_number]です"),
        ("マイナンバー:983205673214", "マイナンバー:[my_number]"),
        ("my number 9832-0567-3214", "my number [my_number]"),
    ],
)
def test_my_number_replaced(text: str, expected: str) -> None:
    scrubbed, kinds = scrub_text(text)

    assert scrubbed == expected
    assert kinds == {"my_number"}


def test_my_number_bad_check_digit_kept() -> None:
    assert scrub_text("予約番号 9832 0567 3215") == ("予約番号 9832 0567 3215", set())


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcDEF123", "Authorization: Bearer [token]", "token"),
        ("auth header Basic dGFybzpodW50ZXIy", "auth header Basic [token]", "token"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig-nature_x", "jwt [token]", "token"),
        ("Cookie: sid=abc; theme=dark", "Cookie: [token]", "token"),
        ("csrf_token=abc123&next=/home", "csrf_token=[token]&next=/home", "token"),
        ('{"api_key": "k-12345"}', '{"api_key": "[token]"}', "token"),
        ("key AKIAIOSFODNN7EXAMPLE leaked", "key [token] leaked", "token"),
        ("password=hunter2 and db_password: s3cret", "password=[secret] and db_password: [secret]", "secret"),
        ("userPassword=abc", "userPassword=[secret]", "secret"),
        ("パスワード：abc123", "パスワード：[secret]", "secret"),
        ("新しいパスワード=hunter2、確認", "新しいパスワード=[secret]、確認", "secret"),
    ],
)
def test_secret_replaced(text: str, expected: str, kind: str) -> None:
    scrubbed, kinds = scrub_text(text)

    assert scrubbed == expected
    assert kinds == {kind}


def test_secret_assignment_keeps_null() -> None:
    assert scrub_text("token=null") == ("token=null", set())


@pytest.mark.parametrize(
    "text",
    [
        "0x0000000104a8c000",
        "pc 0x16f5a9e10 lr 0x0000000100088000",
        "iOS 17.2.1 (21C66)",
        "Android 14 UP1A.231005.007.S918BXXS3BXK5",
        "version 4.2.0+512",
        "2026-12-04T18:59:10.123Z",
        "2026-12-04",
        "05-12-2024",
        "12:30:45",
        "slot 14:30",
        "6F1B2C3D-8E9A-4B7C-9D0E-1F2A3B4C5D6E",
        "01234567-0123-4567-8901-234567890123",
        "CRLCrashSwift.swift:36",
        "at com.example.clinic.BookingActivity$1.run(BookingActivity.java:1234)",
        "/private/var/containers/Bundle/Application/6F1B2C3D-8E9A-4B7C-9D0E-1F2A3B4C5D6E/Clinic.app/Clinic",
        "-[Crasher dereferenceBadPointer] + 24",
        "icon@2x.png",
        "java.lang.Object@5e9f23b4",
        "Fragment a{7f3c1d2} not attached to a context.",
        "Exception 1, Code 16, Subcode 16 > KERN_INVALID_ADDRESS at 0x10",
        "memory 6070452224 bytes, timestamp 1796410800512",
        "thread 7583606041296518095",
        "192.168.1.10",
        "+09:00",
        "予約ID 1234-5678-9012",
        "https://api.example.com/v2/appointments?day=2026-12-04",
        "fetch Appointment predicate=day==$0 count=17",
    ],
)
def test_crash_report_text_untouched(text: str) -> None:
    assert scrub_text(text) == (text, set())


def test_url_query_and_credentials() -> None:
    url = "https://user:pw@api.example.com/v1/login?email=taro%40example.jp&access_token=abc&day=2026-12-04&tel=%2B81901234567"
    scrubbed, kinds = scrub_url(url)

    assert scrubbed == (
        "https://[secret]@api.example.com/v1/login?email=[email]&access_token=[token]&day=2026-12-04&tel=[phone]"
    )
    assert kinds == {"secret", "email", "token", "phone"}


def test_url_inside_text() -> None:
    text = "GET https://api.example.com/v2/slots?sig=abcdef&day=2026-12-04 failed"
    assert scrub_text(text) == ("GET https://api.example.com/v2/slots?sig=[token]&day=2026-12-04 failed", {"token"})


def test_luhn() -> None:
    assert passes_luhn("4111111111111111")
    assert not passes_luhn("4111111111111112")


def test_card_prefix() -> None:
    assert has_card_prefix("3530111333300000")
    assert not has_card_prefix("1796410800512")
    assert has_card_prefix("4111111111111")
    assert not has_card_prefix("41111111111111")


def test_my_number_check_digit() -> None:
    assert is_valid_my_number("983205673214")
    assert not is_valid_my_number("983205673210")
    assert not is_valid_my_number("98320567321")
