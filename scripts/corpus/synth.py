"""Synthetic parts of the corpus: General-MIDI instruments (fluidsynth + mido) and speech (espeak-ng, flite).

Every GM melodic program (0-119) plays a melody, chords and an arpeggio; drum kits play several beats.
Each soundfont renders one long MIDI file (fast), which is then cut at the known piece boundaries.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

SR = 16000
SOUNDFONTS = {
    "FluidR3_GM": ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "MIT (fluid-soundfont-gm, Frank Wen et al.)"),
    "TimGM6mb": ("/usr/share/sounds/sf2/TimGM6mb.sf2", "GPL-2 (timgm6mb-soundfont, Tim Brechbill)"),
    "MuseScore_General_Lite": (
        "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3",
        "MIT (musescore-general-soundfont-small, S. Christian Collins)",
    ),
}
APT_PACKAGES = [
    "fluidsynth",
    "fluid-soundfont-gm",
    "timgm6mb-soundfont",
    "musescore-general-soundfont-small",
    "espeak-ng",
    "flite",
]

# program -> (category, noun phrase). Programs sharing a category are similar enough to be one sound class.
GM: dict[int, tuple[str, str]] = {}


def _gm(progs: range | list[int], cat: str, noun: str) -> None:
    for p in progs:
        GM[p] = (cat, noun)


_gm([0, 1], "piano", "a piano")
_gm([2, 3], "honky-tonk piano", "an upright honky-tonk piano")
_gm([4, 5], "electric piano", "an electric piano")
_gm([6], "harpsichord", "a harpsichord")
_gm([7], "clavinet", "a clavinet")
_gm([8], "celesta", "a celesta")
_gm([9], "glockenspiel", "a glockenspiel")
_gm([10], "music box", "a music box")
_gm([11], "vibraphone", "a vibraphone")
_gm([12], "marimba", "a marimba")
_gm([13], "xylophone", "a xylophone")
_gm([14], "tubular bells", "tubular bells")
_gm([15], "dulcimer", "a hammered dulcimer")
_gm([16, 17, 18], "electric organ", "an electric organ")
_gm([19], "church organ", "a church organ")
_gm([20], "reed organ", "a reed organ")
_gm([21, 23], "accordion", "an accordion")
_gm([22], "harmonica", "a harmonica")
_gm([24], "nylon guitar", "a classical nylon-string guitar")
_gm([25], "steel guitar", "an acoustic steel-string guitar")
_gm([26, 27, 28], "electric guitar", "a clean electric guitar")
_gm([29, 30], "distorted guitar", "a distorted electric guitar")
_gm([31], "guitar harmonics", "guitar harmonics")
_gm([32], "acoustic bass", "an acoustic double bass")
_gm([33, 34, 35], "electric bass", "an electric bass guitar")
_gm([36, 37], "slap bass", "a slap bass guitar")
_gm([38, 39], "synth bass", "a synthesizer bass")
_gm([40], "violin", "a violin")
_gm([41], "viola", "a viola")
_gm([42], "cello", "a cello")
_gm([43], "double bass", "a bowed double bass")
_gm([44], "tremolo strings", "tremolo strings")
_gm([45], "pizzicato strings", "plucked pizzicato strings")
_gm([46], "harp", "a harp")
_gm([47], "timpani", "timpani")
_gm([48, 49, 50, 51], "string ensemble", "a string orchestra")
_gm([52, 53], "choir", "a choir singing aah")
_gm([54], "synth voice", "a synthesized voice")
_gm([55], "orchestra hit", "an orchestra hit")
_gm([56, 59], "trumpet", "a trumpet")
_gm([57], "trombone", "a trombone")
_gm([58], "tuba", "a tuba")
_gm([60], "french horn", "a French horn")
_gm([61, 62, 63], "brass section", "a brass section")
_gm([64, 65], "saxophone", "a saxophone")
_gm([66, 67], "tenor saxophone", "a deep saxophone")
_gm([68], "oboe", "an oboe")
_gm([69], "english horn", "an English horn")
_gm([70], "bassoon", "a bassoon")
_gm([71], "clarinet", "a clarinet")
_gm([72], "piccolo", "a piccolo")
_gm([73], "flute", "a flute")
_gm([74], "recorder", "a recorder")
_gm([75], "pan flute", "a pan flute")
_gm([76], "blown bottle", "someone blowing across a bottle")
_gm([77], "shakuhachi", "a shakuhachi flute")
_gm([78], "whistling", "someone whistling")
_gm([79], "ocarina", "an ocarina")
_gm([80, 81, 83, 84, 86, 87], "synth lead", "a synthesizer lead")
_gm([82], "calliope", "a calliope")
_gm([85], "voice lead synth", "a synthesizer with a voice-like tone")
_gm([88, 89, 90, 91, 92, 93, 94, 95], "synth pad", "a soft synthesizer pad")
_gm([96, 97, 98, 99, 100, 101, 102, 103], "synth effects", "an atmospheric synthesizer effect")
_gm([104], "sitar", "a sitar")
_gm([105], "banjo", "a banjo")
_gm([106], "shamisen", "a shamisen")
_gm([107], "koto", "a koto")
_gm([108], "kalimba", "a kalimba")
_gm([109], "bagpipes", "bagpipes")
_gm([110], "fiddle", "a fiddle")
_gm([111], "shanai", "a shanai")
_gm([112], "bell ringing", "a small bell")
_gm([113], "agogo", "agogo bells")
_gm([114], "steel drums", "steel drums")
_gm([115], "woodblock", "a woodblock")
_gm([116], "taiko drum", "a taiko drum")
_gm([117], "tom drum", "a melodic tom drum")
_gm([118], "synth drum", "an electronic synth drum")
_gm([119], "reverse cymbal", "a reversed cymbal")

# register (lowest MIDI note of the melody) per category
_LOW = {
    "acoustic bass": 31,
    "electric bass": 31,
    "slap bass": 31,
    "synth bass": 31,
    "double bass": 31,
    "tuba": 34,
    "cello": 41,
    "bassoon": 41,
    "trombone": 43,
    "timpani": 38,
    "tenor saxophone": 46,
    "french horn": 48,
    "piccolo": 74,
    "glockenspiel": 72,
    "celesta": 67,
    "music box": 67,
    "whistling": 70,
    "ocarina": 67,
    "taiko drum": 40,
    "tom drum": 45,
    "synth drum": 45,
}
_MAJOR = [0, 2, 4, 5, 7, 9, 11, 12]
_MINOR = [0, 2, 3, 5, 7, 8, 10, 12]
PIECE_S = 4.0
SLOT_S = 5.0
STYLES = ("melody", "chords", "arpeggio")
# GM "sound effects" family (120-127): sampled sounds, played as a few notes near middle C
GM_SFX: dict[int, tuple[str, list[str]]] = {
    121: ("breathing", ["breath noise", "someone breathing out"]),
    122: ("ocean waves", ["waves on a seashore", "the sea washing on a beach"]),
    123: ("bird song", ["a bird tweeting", "birds chirping"]),
    124: ("telephone ringing", ["a telephone ringing", "a phone ringing"]),
    125: ("helicopter", ["a helicopter", "helicopter rotor blades"]),
    126: ("applause", ["applause", "an audience clapping"]),
    127: ("gunshot", ["gunshots", "a gun firing"]),
}
DRUM_KITS = {0: "standard", 8: "room", 16: "power", 24: "electronic", 25: "808", 32: "jazz", 40: "brush"}
DRUM_STYLES = ("rock", "disco", "shuffle", "halftime", "fill")


@dataclass
class SynthClip:
    """One rendered clip: audio at 16 kHz plus its labels."""

    source: str
    path: str
    licence: str
    category: str
    descriptions: list[str]
    family: str
    audio: np.ndarray


def check_tools(install: bool = True, log: list[str] | None = None) -> dict[str, bool]:
    """Which synthesis tools are usable; tries ``apt-get install`` of the missing ones when root."""
    log = log if log is not None else []

    def have() -> dict[str, bool]:
        return {
            "fluidsynth": shutil.which("fluidsynth") is not None
            and any(Path(p).is_file() for p, _ in SOUNDFONTS.values()),
            "espeak-ng": shutil.which("espeak-ng") is not None,
            "flite": shutil.which("flite") is not None,
        }

    h = have()
    if install and not all(h.values()) and shutil.which("apt-get"):
        import os

        if os.geteuid() == 0:
            log.append("installing synthesis tools: " + " ".join(APT_PACKAGES))
            subprocess.run(["apt-get", "install", "-y", "-q", *APT_PACKAGES], capture_output=True)
            h = have()
    for k, v in h.items():
        if not v:
            log.append(f"synthesis: {k} missing (apt-get install {k}); its part of the corpus is skipped")
    return h


def _piece_events(rng: random.Random, style: str, low: int) -> list[tuple[float, int, int, float]]:
    """(start s, note, velocity, duration s) events for one 4 s piece."""
    scale = _MAJOR if rng.random() < 0.6 else _MINOR
    root = low + rng.randrange(0, 7)
    tempo = rng.uniform(0.22, 0.4)  # seconds per beat
    ev: list[tuple[float, int, int, float]] = []
    t = 0.0
    if style == "melody":
        deg = rng.randrange(0, 5)
        while t < PIECE_S - 0.3:
            dur = tempo * rng.choice([0.5, 1, 1, 1, 2])
            deg = max(0, min(7, deg + rng.choice([-2, -1, -1, 0, 1, 1, 2])))
            ev.append((t, root + scale[deg], rng.randint(70, 110), min(dur, PIECE_S - t)))
            t += dur
    elif style == "chords":
        while t < PIECE_S - 0.3:
            dur = tempo * rng.choice([2, 4])
            d = rng.choice([0, 3, 4, 5])
            for k in (0, 2, 4):
                ev.append(
                    (
                        t,
                        root + scale[(d + k) % 7] + (12 if d + k >= 7 else 0),
                        rng.randint(60, 95),
                        min(dur, PIECE_S - t),
                    )
                )
            t += dur
    else:  # arpeggio
        d = rng.choice([0, 3, 4])
        pattern = [0, 2, 4, 7, 4, 2]
        i = 0
        while t < PIECE_S - 0.3:
            k = d + pattern[i % len(pattern)]
            ev.append((t, root + scale[k % 7] + 12 * (k // 7), rng.randint(65, 100), tempo * 0.9))
            t += tempo * 0.5
            i += 1
            if i % 12 == 0:
                d = rng.choice([0, 3, 4, 5])
    return ev


def _drum_events(rng: random.Random, style: str) -> list[tuple[float, int, int, float]]:
    """GM percussion events (channel 10 notes) for one 4 s beat."""
    step = rng.uniform(0.11, 0.16)  # 16th note
    ev: list[tuple[float, int, int, float]] = []
    n = int((PIECE_S - 0.2) / step)
    hat = rng.choice([42, 42, 44, 51])
    for i in range(n):
        t = i * step
        b = i % 16
        if style == "fill" and i >= n - 8:
            ev.append((t, rng.choice([41, 43, 45, 47, 48, 50]), rng.randint(80, 120), 0.2))
            continue
        if style == "shuffle" and b % 4 == 2:
            continue
        if b % 2 == 0 or style == "disco":
            ev.append((t, hat if not (style == "disco" and b % 4 == 2) else 46, rng.randint(50, 90), 0.1))
        kick = {0, 8} if style != "disco" else {0, 4, 8, 12}
        if style == "rock":
            kick = {0, 6, 8, 10}
        if style == "halftime":
            kick = {0, 10}
        if b in kick:
            ev.append((t, 36, rng.randint(90, 120), 0.2))
        snare = {4, 12} if style != "halftime" else {8}
        if b in snare:
            ev.append((t, 38 if rng.random() < 0.85 else 40, rng.randint(85, 120), 0.2))
    ev.append((0.0, 49, 100, 1.0))
    return ev


def _write_midi(slots: list[tuple[int, int, list[tuple[float, int, int, float]]]], out: Path) -> None:
    """Write one MIDI file: slot i starts at i*SLOT_S; each slot is (channel, program, events)."""
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500000))  # 120 bpm: 960 ticks per second

    def tick(s: float) -> int:
        return round(s * 960)

    msgs: list[tuple[int, int, mido.Message]] = []
    for i, (ch, prog, ev) in enumerate(slots):
        t0 = i * SLOT_S
        msgs.append((tick(t0), 0, mido.Message("program_change", channel=ch, program=prog)))
        for s, note, vel, dur in ev:
            msgs.append((tick(t0 + s), 2, mido.Message("note_on", channel=ch, note=note, velocity=vel)))
            msgs.append((tick(t0 + s + dur), 1, mido.Message("note_off", channel=ch, note=note, velocity=0)))
        msgs.append((tick(t0 + PIECE_S), 1, mido.Message("control_change", channel=ch, control=123, value=0)))
    msgs.sort(key=lambda m: (m[0], m[1]))
    last = 0
    for t, _, m in msgs:
        track.append(m.copy(time=t - last))
        last = t
    track.append(mido.MetaMessage("end_of_track", time=tick(SLOT_S)))
    mid.save(str(out))


def _render(sf2: str, mid: Path, wav: Path) -> np.ndarray:
    subprocess.run(
        ["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(SR), "-F", str(wav), sf2, str(mid)],
        check=True,
        capture_output=True,
        timeout=1800,
    )
    x, sr = sf.read(str(wav), dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    return soxr.resample(x, sr, SR) if sr != SR else x


def _describe(noun: str, style: str) -> list[str]:
    if style == "melody":
        return [f"{noun} playing a melody", f"a tune played on {noun}"]
    if style == "chords":
        return [f"{noun} playing chords", f"chords on {noun}"]
    return [f"{noun} playing an arpeggio", f"{noun} playing a rising and falling pattern"]


def gm_clips(
    seed: int = 0, pieces: int = 2, tmp: Path | None = None, log: list[str] | None = None
) -> Iterator[SynthClip]:
    """Render every melodic GM program (``pieces`` pieces per style) and drum beats with each installed soundfont."""
    fonts = [(k, p, lic) for k, (p, lic) in SOUNDFONTS.items() if Path(p).is_file()]
    # the same piece (seeded by program/style/index) is played by each soundfont: one recording family
    slots: list[tuple[int, int, list[tuple[float, int, int, float]]]] = []
    labels: list[tuple[str, list[str], str]] = []
    for prog in sorted(GM):
        cat, noun = GM[prog]
        for style in STYLES:
            for k in range(pieces):
                rng = random.Random(f"{seed}-{prog}-{style}-{k}")
                slots.append((0, prog, _piece_events(rng, style, _LOW.get(cat, 55))))
                labels.append((cat, _describe(noun, style), f"gm-{prog}-{style}-{k}"))
    for prog, (cat, descs) in GM_SFX.items():
        for k in range(pieces):
            rng = random.Random(f"{seed}-sfx-{prog}-{k}")
            n = rng.choice([1, 2, 3])
            ev = [
                (i * PIECE_S / n, 60 + rng.choice([-5, -2, 0, 0, 3]), rng.randint(90, 120), PIECE_S / n * 0.9)
                for i in range(n)
            ]
            slots.append((0, prog, ev))
            labels.append((cat, descs, f"gm-{prog}-sfx-{k}"))
    for kit, kname in DRUM_KITS.items():
        for style in DRUM_STYLES:
            rng = random.Random(f"{seed}-drums-{kit}-{style}")
            slots.append((9, kit, _drum_events(rng, style)))
            electronic = kname in ("electronic", "808")
            cat = "drum machine beat" if electronic else "drum kit beat"
            d = (
                ["an electronic drum machine playing a beat", "a drum machine loop"]
                if electronic
                else [
                    f"a drum kit playing a {style} beat"
                    if style != "fill"
                    else "a drum kit playing a beat with a tom fill",
                    "drums playing a rhythm",
                ]
            )
            labels.append((cat, d, f"drums-{kname}-{style}"))
    with tempfile.TemporaryDirectory(dir=tmp) as td:
        mid = Path(td) / "all.mid"
        _write_midi(slots, mid)
        for fname, sf2, lic in fonts:
            try:
                x = _render(sf2, mid, Path(td) / f"{fname}.wav")
            except (subprocess.SubprocessError, OSError, RuntimeError) as exc:
                (log if log is not None else []).append(f"fluidsynth failed with {fname}: {exc}")
                continue
            seg = int(SLOT_S * SR)
            for i, (cat, d, fam) in enumerate(labels):
                a = x[i * seg : i * seg + int((PIECE_S + 0.8) * SR)]
                if a.size < SR or float(np.sqrt(np.mean(a**2))) < 1e-4:
                    continue
                yield SynthClip(f"fluidsynth:{fname}", f"{fname}.sf2::{fam}", lic, cat, d, fam, a.astype(np.float32))


# ------------------------------------------------------------------------------------------------ speech
_SUBJECTS = [
    "The weather",
    "My neighbour",
    "The train to the city",
    "Our new kitchen",
    "The little dog",
    "This old bridge",
    "The museum",
    "Her brother",
    "The morning bus",
    "The school choir",
    "A cup of tea",
    "The garden",
    "The football match",
    "The river",
    "That red car",
    "The library",
    "Our teacher",
    "The baker",
]
_PREDICATES = [
    "will be late again today",
    "was much better than I expected",
    "opens at nine in the morning",
    "needs a fresh coat of paint",
    "made everyone laugh",
    "is closed for repairs until Friday",
    "sounded wonderful last night",
    "costs far too much",
    "is right next to the station",
    "has been there for a hundred years",
    "was quiet for a change",
    "should arrive in ten minutes",
    "is the best in town",
    "keeps barking at the postman",
    "was covered in snow",
]
_QUESTIONS = [
    "Could you please pass me the salt?",
    "What time does the shop close?",
    "Have you seen my keys anywhere?",
    "Where is the nearest post office?",
    "Would you like some more coffee?",
    "Did you remember to lock the door?",
    "How long will the journey take?",
    "Can we meet again next week?",
]
_NUMBERS = [
    "Please call me back at five five five, one two three four.",
    "The total comes to twenty three pounds fifty.",
    "Flight number eight one six is now boarding at gate twelve.",
    "We need three apples, two pears and a melon.",
]

# (tool, voice, gender) -- espeak-ng variants and flite voices
VOICES = [
    ("espeak-ng", "en+m1", "male"),
    ("espeak-ng", "en+m3", "male"),
    ("espeak-ng", "en-us+m5", "male"),
    ("espeak-ng", "en-gb-scotland+m2", "male"),
    ("espeak-ng", "en+f1", "female"),
    ("espeak-ng", "en+f3", "female"),
    ("espeak-ng", "en-us+f4", "female"),
    ("espeak-ng", "en-gb-x-rp+f2", "female"),
    ("flite", "kal", "male"),
    ("flite", "awb", "male"),
    ("flite", "rms", "male"),
    ("flite", "slt", "female"),
]


def sentences(seed: int = 0, n: int = 120) -> list[str]:
    """``n`` varied English sentences (statements, questions, numbers)."""
    rng = random.Random(seed)
    out = list(_QUESTIONS) + list(_NUMBERS)
    while len(out) < n:
        s = f"{rng.choice(_SUBJECTS)} {rng.choice(_PREDICATES)}."
        if s not in out:
            out.append(s)
    rng.shuffle(out)
    return out[:n]


def speech_clips(
    tools: dict[str, bool], seed: int = 0, per_voice: int = 25, tmp: Path | None = None
) -> Iterator[SynthClip]:
    """Each voice reads ``per_voice`` sentences; a sentence is one recording family across voices."""
    sents = sentences(seed, 120)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(dir=tmp) as td:
        for vi, (tool, voice, gender) in enumerate(VOICES):
            if not tools.get(tool):
                continue
            picks = rng.sample(range(len(sents)), per_voice)
            for k in picks:
                text = sents[k]
                wav = Path(td) / f"{vi}_{k}.wav"
                if tool == "espeak-ng":
                    cmd = ["espeak-ng", "-v", voice, "-s", str(rng.randint(140, 185)), "-w", str(wav), text]
                    lic = "GPL-3+ (espeak-ng)"
                else:
                    cmd = ["flite", "-voice", voice, "-t", text, "-o", str(wav)]
                    lic = "BSD-like (flite, CMU)"
                try:
                    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
                    x, sr = sf.read(str(wav), dtype="float32", always_2d=True)
                except (subprocess.SubprocessError, OSError, RuntimeError):
                    continue
                x = x.mean(axis=1)
                x = soxr.resample(x, sr, SR) if sr != SR else x
                man = gender == "male"
                who = "man" if man else "woman"
                descs = [
                    f"a synthetic {who}'s voice reading a sentence",
                    "a computer voice speaking English",
                    f"text-to-speech with a {'male' if man else 'female'} voice",
                ]
                yield SynthClip(
                    tool,
                    f"{tool}:{voice}::{k:03d}",
                    lic,
                    f"synthetic {'male' if man else 'female'} speech",
                    descs,
                    f"tts-sentence-{k}",
                    x.astype(np.float32),
                )
