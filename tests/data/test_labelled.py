"""sfcli.data.labelled: labelled clips -> evaluation mixtures (both protocols, seeds, absent queries)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sfcli.data.labelled import is_labelled_manifest, label_text, labelled_mixtures, read_labelled
from sfcli.errors import SfcliError

SR = 16000
LABELS = ["frying-pan", "tap_water", "drawer", "blender"]


def write_clips(root: Path, seconds: float = 3.0, per_label: int = 3) -> Path:
    """Clips of four labels (a distinct tone each) under root/audio, a JSONL manifest at root."""
    rng = np.random.default_rng(0)
    (root / "audio").mkdir(parents=True, exist_ok=True)
    rows = []
    for k, label in enumerate(LABELS):
        for j in range(per_label):
            n = int((seconds + 0.5 * j) * SR)
            x = 0.2 * np.sin(2 * np.pi * (200 + 150 * k) * np.arange(n) / SR) + 0.01 * rng.standard_normal(n)
            name = f"audio/{label}-{j}.flac"
            sf.write(root / name, x.astype(np.float32), SR)
            rows.append({"audio": name, "label": label, "source_id": f"{label}-{j // 2}"})
    rows[0]["text"] = "food sizzling in a pan"
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root / "manifest.jsonl"


def test_manifest_csv_and_folder_read_the_same_clips(tmp_path: Path) -> None:
    manifest = write_clips(tmp_path)
    clips = read_labelled(manifest)
    assert len(clips) == 12 and {c.label for c in clips} == set(LABELS)
    assert clips[0].text == "food sizzling in a pan" and clips[1].text == "frying pan"
    csv_path = tmp_path / "m.csv"
    csv_path.write_text("audio,label\n" + "".join(f"{c.audio},{c.label}\n" for c in clips))
    assert [c.label for c in read_labelled(csv_path)] == [c.label for c in clips]
    folder = tmp_path / "by_label"
    for c in clips:
        (folder / c.label).mkdir(parents=True, exist_ok=True)
        (folder / c.label / c.audio.name).write_bytes(c.audio.read_bytes())
    assert sorted(c.label for c in read_labelled(folder)) == sorted(c.label for c in clips)
    assert is_labelled_manifest(manifest) and is_labelled_manifest(csv_path) and is_labelled_manifest(folder)
    assert label_text("frying-pan") == "frying pan" and label_text("tap_water") == "tap water"


def test_bad_manifests_fail_clearly(tmp_path: Path) -> None:
    manifest = write_clips(tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"audio": "audio/drawer-0.flac"}\n')
    with pytest.raises(SfcliError, match="label"):
        read_labelled(bad)
    one = tmp_path / "one.jsonl"
    one.write_text("".join(line + "\n" for line in manifest.read_text().splitlines()[:3]))
    with pytest.raises(SfcliError, match="at least 2 labels"):
        read_labelled(one)
    with pytest.raises(SfcliError, match="protocol"):
        labelled_mixtures(read_labelled(manifest), "nope")
    mix = tmp_path / "mix.jsonl"
    mix.write_text('{"mixture": "m.wav", "target": "t.wav", "background": "b.wav"}\n')
    assert not is_labelled_manifest(mix)


@pytest.mark.parametrize("protocol", ["paper", "esc50"])
def test_mixtures_are_exact_label_disjoint_and_deterministic(tmp_path: Path, protocol: str) -> None:
    clips = read_labelled(write_clips(tmp_path))
    items = labelled_mixtures(clips, protocol, seed=1, n=30)
    for it in items:
        assert np.array_equal(it.mixture, it.target + it.background)
        assert it.ref is not None and it.absent_ref is not None and it.text and it.absent_text
        assert it.absent_text != it.text
        tgt_f = np.abs(np.fft.rfft(it.target)).argmax() * SR / it.target.size
        bg_f = np.abs(np.fft.rfft(it.background)).argmax() * SR / it.background.size
        assert abs(tgt_f - bg_f) > 50  # each label is its own tone: target and background labels differ
        if protocol == "paper":
            assert 2 * SR <= it.mixture.size <= 4 * SR
            gain = 20 * np.log10(np.std(it.background) / np.std(it.target))
            assert -4.01 <= gain <= 4.01
        else:
            assert it.mixture.size >= 3 * SR  # whole clips
            assert abs(np.std(it.background) - np.std(it.target)) < 1e-3 * np.std(it.target)  # 0 dB
            assert it.text == label_text(it.category)
    again = labelled_mixtures(clips, protocol, seed=1, n=30)
    assert all(np.array_equal(a.mixture, b.mixture) and a.text == b.text for a, b in zip(items, again, strict=True))
    other = labelled_mixtures(clips, protocol, seed=2, n=30)
    assert any(not np.array_equal(a.mixture, b.mixture) for a, b in zip(items, other, strict=True))


def test_reference_comes_from_another_recording(tmp_path: Path) -> None:
    clips = read_labelled(write_clips(tmp_path, per_label=4))
    items = labelled_mixtures(clips, "esc50", seed=0, n=20)
    by_audio = {c.audio: c for c in clips}
    for it in items:
        same = [c for c in clips if c.label == it.category]
        target_clip = next(c for c in same if sf.info(str(c.audio)).frames == it.target.size)
        ref_clip = next(c for c in same if sf.info(str(c.audio)).frames == it.ref.size)
        assert by_audio[ref_clip.audio].source != target_clip.source or len({c.source for c in same}) == 1


def test_two_labels_make_mixtures_only_without_the_absent_query(tmp_path: Path) -> None:
    """Two labels give a target and a background but no absent-sound query; with three or more labels the
    mixtures of a seed are the same whether or not the absent query is asked for."""
    manifest = write_clips(tmp_path)
    two = tmp_path / "two.jsonl"
    two.write_text("".join(line + "\n" for line in manifest.read_text().splitlines()[:6]))
    clips = read_labelled(two)
    with pytest.raises(SfcliError, match=r"at least 3 labels.*--no-absent"):
        labelled_mixtures(clips, "paper", seed=0, n=4)
    items = labelled_mixtures(clips, "paper", seed=0, n=6, absent=False)
    assert {it.category for it in items} == {"frying-pan", "tap_water"}
    assert all(it.absent_text is None and it.absent_ref is None for it in items)
    for it in items:
        np.testing.assert_array_equal(it.mixture, it.target + it.background)
    full = read_labelled(manifest)
    with_absent = labelled_mixtures(full, "paper", seed=3, n=5)
    without = labelled_mixtures(full, "paper", seed=3, n=5, absent=False)
    for a, b in zip(with_absent, without, strict=True):
        np.testing.assert_array_equal(a.mixture, b.mixture)
        assert a.absent_text is not None and a.text == b.text
