"""The course's weeks 7-8 in one script: GPT-4o-mini with and without retrieved similar items,
then a paired test of whether the retrieval really helped. Needs OPENAI_API_KEY and
`pip install 'pricebench[openai]'`; costs a few cents (replies are cached, so a rerun is free).

    python examples/frontier_rag.py [path/to/course-items.jsonl]

Its runs go under results/, as the command line's do.
"""

import sys

from pricebench import PricebenchError, Tester, load_dataset
from pricebench.compare import compare


def main(path: str) -> None:
    # Imported here: without the openai extra the import itself says so, caught below.
    from pricebench import OpenAIPricer
    from pricebench.chat.context import SimilarItems, TfidfIndex

    data = load_dataset(path)
    plain = OpenAIPricer("gpt-4o-mini", budget=0.50)
    rag = OpenAIPricer("gpt-4o-mini", context=SimilarItems(TfidfIndex(), k=5), budget=0.50)
    rag.fit(data.train)  # indexes the training items whose prices go into the prompt
    runs = []
    for pricer in (plain, rag):
        out = f"results/{pricer.name.replace(':', '_')}"
        results = Tester(pricer, data.test, size=250, workers=8, out=out).run()
        print(results.summary(), f"cost ${results.cost:.4f}")
        runs.append(results)
    print(compare(runs[1], runs[0]).summary())


if __name__ == "__main__":
    try:
        main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/course-items.jsonl")
    except PricebenchError as error:  # no key, the openai extra missing: one line
        sys.exit(f"error: {error}")
