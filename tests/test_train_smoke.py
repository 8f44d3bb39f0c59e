"""The three training examples run with TRL on a tiny model built here (random weights, a
tokenizer trained on the exported text; nothing downloaded): SFT puts the loss on the
assistant's program; GRPO pays scripted good completions 1 and bad ones 0, with non-zero
advantages; the environment's tool is called and its reward reaches the trainer.

Needs ``pip install 'csvdsl[train]'`` (torch first, a CPU build); skipped without it."""

from __future__ import annotations

import functools
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

pytest.importorskip("trl", reason="the training smoke test needs TRL: pip install torch, then pip install 'csvdsl[train]'")

import torch  # noqa: E402
from datasets import load_dataset  # noqa: E402

from csvdsl.pipeline.export import export  # noqa: E402
from csvdsl.pipeline.generate import generate  # noqa: E402
from verifier import rewards  # noqa: E402
from verifier.table_store import forget_datasets  # noqa: E402

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>", "<tool_response>",
            "</tool_response>"]


def example(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """An export of tasks on the bundled tables, moved away from CSV files that are then deleted."""
    root = tmp_path_factory.mktemp("train")
    sources = root / "csv"
    sources.mkdir()
    for name in ("penguins", "flights"):
        shutil.copy(ROOT / "examples" / "data" / f"{name}.csv", sources / f"{name}.csv")
    generate([str(p) for p in sorted(sources.glob("*.csv"))], root / "run", per_table=2, seed=5, progress=False)
    export(root / "run", hf=root / "hf")
    shutil.rmtree(sources)
    moved = root / "moved" / "data"
    shutil.move(str(root / "hf"), moved)
    return moved


@pytest.fixture(autouse=True)
def fresh(tmp_path, monkeypatch):
    monkeypatch.setenv("CSVDSL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    forget_datasets()
    rewards._ENGINES.clear()
    yield
    forget_datasets()


@pytest.fixture(scope="module")
def tokenizer(data):
    """A byte-level BPE trained on the exported text, with Qwen2.5's chat template (it knows tool calls)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    from trl.chat_template_utils import qwen2_5_chat_template

    texts = [m["content"] for row in load_dataset(str(data), "sft", split="train") for m in row["messages"]]
    texts += [m["content"] for row in load_dataset(str(data), "rl", split="train") for m in row["prompt"]]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=1200, special_tokens=SPECIALS,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tokenizer.chat_template = qwen2_5_chat_template
    return tokenizer


def tiny_model(tokenizer, cls=None):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    return (cls or Qwen2ForCausalLM)(config)


def scripted(tokenizer, reply):
    """The tiny model, whose ``generate`` writes ``reply(prompt_text, index)`` instead of sampling:
    completions known in advance, trained on as the trainer trains on any."""
    from transformers import Qwen2ForCausalLM

    class Scripted(Qwen2ForCausalLM):
        calls = 0

        def generate(self, input_ids=None, attention_mask=None, **kwargs):
            rows = []
            for prompt in input_ids:
                text = tokenizer.decode(prompt, skip_special_tokens=False)
                rows.append(tokenizer.encode(reply(text, Scripted.calls), add_special_tokens=False) + [tokenizer.eos_token_id])
                Scripted.calls += 1
            width = max(map(len, rows))
            pad = tokenizer.pad_token_id
            tail = torch.tensor([row + [pad] * (width - len(row)) for row in rows], device=input_ids.device)
            return torch.cat([input_ids, tail], dim=1)

    return tiny_model(tokenizer, Scripted)


def programs_by_question(data) -> dict[str, str]:
    return {row["question"]: row["program"] for row in load_dataset(str(data), "rl", split="train")}


def teacher_for(text: str, programs: dict[str, str]) -> str:
    return next(program for question, program in programs.items() if question in text)


def spy(trainer) -> dict:
    """What the trainer computed: rewards per function and the advantages, batch by batch."""
    seen = {"rewards": [], "advantages": []}
    calculate, score = trainer._calculate_rewards, trainer._generate_and_score_completions

    def calculate_rewards(*args, **kwargs):
        result = calculate(*args, **kwargs)
        seen["rewards"].append(result.detach().clone())
        return result

    def generate_and_score(*args, **kwargs):
        output = score(*args, **kwargs)
        seen["advantages"].append(output["advantages"].detach().clone())
        return output

    trainer._calculate_rewards, trainer._generate_and_score_completions = calculate_rewards, generate_and_score
    return seen


def test_sft_puts_the_loss_on_the_assistant_s_program(data, tokenizer, tmp_path):
    trainer = example("train_sft").build(tiny_model(tokenizer), str(data), str(tmp_path / "sft"), max_steps=2,
                                         tokenizer=tokenizer, per_device_train_batch_size=2, logging_steps=1,
                                         learning_rate=1e-3)
    rows = load_dataset(str(data), "sft", split="train")
    for row, tokenized in zip(rows, trainer.train_dataset):
        program = row["messages"][-1]["content"]
        trained = [t for t, label in zip(tokenized["input_ids"], tokenized["labels"]) if label != -100]
        assert program in tokenizer.decode(trained), "the program must carry loss"
        assert len(tokenized["input_ids"]) <= trainer.args.max_length  # nothing was cut
        assert len(trained) < len(tokenized["input_ids"]) / 2  # the system prompt and the question carry none
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert losses and all(loss > 0 and loss == loss for loss in losses)


def test_grpo_pays_good_completions_and_not_bad_ones(data, tokenizer, tmp_path):
    programs = programs_by_question(data)

    def reply(prompt, index):
        good = teacher_for(prompt, programs)
        return f"```csvdsl\n{good}```" if index % 2 == 0 else "```csvdsl\nanswer 0\n```"

    module = example("train_grpo")
    trainer = module.build(scripted(tokenizer, reply), str(data), str(tmp_path / "grpo"), max_steps=2, tokenizer=tokenizer,
                           num_generations=4, per_device_train_batch_size=4, max_completion_length=256, logging_steps=1)
    seen = spy(trainer)
    trainer.train()
    assert len(seen["rewards"]) == 2
    for batch, advantages in zip(seen["rewards"], seen["advantages"]):
        answer, plan, hook, form = batch.T.tolist()
        assert answer == [1.0, 0.0, 1.0, 0.0] and plan[0] == hook[0] == 1.0 and form == [1.0] * 4
        assert advantages.abs().min() > 0 and advantages[0] > 0 > advantages[1]
    assert [name for name in trainer.reward_func_names] == [f.__name__ for f in module.REWARDS]


def test_the_environment_s_tool_is_called_and_its_reward_reaches_the_trainer(data, tokenizer, tmp_path, monkeypatch):
    from verifier.environment import CsvdslEnv

    programs = programs_by_question(data)
    calls = []
    run = CsvdslEnv.run

    @functools.wraps(run)  # the tool keeps its name, signature and description
    def counted(self, program: str) -> str:
        calls.append(program)
        return run(self, program)

    monkeypatch.setattr(CsvdslEnv, "run", counted)

    def reply(prompt, index):
        if "<tool_response>" in prompt.rsplit("<|im_start|>assistant", 1)[-1] or prompt.count("<tool_response>"):
            return "Done."
        program = teacher_for(prompt, programs) if index % 2 == 0 else "answer 0"
        return "<tool_call>\n" + json.dumps({"name": "run", "arguments": {"program": program}}) + "\n</tool_call>"

    trainer = example("train_grpo_env").build(scripted(tokenizer, reply), str(data), str(tmp_path / "env"), max_steps=1,
                                              tokenizer=tokenizer, num_generations=4, per_device_train_batch_size=4,
                                              max_completion_length=512, logging_steps=1)
    seen = spy(trainer)
    trainer.train()
    assert len(calls) == 4 and "answer 0" in calls  # one tool call per rollout
    assert trainer.reward_func_names == ["CsvdslEnv"]
    [batch] = seen["rewards"]
    assert batch[:, 0].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert seen["advantages"][0].abs().min() > 0


def test_trl_sft_command_reads_the_export(data, tokenizer, tmp_path):
    model = tmp_path / "tiny"
    tiny_model(tokenizer).save_pretrained(model)
    tokenizer.save_pretrained(model)
    done = subprocess.run([str(Path(sys.executable).parent / "trl"), "sft", "--model_name_or_path", str(model),
                           "--dataset_name", str(data), "--max_steps", "1", "--output_dir", str(tmp_path / "out"),
                           "--report_to", "none", "--max_length", "2048", "--per_device_train_batch_size", "2",
                           "--bf16", "false"],  # a CPU trains in float32
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]


def test_export_counts_tokens_with_a_local_tokenizer(tokenizer, tmp_path):
    folder = tmp_path / "tok"
    tokenizer.save_pretrained(folder)
    generate([str(ROOT / "examples" / "data" / "penguins.csv")], tmp_path / "run", per_table=2, seed=5, progress=False)
    counts = export(tmp_path / "run", hf=tmp_path / "hf", tokenizer=str(folder))
    tokens = counts["lengths"]["sft"]["tokens"]
    assert tokens["max"] >= tokens["median"] > 0 and tokens["max"] < counts["lengths"]["sft"]["characters"]["max"]
    assert "median tokens" in (tmp_path / "hf" / "README.md").read_text()
