"""Normalize function names so that the same code has the same name in every build.

Compiler-generated parts change between app versions without the code
changing: Java lambda and anonymous-class indices, R8 and D8 synthetic class
hashes, Swift closure numbers, generic specializations, thunk prefixes,
Objective-C categories, C++ argument lists, addresses and offsets. Each
normalizer returns the normalized name and the list of what it removed, for
the explanation of the signature.

Kept on purpose: C++ ``(anonymous namespace)`` (part of the qualified name,
and two anonymous namespaces in different files are different code) and Java
``<init>``/``<clinit>``.
"""

import re

# --- Java and Kotlin -------------------------------------------------------

# JDK and desugared lambda classes: Foo$$Lambda$12/0x0000000800c3b840,
# Foo$$Lambda/0x..., -$$Lambda$MainActivity$r3Avcbztes2hicEObh02jjhQqd4.
_JAVA_LAMBDA_CLASS = re.compile(r"\$\$Lambda(?:\$[\w$]*?)?(?:/0x[0-9a-fA-F]+)?(?=$|\.)")
# R8 synthetic lambda: $r8$lambda$Xj3rY0-6kAlk1hQ2m7tY7U4nR3M
_R8_LAMBDA = re.compile(r"\$r8\$lambda\$[\w\-]+")
# D8 synthetic lambda classes: -$$ExternalSyntheticLambda0, $$ExternalSyntheticOutline1
_SYNTHETIC_INDEX = re.compile(r"(\$\$External(?:Synthetic)?\w*?)\d+(?=$|\.|\$)")
# Numeric $-segments: lambda$onCreate$0, onCreate$lambda$3, MainActivity$1, access$000
_DOLLAR_NUMBER = re.compile(r"\$\d+(?=$|\.|\$)")
# Older Kotlin lambda names: onCreate$lambda-3
_KOTLIN_DASH_INDEX = re.compile(r"(\$lambda)-\d+(?=$|\.|\$)")


def normalize_java_name(module: str, function: str) -> tuple[str, list[str]]:
    """Return ``Class.method`` with synthetic indices and hashes removed."""
    name = f"{module}.{function}" if module and function else module or function
    removed: list[str] = []
    name = _substitute(_JAVA_LAMBDA_CLASS, "$$Lambda", name, "lambda class hash", removed)
    name = _substitute(_R8_LAMBDA, "$r8$lambda", name, "R8 lambda hash", removed)
    name = _substitute(_SYNTHETIC_INDEX, r"\1", name, "synthetic lambda index", removed)
    name = _substitute(_KOTLIN_DASH_INDEX, r"\1", name, "lambda index", removed)
    name = _substitute(_DOLLAR_NUMBER, "$", name, "lambda or anonymous class index", removed)
    return name, removed


# --- Native: Swift, Objective-C, C++, C, Rust --------------------------------

_OFFSET_SUFFIX = re.compile(r"\s*\+\s*(?:0x[0-9a-fA-F]+|\d+)\s*$")
_HEX_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b")
_OBJC_METHOD = re.compile(r"^(?:__\d+)?([-+]\[[^\]]+\])(.*)$")
_OBJC_CATEGORY = re.compile(r"^([-+]\[\S+?)\([^)]*\)(\s)")
_BLOCK_INVOKE_INDEX = re.compile(r"(_block_invoke)(?:_\d+)+$")
_SWIFT_PREFIXES = re.compile(
    r"^(?:partial apply for |specialized |generic specialization\s*of |merged |@objc |@nonobjc "
    r"|dispatch thunk of |thunk for |reabstraction thunk helper from |outlined copy of |outlined consume of "
    r"|function signature specialization\s*of |static )+"
)
_CLOSURE_NUMBER = re.compile(r"((?:implicit )?closure|\$defer|unnamed) #\d+")
_CPP_LAMBDA_INDEX = re.compile(r"\{lambda\([^)]*\)#\d+\}|'lambda\d*'|\$_\d+")
_EFFECTS_BEFORE_ARROW = re.compile(r"(?:\s+(?:async|throws|rethrows))+\s*$")
_TRAILING_QUALIFIERS = re.compile(r"(?:\s+(?:const|volatile|&&|&|noexcept))+$")
_PROPERTY_TYPE = re.compile(r"\.(getter|setter|modify|read|didset|willset|materializeForSet) : .*$")
_RUST_HASH = re.compile(r"::h[0-9a-f]{16}$")
_ANONYMOUS_NAMESPACE = "(anonymous namespace)"
_ANONYMOUS_PLACEHOLDER = "\x00anon\x00"


