import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Platform(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PLATFORM_UNSPECIFIED: _ClassVar[Platform]
    PLATFORM_APPLE: _ClassVar[Platform]
    PLATFORM_ANDROID: _ClassVar[Platform]
    PLATFORM_OTHER: _ClassVar[Platform]

class Level(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LEVEL_UNSPECIFIED: _ClassVar[Level]
    LEVEL_FATAL: _ClassVar[Level]
    LEVEL_ERROR: _ClassVar[Level]
    LEVEL_WARNING: _ClassVar[Level]
    LEVEL_INFO: _ClassVar[Level]
    LEVEL_DEBUG: _ClassVar[Level]

class FrameStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FRAME_STATUS_UNSPECIFIED: _ClassVar[FrameStatus]
    FRAME_STATUS_SYMBOLICATED: _ClassVar[FrameStatus]
    FRAME_STATUS_MISSING_SYMBOLS: _ClassVar[FrameStatus]
    FRAME_STATUS_UNKNOWN_IMAGE: _ClassVar[FrameStatus]
    FRAME_STATUS_MALFORMED_SYMBOLS: _ClassVar[FrameStatus]
    FRAME_STATUS_NOT_APPLICABLE: _ClassVar[FrameStatus]

class ImageStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMAGE_STATUS_UNSPECIFIED: _ClassVar[ImageStatus]
    IMAGE_STATUS_FOUND: _ClassVar[ImageStatus]
    IMAGE_STATUS_MISSING: _ClassVar[ImageStatus]
    IMAGE_STATUS_MALFORMED: _ClassVar[ImageStatus]
    IMAGE_STATUS_UNUSED: _ClassVar[ImageStatus]
    IMAGE_STATUS_NOT_APPLICABLE: _ClassVar[ImageStatus]

class ImageType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IMAGE_TYPE_UNSPECIFIED: _ClassVar[ImageType]
    IMAGE_TYPE_MACHO: _ClassVar[ImageType]
    IMAGE_TYPE_ELF: _ClassVar[ImageType]
    IMAGE_TYPE_PROGUARD: _ClassVar[ImageType]
    IMAGE_TYPE_OTHER: _ClassVar[ImageType]
PLATFORM_UNSPECIFIED: Platform
PLATFORM_APPLE: Platform
PLATFORM_ANDROID: Platform
PLATFORM_OTHER: Platform
LEVEL_UNSPECIFIED: Level
LEVEL_FATAL: Level
LEVEL_ERROR: Level
LEVEL_WARNING: Level
LEVEL_INFO: Level
LEVEL_DEBUG: Level
FRAME_STATUS_UNSPECIFIED: FrameStatus
FRAME_STATUS_SYMBOLICATED: FrameStatus
FRAME_STATUS_MISSING_SYMBOLS: FrameStatus
FRAME_STATUS_UNKNOWN_IMAGE: FrameStatus
FRAME_STATUS_MALFORMED_SYMBOLS: FrameStatus
FRAME_STATUS_NOT_APPLICABLE: FrameStatus
IMAGE_STATUS_UNSPECIFIED: ImageStatus
IMAGE_STATUS_FOUND: ImageStatus
IMAGE_STATUS_MISSING: ImageStatus
IMAGE_STATUS_MALFORMED: ImageStatus
IMAGE_STATUS_UNUSED: ImageStatus
IMAGE_STATUS_NOT_APPLICABLE: ImageStatus
IMAGE_TYPE_UNSPECIFIED: ImageType
IMAGE_TYPE_MACHO: ImageType
IMAGE_TYPE_ELF: ImageType
IMAGE_TYPE_PROGUARD: ImageType
IMAGE_TYPE_OTHER: ImageType

class App(_message.Message):
    __slots__ = ("bundle_id", "name", "version", "build", "release", "environment", "dist", "in_foreground")
    BUNDLE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    BUILD_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    DIST_FIELD_NUMBER: _ClassVar[int]
    IN_FOREGROUND_FIELD_NUMBER: _ClassVar[int]
    bundle_id: str
    name: str
    version: str
    build: str
    release: str
    environment: str
    dist: str
    in_foreground: bool
    def __init__(self, bundle_id: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., build: _Optional[str] = ..., release: _Optional[str] = ..., environment: _Optional[str] = ..., dist: _Optional[str] = ..., in_foreground: _Optional[bool] = ...) -> None: ...

class Device(_message.Message):
    __slots__ = ("model", "model_id", "manufacturer", "brand", "family", "archs", "simulator", "memory_size", "free_memory", "orientation", "locale")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_ID_FIELD_NUMBER: _ClassVar[int]
    MANUFACTURER_FIELD_NUMBER: _ClassVar[int]
    BRAND_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    ARCHS_FIELD_NUMBER: _ClassVar[int]
    SIMULATOR_FIELD_NUMBER: _ClassVar[int]
    MEMORY_SIZE_FIELD_NUMBER: _ClassVar[int]
    FREE_MEMORY_FIELD_NUMBER: _ClassVar[int]
    ORIENTATION_FIELD_NUMBER: _ClassVar[int]
    LOCALE_FIELD_NUMBER: _ClassVar[int]
    model: str
    model_id: str
    manufacturer: str
    brand: str
    family: str
    archs: _containers.RepeatedScalarFieldContainer[str]
    simulator: bool
    memory_size: int
    free_memory: int
    orientation: str
    locale: str
    def __init__(self, model: _Optional[str] = ..., model_id: _Optional[str] = ..., manufacturer: _Optional[str] = ..., brand: _Optional[str] = ..., family: _Optional[str] = ..., archs: _Optional[_Iterable[str]] = ..., simulator: _Optional[bool] = ..., memory_size: _Optional[int] = ..., free_memory: _Optional[int] = ..., orientation: _Optional[str] = ..., locale: _Optional[str] = ...) -> None: ...

class OperatingSystem(_message.Message):
    __slots__ = ("name", "version", "build", "kernel_version", "rooted")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    BUILD_FIELD_NUMBER: _ClassVar[int]
    KERNEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ROOTED_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    build: str
    kernel_version: str
    rooted: bool
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., build: _Optional[str] = ..., kernel_version: _Optional[str] = ..., rooted: _Optional[bool] = ...) -> None: ...

class Signal(_message.Message):
    __slots__ = ("number", "name", "code", "code_name")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    CODE_NAME_FIELD_NUMBER: _ClassVar[int]
    number: int
    name: str
    code: int
    code_name: str
    def __init__(self, number: _Optional[int] = ..., name: _Optional[str] = ..., code: _Optional[int] = ..., code_name: _Optional[str] = ...) -> None: ...

class MachException(_message.Message):
    __slots__ = ("exception", "name", "code", "subcode")
    EXCEPTION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    SUBCODE_FIELD_NUMBER: _ClassVar[int]
    exception: int
    name: str
    code: int
    subcode: int
    def __init__(self, exception: _Optional[int] = ..., name: _Optional[str] = ..., code: _Optional[int] = ..., subcode: _Optional[int] = ...) -> None: ...

class Mechanism(_message.Message):
    __slots__ = ("type", "handled", "description", "signal", "mach_exception", "fault_address")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    HANDLED_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_FIELD_NUMBER: _ClassVar[int]
    MACH_EXCEPTION_FIELD_NUMBER: _ClassVar[int]
    FAULT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    type: str
    handled: bool
    description: str
    signal: Signal
    mach_exception: MachException
    fault_address: int
    def __init__(self, type: _Optional[str] = ..., handled: _Optional[bool] = ..., description: _Optional[str] = ..., signal: _Optional[_Union[Signal, _Mapping]] = ..., mach_exception: _Optional[_Union[MachException, _Mapping]] = ..., fault_address: _Optional[int] = ...) -> None: ...

class Frame(_message.Message):
    __slots__ = ("function", "raw_function", "package", "module", "filename", "abs_path", "lineno", "colno", "instruction_addr", "symbol_addr", "image_addr", "in_app", "inlined", "status", "lang", "platform", "address_mode")
    FUNCTION_FIELD_NUMBER: _ClassVar[int]
    RAW_FUNCTION_FIELD_NUMBER: _ClassVar[int]
    PACKAGE_FIELD_NUMBER: _ClassVar[int]
    MODULE_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    ABS_PATH_FIELD_NUMBER: _ClassVar[int]
    LINENO_FIELD_NUMBER: _ClassVar[int]
    COLNO_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTION_ADDR_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_ADDR_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ADDR_FIELD_NUMBER: _ClassVar[int]
    IN_APP_FIELD_NUMBER: _ClassVar[int]
    INLINED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LANG_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_MODE_FIELD_NUMBER: _ClassVar[int]
    function: str
    raw_function: str
    package: str
    module: str
    filename: str
    abs_path: str
    lineno: int
    colno: int
    instruction_addr: int
    symbol_addr: int
    image_addr: int
    in_app: bool
    inlined: bool
    status: FrameStatus
    lang: str
    platform: str
    address_mode: str
    def __init__(self, function: _Optional[str] = ..., raw_function: _Optional[str] = ..., package: _Optional[str] = ..., module: _Optional[str] = ..., filename: _Optional[str] = ..., abs_path: _Optional[str] = ..., lineno: _Optional[int] = ..., colno: _Optional[int] = ..., instruction_addr: _Optional[int] = ..., symbol_addr: _Optional[int] = ..., image_addr: _Optional[int] = ..., in_app: _Optional[bool] = ..., inlined: _Optional[bool] = ..., status: _Optional[_Union[FrameStatus, str]] = ..., lang: _Optional[str] = ..., platform: _Optional[str] = ..., address_mode: _Optional[str] = ...) -> None: ...

class Thread(_message.Message):
    __slots__ = ("id", "name", "crashed", "current", "main", "state", "frames", "registers", "held_locks", "waiting_on", "queue")
    class RegistersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CRASHED_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    MAIN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    REGISTERS_FIELD_NUMBER: _ClassVar[int]
    HELD_LOCKS_FIELD_NUMBER: _ClassVar[int]
    WAITING_ON_FIELD_NUMBER: _ClassVar[int]
    QUEUE_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    crashed: bool
    current: bool
    main: bool
    state: str
    frames: _containers.RepeatedCompositeFieldContainer[Frame]
    registers: _containers.ScalarMap[str, int]
    held_locks: _containers.RepeatedCompositeFieldContainer[Lock]
    waiting_on: Lock
    queue: str
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., crashed: _Optional[bool] = ..., current: _Optional[bool] = ..., main: _Optional[bool] = ..., state: _Optional[str] = ..., frames: _Optional[_Iterable[_Union[Frame, _Mapping]]] = ..., registers: _Optional[_Mapping[str, int]] = ..., held_locks: _Optional[_Iterable[_Union[Lock, _Mapping]]] = ..., waiting_on: _Optional[_Union[Lock, _Mapping]] = ..., queue: _Optional[str] = ...) -> None: ...

