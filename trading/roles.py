"""Roles of users and of organisations, with their Chinese names."""

from __future__ import annotations

from enum import StrEnum


class UserRole(StrEnum):
    ADMIN = "admin"
    TENDERING_PARTY = "tendering_party"
    AGENCY = "agency"
    BIDDER = "bidder"
    EXPERT = "expert"
    SUPERVISOR = "supervisor"
    FINANCE = "finance"
    CREDIT_OFFICER = "credit_officer"
    DEPARTMENT = "department"

    @property
    def label(self) -> str:
        return USER_ROLE_LABELS[self]


USER_ROLE_LABELS = {
    UserRole.ADMIN: "交易中心管理员",
    UserRole.TENDERING_PARTY: "招标人/采购人",
    UserRole.AGENCY: "招标代理机构",
    UserRole.BIDDER: "投标人/供应商",
    UserRole.EXPERT: "评标专家",
    UserRole.SUPERVISOR: "监督人员",
    UserRole.FINANCE: "财务人员",
    UserRole.CREDIT_OFFICER: "信用管理人员",
    UserRole.DEPARTMENT: "行业主管部门",
}


class OrgRole(StrEnum):
    TENDERING_PARTY = "tendering_party"
    AGENCY = "agency"
    BIDDER = "bidder"
    EXPERT_EMPLOYER = "expert_employer"

    @property
    def label(self) -> str:
        return ORG_ROLE_LABELS[self]


ORG_ROLE_LABELS = {
    OrgRole.TENDERING_PARTY: "招标人/采购人",
    OrgRole.AGENCY: "招标代理机构",
    OrgRole.BIDDER: "投标人/供应商",
    OrgRole.EXPERT_EMPLOYER: "专家工作单位",
}

# Which organisation role a user of a given role must belong to (None: the center's own staff).
USER_ORG_ROLE = {
    UserRole.TENDERING_PARTY: OrgRole.TENDERING_PARTY,
    UserRole.AGENCY: OrgRole.AGENCY,
    UserRole.BIDDER: OrgRole.BIDDER,
    UserRole.EXPERT: OrgRole.EXPERT_EMPLOYER,
}
