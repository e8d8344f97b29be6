"""Unit tests of the Rust translator (pytest; needs papermill)."""

import math

from papermill.translators import translate_parameters

import tdw_papermill_rust


def test_parameters_become_typed_let_bindings():
    tdw_papermill_rust.register()
    code = translate_parameters("tdw", "rust", {"prime": 61, "fraction": 0.5, "name": 'a "b"\\c',
                                                "fast": True, "seeds": [1, 2]})
    assert code.splitlines() == [
        "// Parameters",
        "let prime = 61_i64;",
        "let fraction = 0.5_f64;",
        'let name = "a \\"b\\"\\\\c";',
        "let fast = true;",
        "let seeds = vec![1_i64, 2_i64];",
    ]


def test_special_values():
    rust = tdw_papermill_rust.make_translator()
    assert rust.translate(math.inf) == "f64::INFINITY"
    assert rust.translate(float("nan")) == "f64::NAN"
    assert rust.translate(None) == "Option::<String>::None"
    assert rust.translate("é\n") == '"é\\n"'
    assert rust.translate({"k": 1}) == 'std::collections::BTreeMap::from([("k", 1_i64)])'


def test_the_hook_registers_on_papermills_own_import():
    import subprocess
    import sys

    code = ("import tdw_papermill_rust.hook\n"
            "from papermill.translators import papermill_translators as t\n"
            "print(t.find_translator('tdw', 'rust').assign('x', '1'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "let x = 1;"
