"""Folium elements of our own, rendered without recompiling their output.

branca's ``MacroElement.render`` wraps each rendered piece (header, html,
script) in a new ``Element(text)``, which compiles that text as a Jinja
template. For our elements the text can be large (row lists, layer data: tens
of kB), so that compile was most of the cost of drawing a filter change.
Importing this module checks the branca and folium versions (:mod:`zqmap._compat`).
:class:`Macro` adds the text as it is. Data text is still HTML-escaped (braces
included) where it is built, for folium's own elements that do recompile.

>>> from jinja2 import Template
>>> class Hello(Macro):
...     _template = Template("{% macro script(this, kwargs) %}var x = {{ this.n }};{% endmacro %}")
...     def __init__(self):
...         super().__init__()
...         self.n = "{{ 1 + 1 }}"
>>> import folium
>>> m = folium.Map()
>>> _ = Hello().add_to(m)
>>> "var x = {{ 1 + 1 }};" in m.get_root().render()
True
"""

from __future__ import annotations

import folium
from branca.element import Element, MacroElement
from folium.elements import ElementAddToElement

from zqmap import _compat

_compat.check(__name__, "branca", "folium")


class _Text(Element):
    """Text that is already rendered."""

    def __init__(self, text: str):
        super().__init__()
        self._text = text

    def render(self, **kwargs) -> str:
        return self._text


class Macro(MacroElement):
    """A ``MacroElement`` whose rendered header/html/script are added as they are."""

    def render(self, **kwargs) -> None:
        figure = self.get_root()
        module = self._template.module
        for part in ("header", "html", "script"):
            macro = module.__dict__.get(part)
            if macro is not None:
                getattr(figure, part).add_child(_Text(macro(self, kwargs)), name=self.get_name())
        for element in self._children.values():
            element.render(**kwargs)


class _AddTo(Macro, ElementAddToElement):
    """folium's ``ElementAddToElement``, rendered as :class:`Macro` does."""


class Group(folium.FeatureGroup):
    """A ``FeatureGroup`` rendered without recompiling its script.

    Same output as ``folium.FeatureGroup`` (the app's tests compare them), for
    the groups that are re-rendered on every filter change.
    """

    def render(self, **kwargs) -> None:
        if self.show:  # as folium's Layer.render
            self.add_child(_AddTo(element_name=self.get_name(), element_parent_name=self._parent.get_name()),
                           name=self.get_name() + "_add")
        Macro.render(self, **kwargs)
