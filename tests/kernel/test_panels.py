"""The panels (training_panel, analysis_panel, explore) driven through the Jupyter protocol as
JupyterLab's widget manager drives them: comm_open of every widget model, state updates both
ways, button clicks (see widget_frontend.Frontend)."""
import json
import pathlib
import time

import pytest

from test_protocol import RESULTS, Run, start, stop
from widget_frontend import Frontend


@pytest.fixture(scope="module")
def session():
    km, kc, _ = start()
    yield km, kc, Frontend(kc)
    stop(km, kc)


def show(kc, ui, code):
    """Runs a cell that ends in a widget; returns the shown widget's model id."""
    run = Run(kc, code, on_message=ui.take).ok()
    view = run.result().get("application/vnd.jupyter.widget-view+json")
    assert view, run.result()
    assert view["model_id"] in ui.models
    assert "text/plain" in run.result()
    return view["model_id"]


def within(ui, seconds, condition, what):
    assert ui.pump(seconds, until=condition), what


def param_input(ui, root, name):
    ids = [i for i in ui.descendants(root) if ui.models[i].get("description") == name
           and ui.models[i]["_model_name"] in ("IntTextModel", "FloatTextModel", "TextModel")]
    assert len(ids) == 1, (name, ids)
    return ids[0]


def html_of(ui, root, needle):
    return [ui.models[i]["value"] for i in ui.descendants(root)
            if ui.models[i]["_model_name"] == "HTMLModel" and needle in ui.models[i].get("value", "")]


def button(ui, root, description):
    ids = [i for i in ui.descendants(root) if ui.models[i]["_model_name"] == "ButtonModel"
           and ui.models[i]["description"] == description]
    assert len(ids) == 1, description
    return ids[0]


def test_training_panel_trains_and_the_analysis_side_finds_the_variant(session):
    _, kc, ui = session
    root = show(kc, ui, "training_panel()")
    family = [i for i in ui.descendants(root) if ui.models[i]["_model_name"] == "DropdownModel"][0]
    labels = ui.models[family]["_options_labels"]
    assert sorted(labels) == ["modulo_addition_1layer", "modulo_addition_2layer_mlp", "modulo_addition_learned_emb_mlp"]
    assert labels[ui.models[family]["index"]] == "modulo_addition_1layer"
    prime = param_input(ui, root, "prime")
    assert ui.models[prime]["value"] == 113
    assert "Modulus" in ui.models[prime]["tooltip"], "the description is the tooltip"
    assert html_of(ui, root, "Ready to train") or html_of(ui, root, "already trained")

    # Another family: its inputs are built anew from its family.json.
    before = set(ui.descendants(root))
    ui.set(family, index=labels.index("modulo_addition_2layer_mlp"))
    within(ui, 20, lambda: param_input(ui, root, "prime") != prime, "the inputs were not rebuilt")
    within(ui, 20, lambda: "modulo_addition_2layer_mlp_p" in "".join(html_of(ui, root, "Variant:")),
           "the name preview did not follow the family")
    assert set(ui.descendants(root)) != before
    ui.set(family, index=labels.index("modulo_addition_1layer"))
    within(ui, 20, lambda: "modulo_addition_1layer_p" in "".join(html_of(ui, root, "Variant:")), "back to 1 layer")

    # The name preview follows the inputs.
    prime = param_input(ui, root, "prime")
    epochs = [i for i in ui.descendants(root) if ui.models[i].get("description") == "Epochs"][0]
    seed = param_input(ui, root, "seed")
    ui.set(seed, value=int(time.time()) % 100000)  # a fresh variant every run
    ui.set(prime, value=23)
    ui.set(epochs, value=200)
    within(ui, 20, lambda: "_p23_" in "".join(html_of(ui, root, "Variant:")), "no p23 in the name preview")

    # An invalid prime: the error is shown by its field and Start does nothing.
    start_button = button(ui, root, "Start Training")
    ui.set(prime, value=21)
    within(ui, 20, lambda: html_of(ui, root, "not prime"), "no error shown for prime 21")
    within(ui, 20, lambda: ui.models[start_button]["disabled"] is True, "Start stayed enabled")
    progress = [i for i in ui.descendants(root) if ui.models[i]["_model_name"] == "IntProgressModel"][0]
    value_before = ui.models[progress]["value"]
    ui.click(start_button)
    ui.pump(2)
    assert ui.models[progress]["value"] == value_before, "Start trained with an invalid prime"

    # The optimizer's settings are inputs too, filled from family.json and checked likewise.
    ui.set(prime, value=23)
    lr = param_input(ui, root, "Learning rate")
    wd = param_input(ui, root, "Weight decay")
    assert ui.models[lr]["value"] == pytest.approx(1e-3) and ui.models[wd]["value"] == 1.0
    ui.set(lr, value=-0.5)
    within(ui, 20, lambda: html_of(ui, root, "learning_rate"), "no error shown for a negative learning rate")
    within(ui, 20, lambda: ui.models[start_button]["disabled"] is True, "Start stayed enabled")
    ui.set(lr, value=2e-3)

    # Valid again: Start trains, the bar moves to 100 %, the variant is on disk.
    within(ui, 20, lambda: ui.models[start_button]["disabled"] is False, "Start stayed disabled")
    name = "".join(html_of(ui, root, "Variant:")).split("<code>")[1].split("</code>")[0]
    ui.click(start_button)
    seen = set()

    def finished():
        seen.add(ui.models[progress]["value"])
        return ui.models[progress].get("bar_style") == "success" and ui.models[progress]["value"] == 200

    within(ui, 300, finished, "training did not reach 100 %")
    assert len(seen) >= 3, f"progress moved through {sorted(seen)}"
    within(ui, 20, lambda: html_of(ui, root, "trained " + name), "no final status")
    checkpoints = pathlib.Path(RESULTS, "modulo_addition_1layer", name, "checkpoints")
    assert len(list(checkpoints.glob("checkpoint_epoch_*.safetensors"))) >= 2
    config = json.loads((checkpoints.parent / "config.json").read_text())
    assert config.get("learning_rate") == 2e-3 and config.get("weight_decay") == 1.0, config

    # The analysis side lists it and analyzes it.
    panel = show(kc, ui, "analysis_panel()")
    variant = [i for i in ui.descendants(panel) if ui.models[i]["_model_name"] == "DropdownModel"][0]
    labels = ui.models[variant]["_options_labels"]
    assert name in labels
    ui.set(variant, index=labels.index(name))
    analyzers = [i for i in ui.descendants(panel) if ui.models[i]["_model_name"] == "SelectMultipleModel"][0]
    within(ui, 20, lambda: "neuron_freq_norm" in ui.models[analyzers]["_options_labels"], "no analyzers listed")
    wanted = [ui.models[analyzers]["_options_labels"].index(a)
              for a in ("neuron_freq_norm", "dominant_frequencies", "parameter_snapshot")]
    ui.set(analyzers, index=wanted)
    ui.click(button(ui, panel, "Run analysis"))
    within(ui, 300, lambda: html_of(ui, panel, "analysis done"), "analysis did not finish")
    assert html_of(ui, panel, "<table"), "no freshness table"
    test_training_panel_trains_and_the_analysis_side_finds_the_variant.variant = name


