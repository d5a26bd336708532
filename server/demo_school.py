"""The demo school: a realistic middle school for trying CareRounds (data only)."""

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class DemoChecklistItem:
    item_id: str  # ascii snake_case, ^[a-z0-9_]{1,40}$, unique within its checklist
    zh: str  # Simplified Chinese label, what a cleaner reads on the phone, <= 60 chars
    en: str  # English label, <= 120 chars
    dosage: str | None = None  # key of DOSAGES: the cleaner records what was used
    reading: str | None = None  # key of READINGS: the cleaner records what the meter shows


# What the school prescribes, as a checklist item's `dosage` (product, strength, unit).
DOSAGES: dict[str, tuple[str, float, str]] = {
    "chlorine_500": ("含氯消毒液", 500, "mg_per_l"),
    "chlorine_1000": ("含氯消毒液", 1000, "mg_per_l"),
    "alcohol_75": ("75%酒精", 75, "percent"),
}


# What a checklist item asks to read, as its `reading` (unit, lowest and highest allowed).
# A freezer holds frozen food at -18 °C or below (GB 31605 cold-chain logistics); colder
# than about -25 °C is a fault of the thermostat, so both ends are flagged.
READINGS: dict[str, tuple[str, float, float]] = {
    "freezer_c": ("°C", -25, -18),
}


@dataclass(frozen=True)
class DemoChecklist:
    key: str  # ascii snake_case, e.g. "classroom"
    name: str  # Chinese name of the checklist, e.g. "教室每日消毒"
    name_en: str
    items: tuple[DemoChecklistItem, ...]


@dataclass(frozen=True)
class DemoArea:
    name: str  # Chinese, e.g. "教学楼一层 初一(1)班教室"
    name_en: str
    # one of: classroom, dorm, canteen, toilet, public_area, ventilation, cold_chain, parcel_point
    kind: str
    frequency_days: int
    checklist: str  # key of a DemoChecklist
    cleaners: tuple[str, ...] = ()  # usernames of the responsible cleaners (CLEANERS)


@dataclass(frozen=True)
class DemoPerson:
    username: str  # ascii
    display_name: str  # a realistic Chinese full name, no role hint
    role: str  # cleaner | class_teacher | counselor | lead


# Seed report: 重点区域(教室、宿舍、食堂)每日消毒一次、其他公共区域每两天消毒一次。
# Toilets are daily (soap and taps are checked every day); cold chain and parcels are handled
# on every delivery, i.e. daily; air-conditioning filters are cleaned weekly (national guidance
# for 空调通风系统: 过滤网每周清洗消毒).
_DAILY = 1
_PUBLIC = 2
_WEEKLY = 7

