"""papermill parameters for Rust notebooks (the workbench kernel `tdw`, and evcxr).

papermill injects a cell of assignments after the cell tagged `parameters`; for Rust that cell
is `let` bindings, which shadow the notebook's defaults in the cells that follow. Types are
fixed, since a Rust binding's type is fixed when its cell compiles: integers are `i64`, floats
`f64`, strings `&str`, booleans `bool`, lists `vec![…]` and dicts `BTreeMap`s. A parameters
cell should declare its defaults with the same types (`let prime: i64 = 59;`) so the notebook
compiles the same with or without `-p`.

papermill 2.x has no entry point for translators, so `hook` (imported from a .pth file that
scripts/setup-notebooks.sh writes) registers this one when papermill's translators module is
first imported, and costs nothing in any other Python process.
"""

import math

LANGUAGES = ("rust", "tdw")


def _translator_base():
    from papermill.translators import Translator

    return Translator


def make_translator():
    """The RustTranslator class (built lazily: papermill is only imported when it is used)."""

    class RustTranslator(_translator_base()):
        @classmethod
        def translate_str(cls, val):
            return rust_string(val)

        @classmethod
        def translate_escaped_str(cls, val):
            return rust_string(str(val))

        @classmethod
        def translate_none(cls, val):
            return "Option::<String>::None"

        @classmethod
        def translate_int(cls, val):
            return f"{val}_i64"

        @classmethod
        def translate_float(cls, val):
            if math.isnan(val):
                return "f64::NAN"
            if math.isinf(val):
                return "f64::INFINITY" if val > 0 else "f64::NEG_INFINITY"
            return f"{val!r}_f64"

        @classmethod
        def translate_bool(cls, val):
            return "true" if val else "false"

        @classmethod
        def translate_list(cls, val):
            return "vec![" + ", ".join(cls.translate(v) for v in val) + "]"

        @classmethod
        def translate_dict(cls, val):
            pairs = ", ".join(f"({cls.translate(str(k))}, {cls.translate(v)})" for k, v in val.items())
            return f"std::collections::BTreeMap::from([{pairs}])"

        @classmethod
        def comment(cls, cmt_str):
            return f"// {cmt_str}".strip()

        @classmethod
        def assign(cls, name, str_val):
            return f"let {name} = {str_val};"

    return RustTranslator


def rust_string(text):
    """A Rust string literal for `text` (UTF-8 is kept; quotes, backslashes and controls escaped)."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{{{ord(ch):x}}}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def register():
    """Registers the translator for the `rust` language and the `tdw` kernel."""
    from papermill.translators import papermill_translators

    translator = make_translator()
    for name in LANGUAGES:
        papermill_translators.register(name, translator)
    return translator
