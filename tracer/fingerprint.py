"""A hash of a model's weights, so a trace says which weights produced it."""

from __future__ import annotations

import hashlib
import weakref

import torch
from torch import nn

_cache: "weakref.WeakKeyDictionary[nn.Module, tuple[tuple, str]]" = weakref.WeakKeyDictionary()


@torch.no_grad()
def weights_sha256(model: nn.Module) -> str:
    """Return the SHA-256 of the state dict: each entry's name, dtype, shape and bytes, by name.

    The result is cached per model and recomputed only when a tensor is replaced or changed
    in place (tracked by its data pointer and version counter), because hashing a 100 MB
    model takes a noticeable fraction of a second.
    """
    # One walk over the modules, cheaper than state_dict(), because every trace asks for the hash.
    signature = tuple(
        (t.data_ptr(), t._version, t.dtype, t.shape)
        for module in model.modules()
        for tensors in (module._parameters, module._buffers)
        for t in tensors.values()
        if t is not None
    )
    cached = _cache.get(model)
    if cached is not None and cached[0] == signature:
        return cached[1]

    state = model.state_dict(keep_vars=True)
    digest = hashlib.sha256()
    for name, tensor in sorted(state.items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{str(tensor.dtype).removeprefix('torch.')}|{list(tensor.shape)}\n".encode())
        if tensor.numel():
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    result = digest.hexdigest()
    _cache[model] = (signature, result)
    return result
