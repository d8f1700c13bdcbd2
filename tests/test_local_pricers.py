"""Local pricers: fit, predict, save / load, errors, and a smoke test on the real course items."""

from __future__ import annotations

import json
import random
import zipfile
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from pricebench import Item, PricerError, load_dataset, make_pricer
from pricebench.cli import main
from pricebench.local import LocalBest, LocalPricer
from tests.conftest import COURSE_ITEMS

SPECS = [
    "feature-lr",
    "bow-lr",
    "w2v-lr",
    "svr",
    "random-forest",
    "gbm",
    "nn",
    "tfidf-ridge",
    "tfidf-svr",
    "knn",
    "local-best",
]
# Kinds of product with a typical price; the text says which kind and how many, so a pricer
# that reads text can do much better than a constant.
KINDS = {
    "pencil": 2.0,
    "notebook": 6.0,
    "hammer": 20.0,
    "kettle": 45.0,
    "headphones": 120.0,
    "monitor": 300.0,
    "laptop": 900.0,
}
ADJECTIVES = ["blue", "compact", "classic", "premium", "sturdy", "portable", "modern", "quiet"]


def fake_items(n: int, seed: int) -> list[Item]:
    rng = random.Random(seed)
    items = []
    for i in range(n):
        kind = rng.choice(list(KINDS))
        pack = rng.choice([1, 2, 4])
        adjective = rng.choice(ADJECTIVES)
        price = KINDS[kind] * pack * rng.uniform(0.8, 1.25)
        text = (
            f"Title: {adjective.title()} {kind}, pack of {pack}\nBrand: Acme{rng.randint(1, 3)}\n"
            f"Description: A {adjective} {kind}. Weight: {rng.uniform(0.1, 9):.1f} lbs"
        )
        items.append(Item(id=f"s{seed}-{i}", title=f"{adjective} {kind}", text=text, price=price))
    return items


TRAIN = fake_items(120, seed=1)
TEST = fake_items(40, seed=2)


# Fewer iterations and folds than the defaults keep the tests fast; the code paths are the same.
FAST = {"local-best": {"folds": 3}, "gbm": {"max_iter": 30}, "nn": {"max_iter": 50}}


def fitted(spec: str, train: list[Item] = TRAIN) -> LocalPricer:
    return make_pricer(spec, **FAST.get(spec, {})).fit(train)  # type: ignore[return-value]


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> object:
    # OpenMP and BLAS threads fight over the few shared cores and make small fits far slower.
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def pricers() -> dict[str, LocalPricer]:
    return {spec: fitted(spec) for spec in SPECS}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("spec", SPECS)
def test_fits_and_predicts_finite_positive_prices(pricers: dict, spec: str) -> None:
    pricer = pricers[spec]
    assert pricer.name == spec
    prices = np.array(pricer.predict_batch(TEST))
    assert prices.shape == (len(TEST),)
    assert np.all(np.isfinite(prices)) and np.all(prices > 0)
    assert pricer.predict(TEST[0]) == pytest.approx(prices[0])
    assert pricer.predict_batch([]) == []


@pytest.mark.parametrize("spec", SPECS)
def test_params_are_stored_as_given(spec: str) -> None:
    params = make_pricer(spec).get_params()
    assert params and all(not key.endswith("_") for key in params)
    assert make_pricer(spec).set_params(**params).get_params() == params


@pytest.mark.parametrize("spec", ["tfidf-ridge", "knn", "local-best", "bow-lr"])
def test_text_pricers_beat_a_constant_on_the_fixture(pricers: dict, spec: str) -> None:
    truth = np.array([item.price for item in TEST])
    constant = np.mean([item.price for item in TRAIN])
    guesses = np.array(pricers[spec].predict_batch(TEST))
    assert np.mean(np.abs(guesses - truth)) < 0.6 * np.mean(np.abs(constant - truth))


@pytest.mark.parametrize("spec", SPECS)
def test_save_load_round_trip_gives_identical_predictions(
    pricers: dict, spec: str, tmp_path: Path
) -> None:
    pricer = pricers[spec]
    path = pricer.save(tmp_path / f"{spec}.pbz")
    loaded = type(pricer).load(path)
    assert type(loaded) is type(pricer)
    assert loaded.get_params() == pricer.get_params()
    assert loaded.predict_batch(TEST) == pricer.predict_batch(TEST)


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("size", [0, 1])
def test_fitting_on_too_few_items_is_a_clear_error(spec: str, size: int) -> None:
    with pytest.raises(PricerError, match=f"{spec}: cannot fit on an? (empty|one-item)"):
        make_pricer(spec).fit(TRAIN[:size])


@pytest.mark.parametrize("spec", ["bow-lr", "local-best"])
def test_predicting_before_fit_is_a_clear_error(spec: str) -> None:
    with pytest.raises(PricerError, match="call fit"):
        make_pricer(spec).predict(TEST[0])
    with pytest.raises(PricerError, match="call fit"):
        make_pricer(spec).save("unused.pbz")


def test_two_items_are_enough_to_fit() -> None:
    for spec in SPECS:
        prices = fitted(spec, TRAIN[:2]).predict_batch(TEST[:3])
        assert all(np.isfinite(p) and p > 0 for p in prices), spec


def test_local_best_blend_weights_are_non_negative(pricers: dict) -> None:
    blend = pricers["local-best"].blend()
    assert set(blend) == {"tfidf-ridge", "tfidf-svr", "knn", "intercept"}
    assert all(weight >= 0 for name, weight in blend.items() if name != "intercept")
    assert sum(w for n, w in blend.items() if n != "intercept") > 0.5


