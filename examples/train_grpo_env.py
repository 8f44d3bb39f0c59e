"""GRPO with a multi-turn environment: each rollout gets a CsvdslEnv on its row's tables, the
model calls the `run` tool with programs and sees their results, and the environment's
reward is the test-suite answer score of its last answer.

    csvdsl export run --hf data
    python examples/train_grpo_env.py --model Qwen/Qwen2.5-0.5B-Instruct --data data --output env-out

The model's chat template must support tool calls. Needs ``pip install 'csvdsl[train]'``."""

from __future__ import annotations

import argparse
from functools import partial

from csvdsl.models.prompts import environment_prompt
from verifier.environment import CsvdslEnv
from verifier.rewards import use_dataset


def cpu_precision() -> dict:
    """TRL trains in bf16 by default, which needs a GPU: on a CPU, float32."""
    import torch

    return {} if torch.cuda.is_available() else {"bf16": False}


def build(model, data: str, output: str, max_steps: int = -1, tokenizer=None, max_turns: int = 4, **config):
    """The GRPOTrainer with ``environment_factory``; ``config`` goes to GRPOConfig."""
    from datasets import load_dataset
    from trl import GRPOConfig, GRPOTrainer

    use_dataset(data)  # the environment finds each row's tables in the export
    # The tool form of the short system prompt; reset() appends the task to the empty user message.
    dataset = load_dataset(data, "rl", split="train").map(lambda row: {"prompt": environment_prompt(row)})
    config = {"num_generations": 4, "per_device_train_batch_size": 4, "max_completion_length": 1024,
              "max_tool_calling_iterations": max_turns} | config
    args = GRPOConfig(output_dir=output, max_steps=max_steps, report_to="none", **(cpu_precision() | config))
    return GRPOTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                       environment_factory=partial(CsvdslEnv, max_turns=max_turns))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a model name or a local path")
    parser.add_argument("--data", required=True, help="the folder `csvdsl export --hf` wrote, or its Hub repo")
    parser.add_argument("--output", default="env-out")
    parser.add_argument("--max-steps", type=int, default=-1)
    parser.add_argument("--max-turns", type=int, default=4, help="tool calls per rollout")
    args = parser.parse_args(argv)
    trainer = build(args.model, args.data, args.output, args.max_steps, max_turns=args.max_turns)
    trainer.train()
    trainer.save_model(args.output)


if __name__ == "__main__":
    main()
