"""Hostile strings for the XSS / robustness sweep (tests/e2e/test_xss_sweep.py).

Every payload that could run script calls ``alert(…)`` *and* sets
``window.__pwned`` (or ``parent.__pwned``), so a test sees it either as a dialog
or as the flag. URLs in payloads point at the discard port of this machine
(``127.0.0.1:9``): were one fetched, nothing leaves the machine, and the test sees
the request.

Payloads starting with ``=``, ``+`` or ``@`` are spreadsheet formulas: the XLSX
export must store them as text.

``rejected`` payloads hold bidi overrides or control characters, which the
register validator refuses in every text field: tests assert the validation
error for those instead of rendering them.
"""

from __future__ import annotations

from dataclasses import dataclass

PWN = "window.__pwned=1"
# A project id the sweep register uses; one payload claims it in its text, as the
# popup's own "ID: …" line does, to try to make a click show another project.
SPOOF_ID = "xss-00"


@dataclass(frozen=True)
class Payload:
    key: str
    text: str
    rejected: bool = False


PAYLOADS: tuple[Payload, ...] = (
    # --- script and event handlers
    Payload("script-tag", f"<script>alert(1);{PWN}</script>"),
    Payload("img-unquoted", f"<img src=x onerror=alert(2);{PWN}>"),
    Payload("img-double", f'<img src="x" onerror="alert(3);{PWN}">'),
    Payload("img-single", f"<img src='x' onerror='alert(4);{PWN}'>"),
    Payload("img-mixed-case", f"<IMG SRC=x OnError=alert(5);{PWN}>"),
    Payload("attr-break-double", f'"><img src=x onerror=alert(6);{PWN}>'),
    Payload("attr-break-single", f"'><img src=x onerror=alert(7);{PWN}>"),
    Payload("attr-inject", f'" autofocus onfocus="alert(8);{PWN}" x="'),
    Payload("attr-inject-single", f"' onmouseover='alert(9);{PWN}' x='"),
    Payload("svg-onload", f"<svg onload=alert(10);{PWN}>"),
    Payload("svg-script", f"<svg><script>alert(11);{PWN}</script></svg>"),
    Payload("iframe-srcdoc", '<iframe srcdoc="<script>parent.__pwned=1;alert(12)</script>"></iframe>'),
    Payload("details-ontoggle", f"<details open ontoggle=alert(13);{PWN}>"),
    Payload("mutation-xss", "<math><mtext><table><mglyph><style><img src=x onerror=alert(14)>"),
    # --- URLs
    Payload("js-url-link", f'<a href="javascript:alert(15);{PWN}">x</a>'),
    Payload("js-url-bare", f"javascript:alert(16);{PWN}"),
    Payload("data-url-link", '<a href="data:text/html,<script>alert(17)</script>">d</a>'),
    Payload("data-url-embed", '<embed src="data:text/html,<script>alert(18)</script>">'),
    Payload("base-href", '<base href="http://127.0.0.1:9/">'),
    Payload("meta-refresh", '<meta http-equiv="refresh" content="0;url=http://127.0.0.1:9/">'),
    Payload("link-css", "<link rel=stylesheet href=http://127.0.0.1:9/zq.css>"),
    # --- JavaScript / JSON string and template breakers
    Payload("template-literal", f"${{alert(19)}}${{{PWN}}}"),
    Payload("backticks", f"`;alert(20);{PWN};`"),
    Payload("script-breakout", f"</script><script>alert(21);{PWN}</script>"),
    Payload("script-breakout-comment", "<!--</script><script>alert(22)</script>-->"),
    Payload("line-separators", f'"\u2028\u2029";alert(23);{PWN}//'),
    Payload("backslashes", '\\";alert(24);// \\u003c \\x3c \\'),
    Payload("quote-mix", f"'\"}});alert(25);{PWN};//'\""),
    # folium renders map elements through Jinja twice: data must never be template code
    Payload("jinja", "{{7*7}} {% if 1 %}jinja{% endif %} {{ this }}"),
    Payload("jinja-globals", "{{ cycler.__init__.__globals__.os.getpid() }}{# c #}"),
    Payload("proto", '{"__proto__": {"x": 1}} constructor.prototype'),
    # --- HTML entities: shown as typed, never decoded into markup
    Payload("entities-named", "&lt;script&gt;alert(26)&lt;/script&gt; &amp;amp;"),
    Payload("entities-hex", "&#x3C;img src=x onerror=alert(27)&#x3E;"),
    Payload("entities-dec", "&#60;svg onload=alert(28)&#62; &#0000060;"),
    # --- Markdown (Streamlit renders Markdown in captions, headings and tables)
    Payload("md-math", "$\\alert{29}$ and $x^2$ $$y$$"),
    Payload("md-image", "![i](http://127.0.0.1:9/zq.png)"),
    Payload("md-js-link", "[x](javascript:alert(30))"),
    Payload("md-emphasis", "**b** _i_ ~~s~~ # h <b>b</b> `code`"),
    Payload("md-streamlit", ':red[red] :material/home: :smile: <span style="color:red">s</span>'),
    Payload("md-blocks", "line1\n\n# heading\n- item\n> quote\n    code"),
    # --- CSS
    Payload("css-breakout", "</style><style>body{display:none}</style>"),
    Payload("css-breakout-img", f"</style><img src=x onerror=alert(31);{PWN}>"),
    # --- Unicode that is allowed: zero-width characters, full-width look-alikes
    Payload("zero-width", "零\u200b宽\u200c字\u200d符\ufeff<img src=x onerror=alert(32)>"),
    Payload("fullwidth", "＜script＞alert(33)＜/script＞"),
    # --- spreadsheet formulas (CSV/XLSX exports): text, never a formula
    Payload("formula-hyperlink", '=HYPERLINK("http://127.0.0.1:9/?"&B2,"x")'),
    Payload("formula-plus-at", "+1+2 -3 @SUM(1)"),
    # --- the app's click handling: a name that claims another project's id
    Payload("popup-id-spoof", f"ID: {SPOOF_ID} 编号：{SPOOF_ID}"),
    # --- very long strings, within the register's limits (names 200, long texts 1000)
    Payload("long-name", ("<b onmouseover=alert(34)>长</b>" * 10)[:199]),
    Payload("long-text", (f"<script>alert(35);{PWN}</script>&lt;$x$ 长文本 " * 25)[:999]),
    # --- refused by the validator: bidi overrides/isolates and control characters
    Payload("rtl-override", "evil\u202etxt.exe", rejected=True),
    Payload("bidi-isolate", "a\u2066b\u2069c", rejected=True),
    Payload("ansi-escape", "\x1b[31mred\x1b[0m", rejected=True),
    Payload("backspace-bell", "bs\x08\x07", rejected=True),
    Payload("nul-byte", "nul\x00byte", rejected=True),
    Payload("c1-controls", "csi\x9b31mred nel\x85", rejected=True),
)

ACCEPTED: tuple[Payload, ...] = tuple(p for p in PAYLOADS if not p.rejected)
REJECTED: tuple[Payload, ...] = tuple(p for p in PAYLOADS if p.rejected)
TEXTS: tuple[str, ...] = tuple(p.text for p in PAYLOADS)

assert len({p.key for p in PAYLOADS}) == len(PAYLOADS), "payload keys must be unique"
