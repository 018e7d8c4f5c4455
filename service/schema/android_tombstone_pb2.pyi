from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Architecture(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ARM32: _ClassVar[Architecture]
    ARM64: _ClassVar[Architecture]
    X86: _ClassVar[Architecture]
    X86_64: _ClassVar[Architecture]
    RISCV64: _ClassVar[Architecture]
    NONE: _ClassVar[Architecture]
ARM32: Architecture
ARM64: Architecture
X86: Architecture
X86_64: Architecture
RISCV64: Architecture
NONE: Architecture

class Tombstone(_message.Message):
    __slots__ = ("arch", "build_fingerprint", "revision", "timestamp", "pid", "tid", "uid", "selinux_label", "command_line", "process_uptime", "signal_info", "abort_message", "crash_details", "causes", "threads", "memory_mappings", "log_buffers", "page_size", "has_been_16kb_mode", "guest_arch", "guest_threads")
    class ThreadsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: Thread
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[Thread, _Mapping]] = ...) -> None: ...
    class GuestThreadsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: Thread
        def __init__(self, key: _Optional[int] = ..., value: _Optional[_Union[Thread, _Mapping]] = ...) -> None: ...
    ARCH_FIELD_NUMBER: _ClassVar[int]
    BUILD_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    TID_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    SELINUX_LABEL_FIELD_NUMBER: _ClassVar[int]
    COMMAND_LINE_FIELD_NUMBER: _ClassVar[int]
    PROCESS_UPTIME_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_INFO_FIELD_NUMBER: _ClassVar[int]
    ABORT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CRASH_DETAILS_FIELD_NUMBER: _ClassVar[int]
    CAUSES_FIELD_NUMBER: _ClassVar[int]
    THREADS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MAPPINGS_FIELD_NUMBER: _ClassVar[int]
    LOG_BUFFERS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    HAS_BEEN_16KB_MODE_FIELD_NUMBER: _ClassVar[int]
    GUEST_ARCH_FIELD_NUMBER: _ClassVar[int]
    GUEST_THREADS_FIELD_NUMBER: _ClassVar[int]
    arch: Architecture
    build_fingerprint: str
    revision: str
    timestamp: str
    pid: int
    tid: int
    uid: int
    selinux_label: str
    command_line: _containers.RepeatedScalarFieldContainer[str]
    process_uptime: int
    signal_info: Signal
    abort_message: str
    crash_details: _containers.RepeatedCompositeFieldContainer[CrashDetail]
    causes: _containers.RepeatedCompositeFieldContainer[Cause]
    threads: _containers.MessageMap[int, Thread]
    memory_mappings: _containers.RepeatedCompositeFieldContainer[MemoryMapping]
    log_buffers: _containers.RepeatedCompositeFieldContainer[LogBuffer]
    page_size: int
    has_been_16kb_mode: bool
    guest_arch: Architecture
    guest_threads: _containers.MessageMap[int, Thread]
    def __init__(self, arch: _Optional[_Union[Architecture, str]] = ..., build_fingerprint: _Optional[str] = ..., revision: _Optional[str] = ..., timestamp: _Optional[str] = ..., pid: _Optional[int] = ..., tid: _Optional[int] = ..., uid: _Optional[int] = ..., selinux_label: _Optional[str] = ..., command_line: _Optional[_Iterable[str]] = ..., process_uptime: _Optional[int] = ..., signal_info: _Optional[_Union[Signal, _Mapping]] = ..., abort_message: _Optional[str] = ..., crash_details: _Optional[_Iterable[_Union[CrashDetail, _Mapping]]] = ..., causes: _Optional[_Iterable[_Union[Cause, _Mapping]]] = ..., threads: _Optional[_Mapping[int, Thread]] = ..., memory_mappings: _Optional[_Iterable[_Union[MemoryMapping, _Mapping]]] = ..., log_buffers: _Optional[_Iterable[_Union[LogBuffer, _Mapping]]] = ..., page_size: _Optional[int] = ..., has_been_16kb_mode: _Optional[bool] = ..., guest_arch: _Optional[_Union[Architecture, str]] = ..., guest_threads: _Optional[_Mapping[int, Thread]] = ...) -> None: ...

class CrashDetail(_message.Message):
    __slots__ = ("name", "data")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    name: bytes
    data: bytes
    def __init__(self, name: _Optional[bytes] = ..., data: _Optional[bytes] = ...) -> None: ...

class Signal(_message.Message):
    __slots__ = ("number", "name", "code", "code_name", "has_sender", "sender_uid", "sender_pid", "has_fault_address", "fault_address")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    CODE_NAME_FIELD_NUMBER: _ClassVar[int]
    HAS_SENDER_FIELD_NUMBER: _ClassVar[int]
    SENDER_UID_FIELD_NUMBER: _ClassVar[int]
    SENDER_PID_FIELD_NUMBER: _ClassVar[int]
    HAS_FAULT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FAULT_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    number: int
    name: str
    code: int
    code_name: str
    has_sender: bool
    sender_uid: int
    sender_pid: int
    has_fault_address: bool
    fault_address: int
    def __init__(self, number: _Optional[int] = ..., name: _Optional[str] = ..., code: _Optional[int] = ..., code_name: _Optional[str] = ..., has_sender: _Optional[bool] = ..., sender_uid: _Optional[int] = ..., sender_pid: _Optional[int] = ..., has_fault_address: _Optional[bool] = ..., fault_address: _Optional[int] = ...) -> None: ...

