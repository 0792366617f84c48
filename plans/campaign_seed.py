"""The standard campaign types with their checklists: 全民创无 "10+N" and the 平安细胞 kinds.

Written by migration 0002 (``seed``) and kept in the admin afterwards: a type already there (by code)
is left as the administrator set it.
"""

from __future__ import annotations

# code, name, English name, entrant, [(criterion, English, required)]
NO_X = [
    ("no_medical_disturbance", "无医闹", "No medical disturbances", "area", [
        ("辖区医疗机构全年未发生医闹事件", "No medical disturbance at a medical institution all year", True),
        ("医患纠纷人民调解组织健全并运行", "A mediation body for doctor–patient disputes at work", True),
        ("医疗机构安保措施和警医联动机制落实", "Hospital security and police–hospital liaison in place", True),
        ("医患纠纷化解率达到 95% 以上", "At least 95 % of doctor–patient disputes resolved", False),
    ]),
    ("no_pyramid_selling", "无传销", "No pyramid selling", "area", [
        ("辖区未发现传销窝点", "No pyramid-selling den found in the area", True),
        ("出租屋排查登记全覆盖", "Every rental house checked and registered", True),
        ("开展打击传销宣传教育", "Public education against pyramid selling held", False),
    ]),
    ("no_homicide", "无命案", "No homicide", "area", [
        ("辖区全年未发生命案", "No homicide in the area all year", True),
        ("矛盾纠纷排查化解机制落实", "Dispute screening and resolution in place", True),
        ("重点人员走访管控到位", "Key persons visited and followed", True),
    ]),
    ("no_cult", "无邪教", "No cult activity", "area", [
        ("辖区未发现邪教组织活动", "No cult activity found in the area", True),
        ("反邪教宣传进村居", "Anti-cult information reaches every village and community", False),
        ("重点对象帮教转化落实", "Counselling of persons at risk in place", True),
    ]),
    ("no_drugs", "无毒品", "No drugs", "area", [
        ("辖区未发现制毒贩毒活动", "No drug making or dealing found in the area", True),
        ("社区戒毒康复人员管控率 100%", "Every person in community rehabilitation followed", True),
        ("禁毒宣传教育覆盖学校和村居", "Drug education in schools and villages", False),
    ]),
    ("no_organised_crime", "无黑恶势力", "No organised crime", "area", [
        ("辖区未发现涉黑涉恶团伙", "No organised-crime gang found in the area", True),
        ("涉黑涉恶线索按时核查", "Leads about organised crime checked on time", True),
        ("基层组织无黑恶势力渗透", "No infiltration of local organisations by organised crime", True),
    ]),
    ("no_telecom_fraud", "无电信诈骗", "No telecom fraud", "area", [
        ("辖区电信网络诈骗发案数同比下降", "Telecom fraud cases down year on year", True),
        ("反诈宣传入户率达到 90% 以上", "At least 90 % of households reached by anti-fraud information", True),
        ("国家反诈中心 App 推广落实", "The national anti-fraud app promoted", False),
    ]),
    ("no_major_accident", "无重大安全事故", "No major safety accident", "area", [
        ("辖区全年未发生较大以上安全生产事故", "No serious safety accident in the area all year", True),
        ("安全隐患排查整改闭环", "Safety hazards found and fixed", True),
        ("消防设施完好有效", "Fire equipment in working order", True),
    ]),
    ("no_mass_incident", "无群体性事件", "No mass incident", "area", [
        ("辖区全年未发生群体性事件", "No mass incident in the area all year", True),
        ("不稳定因素排查预警到位", "Sources of unrest screened and warned of", True),
        ("重大决策社会稳定风险评估落实", "Social stability risk assessment of major decisions", False),
    ]),
    ("no_irregular_petition", "无非法上访", "No irregular petitions", "area", [
        ("辖区全年无非法上访、越级上访", "No irregular or level-skipping petitions all year", True),
        ("信访事项按期办结率 100%", "Every petition handled on time", True),
        ("领导接访下访制度落实", "Leaders receive and visit petitioners", False),
    ]),
    ("no_x_other", "无 N（自选）", "No N (own choice)", "area", [
        ("自选创建目标全年达成", "The chosen goal met all year", True),
        ("创建方案和台账齐全", "Plan and records of the campaign kept", True),
        ("群众安全感满意度达到 90% 以上", "At least 90 % of residents feel safe and satisfied", False),
    ]),
]

