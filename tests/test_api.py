"""The documented Python API: ``import deltagen`` and its functions, as the README shows them."""
from __future__ import annotations

import tomllib

import pytest

import deltagen
from conftest import ROOT

GENERATED = ROOT / "generated"
XOR = GENERATED / "lecture_xor" / "spec.toml"
CHAIN = GENERATED / "lecture_sigmoid_121" / "spec.toml"   # input_layer = 1: layers 2 and 3


def test_derive_takes_a_path_a_dict_or_a_network():
    from_path = deltagen.derive(XOR)
    from_text_path = deltagen.derive(str(XOR))
    with XOR.open("rb") as handle:
        from_dict = deltagen.derive(tomllib.load(handle))
    from_network = deltagen.derive(from_path.network)
    assert from_network.network is from_path.network
    for d in (from_text_path, from_dict, from_network):
        assert d.output_delta == from_path.output_delta
    with pytest.raises(TypeError, match="spec: expected a path, a dict or a Network"):
        deltagen.derive(42)


def test_deltagen_derive_is_the_function_and_the_package():
    import deltagen.derive.model.activations as activations
    assert callable(deltagen.derive) and deltagen.derive.model.activations is activations
    assert deltagen.derive.derive(XOR).network.name == "lecture_xor"


def test_bad_spec_through_the_api_is_a_spec_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\ninput = 2\nlayers = [{ units = 1, activation = "sigmoidd" }]\nloss = "bce"\n')
    with pytest.raises(deltagen.SpecError) as caught:
        deltagen.derive(bad)
    assert caught.value.line().startswith(f"{bad}: layers[0].activation: expected")


def test_reprs_say_what_they_are():
    d = deltagen.derive(CHAIN)
    # 1-2-1 with biases: 2 + 2 + 2 + 1 parameters; the lecture numbers the layers 2 and 3
    assert repr(d) == "<Derivation of lecture_sigmoid_121: 1-2-1, loss half_sse, 7 parameters, layers 2..3>"
    assert repr(d.network).startswith("<Network lecture_sigmoid_121: 1-2-1 (sigmoid, sigmoid), loss half_sse (mean), "
                                      "7 parameters, layers 2..3, from ")
    report = deltagen.prove(d)
    assert "object at 0x" not in repr(report) and "lecture_sigmoid_121" in repr(report)


def test_prove_generate_latex_solve_through_the_facade(tmp_path):
    d = deltagen.derive(XOR)
    report = deltagen.prove(d)
    assert report.ok and report.n_params == 9   # 2·2 + 2 + 2·1 + 1
    files = deltagen.generate(d, "c", out=tmp_path)
    assert sorted(files) == ["lecture_xor.c", "lecture_xor.h"]
    assert (tmp_path / "lecture_xor.c").read_text() == (GENERATED / "lecture_xor" / "lecture_xor.c").read_text()
    document = deltagen.latex(d, report, lang="pt")
    assert document == (GENERATED / "lecture_xor" / "derivation_pt.tex").read_text()
    assert deltagen.solve(d, lang="en") == (GENERATED / "lecture_xor" / "solution_en.tex").read_text()
    assert deltagen.math(d).startswith("$$\\begin{aligned}")
    with pytest.raises(ValueError, match="--target: expected one of numpy, c"):
        deltagen.generate(d, "fortran")


def test_check_through_the_facade_matches_the_committed_report():
    import json
    folder = GENERATED / "lecture_xor"
    result = deltagen.check(folder / "spec.toml", folder / "answers_lecture.toml")
    committed = json.loads((folder / "answers_lecture.report.json").read_text())
    assert result.ok is committed["ok"] is False          # lecture 004's XOR labels have wrong entries
    assert result.counts() == committed["counts"]