class Cause(_message.Message):
    __slots__ = ("human_readable",)
    HUMAN_READABLE_FIELD_NUMBER: _ClassVar[int]
    human_readable: str
    def __init__(self, human_readable: _Optional[str] = ...) -> None: ...

class Register(_message.Message):
    __slots__ = ("name", "u64")
    NAME_FIELD_NUMBER: _ClassVar[int]
    U64_FIELD_NUMBER: _ClassVar[int]
    name: str
    u64: int
    def __init__(self, name: _Optional[str] = ..., u64: _Optional[int] = ...) -> None: ...

class Thread(_message.Message):
    __slots__ = ("id", "name", "registers", "current_backtrace", "backtrace_note", "unreadable_elf_files", "tagged_addr_ctrl", "pac_enabled_keys")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REGISTERS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_BACKTRACE_FIELD_NUMBER: _ClassVar[int]
    BACKTRACE_NOTE_FIELD_NUMBER: _ClassVar[int]
    UNREADABLE_ELF_FILES_FIELD_NUMBER: _ClassVar[int]
    TAGGED_ADDR_CTRL_FIELD_NUMBER: _ClassVar[int]
    PAC_ENABLED_KEYS_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    registers: _containers.RepeatedCompositeFieldContainer[Register]
    current_backtrace: _containers.RepeatedCompositeFieldContainer[BacktraceFrame]
    backtrace_note: _containers.RepeatedScalarFieldContainer[str]
    unreadable_elf_files: _containers.RepeatedScalarFieldContainer[str]
    tagged_addr_ctrl: int
    pac_enabled_keys: int
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., registers: _Optional[_Iterable[_Union[Register, _Mapping]]] = ..., current_backtrace: _Optional[_Iterable[_Union[BacktraceFrame, _Mapping]]] = ..., backtrace_note: _Optional[_Iterable[str]] = ..., unreadable_elf_files: _Optional[_Iterable[str]] = ..., tagged_addr_ctrl: _Optional[int] = ..., pac_enabled_keys: _Optional[int] = ...) -> None: ...

class BacktraceFrame(_message.Message):
    __slots__ = ("rel_pc", "pc", "sp", "function_name", "function_offset", "file_name", "file_map_offset", "build_id")
    REL_PC_FIELD_NUMBER: _ClassVar[int]
    PC_FIELD_NUMBER: _ClassVar[int]
    SP_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_NAME_FIELD_NUMBER: _ClassVar[int]
    FUNCTION_OFFSET_FIELD_NUMBER: _ClassVar[int]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    FILE_MAP_OFFSET_FIELD_NUMBER: _ClassVar[int]
    BUILD_ID_FIELD_NUMBER: _ClassVar[int]
    rel_pc: int
    pc: int
    sp: int
    function_name: str
    function_offset: int
    file_name: str
    file_map_offset: int
    build_id: str
    def __init__(self, rel_pc: _Optional[int] = ..., pc: _Optional[int] = ..., sp: _Optional[int] = ..., function_name: _Optional[str] = ..., function_offset: _Optional[int] = ..., file_name: _Optional[str] = ..., file_map_offset: _Optional[int] = ..., build_id: _Optional[str] = ...) -> None: ...

class MemoryMapping(_message.Message):
    __slots__ = ("begin_address", "end_address", "offset", "read", "write", "execute", "mapping_name", "build_id", "load_bias")
    BEGIN_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    END_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    READ_FIELD_NUMBER: _ClassVar[int]
    WRITE_FIELD_NUMBER: _ClassVar[int]
    EXECUTE_FIELD_NUMBER: _ClassVar[int]
    MAPPING_NAME_FIELD_NUMBER: _ClassVar[int]
    BUILD_ID_FIELD_NUMBER: _ClassVar[int]
    LOAD_BIAS_FIELD_NUMBER: _ClassVar[int]
    begin_address: int
    end_address: int
    offset: int
    read: bool
    write: bool
    execute: bool
    mapping_name: str
    build_id: str
    load_bias: int
    def __init__(self, begin_address: _Optional[int] = ..., end_address: _Optional[int] = ..., offset: _Optional[int] = ..., read: _Optional[bool] = ..., write: _Optional[bool] = ..., execute: _Optional[bool] = ..., mapping_name: _Optional[str] = ..., build_id: _Optional[str] = ..., load_bias: _Optional[int] = ...) -> None: ...

class LogBuffer(_message.Message):
    __slots__ = ("name", "logs")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LOGS_FIELD_NUMBER: _ClassVar[int]
    name: str
    logs: _containers.RepeatedCompositeFieldContainer[LogMessage]
    def __init__(self, name: _Optional[str] = ..., logs: _Optional[_Iterable[_Union[LogMessage, _Mapping]]] = ...) -> None: ...

class LogMessage(_message.Message):
    __slots__ = ("timestamp", "pid", "tid", "priority", "tag", "message")
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    TID_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    timestamp: str
    pid: int
    tid: int
    priority: int
    tag: str
    message: str
    def __init__(self, timestamp: _Optional[str] = ..., pid: _Optional[int] = ..., tid: _Optional[int] = ..., priority: _Optional[int] = ..., tag: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...
