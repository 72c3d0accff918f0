"""SoundFilter: shapes, conditioning, mixture consistency, persistence, the paper configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sfcli.errors import ModelNotFoundError
from sfcli.filter_model import SoundFilter, SoundFilterConfig
from sfcli.postfilter import spectral_postfilter


def _randomise_film(model: SoundFilter) -> None:
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "film" in name:
                p.normal_(0, 0.2)


@pytest.mark.parametrize("length", [1, 160, 3201, 32000])
@pytest.mark.parametrize("frontend", ["filterbank", "waveform"])
def test_shapes_and_exact_consistency(length: int, frontend: str) -> None:
    torch.manual_seed(0)
    model = SoundFilter(SoundFilterConfig.tiny(frontend=frontend)).eval()
    x = torch.randn(3, 1, length)
    with torch.no_grad():
        t, r = model(x, torch.randn(3, 64))
    assert t.shape == r.shape == x.shape
    assert torch.allclose(t + r, x, atol=1e-5 * float(x.abs().max()))


def test_projection_switch_changes_sum() -> None:
    torch.manual_seed(0)
    model = SoundFilter(SoundFilterConfig.tiny(consistency="none")).eval()
    x, c = torch.randn(2, 1, 4000), torch.randn(2, 64)
    with torch.no_grad():
        t, r = model(x, c)
        tp, rp = model(x, c, project=True)
    assert (t + r - x).abs().max() > 1e-3  # the soft setting does not force the sum
    assert torch.allclose(tp + rp, x, atol=1e-5)


def test_target_only_network_residual_is_mixture_minus_target() -> None:
    model = SoundFilter(SoundFilterConfig.tiny(residual_output=False)).eval()
    x = torch.randn(1, 1, 4000)
    with torch.no_grad():
        t, r = model(x, torch.randn(1, 64), project=False)
    assert torch.allclose(t + r, x, atol=1e-5)
    assert model.head.out_channels == model.config.fb_channels  # one mask, not two


def test_conditioning_changes_output() -> None:
    torch.manual_seed(1)
    model = SoundFilter(SoundFilterConfig.tiny()).eval()
    _randomise_film(model)
    x = torch.randn(1, 1, 8000)
    with torch.no_grad():
        a, _ = model(x, torch.randn(1, 64))
        b, _ = model(x, torch.randn(1, 64))
    assert (a - b).abs().mean() > 1e-4


def test_film_starts_as_identity() -> None:
    model = SoundFilter(SoundFilterConfig.tiny()).eval()
    x = torch.randn(1, 1, 8000)
    with torch.no_grad():
        a, _ = model(x, torch.randn(1, 64))
        b, _ = model(x, torch.randn(1, 64))
    assert torch.equal(a, b)


def test_silence_in_silence_out_and_scale_equivariance() -> None:
    torch.manual_seed(2)
    model = SoundFilter(SoundFilterConfig.tiny()).eval()
    c = torch.randn(1, 64)
    with torch.no_grad():
        t, r = model(torch.zeros(1, 1, 4000), c)
        assert t.abs().max() == 0 and r.abs().max() == 0
        x = torch.randn(1, 1, 4000)
        t1, _ = model(x, c)
        t2, _ = model(3.0 * x, c)
    assert torch.allclose(3.0 * t1, t2, atol=1e-4)


def test_save_and_load_roundtrip(tmp_path: Path) -> None:
    torch.manual_seed(3)
    model = SoundFilter(SoundFilterConfig.tiny()).eval()
    _randomise_film(model)
    model.save_pretrained(tmp_path / "sf", half=False)
    loaded = SoundFilter.from_pretrained(tmp_path / "sf")
    assert loaded.config == model.config
    x, c = torch.randn(1, 1, 4000), torch.randn(1, 64)
    with torch.no_grad():
        assert torch.allclose(model(x, c)[0], loaded(x, c)[0], atol=1e-6)
    # fp16 storage halves the file and stays close.
    model.save_pretrained(tmp_path / "sf16", half=True)
    half = SoundFilter.from_pretrained(tmp_path / "sf16")
    with torch.no_grad():
        assert torch.allclose(model(x, c)[0], half(x, c)[0], atol=2e-2 * float(x.abs().max()))
    assert (tmp_path / "sf16" / "model.safetensors").stat().st_size < (
        tmp_path / "sf" / "model.safetensors"
    ).stat().st_size


def test_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="no soundfilter model"):
        SoundFilter.from_pretrained(tmp_path)


def test_paper_configuration_is_the_paper_design() -> None:
    cfg = SoundFilterConfig.paper()
    model = SoundFilter(cfg)
    assert cfg.frontend == "waveform" and cfg.strides == [2, 4, 5, 8]
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv1d | torch.nn.ConvTranspose1d)]
    norms = [m for m in model.modules() if isinstance(m, torch.nn.GroupNorm)]
    assert len(norms) >= len(convs) - 1  # GroupNorm after every Conv1D but the output head
    films = [n for n, _ in model.named_modules() if n.endswith("film")]
    assert any(n.startswith("encoder") for n in films)
    assert any(n.startswith("decoder") for n in films)
    assert "bottleneck_film" in films
    x = torch.randn(1, 1, 3200)
    with torch.no_grad():
        t, _ = model(x, torch.randn(1, 64))
    assert t.shape == x.shape


def test_bad_config_values() -> None:
    with pytest.raises(ValueError):
        SoundFilterConfig(frontend="spectrogram")
    with pytest.raises(ValueError):
        SoundFilterConfig(consistency="soft")


def test_postfilter_settings_and_refiner_are_saved_with_the_model(tmp_path: Path) -> None:
    torch.manual_seed(4)
    model = SoundFilter(SoundFilterConfig.tiny(postfilter_fft=1024, postfilter_power=2.0, refiner_channels=4)).eval()
    _randomise_film(model)
    with torch.no_grad():
        model.refiner.out.weight.normal_(0, 0.3)
    model.save_pretrained(tmp_path / "sf", half=False)
    loaded = SoundFilter.from_pretrained(tmp_path / "sf")
    assert (loaded.config.postfilter_fft, loaded.config.postfilter_power, loaded.config.refiner_channels) == (
        1024,
        2.0,
        4,
    )
    x, c = torch.randn(2, 1, 4000), torch.randn(2, 64)
    with torch.no_grad():
        t, r = loaded(x, c, postfilter=True)
        raw = loaded(x, c)[0]
        torch.testing.assert_close(t, loaded.postfilter(x, raw, c))
        torch.testing.assert_close(t, model(x, c, postfilter=True)[0])
    torch.testing.assert_close(t + r, x)
    assert (t - raw).abs().mean() > 1e-4


def test_configs_without_postfilter_keys_get_the_defaults_the_shipped_model_was_trained_with() -> None:
    from sfcli.postfilter import DEFAULT_FFT, DEFAULT_POWER

    old = SoundFilterConfig.tiny().to_dict()
    for key in ("postfilter_fft", "postfilter_power", "refiner_channels"):
        del old[key]
    cfg = SoundFilterConfig.from_dict(old)
    assert (cfg.postfilter_fft, cfg.postfilter_power, cfg.refiner_channels) == (DEFAULT_FFT, DEFAULT_POWER, 0)
    assert (DEFAULT_FFT, DEFAULT_POWER) == (4096, 1.5)  # the eighth SoundFilter depends on these


def test_postfilter_off_in_the_config_leaves_the_target() -> None:
    model = SoundFilter(SoundFilterConfig.tiny(postfilter_fft=0)).eval()
    x, c = torch.randn(1, 1, 4000), torch.randn(1, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x, c, postfilter=True)[0], model(x, c)[0])
    with pytest.raises(ValueError, match="refiner"):
        SoundFilterConfig(postfilter_fft=0, refiner_channels=4)
    with pytest.raises(ValueError, match="postfilter_fft"):
        SoundFilterConfig(postfilter_fft=2)


def test_separate_is_network_projection_postfilter_and_forward_calls_it() -> None:
    torch.manual_seed(5)
    model = SoundFilter(SoundFilterConfig.tiny(postfilter_fft=512, refiner_channels=4)).eval()
    _randomise_film(model)
    with torch.no_grad():
        model.refiner.out.weight.normal_(0, 0.3)
    x, c = torch.randn(2, 1, 4000), torch.randn(2, 64)
    with torch.no_grad():
        t, r = model.separate(x, c)
        raw, raw_res = model.separate(x, c, postfilter=False)
        for a, b in zip(model(x, c, postfilter=True), (t, r), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        for a, b in zip(model(x, c), (raw, raw_res), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        torch.testing.assert_close(t, model.postfilter(x, raw, c), rtol=0, atol=0)
        torch.testing.assert_close(r, x - t, rtol=0, atol=0)
        torch.testing.assert_close(model.separate(x[:, 0], c)[0], t, rtol=0, atol=0)  # (B, T) input
        other = spectral_postfilter(x, raw, 256, 2.0, refiner=model.refiner, cond=c)
        torch.testing.assert_close(model.separate(x, c, fft=256, power=2.0)[0], other, rtol=0, atol=0)
        torch.testing.assert_close(model.separate(x, c, fft=0)[0], raw, rtol=0, atol=0)
        unprojected = model.separate(x, c, postfilter=False, project=False)
    assert (unprojected[0] - raw).abs().mean() > 1e-6
    torch.testing.assert_close(raw + raw_res, x)


def test_context_units_start_as_the_identity_and_then_change_the_output(tmp_path: Path) -> None:
    torch.manual_seed(0)
    plain = SoundFilter(SoundFilterConfig.tiny()).eval()
    _randomise_film(plain)
    model = SoundFilter(SoundFilterConfig.tiny(context_units=3)).eval()
    missing, unexpected = model.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("context.") for k in missing)
    assert [u.conv[0].dilation[0] for u in model.context] == [1, 3, 9]
    assert model.num_parameters() > plain.num_parameters()
    x, c = torch.randn(2, 1, 3200), torch.randn(2, 64)
    with torch.no_grad():
        a, b = plain.separate(x, c), model.separate(x, c)
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
        for unit in model.context:
            unit.out.weight.normal_(0, 0.3)
            unit.film.proj.weight.normal_(0, 0.3)
        t1, _ = model.separate(x, c)
        t2, _ = model.separate(x, torch.randn(2, 64))
    assert not torch.allclose(t1, a[0], atol=1e-4)
    assert not torch.allclose(t1, t2, atol=1e-4)  # the units are conditioned too
    model.save_pretrained(tmp_path / "m", half=False)
    loaded = SoundFilter.from_pretrained(tmp_path / "m")
    assert loaded.config.context_units == 3
    with torch.no_grad():
        assert torch.equal(loaded.separate(x, c)[0], t1)
    with pytest.raises(ValueError, match="context_units"):
        SoundFilterConfig(context_units=-1)
