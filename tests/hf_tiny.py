"""A tiny Llama-architecture model and tokenizer, built in the tests from the course items.

The tokenizer is a byte-level BPE trained on the items' text and prices, splitting numbers into
groups of up to three digits as Llama 3's does; the model has random weights and a few hundred
thousand parameters, small enough to fine-tune for a few steps on two CPU cores.
"""

from __future__ import annotations

from pathlib import Path

from pricebench import Item


def build_tokenizer(items: list[Item], folder: Path) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=["<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    texts = [f"{item.text[:300]}\n\nPrice is ${item.price:.2f}" for item in items]
    tokenizer.train_from_iterator(texts, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>")
    fast.save_pretrained(str(folder))


def build_model(folder: Path, vocab_size: int) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=0,
        eos_token_id=1,
        tie_word_embeddings=True,
    )
    LlamaForCausalLM(config).save_pretrained(str(folder))


def build(items: list[Item], folder: Path) -> Path:
    """Tokenizer and random-weight model saved together in `folder`."""
    from transformers import AutoTokenizer

    build_tokenizer(items, folder)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    build_model(folder, len(tokenizer))
    return folder