class Lock(_message.Message):
    __slots__ = ("address", "class_name", "owner_thread_id")
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CLASS_NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    address: str
    class_name: str
    owner_thread_id: int
    def __init__(self, address: _Optional[str] = ..., class_name: _Optional[str] = ..., owner_thread_id: _Optional[int] = ...) -> None: ...

class ExceptionInfo(_message.Message):
    __slots__ = ("type", "value", "module", "mechanism", "thread_id", "frames")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    MODULE_FIELD_NUMBER: _ClassVar[int]
    MECHANISM_FIELD_NUMBER: _ClassVar[int]
    THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    type: str
    value: str
    module: str
    mechanism: Mechanism
    thread_id: int
    frames: _containers.RepeatedCompositeFieldContainer[Frame]
    def __init__(self, type: _Optional[str] = ..., value: _Optional[str] = ..., module: _Optional[str] = ..., mechanism: _Optional[_Union[Mechanism, _Mapping]] = ..., thread_id: _Optional[int] = ..., frames: _Optional[_Iterable[_Union[Frame, _Mapping]]] = ...) -> None: ...

class Image(_message.Message):
    __slots__ = ("type", "code_file", "debug_id", "code_id", "debug_file", "image_addr", "image_size", "image_vmaddr", "arch", "status", "status_detail")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CODE_FILE_FIELD_NUMBER: _ClassVar[int]
    DEBUG_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_ID_FIELD_NUMBER: _ClassVar[int]
    DEBUG_FILE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_ADDR_FIELD_NUMBER: _ClassVar[int]
    IMAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    IMAGE_VMADDR_FIELD_NUMBER: _ClassVar[int]
    ARCH_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_DETAIL_FIELD_NUMBER: _ClassVar[int]
    type: ImageType
    code_file: str
    debug_id: str
    code_id: str
    debug_file: str
    image_addr: int
    image_size: int
    image_vmaddr: int
    arch: str
    status: ImageStatus
    status_detail: str
    def __init__(self, type: _Optional[_Union[ImageType, str]] = ..., code_file: _Optional[str] = ..., debug_id: _Optional[str] = ..., code_id: _Optional[str] = ..., debug_file: _Optional[str] = ..., image_addr: _Optional[int] = ..., image_size: _Optional[int] = ..., image_vmaddr: _Optional[int] = ..., arch: _Optional[str] = ..., status: _Optional[_Union[ImageStatus, str]] = ..., status_detail: _Optional[str] = ...) -> None: ...

