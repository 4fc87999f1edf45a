"""Synthetic registers for benchmarks: ``n`` projects over the 8 counties of the bundled geodata.

The output is a data directory in the real format (docs/data-format.md) that
passes ``zqmap validate``: ``geo/counties.geojson`` is the bundled file with
``focus: true`` on every county (a prefecture-like area), ``geo/places.yaml``
holds synthetic sites at random points inside the county polygons, and
``projects.yaml`` holds ``n`` projects with Chinese + pinyin names, all five
sectors, milestones in 2024 (some undated) and some quantities. The same
``seed`` gives byte-identical files.

    python bench/synth.py --n 10000 --out /tmp/zq-10000

>>> import tempfile, pathlib
>>> out = make_register(pathlib.Path(tempfile.mkdtemp()) / "r", 20, seed=1)
>>> sorted(p.name for p in out.iterdir())
['geo', 'projects.yaml']
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import shapely
from shapely.geometry import Point, shape

from zqmap.paths import bundled_data_dir

REPO = Path(__file__).resolve().parents[1]
BUNDLED_COUNTIES = bundled_data_dir() / "geo" / "counties.geojson"
MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]

# Township-level names per county (adcode): (zh, pinyin). Only used as name parts.
TOWNS: dict[str, list[tuple[str, str]]] = {
    "140722": [("辽阳镇", "Liaoyang"), ("桐峪镇", "Tongyu"), ("麻田镇", "Matian"), ("芹泉镇", "Qinquan"),
               ("拐儿镇", "Guai'er"), ("寒王乡", "Hanwang"), ("石匣乡", "Shixia"), ("羊角乡", "Yangjiao")],
    "140721": [("箕城镇", "Jicheng"), ("云竹镇", "Yunzhu"), ("郝北镇", "Haobei"), ("社城镇", "Shecheng"),
               ("河峪乡", "Heyu"), ("北寨乡", "Beizhai")],
    "140723": [("义兴镇", "Yixing"), ("李阳镇", "Liyang"), ("松烟镇", "Songyan"), ("青城镇", "Qingcheng"),
               ("横岭镇", "Hengling"), ("喂马乡", "Weima")],
    "140429": [("丰州镇", "Fengzhou"), ("洪水镇", "Hongshui"), ("蟠龙镇", "Panlong"), ("监漳镇", "Jianzhang"),
               ("故城镇", "Gucheng"), ("韩北镇", "Hanbei")],
    "140426": [("黎侯镇", "Lihou"), ("东阳关镇", "Dongyangguan"), ("上遥镇", "Shangyao"), ("西井镇", "Xijing"),
               ("黄崖洞镇", "Huangyadong"), ("西仵乡", "Xiwu")],
    "130426": [("涉城镇", "Shecheng"), ("河南店镇", "Henandian"), ("索堡镇", "Suobao"), ("西戌镇", "Xixu"),
               ("井店镇", "Jingdian"), ("偏城镇", "Piancheng")],
    "130481": [("武安镇", "Wu'an"), ("康二城镇", "Kang'ercheng"), ("午汲镇", "Wuji"), ("磁山镇", "Cishan"),
               ("阳邑镇", "Yangyi"), ("冶陶镇", "Yetao")],
    "130503": [("路罗镇", "Luluo"), ("将军墓镇", "Jiangjunmu"), ("浆水镇", "Jiangshui"), ("宋家庄镇", "Songjiazhuang"),
               ("西黄村镇", "Xihuangcun"), ("皇寺镇", "Huangsi")],
}
VILLAGE_HEAD = [("东", "Dong"), ("西", "Xi"), ("南", "Nan"), ("北", "Bei"), ("上", "Shang"), ("下", "Xia"),
                ("前", "Qian"), ("后", "Hou"), ("大", "Da"), ("小", "Xiao"), ("新", "Xin"), ("石", "Shi"),
                ("柳", "Liu"), ("杨", "Yang"), ("李", "Li"), ("王", "Wang"), ("张", "Zhang"), ("高", "Gao"),
                ("黄", "Huang"), ("龙", "Long")]
VILLAGE_TAIL = [("庄", "zhuang"), ("沟", "gou"), ("峪", "yu"), ("坪", "ping"), ("岭", "ling"), ("寨", "zhai"),
                ("河", "he"), ("湾", "wan"), ("头", "tou"), ("家庄", "jiazhuang"), ("堡", "bu"), ("窑", "yao"),
                ("店", "dian"), ("疃", "tuan")]
SITE_KINDS = [("片区", "area"), ("园区", "park"), ("场址", "site"), ("地块", "plot")]

# sector -> subjects: (zh, en, category slug, capacity unit or None)
SUBJECTS: dict[str, list[tuple[str, str, str, str | None]]] = {
    "agriculture": [("核桃深加工", "walnut processing", "walnut", "t/yr"),
                    ("中药材种植基地", "herb planting base", "herbs", None),
                    ("小米产业园", "millet industrial park", "millet", "t/yr"),
                    ("高标准农田", "high-standard farmland", "farmland", None),
                    ("肉牛养殖", "beef cattle farm", "cattle", None),
                    ("设施蔬菜大棚", "greenhouse vegetables", "vegetables", None)],
    "industry": [("光伏发电", "photovoltaic power", "solar", "MW"),
                 ("风电", "wind power", "wind", "MW"),
                 ("储能电站", "energy storage station", "storage", "MW"),
                 ("煤层气开发", "coalbed methane", "cbm", None),
                 ("新材料产业园", "new materials park", "materials", None),
                 ("丁腈手套生产线", "nitrile glove line", "latex", "pieces/yr")],
    "culture_tourism": [("红色旅游景区", "red tourism scenic area", "red-tourism", None),
                        ("精品民宿", "boutique homestay", "homestay", None),
                        ("古村落保护", "old village conservation", "heritage", None),
                        ("康养旅游", "wellness tourism", "wellness", None)],
    "urban_construction": [("公路改造", "road upgrade", "road", None),
                           ("污水处理厂", "wastewater plant", "sewage", "t"),
                           ("集中供水", "water supply", "water", None),
                           ("供热管网", "heating network", "heating", None),
                           ("老旧小区改造", "old estate renovation", "housing", None)],
    "livelihood": [("学校", "school", "school", None), ("医院", "hospital", "hospital", None),
                   ("养老院", "elderly care home", "elderly-care", None), ("幼儿园", "kindergarten", "kindergarten", None),
                   ("卫生院", "health centre", "health", None)],
}
# The register's category (a key of zqmap.vocab.CATEGORIES) of a subject's slug; a slug not here has none.
CATEGORY_OF = {"walnut": "walnut", "solar": "new-energy", "wind": "new-energy", "storage": "new-energy",
               "cbm": "coal", "latex": "latex", "red-tourism": "red-tourism", "homestay": "summer-resort",
               "wellness": "summer-resort", "heritage": "culture-brand", "farmland": "rural-revitalisation",
               "road": "roads", "school": "education", "kindergarten": "education", "hospital": "health",
               "health": "health"}
PHASES = [("", ""), ("一期", ", phase I"), ("二期", ", phase II"), ("三期", ", phase III")]
MILESTONE_KINDS = [("sign", "签约", "signed"), ("start", "开工", "works start"),
                   ("complete", "建成", "completed"), ("operational", "投产", "in operation")]


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _focus_counties() -> tuple[str, list[tuple[str, str, str, shapely.Geometry]]]:
    """The bundled counties.geojson with focus=true everywhere, and (adcode, zh, en, polygon) per county."""
    data = json.loads(BUNDLED_COUNTIES.read_text(encoding="utf-8"))
    counties = []
    for f in data["features"]:
        f["properties"]["focus"] = True
        p = f["properties"]
        counties.append((str(p["adcode"]), p["name_zh"], p["name_en"], shape(f["geometry"])))
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in data["features"]]
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    return text, counties


def _random_point(rng: random.Random, poly: shapely.Geometry) -> tuple[float, float]:
    minx, miny, maxx, maxy = poly.bounds
    for _ in range(10_000):
        lon, lat = round(rng.uniform(minx, maxx), 6), round(rng.uniform(miny, maxy), 6)
        if poly.covers(Point(lon, lat)):
            return lon, lat
    raise RuntimeError("could not sample a point inside the polygon")


def _places(rng: random.Random, counties, count: int, seed: int) -> list[dict]:
    for _, _, _, poly in counties:
        shapely.prepare(poly)
    places = []
    for i in range(count):
        adcode, county_zh, county_en, poly = counties[i % len(counties)]
        town_zh, town_en = rng.choice(TOWNS.get(adcode, [("城关镇", "Chengguan")]))
        (h_zh, h_en), (t_zh, t_en) = rng.choice(VILLAGE_HEAD), rng.choice(VILLAGE_TAIL)
        k_zh, k_en = rng.choice(SITE_KINDS)
        lon, lat = _random_point(rng, poly)
        places.append({
            "id": f"site-{i:05d}",
            "name_zh": f"{town_zh}{h_zh}{t_zh}村{k_zh}",
            "name_en": f"{h_en}{t_en} Village {k_en}, {town_en}, {county_en}",
            "kind": "site", "lon": lon, "lat": lat, "precision": "site",
            "source": f"synthetic (bench/synth.py seed {seed})",
            "_county_zh": county_zh, "_county_en": county_en, "_town_zh": town_zh, "_town_en": town_en,
        })
    return places


def _amount_text(value: float) -> str:
    if value >= 1e8:
        return f"{value / 1e8:g}亿元"
    return f"{value / 1e4:g}万元"


def _project(rng: random.Random, i: int, places: list[dict], seed: int) -> list[str]:
    sector = list(SUBJECTS)[i % len(SUBJECTS)] if i < len(SUBJECTS) else rng.choice(list(SUBJECTS))
    s_zh, s_en, category, cap_unit = rng.choice(SUBJECTS[sector])
    place = rng.choice(places)
    p_zh, p_en = rng.choice(PHASES)
    if rng.random() < 0.5:
        prefix_zh, prefix_en = place["_county_zh"] + place["_town_zh"], f"{place['_county_en']} {place['_town_en']}"
    else:
        prefix_zh, prefix_en = place["_county_zh"], place["_county_en"]
    name_zh = f"{prefix_zh}{s_zh}{p_zh}项目"
    name_en = f"{prefix_en} {s_en} project{p_en}"
    precision = rng.choices(["site", "village", "township", "county"], weights=[70, 10, 12, 8])[0]
    out = [f"  - id: p{i:05d}-{category}",
           f"    name_zh: {_q(name_zh)}",
           f"    name_en: {_q(name_en)}",
           f"    sector: {sector}",
           *([f"    category: {CATEGORY_OF[category]}"] if category in CATEGORY_OF else []),
           f"    place: {place['id']}",
           f"    precision: {precision}"]
    if rng.random() < 0.7:
        summary_zh = f"{place['name_zh']}{s_zh}，{p_zh or '整体'}推进"
        summary_en = f"{s_en.capitalize()} at {place['name_en']}"
        out += [f"    summary_zh: {_q(summary_zh)}", f"    summary_en: {_q(summary_en)}"]
    if rng.random() < 0.15:
        out.append("    milestones: []")
    else:
        out.append("    milestones:")
        count = rng.choice([1, 1, 2, 2, 3])
        months = sorted(rng.sample(MONTHS, count))
        kinds = sorted(rng.sample(range(len(MILESTONE_KINDS)), count))
        for month, k in zip(months, kinds):
            kind, k_zh, k_en = MILESTONE_KINDS[k]
            out += [f'      - month: "{month}"',
                    f"        kind: {kind}",
                    "        date_precision: stated",
                    f"        note: {_q(f'{int(month[5:])}月{k_zh}')}",
                    f"        note_en: {_q(f'{k_en} by {month}')}"]
    quantities = []
    if rng.random() < 0.6:
        value = rng.choice([500, 800, 1000, 2000, 3000, 5000, 8000, 12000, 20000, 50000, 120000]) * 1e4
        quantities.append(("investment", value, "CNY", "总投资" + _amount_text(value)))
    if cap_unit and rng.random() < 0.5:
        value = float(rng.choice([10, 20, 50, 100, 200, 500]))
        quantities.append(("capacity", value, cap_unit, f"{value:g}{cap_unit}"))
    if quantities:
        out.append("    quantities:")
        for kind, value, unit, written in quantities:
            out += [f"      - kind: {kind}", f"        value: {value:.0f}", f"        unit: {unit}",
                    f"        as_written: {_q(written)}"]
    else:
        out.append("    quantities: []")
    out.append(f"    source: {_q(f'synthetic/{sector}/{i}')}")
    return out


def make_register(out_dir: str | Path, n: int, seed: int = 0) -> Path:
    """Write a data directory with ``n`` synthetic projects to ``out_dir``; return its path."""
    out = Path(out_dir)
    (out / "geo").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    geojson, counties = _focus_counties()
    (out / "geo" / "counties.geojson").write_text(geojson, encoding="utf-8")
    places = _places(rng, counties, max(50, n // 5), seed)
    lines = [f"# Synthetic gazetteer for benchmarks: bench/synth.py, seed {seed}, {len(places)} sites.",
             "# Random points inside the 8 counties of zqmap/data/geo/counties.geojson; not real places.",
             "places:"]
    for p in places:
        lines += [f"  - id: {p['id']}", f"    name_zh: {_q(p['name_zh'])}", f"    name_en: {_q(p['name_en'])}",
                  f"    kind: {p['kind']}", f"    lon: {p['lon']:.6f}", f"    lat: {p['lat']:.6f}",
                  f"    precision: {p['precision']}", f"    source: {_q(p['source'])}"]
    (out / "geo" / "places.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = [f"# Synthetic register for benchmarks: bench/synth.py, seed {seed}, {n} projects. Not real projects.",
             "# The header names the bundled county: the synthetic sites lie in its counties.geojson.",
             'county: {code: "140722", name_zh: 左权县, name_en: Zuoquan County, slug: synthetic}',
             "plan_year: 2024",
             "title: {zh: 合成基准登记册, en: Synthetic benchmark register}",
             f"source_document: {_q(f'synthetic (bench/synth.py seed {seed})')}",
             "source_title: {zh: 合成数据（bench/synth.py）, en: synthetic data (bench/synth.py)}",
             "projects:" if n else "projects: []"]
    for i in range(n):
        lines += _project(rng, i, places, seed)
    (out / "projects.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1000, help="number of projects (default 1000)")
    ap.add_argument("--out", required=True, help="output data directory")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    path = make_register(args.out, args.n, args.seed)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