CHECKLISTS: tuple[DemoChecklist, ...] = (
    DemoChecklist(
        key="classroom",
        name="教室每日消毒",
        name_en="Classroom daily disinfection",
        items=(
            DemoChecklistItem(
                "open_windows",
                "开窗通风不少于30分钟",
                "Open the windows and ventilate for at least 30 minutes",
            ),
            DemoChecklistItem(
                "desks_chairs",
                "用500mg/L含氯消毒液擦拭课桌椅",
                "Wipe desks and chairs with 500 mg/L chlorine disinfectant",
                dosage="chlorine_500",
            ),
            DemoChecklistItem(
                "door_handles_switches",
                "擦拭门把手、窗把手、电灯开关",
                "Wipe door handles, window handles and light switches",
            ),
            DemoChecklistItem(
                "lectern_equipment",
                "擦拭讲台、黑板槽、多媒体设备(电子设备用75%酒精)",
                "Wipe the lectern, chalk tray and multimedia kit (75% alcohol for electronics)",
                dosage="alcohol_75",
            ),
            DemoChecklistItem(
                "floor_mopped",
                "用含氯消毒液湿式拖地",
                "Wet-mop the floor with chlorine disinfectant",
                dosage="chlorine_500",
            ),
            DemoChecklistItem(
                "rinse_after_30min",
                "消毒作用30分钟后用清水擦净桌面",
                "After 30 minutes of contact time, wipe the desks clean with water",
            ),
            DemoChecklistItem(
                "bins_emptied",
                "清空垃圾桶并消毒",
                "Empty the waste bin and disinfect it",
            ),
            DemoChecklistItem(
                "hand_sanitizer",
                "教室门口免洗手消毒液充足",
                "Hand sanitizer at the classroom door is stocked",
            ),
        ),
    ),
    DemoChecklist(
        key="dorm",
        name="宿舍每日消毒",
        name_en="Dormitory daily disinfection",
        items=(
            DemoChecklistItem(
                "open_windows",
                "宿舍开窗通风不少于30分钟",
                "Open the dorm-room windows and ventilate for at least 30 minutes",
            ),
            DemoChecklistItem(
                "door_handles_beds",
                "擦拭门把手、床栏、床梯、书桌",
                "Wipe door handles, bed rails, bunk ladders and desks",
            ),
            DemoChecklistItem(
                "bathroom",
                "宿舍卫生间洗手池、便池刷洗消毒",
                "Scrub and disinfect the dorm bathroom sinks and toilets",
            ),
            DemoChecklistItem(
                "corridor_handrails",
                "本层走廊、楼梯扶手、开关擦拭消毒",
                "Wipe the corridor, stair handrails and switches on this floor",
            ),
            DemoChecklistItem(
                "water_dispenser",
                "饮水机出水口及按键擦拭消毒",
                "Disinfect the water dispenser spouts and buttons",
            ),
            DemoChecklistItem(
                "floor_mopped",
                "用含氯消毒液湿式拖地",
                "Wet-mop the floor with chlorine disinfectant",
                dosage="chlorine_500",
            ),
            DemoChecklistItem(
                "bins_emptied",
                "清空垃圾并消毒垃圾桶",
                "Empty the rubbish and disinfect the bins",
            ),
            DemoChecklistItem(
                "bedding_aired",
                "检查被褥晾晒、内务整洁",
                "Check that bedding is aired and rooms are tidy",
            ),
        ),
    ),
    DemoChecklist(
        key="canteen",
        name="食堂每日消毒",
        name_en="Canteen daily disinfection",
        items=(
            DemoChecklistItem(
                "staff_morning_check",
                "从业人员晨检:体温正常,戴口罩、工作帽",
                "Staff morning check: normal temperature, wearing masks and caps",
            ),
            DemoChecklistItem(
                "open_windows",
                "就餐前后开窗通风",
                "Ventilate the hall before and after each meal",
            ),
            DemoChecklistItem(
                "tables_chairs",
                "每餐后用含氯消毒液擦拭餐桌椅",
                "Wipe tables and chairs with chlorine disinfectant after each meal",
                dosage="chlorine_500",
            ),
            DemoChecklistItem(
                "serving_counter",
                "售饭窗口、取餐台擦拭消毒",
                "Disinfect the serving windows and pick-up counters",
            ),
            DemoChecklistItem(
                "tableware",
                "餐具、公筷公勺进消毒柜消毒并保洁存放",
                "Disinfect tableware and serving chopsticks/spoons in the cabinet, store clean",
            ),
            DemoChecklistItem(
                "kitchen_surfaces",
                "后厨操作台、刀具砧板生熟分开并消毒",
                "Disinfect kitchen worktops, knives and boards, keeping raw and cooked apart",
            ),
            DemoChecklistItem(
                "handwash_station",
                "洗手处洗手液充足、水龙头正常",
                "Hand-washing station has soap and working taps",
            ),
            DemoChecklistItem(
                "one_metre_line",
                "排队一米线标识完好",
                "One-metre queue markings are intact",
            ),
            DemoChecklistItem(
                "floor_mopped",
                "用含氯消毒液湿式拖地",
                "Wet-mop the floor with chlorine disinfectant",
                dosage="chlorine_500",
            ),
            DemoChecklistItem(
                "food_waste",
                "餐厨垃圾日产日清,垃圾桶加盖并消毒",
                "Food waste removed the same day, bins lidded and disinfected",
            ),
        ),
    ),
    DemoChecklist(
        key="toilet",
        name="卫生间每日消毒",
        name_en="Toilet daily disinfection",
        items=(
            DemoChecklistItem(
                "hand_soap_stocked",
                "洗手液充足",
                "Hand soap is fully stocked",
            ),
            DemoChecklistItem(
                "taps_working",
                "水龙头正常供水",
                "Taps work and supply water",
            ),
            DemoChecklistItem(
                "toilets_scrubbed",
                "便池、蹲位用1000mg/L含氯消毒液刷洗",
                "Scrub toilets and urinals with 1000 mg/L chlorine disinfectant",
                dosage="chlorine_1000",
            ),
            DemoChecklistItem(
                "sinks_wiped",
                "洗手池、台面擦拭消毒",
                "Wipe and disinfect the sinks and counters",
            ),
            DemoChecklistItem(
                "handles_flush_buttons",
                "门把手、隔间门锁、冲水按钮擦拭消毒",
                "Wipe door handles, cubicle locks and flush buttons",
            ),
            DemoChecklistItem(
                "floor_drains",
                "地漏注水保持水封",
                "Pour water into floor drains to keep the water seal",
            ),
            DemoChecklistItem(
                "exhaust_fan",
                "排气扇正常运转,保持通风",
                "Exhaust fan running, room ventilated",
            ),
            DemoChecklistItem(
                "floor_mopped",
                "用含氯消毒液湿式拖地",
                "Wet-mop the floor with chlorine disinfectant",
                dosage="chlorine_500",
            ),
            DemoChecklistItem(
                "bins_emptied",
                "纸篓清空并消毒",
                "Empty and disinfect the waste-paper bins",
            ),
        ),
    ),
    DemoChecklist(
        key="public_area",
        name="公共区域隔日消毒",
        name_en="Public area disinfection (every two days)",
        items=(
            DemoChecklistItem(
                "ventilated",
                "开窗开门通风",
                "Open windows and doors to ventilate",
            ),
            DemoChecklistItem(
                "handrails",
                "楼梯扶手、栏杆擦拭消毒",
                "Wipe and disinfect stair handrails and railings",
            ),
            DemoChecklistItem(
                "door_handles_switches",
                "公共门把手、电灯开关擦拭消毒",
                "Wipe shared door handles and light switches",
            ),
            DemoChecklistItem(
                "shared_surfaces",
                "公用物体表面擦拭消毒(借阅台、体育器材、座椅)",
                "Wipe shared surfaces (library desk, sports equipment, benches)",
            ),
            DemoChecklistItem(
                "water_dispenser",
                "公共饮水机出水口及按键擦拭消毒",
                "Disinfect the shared water dispenser spouts and buttons",
            ),
            DemoChecklistItem(
                "floor_mopped",
                "用含氯消毒液湿式拖地",
                "Wet-mop the floor with chlorine disinfectant",
                dosage="chlorine_500",
            ),
            DemoChecklistItem(
                "mask_bin",
                "废弃口罩专用垃圾桶清空并消毒",
                "Empty and disinfect the bin for used masks",
            ),
            DemoChecklistItem(
                "hand_sanitizer",
                "入口免洗手消毒液充足",
                "Hand sanitizer at the entrance is stocked",
            ),
        ),
    ),
    DemoChecklist(
        key="ventilation",
        name="空调通风系统清洁消毒",
        name_en="Air-conditioning and ventilation cleaning and disinfection",
        items=(
            DemoChecklistItem(
                "fresh_air_intake_open",
                "新风口打开,周边无污染源",
                "Fresh-air intake open, with no pollution source nearby",
            ),
            DemoChecklistItem(
                "filters_cleaned",
                "过滤网、过滤器清洗消毒或更换",
                "Clean and disinfect, or replace, the air filters",
            ),
            DemoChecklistItem(
                "vents_wiped",
                "送风口、回风口擦拭消毒",
                "Wipe and disinfect supply and return air vents",
            ),
            DemoChecklistItem(
                "condensate_tray",
                "冷凝水盘清洗消毒,排水通畅",
                "Clean and disinfect the condensate tray, drain flowing",
            ),
            DemoChecklistItem(
                "fresh_air_mode",
                "全空气系统关闭回风阀,全新风运行",
                "Central systems: return-air damper closed, running on fresh air only",
            ),
            DemoChecklistItem(
                "extra_hour_running",
                "空调启用前、关停后新风排风多运行1小时",
                "Run fresh-air and exhaust one extra hour before start-up and after shutdown",
            ),
            DemoChecklistItem(
                "split_units_airing",
                "分体空调每2-3小时开窗通风20-30分钟",
                "Split units: open windows for 20-30 minutes every 2-3 hours of use",
            ),
            DemoChecklistItem(
                "cleaning_recorded",
                "记录清洗消毒日期及所用消毒剂",
                "Record the cleaning date and the disinfectant used",
            ),
        ),
    ),
    DemoChecklist(
        key="cold_chain",
        name="冷链食品入库消毒",
        name_en="Cold-chain food intake disinfection",
        items=(
            DemoChecklistItem(
                "certificates_checked",
                "查验检验检疫证明、核酸检测报告、消毒证明",
                "Check the inspection-quarantine certificate, test report and disinfection proof",
            ),
            DemoChecklistItem(
                "batch_recorded",
                "登记品名、批次、数量、供货商、追溯码",
                "Record product, batch, quantity, supplier and traceability code",
            ),
            DemoChecklistItem(
                "no_papers_rejected",
                "无合格证明的冷链食品一律拒收",
                "Refuse any cold-chain food without valid certificates",
            ),
            DemoChecklistItem(
                "staff_protection",
                "搬运人员戴口罩、手套、工作帽",
                "Handlers wear masks, gloves and caps",
            ),
            DemoChecklistItem(
                "outer_packaging",
                "冷链食品外包装喷洒或擦拭消毒(低温消毒剂)",
                "Spray or wipe cold-chain food outer packaging (low-temperature disinfectant)",
            ),
            DemoChecklistItem(
                "separate_handover",
                "在指定区域交接,不与其他食品交叉",
                "Hand over in the designated area, kept apart from other food",
            ),
            DemoChecklistItem(
                "cold_room_surfaces",
                "冷库门把手、货架、推车擦拭消毒",
                "Wipe and disinfect cold-room door handles, shelves and trolleys",
            ),
            DemoChecklistItem(
                "temperature_logged",
                "冷库温度检查并记录(冷冻-18℃以下)",
                "Check and record the cold-room temperature (freezer at or below -18 °C)",
                reading="freezer_c",
            ),
            DemoChecklistItem(
                "hands_washed",
                "搬运后弃置手套,洗手消毒",
                "After handling, discard gloves and wash and disinfect hands",
            ),
        ),
    ),
    DemoChecklist(
        key="parcel_point",
        name="快递收发点消毒",
        name_en="Parcel point disinfection",
        items=(
            DemoChecklistItem(
                "staff_masks",
                "工作人员规范佩戴口罩、手套",
                "Staff wear masks and gloves properly",
            ),
            DemoChecklistItem(
                "courier_outside_gate",
                "快递员在校门外无接触交接,不入校",
                "Couriers hand over contact-free outside the gate and do not enter",
            ),
            DemoChecklistItem(
                "parcels_disinfected",
                "包裹外包装发放前喷洒消毒",
                "Spray-disinfect parcel packaging before handing it out",
            ),
            DemoChecklistItem(
                "one_metre_line",
                "一米线标识清晰,取件排队间隔一米",
                "One-metre line clearly marked, pick-up queue spaced one metre apart",
            ),
            DemoChecklistItem(
                "shelves_counter",
                "货架、取件台、扫码设备擦拭消毒",
                "Wipe shelves, the pick-up counter and the scanner",
            ),
            DemoChecklistItem(
                "hand_sanitizer",
                "取件处免洗手消毒液充足",
                "Hand sanitizer at the pick-up counter is stocked",
            ),
            DemoChecklistItem(
                "packaging_waste",
                "废弃包装集中收集处理",
                "Collect and dispose of discarded packaging in one place",
            ),
            DemoChecklistItem(
                "ventilated",
                "收发点保持通风",
                "Keep the parcel point ventilated",
            ),
            DemoChecklistItem(
                "handout_logged",
                "登记包裹消毒及发放时间",
                "Log when parcels were disinfected and handed out",
            ),
        ),
    ),
)