class Breadcrumb(_message.Message):
    __slots__ = ("timestamp", "type", "category", "message", "level", "data")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    timestamp: _timestamp_pb2.Timestamp
    type: str
    category: str
    message: str
    level: Level
    data: _containers.ScalarMap[str, str]
    def __init__(self, timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., type: _Optional[str] = ..., category: _Optional[str] = ..., message: _Optional[str] = ..., level: _Optional[_Union[Level, str]] = ..., data: _Optional[_Mapping[str, str]] = ...) -> None: ...

class User(_message.Message):
    __slots__ = ("id_hash", "segment")
    ID_HASH_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    id_hash: str
    segment: str
    def __init__(self, id_hash: _Optional[str] = ..., segment: _Optional[str] = ...) -> None: ...

class Request(_message.Message):
    __slots__ = ("method", "url", "headers")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    METHOD_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    method: str
    url: str
    headers: _containers.ScalarMap[str, str]
    def __init__(self, method: _Optional[str] = ..., url: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ProcessingNote(_message.Message):
    __slots__ = ("step", "message")
    STEP_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    step: str
    message: str
    def __init__(self, step: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class CrashReport(_message.Message):
    __slots__ = ("event_id", "timestamp", "platform", "source_format", "level", "app", "device", "os", "exceptions", "threads", "images", "breadcrumbs", "tags", "custom_keys", "user", "message", "request", "notes", "sdk_name", "sdk_version", "fingerprint", "transaction")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class CustomKeysEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    APP_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    OS_FIELD_NUMBER: _ClassVar[int]
    EXCEPTIONS_FIELD_NUMBER: _ClassVar[int]
    THREADS_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    BREADCRUMBS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_KEYS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    SDK_NAME_FIELD_NUMBER: _ClassVar[int]
    SDK_VERSION_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    timestamp: _timestamp_pb2.Timestamp
    platform: Platform
    source_format: str
    level: Level
    app: App
    device: Device
    os: OperatingSystem
    exceptions: _containers.RepeatedCompositeFieldContainer[ExceptionInfo]
    threads: _containers.RepeatedCompositeFieldContainer[Thread]
    images: _containers.RepeatedCompositeFieldContainer[Image]
    breadcrumbs: _containers.RepeatedCompositeFieldContainer[Breadcrumb]
    tags: _containers.ScalarMap[str, str]
    custom_keys: _containers.ScalarMap[str, str]
    user: User
    message: str
    request: Request
    notes: _containers.RepeatedCompositeFieldContainer[ProcessingNote]
    sdk_name: str
    sdk_version: str
    fingerprint: _containers.RepeatedScalarFieldContainer[str]
    transaction: str
    def __init__(self, event_id: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., platform: _Optional[_Union[Platform, str]] = ..., source_format: _Optional[str] = ..., level: _Optional[_Union[Level, str]] = ..., app: _Optional[_Union[App, _Mapping]] = ..., device: _Optional[_Union[Device, _Mapping]] = ..., os: _Optional[_Union[OperatingSystem, _Mapping]] = ..., exceptions: _Optional[_Iterable[_Union[ExceptionInfo, _Mapping]]] = ..., threads: _Optional[_Iterable[_Union[Thread, _Mapping]]] = ..., images: _Optional[_Iterable[_Union[Image, _Mapping]]] = ..., breadcrumbs: _Optional[_Iterable[_Union[Breadcrumb, _Mapping]]] = ..., tags: _Optional[_Mapping[str, str]] = ..., custom_keys: _Optional[_Mapping[str, str]] = ..., user: _Optional[_Union[User, _Mapping]] = ..., message: _Optional[str] = ..., request: _Optional[_Union[Request, _Mapping]] = ..., notes: _Optional[_Iterable[_Union[ProcessingNote, _Mapping]]] = ..., sdk_name: _Optional[str] = ..., sdk_version: _Optional[str] = ..., fingerprint: _Optional[_Iterable[str]] = ..., transaction: _Optional[str] = ...) -> None: ...