def normalize_native_name(function: str) -> tuple[str, list[str]]:
    """Return a demangled native function name reduced to its stable identity."""
    removed: list[str] = []
    name = _substitute(_OFFSET_SUFFIX, "", function.strip(), "offset", removed)
    name = _substitute(_HEX_ADDRESS, "", name, "address", removed)

    objc = _OBJC_METHOD.match(name)
    if objc:
        return _normalize_objc(objc.group(1), objc.group(2), name, removed)

    name = name.replace("`anonymous namespace'", _ANONYMOUS_NAMESPACE)
    name = name.replace(_ANONYMOUS_NAMESPACE, _ANONYMOUS_PLACEHOLDER)
    name = _substitute(_SWIFT_PREFIXES, "", name, "thunk or specialization prefix", removed)
    name = _substitute(_CLOSURE_NUMBER, r"\1", name, "closure index", removed)
    name = _substitute(_CPP_LAMBDA_INDEX, "{lambda}", name, "lambda index", removed)
    name = _substitute(_PROPERTY_TYPE, r".\1", name, "property type", removed)
    before = name
    name = _strip_return_types(name)
    if name != before:
        removed.append("return type")
    before = name
    name = _strip_brackets(name)
    if name != before:
        removed.append("generic arguments and parameter lists")
    name = _substitute(_SWIFT_PREFIXES, "", name, "thunk or specialization prefix", removed)
    name = _substitute(_TRAILING_QUALIFIERS, "", name, "qualifiers", removed)
    name = _substitute(_RUST_HASH, "", name, "Rust symbol hash", removed)
    name = name.replace(_ANONYMOUS_PLACEHOLDER, _ANONYMOUS_NAMESPACE)
    return " ".join(name.split()), removed


def _normalize_objc(method: str, rest: str, original: str, removed: list[str]) -> tuple[str, list[str]]:
    if original.startswith("__"):
        removed.append("block prefix")
    category = _OBJC_CATEGORY.sub(r"\1\2", method)
    if category != method:
        removed.append("Objective-C category")
    rest = _substitute(_BLOCK_INVOKE_INDEX, r"\1", rest, "block index", removed)
    return category + rest, removed


def _strip_return_types(name: str) -> str:
    """Remove Swift ``-> Type`` return types, with ``async``/``throws`` before the arrow.

    The type after the arrow is one bracketed group (``()``, ``(A, B)``) or
    one word that may contain bracketed groups (``Swift.Optional<B>``).
    """
    while True:
        arrow = _find_top_level(name, "->")
        if arrow < 0:
            return name
        head = _EFFECTS_BEFORE_ARROW.sub("", name[:arrow].rstrip())
        index = arrow + 2
        while index < len(name) and name[index] == " ":
            index += 1
        depth = 0
        while index < len(name):
            char = name[index]
            if char in "<(":
                depth += 1
            elif char in ">)":
                depth -= 1
                if depth == 0 and char == ")" and name[arrow + 2:index].lstrip().startswith("("):
                    index += 1
                    break
            elif char == " " and depth == 0:
                break
            index += 1
        name = head + name[index:]


def _find_top_level(name: str, token: str) -> int:
    """Return the index of ``token`` outside brackets, not counting ``operator->``, or -1."""
    depth = 0
    for index, char in enumerate(name):
        if name.startswith("->", index - 1) and char == ">":
            continue
        if char in "<(":
            depth += 1
        elif char in ">)":
            depth -= 1
        elif depth == 0 and name.startswith(token, index) and not name[:index].endswith("operator"):
            return index
    return -1


def _strip_brackets(name: str) -> str:
    """Remove ``<...>`` and ``(...)`` groups, keeping C++ operator names such as ``operator()`` and ``operator<<``."""
    output: list[str] = []
    depth = 0
    index = 0
    while index < len(name):
        operator = _operator_at(name, index) if depth == 0 else ""
        if operator:
            output.append(operator)
            index += len(operator)
            continue
        char = name[index]
        if name.startswith("->", index):
            if depth == 0:
                output.append("->")
            index += 2
            continue
        if char in "<(":
            depth += 1
        elif char in ">)" and depth:
            depth -= 1
        elif depth == 0:
            output.append(char)
        index += 1
    return "".join(output)


_OPERATOR = re.compile(r"operator\s*(?:\(\)|\[\]|<<=|>>=|<=>|<<|>>|<=|>=|->\*|->|<|>|new\[\]|delete\[\]|[^\s(<]+)?")


def _operator_at(name: str, index: int) -> str:
    if not name.startswith("operator", index):
        return ""
    if index and (name[index - 1].isalnum() or name[index - 1] == "_"):
        return ""
    match = _OPERATOR.match(name, index)
    return match.group(0) if match else ""


def _substitute(pattern: re.Pattern[str], replacement: str, name: str, label: str, removed: list[str]) -> str:
    new_name = pattern.sub(replacement, name)
    if new_name != name:
        removed.append(label)
    return new_name


# --- Messages ----------------------------------------------------------------

_MESSAGE_PATTERNS = (
    (re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"), "<uuid>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"), "<datetime>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{6,}\b"), "<hex>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<num>"),
)
MAX_MESSAGE_CHARS = 200


def normalize_message(message: str) -> str:
    """Replace the variable parts of a message (ids, addresses, times, numbers) with placeholders."""
    text = " ".join(message.split())[:MAX_MESSAGE_CHARS]
    for pattern, placeholder in _MESSAGE_PATTERNS:
        text = pattern.sub(placeholder, text)
    return text
