import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SessionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_STATUS_UNSPECIFIED: _ClassVar[SessionStatus]
    SESSION_STATUS_OK: _ClassVar[SessionStatus]
    SESSION_STATUS_EXITED: _ClassVar[SessionStatus]
    SESSION_STATUS_CRASHED: _ClassVar[SessionStatus]
    SESSION_STATUS_ABNORMAL: _ClassVar[SessionStatus]
    SESSION_STATUS_ERRORED: _ClassVar[SessionStatus]
SESSION_STATUS_UNSPECIFIED: SessionStatus
SESSION_STATUS_OK: SessionStatus
SESSION_STATUS_EXITED: SessionStatus
SESSION_STATUS_CRASHED: SessionStatus
SESSION_STATUS_ABNORMAL: SessionStatus
SESSION_STATUS_ERRORED: SessionStatus

class SessionUpdate(_message.Message):
    __slots__ = ("session_id", "installation_id", "init", "started", "status", "errors", "duration_seconds", "release", "environment", "os_name", "os_version", "device_model")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    INSTALLATION_ID_FIELD_NUMBER: _ClassVar[int]
    INIT_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    OS_NAME_FIELD_NUMBER: _ClassVar[int]
    OS_VERSION_FIELD_NUMBER: _ClassVar[int]
    DEVICE_MODEL_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    installation_id: str
    init: bool
    started: _timestamp_pb2.Timestamp
    status: SessionStatus
    errors: int
    duration_seconds: float
    release: str
    environment: str
    os_name: str
    os_version: str
    device_model: str
    def __init__(self, session_id: _Optional[str] = ..., installation_id: _Optional[str] = ..., init: _Optional[bool] = ..., started: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[SessionStatus, str]] = ..., errors: _Optional[int] = ..., duration_seconds: _Optional[float] = ..., release: _Optional[str] = ..., environment: _Optional[str] = ..., os_name: _Optional[str] = ..., os_version: _Optional[str] = ..., device_model: _Optional[str] = ...) -> None: ...

class SessionBatch(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[SessionUpdate]
    def __init__(self, sessions: _Optional[_Iterable[_Union[SessionUpdate, _Mapping]]] = ...) -> None: ...
