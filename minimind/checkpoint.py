"""Load MiniMind weights from upstream checkpoints and the project's own files."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file as load_safetensors
from safetensors.torch import save_file as save_safetensors

from .config import MINIMIND2, MINIMIND3, MiniMindConfig
from .errors import CheckpointError, catalogue_entry
from .model import MiniMindForCausalLM

logger = logging.getLogger(__name__)

StateDict = dict[str, torch.Tensor]

CONFIG_METADATA_KEY = "minimind_config"  # safetensors metadata entry holding config.json text
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_STRIP_PREFIXES = ("_orig_mod.", "module.")  # added by torch.compile and DistributedDataParallel
_LAYER_KEY = re.compile(r"^model\.layers\.(\d+)\.")


def load_checkpoint(
    path: str | Path,
    config: MiniMindConfig | dict | str | Path | None = None,
    dtype: torch.dtype = torch.float32,
) -> MiniMindForCausalLM:
    """Build a MiniMind model from `path` and load its weights, in eval mode.

    `path` is an upstream `.pth` state dict (for example `out/full_sft_512.pth`), a
    `.safetensors` file, or a folder with `config.json` and `model.safetensors` (or sharded
    safetensors, or `pytorch_model.bin`). The layout and every size the keys and shapes
    reveal are inferred; a `config.json` beside the file fills in the rest, and `config`
    (a MiniMindConfig, a dict of upstream keyword arguments, or a JSON path) overrides both.
    Weights are cast to `dtype` (fp32 by default, as upstream's reference outputs use).

    Raises CheckpointError with a one-line message for a missing, unreadable or mismatched file.
    """
    path = Path(path)
    state, file_config = read_state_dict(path)
    state = _strip_prefixes(state)
    _reject_v1_layout(state, path)

    settings = dict(file_config)
    settings.update(_config_overrides(config))
    model_config = infer_config(state, settings, path)

    model = MiniMindForCausalLM(model_config)
    _copy_weights(model, state, path)
    model = model.to(dtype)
    model.model.reset_rope()  # the cos/sin tables stay fp32 whatever the weights' dtype
    return model.eval()


def read_state_dict(path: Path) -> tuple[StateDict, dict[str, Any]]:
    """Read tensors and any config settings stored with them (config.json or metadata)."""
    if not path.exists():
        raise CheckpointError(
            f"checkpoint not found: {path}: pass an existing .pth, .safetensors or model folder",
            key="error.checkpoint_not_found",
            path=str(path),
        )
    if path.is_dir():
        return _read_folder(path)

    settings = _read_config_json(path.parent / "config.json")
    if path.suffix == ".safetensors":
        state, metadata = _read_safetensors(path)
        settings = {**metadata, **settings}
    else:
        state = _read_torch(path)
    return state, settings


def save_checkpoint(model: MiniMindForCausalLM, path: str | Path, dtype: torch.dtype | None = None) -> None:
    """Write the project's own format: one safetensors file with config.json text in its metadata.

    Upstream key names are kept (the tied head is stored once, under `lm_head.weight`'s twin
    `model.embed_tokens.weight`), and the file is renamed into place only when complete.
    """
    path = Path(path)
    state = {}
    for key, tensor in model.state_dict().items():
        if key == "lm_head.weight" and model.config.tie_word_embeddings:
            continue
        state[key] = (tensor.to(dtype) if dtype else tensor).contiguous()
    metadata = {CONFIG_METADATA_KEY: json.dumps(model.config.to_dict())}
    tmp = path.with_name(f".{path.name}.tmp")
    save_safetensors(state, str(tmp), metadata=metadata)
    tmp.replace(path)


def infer_config(state: StateDict, settings: dict[str, Any], path: Path) -> MiniMindConfig:
    """Combine sizes read off the tensor shapes with `settings`, and check they agree."""
    inferred = _sizes_from_shapes(state, settings, path)
    for key, value in inferred.items():
        given = settings.get(key)
        if given is not None and given != value:
            raise CheckpointError(
                f"{path}: config sets {key}={given} but the weights have {key}={value}: "
                f"fix or remove that key in the config",
                key="error.config_conflict", path=str(path), name=key, given=given, actual=value,
            )
    merged = {**settings, **inferred}
    try:
        return MiniMindConfig.from_dict(merged)
    except (TypeError, ValueError) as error:
        raise CheckpointError(
            f"{path}: invalid config ({error}): fix that key in config.json beside the weights or in the file passed with --config",
            key="error.config_invalid", path=str(path), detail=str(error),
        ) from None


def _sizes_from_shapes(state: StateDict, settings: dict[str, Any], path: Path) -> dict[str, Any]:
    embed = state.get("model.embed_tokens.weight", state.get("lm_head.weight"))
    q_proj = state.get("model.layers.0.self_attn.q_proj.weight")
    k_proj = state.get("model.layers.0.self_attn.k_proj.weight")
    if embed is None or q_proj is None or k_proj is None:
        raise CheckpointError(
            f"{path} is not a MiniMind checkpoint: no model.embed_tokens.weight or "
            f"model.layers.0.self_attn.q_proj.weight key: pass a MiniMind state dict or model folder",
            key="error.not_minimind", path=str(path),
        )
    layers = {int(m.group(1)) for key in state if (m := _LAYER_KEY.match(key))}
    is_v3 = "model.layers.0.self_attn.q_norm.weight" in state
    sizes: dict[str, Any] = {
        "minimind_version": MINIMIND3 if is_v3 else MINIMIND2,
        "vocab_size": embed.shape[0],
        "hidden_size": embed.shape[1],
        "num_hidden_layers": max(layers) + 1,
    }

    if is_v3:
        head_dim = state["model.layers.0.self_attn.q_norm.weight"].shape[0]
        sizes["head_dim"] = head_dim
        sizes["num_attention_heads"] = q_proj.shape[0] // head_dim
        sizes["num_key_value_heads"] = k_proj.shape[0] // head_dim
    else:
        # minimind2's head_dim is hidden // heads, and the head count is not in any shape.
        heads = settings.get("num_attention_heads")
        if heads is None:
            heads = 8
            logger.warning(
                "%s: minimind2 weights do not show the head count, so num_attention_heads=8 is assumed; "
                "pass a config.json beside the file or --config if the model was trained with another", path,
                extra=catalogue_entry("warning.heads_assumed", path=str(path)),
            )
        head_dim = embed.shape[1] // heads
        if k_proj.shape[0] % head_dim:
            raise CheckpointError(
                f"{path}: k_proj has {k_proj.shape[0]} rows, not a multiple of head_dim={head_dim} "
                f"from num_attention_heads={heads}: pass the right num_attention_heads in the config",
                key="error.kv_rows", path=str(path), rows=k_proj.shape[0], head_dim=head_dim, heads=heads,
            )
        sizes["num_key_value_heads"] = k_proj.shape[0] // head_dim

    use_moe = "model.layers.0.mlp.gate.weight" in state
    sizes["use_moe"] = use_moe
    if use_moe:
        experts = {int(m.group(1)) for key in state if (m := re.match(r"^model\.layers\.0\.mlp\.experts\.(\d+)\.", key))}
        width = state["model.layers.0.mlp.experts.0.gate_proj.weight"].shape[0]
        if is_v3:
            sizes["num_experts"] = len(experts)
            sizes["moe_intermediate_size"] = width
        else:
            shared = {int(m.group(1)) for key in state if (m := re.match(r"^model\.layers\.0\.mlp\.shared_experts\.(\d+)\.", key))}
            sizes["n_routed_experts"] = len(experts)
            sizes["n_shared_experts"] = len(shared)
            sizes["intermediate_size"] = width
    else:
        sizes["intermediate_size"] = state["model.layers.0.mlp.gate_proj.weight"].shape[0]
    return sizes


def _copy_weights(model: MiniMindForCausalLM, state: StateDict, path: Path) -> None:
    """Copy every tensor after checking names and shapes, naming the first mismatch."""
    expected = model.state_dict()
    tied = model.config.tie_word_embeddings
    if tied:
        # Upstream saves the tied tensor under both names; the project's own files keep one.
        if "lm_head.weight" not in state and "model.embed_tokens.weight" in state:
            state["lm_head.weight"] = state["model.embed_tokens.weight"]
        if "model.embed_tokens.weight" not in state and "lm_head.weight" in state:
            state["model.embed_tokens.weight"] = state["lm_head.weight"]

    for key, target in expected.items():
        if key not in state:
            raise CheckpointError(
                f"{path}: missing key {key} (model expects shape {tuple(target.shape)}): "
                f"the checkpoint does not match the inferred layout, so pass the right config",
                key="error.missing_key", path=str(path), name=key, shape=tuple(target.shape),
            )
        if state[key].shape != target.shape:
            raise CheckpointError(
                f"{path}: shape mismatch at {key}: checkpoint {tuple(state[key].shape)}, "
                f"model {tuple(target.shape)}: pass a config that matches the checkpoint",
                key="error.shape_mismatch", path=str(path), name=key,
                actual=tuple(state[key].shape), expected=tuple(target.shape),
            )
    unexpected = sorted(set(state) - set(expected))
    if unexpected:
        raise CheckpointError(
            f"{path}: unexpected key {unexpected[0]} (shape {tuple(state[unexpected[0]].shape)}): "
            f"the checkpoint has parts this model does not, so check the layout or config",
            key="error.unexpected_key", path=str(path), name=unexpected[0], shape=tuple(state[unexpected[0]].shape),
        )

    with torch.no_grad():
        for key, target in expected.items():
            target.copy_(state[key].to(target.dtype))
    if tied and not torch.equal(state["lm_head.weight"], state["model.embed_tokens.weight"]):
        logger.warning("%s: lm_head.weight differs from model.embed_tokens.weight; using lm_head.weight", path,
                       extra=catalogue_entry("warning.untied_head", path=str(path)))


def _read_folder(folder: Path) -> tuple[StateDict, dict[str, Any]]:
    settings = _read_config_json(folder / "config.json")
    shards = sorted(folder.glob("*.safetensors"))
    if shards:
        state: StateDict = {}
        for shard in shards:
            tensors, metadata = _read_safetensors(shard)
            state.update(tensors)
            settings = {**metadata, **settings}
        return state, settings
    if (folder / "pytorch_model.bin").exists():
        return _read_torch(folder / "pytorch_model.bin"), settings
    pth = sorted(folder.glob("*.pth"))
    if len(pth) == 1:
        return _read_torch(pth[0]), settings
    raise CheckpointError(
        f"no weights found in folder {folder}: expected model.safetensors, pytorch_model.bin or one .pth file",
        key="error.no_weights", path=str(folder),
    )


def _read_safetensors(path: Path) -> tuple[StateDict, dict[str, Any]]:
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        state = load_safetensors(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(
            f"cannot read {path} as safetensors ({_first_line(error)}): pass a valid checkpoint",
            key="error.bad_safetensors", path=str(path),
        ) from None
    settings = {}
    if CONFIG_METADATA_KEY in metadata:
        try:
            settings = json.loads(metadata[CONFIG_METADATA_KEY])
        except json.JSONDecodeError:
            raise CheckpointError(
                f"{path}: invalid {CONFIG_METADATA_KEY} metadata: re-save the checkpoint",
                key="error.bad_metadata", path=str(path),
            ) from None
    return state, settings


def _read_torch(path: Path) -> StateDict:
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for foreign or unsafe files
        # A pickle naming a class that is not allowed; any other unpickler error is a foreign file.
        if "Unsupported global" in str(error):
            raise CheckpointError(
                f"{path} contains Python objects besides tensors, which are not loaded for safety: "
                f"pass a plain state dict saved with torch.save(model.state_dict())",
                key="error.unsafe_pickle", path=str(path),
            ) from None
        raise CheckpointError(
            f"cannot read {path} as a PyTorch state dict: pass a MiniMind .pth, a .safetensors file or a model folder",
            key="error.bad_torch_file", path=str(path),
        ) from None
    if isinstance(loaded, dict):
        for wrapper in ("model", "state_dict", "model_state_dict"):
            if isinstance(loaded.get(wrapper), dict):
                loaded = loaded[wrapper]
                break
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise CheckpointError(
            f"{path} contains no state dict of tensors: pass a MiniMind .pth saved with model.state_dict()",
            key="error.no_state_dict", path=str(path),
        )
    return loaded


def _read_config_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(
            f"invalid JSON in {path} ({_first_line(error)}): fix or remove the file",
            key="error.bad_json", path=str(path),
        ) from None
    if not isinstance(data, dict):
        raise CheckpointError(
            f"{path} is not a JSON object of config keys: fix or remove the file",
            key="error.bad_json", path=str(path),
        )
    return data


def _config_overrides(config: MiniMindConfig | dict | str | Path | None) -> dict[str, Any]:
    if config is None:
        return {}
    if isinstance(config, MiniMindConfig):
        return config.to_dict()
    if isinstance(config, dict):
        return dict(config)
    return _read_config_json(Path(config)) or _missing_config(Path(config))


def _missing_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise CheckpointError(
            f"config not found: {path}: pass a JSON file of MiniMindConfig keyword arguments",
            key="error.config_not_found", path=str(path),
        )
    return {}


def _strip_prefixes(state: StateDict) -> StateDict:
    cleaned = {}
    for key, tensor in state.items():
        for prefix in _STRIP_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix) :]
        cleaned[key] = tensor
    return cleaned


def _reject_v1_layout(state: StateDict, path: Path) -> None:
    if any(key.startswith("tok_embeddings") or ".attention.wq." in key for key in state):
        raise CheckpointError(
            f"{path} uses the MiniMind v1 layout (tok_embeddings, attention.wq), which is not supported: "
            f"convert it to the MiniMind2 key names",
            key="error.v1_layout", path=str(path),
        )


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
