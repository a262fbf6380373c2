"""Dangerous goods the demo carriers move (UN numbers per the UN Model Regulations / GB 12268).

Carriers specialise: each hazmat vehicle has a profile, which fixes the classes on its permit and
the goods its waybills carry. Toxic (6.1, 2.3) and explosive (1.x) profiles exist so that the
``long_stop_toxic`` rule has material.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Goods:
    un_number: str
    name: str
    hazard_class: str
    packing_group: str  # "" where the class has none (gases, explosives)


CATALOGUE: tuple[Goods, ...] = (
    Goods("1203", "汽油", "3", "II"),
    Goods("1202", "柴油", "3", "III"),
    Goods("1267", "石油原油", "3", "I"),
    Goods("1230", "甲醇", "3", "II"),
    Goods("1114", "苯", "3", "II"),
    Goods("1294", "甲苯", "3", "II"),
    Goods("1075", "液化石油气", "2.1", ""),
    Goods("1972", "液化天然气", "2.1", ""),
    Goods("1971", "压缩天然气", "2.1", ""),
    Goods("1073", "液氧", "2.2", ""),
    Goods("1977", "液氮", "2.2", ""),
    Goods("1005", "液氨", "2.3", ""),
    Goods("1017", "液氯", "2.3", ""),
    Goods("1613", "氢氰酸水溶液", "6.1", "I"),
    Goods("1671", "苯酚", "6.1", "II"),
    Goods("1593", "二氯甲烷", "6.1", "III"),
    Goods("1710", "三氯乙烯", "6.1", "III"),
    Goods("1789", "盐酸", "8", "II"),
    Goods("1830", "硫酸", "8", "II"),
    Goods("1824", "氢氧化钠溶液", "8", "II"),
    Goods("2014", "过氧化氢水溶液", "5.1", "II"),
    Goods("1942", "硝酸铵", "5.1", "III"),
    Goods("0241", "乳化炸药", "1.1", ""),
    Goods("0030", "电雷管", "1.1", ""),
    Goods("0494", "射孔弹", "1.4", ""),
    Goods("0044", "帽状起爆器", "1.4", ""),
    Goods("3082", "对环境有害的液态物质", "9", "III"),
)

# Profile → permitted classes, share of carriers, share of its vehicles that are tankers.
PROFILES: dict[str, tuple[tuple[str, ...], int, float]] = {
    "fuel": (("3",), 35, 0.95),
    "gas": (("2.1", "2.2"), 18, 0.9),
    "chem": (("3", "6.1", "8", "9"), 15, 0.8),
    "corrosive": (("8",), 10, 0.85),
    "toxic": (("2.3", "6.1"), 8, 0.8),
    "oxidiser": (("5.1",), 6, 0.3),
    "explosive": (("1.1", "1.4"), 8, 0.0),
}
TOXIC_OR_EXPLOSIVE = frozenset({"6.1", "2.3", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6"})


def goods_for(classes: list[str] | tuple[str, ...]) -> list[Goods]:
    allowed = set(classes)
    return [g for g in CATALOGUE if g.hazard_class in allowed]
