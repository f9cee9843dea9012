"""Scoring apart from writing: windows, the samples a model reads, and the scoring call."""

from .background import genome_background, sampled_windows
from .options import check_options, scan_options
from .prepare import ScanJob, prepare, sample_table, scan_regions, score_input
from .score import PIECE_WINDOWS, Piece, PieceStore, plan_pieces, score, score_piece
from .selection import select_samples
from .windows import iter_windows, split_starts, window_bin, window_starts
from .workers import broken_pool_error, cap_workers, check_main_guard

__all__ = ["PIECE_WINDOWS", "Piece", "PieceStore", "ScanJob", "broken_pool_error", "cap_workers",
           "check_main_guard", "check_options", "genome_background", "iter_windows",
           "plan_pieces", "prepare", "sample_table", "sampled_windows",
           "scan_options", "scan_regions", "score", "score_input", "score_piece",
           "select_samples", "split_starts", "window_bin", "window_starts"]
