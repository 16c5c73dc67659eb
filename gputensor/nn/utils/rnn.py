"""``torch.nn.utils.rnn``: padding and packing variable-length sequences for RNN, LSTM and GRU.

A ``PackedSequence`` stores the time steps of a batch sorted by decreasing length, step after
step: ``data[offset_t : offset_t + batch_sizes[t]]`` are the sequences still running at step t.
The recurrent layers read it directly (``RNNBase.forward``) and update only those rows.
"""
from __future__ import annotations

from collections import namedtuple

from ...ops.creation import full, tensor as _tensor
from ...ops.join_split import cat, stack
from ...tensor import Tensor


class PackedSequence(namedtuple("PackedSequence",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """Packed time steps plus the batch permutation that sorted them (None when pre-sorted)."""

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _invert(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> "PackedSequence":
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        dev = data.device
        idx = [None if i is None else i.to(dev) for i in (self.sorted_indices,
                                                          self.unsorted_indices)]
        return type(self)(data, self.batch_sizes, *idx)

    def cuda(self, *args, **kwargs) -> "PackedSequence":
        return self.to("cuda")

    def cpu(self) -> "PackedSequence":
        return self.to("cpu")

    def double(self) -> "PackedSequence":
        return self.to(dtype=self.data.double().dtype)

    def float(self) -> "PackedSequence":
        return self.to(dtype=self.data.float().dtype)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def _invert(perm: Tensor) -> Tensor:
    inv = perm.clone()
    inv[perm] = _tensor(list(range(perm.numel())), device=perm.device)
    return inv


def _lengths_list(lengths) -> list:
    if isinstance(lengths, Tensor):
        if lengths.ndim != 1:
            raise RuntimeError(f"'lengths' argument should be a 1D CPU int64 tensor, but got "
                               f"{lengths.ndim}D {lengths.device} {lengths.dtype} tensor")
        return [int(v) for v in lengths.tolist()]
    return [int(v) for v in lengths]


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded (T, B, *) batch (or (B, T, *) with batch_first) of the given lengths."""
    lens = _lengths_list(lengths)
    if enforce_sorted:
        if any(a < b for a, b in zip(lens, lens[1:])):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` to "
                               "pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        sorted_indices = None
    else:
        order = sorted(range(len(lens)), key=lambda i: -lens[i])
        lens = [lens[i] for i in order]
        sorted_indices = _tensor(order, device=input.device)
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    if len(lens) != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{len(lens)} (batch_size={batch})")
    if lens and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    if lens and lens[0] > steps:
        raise RuntimeError(f"Expected sequence length to be at most {steps}, but got a length "
                           f"of {lens[0]}")
    if batch_first:
        input = input.transpose(0, 1)
    sizes = [sum(1 for n in lens if n > t) for t in range(lens[0] if lens else 0)]
    data = cat([input[t, :b] for t, b in enumerate(sizes)], 0)
    return PackedSequence(data, _tensor(sizes), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None) -> tuple:
    """Inverse of pack_padded_sequence: (padded batch, lengths) in the original batch order."""
    sizes = [int(b) for b in sequence.batch_sizes.tolist()]
    T = len(sizes)
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {T}")
    data = sequence.data
    B, feat = (sizes[0] if sizes else 0), tuple(data.shape[1:])
    steps, off = [], 0
    for b in sizes:
        step = data[off:off + b]
        off += b
        if b < B:
            step = cat([step, full((B - b,) + feat, padding_value, dtype=data.dtype,
                                   device=data.device)], 0)
        steps.append(step)
    for _ in range(T, total_length or T):
        steps.append(full((B,) + feat, padding_value, dtype=data.dtype, device=data.device))
    padded = stack(steps, 0) if steps else data.reshape((0, 0) + feat)
    lens = [sum(1 for b in sizes if b > i) for i in range(B)]
    lengths = _tensor(lens)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices.cpu()]
    return (padded.transpose(0, 1) if batch_first else padded), lengths


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stack sequences of shape (L_i, *) into (T, B, *) (or (B, T, *)), padding the short ones."""
    if padding_side not in ("left", "right"):
        raise ValueError(f"Expected padding_side to be one of left or right, but got "
                         f"{padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    T = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        n = T - s.shape[0]
        if n:
            pad = full((n,) + tuple(s.shape[1:]), padding_value, dtype=s.dtype, device=s.device)
            s = cat([s, pad] if padding_side == "right" else [pad, s], 0)
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """The list of unpadded sequences (inverse of pad_sequence)."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:n] for seq, n in zip(padded_sequences.unbind(0), _lengths_list(lengths))]


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of variable-length sequences (sorted by decreasing length unless
    ``enforce_sorted=False``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of sequences a PackedSequence holds, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


__all__ = ["PackedSequence", "pack_padded_sequence", "pad_packed_sequence", "pad_sequence",
           "unpad_sequence", "pack_sequence", "unpack_sequence"]
