"""The seed set of case categories (事件分类), in Chinese, and its loader (DESIGN.md §5).

Two levels: 14 families (大类, code ``"01"``…``"14"``) and their leaves (小类, family code + two digits,
``"0101"``). Every leaf carries the handling rules a case takes from it: the handle time limit and its
unit, urgency, acceptance (立案标准) and closure (结案标准) criteria, the duplicate search radius, the
share of time after which the light turns yellow, whether citizens may pick it, and the default lead
department kind at the town, district and city level.

Where the numbers come from: the urban-management leaves follow the handling limits common in 数字城管
practice (GB/T 30428 style tables: 暴露垃圾 4 working hours, 积存垃圾渣土 2 working days, 绿地养护 5 working
days, 道路破损 3 working days); hazards that can hurt someone run on natural time, because working time
stops at 18:00 and over the weekend and a missing manhole cover cannot wait for Monday; disputes get 5–15
working days, as mediation needs appointments with both sides.

The data is plain Python so that it is reviewed like code and diffed in pull requests; ``load_categories``
writes it idempotently (``manage.py seed_categories``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction

from cases.categories_en import ENGLISH_NAMES
from cases.choices import Urgency
from cases.models import Category, CategoryLead
from govgrid.workcalendar import TimeUnit
from grids.choices import DepartmentKind, Level

# Short names keep the table below one leaf per few lines.
NM, NH, ND = TimeUnit.NATURAL_MINUTES, TimeUnit.NATURAL_HOURS, TimeUnit.NATURAL_DAYS
WH, WD = TimeUnit.WORKING_HOURS, TimeUnit.WORKING_DAYS
NORMAL, URGENT, CRITICAL = Urgency.NORMAL, Urgency.URGENT, Urgency.CRITICAL
K = DepartmentKind

DEFAULT_RADIUS_M = 50
DEFAULT_YELLOW_SHARE = Decimal("0.75")
# A critical case has minutes, not hours: warn at half time so the shift lead still has time to act.
CRITICAL_YELLOW_SHARE = Decimal("0.50")

# The leaves people pick most often, most common first; they sort ahead of everything else so that
# pickers (grid app, citizen form, centre desk) show them on top. Every other leaf sorts by code.
COMMON_FIRST: tuple[str, ...] = (
    "0101",  # 暴露垃圾
    "0503",  # 乱停放
    "0502",  # 占道经营
    "0701",  # 邻里纠纷
    "0201",  # 非法小广告
    "0108",  # 垃圾满溢
    "0105",  # 乱堆物料
    "0506",  # 店外经营
    "0501",  # 无照经营游商
    "0301",  # 施工扰民
    "0901",  # 消防隐患
    "0603",  # 路灯不亮
)


def leads(town: DepartmentKind, district: DepartmentKind | None = None,
          city: DepartmentKind | None = None) -> dict[int, str]:
    """Default lead department kind per area level.

    The district defaults to the town's kind and the city to the district's. Every leaf gets a city
    lead, not only the big ones: a city without a district level (中山: city → 23 towns) escalates and
    dispatches straight from the city centre, so the city is its "upper level" for every category.
    """
    district = district or town
    city = city or district
    return {Level.TOWN: town.value, Level.DISTRICT: district.value, Level.CITY: city.value}


@dataclass(frozen=True)
class LeafSeed:
    """One leaf category as seeded. ``yellow_share`` None means: 0.5 if critical, else 0.75."""

    code: str
    name: str
    limit: int
    unit: TimeUnit
    urgency: Urgency
    acceptance: str
    closure: str
    leads: Mapping[int, str]
    radius_m: int = DEFAULT_RADIUS_M
    citizen_allowed: bool = True
    yellow_share: Decimal | None = None
    open311_attributes: tuple[dict[str, Any], ...] = ()

    @property
    def effective_yellow_share(self) -> Decimal:
        if self.yellow_share is not None:
            return self.yellow_share
        return CRITICAL_YELLOW_SHARE if self.urgency == CRITICAL else DEFAULT_YELLOW_SHARE

    @property
    def sort_order(self) -> int:
        if self.code in COMMON_FIRST:
            return COMMON_FIRST.index(self.code) + 1
        # Past every common leaf (< 100), then in code order: "0102" → 202, "1406" → 1506.
        return 100 + int(self.code)


@dataclass(frozen=True)
class FamilySeed:
    """A family (大类) and its leaves."""

    code: str
    name: str
    leaves: tuple[LeafSeed, ...] = field(default_factory=tuple)

    @property
    def sort_order(self) -> int:
        return int(self.code)

    @property
    def citizen_allowed(self) -> bool:
        # A family is offered to citizens only when at least one of its leaves is, so that the
        # citizen form never shows an empty family (特殊人群服务).
        return any(leaf.citizen_allowed for leaf in self.leaves)


# Open311 GeoReport v2 service attributes (the answer of GET /services/{code}.json): two examples; the
# other leaves ask nothing beyond the description and the photo.
_VEHICLE_TYPE = {
    "variable": True, "code": "vehicle_type", "datatype": "singlevaluelist", "required": False,
    "datatype_description": "选择车辆类型", "order": 1, "description": "车辆类型",
    "values": [
        {"key": "shared_bike", "name": "共享单车"},
        {"key": "e_bike", "name": "电动自行车"},
        {"key": "bicycle", "name": "私人自行车"},
        {"key": "other", "name": "其他"},
    ],
}
_COVER_TYPE = {
    "variable": True, "code": "cover_type", "datatype": "singlevaluelist", "required": False,
    "datatype_description": "井盖上的标识，看不清可选“不明”", "order": 1, "description": "井盖类型",
    "values": [
        {"key": "storm", "name": "雨水"},
        {"key": "sewage", "name": "污水"},
        {"key": "water", "name": "供水"},
        {"key": "power", "name": "电力"},
        {"key": "telecom", "name": "通信"},
        {"key": "gas", "name": "燃气"},
        {"key": "unknown", "name": "不明"},
    ],
}


FAMILIES: tuple[FamilySeed, ...] = (
    FamilySeed("01", "市容环境", (
        LeafSeed("0101", "暴露垃圾", 4, WH, NORMAL,
                 "主次干道、广场、绿地等公共区域有暴露垃圾，面积大于0.5平方米",
                 "垃圾清除干净，无残留，地面无污渍", leads(K.URBAN_MANAGEMENT)),
        LeafSeed("0102", "积存垃圾渣土", 2, WD, NORMAL,
                 "公共区域积存生活垃圾或建筑渣土，体积大于1立方米或积存超过24小时",
                 "积存垃圾渣土全部清运，现场平整无残留", leads(K.URBAN_MANAGEMENT), radius_m=100),
        LeafSeed("0103", "道路不洁", 1, WD, NORMAL,
                 "道路、人行道有明显污渍、油渍、泥沙或散落物，面积大于2平方米",
                 "路面清扫冲洗干净，无明显污渍和散落物", leads(K.URBAN_MANAGEMENT), radius_m=100),
        LeafSeed("0104", "私搭乱建", 10, WD, NORMAL,
                 "未经批准在公共区域、屋顶、庭院搭建建筑物、构筑物或其他设施",
                 "违法搭建已拆除或已依法立案查处，现场恢复原状", leads(K.URBAN_MANAGEMENT), radius_m=30),
        LeafSeed("0105", "乱堆物料", 2, WD, NORMAL,
                 "道路、人行道、绿地等公共区域乱堆乱放物料、杂物，影响通行或市容",
                 "堆放物料已清理，占用区域恢复通行", leads(K.URBAN_MANAGEMENT)),
        LeafSeed("0106", "道路破损", 3, WD, NORMAL,
                 "车行道、人行道路面出现坑槽、沉陷或拱起，面积大于1平方米或深度超过3厘米",
                 "破损路面修补完成，平整无高差", leads(K.URBAN_MANAGEMENT, K.HOUSING)),
        LeafSeed("0107", "绿地养护不到位", 5, WD, NORMAL,
                 "公共绿地黄土裸露、植物枯死、杂草丛生或绿化带缺株，面积大于5平方米",
                 "补植复绿完成，杂草清除，绿地整洁", leads(K.URBAN_MANAGEMENT), radius_m=100),
        LeafSeed("0108", "垃圾满溢", 4, WH, NORMAL,
                 "垃圾桶、垃圾箱或垃圾房内垃圾满溢，周边散落垃圾",
                 "容器内垃圾已清运，周边散落垃圾清扫干净", leads(K.URBAN_MANAGEMENT), radius_m=30),
        LeafSeed("0109", "公厕脏乱", 4, WH, NORMAL,
                 "公共厕所地面污秽、有明显异味，或设施损坏影响使用",
                 "公厕清洁消毒完成，设施恢复正常使用", leads(K.URBAN_MANAGEMENT), radius_m=30),
        LeafSeed("0110", "沿街晾挂", 1, WD, NORMAL,
                 "在主次干道沿街、护栏、树木、电线杆上晾晒衣物或吊挂物品",
                 "晾挂物品已清除", leads(K.URBAN_MANAGEMENT)),
    )),
    FamilySeed("02", "宣传广告", (
        LeafSeed("0201", "非法小广告", 1, WD, NORMAL,
                 "建筑物、公共设施、树木上乱张贴、乱涂写、乱刻画小广告，面积大于0.1平方米或超过3处",
                 "小广告清除干净，无明显痕迹", leads(K.URBAN_MANAGEMENT)),
        LeafSeed("0202", "违规户外广告", 5, WD, NORMAL,
                 "未经审批设置户外广告牌、灯箱、电子显示屏，或超出审批范围设置",
                 "违规广告设施已拆除或已补办审批手续", leads(K.URBAN_MANAGEMENT), radius_m=30),
        LeafSeed("0203", "招牌破损", 3, WD, NORMAL,
                 "户外广告、店铺招牌破损、字体缺失或灯光残缺，影响市容",
                 "招牌已修复或拆除，外观完好", leads(K.URBAN_MANAGEMENT), radius_m=30),
        LeafSeed("0204", "违规悬挂横幅", 1, WD, NORMAL,
                 "未经批准在道路、建筑物、树木上悬挂横幅、标语或布幅",
                 "横幅标语已拆除", leads(K.URBAN_MANAGEMENT)),
        LeafSeed("0205", "散发小广告", 4, WH, NORMAL,
                 "在道路、路口、商场周边散发商业小广告，造成散落污染",
                 "散发行为已制止，散落广告清理干净", leads(K.URBAN_MANAGEMENT), radius_m=100),
    )),
    FamilySeed("03", "施工管理", (
        LeafSeed("0301", "施工扰民", 2, NH, URGENT,
                 "22时至次日6时未经许可进行产生噪声的施工作业，或施工噪声明显影响居民休息",
                 "违规施工已停止，无证夜间施工已依法处理", leads(K.URBAN_MANAGEMENT, K.HOUSING), radius_m=200),
        LeafSeed("0302", "工地扬尘", 1, WD, NORMAL,
                 "施工工地未落实围挡、覆盖、洒水、车辆冲洗等防尘措施，扬尘明显",
                 "防尘措施落实到位，现场无明显扬尘", leads(K.URBAN_MANAGEMENT, K.HOUSING), radius_m=200),
        LeafSeed("0303", "施工占道", 1, WD, NORMAL,
                 "施工作业未经许可占用道路，或超出审批范围、时间占道",
                 "超范围占道已清理，道路恢复通行", leads(K.URBAN_MANAGEMENT), radius_m=100),
        LeafSeed("0304", "偷倒建筑垃圾", 1, WD, NORMAL,
                 "在道路、空地、河道旁偷倒建筑垃圾、渣土",
                 "偷倒渣土已清运完毕，违法行为已查处", leads(K.URBAN_MANAGEMENT), radius_m=100),
        LeafSeed("0305", "渣土车抛洒滴漏", 4, WH, NORMAL,
                 "渣土、砂石运输车辆未密闭运输，沿途抛洒滴漏，污染路面",
                 "路面污染已清理干净，涉事车辆已查处", leads(K.URBAN_MANAGEMENT), radius_m=200),
        LeafSeed("0306", "无证施工", 5, WD, NORMAL,
                 "未取得施工许可擅自开工建设",
                 "已责令停工并依法查处，或已补办施工许可", leads(K.URBAN_MANAGEMENT, K.HOUSING), radius_m=100),
        LeafSeed("0307", "工地围挡破损", 2, WD, NORMAL,
                 "施工围挡破损、倒伏或缺失，工地与道路未有效隔离",
                 "围挡修复完整，工地封闭施工", leads(K.URBAN_MANAGEMENT, K.HOUSING), radius_m=100),
    )),
    FamilySeed("04", "突发事件", (
        LeafSeed("0401", "路面塌陷", 2, NH, CRITICAL,
                 "道路路面出现塌陷、空洞，危及车辆和行人安全",
                 "现场已设置警戒并完成应急处置，塌陷路面已修复或封闭待修", leads(K.EMERGENCY), radius_m=100),
        LeafSeed("0402", "管道破裂", 2, NH, URGENT,
                 "供水、排水管道破裂，出现跑水、冒水或污水外溢",
                 "破裂管道已关阀抢修，跑冒水停止，路面恢复", leads(K.WATER), radius_m=100),
        LeafSeed("0403", "道路积水", 2, NH, URGENT,
                 "降雨后道路、下穿通道积水深度超过15厘米，影响通行",
                 "积水已排除，道路恢复通行", leads(K.WATER), radius_m=200),
        LeafSeed("0404", "群体性事件", 30, NM, CRITICAL,
                 "10人以上聚集上访、堵路或围堵机关、企业等群体性行为",
                 "现场秩序恢复，人员已疏散，诉求已登记转办", leads(K.PUBLIC_SECURITY), radius_m=500),
        LeafSeed("0405", "火情", 30, NM, CRITICAL,
                 "发现建筑物、车辆、山林等起火或冒烟（同时拨打119）",
                 "火情已扑灭，现场已移交消防部门调查", leads(K.FIRE), radius_m=200),
        LeafSeed("0406", "树木倒伏", 2, NH, URGENT,
                 "行道树、绿化树木倒伏或断枝，阻碍交通或危及安全",
                 "倒伏树木已清理或扶正，道路恢复通行", leads(K.URBAN_MANAGEMENT), radius_m=50),
        LeafSeed("0407", "电线断落", 1, NH, CRITICAL,
                 "电力、通信线缆断落、垂落至路面或人员可触及的高度",
                 "断落线缆已处置，现场无触电隐患", leads(K.EMERGENCY, K.UTILITIES), radius_m=50),
    )),
    FamilySeed("05", "街面秩序", (
        LeafSeed("0501", "无照经营游商", 4, WH, NORMAL,
                 "流动商贩无照在道路、广场、校园周边兜售经营",
                 "游商已劝离或依法查处，现场无遗留", leads(K.URBAN_MANAGEMENT), radius_m=100),
        LeafSeed("0502", "占道经营", 4, WH, NORMAL,
                 "商户或摊贩占用道路、人行道、广场等公共场所摆摊经营",
                 "占道摊点已清理，道路恢复通行", leads(K.URBAN_MANAGEMENT)),
        LeafSeed("0503", "乱停放", 4, WH, NORMAL,
                 "非机动车、共享单车在人行道、盲道、公交站点等区域乱停乱放，影响通行",
                 "车辆已规整或清理，通道畅通", leads(K.URBAN_MANAGEMENT),
                 open311_attributes=(_VEHICLE_TYPE,)),
        LeafSeed("0504", "机动车违停", 2, WH, NORMAL,
                 "机动车在人行道、消防通道、禁停路段违规停放，影响通行",
                 "违停车辆已驶离或已依法处理", leads(K.PUBLIC_SECURITY), radius_m=30),
        LeafSeed("0505", "露天烧烤", 2, NH, URGENT,
                 "在城市道路、广场、居民区等露天场所违规烧烤，产生油烟",
                 "露天烧烤已取缔，烧烤设施已清理", leads(K.URBAN_MANAGEMENT), radius_m=100),
        LeafSeed("0506", "店外经营", 4, WH, NORMAL,
                 "临街商铺超出门窗和外墙摆放商品、设施进行经营",
                 "店外摆放物品已收回，门前恢复整洁", leads(K.URBAN_MANAGEMENT), radius_m=30),
        LeafSeed("0507", "占道洗车维修", 1, WD, NORMAL,
                 "在道路、人行道上从事洗车、车辆维修等经营活动",
                 "占道作业已停止，路面污染已清理", leads(K.URBAN_MANAGEMENT)),
    )),
    FamilySeed("06", "公用设施部件", (
        LeafSeed("0601", "井盖缺失", 2, NH, URGENT,
                 "道路、人行道上各类检查井井盖缺失，存在坠落隐患",
                 "井盖已补装，安装平稳无隐患", leads(K.URBAN_MANAGEMENT, K.UTILITIES), radius_m=20,
                 open311_attributes=(_COVER_TYPE,)),
        LeafSeed("0602", "井盖破损移位", 1, WD, NORMAL,
                 "井盖破损、松动、移位，或与路面高差超过2厘米",
                 "井盖已更换或复位，与路面齐平", leads(K.URBAN_MANAGEMENT, K.UTILITIES), radius_m=20),
        LeafSeed("0603", "路灯不亮", 3, WD, NORMAL,
                 "路灯、景观灯夜间不亮、闪烁，或灯杆倾斜",
                 "路灯恢复正常照明", leads(K.URBAN_MANAGEMENT, K.UTILITIES), radius_m=30),
        LeafSeed("0604", "消火栓损坏", 2, WD, NORMAL,
                 "市政消火栓损坏、漏水、被埋压或圈占，不能正常使用",
                 "消火栓已修复，出水正常，周边无圈占", leads(K.FIRE), radius_m=20),
        LeafSeed("0605", "交通信号灯故障", 2, NH, URGENT,
                 "路口交通信号灯不亮、常亮或显示错误",
                 "信号灯恢复正常运行", leads(K.PUBLIC_SECURITY), radius_m=30),
        LeafSeed("0606", "公交站亭破损", 3, WD, NORMAL,
                 "公交候车亭顶棚、座椅、站牌破损或缺失",
                 "站亭设施修复完好", leads(K.URBAN_MANAGEMENT, K.TRANSPORT), radius_m=30),
        LeafSeed("0607", "道路护栏损坏", 3, WD, NORMAL,
                 "道路隔离护栏、防撞栏倾倒、缺失或损坏",
                 "护栏已修复或补装完整", leads(K.URBAN_MANAGEMENT, K.TRANSPORT)),
        LeafSeed("0608", "健身器材损坏", 5, WD, NORMAL,
                 "公园、社区的公共健身器材损坏、松动，存在安全隐患",
                 "器材已修复或拆除，拆除前已设置警示", leads(K.OTHER), radius_m=30),
    )),
    FamilySeed("07", "矛盾纠纷", (
        LeafSeed("0701", "邻里纠纷", 5, WD, NORMAL,
                 "相邻居民因噪音、漏水、通行、采光等问题发生纠纷，需要调解",
                 "调解达成协议或已引导通过诉讼等途径解决，当事人无激化风险", leads(K.JUSTICE), radius_m=20),
        LeafSeed("0702", "婚姻家庭纠纷", 10, WD, NORMAL,
                 "夫妻、家庭成员之间因婚姻、赡养、抚养、继承等发生纠纷",
                 "调解达成协议或已引导通过诉讼解决，无家庭暴力等激化风险", leads(K.JUSTICE), radius_m=20),
        LeafSeed("0703", "劳资纠纷", 10, WD, NORMAL,
                 "用人单位拖欠工资、未签劳动合同等引发劳动者投诉或纠纷",
                 "欠薪已支付，或已移交劳动保障监察、劳动仲裁处理", leads(K.JUSTICE, K.OTHER), radius_m=100),
        LeafSeed("0704", "物业纠纷", 10, WD, NORMAL,
                 "业主与物业服务企业因收费、服务质量、公共收益等发生纠纷",
                 "调解达成协议或物业问题已整改", leads(K.HOUSING), radius_m=100),
        LeafSeed("0705", "土地纠纷", 15, WD, NORMAL,
                 "因土地承包、宅基地、山林权属等发生争议",
                 "权属争议已调处，或已引导通过行政裁决、诉讼解决", leads(K.JUSTICE, K.OTHER), radius_m=200),
        LeafSeed("0706", "征地拆迁纠纷", 15, WD, NORMAL,
                 "因征地补偿、房屋拆迁安置引发矛盾纠纷或信访诉求",
                 "诉求已书面答复，补偿安置问题已依法处理或已明确解决途径",
                 leads(K.PETITIONS), radius_m=200),
        LeafSeed("0707", "医患纠纷", 10, WD, NORMAL,
                 "患者或家属与医疗机构因诊疗行为、医疗费用等发生纠纷",
                 "已通过医疗纠纷人民调解、协商或鉴定等途径解决", leads(K.HEALTH), radius_m=100),
        LeafSeed("0708", "消费纠纷", 5, WD, NORMAL,
                 "消费者与经营者因商品质量、服务、预付卡等发生纠纷",
                 "已调解退赔，或已移交市场监管部门处理", leads(K.MARKET_REGULATION), radius_m=30),
        LeafSeed("0709", "房屋租赁纠纷", 5, WD, NORMAL,
                 "出租人与承租人因租金、押金、房屋维修等发生纠纷",
                 "调解达成协议或已引导通过诉讼解决", leads(K.JUSTICE), radius_m=20),
    )),
    FamilySeed("08", "治安隐患", (
        # Key persons are known only to the grid and the police: never on the citizen form.
        LeafSeed("0801", "重点人员动态异常", 4, NH, URGENT,
                 "辖区重点人员出现失联、异常外出、言行异常等动态情况",
                 "已核实人员去向并落实稳控措施，信息已报送公安机关", leads(K.PUBLIC_SECURITY),
                 radius_m=20, citizen_allowed=False),
        LeafSeed("0802", "可疑人员物品", 2, NH, URGENT,
                 "发现形迹可疑人员或无人认领的可疑物品",
                 "已由公安机关核查处置，隐患排除", leads(K.PUBLIC_SECURITY), radius_m=100),
        LeafSeed("0803", "出租屋治安隐患", 5, WD, NORMAL,
                 "出租屋未登记、承租人员信息未申报，或存在群租等隐患",
                 "租住人员信息已登记，隐患已整改", leads(K.PUBLIC_SECURITY), radius_m=20, citizen_allowed=False),
        LeafSeed("0804", "黄赌毒线索", 3, WD, NORMAL,
                 "发现涉黄、涉赌、涉毒活动线索",
                 "线索已移交公安机关核查处理", leads(K.PUBLIC_SECURITY), radius_m=100),
        LeafSeed("0805", "治安监控设施损坏", 5, WD, NORMAL,
                 "公共区域视频监控、一键报警等治安防控设施损坏或离线",
                 "设施已修复，恢复在线", leads(K.PUBLIC_SECURITY), radius_m=30, citizen_allowed=False),
        LeafSeed("0806", "非法营运", 3, WD, NORMAL,
                 "无营运资质车辆在车站、医院、景区周边揽客营运",
                 "已移交交通运输执法部门查处，现场秩序恢复", leads(K.PUBLIC_SECURITY, K.TRANSPORT), radius_m=200),
        LeafSeed("0807", "校园周边治安隐患", 2, WD, NORMAL,
                 "学校、幼儿园周边存在滋扰学生、聚集闹事等治安隐患",
                 "已加强上下学时段巡防，隐患消除", leads(K.PUBLIC_SECURITY), radius_m=200),
    )),
    FamilySeed("09", "安全隐患", (
        LeafSeed("0901", "消防隐患", 1, WD, URGENT,
                 "消防通道堵塞占用、消防设施损坏，或存在违规用火用电等火灾隐患",
                 "消防通道畅通，隐患已整改或已移交消防救援部门处理", leads(K.FIRE), radius_m=30),
        LeafSeed("0902", "燃气泄漏", 1, NH, CRITICAL,
                 "闻到燃气异味，或发现燃气管道、气瓶泄漏",
                 "泄漏点已关阀处置，现场检测无燃气残留", leads(K.EMERGENCY, K.UTILITIES), radius_m=100),
        LeafSeed("0903", "燃气使用隐患", 3, WD, NORMAL,
                 "餐饮场所或居民违规使用瓶装液化气，未安装燃气报警装置或使用过期软管",
                 "隐患已整改，燃气设施符合安全使用要求", leads(K.EMERGENCY, K.HOUSING), radius_m=30),
        LeafSeed("0904", "危房隐患", 24, NH, URGENT,
                 "房屋出现墙体开裂、倾斜、沉降等危险迹象",
                 "已完成安全鉴定，危房内人员已撤离或房屋已加固", leads(K.HOUSING), radius_m=30),
        LeafSeed("0905", "高空坠物隐患", 4, NH, URGENT,
                 "建筑外墙饰面脱落、招牌松动、阳台悬挂物等存在坠落危险",
                 "坠落隐患已拆除或加固，现场警戒解除", leads(K.URBAN_MANAGEMENT, K.HOUSING), radius_m=30),
        LeafSeed("0906", "电动自行车违规充电", 1, WD, NORMAL,
                 "电动自行车在楼道、门厅停放充电，或私拉电线“飞线”充电",
                 "违规停放车辆已清理，飞线已拆除", leads(K.FIRE), radius_m=30),
        LeafSeed("0907", "安全生产隐患", 3, WD, NORMAL,
                 "生产经营单位存在违章作业、安全设施缺失、有限空间作业无防护等隐患",
                 "隐患已整改并经复查合格", leads(K.EMERGENCY), radius_m=100),
        LeafSeed("0908", "危险化学品隐患", 4, NH, URGENT,
                 "违规储存、运输、使用危险化学品，或发现危险化学品泄漏、遗撒",
                 "危险化学品已依法处置，隐患消除", leads(K.EMERGENCY), radius_m=200),
        LeafSeed("0909", "电梯困人", 30, NM, CRITICAL,
                 "电梯发生故障，有人员被困",
                 "被困人员已解救，电梯停用待检或经检查恢复运行", leads(K.MARKET_REGULATION), radius_m=20),
    )),
    # Work the grid does on its own register of people: internal only, never on the citizen form.
    FamilySeed("10", "特殊人群服务", (
        LeafSeed("1001", "社区矫正对象走访", 5, WD, NORMAL,
                 "社区矫正对象需开展定期走访、核查或教育帮扶",
                 "已完成走访并录入矫正档案", leads(K.JUSTICE), radius_m=20, citizen_allowed=False),
        LeafSeed("1002", "社区矫正对象脱管", 24, NH, URGENT,
                 "社区矫正对象失去联系或未按规定报到",
                 "已找回并重新纳入管理，或已提请公安机关协查", leads(K.JUSTICE), radius_m=20,
                 citizen_allowed=False),
        # Natural days: the 安置帮教 hand-over has to happen within a week of release, weekend or not.
        LeafSeed("1003", "刑满释放人员衔接", 7, ND, NORMAL,
                 "刑满释放人员返回辖区，需落实衔接登记和安置帮教",
                 "已完成衔接登记，帮教措施已落实", leads(K.JUSTICE), radius_m=20, citizen_allowed=False),
        LeafSeed("1004", "严重精神障碍患者随访", 5, WD, NORMAL,
                 "在册严重精神障碍患者需开展随访、核查服药和监护情况",
                 "已完成随访，服药和监护情况已录入", leads(K.HEALTH), radius_m=20, citizen_allowed=False),
        LeafSeed("1005", "精神障碍患者肇事风险", 2, NH, URGENT,
                 "严重精神障碍患者出现病情波动、言行异常等肇事肇祸风险",
                 "已由公安、医疗机构联合处置，患者已送诊或已落实监护", leads(K.PUBLIC_SECURITY),
                 radius_m=20, citizen_allowed=False),
        LeafSeed("1006", "社区戒毒康复人员管控", 5, WD, NORMAL,
                 "社区戒毒、社区康复人员需走访核查，或出现异常情况",
                 "已完成走访核查并落实管控措施", leads(K.PUBLIC_SECURITY), radius_m=20, citizen_allowed=False),
        LeafSeed("1007", "困境儿童关爱", 5, WD, NORMAL,
                 "留守儿童、困境儿童存在监护缺失、生活困难等情况",
                 "已落实监护责任和关爱帮扶措施", leads(K.CIVIL_AFFAIRS), radius_m=20, citizen_allowed=False),
    )),
    FamilySeed("11", "民生服务", (
        LeafSeed("1101", "困难群众救助", 5, WD, NORMAL,
                 "居民因病、因灾、因失业等导致生活困难，申请或需要救助",
                 "已完成核查并落实低保、临时救助等措施，或已告知不符合条件的原因",
                 leads(K.CIVIL_AFFAIRS), radius_m=20),
        LeafSeed("1102", "养老服务需求", 5, WD, NORMAL,
                 "老年人提出助餐、助洁、上门照护等养老服务需求",
                 "已对接养老服务机构并落实服务", leads(K.CIVIL_AFFAIRS), radius_m=20),
        LeafSeed("1103", "独居老人异常", 2, NH, URGENT,
                 "独居、空巢老人多日未出门、联系不上或身体出现异常",
                 "已上门探视确认安全，需要时已送医并通知家属", leads(K.CIVIL_AFFAIRS), radius_m=20),
        LeafSeed("1104", "残疾人帮扶", 5, WD, NORMAL,
                 "残疾人提出康复、辅具、生活补贴等帮扶需求",
                 "已核实需求并落实帮扶或转介残联", leads(K.CIVIL_AFFAIRS), radius_m=20),
        LeafSeed("1105", "流浪乞讨人员救助", 1, WD, NORMAL,
                 "发现流浪乞讨人员，需要引导救助或护送",
                 "已引导至救助管理站或护送返乡，本人拒绝救助的已记录", leads(K.CIVIL_AFFAIRS), radius_m=200),
        LeafSeed("1106", "居民停水", 4, NH, URGENT,
                 "居民区非计划停水或水压不足，影响正常生活",
                 "供水已恢复正常", leads(K.WATER), radius_m=300),
        LeafSeed("1107", "居民停电", 4, NH, URGENT,
                 "居民区非计划停电超过1小时",
                 "供电已恢复正常", leads(K.UTILITIES), radius_m=300),
        LeafSeed("1108", "就业帮扶", 10, WD, NORMAL,
                 "失业人员、就业困难人员提出求职、技能培训等就业援助需求",
                 "已提供岗位推荐或培训信息，并记录跟进情况", leads(K.OTHER), radius_m=20),
    )),
    FamilySeed("12", "食品药品", (
        LeafSeed("1201", "无证食品经营", 5, WD, NORMAL,
                 "未取得食品经营许可或备案，从事食品生产经营",
                 "已依法查处，经营者已停止经营或已办理许可", leads(K.MARKET_REGULATION), radius_m=30),
        LeafSeed("1202", "过期变质食品", 1, WD, NORMAL,
                 "销售超过保质期、腐败变质或标签不全的食品",
                 "问题食品已下架封存，经营者已依法处理", leads(K.MARKET_REGULATION), radius_m=30),
        LeafSeed("1203", "餐饮卫生问题", 3, WD, NORMAL,
                 "餐饮场所后厨卫生脏乱、生熟不分或从业人员无健康证明",
                 "卫生问题已整改，经复查合格", leads(K.MARKET_REGULATION), radius_m=30),
        LeafSeed("1204", "药品违规销售", 5, WD, NORMAL,
                 "无证销售药品，或违规销售处方药、过期药品",
                 "违规药品已查扣，经营者已依法处理", leads(K.MARKET_REGULATION), radius_m=30),
        LeafSeed("1205", "疑似食物中毒", 1, NH, CRITICAL,
                 "同一就餐场所多人出现呕吐、腹泻等疑似食物中毒症状",
                 "患者已送医救治，可疑食品已封存，已移交卫生健康和市场监管部门调查",
                 leads(K.HEALTH), radius_m=200),
        LeafSeed("1206", "保健品虚假宣传", 10, WD, NORMAL,
                 "以讲座、免费体检等形式向老年人虚假宣传、推销保健品",
                 "已依法查处，涉事推销活动已停止", leads(K.MARKET_REGULATION), radius_m=100),
    )),
    FamilySeed("13", "生态环境", (
        LeafSeed("1301", "污水直排", 2, WD, NORMAL,
                 "生活、餐饮或工业污水未经处理直接排入雨水管网、河道或路面",
                 "排污口已封堵或接入污水管网，直排已停止", leads(K.ENVIRONMENT), radius_m=100),
        LeafSeed("1302", "噪声扰民", 1, WD, NORMAL,
                 "商业经营、娱乐场所、广场舞等社会生活噪声超标，影响居民正常生活",
                 "噪声源已整改，噪声不超过排放标准", leads(K.ENVIRONMENT), radius_m=200),
        LeafSeed("1303", "扬尘污染", 1, WD, NORMAL,
                 "裸露土地、物料堆场、道路等未采取覆盖、洒水措施，产生明显扬尘",
                 "裸土已覆盖或绿化，扬尘得到控制", leads(K.ENVIRONMENT), radius_m=200),
        LeafSeed("1304", "河涌水体污染", 3, WD, NORMAL,
                 "河涌、湖塘水体出现黑臭、油污、大面积漂浮物或死鱼",
                 "漂浮物已清理，污染源已查明并处置", leads(K.WATER), radius_m=300),
        LeafSeed("1305", "露天焚烧", 2, NH, URGENT,
                 "露天焚烧垃圾、秸秆、树叶或电线电缆等，产生浓烟",
                 "焚烧已扑灭，现场残留已清理", leads(K.URBAN_MANAGEMENT, K.ENVIRONMENT), radius_m=200),
        LeafSeed("1306", "废气异味", 2, WD, NORMAL,
                 "企业或场所排放废气、产生刺激性异味，影响周边居民",
                 "污染源已查明，废气治理设施已整改", leads(K.ENVIRONMENT), radius_m=300),
        LeafSeed("1307", "餐饮油烟", 5, WD, NORMAL,
                 "餐饮单位未安装油烟净化设施或油烟直排，影响周边居民",
                 "油烟净化设施已安装并正常运行", leads(K.URBAN_MANAGEMENT, K.ENVIRONMENT), radius_m=100),
        LeafSeed("1308", "危险废物倾倒", 4, NH, URGENT,
                 "非法倾倒、堆放危险废物或医疗废物",
                 "危险废物已交有资质单位处置，违法行为已查处", leads(K.ENVIRONMENT), radius_m=200),
    )),
    # Checks ordered by the epidemic command are internal; animal deaths and breeding sites are what
    # residents see and report themselves.
    FamilySeed("14", "疫情防控", (
        LeafSeed("1401", "发热人员报告", 2, NH, URGENT,
                 "网格内发现发热、咳嗽等症状人员，需引导就诊",
                 "已引导至发热门诊就诊并登记结果", leads(K.HEALTH), radius_m=20, citizen_allowed=False),
        # 24 natural hours: 协查通知 have to be closed within a day, weekends included.
        LeafSeed("1402", "重点人员排查", 24, NH, URGENT,
                 "接到协查通知的重点地区来返人员，需核实并落实健康管理",
                 "已完成核查登记，健康管理措施已落实", leads(K.HEALTH), radius_m=20, citizen_allowed=False),
        LeafSeed("1403", "场所防控检查", 1, WD, NORMAL,
                 "公共场所、经营场所未落实通风、消毒、测温等防控措施",
                 "防控措施已整改落实", leads(K.HEALTH), radius_m=30, citizen_allowed=False),
        LeafSeed("1404", "健康监测人员异常", 2, NH, URGENT,
                 "居家健康监测人员擅自外出或出现异常症状",
                 "已核实情况并落实管控，或已转运就医", leads(K.HEALTH), radius_m=20, citizen_allowed=False),
        LeafSeed("1405", "动物疫情", 1, WD, NORMAL,
                 "发现病死禽畜或野生动物异常死亡",
                 "病死动物已无害化处理，已通报农业农村部门", leads(K.OTHER), radius_m=500),
        LeafSeed("1406", "病媒生物孳生", 3, WD, NORMAL,
                 "积水容器、垃圾堆等处蚊蝇、老鼠孳生",
                 "孳生地已清除，已完成消杀", leads(K.HEALTH), radius_m=100),
    )),
)


def _family_values(family: FamilySeed) -> dict[str, Any]:
    """The fields the seed owns on a family row. Families carry no clock (the model's check allows it)."""
    return {
        "name": family.name, "name_en": ENGLISH_NAMES.get(family.code, ""),
        "parent_id": None, "time_limit": None, "time_unit": "",
        "urgency": Urgency.NORMAL.value, "acceptance_criteria": "", "closure_criteria": "",
        "duplicate_radius_m": DEFAULT_RADIUS_M, "yellow_share": DEFAULT_YELLOW_SHARE,
        "citizen_allowed": family.citizen_allowed, "open311_attributes": [], "sort_order": family.sort_order,
    }


def _leaf_values(leaf: LeafSeed, family_id: int) -> dict[str, Any]:
    """The fields the seed owns on a leaf row. ``is_active`` is not among them: an admin who switched a
    seeded leaf off keeps it off when the seed runs again."""
    return {
        "name": leaf.name, "name_en": ENGLISH_NAMES.get(leaf.code, ""),
        "parent_id": family_id, "time_limit": Decimal(leaf.limit),
        "time_unit": leaf.unit.value, "urgency": leaf.urgency.value,
        "acceptance_criteria": leaf.acceptance, "closure_criteria": leaf.closure,
        "duplicate_radius_m": leaf.radius_m, "yellow_share": leaf.effective_yellow_share,
        "citizen_allowed": leaf.citizen_allowed, "open311_attributes": [dict(a) for a in leaf.open311_attributes],
        "sort_order": leaf.sort_order,
    }


def _upsert(existing: dict[str, Category], code: str, values: dict[str, Any]) -> Category:
    """update_or_create by code against rows already read, writing only when something differs, so
    that a second run of the loader is reads only."""
    row = existing.get(code)
    if row is None:
        row = Category.objects.create(code=code, **values)
        existing[code] = row
        return row
    # Decimal("4") == Decimal("4.00") and TimeUnit members equal their strings, so this compares values.
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    if changed:
        for name in changed:
            setattr(row, name, values[name])
        row.save(update_fields=changed)
    return row


def _sync_leads(rows: Sequence[tuple[Category, Mapping[int, str]]]) -> None:
    """Make every leaf's leads exactly the seeded ones: add missing, fix changed, drop extra levels."""
    ids = [row.pk for row, _ in rows]
    current: dict[tuple[int, int], CategoryLead] = {
        (lead.category_id, lead.level): lead for lead in CategoryLead.objects.filter(category_id__in=ids)
    }
    wanted = {(row.pk, int(level)): kind for row, seeded in rows for level, kind in seeded.items()}
    stale = [lead.pk for key, lead in current.items() if key not in wanted]
    changed = []
    for key, kind in wanted.items():
        lead = current.get(key)
        if lead is not None and lead.department_kind != kind:
            lead.department_kind = kind
            changed.append(lead)
    new = [CategoryLead(category_id=pk, level=level, department_kind=kind)
           for (pk, level), kind in wanted.items() if (pk, level) not in current]
    if stale:
        CategoryLead.objects.filter(pk__in=stale).delete()
    if changed:
        CategoryLead.objects.bulk_update(changed, ["department_kind"])
    if new:
        CategoryLead.objects.bulk_create(new)


def load_categories(families: Sequence[FamilySeed] = FAMILIES) -> tuple[int, int]:
    """Write the seed categories and their default leads; return (families, leaves) seeded.

    Idempotent, in one transaction: rows are matched by code and updated to the seed, a leaf's leads
    are replaced to match. Categories whose code is not in the seed (added by an admin) are left alone;
    nothing is deleted, as cases point at categories with PROTECT.
    """
    codes = [family.code for family in families] + [leaf.code for family in families for leaf in family.leaves]
    with transaction.atomic():
        # Locked, so two loaders running at once queue instead of interleaving their updates.
        existing = {row.code: row for row in Category.objects.select_for_update().filter(code__in=codes)}
        seeded_leads: list[tuple[Category, Mapping[int, str]]] = []
        for family in families:
            family_row = _upsert(existing, family.code, _family_values(family))
            for leaf in family.leaves:
                leaf_row = _upsert(existing, leaf.code, _leaf_values(leaf, family_row.pk))
                seeded_leads.append((leaf_row, leaf.leads))
        _sync_leads(seeded_leads)
    return len(families), len(seeded_leads)
