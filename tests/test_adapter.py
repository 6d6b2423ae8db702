"""The adapter against a plain reference written here with nn.MultiheadAttention and an explicit mask."""

import pytest
import torch
import torch.nn.functional as F

from mma_studio.core.adapter import AdapterConfig, MultiModalAdapter, cross_modal_mask, trainable_parameter_count


def reference_logits(
    adapter: MultiModalAdapter, image: torch.Tensor, text: torch.Tensor, mask_kind: str
) -> torch.Tensor:
    """DESIGN.md section 1 written out literally: one sequence [t_1..t_N, x] per image."""
    cfg = adapter.config
    image = F.normalize(image, dim=-1)
    text = F.normalize(text, dim=-1)
    n = text.shape[0]
    logits = []
    # explicit mask: token i may attend to token j only when exactly one of them is the image
    allowed = torch.zeros(n + 1, n + 1, dtype=torch.bool)
    allowed[:n, n] = True
    allowed[n, :n] = True
    blocked = ~allowed if mask_kind == "cross-modal" else torch.zeros_like(allowed)
    for b in range(image.shape[0]):
        sequence = torch.cat([text, image[b : b + 1]], dim=0).unsqueeze(0)  # (1, N+1, D)
        z = adapter.down(sequence)
        attended, _ = adapter.attn(z, z, z, attn_mask=blocked, need_weights=False)
        a = F.normalize(adapter.up(attended)[0], dim=-1)
        t_adapted, x_adapted = text, image[b]
        if cfg.adapt in ("both", "text"):
            t_adapted = F.normalize((1 - cfg.blend) * text + cfg.blend * a[:n], dim=-1)
        if cfg.adapt in ("both", "image"):
            x_adapted = F.normalize((1 - cfg.blend) * image[b] + cfg.blend * a[n], dim=-1)
        logits.append(cfg.logit_scale * t_adapted @ x_adapted)
    return torch.stack(logits)


def randomised(adapter: MultiModalAdapter, seed: int = 0) -> MultiModalAdapter:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in adapter.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype) * 0.2)
    return adapter


@pytest.mark.parametrize("adapt", ["both", "text", "image"])
@pytest.mark.parametrize("projection", ["linear", "mlp"])
@pytest.mark.parametrize("mask", ["cross-modal", "full"])
def test_logits_and_gradients_match_reference(adapt, projection, mask):
    torch.manual_seed(1)
    adapter = randomised(MultiModalAdapter(64, heads=4, adapt=adapt, projection=projection, mask=mask)).double()
    image = torch.randn(5, 64, dtype=torch.float64)
    text = torch.randn(7, 64, dtype=torch.float64)
    labels = torch.randint(7, (5,))

    fast = adapter(image, text)
    F.cross_entropy(fast, labels).backward()
    fast_grads = {name: p.grad.clone() for name, p in adapter.named_parameters()}
    adapter.zero_grad()
    slow = reference_logits(adapter, image, text, mask)
    F.cross_entropy(slow, labels).backward()

    assert fast.shape == (5, 7)
    assert torch.allclose(fast, slow, atol=1e-6, rtol=0)
    for name, parameter in adapter.named_parameters():
        assert torch.allclose(fast_grads[name], parameter.grad, atol=1e-6, rtol=0), name


def test_cross_modal_fast_path_equals_general_sequence_path():
    adapter = randomised(MultiModalAdapter(128, heads=4)).double()
    image, text = torch.randn(9, 128, dtype=torch.float64), torch.randn(20, 128, dtype=torch.float64)
    x_adapted, t_adapted = adapter.adapted_embeddings(image, text)
    general = adapter.config.logit_scale * torch.einsum("bd,bnd->bn", x_adapted, t_adapted)
    assert torch.allclose(adapter(image, text), general, atol=1e-9)


def test_mask_allows_only_text_image_pairs():
    mask = cross_modal_mask(3)
    expected_blocked = torch.tensor(
        [[True, True, True, False], [True, True, True, False], [True, True, True, False], [False, False, False, True]]
    )
    assert torch.equal(mask, expected_blocked)


def test_default_parameter_count_and_names():
    adapter = MultiModalAdapter(embed_dim=512)
    assert trainable_parameter_count(adapter) == 197_760
    assert list(adapter.state_dict()) == [
        "down.weight",
        "down.bias",
        "attn.in_proj_weight",
        "attn.in_proj_bias",
        "attn.out_proj.weight",
        "attn.out_proj.bias",
        "up.weight",
        "up.bias",
    ]
    assert adapter.down.weight.shape == (128, 512)
    assert adapter.attn.num_heads == 4


def test_blend_zero_is_zero_shot_clip():
    adapter = randomised(MultiModalAdapter(64, blend=0.0, logit_scale=50.0))
    image, text = torch.randn(4, 64), torch.randn(6, 64)
    expected = 50.0 * F.normalize(image, dim=-1) @ F.normalize(text, dim=-1).t()
    assert torch.allclose(adapter(image, text), expected, atol=1e-4)


def test_fast_path_never_builds_batch_by_class_by_dim_tensor():
    """Peak intermediate size stays O(B*N + B*D + N*D), far below B*N*D."""
    adapter = MultiModalAdapter(256)
    image, text = torch.randn(64, 256), torch.randn(300, 256)
    largest = 0

    def track(_module, _inputs, output):
        nonlocal largest
        outputs = output if isinstance(output, tuple) else (output,)
        for tensor in outputs:
            if isinstance(tensor, torch.Tensor):
                largest = max(largest, tensor.numel())

    handles = [m.register_forward_hook(track) for m in adapter.modules()]
    logits = adapter(image, text)
    for handle in handles:
        handle.remove()
    assert logits.shape == (64, 300)
    assert largest < 64 * 300 * 256 / 10


def test_config_validation_messages():
    with pytest.raises(ValueError, match="divisible"):
        AdapterConfig(embed_dim=64, bottleneck_dim=10, heads=4)
    with pytest.raises(ValueError, match="adapt"):
        AdapterConfig(adapt="audio")
    with pytest.raises(ValueError, match="blend"):
        AdapterConfig(blend=1.5)
    assert AdapterConfig(embed_dim=64).resolved_bottleneck_dim == 16
