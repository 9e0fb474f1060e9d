"""Short forms of division names, the way people write them on the phone and in lists."""

from regions.models import Division

# The 56 officially recognised ethnic groups, written without 族; 各 covers 各族 (隆林各族自治县).
ETHNIC_GROUPS = (
    "汉",
    "壮",
    "回",
    "满",
    "维吾尔",
    "苗",
    "彝",
    "土家",
    "藏",
    "蒙古",
    "侗",
    "布依",
    "瑶",
    "白",
    "朝鲜",
    "哈尼",
    "黎",
    "哈萨克",
    "傣",
    "畲",
    "傈僳",
    "东乡",
    "仡佬",
    "拉祜",
    "佤",
    "水",
    "纳西",
    "羌",
    "土",
    "仫佬",
    "锡伯",
    "柯尔克孜",
    "景颇",
    "达斡尔",
    "撒拉",
    "布朗",
    "毛南",
    "塔吉克",
    "普米",
    "阿昌",
    "怒",
    "鄂温克",
    "京",
    "基诺",
    "德昂",
    "保安",
    "俄罗斯",
    "裕固",
    "乌孜别克",
    "门巴",
    "鄂伦春",
    "独龙",
    "赫哲",
    "高山",
    "珞巴",
    "塔塔尔",
    "各",
)
# Longest first, so 土家族 is stripped whole rather than as 家族 after 土.
_ETHNIC_SUFFIXES = sorted(
    [group + "族" for group in ETHNIC_GROUPS]
    # Xinjiang's autonomous prefectures drop 族 (伊犁哈萨克自治州, 博尔塔拉蒙古自治州); one-character names never
    # appear without 族, and stripping them bare would eat real place names (白沙, 水城).
    + [group for group in ETHNIC_GROUPS if len(group) > 1],
    key=len,
    reverse=True,
)

_SUFFIXES = {
    Division.Level.PROVINCE: ("特别行政区", "自治区", "省", "市"),
    Division.Level.PREFECTURE: ("自治州", "地区", "盟", "市"),
    Division.Level.COUNTY: ("自治县", "自治旗", "林区", "特区", "县", "区", "市", "旗"),
    Division.Level.TOWNSHIP: ("街道", "苏木", "区公所", "镇", "乡"),
}
# What an autonomous unit is called for short: 大理州, 肃北县, 鄂伦春旗.
_AUTONOMOUS_SHORT_SUFFIX = {"自治州": "州", "自治县": "县", "自治旗": "旗"}


def strip_ethnic(stem: str) -> str:
    """Return `stem` without trailing ethnic-group names, keeping at least two characters (内蒙古 stays whole)."""
    changed = True
    while changed:
        changed = False
        for suffix in _ETHNIC_SUFFIXES:
            if stem.endswith(suffix) and len(stem) - len(suffix) >= 2:
                stem = stem[: -len(suffix)]
                changed = True
                break
    return stem


def short_names(name: str, level: str) -> list[str]:
    """Return the short forms of an official name (大理白族自治州 → 大理, 大理州; 毛阳镇 → 毛阳)."""
    for suffix in _SUFFIXES[level]:
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = strip_ethnic(name[: -len(suffix)])
            # One-character stems (岚县 → 岚, 高县 → 高) are not how anyone writes a place, and collide everywhere.
            if len(stem) < 2:
                return []
            forms = [stem]
            if suffix in _AUTONOMOUS_SHORT_SUFFIX:
                forms.append(stem + _AUTONOMOUS_SHORT_SUFFIX[suffix])
            elif level == Division.Level.TOWNSHIP and stem != name[: -len(suffix)]:
                forms.append(stem + suffix)  # 乌拉街满族镇 → 乌拉街镇
            return [form for form in forms if form != name]
    return []
