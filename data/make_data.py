"""Generate the bundled data of minimind-sft: `sft_train.jsonl`, `sft_val.jsonl`, `pretrain.jsonl` and `synonyms.json`.

Every conversation is a small task with one checkable answer (arithmetic, unit conversion, string
tasks, dates, lookup tables, lists), in English or Simplified Chinese. Each assistant reply explains
briefly and ends with a fixed final sentence, `The answer is X.` or `答案是X。`, and the line's
`answer` field holds X for the last assistant turn. That way SFT progress can be measured by exact
match on held-out data, not only by loss.

The mix also holds multi-turn conversations (follow-ups such as "And now double it?", several tasks
in a row, "are you sure?"), conversations with a system message (some asking for the answer only,
whose replies are then just the final sentence) and long conversations (a multiplication table, a
list of temperatures, a long list session) that go well past 512 tokens.

Knowledge for pretraining to store and SFT to unlock: `pretrain.jsonl` (MiniMind's pretrain format, one
`{"text": ...}` per line) states facts in plain zh/en text, each in several phrasings and contexts (capitals and
continents of 122 countries, symbols and atomic numbers of 52 elements, planets, months, units), and shows
worked procedures (column addition, conversions, ...) without the chat format and without "The answer is X.". A
fixed set of countries and elements (`HELD_OUT`) is never asked about in `sft_train.jsonl`; `sft_val.jsonl` asks about
exactly those, and marks such lines `"held_out": true`, so exact answers there measure knowledge that only pretraining
can have put in the model (Allen-Zhu & Li, "Physics of Language Models: Part 3.1", knowledge extraction).

Lookup replies are written so that a small model can answer about an entity it was never fine-tuned on: the reply
first restates the question's words up to the entity, with the same word just before it as in the question ("What
is the capital of Germany?" -> "The capital of Germany is Berlin."; "请问，德国的首都是哪里？" -> "好的，德国的首都是
柏林。"), so the entity is copied from the question rather than recalled from the fine-tuning set, and then completes a
sentence the corpus states. A `copy_name` task (names made up on the spot) practises the copying on names no table
holds, and `lookup_context` asks the lookup questions about a made-up country or element whose facts the question
states first. Copying needs a base that can copy at all: pretrained on facts about real entities only, the demo's base
predicted every name from memory and repeated none of 20 made-up capitals from the sentence before it (in English or
Chinese). So about a sixth of the corpus states facts about made-up countries and elements, whose names can only be
copied from earlier in the document; the demo's base (8 epochs on it) repeats 18 of 20 made-up Chinese capitals (but
only about 6 of 20 English ones, whose made-up names are rare multi-token words). The tables are large (106 countries and 43
elements left to fine-tune on) so that SFT learns the general skill: with few entities, it can learn each one's
question and answer by heart instead.

Everything is generated from seeded RNGs (train: `random.Random(1)`, val: `random.Random(2)`, pretrain:
`random.Random(3)`), so running `python data/make_data.py` from any directory rewrites the same four files byte for byte.
Val conversations whose task prompts appear anywhere among the train user prompts are dropped.
All templates and tables are written here; no external text is used.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
N_TRAIN, N_VAL, N_PRETRAIN = 3000, 300, 26000
LONG_EVERY, P_MULTI, P_SYSTEM = 25, 0.26, 0.15   # every 25th conversation is long (4%)
LONG_CHARS = {"en": 2500, "zh": 900}   # "long" = clearly over 512 tokens of the 6400-token BPE
FORBIDDEN = ("<s>", "</s>", "<unk>")

# ----------------------------------------------------------------------------- small tables
WORDS_EN = ["apple", "banana", "orange", "window", "garden", "pencil", "rabbit", "yellow", "summer",
            "winter", "river", "mountain", "planet", "school", "teacher", "coffee", "butter", "kitten",
            "bottle", "letter", "mirror", "pepper", "puzzle", "rocket", "silver", "ticket", "travel",
            "doctor", "engine", "forest", "guitar", "island", "jacket", "ladder", "market", "needle",
            "office", "parrot", "pillow", "tomato", "umbrella", "village", "wizard", "zebra", "balloon",
            "cherry", "dinner", "elephant", "giraffe", "hammer", "jungle", "kettle", "lemon", "marble",
            "noodle", "pocket", "sunset", "tunnel", "violin", "whistle", "yogurt", "committee",
            "success", "address", "bookkeeper", "banana", "cotton", "dragon", "flower", "honey"]
PHRASES_ZH = ["人工智能", "天天向上", "春暖花开", "大家好", "好好学习", "中华人民共和国", "一心一意",
              "千千万万", "高高兴兴", "北京大学", "自然语言处理", "机器学习", "今天天气很好", "我爱学习",
              "上上下下", "山水画", "图书馆", "火车站", "星星点灯", "笑一笑十年少", "白日依山尽",
              "欢欢喜喜", "明天会更好", "读书使人进步", "花好月圆", "一年四季", "小猫钓鱼", "团团圆圆",
              "学而时习之", "春夏秋冬", "东南西北", "风和日丽", "数学老师", "语言模型", "长江黄河",
              "红红火火", "平平安安", "大大小小", "来来往往", "说说笑笑"]
ELEMENTS = {  # name -> (atomic number, Chinese name, symbol): elements 1-54 but tin and silver
    # (their English names occur in other SFT prompts: "continent", the word lists)
    "hydrogen": (1, "氢", "H"), "helium": (2, "氦", "He"), "lithium": (3, "锂", "Li"),
    "beryllium": (4, "铍", "Be"), "boron": (5, "硼", "B"), "carbon": (6, "碳", "C"),
    "nitrogen": (7, "氮", "N"), "oxygen": (8, "氧", "O"), "fluorine": (9, "氟", "F"),
    "neon": (10, "氖", "Ne"), "sodium": (11, "钠", "Na"), "magnesium": (12, "镁", "Mg"),
    "aluminium": (13, "铝", "Al"), "silicon": (14, "硅", "Si"), "phosphorus": (15, "磷", "P"),
    "sulfur": (16, "硫", "S"), "chlorine": (17, "氯", "Cl"), "argon": (18, "氩", "Ar"),
    "potassium": (19, "钾", "K"), "calcium": (20, "钙", "Ca"), "scandium": (21, "钪", "Sc"),
    "titanium": (22, "钛", "Ti"), "vanadium": (23, "钒", "V"), "chromium": (24, "铬", "Cr"),
    "manganese": (25, "锰", "Mn"), "iron": (26, "铁", "Fe"), "cobalt": (27, "钴", "Co"), "nickel": (28, "镍", "Ni"),
    "copper": (29, "铜", "Cu"), "zinc": (30, "锌", "Zn"), "gallium": (31, "镓", "Ga"), "germanium": (32, "锗", "Ge"),
    "arsenic": (33, "砷", "As"), "selenium": (34, "硒", "Se"), "bromine": (35, "溴", "Br"), "krypton": (36, "氪", "Kr"),
    "rubidium": (37, "铷", "Rb"), "strontium": (38, "锶", "Sr"), "yttrium": (39, "钇", "Y"), "zirconium": (40, "锆", "Zr"),
    "niobium": (41, "铌", "Nb"), "molybdenum": (42, "钼", "Mo"), "technetium": (43, "锝", "Tc"), "ruthenium": (44, "钌", "Ru"),
    "rhodium": (45, "铑", "Rh"), "palladium": (46, "钯", "Pd"), "cadmium": (48, "镉", "Cd"),
    "indium": (49, "铟", "In"), "antimony": (51, "锑", "Sb"), "tellurium": (52, "碲", "Te"), "iodine": (53, "碘", "I"),
    "xenon": (54, "氙", "Xe")}
CONTINENTS = {"Europe": "欧洲", "Asia": "亚洲", "Africa": "非洲", "North America": "北美洲", "South America": "南美洲",
              "Oceania": "大洋洲"}
COUNTRIES = {  # country -> (capital, continent, Chinese name, Chinese capital)
    "France": ("Paris", "Europe", "法国", "巴黎"), "Germany": ("Berlin", "Europe", "德国", "柏林"),
    "Italy": ("Rome", "Europe", "意大利", "罗马"), "Spain": ("Madrid", "Europe", "西班牙", "马德里"),
    "Portugal": ("Lisbon", "Europe", "葡萄牙", "里斯本"), "the United Kingdom": ("London", "Europe", "英国", "伦敦"),
    "Ireland": ("Dublin", "Europe", "爱尔兰", "都柏林"), "the Netherlands": ("Amsterdam", "Europe", "荷兰", "阿姆斯特丹"),
    "Belgium": ("Brussels", "Europe", "比利时", "布鲁塞尔"), "Switzerland": ("Bern", "Europe", "瑞士", "伯尔尼"),
    "Austria": ("Vienna", "Europe", "奥地利", "维也纳"), "Poland": ("Warsaw", "Europe", "波兰", "华沙"),
    "Greece": ("Athens", "Europe", "希腊", "雅典"), "Sweden": ("Stockholm", "Europe", "瑞典", "斯德哥尔摩"),
    "Norway": ("Oslo", "Europe", "挪威", "奥斯陆"), "Finland": ("Helsinki", "Europe", "芬兰", "赫尔辛基"),
    "Denmark": ("Copenhagen", "Europe", "丹麦", "哥本哈根"), "Russia": ("Moscow", "Europe", "俄罗斯", "莫斯科"),
    "Hungary": ("Budapest", "Europe", "匈牙利", "布达佩斯"), "the Czech Republic": ("Prague", "Europe", "捷克", "布拉格"),
    "Romania": ("Bucharest", "Europe", "罗马尼亚", "布加勒斯特"), "Iceland": ("Reykjavik", "Europe", "冰岛", "雷克雅未克"),
    "Ukraine": ("Kyiv", "Europe", "乌克兰", "基辅"), "China": ("Beijing", "Asia", "中国", "北京"),
    "Japan": ("Tokyo", "Asia", "日本", "东京"), "South Korea": ("Seoul", "Asia", "韩国", "首尔"),
    "India": ("New Delhi", "Asia", "印度", "新德里"), "Thailand": ("Bangkok", "Asia", "泰国", "曼谷"),
    "Vietnam": ("Hanoi", "Asia", "越南", "河内"), "Indonesia": ("Jakarta", "Asia", "印度尼西亚", "雅加达"),
    "the Philippines": ("Manila", "Asia", "菲律宾", "马尼拉"), "Malaysia": ("Kuala Lumpur", "Asia", "马来西亚", "吉隆坡"),
    "Pakistan": ("Islamabad", "Asia", "巴基斯坦", "伊斯兰堡"), "Iran": ("Tehran", "Asia", "伊朗", "德黑兰"),
    "Turkey": ("Ankara", "Asia", "土耳其", "安卡拉"), "Saudi Arabia": ("Riyadh", "Asia", "沙特阿拉伯", "利雅得"),
    "Mongolia": ("Ulaanbaatar", "Asia", "蒙古", "乌兰巴托"), "Nepal": ("Kathmandu", "Asia", "尼泊尔", "加德满都"),
    "Egypt": ("Cairo", "Africa", "埃及", "开罗"), "Kenya": ("Nairobi", "Africa", "肯尼亚", "内罗毕"),
    "Nigeria": ("Abuja", "Africa", "尼日利亚", "阿布贾"), "Ethiopia": ("Addis Ababa", "Africa", "埃塞俄比亚", "亚的斯亚贝巴"),
    "Morocco": ("Rabat", "Africa", "摩洛哥", "拉巴特"), "Ghana": ("Accra", "Africa", "加纳", "阿克拉"),
    "the United States": ("Washington", "North America", "美国", "华盛顿"), "Canada": ("Ottawa", "North America", "加拿大", "渥太华"),
    "Mexico": ("Mexico City", "North America", "墨西哥", "墨西哥城"), "Cuba": ("Havana", "North America", "古巴", "哈瓦那"),
    "Brazil": ("Brasilia", "South America", "巴西", "巴西利亚"), "Argentina": ("Buenos Aires", "South America", "阿根廷", "布宜诺斯艾利斯"),
    "Chile": ("Santiago", "South America", "智利", "圣地亚哥"), "Peru": ("Lima", "South America", "秘鲁", "利马"),
    "Colombia": ("Bogota", "South America", "哥伦比亚", "波哥大"), "Australia": ("Canberra", "Oceania", "澳大利亚", "堪培拉"),
    "New Zealand": ("Wellington", "Oceania", "新西兰", "惠灵顿"),
    "Serbia": ("Belgrade", "Europe", "塞尔维亚", "贝尔格莱德"), "Croatia": ("Zagreb", "Europe", "克罗地亚", "萨格勒布"),
    "Bulgaria": ("Sofia", "Europe", "保加利亚", "索非亚"), "Slovakia": ("Bratislava", "Europe", "斯洛伐克", "布拉迪斯拉发"),
    "Slovenia": ("Ljubljana", "Europe", "斯洛文尼亚", "卢布尔雅那"), "Estonia": ("Tallinn", "Europe", "爱沙尼亚", "塔林"),
    "Latvia": ("Riga", "Europe", "拉脱维亚", "里加"), "Lithuania": ("Vilnius", "Europe", "立陶宛", "维尔纽斯"),
    "Belarus": ("Minsk", "Europe", "白俄罗斯", "明斯克"), "Albania": ("Tirana", "Europe", "阿尔巴尼亚", "地拉那"),
    "Malta": ("Valletta", "Europe", "马耳他", "瓦莱塔"), "Moldova": ("Chisinau", "Europe", "摩尔多瓦", "基希讷乌"),
    "North Macedonia": ("Skopje", "Europe", "北马其顿", "斯科普里"), "Montenegro": ("Podgorica", "Europe", "黑山", "波德戈里察"),
    "Afghanistan": ("Kabul", "Asia", "阿富汗", "喀布尔"), "Iraq": ("Baghdad", "Asia", "伊拉克", "巴格达"),
    "Syria": ("Damascus", "Asia", "叙利亚", "大马士革"), "Jordan": ("Amman", "Asia", "约旦", "安曼"),
    "Lebanon": ("Beirut", "Asia", "黎巴嫩", "贝鲁特"), "Bangladesh": ("Dhaka", "Asia", "孟加拉国", "达卡"),
    "Myanmar": ("Naypyidaw", "Asia", "缅甸", "内比都"), "Cambodia": ("Phnom Penh", "Asia", "柬埔寨", "金边"),
    "Laos": ("Vientiane", "Asia", "老挝", "万象"), "North Korea": ("Pyongyang", "Asia", "朝鲜", "平壤"),
    "Kazakhstan": ("Astana", "Asia", "哈萨克斯坦", "阿斯塔纳"), "Uzbekistan": ("Tashkent", "Asia", "乌兹别克斯坦", "塔什干"),
    "Qatar": ("Doha", "Asia", "卡塔尔", "多哈"), "Oman": ("Muscat", "Asia", "阿曼", "马斯喀特"),
    "Yemen": ("Sanaa", "Asia", "也门", "萨那"), "Bhutan": ("Thimphu", "Asia", "不丹", "廷布"),
    "Kyrgyzstan": ("Bishkek", "Asia", "吉尔吉斯斯坦", "比什凯克"), "Tajikistan": ("Dushanbe", "Asia", "塔吉克斯坦", "杜尚别"),
    "Turkmenistan": ("Ashgabat", "Asia", "土库曼斯坦", "阿什哈巴德"),
    "the United Arab Emirates": ("Abu Dhabi", "Asia", "阿联酋", "阿布扎比"), "Bahrain": ("Manama", "Asia", "巴林", "麦纳麦"),
    "South Africa": ("Pretoria", "Africa", "南非", "比勒陀利亚"), "Algeria": ("Algiers", "Africa", "阿尔及利亚", "阿尔及尔"),
    "Libya": ("Tripoli", "Africa", "利比亚", "的黎波里"), "Sudan": ("Khartoum", "Africa", "苏丹", "喀土穆"),
    "Uganda": ("Kampala", "Africa", "乌干达", "坎帕拉"), "Tanzania": ("Dodoma", "Africa", "坦桑尼亚", "多多马"),
    "Zambia": ("Lusaka", "Africa", "赞比亚", "卢萨卡"), "Zimbabwe": ("Harare", "Africa", "津巴布韦", "哈拉雷"),
    "Angola": ("Luanda", "Africa", "安哥拉", "罗安达"), "Senegal": ("Dakar", "Africa", "塞内加尔", "达喀尔"),
    "Cameroon": ("Yaounde", "Africa", "喀麦隆", "雅温得"), "Madagascar": ("Antananarivo", "Africa", "马达加斯加", "塔那那利佛"),
    "Mozambique": ("Maputo", "Africa", "莫桑比克", "马普托"), "Rwanda": ("Kigali", "Africa", "卢旺达", "基加利"),
    "Somalia": ("Mogadishu", "Africa", "索马里", "摩加迪沙"), "Namibia": ("Windhoek", "Africa", "纳米比亚", "温得和克"),
    "Jamaica": ("Kingston", "North America", "牙买加", "金斯敦"), "Costa Rica": ("San Jose", "North America", "哥斯达黎加", "圣何塞"),
    "Honduras": ("Tegucigalpa", "North America", "洪都拉斯", "特古西加尔巴"),
    "Nicaragua": ("Managua", "North America", "尼加拉瓜", "马那瓜"), "Haiti": ("Port-au-Prince", "North America", "海地", "太子港"),
    "the Dominican Republic": ("Santo Domingo", "North America", "多米尼加", "圣多明各"),
    "Venezuela": ("Caracas", "South America", "委内瑞拉", "加拉加斯"), "Ecuador": ("Quito", "South America", "厄瓜多尔", "基多"),
    "Paraguay": ("Asuncion", "South America", "巴拉圭", "亚松森"), "Uruguay": ("Montevideo", "South America", "乌拉圭", "蒙得维的亚"),
    "Guyana": ("Georgetown", "South America", "圭亚那", "乔治敦"), "Suriname": ("Paramaribo", "South America", "苏里南", "帕拉马里博"),
    "Fiji": ("Suva", "Oceania", "斐济", "苏瓦"), "Papua New Guinea": ("Port Moresby", "Oceania", "巴布亚新几内亚", "莫尔兹比港"),
    "Samoa": ("Apia", "Oceania", "萨摩亚", "阿皮亚"), "Vanuatu": ("Port Vila", "Oceania", "瓦努阿图", "维拉港")}
# Held-out entities: their facts are stated in the pretraining corpus (pretrain.jsonl) and asked about in sft_val.jsonl,
# never in sft_train.jsonl, so answering them after SFT means extracting knowledge stored by pretraining.
# (the same 16 countries and 9 elements as before the tables grew, so results stay comparable)
HELD_OUT = {"element": ["argon", "beryllium", "boron", "calcium", "fluorine", "helium", "hydrogen", "neon", "oxygen"],
            "country": ["Australia", "Austria", "Canada", "Colombia", "Ethiopia", "Finland", "France", "Germany", "Ireland", "Italy",
                        "Japan", "Mongolia", "New Zealand", "Saudi Arabia", "Switzerland", "the Netherlands"]}
POOLS = {"train": {k: [e for e in table if e not in HELD_OUT[k]] for k, table in (("element", ELEMENTS), ("country", COUNTRIES))},
         "val": HELD_OUT}
POOL = POOLS["train"]   # the entities lookup tasks ask about; `generate` switches it per split
PLANETS = {"Mercury": "水星", "Venus": "金星", "Earth": "地球", "Mars": "火星", "Jupiter": "木星",
           "Saturn": "土星", "Uranus": "天王星", "Neptune": "海王星"}   # in order from the sun
MONTH_DAYS = {1: 31, 2: 28, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
             "October", "November", "December"]
WEEKDAYS = {"en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
            "zh": ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"]}
ORDINALS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"]
PLACES = {"en": ["Ones", "Tens", "Hundreds", "Thousands", "Ten-thousands"],
          "zh": ["个位", "十位", "百位", "千位", "万位"]}
SYSTEMS = {  # (text, style): style "steps" adds a step-by-step opener, "short" = answer only
    "en": [("You are a careful math tutor. Explain each step.", "steps"),
           ("You are a concise assistant. Reply with the answer only.", "short"),
           ("Answer briefly: give only the final answer, no explanation.", "short"),
           ("You are a helpful assistant. End every reply with 'The answer is X.'", "plain"),
           ("You are a patient teacher for young students.", "steps")],
    "zh": [("你是一个简洁的助手，只给出答案。", "short"),
           ("只回答最终结果，不要解释。", "short"),
           ("你是一位细心的数学老师，请一步一步地解释。", "steps"),
           ("你是一个乐于助人的助手，回答的最后一句写“答案是X。”", "plain"),
           ("请用简单的话回答小学生的问题。", "steps")]}


# ----------------------------------------------------------------------------- helpers
def final(lang, x):
    return f"The answer is {x}." if lang == "en" else f"答案是{x}。"


def reply(lang, body, x):
    "Explanation `body` (a string or list of lines) followed by the fixed final sentence."
    text = "\n".join(body) if isinstance(body, list) else body
    sep = "\n" if "\n" in text else (" " if lang == "en" else "")
    return text + sep + final(lang, x)


def dec(x) -> str:
    "A Decimal/int as a plain string without trailing zeros (3.500 -> 3.5, 10 -> 10)."
    s = format(Decimal(x), "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


def tenths(n: int) -> str:
    "An integer number of tenths as a decimal string: 194 -> 19.4, -220 -> -22."
    return dec(Decimal(n) / 10)


def join_and(items, lang):
    items = [str(i) for i in items]
    if lang == "zh": return "、".join(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def plural(n, word, many=None):
    return f"{n} {word if n == 1 else many or word + 's'}"


def num_list(nums, lang):
    return (", " if lang == "en" else "、").join(str(n) for n in nums)


def fmt_date(d, lang):
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else d.isoformat()


def ask_date(d, lang, rng):
    "How a question shows a date: ISO or 'May 17, 2023' in English, 2023年5月17日 in Chinese."
    if lang == "zh": return fmt_date(d, lang)
    return d.isoformat() if rng.random() < 0.5 else f"{MONTHS_EN[d.month - 1]} {d.day}, {d.year}"


def rand_date(rng, y0=1950, y1=2050):
    start = dt.date(y0, 1, 1)
    return start + dt.timedelta(days=rng.randrange((dt.date(y1, 12, 31) - start).days))


def is_leap(y): return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
def month_len(y, m): return 29 if m == 2 and is_leap(y) else MONTH_DAYS[m]
def digits(n): return [int(c) for c in reversed(str(n))]
def pick(rng, templates, **kw): return rng.choice(templates).format(**kw)


# ----------------------------------------------------------------------------- arithmetic
def task_add(lang, rng):
    a, b = rng.randint(10, 999), rng.randint(10, 999)
    q = pick(rng, {"en": ["What is {a} + {b}?", "Compute {a} plus {b}.", "Calculate the sum of {a} and {b}.",
                          "Add {a} and {b}.", "Work out {a} + {b}.", "Can you add {b} to {a}?"],
                   "zh": ["{a} + {b} 等于多少？", "计算{a}加{b}。", "求{a}与{b}的和。", "{a}加上{b}是多少？",
                          "请算一算{a} + {b}。", "帮我算一下{a}和{b}相加的结果。"]}[lang], a=a, b=b)
    da, db, carry, lines = digits(a), digits(b), 0, []
    lines.append("Add column by column from the right:" if lang == "en" else "从个位开始逐位相加：")
    for i in range(max(len(da), len(db))):
        x, y = (da[i] if i < len(da) else 0), (db[i] if i < len(db) else 0)
        s = x + y + carry
        expr = f"{x} + {y}" + (f" + {carry}" if carry else "")
        if lang == "en":
            lines.append(f"{PLACES['en'][i]}: {expr} = {s}" + (f", write {s % 10} and carry 1." if s >= 10 else f", write {s}."))
        else:
            lines.append(f"{PLACES['zh'][i]}：{expr} = {s}" + (f"，写{s % 10}进1。" if s >= 10 else f"，写{s}。"))
        carry = s // 10
    if carry:
        lines.append(f"{PLACES['en'][i + 1]}: write the carried 1." if lang == "en" else f"{PLACES['zh'][i + 1]}：写下进位的1。")
    lines.append(f"So {a} + {b} = {a + b}." if lang == "en" else f"所以{a} + {b} = {a + b}。")
    return q, reply(lang, lines, a + b), str(a + b)


def sub_lines(a, b, lang):
    "Column subtraction a - b (a >= b) with borrowing, one line per column."
    da, db, borrow, lines = digits(a), digits(b), 0, []
    for i in range(len(da)):
        x, y = da[i], (db[i] if i < len(db) else 0)
        if i == len(da) - 1 and x - borrow == 0 and y == 0 and i > 0: break
        cur, place = x - borrow, PLACES[lang][i]
        nxt = PLACES[lang][i + 1].lower() if lang == "en" and i + 1 < len(da) else (PLACES[lang][i + 1] if i + 1 < len(da) else "")
        if lang == "en":
            head = f"{place}: after lending 1, {x} becomes {cur}" if borrow else f"{place}: {x}"
            if cur < y:
                lines.append(f"{head}{', which' if borrow else ''} is smaller than {y}, so borrow 1 from the {nxt}: "
                             f"{cur + 10} - {y} = {cur + 10 - y}.")
            else:
                lines.append(f"{head}, and {cur} - {y} = {cur - y}." if borrow else f"{place}: {x} - {y} = {x - y}.")
        else:
            head = f"{place}：被借走1后，{x}变成{cur}，" if borrow else f"{place}：{x}"
            if cur < y:
                lines.append(f"{head}比{y}小，向{nxt}借1：{cur + 10} - {y} = {cur + 10 - y}。")
            else:
                lines.append(f"{head}{cur} - {y} = {cur - y}。" if borrow else f"{place}：{x} - {y} = {x - y}。")
        borrow = 1 if cur < y else 0
    return lines


def task_sub(lang, rng):
    a, b = rng.randint(10, 999), rng.randint(10, 999)
    if a < b and rng.random() < 0.8: a, b = b, a
    templates = {"en": ["What is {a} - {b}?", "Compute {a} minus {b}.", "Subtract {b} from {a}.", "Calculate {a} - {b}."],
                 "zh": ["{a} - {b} 等于多少？", "计算{a}减{b}。", "{a}减去{b}是多少？", "请算一算{a} - {b}。"]}[lang]
    if a >= b:   # "how much is left" only makes sense without going below zero
        templates = templates + ["What do you get when you take {b} away from {a}?" if lang == "en" else "从{a}里减去{b}，还剩多少？"]
    q = pick(rng, templates, a=a, b=b)
    big, small = max(a, b), min(a, b)
    lines = []
    if a < b:
        lines.append(f"{b} is larger than {a}, so compute {b} - {a} and make the result negative." if lang == "en"
                     else f"{b}比{a}大，所以先算{b} - {a}，结果再取负号。")
    lines.append("Subtract column by column from the right:" if lang == "en" else "从个位开始逐位相减：")
    lines += sub_lines(big, small, lang)
    lines.append(f"So {a} - {b} = {a - b}." if lang == "en" else f"所以{a} - {b} = {a - b}。")
    return q, reply(lang, lines, a - b), str(a - b)


def task_mul(lang, rng):
    a = rng.randint(10, 999)
    b = rng.randint(10, 99) if rng.random() < 0.75 else rng.randint(100, 999)
    if a < b and rng.random() < 0.5: a, b = b, a
    sym = rng.choice(["×", "*", "x"])
    q = pick(rng, {"en": ["What is {a} {s} {b}?", "Multiply {a} by {b}.", "Compute {a} times {b}.",
                          "Calculate the product of {a} and {b}.", "What's {a} times {b}?"],
                   "zh": ["{a} {s} {b} 等于多少？", "计算{a}乘以{b}。", "求{a}和{b}的积。", "{a}乘{b}是多少？",
                          "请算一算{a} × {b}。"]}[lang], a=a, b=b, s=sym)
    parts = [d * 10 ** i for i, d in enumerate(digits(b)) if d][::-1]
    prods = [a * p for p in parts]
    if len(parts) == 1:
        lines = [f"{a} × {b} = {a * b}." if lang == "en" else f"{a} × {b} = {a * b}。"]
        head = parts[0] // 10 ** (len(str(parts[0])) - 1)
        if head != parts[0]:
            z = len(str(parts[0])) - 1
            lines = [f"First {a} × {head} = {a * head}, then append {plural(z, 'zero')}: {a * b}." if lang == "en"
                     else f"先算{a} × {head} = {a * head}，再在末尾添{z}个0：{a * b}。"]
    else:
        plus = " + ".join(map(str, parts))
        lines = [f"Split {b} into {plus}:" if lang == "en" else f"把{b}拆成{plus}："]
        lines += [f"{a} × {p} = {a * p}" + ("." if lang == "en" else "。") for p in parts]
        lines.append((f"Add the partial products: {' + '.join(map(str, prods))} = {a * b}." if lang == "en"
                      else f"把部分积相加：{' + '.join(map(str, prods))} = {a * b}。"))
    return q, reply(lang, lines, a * b), str(a * b)


def task_div(lang, rng):
    d, qt = rng.randint(2, 25), rng.randint(2, 300)
    r = rng.randint(0, d - 1)
    n = d * qt + r
    q = pick(rng, {"en": ["What is {n} divided by {d}, with remainder?", "Divide {n} by {d}. Give the quotient and remainder.",
                          "Compute {n} ÷ {d} as a whole number with a remainder.",
                          "How many times does {d} go into {n}, and what is left over?",
                          "Find the quotient and the remainder of {n} ÷ {d}."],
                   "zh": ["{n}除以{d}，商和余数各是多少？", "计算{n} ÷ {d}，写出商和余数。", "{n}里面有几个{d}？还余多少？",
                          "求{n}除以{d}的商和余数。"]}[lang], n=n, d=d)
    if lang == "en":
        body = (f"{d} × {qt} = {d * qt} is the largest multiple of {d} not above {n} ({d} × {qt + 1} = {d * (qt + 1)} is too big). "
                f"{n} - {d * qt} = {r}, so the quotient is {qt} and the remainder is {r}.")
        return q, reply(lang, body, f"{qt} remainder {r}"), f"{qt} remainder {r}"
    body = (f"{d} × {qt} = {d * qt}，是不超过{n}的最大的{d}的倍数（{d} × {qt + 1} = {d * (qt + 1)}就超过了）。"
            f"{n} - {d * qt} = {r}，所以商是{qt}，余数是{r}。")
    return q, reply(lang, body, f"{qt}余{r}"), f"{qt}余{r}"


# ----------------------------------------------------------------------------- unit conversion
UNITS = {  # key -> (factor, en long names, en abbreviations, zh names)
    "length": (1000, ("kilometres", "metres"), ("km", "m"), ("千米", "米")),
    "mass": (1000, ("kilograms", "grams"), ("kg", "g"), ("千克", "克")),
    "volume": (1000, ("litres", "millilitres"), ("L", "mL"), ("升", "毫升")),
    "hours": (60, ("hours", "minutes"), ("h", "min"), ("小时", "分钟")),
    "minutes": (60, ("minutes", "seconds"), ("min", "s"), ("分钟", "秒")),
}
UNIT_Q = {"en": ["Convert {v} {f} to {t}.", "How many {t} are in {v} {f}?", "What is {v} {fa} in {ta}?",
                 "Express {v} {f} in {t}.", "{v} {fa} = ? {ta}"],
          "zh": ["把{v}{fz}换算成{tz}。", "{v}{fz}等于多少{tz}？", "{v}{fz}是多少{tz}？", "请将{v}{fz}转换为{tz}。"]}


def convert(kind, lang, rng, down=None):
    factor, names, abbr, zh = UNITS[kind]
    down = (rng.random() < 0.4) if down is None and kind in ("length", "mass", "volume") else bool(down)
    if down:   # small unit -> big unit: divide
        v = rng.randint(2, 400) * rng.choice([50, 100, 250, 1000])
        res, i, j = Decimal(v) / factor, 1, 0
    else:      # big unit -> small unit: multiply
        v = Decimal(rng.randint(20, 999)) / 10 if rng.random() < 0.35 else Decimal(rng.randint(2, 120))
        res, i, j = v * factor, 0, 1
    v, res = dec(v), dec(res)
    q = pick(rng, UNIT_Q[lang], v=v, f=names[i], t=names[j], fa=abbr[i], ta=abbr[j], fz=zh[i], tz=zh[j])
    op = ("divide", "÷") if down else ("multiply", "×")
    if lang == "en":
        body = (f"1 {abbr[0]} = {factor} {abbr[1]}, so {op[0]} by {factor}: "
                f"{v} {op[1]} {factor} = {res}. So {v} {abbr[i]} is {res} {abbr[j]}.")
    else:
        body = (f"1{zh[0]} = {factor}{zh[1]}，所以{'除以' if down else '乘以'}{factor}：{v} {op[1]} {factor} = {res}。"
                f"{v}{zh[i]}就是{res}{zh[j]}。")
    return q, reply(lang, body, res), res


def task_unit_length(lang, rng): return convert("length", lang, rng)
def task_unit_mass(lang, rng): return convert("mass", lang, rng)
def task_unit_volume(lang, rng): return convert("volume", lang, rng)
def task_unit_time(lang, rng): return convert(rng.choice(["hours", "minutes"]), lang, rng, down=False)


def c_to_f(c, lang):
    "One line converting integer Celsius c; returns (line, Fahrenheit string)."
    x, f = tenths(c * 18), tenths(c * 18 + 320)
    if lang == "en": return f"{c} × 9/5 = {x}, and {x} + 32 = {f}.", f
    return f"{c} × 9/5 = {x}，{x} + 32 = {f}。", f


def task_unit_temp(lang, rng):
    c = rng.randint(-40, 45)
    q = pick(rng, {"en": ["Convert {c}°C to Fahrenheit.", "What is {c} degrees Celsius in Fahrenheit?", "{c}°C = ?°F",
                          "If it is {c}°C outside, what is the temperature in °F?"],
                   "zh": ["{c}摄氏度等于多少华氏度？", "把{c}°C换算成华氏度。", "{c}°C是多少°F？",
                          "气温是{c}°C，换成华氏度是多少？"]}[lang], c=c)
    line, f = c_to_f(c, lang)
    body = (f"Use F = C × 9/5 + 32. {line} So {c}°C is {f}°F." if lang == "en"
            else f"用公式 F = C × 9/5 + 32。{line}所以{c}°C等于{f}°F。")
    return q, reply(lang, body, f), f


# ----------------------------------------------------------------------------- strings
def task_str_reverse(lang, rng):
    if lang == "en":
        w = rng.choice(WORDS_EN)
        q = pick(rng, ["Reverse the word '{w}'.", "Write '{w}' backwards.", "What is '{w}' spelled backwards?",
                       "Spell the word {w} in reverse order."], w=w)
        body = f"The letters are {'-'.join(w)}. Read from the end they give {'-'.join(w[::-1])}."
    else:
        w = rng.choice(PHRASES_ZH)
        q = pick(rng, ["把“{w}”倒过来写。", "将“{w}”的字序颠倒，结果是什么？", "“{w}”反过来读是什么？",
                       "请把“{w}”从后往前写一遍。"], w=w)
        body = f"原来的顺序是{'、'.join(w)}，从最后一个字往前读是{'、'.join(w[::-1])}。"
    return q, reply(lang, body, w[::-1]), w[::-1]


def task_str_length(lang, rng):
    if lang == "en":
        w = rng.choice(WORDS_EN)
        q = pick(rng, ["How many letters are in the word '{w}'?", "Count the letters in '{w}'.",
                       "How long is the word {w}, in letters?", "What is the number of letters in '{w}'?"], w=w)
        body = f"Spell it out: {'-'.join(w)}. Counting them gives {len(w)} letters."
    else:
        w = rng.choice(PHRASES_ZH)
        q = pick(rng, ["“{w}”有几个字？", "数一数“{w}”一共有多少个汉字。", "“{w}”这个短语由多少个字组成？"], w=w)
        body = f"逐字数一数：{'、'.join(w)}，一共{len(w)}个字。"
    return q, reply(lang, body, len(w)), str(len(w))


def task_str_count(lang, rng):
    if lang == "en":
        w = rng.choice(WORDS_EN)
        c = rng.choice(w) if rng.random() < 0.85 else rng.choice([x for x in "abcdefghijklmnopqrstuvwxyz" if x not in w])
        q = pick(rng, ["How many times does the letter '{c}' appear in '{w}'?", "Count the letter '{c}' in the word {w}.",
                       "In '{w}', how many '{c}'s are there?"], w=w, c=c)
        pos = [i + 1 for i, x in enumerate(w) if x == c]
        body = (f"Spell it out: {'-'.join(w)}. " + (f"The letter '{c}' is at {'position' if len(pos) == 1 else 'positions'} {join_and(pos, lang)}, so it appears {plural(len(pos), 'time')}."
                                                   if pos else f"The letter '{c}' does not appear, so 0 times."))
    else:
        w = rng.choice(PHRASES_ZH)
        c = rng.choice(w) if rng.random() < 0.85 else rng.choice([x for x in "天地人山水日月大小" if x not in w])
        q = pick(rng, ["“{w}”里有几个“{c}”字？", "数一数“{w}”中“{c}”出现了几次。", "“{c}”在“{w}”中出现了多少次？"], w=w, c=c)
        pos = [i + 1 for i, x in enumerate(w) if x == c]
        body = f"逐字看：{'、'.join(w)}。" + (f"“{c}”在第{'、'.join(map(str, pos))}个位置，共出现{len(pos)}次。" if pos
                                          else f"里面没有“{c}”，所以是0次。")
    n = len(pos)
    return q, reply(lang, body, n), str(n)


def task_str_upper(lang, rng):
    w = rng.choice(WORDS_EN)
    if lang == "en":
        q = pick(rng, ["Write '{w}' in uppercase.", "Convert the word {w} to capital letters.",
                       "What is '{w}' in all caps?", "Change every letter of '{w}' to uppercase."], w=w)
        body = f"Replace each letter with its capital form: {'-'.join(w)} becomes {'-'.join(w.upper())}."
    else:
        q = pick(rng, ["把英文单词“{w}”改成全部大写。", "将“{w}”转换成大写字母。", "“{w}”写成大写是什么？"], w=w)
        body = f"把每个字母都换成对应的大写字母：{'-'.join(w)}变成{'-'.join(w.upper())}。"
    return q, reply(lang, body, w.upper()), w.upper()


def task_str_first_last(lang, rng):
    first = rng.random() < 0.5
    if lang == "en":
        w = rng.choice(WORDS_EN)
        which = "first" if first else "last"
        q = pick(rng, ["What is the {k} letter of '{w}'?", "Give the {k} letter of the word {w}.",
                       "Which letter does '{w}' {e} with?"], w=w, k=which, e="start" if first else "end")
        ans = w[0] if first else w[-1]
        body = f"Spell it out: {'-'.join(w)}. The {which} letter is '{ans}'."
    else:
        w = rng.choice(PHRASES_ZH)
        which = "第一个" if first else "最后一个"
        q = pick(rng, ["“{w}”的{k}字是什么？", "写出“{w}”的{k}字。", "“{w}”{e}的是哪个字？"], w=w, k=which,
                 e="开头" if first else "结尾")
        ans = w[0] if first else w[-1]
        body = f"逐字看：{'、'.join(w)}。{which}字是“{ans}”。"
    return q, reply(lang, body, ans), ans


# ----------------------------------------------------------------------------- dates
def task_date_weekday(lang, rng):
    d = rand_date(rng)
    q = pick(rng, {"en": ["What day of the week is {d}?", "On which weekday does {d} fall?", "Which day of the week was {d}?",
                          "Tell me the weekday of {d}."],
                   "zh": ["{d}是星期几？", "{d}那天是周几？", "请问{d}是星期几？", "算一算{d}是星期几。"]}[lang],
             d=ask_date(d, lang, rng))
    delta = (d - dt.date(2000, 1, 1)).days
    wd = WEEKDAYS[lang][d.weekday()]
    k = abs(delta) % 7
    if lang == "en":
        way = "after" if delta >= 0 else "before"
        body = (f"January 1, 2000 was a Saturday. {d.isoformat()} is {abs(delta)} days {way} that date. "
                f"{abs(delta)} mod 7 = {k}, so move {plural(k, 'day')} {'forward' if delta >= 0 else 'back'} from Saturday: {wd}.")
    else:
        way = "之后" if delta >= 0 else "之前"
        body = (f"2000年1月1日是星期六。{fmt_date(d, lang)}在它{way}{abs(delta)}天。{abs(delta)}除以7余{k}，"
                f"所以从星期六{'往后' if delta >= 0 else '往前'}数{k}天，是{wd}。")
    return q, reply(lang, body, wd), wd


def task_date_add(lang, rng):
    d, n = rand_date(rng), rng.randint(1, 200)
    q = pick(rng, {"en": ["What date is {n} days after {d}?", "If today is {d}, what will the date be in {n} days?",
                          "Add {n} days to {d}. What is the new date (YYYY-MM-DD)?", "Which date comes {n} days after {d}?"],
                   "zh": ["{d}之后{n}天是哪一天？", "从{d}往后数{n}天是几月几日？", "如果今天是{d}，{n}天后是哪天？",
                          "{d}加上{n}天是什么日期？"]}[lang], n=n, d=ask_date(d, lang, rng))
    res = d + dt.timedelta(days=n)
    y, m = d.year, d.month
    left = month_len(y, m) - d.day
    en = lang == "en"
    mname = (lambda mm: MONTHS_EN[mm - 1]) if en else (lambda mm: f"{mm}月")
    if n <= left:
        lines = [f"{mname(m)} {y} has {month_len(y, m)} days and {d.day} + {n} = {d.day + n}, so we stay in {mname(m)}." if en
                 else f"{y}年{m}月有{month_len(y, m)}天，{d.day} + {n} = {d.day + n}，还在{m}月之内。"]
    else:
        rem = n - left
        if left == 0:
            lines = [f"Day {d.day} is the last day of {mname(m)} {y}, so all {n} days fall in the following months." if en
                     else f"{d.day}日是{y}年{m}月的最后一天，所以{n}天都要在后面的月份里数。"]
        else:
            lines = [f"{mname(m)} {y} has {month_len(y, m)} days, so {plural(left, 'day')} {'remains' if left == 1 else 'remain'} after day {d.day}; {n} - {left} = {rem} to go." if en
                     else f"{y}年{m}月有{month_len(y, m)}天，{d.day}日之后本月还剩{left}天；{n} - {left} = {rem}，还要再走{rem}天。"]
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        while rem > month_len(y, m):
            ml = month_len(y, m)
            lines.append(f"{mname(m)} {y} has {ml} days: {rem} - {ml} = {rem - ml}." if en else f"{y}年{m}月有{ml}天：{rem} - {ml} = {rem - ml}。")
            rem -= ml
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        lines.append(f"That leaves day {rem} of {mname(m)} {y}." if en else f"最后落在{y}年{m}月{rem}日。")
        assert dt.date(y, m, rem) == res
    return q, reply(lang, lines, fmt_date(res, lang)), fmt_date(res, lang)


def task_date_between(lang, rng):
    d1 = rand_date(rng, 1990, 2040)
    n = rng.randint(1, 900)
    d2 = d1 + dt.timedelta(days=n)
    q = pick(rng, {"en": ["How many days are there between {a} and {b}?", "Count the days from {a} to {b}.",
                          "How many days after {a} is {b}?", "What is the number of days from {a} until {b}?"],
                   "zh": ["{a}到{b}之间相差多少天？", "从{a}到{b}一共过了多少天？", "{b}比{a}晚多少天？",
                          "计算{a}与{b}相隔的天数。"]}[lang], a=ask_date(d1, lang, rng), b=ask_date(d2, lang, rng))
    a, b = d1.timetuple().tm_yday, d2.timetuple().tm_yday
    f1, f2 = fmt_date(d1, lang), fmt_date(d2, lang)
    if d1.year == d2.year:
        body = (f"{f1} is day {a} of {d1.year} and {f2} is day {b}, so the difference is {b} - {a} = {n} days." if lang == "en"
                else f"{f1}是当年的第{a}天，{f2}是第{b}天，相差{b} - {a} = {n}天。")
        return q, reply(lang, body, n), str(n)
    l1 = 366 if is_leap(d1.year) else 365
    mid = [366 if is_leap(yy) else 365 for yy in range(d1.year + 1, d2.year)]
    terms = [l1 - a] + ([sum(mid)] if mid else []) + [b]
    assert sum(terms) == n
    if lang == "en":
        lines = [f"{d1.year} has {l1} days and {f1} is day {a}, so {plural(l1 - a, 'day')} of {d1.year} {'remains' if l1 - a == 1 else 'remain'} after it."]
        if mid: lines.append(f"The full {'year' if len(mid) == 1 else 'years'} {join_and(range(d1.year + 1, d2.year), lang)} "
                             f"{'adds' if len(mid) == 1 else 'add'} {sum(mid)} days.")
        lines.append(f"{f2} is day {b} of {d2.year}. Total: {' + '.join(map(str, terms))} = {n} days.")
    else:
        lines = [f"{d1.year}年有{l1}天，{f1}是第{a}天，之后这一年还剩{l1 - a}天。"]
        if mid: lines.append(f"中间的整年{join_and(range(d1.year + 1, d2.year), lang)}年共{sum(mid)}天。")
        lines.append(f"{f2}是{d2.year}年的第{b}天。合计：{' + '.join(map(str, terms))} = {n}天。")
    return q, reply(lang, lines, n), str(n)


def task_date_leap(lang, rng):
    y = rng.randint(1600, 2400) if rng.random() < 0.7 else rng.randint(16, 24) * 100 + rng.choice([0, 0, 4, 8])
    q = pick(rng, {"en": ["Is {y} a leap year?", "Is the year {y} a leap year? Answer yes or no.", "Tell me whether {y} is a leap year.",
                          "Does {y} have a February 29?"],
                   "zh": ["{y}年是闰年吗？", "判断{y}年是不是闰年。", "{y}年是否为闰年？", "{y}年是闰年还是平年？"]}[lang], y=y)
    leap = is_leap(y)
    if lang == "en":
        why = (f"{y} is not divisible by 4" if y % 4 else f"{y} is divisible by 4 but not by 100" if y % 100
               else f"{y} is divisible by 100 but not by 400" if y % 400 else f"{y} is divisible by 400")
        body, ans = f"{why}, so it is {'' if leap else 'not '}a leap year.", "yes" if leap else "no"
    else:
        why = (f"{y}不能被4整除" if y % 4 else f"{y}能被4整除但不能被100整除" if y % 100
               else f"{y}能被100整除但不能被400整除" if y % 400 else f"{y}能被400整除")
        body, ans = f"{why}，所以{y}年{'是闰年' if leap else '不是闰年，是平年'}。", "闰年" if leap else "平年"
    return q, reply(lang, body, ans), ans


# ----------------------------------------------------------------------------- lookup tables
def task_lookup_element(lang, rng, table=None):
    "Element facts. The reply restates the question's words up to the element (the token before it is the same as in the"
    " question, so the model copies the element instead of recalling one it was fine-tuned on), then completes a sentence"
    " the pretraining corpus states."
    table = table or {n: ELEMENTS[n] for n in POOL["element"]}
    kind = rng.choice(["symbol", "symbol", "number", "pair", "name"])
    n1, n2 = rng.sample(sorted(table), 2)
    (z1, zh1, s1), (z2, zh2, s2) = table[n1], table[n2]
    if lang == "en":
        if kind == "pair":
            q = pick(rng, ["What are the chemical symbols of {a} and {b}?", "Give the chemical symbols of {a} and {b}."], a=n1, b=n2)
            ans = f"{s1}, {s2}"
            body = f"The chemical symbol of {n1} is {s1}. The chemical symbol of {n2} is {s2}."
        elif kind == "name":
            q = pick(rng, ["The symbol {s} stands for which element?", "Which element does the symbol {s} stand for?"], s=s1)
            ans, body = n1.capitalize(), f"The symbol {s1} stands for {n1}."
        elif kind == "number":
            q = pick(rng, ["What is the symbol of the element with atomic number {z}?", "Name the element with atomic number {z} and its symbol."], z=z1)
            ans, body = s1, f"The element with atomic number {z1} is {n1}, symbol {s1}."
        else:
            q = pick(rng, ["What is the chemical symbol of {n}?", "Give the chemical symbol of {n}.", "Tell me the chemical symbol of {n}."], n=n1)
            ans, body = s1, f"The chemical symbol of {n1} is {s1}."
    else:
        if kind == "pair":
            q = pick(rng, ["请问，{a}和{b}的元素符号分别是什么？", "请写出，{a}和{b}的元素符号。"], a=zh1, b=zh2)
            ans = f"{s1}、{s2}"
            body = f"好的，{zh1}的元素符号是{s1}，{zh2}的元素符号是{s2}。"
        elif kind == "name":
            q = pick(rng, ["请问，元素符号{s}代表哪种元素？", "我想知道，元素符号{s}代表什么元素？"], s=s1)
            ans, body = zh1, f"好的，元素符号{s1}代表{zh1}。"
        elif kind == "number":
            q = pick(rng, ["请问，原子序数为{z}的元素符号是什么？", "我想知道，原子序数为{z}的元素是什么？"], z=z1)
            ans, body = s1, f"好的，原子序数为{z1}的元素是{zh1}，符号{s1}。"
        else:
            q = pick(rng, ["请问，{n}的元素符号是什么？", "我想知道，{n}的元素符号是什么？", "考考你，{n}的元素符号是什么？"], n=zh1)
            ans, body = s1, f"好的，{zh1}的元素符号是{s1}。"
    return q, reply(lang, body, ans), ans


def task_lookup_planet(lang, rng):
    order = list(PLANETS)
    en = lang == "en"
    seq = ", ".join(order) if en else "、".join(PLANETS.values())
    intro = f"In order from the sun: {seq}." if en else f"按离太阳由近到远的顺序：{seq}。"
    name = (lambda p: p) if en else (lambda p: PLANETS[p])
    kind = rng.choice(["at", "pos", "next", "prev"])
    i = rng.randrange(1, 7) if kind in ("next", "prev") else rng.randrange(8)
    p = order[i]
    if kind == "at":
        q = pick(rng, ["Which planet is {o} from the sun?", "Counting from the sun, what is planet number {k}?"] if en
                 else ["从太阳往外数，第{k}颗行星是哪颗？", "离太阳第{k}近的行星是什么？"], o=ORDINALS[i], k=i + 1)
        ans, tail = name(p), (f"Number {i + 1} is {p}." if en else f"第{i + 1}颗是{PLANETS[p]}。")
    elif kind == "pos":
        q = pick(rng, ["What position is {p} in, counting from the sun?", "Counting outward from the sun, which number planet is {p}?"] if en
                 else ["{p}是离太阳第几近的行星？", "从太阳往外数，{p}排第几？"], p=name(p))
        ans, tail = str(i + 1), (f"{p} is number {i + 1}." if en else f"{PLANETS[p]}排在第{i + 1}位。")
    else:
        j = i + 1 if kind == "next" else i - 1
        q = pick(rng, ["Which planet comes right after {p}, going outward from the sun?"] if en and kind == "next"
                 else ["Which planet comes just before {p}, counting from the sun?"] if en
                 else ["{p}外侧紧挨着的是哪颗行星？"] if kind == "next" else ["{p}内侧紧挨着的是哪颗行星？"], p=name(p))
        ans, tail = name(order[j]), (f"The one {'after' if kind == 'next' else 'before'} {p} is {order[j]}." if en
                                      else f"{PLANETS[p]}{'外侧' if kind == 'next' else '内侧'}紧挨着的是{PLANETS[order[j]]}。")
    return q, reply(lang, intro + (" " if en else "") + tail, ans), ans


def task_lookup_month(lang, rng):
    y, m = rng.randint(1900, 2100), rng.randint(1, 12)
    if rng.random() < 0.3: m = 2
    n = month_len(y, m)
    if lang == "en":
        q = pick(rng, ["How many days are in {M} {y}?", "How many days does {M} {y} have?", "Number of days in {M} {y}?"],
                 M=MONTHS_EN[m - 1], y=y)
        body = (f"February has 29 days in a leap year and 28 otherwise; {y} is {'' if is_leap(y) else 'not '}a leap year." if m == 2
                else f"{MONTHS_EN[m - 1]} always has {n} days.")
    else:
        q = pick(rng, ["{y}年{m}月有多少天？", "{y}年{m}月一共几天？", "请问{y}年的{m}月有几天？"], y=y, m=m)
        body = (f"2月在闰年有29天，平年有28天；{y}年{'是' if is_leap(y) else '不是'}闰年。" if m == 2
                else f"{m}月总是有{n}天。")
    return q, reply(lang, body, n), str(n)


def task_lookup_capital(lang, rng, table=None):
    "Capitals and continents: the reply restates the question up to the country or city (copied, after the same word as in"
    " the question), then completes the fact as the pretraining corpus states it, then the answer."
    table = table or {c: COUNTRIES[c] for c in POOL["country"]}
    c = rng.choice(sorted(table))
    cap, cont, zc, zcap = table[c]
    en, kind = lang == "en", rng.choice(["capital", "capital", "capital", "country", "continent"])
    if kind == "capital":
        q = pick(rng, ["What is the capital of {c}?", "Which city is the capital of {c}?", "Tell me the capital of {c}.",
                       "Do you know the capital of {c}?"] if en
                 else ["请问，{c}的首都是哪里？", "我想知道，{c}的首都是哪座城市？", "考考你，{c}的首都叫什么？", "请告诉我，{c}的首都是什么？"],
                 c=c if en else zc)
        body, ans = (f"The capital of {c} is {cap}." if en else f"好的，{zc}的首都是{zcap}。"), (cap if en else zcap)
    elif kind == "country":
        q = pick(rng, ["The city {cap} is the capital of which country?", "Which country has the city {cap} as its capital?"] if en
                 else ["请问，{cap}是哪个国家的首都？", "我想知道，{cap}是哪国的首都？"], cap=cap if en else zcap)
        body, ans = (f"The city {cap} is the capital of {c}." if en else f"好的，{zcap}是{zc}的首都。"), (c if en else zc)
    else:
        q = pick(rng, ["On which continent is the country {c}?", "Which continent is the country {c} in?"] if en
                 else ["请问，{c}位于哪个大洲？", "我想知道，{c}在哪个洲？"], c=c if en else zc)
        body, ans = (f"The country {c} is in {cont}." if en else f"好的，{zc}位于{CONTINENTS[cont]}。"), (cont if en else CONTINENTS[cont])
    return q, reply(lang, body, ans), ans



# Characters of the fine-tuned countries' and capitals' Chinese names: made-up names built from them practise copying a
# name character by character against names the model knows that share a first character (爱尔兰 / 爱沙尼亚).
ZH_NAME_CHARS = sorted({ch for c in POOLS["train"]["country"] for ch in COUNTRIES[c][2] + COUNTRIES[c][3]})
REAL_NAMES = {x for c, v in COUNTRIES.items() for x in (c, v[0], v[2], v[3])} | {x for n, v in ELEMENTS.items() for x in (n, v[1], v[2])}
HELD_KEYS = [k for c in HELD_OUT["country"] for k in (c, COUNTRIES[c][0], COUNTRIES[c][2], COUNTRIES[c][3])] + \
            [k for n in HELD_OUT["element"] for k in (n, ELEMENTS[n][1])]


def made_up(rng, make):
    "A made-up name from `make(rng)` that is no real table entry and holds no held-out name."
    while True:
        x = make(rng)
        if x not in REAL_NAMES and not any(k.lower() in x.lower() for k in HELD_KEYS): return x


def zh_made_up(rng, lo=2, hi=4):
    return made_up(rng, lambda r: "".join(r.choice(ZH_NAME_CHARS) for _ in range(r.randint(lo, hi))))


def made_up_country(rng):
    "`{name: (capital, continent, Chinese name, Chinese capital)}` for one made-up country."
    return {made_up(rng, lambda r: random_name("en", r)): (made_up(rng, lambda r: random_name("en", r)),
            rng.choice(sorted(CONTINENTS)), zh_made_up(rng), zh_made_up(rng))}


def made_up_elements(rng, k):
    "`{name: (atomic number, Chinese name, symbol)}` for `k` made-up elements (numbers 120-199, two-letter symbols no"
    " real element has)."
    real_syms, table = {v[2] for v in ELEMENTS.values()}, {}
    while len(table) < k:
        n = made_up(rng, lambda r: (random_name("en", r) + "ium").lower())
        sym = rng.choice("ABDEGJKLMQRTUVWXZ") + rng.choice("abdeghjkmqtvwxz")
        zh = zh_made_up(rng, 2, 2)
        if sym in real_syms or any(sym == v[2] or zh == v[1] for v in table.values()): continue
        table[n] = (rng.randint(120, 199), zh, sym)
    return table


def made_up_context(table, lang, rng):
    "Two sentences per entity of `table` that state every fact a lookup question about it may need."
    en, ctx = lang == "en", []
    for name, v in table.items():
        if len(v) == 4:   # a country: its capital, then its continent
            facts = country_facts(name, lang, table)
            ctx += [rng.choice([f for f in facts if v[0 if en else 3] in f]), rng.choice([f for f in facts if (v[1] if en else CONTINENTS[v[1]]) in f])]
        else:   # an element: one sentence with all three facts, one more at random
            facts = element_facts(name, lang, table)
            one = rng.choice([f for f in facts if str(v[0]) in f and v[2] in f and (name if en else v[1]) in f])
            ctx += rng.sample([one, rng.choice([f for f in facts if f != one])], 2)
    return ctx


def task_lookup_context(lang, rng):
    "A lookup about a made-up country or element whose facts the question states first: the same questions and replies"
    " as `lookup_capital` / `lookup_element`, but no name can be recalled from fine-tuning, so the reply must copy"
    " them from the context and the final answer must be copied from the reply's own sentence."
    en = lang == "en"
    if rng.random() < 0.55: table = made_up_country(rng); q, r, a = task_lookup_capital(lang, rng, table)
    else: table = made_up_elements(rng, 2); q, r, a = task_lookup_element(lang, rng, table)
    intro = pick(rng, ["Here are some made-up facts. {f}", "Suppose that this is true: {f}", "Read this: {f}"] if en
                 else ["下面是虚构的事实。{f}", "假设：{f}", "读一读：{f}"], f=(" " if en else "").join(made_up_context(table, lang, rng)))
    return intro + ("\n" if rng.random() < 0.5 else (" " if en else "")) + q, r, a


SYLLABLES = ["ka", "lo", "ri", "ta", "ven", "mor", "sa", "li", "dor", "an", "el", "tor", "mi", "ru", "bel", "qua", "zen",
             "fa", "ho", "nia", "gar", "pel", "sto", "vi", "ne", "lan", "cor", "du", "ba", "shi", "wen", "ra"]
HANZI_NAMES = "林晓雨王明华李静杨帆周航吴敏郑凯孙悦朱琳何平高远罗兰宋江谢云韩梅冯涛曹阳彭飞"


def random_name(lang, rng):
    if lang == "en": return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    return "".join(rng.choice(HANZI_NAMES) for _ in range(rng.randint(2, 3)))


def task_copy_name(lang, rng):
    "Names made up on the spot: the reply copies the name from the question (a skill lookups need for any entity)."
    n = random_name(lang, rng)
    if lang == "en":
        kind = rng.randrange(3)
        q = ["My friend is called {n}. What is my friend's name?", "I live in a town called {n}. Which town do I live in?",
             "Our cat's name is {n}. What is the name of our cat?"][kind].format(n=n)
        body = ["Your friend is called {n}.", "You live in the town {n}.", "Your cat's name is {n}."][kind].format(n=n)
    else:
        kind = rng.randrange(3)
        q = ["我的朋友叫{n}。我的朋友叫什么名字？", "我住在一个叫{n}的小镇。我住在哪个小镇？", "我们家的猫叫{n}。猫叫什么？"][kind].format(n=n)
        body = ["好的，你的朋友叫{n}。", "好的，你住在{n}镇。", "好的，你们家的猫叫{n}。"][kind].format(n=n)
    return q, reply(lang, body, n), n


# ----------------------------------------------------------------------------- lists
def rand_nums(rng, k=None):
    k = k or rng.randint(4, 8)
    hi = rng.choice([99, 999])
    return [rng.randint(1, hi) for _ in range(k)]


def sum_line(nums, lang):
    steps, t = [], nums[0]
    for x in nums[1:]:
        steps.append(f"{t} + {x} = {t + x}")
        t += x
    return ("Add them one by one: " + ", ".join(steps) + "." if lang == "en" else "逐个相加：" + "，".join(steps) + "。"), t


def task_list_sort(lang, rng):
    nums = rand_nums(rng)
    up = rng.random() < 0.6
    ls = num_list(nums, lang)
    if lang == "en":
        q = pick(rng, ["Sort these numbers from smallest to largest: {l}.", "Put {l} in ascending order."] if up
                 else ["Sort these numbers from largest to smallest: {l}.", "Arrange in descending order: {l}."], l=ls)
    else:
        q = pick(rng, ["把这些数从小到大排列：{l}。", "请把下列数字按升序排列：{l}。"] if up
                 else ["把这些数从大到小排列：{l}。", "将{l}按从大到小的顺序排序。"], l=ls)
    s = sorted(nums, reverse=not up)
    ans = num_list(s, lang)
    body = (f"Take the {'smallest' if up else 'largest'} remaining number each time: {' → '.join(map(str, s))}." if lang == "en"
            else f"每次取剩下的数里{'最小' if up else '最大'}的：{' → '.join(map(str, s))}。")
    return q, reply(lang, body, ans), ans


def task_list_maxmin(lang, rng):
    nums, big = rand_nums(rng), rng.random() < 0.5
    ls = num_list(nums, lang)
    if lang == "en":
        q = pick(rng, ["Which number is the largest in {l}?", "Find the maximum of {l}."] if big
                 else ["What is the smallest number among {l}?", "Find the minimum of {l}."], l=ls)
    else:
        q = pick(rng, ["{l}中最大的数是多少？", "找出这组数里最大的数：{l}。"] if big
                 else ["{l}中最小的数是多少？", "找出这组数里最小的数：{l}。"], l=ls)
    best, trail = nums[0], [nums[0]]
    for x in nums[1:]:
        best = max(best, x) if big else min(best, x)
        trail.append(best)
    word = ("largest" if big else "smallest") if lang == "en" else ("最大" if big else "最小")
    body = (f"Scan left to right, keeping the {word} so far: {' → '.join(map(str, trail))}." if lang == "en"
            else f"从左到右比较，记下目前{word}的数：{' → '.join(map(str, trail))}。")
    return q, reply(lang, body, best), str(best)


def task_list_sum(lang, rng):
    nums = rand_nums(rng)
    ls = num_list(nums, lang)
    q = pick(rng, {"en": ["What is the sum of {l}?", "Add up these numbers: {l}.", "Find the total of {l}."],
                   "zh": ["求{l}的和。", "把这些数加起来：{l}。", "{l}的总和是多少？"]}[lang], l=ls)
    body, t = sum_line(nums, lang)
    return q, reply(lang, body, t), str(t)


def task_list_even(lang, rng):
    nums = rand_nums(rng)
    ls = num_list(nums, lang)
    q = pick(rng, {"en": ["How many even numbers are in {l}?", "Count the even numbers in this list: {l}."],
                   "zh": ["{l}中有几个偶数？", "数一数这组数里有多少个偶数：{l}。"]}[lang], l=ls)
    ev = [x for x in nums if x % 2 == 0]
    if lang == "en":
        body = (f"The even ones (divisible by 2) are {join_and(ev, lang)}, so there are {len(ev)}." if ev
                else "None of them is divisible by 2, so there are 0.")
    else:
        body = f"能被2整除的有{join_and(ev, lang)}，共{len(ev)}个。" if ev else "没有一个能被2整除，所以是0个。"
    return q, reply(lang, body, len(ev)), str(len(ev))


TASKS = {  # name -> (function, weight)
    "arith_add": (task_add, 3), "arith_sub": (task_sub, 3), "arith_mul": (task_mul, 3), "arith_div": (task_div, 2),
    "unit_length": (task_unit_length, 1), "unit_mass": (task_unit_mass, 1), "unit_volume": (task_unit_volume, 1),
    "unit_time": (task_unit_time, 1), "unit_temp": (task_unit_temp, 1.5),
    "str_reverse": (task_str_reverse, 1), "str_length": (task_str_length, 1), "str_count": (task_str_count, 1),
    "str_upper": (task_str_upper, 0.7), "str_first_last": (task_str_first_last, 1),
    "date_weekday": (task_date_weekday, 1), "date_add": (task_date_add, 1), "date_between": (task_date_between, 1),
    "date_leap": (task_date_leap, 1), "lookup_element": (task_lookup_element, 4), "lookup_capital": (task_lookup_capital, 6), "lookup_planet": (task_lookup_planet, 1),
    "lookup_month": (task_lookup_month, 1), "copy_name": (task_copy_name, 3), "list_sort": (task_list_sort, 1), "list_maxmin": (task_list_maxmin, 1),
    "list_sum": (task_list_sum, 1), "list_even": (task_list_even, 1), "lookup_context": (task_lookup_context, 5)}


VAL_WEIGHTS = {"lookup_element": 8, "lookup_capital": 10, "lookup_context": 0}   # sft_val.jsonl asks more often about the held-out facts
WEIGHTS = {k: w for k, (_, w) in TASKS.items()}   # the task mix of the split being generated (see `generate`)


def random_task(lang, rng):
    name = rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
    q, r, a = TASKS[name][0](lang, rng)
    return name, q, r, a


# ----------------------------------------------------------------------------- conversation builders
# A turn is (user text, assistant reply, answer, task name, is_task_prompt); follow-ups are not task prompts.
FOLLOW = {"en": {"double": ["And now double it?", "What if you double that?", "Double the result, please."],
                 "triple": ["And times 3?", "Now triple it.", "What is three times that?"],
                 "add": ["Add {k} to that.", "And if we add {k}?", "What do we get after adding {k}?"],
                 "sub": ["Subtract {k} from it.", "And minus {k}?", "Now take away {k}."],
                 "half": ["What is half of that?", "Now halve it.", "And divided by 2?"],
                 "mul": ["Multiply the result by {k}.", "And times {k}?"]},
          "zh": {"double": ["再乘以2呢？", "把结果翻倍呢？", "那它的两倍是多少？"],
                 "triple": ["再乘以3呢？", "它的三倍是多少？"],
                 "add": ["再加上{k}呢？", "结果加{k}等于多少？", "然后加上{k}呢？"],
                 "sub": ["再减去{k}呢？", "结果减{k}是多少？"],
                 "half": ["它的一半是多少？", "再除以2呢？"],
                 "mul": ["再乘以{k}呢？", "结果乘以{k}是多少？"]}}
CONFIRM = {"en": ["Are you sure?", "Can you double-check that?", "Please check that again."],
           "zh": ["你确定吗？", "能再检查一遍吗？", "请再核对一下。"]}
CONNECT = {"en": ["", "", "Next: ", "Another one: ", "Thanks! Now: "], "zh": ["", "", "下一题：", "再问一个：", "谢谢！接着问："]}


def followup_turn(x, lang, rng):
    "An arithmetic follow-up on the previous integer answer x."
    op = rng.choice(["double", "triple", "add", "sub", "mul"] + (["half"] if x % 2 == 0 else []))
    k = {"add": rng.randint(2, 99), "sub": rng.randint(2, 99), "mul": rng.randint(4, 9)}.get(op, 0)
    y, expr = {"double": (x * 2, f"{x} × 2"), "triple": (x * 3, f"{x} × 3"), "add": (x + k, f"{x} + {k}"),
               "sub": (x - k, f"{x} - {k}"), "mul": (x * k, f"{x} × {k}"), "half": (x // 2, f"{x} ÷ 2")}[op]
    body = f"Starting from the previous result {x}: {expr} = {y}." if lang == "en" else f"在上一个结果{x}的基础上：{expr} = {y}。"
    return (pick(rng, FOLLOW[lang][op], k=k), reply(lang, body, y), str(y), "followup_arith", False)


def is_int(a): return re.fullmatch(r"-?\d+", a) is not None


def build_multi(lang, rng):
    kind = rng.choices(["followup", "chain", "confirm"], weights=[5, 4, 1.5])[0]
    if kind == "chain":
        turns = []
        for j in range(rng.randint(2, 4)):
            name, q, r, a = random_task(lang, rng)
            turns.append(((rng.choice(CONNECT[lang]) if j else "") + q, r, a, name, True))
        return turns
    name, q, r, a = random_task(lang, rng)
    while kind == "followup" and not is_int(a):
        name, q, r, a = random_task(lang, rng)
    turns = [(q, r, a, name, True)]
    if kind == "confirm":
        body = "Let me check it once more: going over the steps again gives the same result." if lang == "en" else "我再核对一遍：重新检查每一步，结果不变。"
        turns.append((rng.choice(CONFIRM[lang]), reply(lang, body, a), a, "followup_confirm", False))
    for _ in range(rng.randint(1, 3) if kind == "followup" else (rng.randint(0, 1) if is_int(a) else 0)):
        turns.append(followup_turn(int(turns[-1][2]), lang, rng))
    return turns


def long_table(lang, rng):
    n, k = rng.choice([x for x in range(3, 20) if x != 10]), rng.randint(30, 36)
    q = (f"Write out the multiplication table of {n} from {n} × 1 to {n} × {k}. Explain each line briefly, keep a running "
         f"total of the products, and tell me the sum of all {k} products." if lang == "en"
         else f"请写出{n}的乘法表，从{n} × 1到{n} × {k}，每一行简单说明，并记录乘积的累计和，最后告诉我这{k}个乘积的总和。")
    lines, total = [], 0
    for i in range(1, k + 1):
        p, prev = n * i, n * (i - 1)
        if lang == "en":
            how = "any number times 1 is itself" if i == 1 else f"the previous product {prev} plus {n} gives {p}"
            lines.append(f"{i}. {n} × {i} = {p}: {how}; running total {total} + {p} = {total + p}.")
        else:
            how = "任何数乘以1都等于它本身" if i == 1 else f"在上一个积{prev}的基础上加{n}得到{p}"
            lines.append(f"{i}. {n} × {i} = {p}：{how}；累计和：{total} + {p} = {total + p}。")
        total += p
    lines.append(f"Check: {n} × (1 + 2 + ... + {k}) = {n} × {k * (k + 1) // 2} = {total}." if lang == "en"
                 else f"验算：{n} × (1 + 2 + … + {k}) = {n} × {k * (k + 1) // 2} = {total}。")
    return [(q, reply(lang, lines, total), str(total), "long_table", True)]


def long_temps(lang, rng):
    cs = [rng.randint(-20, 40) for _ in range(rng.randint(34, 40) if lang == "en" else rng.randint(30, 36))]
    unit = ", ".join(f"{c}°C" for c in cs) if lang == "en" else "、".join(f"{c}°C" for c in cs)
    q = (f"Convert these {len(cs)} daily temperatures from Celsius to Fahrenheit, showing the work for each one, and give the "
         f"Fahrenheit values in the same order separated by commas: {unit}." if lang == "en"
         else f"把下面{len(cs)}个每日气温从摄氏度换算成华氏度，每个都写出计算过程，最后按原来的顺序用顿号列出华氏度：{unit}。")
    lines = ["Use F = C × 9/5 + 32 for each value:" if lang == "en" else "每个温度都用公式 F = C × 9/5 + 32 计算："]
    fs = []
    for i, c in enumerate(cs, 1):
        line, f = c_to_f(c, lang)
        fs.append(f)
        lines.append(f"{i}. {c}°C: {line} So {c}°C is {f}°F." if lang == "en" else f"{i}. {c}°C：{line}所以{c}°C就是{f}°F。")
    ans = ", ".join(fs) if lang == "en" else "、".join(fs)
    return [(q, reply(lang, lines, ans), ans, "long_temps", True)]


def long_session(lang, rng):
    "A four-turn session about one long list: sum, sort, max or min, count of even numbers."
    nums = [rng.randint(10, 999) for _ in range(rng.randint(32, 38) if lang == "en" else rng.randint(26, 32))]
    ls, en = num_list(nums, lang), lang == "en"
    turns = []
    first = (f"Here is a list of {len(nums)} numbers: {ls}. What is their sum? Show the running total." if en
             else f"这里有{len(nums)}个数：{ls}。它们的和是多少？请写出每一步的累计和。")
    lines, t = [], 0
    for i, x in enumerate(nums, 1):
        lines.append(f"Step {i}: add {x} to the running total: {t} + {x} = {t + x}." if en else f"第{i}步：{t} + {x} = {t + x}。")
        t += x
    turns.append((first, reply(lang, lines, t), str(t), "long_session", True))
    s = sorted(nums)
    q2 = "Now sort the list from smallest to largest." if en else "现在把这组数从小到大排列。"
    b2 = (f"There are {len(s)} numbers; taking the smallest remaining one each time puts them in this order." if en
          else f"一共{len(s)}个数，每次取剩下的数里最小的，排好的顺序如下。")
    turns.append((q2, reply(lang, b2, num_list(s, lang)), num_list(s, lang), "long_session", True))
    big = rng.random() < 0.5
    q3 = ("Which number in the original list is the largest? Compare them one by one." if big else
          "Which number in the original list is the smallest? Compare them one by one.") if en else \
         (f"原来那组数里最{'大' if big else '小'}的是哪个？请逐个比较。")
    best, lines = nums[0], [f"Start with the first number, {nums[0]}." if en else f"先记下第一个数{nums[0]}。"]
    for x in nums[1:]:
        better = x > best if big else x < best
        if en: lines.append(f"{x} vs {best}: " + (f"new {'largest' if big else 'smallest'} is {x}." if better else f"keep {best}."))
        else: lines.append(f"{x}和{best}比：" + (f"更新为{x}。" if better else f"保持{best}。"))
        best = x if better else best
    turns.append((q3, reply(lang, lines, best), str(best), "long_session", True))
    ev = [x for x in nums if x % 2 == 0]
    q4 = "Finally, how many of the original numbers are even?" if en else "最后，原来那组数里有几个偶数？"
    b4 = (f"Checking the last digit of each number, the even ones are {join_and(ev, lang) if ev else 'none'}, so the count is {len(ev)}." if en
          else f"看每个数的个位，偶数有{join_and(ev, lang) if ev else '零个'}，一共{len(ev)}个。")
    turns.append((q4, reply(lang, b4, len(ev)), str(len(ev)), "long_session", True))
    return turns


def style_turns(turns, style, lang):
    "Apply a system style: 'short' keeps only the final sentence, 'steps' adds a step-by-step opener."
    if style == "short": return [(u, final(lang, a), a, t, p) for u, r, a, t, p in turns]
    if style == "steps":
        opener = "Let's go through it step by step.\n" if lang == "en" else "我们一步一步来。\n"
        return [(u, opener + r, a, t, p) for u, r, a, t, p in turns]
    return turns


def build_conversation(rng, long=False):
    "One conversation (long, multi-turn or single-turn, maybe with a system message) and its task prompts."
    lang = "en" if rng.random() < 0.5 else "zh"
    if long: turns = rng.choice([long_table, long_temps, long_session])(lang, rng)
    elif rng.random() < P_MULTI: turns = build_multi(lang, rng)
    else:
        name, q, rep, a = random_task(lang, rng)
        turns = [(q, rep, a, name, True)]
    msgs = []
    if rng.random() < P_SYSTEM:
        options = [s for s in SYSTEMS[lang] if not (long and s[1] == "short")]
        text, style = rng.choice(options)
        msgs.append({"role": "system", "content": text})
        turns = style_turns(turns, style, lang)
    for u, rep, a, t, p in turns:
        msgs += [{"role": "user", "content": u}, {"role": "assistant", "content": rep}]
    conv = {"conversations": msgs, "task": turns[-1][3], "answer": turns[-1][2], "lang": lang}
    if POOL is HELD_OUT and conv["task"] in ("lookup_element", "lookup_capital"): conv["held_out"] = True   # a held-out fact
    return conv, [u for u, _, _, _, p in turns if p]


# ----------------------------------------------------------------------------- checks, generation, output
def check(conv):
    "Assert every rule a data line must satisfy."
    msgs, lang, ans = conv["conversations"], conv["lang"], conv["answer"]
    assert lang in ("en", "zh") and isinstance(conv["task"], str) and conv["task"] and conv.get("held_out", True) is True
    body = msgs[1:] if msgs and msgs[0]["role"] == "system" else msgs
    assert len(body) >= 2 and len(body) % 2 == 0, "user/assistant pairs"
    for i, m in enumerate(body):
        assert set(m) == {"role", "content"} and m["role"] == ("user", "assistant")[i % 2]
    for m in msgs:
        assert isinstance(m["content"], str) and m["content"].strip(), "empty content"
        assert not any(f in m["content"] for f in FORBIDDEN), "special token in content"
    pat = re.compile(r"The answer is (.+)\.$" if lang == "en" else r"答案是(.+)。$")
    key = "The answer is " if lang == "en" else "答案是"
    for m in body[1::2]:
        assert m["content"].count(key) == 1 and pat.search(m["content"]), m["content"]
    last = body[-1]["content"]
    assert isinstance(ans, str) and ans and "\n" not in ans and not ans.endswith((".", "。"))
    assert pat.search(last).group(1) == ans and last.endswith(final(lang, ans)), (last, ans)


def total_chars(conv): return sum(len(m["content"]) for m in conv["conversations"])
def is_long(conv): return total_chars(conv) > LONG_CHARS[conv["lang"]]


def generate(n, rng, forbidden=frozenset(), split="train"):
    "`n` checked, distinct conversations; `split` picks the entities lookups ask about and the task mix."
    global POOL, WEIGHTS
    POOL = POOLS[split]
    WEIGHTS = {k: (VAL_WEIGHTS.get(k, w) if split == "val" else w) for k, (_, w) in TASKS.items()}
    out, seen = [], set()
    while len(out) < n:
        conv, prompts = build_conversation(rng, long=len(out) % LONG_EVERY == LONG_EVERY // 2)
        key = tuple(m["content"] for m in conv["conversations"] if m["role"] != "assistant")
        if key in seen or forbidden.intersection(prompts): continue
        if conv["task"].startswith("long_"): assert is_long(conv), (conv["task"], total_chars(conv))
        check(conv)
        seen.add(key)
        out.append(conv)
    return out


SYNONYMS = {
    "en": {"compute": ["calculate", "work out"], "calculate": ["compute", "work out"], "work out": ["calculate", "figure out"],
           "find": ["determine", "work out"], "convert": ["change", "turn"], "express": ["write", "give"],
           "add up": ["sum up", "total"], "sum": ["total"], "total": ["sum"], "product": ["result of multiplying"],
           "largest": ["biggest", "greatest"], "smallest": ["lowest", "least"], "maximum": ["largest value", "biggest value"],
           "minimum": ["smallest value", "lowest value"], "sort": ["order", "arrange"], "arrange": ["sort", "order"],
           "ascending": ["increasing"], "descending": ["decreasing"], "count": ["tally"], "reverse order": ["opposite order", "backward order"],
           "backwards": ["in reverse", "back to front"], "letters": ["characters"], "letter": ["character"],
           "uppercase": ["upper case", "capital letters"], "capital letters": ["uppercase", "upper case"],
           "weekday": ["day of the week"], "symbol": ["abbreviation"], "tell me": ["let me know", "say"],
           "give": ["provide", "state"], "remainder": ["leftover", "amount left over"], "numbers": ["values", "figures"],
           "list": ["sequence", "set"], "how many": ["what number of"], "result": ["outcome"], "double-check": ["verify", "recheck"],
           "sure": ["certain", "confident"], "kilometres": ["kilometers"], "metres": ["meters"], "litres": ["liters"],
           "millilitres": ["milliliters"], "first letter": ["initial letter", "opening letter"], "last letter": ["final letter", "ending letter"], "position": ["place", "rank"],
           "stands for": ["represents", "denotes"], "outside": ["outdoors"], "take away": ["subtract", "remove"],
           "left over": ["remaining"], "plus": ["added to"], "minus": ["take away", "less"]},
    "zh": {"计算": ["算一算", "求"], "算一算": ["计算", "算算"], "求": ["计算", "算出"], "等于多少": ["是多少", "得多少"],
           "是多少": ["等于多少", "为多少"], "换算成": ["转换成", "折算成"], "转换为": ["换算为", "转为"], "一共": ["总共", "合计"],
           "倒过来": ["反过来", "颠倒过来"], "反过来": ["倒过来", "颠倒过来"], "最大": ["最高"], "最小": ["最低"],
           "数一数": ["数数", "统计一下"], "从小到大": ["由小到大", "升序"], "从大到小": ["由大到小", "降序"], "排列": ["排序", "排好"],
           "星期几": ["周几", "礼拜几"], "之后": ["以后", "后"], "是否": ["是不是"], "是不是": ["是否"], "元素符号": ["化学符号"],
           "相加": ["加起来", "求和"], "加起来": ["相加", "求和"], "总和": ["和", "合计"], "偶数": ["双数"],
           "千米": ["公里"], "千克": ["公斤"], "小时": ["钟头"], "写出": ["列出", "写下"], "找出": ["找到", "挑出"],
           "请问": ["想问一下", "问一下"], "帮我": ["替我", "请帮我"], "结果": ["得数"], "检查": ["核对", "核查"],
           "确定": ["肯定", "确认"], "多少": ["几"], "乘以": ["乘"], "减去": ["减掉"], "加上": ["加"], "翻倍": ["加倍", "乘以2"],
           "一半": ["二分之一"], "相差": ["相隔", "间隔"], "气温": ["温度"], "开头": ["起始"], "结尾": ["末尾"]}}


# ----------------------------------------------------------------------------- pretraining corpus
# Plain text (`{"text": ...}` lines, MiniMind's pretrain format) that states facts and shows procedures, so that a
# pretrained base knows what the SFT tasks ask about: every fact in several phrasings and contexts (Allen-Zhu & Li,
# "Physics of Language Models: Part 3.1": knowledge seen in varied phrasings becomes extractable by instruction tuning).
# It never holds a question with "The answer is X." / "答案是X。": that format is what SFT teaches. Questions with a
# statement as reply ("What is the capital of Spain?\nThe capital of Spain is Madrid.") appear only for the entities
# the SFT training data asks about, never for the held-out ones: the "mixed training" of Part 3.1, which teaches the
# model during pretraining that a question is answered from what it knows, while the held-out facts stay statements.
def country_facts(c, lang, table=COUNTRIES):
    cap, cont, zc, zcap = table[c]
    C = c[0].upper() + c[1:]
    if lang == "en":
        return [f"The capital of {c} is {cap}.", f"{cap} is the capital of {c}.", f"{C}'s capital city is {cap}.",
                f"{cap} is the capital city of {c}.", f"{C} is a country in {cont}.", f"{C} lies in {cont}.",
                f"{C} is in {cont}, and its capital is {cap}.", f"The government of {c} sits in {cap}, its capital.",
                f"Many visitors to {c} start in {cap}, the capital.", f"{cap}, the capital of {c}, is a large city in {cont}.",
                f"The city {cap} is the capital of {c}.", f"The country {c} is in {cont}."]
    zcont = CONTINENTS[cont]
    return [f"{zc}的首都是{zcap}。", f"{zcap}是{zc}的首都。", f"{zc}的首都城市是{zcap}。", f"{zc}是{zcont}的一个国家。",
            f"{zc}位于{zcont}。", f"{zc}位于{zcont}，首都是{zcap}。", f"{zc}的政府设在首都{zcap}。",
            f"去{zc}旅行的人常常先到首都{zcap}。", f"{zcap}是{zc}的首都，也是{zcont}的一座大城市。"]


def element_facts(n, lang, table=ELEMENTS):
    z, zh, sym = table[n]
    N = n.capitalize()
    if lang == "en":
        return [f"The chemical symbol of {n} is {sym}.", f"{sym} is the symbol for {n}.", f"{N} has the symbol {sym}.",
                f"{N} is element number {z}.", f"The atomic number of {n} is {z}.", f"Element {z} is {n}.",
                f"{N} has atomic number {z} and symbol {sym}.", f"In the periodic table, {n} is written {sym}.", f"The symbol {sym} stands for {n}.",
                f"The element with atomic number {z} is {n}, symbol {sym}.", f"In Chinese, {n} is called {zh}."]
    return [f"{zh}的元素符号是{sym}。", f"{sym}是{zh}的元素符号。", f"{zh}的化学符号是{sym}。", f"{zh}是第{z}号元素。",
            f"{zh}的原子序数是{z}。", f"第{z}号元素是{zh}。", f"{zh}的原子序数是{z}，符号是{sym}。",
            f"在元素周期表中，{zh}写作{sym}。", f"元素符号{sym}代表{zh}。", f"原子序数为{z}的元素是{zh}，符号{sym}。", f"{zh}的英文名是{n}。"]


def general_facts(lang, rng):
    "Facts that every SFT split may ask about: planets, months, units, leap years."
    order = list(PLANETS)
    i = rng.randrange(8)
    m = rng.randint(1, 12)
    kind = rng.choice(list(UNITS))
    factor, names, abbr, zh = UNITS[kind]
    if lang == "en":
        return [f"{order[i]} is the {ORDINALS[i]} planet from the sun.", f"In order from the sun, the planets are {', '.join(order)}.",
                f"{MONTHS_EN[m - 1]} has {month_len(2001, m)} days" + (" in a common year and 29 in a leap year." if m == 2 else "."),
                f"One {names[0][:-1]} is {factor} {names[1]}.", f"1 {abbr[0]} = {factor} {abbr[1]}.",
                "A year is a leap year if it is divisible by 4, except years divisible by 100 that are not divisible by 400.",
                "To convert Celsius to Fahrenheit, multiply by 9/5 and add 32.", "A week has seven days, from Monday to Sunday."]
    return [f"{PLANETS[order[i]]}是离太阳第{i + 1}近的行星。", f"按离太阳由近到远，行星依次是{'、'.join(PLANETS.values())}。",
            f"{m}月有{month_len(2001, m)}天" + ("，闰年有29天。" if m == 2 else "。"), f"1{zh[0]}等于{factor}{zh[1]}。",
            "能被4整除但不能被100整除的年份是闰年，能被400整除的年份也是闰年。", "摄氏度换算成华氏度：乘以9/5再加32。",
            "一个星期有七天，从星期一到星期日。"]


PROCEDURES = [t for t in TASKS if not t.startswith("lookup_")]
FAQS = ["lookup_capital", "lookup_element", "lookup_planet", "lookup_month"]   # asked only about the SFT split's entities


def procedure_text(lang, rng, tasks=PROCEDURES):
    "A worked example: the task's question and its explanation, without the final answer sentence."
    q, r, a = TASKS[rng.choice(tasks)][0](lang, rng)
    body = r[:-len(final(lang, a))].rstrip()
    return (q + "\n" + body) if body else None


def pretrain_doc(rng):
    "One pretraining document: facts about one entity (real, or made up so that its names must be copied), a mix of facts,"
    " or a worked procedure."
    lang = "en" if rng.random() < 0.5 else "zh"
    sep = " " if lang == "en" else ""
    kind = rng.choices(["country", "element", "mixed", "procedure", "faq", "made_up"], weights=[4, 3, 2, 3, 6, 4])[0]
    if kind in ("procedure", "faq"):
        text = procedure_text(lang, rng, PROCEDURES if kind == "procedure" else FAQS)
        if text: return {"text": text}
        kind = "mixed"
    if kind == "made_up":   # names no memory holds: the second mention can only be copied from the first
        table = made_up_country(rng) if rng.random() < 0.6 else made_up_elements(rng, 1)
        name, v = next(iter(table.items()))
        facts = country_facts(name, lang, table) if len(v) == 4 else element_facts(name, lang, table)
        return {"text": sep.join(rng.sample(facts, rng.randint(3, 5)))}
    if kind == "country": sents = rng.sample(country_facts(rng.choice(sorted(COUNTRIES)), lang), rng.randint(2, 4))
    elif kind == "element": sents = rng.sample(element_facts(rng.choice(sorted(ELEMENTS)), lang), rng.randint(2, 4))
    else:
        sents = [rng.choice(country_facts(rng.choice(sorted(COUNTRIES)), lang)),
                 rng.choice(element_facts(rng.choice(sorted(ELEMENTS)), lang)), rng.choice(general_facts(lang, rng))]
        rng.shuffle(sents)
    return {"text": sep.join(sents)}


def generate_pretrain(n, rng, forbidden=frozenset()):
    "`n` pretraining documents; worked examples whose question is a validation prompt (`forbidden`) are left out."
    global POOL, WEIGHTS
    POOL, WEIGHTS = POOLS["train"], {k: w for k, (_, w) in TASKS.items()}
    out = []
    while len(out) < n:
        doc = pretrain_doc(rng)
        if doc["text"].split("\n")[0] in forbidden: continue
        assert not any(f in doc["text"] for f in FORBIDDEN) and "The answer is" not in doc["text"] and "答案是" not in doc["text"]
        out.append(doc)
    return out


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8", newline="\n")


def stats(name, rows):
    n = len(rows)
    multi = sum(sum(m["role"] == "user" for m in r["conversations"]) >= 2 for r in rows)
    system = sum(r["conversations"][0]["role"] == "system" for r in rows)
    long_ = sum(is_long(r) for r in rows)
    print(f"== {name}: {n} conversations")
    print(f"   multi-turn {multi} ({multi / n:.1%}), with system {system} ({system / n:.1%}), "
          f"long {long_} ({long_ / n:.1%}; en > {LONG_CHARS['en']} / zh > {LONG_CHARS['zh']} chars)")
    print(f"   languages: {dict(sorted(Counter(r['lang'] for r in rows).items()))}")
    print(f"   user turns: {dict(sorted(Counter(sum(m['role'] == 'user' for m in r['conversations']) for r in rows).items()))}")
    print(f"   max chars: {max(total_chars(r) for r in rows)}")
    print("   tasks: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(r["task"] for r in rows).items())))


def main():
    train = generate(N_TRAIN, random.Random(1))
    train_users = frozenset(m["content"] for r in train for m in r["conversations"] if m["role"] == "user")
    val = generate(N_VAL, random.Random(2), forbidden=train_users, split="val")
    assert sum(is_long(r) for r in train) >= 0.03 * N_TRAIN and sum(is_long(r) for r in val) >= 0.03 * N_VAL
    # every synonym key must occur in some user prompt of its language (so augmentation can use it)
    for lang, table in SYNONYMS.items():
        users = [m["content"].lower() for r in train if r["lang"] == lang for m in r["conversations"] if m["role"] == "user"]
        for key in table:
            if lang == "en": hit = any(re.search(rf"\b{re.escape(key)}\b", u) for u in users)
            else: hit = any(key in u for u in users)
            assert hit, f"synonym key not in any {lang} user prompt: {key}"
    val_users = frozenset(m["content"] for r in val for m in r["conversations"] if m["role"] == "user")
    pretrain = generate_pretrain(N_PRETRAIN, random.Random(3), forbidden=val_users)
    for k, names in HELD_OUT.items():   # held-out facts: in the pretraining corpus, never in the SFT training data
        table = ELEMENTS if k == "element" else COUNTRIES
        for e in names:
            keys = [e, table[e][1 if k == "element" else 2]]
            assert not any(key in u for key in keys for u in train_users), e
            assert all(any(key in d["text"] for d in pretrain) for key in keys), e
            assert not any(key in d["text"].split("\n")[0] for key in keys for d in pretrain if "\n" in d["text"]), e   # no question
    paths = {"sft_train.jsonl": train, "sft_val.jsonl": val, "pretrain.jsonl": pretrain}
    for fname, rows in paths.items(): write_jsonl(HERE / fname, rows)
    (HERE / "synonyms.json").write_text(json.dumps(SYNONYMS, ensure_ascii=False, indent=1) + "\n", encoding="utf-8", newline="\n")
    stats("train", train)
    stats("val", val)
    print(f"   synonyms: {len(SYNONYMS['en'])} en, {len(SYNONYMS['zh'])} zh entries")
    size = 0
    print(f"== pretrain: {len(pretrain)} documents, {sum(len(d['text']) for d in pretrain):,} characters; "
          f"held out from SFT training: {', '.join(HELD_OUT['element'])}; {', '.join(HELD_OUT['country'])}")
    for fname in ["sft_train.jsonl", "sft_val.jsonl", "pretrain.jsonl", "synonyms.json"]:
        p = HERE / fname
        size += p.stat().st_size
        print(f"{fname}: {p.stat().st_size:,} bytes  sha256 {hashlib.sha256(p.read_bytes()).hexdigest()}")
    assert size < 8 * 2 ** 20, f"data too large: {size} bytes"
    print(f"total: {size:,} bytes")


if __name__ == "__main__":
    main()
