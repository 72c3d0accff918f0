"""Standard manifest readers (Clotho, AudioCaps, FSD50K, ESC-50, JSONL) on tiny fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sfcli.data.corpus import Corpus
from sfcli.data.manifests import AudioTextRecord, detect_kind, read_manifest
from sfcli.errors import SfcliError


def _wav(p: Path, sec: float = 0.5) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    sf.write(p, (0.1 * np.sin(np.arange(int(16000 * sec)) / 4)).astype(np.float32), 16000)
    return p


def test_clotho(tmp_path: Path) -> None:
    _wav(tmp_path / "development" / "rain.wav")
    _wav(tmp_path / "development" / "birds.wav")
    m = tmp_path / "clotho_captions_development.csv"
    m.write_text(
        "file_name,caption_1,caption_2,caption_3,caption_4,caption_5\n"
        'rain.wav,Rain falls on a roof.,"Heavy rain, with thunder.",c3,c4,c5\n'
        "birds.wav,Birds sing.,b2,b3,b4,b5\n"
        "missing.wav,x,x,x,x,x\n"
    )
    assert detect_kind(m) == "clotho"
    recs = read_manifest(m)
    assert len(recs) == 2
    assert recs[0].texts[:2] == ["Rain falls on a roof.", "Heavy rain, with thunder."] and len(recs[0].texts) == 5
    assert recs[0].split == "train" and recs[0].audio.name == "rain.wav"


def test_clotho_eval_split_and_audio_dir(tmp_path: Path) -> None:
    _wav(tmp_path / "wavs" / "a.wav")
    m = tmp_path / "clotho_captions_evaluation.csv"
    m.write_text("file_name,caption_1,caption_2,caption_3,caption_4,caption_5\na.wav,one,two,three,four,five\n")
    recs = read_manifest(m, audio_dir=tmp_path / "wavs")
    assert recs[0].split == "test"


def test_audiocaps_merges_captions(tmp_path: Path) -> None:
    _wav(tmp_path / "audio" / "abc123_30.wav")
    _wav(tmp_path / "audio" / "zzz.flac")
    m = tmp_path / "val.csv"
    m.write_text(
        "audiocap_id,youtube_id,start_time,caption\n"
        "1,abc123,30,A dog barks\n"
        "2,abc123,30,A dog is barking loudly\n"
        "3,zzz,0,Wind blows\n"
        "4,nope,10,Nothing here\n"
    )
    assert detect_kind(m) == "audiocaps"
    recs = read_manifest(m)
    by = {r.audio.name: r for r in recs}
    assert by["abc123_30.wav"].texts == ["A dog barks", "A dog is barking loudly"]
    assert by["zzz.flac"].texts == ["Wind blows"]
    assert all(r.split == "valid" for r in recs)


def test_fsd50k(tmp_path: Path) -> None:
    _wav(tmp_path / "FSD50K.dev_audio" / "64760.wav")
    _wav(tmp_path / "FSD50K.dev_audio" / "99.wav")
    m = tmp_path / "dev.csv"
    m.write_text(
        "fname,labels,mids,split\n"
        '64760,"Electric_guitar,Guitar,Music","/m/1,/m/2,/m/3",train\n'
        '99,"Bark,Dog,Animal","/m/4",val\n'
    )
    assert detect_kind(m) == "fsd50k"
    recs = read_manifest(m)
    assert recs[0].texts[0] == "the sound of electric guitar, guitar and music"
    assert recs[0].category == "music" and recs[0].split == "train"
    assert recs[1].split == "valid"


def test_esc50(tmp_path: Path) -> None:
    _wav(tmp_path / "audio" / "1-100032-A-0.wav")
    _wav(tmp_path / "audio" / "5-9032-A-0.wav")
    meta = tmp_path / "meta"
    meta.mkdir()
    m = meta / "esc50.csv"
    m.write_text(
        "filename,fold,target,category,esc10,src_file,take\n"
        "1-100032-A-0.wav,1,0,dog,True,100032,A\n"
        "5-9032-A-0.wav,5,1,crackling_fire,False,9032,A\n"
    )
    assert detect_kind(m) == "esc50"
    recs = read_manifest(m, audio_dir=tmp_path / "audio")
    assert [r.category for r in recs] == ["dog", "crackling fire"]
    assert [r.split for r in recs] == ["train", "test"]
    assert recs[1].texts[0] == "the sound of crackling fire"


def test_jsonl(tmp_path: Path) -> None:
    _wav(tmp_path / "a.wav")
    _wav(tmp_path / "sub" / "b.wav")
    m = tmp_path / "data.jsonl"
    rows = [
        {"audio": "a.wav", "text": "a bell rings", "category": "bell", "split": "validation"},
        {"audio": "sub/b.wav", "texts": ["a car horn", "honking"], "speaker": "x"},
        {"audio": "gone.wav", "text": "missing"},
    ]
    m.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    recs = read_manifest(m)
    assert len(recs) == 2
    assert recs[0].split == "valid" and recs[0].category == "bell" and recs[0].descriptions == ["a bell rings"]
    assert recs[1].texts == ["a car horn", "honking"] and recs[1].extra == {"speaker": "x"}
    c = Corpus.from_records(recs)
    assert len(c.split("train")) == 1 and len(c.split("valid")) == 1


def test_jsonl_errors(tmp_path: Path) -> None:
    m = tmp_path / "bad.jsonl"
    m.write_text('{"audio": "a.wav"}\n')
    with pytest.raises(SfcliError, match="must be a string"):
        read_manifest(m)
    m.write_text("{not json\n")
    with pytest.raises(SfcliError, match="not valid JSON"):
        read_manifest(m)
    m.write_text('{"text": "x"}\n')
    with pytest.raises(SfcliError, match="audio"):
        read_manifest(m)


def test_unknown_and_missing(tmp_path: Path) -> None:
    with pytest.raises(SfcliError, match="no such"):
        read_manifest(tmp_path / "nope.csv")
    m = tmp_path / "x.csv"
    m.write_text("foo,bar\n1,2\n")
    with pytest.raises(SfcliError, match="unknown manifest format"):
        read_manifest(m)
    with pytest.raises(SfcliError, match="unknown manifest kind"):
        read_manifest(m, kind="weird")
    m2 = tmp_path / "clotho_captions_development.csv"
    m2.write_text("file_name,caption_1\nnot_there.wav,x\n")
    with pytest.raises(SfcliError, match="no usable records"):
        read_manifest(m2)


def test_record_type() -> None:
    r = AudioTextRecord(Path("a.wav"), ["x"])
    assert r.split == "train" and r.descriptions == ["x"]