def test_local_best_drops_knn_above_large_n() -> None:
    pricer = LocalBest(large_n=50, folds=2).fit(TRAIN)
    assert pricer.component_names_ == ["tfidf-ridge"]
    assert pricer.pricers_[0].max_char_features == 0
    with pytest.raises(PricerError, match="unknown component"):
        LocalBest(components=("ridge", "magic")).fit(TRAIN)


def test_predictions_are_clipped_to_a_positive_floor() -> None:
    # A raw-price linear model extrapolates below zero on a short, unusual text.
    cheap = [Item(id=f"c{i}", title="x", text=f"tiny thing {i}", price=1.0) for i in range(10)]
    dear = [Item(id=f"d{i}", title="x", text=f"huge machine {i}", price=900.0) for i in range(10)]
    pricer = make_pricer("bow-lr").fit(cheap + dear)
    odd = Item(id="o", title="x", text="tiny tiny tiny tiny tiny tiny", price=1.0)
    assert pricer.predict(odd) > 0


# --- saved files from elsewhere --------------------------------------------------------------


def rewrite(path: Path, name: str, change) -> None:
    """Replace the archive entry `name` by `change(its decoded JSON)`."""
    with zipfile.ZipFile(path) as archive:
        entries = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    entries[name] = json.dumps(change(json.loads(entries[name]))).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for entry, data in entries.items():
            archive.writestr(entry, data)


def rewrite_meta(path: Path, **changes: object) -> None:
    rewrite(path, "meta.json", lambda meta: {**meta, **changes})


def test_loading_a_file_from_another_version_is_a_clear_error(
    pricers: dict, tmp_path: Path
) -> None:
    path = pricers["tfidf-ridge"].save(tmp_path / "old.pbz")
    rewrite_meta(path, pricebench_version="0.0.1")
    with pytest.raises(PricerError, match=r"old\.pbz: saved by pricebench 0\.0\.1"):
        LocalPricer.load(path)


def test_loading_something_else_is_a_clear_error(pricers: dict, tmp_path: Path) -> None:
    not_zip = tmp_path / "notes.pbz"
    not_zip.write_text("hello")
    with pytest.raises(PricerError, match="notes.pbz: not a saved pricebench pricer"):
        LocalPricer.load(not_zip)
    with pytest.raises(PricerError, match="no such file"):
        LocalPricer.load(tmp_path / "missing.pbz")
    path = pricers["knn"].save(tmp_path / "knn.pbz")
    with pytest.raises(PricerError, match="holds a .*NeighbourPrices, not a LocalBest"):
        LocalBest.load(path)


class Stranger:
    """A type no saved pricer may contain."""

    def __init__(self) -> None:
        self.value = 1


@pytest.mark.parametrize(
    ("node", "refused"),
    [
        ({"class": "tests.test_local_pricers.Stranger", "args": []}, "Stranger"),
        ({"function": "builtins.eval", "args": ["1 + 1"]}, "builtins.eval"),
        ({"function": "os.system", "args": ["true"]}, "os.system"),
    ],
)
def test_loading_a_file_with_untrusted_types_is_refused(
    pricers: dict, tmp_path: Path, node: dict, refused: str
) -> None:
    path = pricers["knn"].save(tmp_path / "odd.pbz")
    rewrite(path, "state.json", lambda state: {"new": 0, "value": node})
    with pytest.raises(PricerError, match=f"untrusted types: .*{refused}"):
        LocalPricer.load(path)


def test_saving_is_pickle_free_and_fast_to_read(pricers: dict, tmp_path: Path) -> None:
    path = pricers["local-best"].save(tmp_path / "best.pbz")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        state = json.loads(archive.read("state.json"))
    assert names[:2] == ["meta.json", "state.json"]
    assert all(name.startswith("arrays/") and name.endswith(".npy") for name in names[2:])
    text = json.dumps(state)
    assert '"vocabulary"' in text  # vocabularies as one key list, not one node per word
    assert "pickle" not in text


def test_a_constant_pricer_saves_and_loads(tmp_path: Path) -> None:
    from pricebench import ConstantPricer

    pricer = ConstantPricer("median").fit(TRAIN)
    loaded = ConstantPricer.load(pricer.save(tmp_path / "constant.pbz"))
    assert loaded.statistic == "median" and loaded.predict(TEST[0]) == pricer.predict(TEST[0])
    with pytest.raises(PricerError, match="call fit"):
        ConstantPricer().save(tmp_path / "unfitted.pbz")


# --- real data --------------------------------------------------------------------------------


def test_real_data_smoke_local_best_beats_the_constant() -> None:
    data = load_dataset(COURSE_ITEMS)
    train, test = data.train[:300], data.test[:100]
    truth = np.array([item.price for item in test])
    constant = np.mean([item.price for item in train])
    pricer = LocalBest(components=("tfidf-ridge", "knn"), folds=2).fit(train)
    guesses = np.array(pricer.predict_batch(test))
    assert np.all(np.isfinite(guesses)) and np.all(guesses > 0)
    assert np.mean(np.abs(guesses - truth)) < 0.9 * np.mean(np.abs(constant - truth))


def test_cli_runs_local_best(tmp_path: Path) -> None:
    data = tmp_path / "items.jsonl"
    with data.open("w") as handle:
        for split, items in (("train", TRAIN[:60]), ("test", TEST[:15])):
            for item in items:
                record = item.model_dump(exclude={"extras", "split"})
                handle.write(json.dumps({**record, "split": split}) + "\n")
    out = tmp_path / "results"
    argv = ["run", "local-best", "--data", str(data), "--out", str(out), "--param", "folds=2"]
    assert main(argv) == 0
    lines = (out / "local-best" / "items.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 15
    assert all(r.get("failure") is None and r["guess"] > 0 for r in records)
