"""The course's day-5 workflow: fine-tune GPT-4o-mini on 200 items, then price 250 test items.

    OPENAI_API_KEY=... python examples/finetune_openai.py [path/to/course-items.jsonl]

Needs `pip install 'pricebench[openai]'`. Training 200 items for one epoch costs a few cents.
The job id is saved as soon as it exists: running this again re-attaches to the same job instead
of paying for a new one, and after a crash `pricebench finetune resume ftjob-...` does the same.
Its chart goes under results/.
"""

import sys

from pricebench import PricebenchError, Tester, load_dataset


def main(path: str) -> None:
    # Imported here: without the openai extra the import itself says so, caught below.
    from pricebench import OpenAIFineTuned

    data = load_dataset(path)
    train, validation = data.train[:200], data.train[200:250]  # validation from train, not test
    pricer = OpenAIFineTuned(hyperparameters={"n_epochs": 1}, seed=42).fit(train, validation)
    print(f"fine-tuned model: {pricer.fine_tuned_model_} (cost ${pricer.training_cost_:.2f})")
    results = Tester.test(pricer, data.test, size=250, workers=4)  # the course's 250 items
    results.chart("results/finetuned.png")


if __name__ == "__main__":
    try:
        main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/course-items.jsonl")
    except PricebenchError as error:  # no key, the openai extra missing: one line
        sys.exit(f"error: {error}")