CLASSES: tuple[tuple[str, str], ...] = (
    ("初一(1)班", "Grade 7 Class 1"),
    ("初一(2)班", "Grade 7 Class 2"),
    ("初一(3)班", "Grade 7 Class 3"),
    ("初一(4)班", "Grade 7 Class 4"),
    ("初二(1)班", "Grade 8 Class 1"),
    ("初二(2)班", "Grade 8 Class 2"),
    ("初二(3)班", "Grade 8 Class 3"),
    ("初二(4)班", "Grade 8 Class 4"),
)

# The cleaners' morning walk: teaching building floor by floor, the library and gym,
# the dorms once the students have left, the canteen after breakfast, the gate last.
# Each area names its responsible cleaners (责任落实到人): 王秀兰 the teaching building's
# first floor and shared spaces, 李桂芳 the second floor, library, gym and girls' dorm,
# 张建军 the boys' dorm, canteen, cold store and gate; the air-conditioning systems and the
# kitchen take two.
AREAS: tuple[DemoArea, ...] = (
    DemoArea(
        "教学楼一层 初一(1)班教室",
        "Teaching building 1F, Grade 7 Class 1 classroom",
        "classroom",
        _DAILY,
        "classroom",
        ("cleaner1",),
    ),
    DemoArea(
        "教学楼一层 初一(2)班教室",
        "Teaching building 1F, Grade 7 Class 2 classroom",
        "classroom",
        _DAILY,
        "classroom",
        ("cleaner1",),
    ),
    DemoArea(
        "教学楼一层 初一(3)班教室",
        "Teaching building 1F, Grade 7 Class 3 classroom",
        "classroom",
        _DAILY,
        "classroom",
        ("cleaner1",),
    ),
    DemoArea(
        "教学楼一层 初一(4)班教室",
        "Teaching building 1F, Grade 7 Class 4 classroom",
        "classroom",
        _DAILY,
        "classroom",
        ("cleaner1",),
    ),
    DemoArea(
        "教学楼一层 卫生间",
        "Teaching building 1F, toilets",
        "toilet",
        _DAILY,
        "toilet",
        ("cleaner1",),
    ),
    DemoArea(
        "教学楼二层 初二(1)班教室",
        "Teaching building 2F, Grade 8 Class 1 classroom",
        "classroom",
        _DAILY,
        "classroom",
        ("cleaner2",),
    ),
    DemoArea(
        "教学楼二层 初二(2)班教室",
        "Teaching building 2F, Grade 8 Class 2 classroom",
        "classroom",
        _DAILY,
        "classroom",
        ("cleaner2",),
    ),
    DemoArea(
        "教学楼二层 初二(3)班教室",
        "Teaching building 2F, Grade 8 Class 3 classroom",
        "classroom",
        _DAILY,
        "classroom",
        ("cleaner2",),
    ),
    DemoArea(
        "教学楼二层 初二(4)班教室",
        "Teaching building 2F, Grade 8 Class 4 classroom",
        "classroom",
        _DAILY,
        "classroom",
        ("cleaner2",),
    ),
    DemoArea(
        "教学楼二层 卫生间",
        "Teaching building 2F, toilets",
        "toilet",
        _DAILY,
        "toilet",
        ("cleaner2",),
    ),
    DemoArea(
        "教学楼三层 卫生间",
        "Teaching building 3F, toilets",
        "toilet",
        _DAILY,
        "toilet",
        ("cleaner1",),
    ),
    DemoArea(
        "教学楼三层 实验室及办公室走廊",
        "Teaching building 3F, labs and staff-office corridor",
        "public_area",
        _PUBLIC,
        "public_area",
        ("cleaner1",),
    ),
    DemoArea(
        "教学楼 东西楼梯间(一至三层)",
        "Teaching building, east and west stairwells (1F-3F)",
        "public_area",
        _PUBLIC,
        "public_area",
        ("cleaner1",),
    ),
    DemoArea(
        "教学楼 一二层走廊及门厅",
        "Teaching building, 1F-2F corridors and entrance hall",
        "public_area",
        _PUBLIC,
        "public_area",
        ("cleaner1",),
    ),
    DemoArea(
        "教学楼 空调及新风系统",
        "Teaching building, air-conditioning and fresh-air system",
        "ventilation",
        _WEEKLY,
        "ventilation",
        ("cleaner3", "cleaner1"),
    ),
    DemoArea(
        "图书馆 阅览室及借阅台",
        "Library, reading room and lending desk",
        "public_area",
        _PUBLIC,
        "public_area",
        ("cleaner2",),
    ),
    DemoArea(
        "体育馆 场馆及体育器材",
        "Gym, hall and sports equipment",
        "public_area",
        _PUBLIC,
        "public_area",
        ("cleaner2",),
    ),
    DemoArea(
        "体育馆 更衣室及卫生间",
        "Gym, changing rooms and toilets",
        "toilet",
        _DAILY,
        "toilet",
        ("cleaner2",),
    ),
    DemoArea(
        "男生宿舍楼 一层",
        "Boys' dormitory 1F",
        "dorm",
        _DAILY,
        "dorm",
        ("cleaner3",),
    ),
    DemoArea(
        "男生宿舍楼 二层",
        "Boys' dormitory 2F",
        "dorm",
        _DAILY,
        "dorm",
        ("cleaner3",),
    ),
    DemoArea(
        "男生宿舍楼 三层",
        "Boys' dormitory 3F",
        "dorm",
        _DAILY,
        "dorm",
        ("cleaner3",),
    ),
    DemoArea(
        "男生宿舍楼 楼梯间及门厅",
        "Boys' dormitory, stairwell and entrance hall",
        "public_area",
        _PUBLIC,
        "public_area",
        ("cleaner3",),
    ),
    DemoArea(
        "女生宿舍楼 一层",
        "Girls' dormitory 1F",
        "dorm",
        _DAILY,
        "dorm",
        ("cleaner2",),
    ),
    DemoArea(
        "女生宿舍楼 二层",
        "Girls' dormitory 2F",
        "dorm",
        _DAILY,
        "dorm",
        ("cleaner2",),
    ),
    DemoArea(
        "女生宿舍楼 三层",
        "Girls' dormitory 3F",
        "dorm",
        _DAILY,
        "dorm",
        ("cleaner2",),
    ),
    DemoArea(
        "女生宿舍楼 楼梯间及门厅",
        "Girls' dormitory, stairwell and entrance hall",
        "public_area",
        _PUBLIC,
        "public_area",
        ("cleaner2",),
    ),
    DemoArea(
        "宿舍楼 空调及新风系统",
        "Dormitories, air-conditioning and fresh-air system",
        "ventilation",
        _WEEKLY,
        "ventilation",
        ("cleaner3", "cleaner1"),
    ),
    DemoArea(
        "食堂一层 就餐大厅",
        "Canteen 1F, dining hall",
        "canteen",
        _DAILY,
        "canteen",
        ("cleaner3",),
    ),
    DemoArea(
        "食堂一层 后厨操作间",
        "Canteen 1F, kitchen",
        "canteen",
        _DAILY,
        "canteen",
        ("cleaner3", "cleaner2"),
    ),
    DemoArea(
        "食堂 冷库及冷链食品收货区",
        "Canteen, cold store and cold-chain receiving area",
        "cold_chain",
        _DAILY,
        "cold_chain",
        ("cleaner3",),
    ),
    DemoArea(
        "食堂 空调及排风系统",
        "Canteen, air-conditioning and exhaust system",
        "ventilation",
        _WEEKLY,
        "ventilation",
        ("cleaner3", "cleaner1"),
    ),
    DemoArea(
        "校门口 快递收发点",
        "School gate, parcel point",
        "parcel_point",
        _DAILY,
        "parcel_point",
        ("cleaner3",),
    ),
)

