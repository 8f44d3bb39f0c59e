"""The built-in teacher's questions: several phrasings per family, the seed picks one.

Questions are worded from the same parts as their programs: every column (spoken as words,
planner.words.spoken) and every constant the program uses appears in the question."""

from __future__ import annotations

import random

QUESTIONS: dict[str, tuple[str, ...]] = {
    "count_where": (
        "How many {things} are there {cond}?",
        "Count the {things} {cond}.",
        "What is the number of {things} {cond}?",
    ),
    "aggregate_where": (
        "What is the {agg} {col} of the {things}{cond}{rounded}?",
        "Across the {things}{cond}, what is the {agg} {col}{rounded}?",
        "Find the {agg} {col} over the {things}{cond}{rounded}.",
    ),
    "top_value": (
        "Which {group} value occurs most often among the {things}{cond} (ties broken by {group})?",
        "Among the {things}{cond}, what is the most common {group}? Break ties by {group}.",
        "What is the most frequent {group} among the {things}{cond} (ties broken by {group})?",
    ),
    "top_values": (
        "Among the {things}{cond}, which {k} {group} values occur most often? Break ties by {group}, and list them in order.",
        "Which {k} {group} values occur most often among the {things}{cond} (ties broken by {group}, in order)?",
        "List the {k} most common {group} values among the {things}{cond}, most common first (ties broken by {group}).",
    ),
    "best_group": (
        "Which {group} has the {extreme} {agg} {col}{among} (ties broken by {group})?",
        "{Among}which {group} has the {extreme} {agg} {col}? Break ties by {group}.",
        "Find the {group} whose {agg} {col} is the {extreme}{among} (ties broken by {group}).",
    ),
    "above_average": (
        "How many {things} have {a_col} above the average {col} of all {things}{cond}?",
        "Count the {things} whose {col} is above the average {col} of all {things}{cond}.",
        "Of the {things}, how many have {a_col} higher than the average {col}{cond}?",
    ),
    "joined_top": (
        "Counting the {things}{cond} for each {key}, what is the {label} in {other} of the {key} with the most {things} (ties broken by {key})?",
        "Which {key} has the most {things}{cond}, and what is its {label} in {other}? Answer with the {label}; break ties by {key}.",
        "Look up in {other} the {label} of the {key} that has the most {things}{cond} (ties broken by {key}).",
    ),
    "busiest_period": (
        "Among the {things}{cond}, which {part} of {col} has the most {things} (ties broken {ties})?",
        "In which {part} of {col} are there the most {things}{cond}? Break ties {ties}.",
        "Which {part} of {col} is the busiest for {things}{cond} (ties broken {ties})?",
    ),
    "ranked_groups": (
        "Which {group} values rank in the top {k} by total {col}{among} (from the highest, ties broken by {group})?",
        "Rank the {group} values by their total {col}{among}, highest first: which are in the top {k} (ties broken by {group})?",
        "List the top {k} {group} values by total {col}{among}, highest first (ties broken by {group}).",
    ),
    "compare_groups": (
        "Is the average {col} of the {things} whose {group} is {first} higher than that of the {things} whose {group} is {second}?",
        "Do {things} whose {group} is {first} have a higher average {col} than {things} whose {group} is {second}?",
        "Comparing the {things} whose {group} is {first} with those whose {group} is {second}, is the average {col} of the first group higher?",
    ),
    "difference_between_groups": (
        "How much higher is the {agg} {col} of the {things} whose {group} is {first} than of those whose {group} is {second}, rounded to 2 decimal places?",
        "What is the {agg} {col} of the {things} whose {group} is {first} minus that of the {things} whose {group} is {second}, rounded to 2 decimal places?",
        "By how much does the {agg} {col} of {things} whose {group} is {first} exceed that of {things} whose {group} is {second} (rounded to 2 decimal places; negative if it is lower)?",
    ),
    "distinct_where": (
        "How many distinct {col} values appear among the {things} {cond}?",
        "Count the different {col} values of the {things} {cond}.",
        "Among the {things} {cond}, how many different {col} values are there?",
    ),
    "share_where": (
        "What percentage of the {things} are those {cond}, rounded to 1 decimal place?",
        "Rounded to 1 decimal place, what share of all {things}, in percent, are {things} {cond}?",
        "Out of all {things}, what percent are {things} {cond} (rounded to 1 decimal place)?",
    ),
    "group_share": (
        "Which {group} has the largest share of its {things} {cond}, counting only {group} values with at least {least} {things} (ties broken by {group})?",
        "Among the {group} values with at least {least} {things}, which has the highest fraction of {things} {cond} (ties broken by {group})?",
        "For each {group} with at least {least} {things}, take the share of its {things} {cond}: which {group} has the largest (ties broken by {group})?",
    ),
    "widest_range": (
        "Which {group} has the widest range of {col}, from its smallest to its largest{among} (ties broken by {group})?",
        "For each {group}, take the largest minus the smallest {col}{among}: which {group} has the biggest difference (ties broken by {group})?",
        "{Among}which {group} shows the biggest spread between its highest and lowest {col} (ties broken by {group})?",
    ),
    "outliers": (
        "How many {things}{cond} have {a_col} more than {k} standard deviations away from the average {col} of those {things}?",
        "Counting z-scores of {col} over the {things}{cond}, how many are above {k} or below -{k}?",
        "Among the {things}{cond}, how many are outliers in {col}, more than {k} standard deviations from its mean?",
    ),
    "leading_code": (
        "Taking {part} of {col} (the pattern {pattern}), which value is the most common among the {things}{cond} (ties broken alphabetically)?",
        "Among the {things}{cond}, which match of the pattern {pattern} in {col} occurs most often? Break ties alphabetically.",
        "Extract from {col} the text matching {pattern}: which extracted value is the most frequent among the {things}{cond} (ties broken alphabetically)?",
    ),
    "largest_share": (
        "What percentage of the total {col} of the {things}{cond} comes from the {group} with the largest total, rounded to 1 decimal place?",
        "The {group} with the largest total {col}{among} accounts for what percent of the overall total (rounded to 1 decimal place)?",
        "Rounded to 1 decimal place, what share in percent of all {col}{among} belongs to the {group} with the largest total?",
    ),
    "significant_difference": (
        "Does the {col} of the {things} whose {group} is {first} differ from that of those whose {group} is {second} by Welch's t-test, with a p-value below {alpha}?",
        "Is the difference in {col} between {things} whose {group} is {first} and {things} whose {group} is {second} significant (Welch's t-test p-value below {alpha})?",
        "Comparing {col} for {group} {first} against {group} {second}, is Welch's t-test p-value below {alpha}?",
    ),
    "top_rows": (
        "Among the {things}{cond}, what are the {label} values of the {k} with the {extreme} {col} (ties broken by {label}, in order)?",
        "List the {label} of the {k} {things}{cond} with the {extreme} {col}, in order (ties broken by {label}).",
        "Which {k} {things}{cond} have the {extreme} {col}? Answer with their {label}, in order (ties broken by {label}).",
    ),
}


def ask(rng: random.Random, family: str, **slots) -> str:
    """One of the family's phrasings, its slots filled; the first letter made upper case."""
    text = rng.choice(QUESTIONS[family]).format(**slots)
    return text[:1].upper() + text[1:]