def test_explore_redraws_when_the_slider_moves(session):
    _, kc, ui = session
    name = getattr(test_training_panel_trains_and_the_analysis_side_finds_the_variant, "variant", None)
    if name is None:
        pytest.skip("needs the variant trained by the training panel test")
    Run(kc, f'let explored = find_variant("{name}")?;').ok()
    root = show(kc, ui, "explore(&explored)")
    view = [i for i in ui.descendants(root) if ui.models[i]["_model_name"] == "DropdownModel"][0]
    views = ui.models[view]["_options_labels"]
    target = "parameters.embeddings.fourier_coefficients"
    assert target in views, views
    ui.set(view, index=views.index(target))
    slider = [i for i in ui.descendants(root) if ui.models[i]["_model_name"] == "IntSliderModel"][0]
    within(ui, 30, lambda: ui.models[slider]["max"] >= 1, "the slider has fewer than two epochs")

    def chart():
        svgs = html_of(ui, root, "<svg")
        return svgs[0] if svgs else None

    within(ui, 30, lambda: chart() is not None, "no chart drawn")
    first = chart()
    ui.set(slider, value=ui.models[slider]["max"])
    within(ui, 30, lambda: chart() not in (None, first), "the chart did not change with the slider")
    assert html_of(ui, root, "drawn in")
    ui.click(button(ui, root, "◀ Previous"))
    within(ui, 30, lambda: ui.models[slider]["value"] == ui.models[slider]["max"] - 1, "Previous did not step")