LEAD: DemoPerson = DemoPerson("lead", "周国华", "lead")

CLEANERS: tuple[DemoPerson, ...] = (
    DemoPerson("cleaner1", "王秀兰", "cleaner"),
    DemoPerson("cleaner2", "李桂芳", "cleaner"),
    DemoPerson("cleaner3", "张建军", "cleaner"),
)

# teacher1 is class teacher of CLASSES[0] and CLASSES[1], teacher2 of CLASSES[2] and
# CLASSES[3], teacher3 of CLASSES[4] and CLASSES[5], teacher4 of CLASSES[6] and CLASSES[7].
TEACHERS: tuple[DemoPerson, ...] = (
    DemoPerson("teacher1", "陈晓燕", "class_teacher"),
    DemoPerson("teacher2", "杨文博", "class_teacher"),
    DemoPerson("teacher3", "黄丽娟", "class_teacher"),
    DemoPerson("teacher4", "赵志明", "class_teacher"),
)

COUNSELORS: tuple[DemoPerson, ...] = (
    DemoPerson("counselor1", "吴静怡", "counselor"),
    DemoPerson("counselor2", "孙海涛", "counselor"),
)

# The demo's recent past, so that the lead's reports show what they are for: rounds on the
# HISTORY_DAYS days before the seeding day (the school set up the day the first of them
# began), each area as often as it is due, by its responsible cleaners, every item ticked at
# the prescribed dose, except for the deviations below. AREAS[0] has no history: the
# end-to-end tests walk it from a clean slate and count its rounds.
HISTORY_DAYS = 3


