import subprocess
import sys

import pytest

from pricebench import ConstantPricer, SpecError, make_pricer, register
from pricebench.registry import available


def test_builtin_specs():
    assert isinstance(make_pricer("constant"), ConstantPricer)
    assert make_pricer("constant:median").statistic == "median"
    assert make_pricer("random", seed=3).seed == 3


def test_unknown_spec_lists_the_known_ones():
    with pytest.raises(SpecError, match="unknown pricer 'nope'; known pricers: .*constant"):
        make_pricer("nope")


def test_bad_options_are_a_spec_error():
    with pytest.raises(SpecError, match="constant"):
        make_pricer("constant", colour="red")


def test_registered_factories_get_the_argument_after_the_colon():
    class Fixed:
        def __init__(self, value="1"):
            self.name = f"fixed:{value}"
            self.value = float(value)

        def predict(self, item):
            return self.value

    register("fixed", Fixed)
    assert make_pricer("fixed:2.5").value == 2.5
    assert "fixed" in available()


def test_importing_pricebench_does_not_import_the_sdks():
    code = "import sys, pricebench; print('openai' in sys.modules, 'anthropic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_third_party_pricers_come_from_entry_points(monkeypatch):
    from importlib.metadata import EntryPoint

    import pricebench.registry as registry

    plugin = EntryPoint(
        "shop-median", "pricebench.local.baselines:ConstantPricer", "pricebench.pricers"
    )
    monkeypatch.setattr(
        registry, "entry_points", lambda group: [plugin] if group == "pricebench.pricers" else []
    )
    assert "shop-median" in available()
    assert make_pricer("shop-median:median").statistic == "median"
