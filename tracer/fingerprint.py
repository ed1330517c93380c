"""A hash of a model's weights, so that a trace records which weights produced it."""

from __future__ import annotations

import hashlib
import weakref
from collections import deque

import torch
from torch import nn
from torch.nn.modules import module as module_hooks

# Every trace needs the hash. Walking the module tree to see whether the weights changed costs
# about half a millisecond on MiniMind2-small, a noticeable part of the tracing overhead, so the
# tensors of each model are listed once and then checked directly. In-place edits show in their
# version counters and data pointers. Replacing a weight registers a parameter, and registering
# any parameter, buffer or submodule anywhere bumps `_structure_epoch` and notes which module
# registered it, so a cache can tell whether the change touched its own model. Other libraries
# (TransformerLens, for one) register buffers on their own modules in every forward pass.
_structure_epoch = 0
_HISTORY = 4096  # registrations remembered; a cache older than that rebuilds
_registrations: "deque[tuple[int, int]]" = deque(maxlen=_HISTORY)  # (epoch after it, id of the registering module)


def _bump_epoch(module, *_args) -> None:
    global _structure_epoch
    _structure_epoch += 1
    _registrations.append((_structure_epoch, id(module)))


module_hooks.register_module_parameter_registration_hook(_bump_epoch)
module_hooks.register_module_buffer_registration_hook(_bump_epoch)
module_hooks.register_module_module_registration_hook(_bump_epoch)


def structure_epoch() -> int:
    """Return a counter that grows whenever any module registers a parameter, buffer or submodule."""
    return _structure_epoch


def module_ids(model: nn.Module) -> frozenset[int]:
    """Return the ids of `model` and all its submodules, for `structure_changed`."""
    return frozenset(id(module) for module in model.modules())


def structure_changed(epoch: int, ids: frozenset[int]) -> bool:
    """True when a module in `ids` registered a parameter, buffer or submodule after `epoch`.

    Also True when more registrations happened since `epoch` than are remembered. The ids
    stay valid while the model keeps its modules, because a live object's id is not reused.
    """
    if epoch == _structure_epoch:
        return False
    if not _registrations or _registrations[0][0] > epoch + 1:
        return True
    for when, module_id in reversed(_registrations):
        if when <= epoch:
            return False
        if module_id in ids:
            return True
    return False


class _Entry:
    """The cached hash of one model and what it was computed from."""

    def __init__(self, epoch: int, ids: frozenset[int], tensors: list[torch.Tensor], signature: tuple, digest: str):
        self.epoch = epoch
        self.ids = ids
        self.tensors = tensors
        self.signature = signature
        self.digest = digest


_cache: "weakref.WeakKeyDictionary[nn.Module, _Entry]" = weakref.WeakKeyDictionary()


def _signature(tensors: list[torch.Tensor]) -> tuple:
    return tuple((t.data_ptr(), t._version, t.dtype, t.shape) for t in tensors)


@torch.no_grad()
def weights_sha256(model: nn.Module) -> str:
    """Return the SHA-256 of the state dict: each entry's name, dtype, shape and bytes, by name.

    The result is cached per model and recomputed when a tensor is changed in place or
    replaced, because hashing a 100 MB model takes a noticeable fraction of a second.
    """
    entry = _cache.get(model)
    if entry is not None and not structure_changed(entry.epoch, entry.ids):
        entry.epoch = _structure_epoch
        if entry.signature == _signature(entry.tensors):
            return entry.digest

    # The tensors are listed again, and rehashed only when they really differ.
    epoch = _structure_epoch
    ids = module_ids(model)
    tensors = [t for m in model.modules() for group in (m._parameters, m._buffers) for t in group.values() if t is not None]
    signature = _signature(tensors)
    if entry is not None and entry.signature == signature:
        _cache[model] = _Entry(epoch, ids, tensors, signature, entry.digest)
        return entry.digest

    state = model.state_dict(keep_vars=True)
    digest = hashlib.sha256()
    for name, tensor in sorted(state.items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{str(tensor.dtype).removeprefix('torch.')}|{list(tensor.shape)}\n".encode())
        if tensor.numel():
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    result = digest.hexdigest()
    _cache[model] = _Entry(epoch, ids, tensors, signature, result)
    return result