@dataclass(frozen=True)
class DemoDeviation:
    area: str  # an area's Chinese name (AREAS)
    days_ago: int  # 1 is the day before the seeding day
    item_id: str = ""
    skipped: str | None = None  # a SkipReason: the item was not done, for that reason
    undone: int = 0  # the round was marked completed with its last `undone` items left
    concentration: float | None = None  # the dose used for the item, not the prescribed one
    reading: float | None = None  # what the item's meter showed
    missed: bool = False  # nobody came that day


HISTORY_DEVIATIONS: tuple[DemoDeviation, ...] = (
    DemoDeviation("教学楼一层 初一(2)班教室", 1, "hand_sanitizer", skipped="out_of_supplies"),
    DemoDeviation("男生宿舍楼 二层", 1, undone=3),
    DemoDeviation("教学楼一层 卫生间", 2, "toilets_scrubbed", concentration=500),
    DemoDeviation("食堂 冷库及冷链食品收货区", 1, "temperature_logged", reading=-12),
    DemoDeviation("教学楼三层 卫生间", 1, missed=True),  # so it is overdue on the day seeded
)

# The health chain over the same days and the seeding day itself: every class checked in
# the morning and at noon (晨午检) by its teacher, but for one noon check left undone on
# the seeding day; an absence register with a fever cluster, an illness absence whose
# cause nobody followed up, and a sick case closed with its return clearance (复课证明).
CHECK_TIMES: dict[str, tuple[int, int]] = {"morning": (7, 40), "noon": (12, 20)}
NOON_CHECK_MISSING = 7  # index in CLASSES: 初二(4)班 has no noon check on the seeding day


