"""The Gemini API tuning tutorial's example: learn to answer with the next number in the sequence."""

from __future__ import annotations

PAIRS = [
    ["1", "2"],
    ["3", "4"],
    ["-3", "-2"],
    ["twenty two", "twenty three"],
    ["two hundred", "two hundred one"],
    ["ninety nine", "one hundred"],
    ["8", "9"],
    ["-98", "-97"],
    ["1,000", "1,001"],
    ["10,100,000", "10,100,001"],
    ["thirteen", "fourteen"],
    ["eighty", "eighty one"],
    ["one", "two"],
    ["three", "four"],
    ["seven", "eight"],
]
EXAMPLES = [{"text_input": text_input, "output": output} for text_input, output in PAIRS]
BASE_MODEL = "models/gemini-1.5-flash-001-tuning"
HYPERPARAMETERS = {"epoch_count": 5, "batch_size": 2, "learning_rate": 0.001}
