"""Every user-facing string, in Chinese (default) and English.

>>> t("app_title", "en", title="Zuoquan County 2024 key projects")
'Zuoquan County 2024 key projects map'
>>> t("n_projects", "zh", n=3)
'3 个项目'
"""

from __future__ import annotations

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"

STRINGS: dict[str, tuple[str, str]] = {
    # key: (zh, en)
    # {title}, {source}, {credits}, {county}, {year}: the register's header (RegisterMeta.texts)
    "app_title": ("{title}地图", "{title} map"),
    "app_caption": (
        "依据{source}部署整理；示意图，界线仅供参考。",
        "Compiled from {source}; schematic map, boundaries indicative.",
    ),
    "language": ("语言 / Language", "语言 / Language"),
    "filters": ("筛选", "Filters"),
    "sector": ("领域", "Sector"),
    "month_range": ("计划月份", "Planned month"),
    "include_undated": ("包括未定时间的项目", "Include projects with no date"),
    "milestone_kind": ("节点类型", "Milestone kind"),
    "township": ("乡镇", "Township"),
    "countywide": ("全县（未定位到乡镇）", "County-wide (no township)"),
    "precision": ("位置精度", "Location precision"),
    "search": ("搜索（中文或英文）", "Search (Chinese or English)"),
    "reset": ("重置筛选", "Reset filters"),
    "all": ("全部", "all"),
    "none_selected": ("未选择", "none selected"),
    "n_projects": ("{n} 个项目", "{n} projects"),
    "n_of_total": ("显示 {n} / {total} 个项目", "Showing {n} of {total} projects"),
    "investment": ("总投资", "Investment"),
    "total_investment": ("总投资合计", "Total investment"),
    "yi_yuan": ("{v} 亿元", "CNY {v} bn"),
    "summary": ("概况", "Summary"),
    "timeline": ("月度时间线", "Timeline by month"),
    "timeline_caption": ("按节点月份统计；另有 {n} 个项目未定时间。", "Milestones per month; {n} more projects have no date."),
    "table": ("项目列表", "Project list"),
    "details": ("项目详情", "Project details"),
    "select_project": ("选择项目查看详情", "Choose a project to see its details"),
    "updating": ("正在更新概况、项目列表和导出…", "Updating the summary, project list and exports…"),
    "map_assets_missing": ("地图所需的浏览器文件未安装（缺少 {n} 个文件），地图无法显示；筛选、统计、列表和导出照常可用。"
                           "安装命令：`zqmap assets install`",
                           "The map's browser files are not installed ({n} missing), so the map cannot be shown; "
                           "filters, summaries, the list and exports work as usual. Install them with "
                           "`zqmap assets install`"),
    "map_failed": ("地图数据无法加载（浏览器过旧或文件缺失）。筛选、统计、项目列表和导出在地图下方照常可用。",
                   "The map's data could not be loaded (old browser or missing files). Filters, summaries, the "
                   "project list and exports below work as usual."),
    "map_not_loaded": ("地图尚未加载（浏览器过旧、脚本被拦截或文件缺失时无法显示）。筛选、统计、项目列表和导出照常可用。",
                       "The map has not loaded (an old browser, blocked scripts or missing files keep it from "
                       "showing). Filters, summaries, the project list and exports work as usual."),
    "investment_unit": ("总投资（亿元）", "Investment (CNY bn)"),
    "no_match": ("没有符合筛选条件的项目。", "No project matches the filters."),
    "map": ("地图", "Map"),
    "downloads": ("导出", "Export"),
    "download": ("下载 {fmt}", "Download {fmt}"),
    "rendering": ("正在生成 {fmt}…", "Rendering {fmt}…"),
    "prepare": ("生成", "Prepare"),
    "data_problems": ("数据校验未通过，请修正以下问题后刷新：", "The data did not validate. Fix these problems and reload:"),
    "data_dir": ("数据目录", "Data directory"),
    # record fields
    "name": ("名称", "Name"),
    "place": ("地点", "Place"),
    "milestones": ("时间节点", "Milestones"),
    "quantities": ("主要指标", "Figures"),
    "source": ("出处", "Source"),
    "due_month": ("最迟节点", "Due"),
    "no_date": ("未定时间", "no date"),
    "category": ("类别", "Category"),
    "summary_field": ("说明", "Summary"),
    "precision_note": ("位置为{what}，非确切地点", "Placed at the {what}; not the exact site"),
    "count": ("数量", "Count"),
    "month": ("月份", "Month"),
    "id": ("编号", "ID"),
    "no": ("序号", "No."),
    # map
    "legend": ("图例", "Legend"),
    "layer_projects": ("项目", "Projects"),
    "basemap_none": ("无底图（离线）", "No basemap (offline)"),
    "basemap_osm": ("OpenStreetMap（需联网）", "OpenStreetMap (online)"),
    "basemap_gaode": ("高德地图（需联网，叠加层已转 GCJ-02）", "Gaode/AutoNavi (online; overlays shifted to GCJ-02)"),
    "basemap_tianditu": ("天地图（需联网与密钥）", "Tianditu (online, needs a key)"),
    "basemap": ("底图", "Basemap"),
    # exports
    "export_title": ("{title}分布示意图", "{title} (schematic)"),
    "export_filters": ("筛选条件：{what}", "Filters: {what}"),
    "export_date": ("导出日期：{date}", "Exported: {date}"),
    "export_source": ("资料来源：{source}{credits}", "Source: {source}{credits}"),
    "schematic_note": ("示意图，界线仅供参考，不作为权属争议依据。", "Schematic map (示意图); boundaries are indicative."),
    "no_filters": ("无（全部项目）", "none (all projects)"),
    "months_from_to": ("{a} 至 {b}", "{a} to {b}"),
    "from_month": ("{a} 起", "from {a}"),
    "to_month": ("至 {b}", "until {b}"),
    "undated_excluded": ("不含未定时间项目", "undated projects excluded"),
    "text_is": ("含“{q}”", "matching “{q}”"),
    "page_table": ("项目一览", "Project list"),
    "north": ("北", "N"),
    "scale_km": ("{v} 公里", "{v} km"),
    "page_of": ("第 {i} / {n} 页", "Page {i} of {n}"),
    "table_continued": ("项目一览（续）", "Project list (continued)"),
    "legend_leader": ("细线：编号偏移后指向标注位置", "Thin line: from an offset number to its mapped point"),
    "legend_county_seat": ("县城（全县项目标注于此）", "County town (county-wide projects are drawn here)"),
    "png_table_omitted": (
        "所选项目超过 {max} 个，图片只含地图；项目列表见 PDF 简报图。",
        "More than {max} projects selected: this image shows the map only; see the PDF briefing for the list.",
    ),    # sign-in (zqmap/app_auth.py); auth_<code>: zqmap.auth's refusals in the user's language
    "sign_in": ("登录", "Sign in"),
    "sign_in_help": ("登录后才能修改台账；未登录可查看和导出。", "Sign in to edit the register; anyone can view and export."),
    "user_name": ("用户名", "Name"),
    "password": ("密码", "Password"),
    "sign_out": ("退出登录", "Sign out"),
    "signed_in_as": ("已登录：{name}（{role}）", "Signed in: {name} ({role})"),
    "role_editor": ("编辑", "editor"),
    "role_admin": ("管理员", "admin"),
    "editing_as": ("编辑人：{name}（每次修改都记录此姓名）", "Editing as {name} (recorded with every change)"),
    "your_name": ("您的姓名（每次修改都记录）", "Your name (recorded with every change)"),
    "start_editing": ("开始编辑", "Start editing"),
    "change_name": ("更换姓名", "Change name"),
    "auth_wrong": ("用户名或密码错误", "Wrong name or password"),
    "auth_locked": ("失败次数过多，已锁定，请 {minutes} 分钟后再试", "Too many failed attempts: locked, try again in {minutes} min"),
    "auth_disabled": ("此账户已停用，请联系管理员", "This account is disabled; ask an admin"),
    "auth_read_only": ("只读：{problem}", "Read-only: {problem}"),
    "auth_expired": ("登录已过期，请重新登录", "Your session expired: sign in again"),
    "auth_sign_in_first": ("请先登录", "Sign in to edit"),
    "auth_name_first": ("请先填写您的姓名", "Type your name before the first edit"),
}


def t(key: str, lang: str = DEFAULT_LANG, **kwargs: object) -> str:
    """The string ``key`` in ``lang``, formatted with ``kwargs``."""
    zh, en = STRINGS[key]
    text = en if lang == "en" else zh
    return text.format(**kwargs) if kwargs else text