@dataclass(frozen=True)
class DemoAbsence:
    class_index: int  # index in CLASSES
    student: int  # the student's place in the class, by number (0 is the first)
    days_ago: int  # 0 is the seeding day
    kind: str = "illness"  # an AbsenceKind
    symptom: str | None = None  # a SymptomCategory; None with saw_doctor None: no cause yet
    saw_doctor: bool | None = None
    diagnosis: str = ""
    infectious: bool | None = None
    note: str = ""


# The first student of 初一(1)班 is the end-to-end tests' sick student: no absence of theirs.
DEMO_ABSENCES: tuple[DemoAbsence, ...] = (
    # A fever cluster: three students of 初一(3)班 off with fever on the seeding day.
    DemoAbsence(2, 5, 0, symptom="fever", saw_doctor=True, diagnosis="发热待查"),
    DemoAbsence(2, 11, 0, symptom="fever", saw_doctor=False, note="家长称在家观察体温"),
    DemoAbsence(2, 17, 0, symptom="fever", saw_doctor=True, diagnosis="流感", infectious=True),
    # Off ill the day before, and nobody has asked why yet: the cause is overdue.
    DemoAbsence(5, 8, 1),
    DemoAbsence(6, 3, 0, kind="personal", note="家中有事请假"),
    DemoAbsence(1, 14, 2, symptom="gastrointestinal", saw_doctor=False, diagnosis="肠胃不适"),
)


