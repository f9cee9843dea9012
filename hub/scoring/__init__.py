"""Scoring apart from writing: windows, the samples a model reads, and the scoring call."""

from .prepare import score_input
from .score import Piece, plan_pieces, score, score_piece
from .selection import select_samples
from .windows import iter_windows, split_starts, window_bin, window_starts

__all__ = ["Piece", "iter_windows", "plan_pieces", "score", "score_input", "score_piece",
           "select_samples", "split_starts", "window_bin", "window_starts"]
