"""The course's day-5 workflow: fine-tune GPT-4o-mini on 200 items, then price 250 test items.

    OPENAI_API_KEY=... python examples/finetune_openai.py [path/to/course-items.jsonl]

Training 200 items for one epoch costs a few cents. The job id is saved as soon as it exists:
running this again re-attaches to the same job instead of paying for a new one, and after a
crash `pricebench finetune resume ftjob-...` does the same.
"""

import sys

from pricebench import OpenAIFineTuned, Tester, load_dataset

path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/course-items.jsonl"
data = load_dataset(path)
train, validation = data.train[:200], data.train[200:250]  # validation comes from train, not test

pricer = OpenAIFineTuned(hyperparameters={"n_epochs": 1}, seed=42).fit(train, validation)
print(f"fine-tuned model: {pricer.fine_tuned_model_} (training cost ${pricer.training_cost_:.2f})")
results = Tester.test(pricer, data.test, workers=4)  # the course's 250 items, with its chart
results.chart("finetuned.png")