@dataclass(frozen=True)
class DemoSickCase:
    class_index: int
    student: int
    onset_days_ago: int  # found with fever at that day's morning check, sent home
    returned_days_ago: int  # back at school, with the clinic's clearance
    symptoms: str
    medical_care: str
    clearance_by: str
    temperatures: tuple[float, ...]  # the teacher's daily phone follow-ups, from the onset


# A student of 初二(1)班 found with fever at the morning check three days before seeding,
# absent the next day, back the day before seeding: closed, clearance given.
DEMO_SICK_CASE = DemoSickCase(
    4,
    20,
    3,
    1,
    "晨检体温38.5℃，咽痛",
    "社区卫生服务中心就诊，诊断急性咽炎",
    "社区卫生服务中心 王医生",
    (38.5, 37.4),
)

STUDENTS_PER_CLASS: int = 40

# Common surnames with rough relative frequencies (the big five first).
_SURNAMES: tuple[tuple[str, int], ...] = (
    ("王", 72),
    ("李", 71),
    ("张", 66),
    ("刘", 54),
    ("陈", 46),
    ("杨", 33),
    ("黄", 25),
    ("赵", 20),
    ("吴", 19),
    ("周", 19),
    ("徐", 15),
    ("孙", 15),
    ("马", 14),
    ("朱", 13),
    ("胡", 12),
    ("郭", 12),
    ("何", 11),
    ("林", 11),
    ("高", 11),
    ("罗", 10),
    ("郑", 10),
    ("梁", 9),
    ("谢", 8),
    ("宋", 8),
    ("唐", 8),
    ("许", 7),
    ("韩", 7),
    ("冯", 7),
    ("邓", 7),
    ("曹", 7),
    ("彭", 6),
    ("曾", 6),
    ("肖", 6),
    ("田", 6),
    ("董", 5),
    ("袁", 5),
    ("潘", 5),
    ("于", 5),
    ("蒋", 5),
    ("蔡", 5),
    ("余", 5),
    ("杜", 5),
    ("叶", 4),
    ("程", 4),
    ("苏", 4),
    ("魏", 4),
    ("吕", 4),
    ("丁", 4),
    ("任", 4),
    ("沈", 3),
    ("姚", 3),
    ("卢", 3),
    ("姜", 3),
    ("崔", 3),
    ("钟", 3),
    ("谭", 3),
    ("陆", 3),
    ("汪", 3),
    ("范", 3),
    ("金", 3),
)

