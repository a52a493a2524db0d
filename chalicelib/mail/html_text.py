"""An HTML mail body as plain text: the whole of it, and the part that can be the sender's reply.

Nesting and size are capped: the HTML is untrusted.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser

MAX_HTML = 1_000_000
MAX_DEPTH = 300


def html_to_text(html: str, for_reply: bool = False) -> str:
    """Readable text of an HTML body: blocks and <br> make lines, list items bullets, quotes
    become "> " lines. ``for_reply`` also drops what clients mark as quoted history or
    signature (Outlook's reply header and all after it, Gmail/Thunderbird signatures)."""
    return html_texts(html)[1 if for_reply else 0]


def html_texts(html: str) -> tuple[str, str]:
    """The text of an HTML body, and the part of it to look for the reply in (one pass)."""
    converter = _HtmlText()
    try:
        converter.feed(html[:MAX_HTML])
        converter.close()
    except Exception:  # html.parser is lenient, but keep what was read on any surprise
        pass
    return converter.text.result(), converter.reply.result()


_BLOCKS = {"address", "article", "aside", "blockquote", "center", "dd", "details", "dialog", "div", "dl",
           "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
           "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody",
           "thead", "tfoot", "tr", "ul", "body", "html"}
# blocks with a blank line around them (not Word's MsoNormal paragraphs, which have no margins)
_PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "pre"}
_SKIPPED = {"head", "style", "script", "title", "template", "noscript", "xml", "svg", "object"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
         "wbr", "param"}
# class/id names that mark quoted history (rendered as "> " lines) in the major clients
_QUOTE_MARKS = {"gmail_attr", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote", "mail-quote-collapse",
                "zmail_extra"}
# elements that start the quoted history in Outlook and Zimbra: they and all after them are not the reply
_CUT_MARKS = {"appendonsend", "divrplyfwdmsg", "zwchr", "outlookmessageheader"}
_SIGNATURE_MARKS = {"gmail_signature", "gmail_signature_prefix", "moz-signature", "applemailsignature",
                    "ms-outlook-mobile-signature"}


def _marked(names: set[str], marks: set[str]) -> bool:
    """Whether a class or id is one of ``marks``; clients prefix them when they quote HTML
    again (Yahoo "ydp5e1b8c4fyahoo_quoted", Outlook "x_divRplyFwdMsg")."""
    return any(name.endswith(mark) for name in names for mark in marks)


class _Lines:
    """Text laid out line by line, each line with the quote depth it started at."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.line: list[str] = []
        self.depth = 0

    def add(self, text: str, depth: int, pre: bool = False) -> None:
        if not pre and not "".join(self.line).strip():
            text = text.lstrip(" ")
        if text and not self.line:
            self.depth = depth
        self.line.append(text)

    def flush(self, depth: int, force: bool = False) -> None:
        line = "".join(self.line)
        force = force or "\xa0" in line  # a block holding only &nbsp; is how editors write an empty line
        line = line.strip() if self.depth else line.rstrip()
        if line.strip() or force:
            quote_depth = self.depth if line.strip() else depth
            self.lines.append(("> " * quote_depth + line).rstrip())
        self.line = []

    def paragraph(self, depth: int) -> None:
        """Ends the line and leaves a blank one, as margins around a paragraph do."""
        self.flush(depth)
        if self.lines and self.lines[-1].strip("> "):
            self.lines.append(("> " * depth).rstrip())

    def result(self) -> str:
        self.flush(0)
        lines: list[str] = []
        for line in (line.rstrip() for line in self.lines):
            if not line.strip("> ") and lines and not lines[-1].strip("> "):
                continue  # one empty line is enough, quoted or not
            lines.append(line)
        return "\n".join(lines).strip("\n").replace("\xa0", " ")


class _HtmlText(HTMLParser):
    """Lays out an HTML body twice in one pass: all of it, and the part that can be the reply
    (not after Outlook's reply header, not inside a marked signature)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = _Lines()
        self.reply = _Lines()
        self.stack: list[tuple[str, set[str]]] = []
        self.open: dict[str, int] = {}  # tag -> how many are on the stack
        self.effects = {"skip": 0, "quote": 0, "pre": 0, "signature": 0}
        self.lists: list[int] = []  # per open list: the last item number, -1 for bullets
        self.cut = False

    def _sinks(self, data: bool = False) -> list[_Lines]:
        if self.cut or data and self.effects["signature"]:
            return [self.text]
        return [self.text, self.reply]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for key, value in attrs if key in ("class", "id") and value for name in value.lower().split()}
        if _marked(names, _CUT_MARKS):
            self.reply.flush(self.effects["quote"])
            self.cut = True
        paragraph = tag in _PARAGRAPHS and "msonormal" not in names
        if tag in _BLOCKS:
            self._break(paragraph)
        if tag == "br":
            for sink in self._sinks():
                sink.flush(self.effects["quote"], force=True)
        elif tag in ("td", "th"):
            self._data(" ")
        elif tag == "li":
            self._bullet()
        if tag not in _VOID:
            self._open(tag, self._effects(tag, names) | ({"paragraph"} if paragraph else set()))

    def _effects(self, tag: str, names: set[str]) -> set[str]:
        effects = set()
        if tag in _SKIPPED:
            effects.add("skip")
        if _marked(names, _SIGNATURE_MARKS):
            effects.add("signature")
        if tag == "blockquote" or _marked(names, _QUOTE_MARKS):
            effects.add("quote")
        if tag == "pre":
            effects.add("pre")
        if tag in ("ul", "ol"):
            self.lists.append(0 if tag == "ol" else -1)
            effects.add("list")
        return effects

    def _open(self, tag: str, effects: set[str]) -> None:
        if len(self.stack) >= MAX_DEPTH:  # deeper nesting is flattened
            if "list" in effects:
                self.lists.pop()
            return
        for effect in effects & self.effects.keys():
            self.effects[effect] += 1
        self.stack.append((tag, effects))
        self.open[tag] = self.open.get(tag, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if not self.open.get(tag):
            return
        while self.stack:
            open_tag, effects = self.stack.pop()
            self.open[open_tag] -= 1
            if open_tag in _BLOCKS:
                self._break("paragraph" in effects)
            if "list" in effects and self.lists:
                self.lists.pop()
            for effect in effects & self.effects.keys():
                self.effects[effect] -= 1
            if open_tag == tag:
                break

    def _bullet(self) -> None:
        if self.lists and self.lists[-1] >= 0:
            self.lists[-1] += 1
            self._data(f"{self.lists[-1]}. ")
        else:
            self._data("• ")

    def _break(self, paragraph: bool) -> None:
        for sink in self._sinks():
            if paragraph:
                sink.paragraph(self.effects["quote"])
            else:
                sink.flush(self.effects["quote"])

    def handle_data(self, data: str) -> None:
        if self.effects["skip"]:
            return
        if not self.effects["pre"]:
            self._data(re.sub(r"[ \t\r\n\f]+", " ", data))
            return
        for index, part in enumerate(data.replace("\r\n", "\n").split("\n")):
            if index:
                for sink in self._sinks():
                    sink.flush(self.effects["quote"], force=True)
            self._data(part)

    def _data(self, text: str) -> None:
        for sink in self._sinks(data=True):
            sink.add(text, self.effects["quote"], pre=bool(self.effects["pre"]))
