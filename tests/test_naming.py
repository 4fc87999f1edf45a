from zqmap.filters import Filter
from zqmap.naming import describe, export_filename


def test_filename_says_what_it_holds():
    assert export_filename(Filter(), "csv", "zuoquan") == "zuoquan-projects-all.csv"
    flt = Filter(sectors=("industry",), month_from="2024-03", month_to="2024-06")
    assert export_filename(flt, "pdf", "zuoquan") == "zuoquan-projects-industry-2024-03_2024-06.pdf"
    assert export_filename(Filter(month_to="2024-06"), "gpkg", "zuoquan") == "zuoquan-projects-all-start_2024-06.gpkg"


def test_filename_is_ascii_even_for_chinese_search():
    name = export_filename(Filter(text="麻田"), "xlsx", "zuoquan")
    assert name.isascii() and " " not in name and name.endswith(".xlsx")


def test_describe_both_languages():
    flt = Filter(sectors=("industry", "livelihood"), month_from="2024-03", month_to="2024-06")
    assert describe(flt, "zh") == "领域：工业、民生；计划月份：2024-03 至 2024-06"
    assert describe(flt, "en") == "Sector: Industry, Livelihood; Planned month: 2024-03 to 2024-06"
    assert describe(Filter(), "zh") == "无（全部项目）"