# Given-name characters popular for children born around 2010. Boys' and girls' characters
# are kept apart so that a name does not mix styles; each of them also works on its own as a
# one-character given name. Neutral characters go with either, in either position; leading
# characters only sound right as the first of two (子轩, 思远, 嘉怡).
_BOY_CHARS = (
    "浩宇轩博俊杰皓泽睿昊铭鹏磊毅峰涛鸿辰逸宸霖凯航鑫强"
    "伟斌超亮帆豪彬哲健锐晟烨炜翔晖宏骏彦昱麟坤政远铖瀚"
    "澄朗"
)
_GIRL_CHARS = (
    "涵欣怡萱雨彤悦瑶婷雪婧妍晴馨媛蕊颖琪琳诗语桐菲露蓉"
    "芸茜璐倩佩薇雯洁莉娜璇婉娅琬静梦曦丹玲岚珊韵蕾萌沁"
    "瑜"
)
_NEUTRAL_CHARS = "文晨阳宁心安诺然乐锦明楚清煜昕景言瑾星润艺希和墨恩舒"
_LEADING_CHARS = "子梓思嘉一佳天可依新家奕若知书予"

# Well-formed two-character given names, used for part of the three-character names.
_BOY_PAIRS = (
    "浩然",
    "子轩",
    "梓睿",
    "宇航",
    "俊杰",
    "博文",
    "明哲",
    "天佑",
    "嘉豪",
    "思远",
    "泽宇",
    "一鸣",
    "子墨",
    "皓轩",
    "家乐",
    "文博",
    "锦程",
    "奕辰",
    "振宇",
    "晨阳",
)
_GIRL_PAIRS = (
    "欣怡",
    "梓涵",
    "雨桐",
    "思琪",
    "诗涵",
    "可馨",
    "语嫣",
    "佳怡",
    "一诺",
    "梦瑶",
    "紫萱",
    "雨欣",
    "婧琪",
    "若曦",
    "晓彤",
    "心怡",
    "安然",
    "书瑶",
    "子琳",
    "静雯",
)

_MAX_STUDENT_NAMES = 100_000


def student_names(count: int, seed: int) -> list[str]:
    """Realistic, distinct Simplified-Chinese full names, the same for the same seed."""
    if count < 0 or count > _MAX_STUDENT_NAMES:
        raise ValueError(f"count must be between 0 and {_MAX_STUDENT_NAMES}, got {count}")
    rng = random.Random(seed)
    surnames = [s for s, _ in _SURNAMES]
    cum_weights: list[int] = []
    total = 0
    for _, weight in _SURNAMES:
        total += weight
        cum_weights.append(total)
    boy_chars = _BOY_CHARS + _NEUTRAL_CHARS
    girl_chars = _GIRL_CHARS + _NEUTRAL_CHARS
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        surname = rng.choices(surnames, cum_weights=cum_weights)[0]
        is_girl = rng.random() < 0.5
        shape = rng.random()
        if shape < 0.25:
            given = rng.choice(_GIRL_CHARS if is_girl else _BOY_CHARS)
        elif shape < 0.45:
            given = rng.choice(_GIRL_PAIRS if is_girl else _BOY_PAIRS)
        else:
            second = rng.choice(girl_chars if is_girl else boy_chars)
            first = second
            while first == second:
                first = rng.choice((girl_chars if is_girl else boy_chars) + _LEADING_CHARS)
            given = first + second
        name = surname + given
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names