def test_viability_panel_certifies_what_is_typed_and_names_bad_input(session):
    _, kc, ui = session
    root = show(kc, ui, "viability_panel()")
    prime = param_input(ui, root, "Prime")
    frequencies = param_input(ui, root, "Frequencies")
    pr = param_input(ui, root, "W_E PR")
    # MIScope's example is what the panel opens with.
    assert ui.models[prime]["value"] == 59
    assert ui.models[frequencies]["value"] == "5, 15, 21"
    assert ui.models[pr]["value"] == pytest.approx(18.3)
    certify = button(ui, root, "Certify")
    ui.click(certify)
    within(ui, 30, lambda: html_of(ui, root, "certified: <b>viable</b>"), "the example was not certified viable")
    page = "".join(html_of(ui, root, "viability certificate"))
    assert page.count("<svg") == 3, "profile, alias and ideal charts"
    assert "1.370488" in page, "the example's minimum distance"
    assert "[7, 9, 10]" in page or "{7, 9, 10}" in page, "the ideal set of size 3 for p = 59"

    # k = 24 of 29 is past the aliasing line.
    ui.set(frequencies, value="5, 24")
    ui.click(certify)
    within(ui, 30, lambda: html_of(ui, root, "certified: <b>aliasing_failure</b>"), "aliasing not reported")

    # Bad input is named and nothing is certified from it.
    ui.set(frequencies, value="5, x")
    ui.click(certify)
    # The panel escapes its messages (' is &#39;).
    within(ui, 30, lambda: html_of(ui, root, "&#39;x&#39; is not a frequency"), "bad entry not named")
    ui.set(frequencies, value="5, 40")
    ui.click(certify)
    within(ui, 30, lambda: html_of(ui, root, "k = 40 is outside 1..=29"), "out-of-range frequency not named")


def test_intervention_panel_trains_an_intervention_and_steps_through_its_check(session):
    _, kc, ui = session
    name = getattr(test_training_panel_trains_and_the_analysis_side_finds_the_variant, "variant", None)
    if name is None:
        pytest.skip("needs the variant trained by the training panel test")
    root = show(kc, ui, "intervention_panel()")
    variant = [i for i in ui.descendants(root) if ui.models[i]["_model_name"] == "DropdownModel"][0]
    labels = ui.models[variant]["_options_labels"]
    assert name in labels, labels
    ui.set(variant, index=labels.index(name))
    frequencies = param_input(ui, root, "Frequencies")
    # Analysed with dominant_frequencies: its two largest frequencies are proposed.
    within(ui, 20, lambda: len(ui.models[frequencies]["value"].split(",")) == 2, "key frequencies not filled in")
    start, end, ramp = (param_input(ui, root, d) for d in ("Start epoch", "End epoch", "Ramp epochs"))
    train = button(ui, root, "Train intervention")

    # Bad input is named, and nothing is trained.
    ui.set(frequencies, value="3, x")
    ui.click(train)
    within(ui, 20, lambda: html_of(ui, root, "&#39;x&#39; is not a frequency"), "bad frequency not named")
    ui.set(frequencies, value="3, 40")
    ui.click(train)
    within(ui, 20, lambda: html_of(ui, root, "frequency 40 is beyond p/2 = 11"), "out-of-range frequency not named")
    ui.set(start, value=50)
    ui.set(frequencies, value="3, 7")
    ui.click(train)
    within(ui, 60, lambda: html_of(ui, root, "no checkpoint for epoch 50"), "a start epoch without checkpoint was not refused")
    assert not pathlib.Path(RESULTS, "modulo_addition_1layer", name, "interventions").exists()

    # A window at the parent's checkpoint 100 to the end, no ramp: trained, checked, shown.
    label = f"panel_{int(time.time()) % 100000}"
    ui.set(start, value=100)
    ui.set(end, value=200)
    ui.set(ramp, value=0)
    ui.set(param_input(ui, root, "Gain"), value=0.1)
    ui.set(param_input(ui, root, "Label"), value=label)
    ui.click(train)
    within(ui, 300, lambda: html_of(ui, root, f"interventions/{label}</code>: 3 checkpoints"), "no final status")
    child = pathlib.Path(RESULTS, "modulo_addition_1layer", name, "interventions", label)
    config = json.loads((child / "config.json").read_text())
    assert config["intervention"]["gain"] == {"3": 0.1, "7": 0.1}, config
    assert len(list((child / "artifacts" / "intervention_check").glob("epoch_*.npz"))) == 3

    def chart():
        svgs = html_of(ui, root, "Intervention Check")
        return svgs[0] if svgs else ""

    within(ui, 30, lambda: "Epoch 100 (window 100–200 active, ramp 1.00)" in chart(), "the check at full strength not shown")
    slider = [i for i in ui.descendants(root) if ui.models[i]["_model_name"] == "IntSliderModel"][0]
    assert ui.models[slider]["max"] == 2
    ui.set(slider, value=0)
    within(ui, 30, lambda: "Epoch 0 (window 100–200 before, ramp 0.00)" in chart(), "the slider did not move the check")

    # The same label again is refused, naming the directory.
    ui.click(train)
    within(ui, 20, lambda: html_of(ui, root, "exists already"), "a second intervention of the same name was not refused")
