"""GRPO on a csvdsl export with TRL's GRPOTrainer and the four csvdsl rewards: the answer
(test-suite accuracy: right on the tables and on every variant of them), the plan's
similarity to the teacher's, the teacher's intermediate results found, and the format.

    csvdsl export run --hf data
    python examples/train_grpo.py --model Qwen/Qwen2.5-0.5B-Instruct --data data --output grpo-out

``use_dataset`` tells the rewards where the dataset's tables are: the export folder (or its
Hub repo) carries them. Needs ``pip install 'csvdsl[train]'``."""

from __future__ import annotations

import argparse

from verifier.rewards import answer_reward, format_reward, hook_reward, plan_similarity_reward, use_dataset

REWARDS = [answer_reward, plan_similarity_reward, hook_reward, format_reward]
WEIGHTS = [1.0, 0.2, 0.2, 0.1]  # the answer decides; plan, hooks and format shape the rest


def cpu_precision() -> dict:
    """TRL trains in bf16 by default, which needs a GPU: on a CPU, float32."""
    import torch

    return {} if torch.cuda.is_available() else {"bf16": False}


def build(model, data: str, output: str, max_steps: int = -1, tokenizer=None, **config):
    """The GRPOTrainer: ``model`` is a name, a path or a model object; ``config`` goes to GRPOConfig."""
    from datasets import load_dataset
    from trl import GRPOConfig, GRPOTrainer

    dataset = load_dataset(data, "rl", split="train")
    use_dataset(data)  # the rewards find each row's tables (by name and sha256) in the export
    config = {"num_generations": 4, "per_device_train_batch_size": 4, "max_completion_length": 512} | config
    args = GRPOConfig(output_dir=output, max_steps=max_steps, reward_weights=WEIGHTS, report_to="none",
                      **(cpu_precision() | config))
    return GRPOTrainer(model=model, reward_funcs=REWARDS, args=args, train_dataset=dataset, processing_class=tokenizer)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a model name or a local path")
    parser.add_argument("--data", required=True, help="the folder `csvdsl export --hf` wrote, or its Hub repo")
    parser.add_argument("--output", default="grpo-out")
    parser.add_argument("--max-steps", type=int, default=-1)
    args = parser.parse_args(argv)
    trainer = build(args.model, args.data, args.output, args.max_steps)
    trainer.train()
    trainer.save_model(args.output)


if __name__ == "__main__":
    main()