SAFE_CELL = [
    ("safe_village", "平安村居", "Safe village or community", "area", [
        ("全年未发生刑事案件和重大治安案件", "No criminal case or serious public-order case all year", True),
        ("矛盾纠纷不出村居，化解率 95% 以上", "Disputes settled in the village, at least 95 % resolved", True),
        ("网格员配备到位，网格化服务管理全覆盖", "Every grid staffed and served", True),
        ("治安巡防队伍和技防设施健全", "Patrol team and surveillance in place", True),
        ("群众安全感满意度达到 90% 以上", "At least 90 % of residents feel safe and satisfied", False),
    ]),
    ("safe_campus", "平安校园", "Safe school", "organisation", [
        ("校园全年未发生重大安全事故和刑事案件", "No serious accident or crime at the school all year", True),
        ("校园保安、封闭管理和一键报警落实", "Guards, closed campus and alarm button in place", True),
        ("校园周边治安秩序良好", "Good public order around the school", True),
        ("开展安全教育和应急演练", "Safety education and drills held", False),
    ]),
    ("safe_hospital", "平安医院", "Safe hospital", "organisation", [
        ("医院全年未发生医闹和暴力伤医事件", "No medical disturbance or violence against staff all year", True),
        ("警务室和安检设施设置到位", "Police room and security checks in place", True),
        ("医患纠纷调解机制运行有效", "Doctor–patient mediation working", True),
        ("消防安全检查合格", "Fire safety inspection passed", False),
    ]),
    ("safe_enterprise", "平安企业", "Safe enterprise", "organisation", [
        ("企业全年未发生安全生产事故", "No workplace accident all year", True),
        ("劳资纠纷及时化解，无欠薪群体事件", "Labour disputes settled, no mass wage arrears protest", True),
        ("内部治安保卫制度健全", "Internal security rules in place", True),
        ("消防设施完好、通道畅通", "Fire equipment working, exits clear", False),
    ]),
    ("safe_market", "平安市场", "Safe market", "organisation", [
        ("市场全年未发生重大治安和消防事故", "No serious public-order or fire incident all year", True),
        ("经营秩序规范，无欺行霸市", "Orderly trading, no market bullying", True),
        ("食品安全抽检合格", "Food safety sample checks passed", True),
    ]),
    ("safe_family", "平安家庭", "Safe family", "area", [
        ("家庭成员无违法犯罪记录", "No family member convicted of an offence", True),
        ("家庭和睦，无家庭暴力", "A harmonious family, no domestic violence", True),
        ("参与平安建设志愿活动", "Takes part in safety volunteering", False),
    ]),
]


def seed(apps, schema_editor) -> None:
    CampaignType = apps.get_model("plans", "CampaignType")
    CampaignCriterion = apps.get_model("plans", "CampaignCriterion")
    for family, types in (("no_x", NO_X), ("safe_cell", SAFE_CELL)):
        for order, (code, name, name_en, entrant, criteria) in enumerate(types, start=1):
            kind, created = CampaignType.objects.get_or_create(
                code=code, defaults={"name": name, "name_en": name_en, "family": family, "entrant": entrant,
                                     "order": order})
            if not created:
                continue
            for position, (text, text_en, required) in enumerate(criteria, start=1):
                CampaignCriterion.objects.create(type=kind, order=position, text=text, text_en=text_en,
                                                 required=required)
