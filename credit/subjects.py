"""Credit subjects: organisations by unified social credit code, people by ID number.

A person's ID number and name are personal data: they are masked on every public page
and answer (:meth:`Subject.public_key`, :meth:`Subject.public_name`); organisations are
shown in full, as their credit codes are public.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from trading.errors import InvalidInput
from trading.identifiers import mask_id_number, mask_name, validate_credit_code, validate_id_number

ORGANISATION = "organisation"
PERSON = "person"
SUBJECT_TYPE_NAMES: Mapping[str, str] = MappingProxyType({ORGANISATION: "单位", PERSON: "个人"})
NAME_MAX_LENGTH = 200


@dataclass(frozen=True)
class Subject:
    type: str  # ORGANISATION or PERSON
    key: str  # credit code or ID number, normalised
    name: str

    @property
    def type_name(self) -> str:
        return SUBJECT_TYPE_NAMES[self.type]

    def public_key(self) -> str:
        return mask_id_number(self.key) if self.type == PERSON else self.key

    def public_name(self) -> str:
        return mask_name(self.name) if self.type == PERSON else self.name


def validate_subject_type(value: str) -> str:
    """``organisation``/``person``, or their Chinese names 单位/个人."""
    text = (value or "").strip()
    for code, name in SUBJECT_TYPE_NAMES.items():
        if text in (code, name):
            return code
    raise InvalidInput(f"主体类型「{text}」无效：应为单位或个人", code="unknown_subject_type", field="subject_type", found=text)


def validate_subject_key(subject_type: str, value: str) -> str:
    """The normalised credit code (organisation) or ID number (person)."""
    try:
        return validate_id_number(value) if subject_type == PERSON else validate_credit_code(value)
    except InvalidInput as exc:
        exc.details.setdefault("field", "subject_key")
        raise


def validate_subject_name(value: str) -> str:
    name = (value or "").strip()
    if not name:
        raise InvalidInput("主体名称不能为空", code="subject_name_required", field="subject_name")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(f"主体名称最长{NAME_MAX_LENGTH}个字符，实为{len(name)}个",
                           code="subject_name_too_long", field="subject_name")
    return name


def make_subject(subject_type: str, key: str, name: str) -> Subject:
    kind = validate_subject_type(subject_type)
    return Subject(kind, validate_subject_key(kind, key), validate_subject_name(name))
