"""Supervised fine-tuning on a csvdsl export with TRL's SFTTrainer, the loss on the assistant's
turns only (the programs), and a max_length that cuts no row.

    csvdsl export run --hf data
    python examples/train_sft.py --model Qwen/Qwen2.5-0.5B-Instruct --data data --output sft-out

``--data`` is the export folder (or its Hub repo). Needs ``pip install 'csvdsl[train]'``."""

from __future__ import annotations

import argparse


def longest_row(dataset, tokenizer) -> int:
    """The longest conversation in tokens, as the chat template renders it."""
    return max(len(tokenizer.apply_chat_template(row["messages"], tokenize=True, return_dict=True)["input_ids"])
               for row in dataset)


def cpu_precision() -> dict:
    """TRL trains in bf16 by default, which needs a GPU: on a CPU, float32."""
    import torch

    return {} if torch.cuda.is_available() else {"bf16": False}


def build(model, data: str, output: str, max_steps: int = -1, tokenizer=None, max_length: int | None = None,
          assistant_only_loss: bool = True, **config):
    """The SFTTrainer: ``model`` is a name, a path or a model object; ``config`` goes to SFTConfig."""
    from datasets import load_dataset
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    dataset = load_dataset(data, "sft", split="train")
    tokenizer = tokenizer or AutoTokenizer.from_pretrained(model)
    if max_length is None:  # TRL's default (1024) would silently cut rows before the assistant's program
        max_length = longest_row(dataset, tokenizer)
        print(f"max_length {max_length}: the longest of {len(dataset)} rows, in tokens")
    args = SFTConfig(output_dir=output, max_steps=max_steps, max_length=max_length, assistant_only_loss=assistant_only_loss,
                     report_to="none", **(cpu_precision() | config))
    return SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a model name or a local path")
    parser.add_argument("--data", required=True, help="the folder `csvdsl export --hf` wrote, or its Hub repo")
    parser.add_argument("--output", default="sft-out")
    parser.add_argument("--max-steps", type=int, default=-1)
    parser.add_argument("--max-length", type=int, help="default: the longest row, in tokens")
    parser.add_argument("--full-loss", action="store_true", help="train on every token, not only the assistant's")
    args = parser.parse_args(argv)
    trainer = build(args.model, args.data, args.output, args.max_steps, max_length=args.max_length,
                    assistant_only_loss=not args.full_loss)
    trainer.train()
    trainer.save_model(args.output)


if __name__ == "__main__":
    main()
