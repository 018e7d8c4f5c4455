"""Function name normalization for grouping."""

import pytest

from service.grouping.normalize import normalize_java_name, normalize_message, normalize_native_name


@pytest.mark.parametrize(
    ("module", "function", "expected"),
    [
        ("com.example.MainActivity", "lambda$onCreate$0", "com.example.MainActivity.lambda$onCreate$"),
        ("com.example.MainActivity", "lambda$onCreate$12", "com.example.MainActivity.lambda$onCreate$"),
        ("com.example.MainActivity$2", "run", "com.example.MainActivity$.run"),
        ("io.sentry.sample.-$$Lambda$r3Avcbztes2hicEObh02jjhQqd4", "onClick", "io.sentry.sample.-$$Lambda.onClick"),
        ("com.example.Foo$$Lambda$12/0x0000000800c3b840", "accept", "com.example.Foo$$Lambda.accept"),
        ("com.example.Foo$$Lambda/0x0000000800c3b840", "accept", "com.example.Foo$$Lambda.accept"),
        ("com.example.Foo", "$r8$lambda$Xj3rY0-6kAlk1hQ2m7tY7U4nR3M", "com.example.Foo.$r8$lambda"),
        ("com.example.Foo$$ExternalSyntheticLambda0", "run", "com.example.Foo$$ExternalSyntheticLambda.run"),
        ("com.example.EditActivity", "onCreate$lambda$3", "com.example.EditActivity.onCreate$lambda$"),
        ("com.example.EditActivity", "onCreate$lambda-3", "com.example.EditActivity.onCreate$lambda"),
        ("com.example.Foo$bar$1", "invokeSuspend", "com.example.Foo$bar$.invokeSuspend"),
        ("com.example.Foo", "<init>", "com.example.Foo.<init>"),
        ("com.example.Foo$Inner", "handle", "com.example.Foo$Inner.handle"),
    ],
)
def test_java_names(module: str, function: str, expected: str) -> None:
    assert normalize_java_name(module, function)[0] == expected


def test_java_removed_parts_listed() -> None:
    _, removed = normalize_java_name("com.example.MainActivity$1", "lambda$onCreate$0")

    assert removed == ["lambda or anonymous class index"]


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("closure #2 in ClinicCore.BookingScreen.submit(slot: ClinicCore.Slot) -> ()",
         "closure in ClinicCore.BookingScreen.submit"),
        ("implicit closure #1 () -> Swift.String in ClinicCore.Log.debug()", "implicit closure in ClinicCore.Log.debug"),
        ("partial apply for closure #1 (Swift.Int) -> () in ClinicCore.Foo.bar(x: Swift.Int) async throws -> Swift.String",
         "closure in ClinicCore.Foo.bar"),
        ("specialized ClinicCore.Cache.value<A where A: Swift.Hashable>(for: A) -> Swift.Optional<B>",
         "ClinicCore.Cache.value"),
        ("generic specialization <Swift.Int> of ClinicCore.foo<A>(A) -> ()", "ClinicCore.foo"),
        ("@objc ClinicCore.BookingScreen.viewDidLoad() -> ()", "ClinicCore.BookingScreen.viewDidLoad"),
        ("ClinicCore.Foo.bar(completion: @escaping (Swift.Result<Swift.Int, Swift.Error>) -> ()) -> ()",
         "ClinicCore.Foo.bar"),
        ("$defer #1 () -> () in ClinicCore.Foo.bar() -> ()", "$defer in ClinicCore.Foo.bar"),
        ("ClinicCore.Model.name.getter : Swift.String", "ClinicCore.Model.name.getter"),
        ("-[UIViewController(Tracking) swizzled_viewDidAppear:]", "-[UIViewController swizzled_viewDidAppear:]"),
        ("-[Crasher dereferenceBadPointer] + 24", "-[Crasher dereferenceBadPointer]"),
        ("__34-[CRLDetailViewController doCrash]_block_invoke_2", "-[CRLDetailViewController doCrash]_block_invoke"),
        ("+[NSObject(Swizzle) load]", "+[NSObject load]"),
        ("(anonymous namespace)::crash()", "(anonymous namespace)::crash"),
        ("std::vector<unsigned char, std::allocator<unsigned char>>::operator[](unsigned long) const",
         "std::vector::operator[]"),
        ("google_breakpad::MinidumpFileWriter::Close()", "google_breakpad::MinidumpFileWriter::Close"),
        ("Foo::operator<<(std::ostream&)", "Foo::operator<<"),
        ("Foo::operator->() const", "Foo::operator->"),
        ("Foo::operator()() const", "Foo::operator()"),
        ("foo()::$_0::operator()() const", "foo::{lambda}::operator()"),
        ("{lambda(int)#1}::operator()(int) const", "{lambda}::operator()"),
        ("core::panicking::panic::h1234567890abcdef", "core::panicking::panic"),
        ("main", "main"),
        ("0x100a8c000 + 1234", ""),
    ],
)
def test_native_names(function: str, expected: str) -> None:
    assert normalize_native_name(function)[0] == expected


def test_swift_closure_indices_equal() -> None:
    first = normalize_native_name("closure #2 in ClinicCore.BookingScreen.submit() -> ()")[0]
    second = normalize_native_name("closure #5 in ClinicCore.BookingScreen.submit() -> ()")[0]

    assert first == second


def test_message_placeholders() -> None:
    message = "Fragment a{7f3c1d2} not attached at 0x10, id 6F1B2C3D-8E9A-4B7C-9D0E-1F2A3B4C5D6E at 2026-12-04T18:59:10Z, 17 left"

    assert normalize_message(message) == "Fragment a{<hex>} not attached at <hex>, id <uuid> at <datetime>, <num> left"
