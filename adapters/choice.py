"""Which adapter serves each connection to the outside, chosen by settings (warehouse's
services named in configuration): a short name from the built-in list, or
``package.module:Name`` for a center's own class. Both tops build the same set once at
start-up and hand it to the services, so a wrong setting stops the start, not a request."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from bidding.draws.partner_client import PartnerGateway
from credit.bribery import BriberyRecordSource
from trading.errors import ConfigurationError
from trading.notifications import Sender
from trading.settings import Settings


@dataclass(frozen=True)
class Kind:
    setting: str  # the Settings field (and, upper-cased with TRADING_, the variable)
    name: str  # what it is, for the operator
    built_in: dict[str, str]
    methods: tuple[str, ...]  # what the owning package's Protocol asks of it


KINDS = (
    Kind("notification_sender", "通知发送方式", {"local": "trading.notifications:LocalSender"}, ("send",)),
    Kind("partner_gateway", "异地平台通道", {"http": "adapters.partner_gateway:HttpPartnerGateway"}, ("request",)),
    Kind("bribery_source", "行贿犯罪记录核查来源", {"platform": "credit.bribery:PlatformRecordSource"},
         ("check", "name")),
)


@dataclass(frozen=True)
class Adapters:
    sender: Sender
    partner_gateway: PartnerGateway
    bribery_source: BriberyRecordSource


def chosen_adapters(settings: Settings) -> Adapters:
    sender, gateway, bribery = (_build(kind, getattr(settings, kind.setting)) for kind in KINDS)
    return Adapters(sender=sender, partner_gateway=gateway, bribery_source=bribery)


def _build(kind: Kind, chosen: str) -> Any:
    variable = f"TRADING_{kind.setting.upper()}"
    target = kind.built_in.get(chosen, chosen)
    module_name, _, attribute = target.partition(":")
    refusal = ConfigurationError(
        f"{variable} 的取值「{chosen}」不是可用的{kind.name}：可选 {'、'.join(kind.built_in)}，"
        f"或「模块:类名」形式的自定义实现")
    if not module_name or not attribute:
        raise refusal
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise refusal from exc
    adapter = factory()
    missing = [method for method in kind.methods if not hasattr(adapter, method)]
    if missing:
        raise ConfigurationError(f"{variable} 指定的{kind.name}「{chosen}」缺少 {'、'.join(missing)}")
    return adapter
