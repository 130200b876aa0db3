"""Catalogue of every rule a trading rule set (统一交易规则) may carry.

Validation of rule-set files is driven by this table: each key has one unit (which fixes
the value type), a Chinese label for pages and messages, and the categories (and
procurement methods) for which a rule set must carry it. A rule key not declared here is
refused, so a typo in a data file can never become a silently ignored rule.

Adding a rule: declare it here, add it to the rule-set files that need it (with its
legal source), and only then read it in the lifecycle code.

Land and mining-right transfers and state-owned property trading follow other laws;
no rule set is shipped for them yet, so nothing is required for those categories until
the first such rule set is written and its keys are declared here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

CONSTRUCTION = "construction"
GOVERNMENT_PROCUREMENT = "government_procurement"
LAND_MINING = "land_mining"
STATE_PROPERTY = "state_property"

CATEGORIES: Mapping[str, str] = MappingProxyType({
    CONSTRUCTION: "工程建设",
    GOVERNMENT_PROCUREMENT: "政府采购",
    LAND_MINING: "土地和矿业权",
    STATE_PROPERTY: "国有产权",
})

# Trading methods allowed per category, with their Chinese names.
METHODS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    CONSTRUCTION: MappingProxyType({
        "open_tender": "公开招标",
        "invited_tender": "邀请招标",
    }),
    GOVERNMENT_PROCUREMENT: MappingProxyType({
        "public_tender": "公开招标",
        "invited_tender": "邀请招标",
        "competitive_negotiation": "竞争性谈判",
        "competitive_consultation": "竞争性磋商",
        "inquiry": "询价",
        "single_source": "单一来源采购",
    }),
    LAND_MINING: MappingProxyType({
        "public_tender": "招标出让",
        "auction": "拍卖出让",
        "listing": "挂牌出让",
    }),
    STATE_PROPERTY: MappingProxyType({
        "listing": "公开挂牌",
        "auction": "拍卖",
        "public_tender": "招投标",
    }),
})

INT = "int"
FRACTION = "fraction"
BOOL = "bool"


@dataclass(frozen=True)
class UnitSpec:
    """A unit: the value type it implies, its Chinese label, and its bounds."""

    name: str
    kind: str  # INT, FRACTION or BOOL
    label: str
    maximum: int | None = None


UNITS: Mapping[str, UnitSpec] = MappingProxyType({
    spec.name: spec
    for spec in (
        UnitSpec("days", INT, "日（日历日）"),
        UnitSpec("working_days", INT, "工作日"),
        UnitSpec("count", INT, "个/人"),
        UnitSpec("basis_points", INT, "基点（万分之一）", maximum=10_000),
        UnitSpec("fen", INT, "分（人民币）"),
        UnitSpec("fraction", FRACTION, "分数"),
        UnitSpec("bool", BOOL, "是/否"),
        UnitSpec("hours", INT, "小时"),
        UnitSpec("minutes", INT, "分钟"),
        # Not in the original unit list: needed for expert seniority, recusal look-back
        # and debarment terms, which the law states in whole years.
        UnitSpec("years", INT, "年"),
        # Added for the expert ratings (评标专家动态管理): a score out of 100.
        UnitSpec("score", INT, "分（百分制）", maximum=100),
    )
})

_C = frozenset({CONSTRUCTION})
_G = frozenset({GOVERNMENT_PROCUREMENT})
_CG = frozenset({CONSTRUCTION, GOVERNMENT_PROCUREMENT})
_NONE: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RuleSpec:
    """One known rule key.

    ``required_in`` lists the categories whose rule sets must carry the key; when
    ``required_methods`` is set, only rule sets of those methods must carry it.
    ``minimum``/``maximum`` bound integer values beyond what the unit allows.
    """

    key: str
    unit: str
    label: str
    required_in: frozenset[str] = _NONE
    required_methods: frozenset[str] | None = None
    minimum: int = 0
    maximum: int | None = None

    @property
    def kind(self) -> str:
        return UNITS[self.unit].kind

    def required_for(self, category: str, method: str) -> bool:
        if category not in self.required_in:
            return False
        return self.required_methods is None or method in self.required_methods


_SPECS = (
    # Tender documents and the bid deadline.
    RuleSpec("tender_docs_to_bid_deadline_min_days", "days", "招标文件发出之日至投标截止之日最短期限", _CG, minimum=1),
    RuleSpec("tender_docs_on_sale_min_days", "days", "招标文件发售期最短期限", _C, minimum=1),
    RuleSpec("tender_docs_on_sale_min_working_days", "working_days", "招标文件提供期限最短工作日数", _G, minimum=1),
    RuleSpec("clarification_min_days_before_deadline", "days", "澄清或修改距投标截止时间最短期限（不足则顺延截止时间）", _CG),
    RuleSpec("docs_objection_min_days_before_deadline", "days", "对招标文件提出异议距投标截止时间最短期限", _C),
    RuleSpec("docs_objection_answer_days", "days", "招标文件异议答复期限", _C),
    RuleSpec("docs_objection_suspends_process", "bool", "异议答复前暂停招标投标活动"),
    RuleSpec("invited_tender_min_invitees", "count", "邀请招标最少受邀投标人数",
             _CG, required_methods=frozenset({"invited_tender"}), minimum=1),
    # Opening.
    RuleSpec("min_valid_bids", "count", "开标或评标所需最少投标人（有效投标）数", _CG, minimum=1),
    RuleSpec("opening_at_deadline", "bool", "开标时间即投标截止时间"),
    RuleSpec("opening_objection_answered_on_spot", "bool", "开标异议当场提出、当场答复并记录"),
    RuleSpec("decryption_window_minutes", "minutes", "开标在线解密时限", _CG, minimum=1),
    # Bid deposit.
    RuleSpec("bid_deposit_max_basis_points", "basis_points", "投标保证金上限（占估算价/预算金额比例）", _CG),
    RuleSpec("bid_deposit_cap_works_goods_fen", "fen", "施工、货物招标投标保证金最高限额"),
    RuleSpec("bid_deposit_cap_survey_design_fen", "fen", "勘察设计招标投标保证金最高限额"),
    RuleSpec("bid_deposit_validity_equals_bid_validity", "bool", "投标保证金有效期与投标有效期一致"),
    RuleSpec("bid_deposit_non_cash_only", "bool", "投标保证金仅限非现金形式"),
    RuleSpec("withdrawal_deposit_refund_days", "days", "投标截止前撤回投标的保证金退还期限", _C),
    RuleSpec("withdrawal_deposit_refund_working_days", "working_days", "投标截止前撤回投标的保证金退还期限（工作日）"),
    RuleSpec("revoked_bid_deposit_forfeitable", "bool", "投标截止后撤销投标的，投标保证金可不予退还"),
    RuleSpec("deposit_refund_after_contract_days", "days", "签订合同后退还投标保证金期限", _C),
    RuleSpec("deposit_refund_with_interest", "bool", "退还投标保证金时一并退还银行同期存款利息"),
    RuleSpec("deposit_refund_after_contract_working_days", "working_days", "合同签订后退还中标人投标保证金期限", _G),
    RuleSpec("deposit_refund_after_award_notice_working_days", "working_days",
             "中标通知书发出后退还未中标人投标保证金期限", _G),
    RuleSpec("performance_bond_max_basis_points", "basis_points", "履约保证金上限（占合同金额比例）", _CG),
    # Evaluation committee and experts.
    RuleSpec("committee_min_size", "count", "评标委员会最少人数", _CG, minimum=1),
    RuleSpec("committee_size_must_be_odd", "bool", "评标委员会人数须为单数", _CG),
    RuleSpec("committee_min_expert_share", "fraction", "技术、经济等方面专家占评标委员会成员最低比例", _CG),
    RuleSpec("expert_min_years_in_field", "years", "评标专家从事相关领域工作最短年限"),
    RuleSpec("expert_senior_title_required", "bool", "评标专家须具有高级职称或同等专业水平"),
    RuleSpec("evaluation_extension_member_share", "fraction", "超过该比例的评标委员会成员认为时间不够时应延长评标时间"),
    RuleSpec("max_ranked_candidates", "count", "推荐中标候选人最多人数", minimum=1),
    RuleSpec("state_funded_award_first_candidate", "bool", "国有资金占控股或主导地位的项目确定排名第一的中标候选人为中标人"),
    # Results.
    RuleSpec("candidate_publicity_within_days", "days", "收到评标报告后公示中标候选人期限", _C),
    RuleSpec("candidate_publicity_min_days", "days", "中标候选人公示最短期限", _C, minimum=1),
    RuleSpec("candidate_objection_answer_days", "days", "中标候选人异议答复期限", _C),
    RuleSpec("evaluation_report_working_days", "working_days", "评审结束后送交评审报告期限", _G),
    RuleSpec("award_decision_working_days", "working_days", "收到评审报告后确定中标人期限", _G),
    RuleSpec("award_notice_working_days", "working_days", "确定中标人后发出中标通知书并公告中标结果期限", _G),
    RuleSpec("award_notice_to_all_bidders", "bool", "中标结果同时通知所有未中标的投标人"),
    RuleSpec("contract_within_days_of_award_notice", "days", "中标通知书发出后签订书面合同期限", _CG),
    RuleSpec("contract_publication_working_days", "working_days", "合同签订后公告合同期限", _G),
    RuleSpec("report_to_supervisor_days", "days", "确定中标人后向有关行政监督部门提交书面报告期限", _C),
    # Complaints (投诉) and challenges (质疑).
    RuleSpec("complaint_period_days", "days", "投诉期限（自知道或应当知道之日起）", _C),
    RuleSpec("complaint_period_working_days", "working_days", "投诉期限（自质疑答复期满之日起）", _G),
    RuleSpec("complaint_acceptance_working_days", "working_days", "收到投诉后决定是否受理期限", _C),
    RuleSpec("complaint_decision_working_days", "working_days", "受理投诉后作出处理决定期限", _CG),
    RuleSpec("challenge_period_working_days", "working_days", "质疑期限（自知道或应当知道之日起）", _G),
    RuleSpec("challenge_answer_working_days", "working_days", "质疑答复期限", _G),
    # Debarment terms, for the credit records.
    RuleSpec("debarment_collusion_bribery_min_years", "years", "串通投标、行贿情节严重的取消投标资格最短年限"),
    RuleSpec("debarment_collusion_bribery_max_years", "years", "串通投标、行贿情节严重的取消投标资格最长年限"),
    RuleSpec("debarment_fraud_min_years", "years", "以他人名义投标或弄虚作假骗取中标情节严重的取消投标资格最短年限"),
    RuleSpec("debarment_fraud_max_years", "years", "以他人名义投标或弄虚作假骗取中标情节严重的取消投标资格最长年限"),
    RuleSpec("debarment_min_years", "years", "列入不良行为记录名单后禁止参加政府采购活动最短年限"),
    RuleSpec("debarment_max_years", "years", "列入不良行为记录名单后禁止参加政府采购活动最长年限"),
    # Platform settings of the center (not fixed by law), used by the expert draw and
    # the collusion signals.
    RuleSpec("expert_cooling_off_days", "days", "专家为同一招标人评标后的回避期", _CG),
    RuleSpec("expert_recusal_lookback_years", "years", "专家与投标人任职、控股等关系的回避追溯年限", _CG),
    RuleSpec("collusion_signal_lookback_days", "days", "串通投标预警分析的回溯期", _CG),
    # Dynamic management of the expert pool (center's operating rule), read by
    # expert_pool.ratings; optional, so a rule set without them refuses expert ratings.
    RuleSpec("expert_rating_window", "count", "评标专家动态管理：计算平均评分的最近评价次数", minimum=1),
    RuleSpec("expert_rating_suspend_below_average", "score", "评标专家动态管理：最近评价平均分低于此分数的暂停其评标资格"),
    RuleSpec("expert_rating_suspend_at_or_below", "score", "评标专家动态管理：单次评价不高于此分数的暂停其评标资格"),
    # Witnesses of sealed draws (center's operating rule), read by the draws; optional.
    RuleSpec("expert_draw_witness_required", "bool", "抽取评标专家须由监督人员提供见证值"),
    RuleSpec("agency_draw_witness_required", "bool", "抽取招标代理机构须由监督人员提供见证值"),
    # Credit check at registration (center's operating rule), read by credit/; optional:
    # without it, every bribery-crime record in force decides.
    RuleSpec("bribery_record_lookback_years", "years", "行贿犯罪记录核查的追溯年限"),
)

CATALOGUE: Mapping[str, RuleSpec] = MappingProxyType({spec.key: spec for spec in _SPECS})

# (smaller, larger): when a rule set carries both keys, the first may not exceed the second.
ORDERED_PAIRS: tuple[tuple[str, str], ...] = (
    ("debarment_collusion_bribery_min_years", "debarment_collusion_bribery_max_years"),
    ("debarment_fraud_min_years", "debarment_fraud_max_years"),
    ("debarment_min_years", "debarment_max_years"),
)


def required_keys(category: str, method: str) -> frozenset[str]:
    """The rule keys a rule set of this category and method must carry."""
    return frozenset(spec.key for spec in _SPECS if spec.required_for(category, method))
