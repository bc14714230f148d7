#!/usr/bin/env python3
"""watermark_bench.py --vox VOX --data SHARED_DATA --work DIR [--crops K] [--excerpts N] [--voices LIMIT] [--mix-all]
                     [--converted SET/SPEAKER]

The watermark attack suite (run by tools/bench/watermark.sh with the eval venv's python):
 1. one test vocal per shared voice (voices/<set>/<speaker>, parallel/<voice>): its recordings joined with
    0.4 s gaps, up to 30 s, mono, at the recording's rate (stand-ins for converted vocals until `vox convert`
    exists: real speech and singing);
 2. `vox watermark embed` with a random payload; SNR (marked vs unmarked) and Resemblyzer similarity (the
    judge of ../shared/eval/spk_sim.py, in-process: preprocess_wav + embed_utterance, cosine);
 3. every attack of watermark_attacks.py (real ffmpeg/sox for loudness+limiter, resampling, dither, MP3, Vorbis),
    mixing under the accompaniment of a shared song (rotating), K random 10 s crops; with --mix-all also under
    every other accompaniment (voices x songs mixes);
 4. `vox watermark detect --json` on all of it: detection rate and payload decoding rate per attack;
 5. false alarms: every audio file in SHARED_DATA (unmarked) and N random 10 s excerpts of them;
 6. with --converted SET/SPEAKER: real converted vocals too: `vox voice train --consent` on the first 30
    recordings of voices/SET/SPEAKER, `vox convert --transpose auto` of every test vocal (convert marks its output
    itself), the same attacks on those (rows 'conv: ...'; the expected payload is the one decoded from the clean
    converted vocal, so the 'conv: none' payload column is not a test).
Prints tables; writes DIR/watermark_bench.json.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import time
import warnings

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

AUDIO = (".wav", ".flac", ".mp3", ".ogg")


def detect(vox, files, batch=200):
    """Runs vox watermark detect --json; returns {path: detection or {'error': ...}}."""
    out = {}
    for i in range(0, len(files), batch):
        part = files[i:i + batch]
        p = subprocess.run([vox, "watermark", "detect", "--json", *part], capture_output=True, text=True)
        for r in json.loads(p.stdout):
            out[r["path"]] = r.get("detection") or {"error": r.get("error")}
    return out


def test_vocals(data, work, limit):
    """(name, path) of one joined vocal per shared voice."""
    voices = []
    for d in sorted(glob.glob(os.path.join(data, "voices", "*", "*"))):
        files = sorted(f for f in glob.glob(d + "/*") if f.endswith(AUDIO))
        if files:
            voices.append((os.path.basename(os.path.dirname(d)) + "_" + os.path.basename(d), files))
    for v in sorted({os.path.basename(f)[:-5] for f in glob.glob(os.path.join(data, "parallel", "*", "*.flac"))}):
        voices.append(("mbrola_" + v, sorted(glob.glob(os.path.join(data, "parallel", "*", v + ".flac")))))
    voices = voices[:limit] if limit else voices
    out = []
    os.makedirs(os.path.join(work, "vocals"), exist_ok=True)
    for name, files in voices:
        parts, rate = [], None
        for f in files:
            y, sr = sf.read(f, dtype="float32", always_2d=True)
            if rate is None:
                rate = sr
            if sr != rate:
                continue
            parts += [y.mean(1), np.zeros(int(0.4 * sr), np.float32)]
            if sum(len(p) for p in parts) > 30 * rate:
                break
        y = np.concatenate(parts)[: 30 * rate]
        path = os.path.join(work, "vocals", name + ".wav")
        sf.write(path, y, rate, subtype="FLOAT")
        out.append((name, path))
    return out


def accompaniments(data, work):
    out = []
    os.makedirs(os.path.join(work, "acc"), exist_ok=True)
    for d in sorted(glob.glob(os.path.join(data, "songs", "*"))):
        stems = [os.path.join(d, s + ".flac") for s in ("drums", "bass", "other")]
        if all(os.path.exists(s) for s in stems):
            y = sum(sf.read(s, dtype="float32", always_2d=True)[0] for s in stems)
            sr = sf.info(stems[0]).samplerate
            path = os.path.join(work, "acc", os.path.basename(d) + ".wav")
            sf.write(path, y, sr, subtype="FLOAT")
            out.append(path)
    return out


def converted_vocals(args, vocals, attack):
    """Trains the --converted voice, converts every test vocal into it (vox convert marks it) and attacks those."""
    work = os.path.join(args.work, "converted")
    os.makedirs(work, exist_ok=True)
    speaker = os.path.join(args.data, "voices", args.converted)
    train = sorted(f for f in glob.glob(speaker + "/*") if f.endswith(AUDIO))[:30]
    model = os.path.join(work, "voice.voxvoice")
    t = time.time()
    subprocess.run([args.vox, "voice", "train", *train, "-o", model, "--name", args.converted, "-q",
                    "--consent", f"Benchmark use of the public {args.converted} recordings (watermark bench)."],
                   check=True, capture_output=True)
    print(f"\nconverted vocals: voice {args.converted} trained on {len(train)} files in {time.time() - t:.0f} s", flush=True)
    for i, (name, path) in enumerate(vocals):
        out = os.path.join(work, name + ".wav")
        subprocess.run([args.vox, "convert", path, "--voice", model, "--transpose", "auto", "-o", out, "-q"],
                       check=True, capture_output=True)
        clean = detect(args.vox, [out])[out]
        files = attack(out, name, clean.get("payload"), i, "conv: ")
        print(f"  {name}: converted (clean score {clean.get('score', float('nan')):.2f}), {len(files)} attacked copies",
              flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vox", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--crops", type=int, default=5)
    ap.add_argument("--excerpts", type=int, default=1000)
    ap.add_argument("--voices", type=int, default=0, help="limit (0: all)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--attacks", help="only these attacks (comma-separated names of watermark_attacks.py)")
    ap.add_argument("--no-similarity", action="store_true", help="skip Resemblyzer (faster)")
    ap.add_argument("--mix-all", action="store_true",
                    help="also mix every vocal under every accompaniment (row 'mix6 (every acc.)', which includes mix6)")
    ap.add_argument("--converted", metavar="SET/SPEAKER",
                    help="also train this shared voice and attack every test vocal converted into it (e.g. vcc2016/SF1)")
    ap.add_argument("--converted-only", action="store_true", help="with --converted: skip the unconverted vocals")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    os.makedirs(args.work, exist_ok=True)
    t0 = time.time()
    vocals = test_vocals(args.data, args.work, args.voices)
    accs = accompaniments(args.data, args.work)
    print(f"{len(vocals)} test vocals, {len(accs)} accompaniments", flush=True)

    if not args.no_similarity:
        from resemblyzer import VoiceEncoder, preprocess_wav
        enc = VoiceEncoder("cpu", verbose=False)

    def embedding(path):
        y, sr = sf.read(path, dtype="float32", always_2d=True)
        e = enc.embed_utterance(preprocess_wav(y.mean(1), source_sr=sr))
        return e / np.linalg.norm(e)

    per_voice, attacked = [], {}  # attacked: path -> (voice, attack, payload)
    attack_script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "watermark_attacks.py")
    def attack(marked, name, payload, i, prefix):
        """Runs every attack on one marked vocal; records the copies in `attacked` (rows named prefix + attack)."""
        attacked[marked] = (name, prefix + "none (marked)", payload)
        outdir = os.path.join(args.work, "attacked", prefix.rstrip(": ") + name)
        files = subprocess.run([sys.executable, attack_script, marked, outdir, "--accompaniment", accs[i % len(accs)],
                                "--seed", str(args.seed + i), "--crops", str(args.crops)]
                               + (["--only", args.attacks] if args.attacks else []),
                               check=True, capture_output=True, text=True).stdout.split()
        for f in files:
            a = os.path.splitext(os.path.basename(f))[0]
            attacked[f] = (name, prefix + ("crop10" if a.startswith("crop10") else a), payload)
        if args.mix_all and (args.attacks is None or "mix6" in args.attacks.split(",")):
            # The same vocal under every other accompaniment too: 25 mixes are too few to tell 99 % from 96 %.
            for j, acc in enumerate(accs):
                if j == i % len(accs):
                    continue
                f = subprocess.run([sys.executable, attack_script, marked, os.path.join(outdir, f"acc{j}"),
                                    "--accompaniment", acc, "--only", "mix6"],
                                   check=True, capture_output=True, text=True).stdout.split()
                attacked[f[0]] = (name, prefix + "mix6 (every acc.)", payload)
        return files

    for i, (name, path) in enumerate([] if args.converted_only else vocals):
        payload = int(rng.integers(0, 2 ** 32))
        marked = os.path.join(args.work, "marked", name + ".wav")
        os.makedirs(os.path.dirname(marked), exist_ok=True)
        subprocess.run([args.vox, "watermark", "embed", "-q", path, "-o", marked, "--payload", str(payload)], check=True)
        x, _ = sf.read(path, dtype="float64")
        y, _ = sf.read(marked, dtype="float64")
        snr = 10 * np.log10(np.sum(x ** 2) / np.sum((x - y) ** 2))
        sim = float("nan") if args.no_similarity else float(np.dot(embedding(path), embedding(marked)))
        per_voice.append({"voice": name, "snr_db": round(snr, 2), "similarity": round(sim, 4)})
        files = attack(marked, name, payload, i, "")
        print(f"  {name}: SNR {snr:.2f} dB, similarity {sim:.4f}, {len(files)} attacked copies", flush=True)

    if args.converted:
        converted_vocals(args, vocals, attack)

    results = detect(args.vox, list(attacked))
    table = {}
    rows = list(attacked.items())
    if args.mix_all:  # the rotating mix6 copies belong to the every-accompaniment row too
        rows += [(f, (v, a + " (every acc.)", p)) for f, (v, a, p) in attacked.items() if a.endswith("mix6")]
    for f, (voice, attack, payload) in rows:
        r = results.get(f, {"error": "no result"})
        t = table.setdefault(attack, {"n": 0, "detected": 0, "payload_ok": 0, "payload_wrong": 0, "scores": [], "missed": []})
        t["n"] += 1
        if r.get("present"):
            t["detected"] += 1
        else:
            t["missed"].append(voice)
        if r.get("payload") is not None:
            t["payload_ok" if r["payload"] == payload else "payload_wrong"] += 1
        t["scores"].append(r.get("score", float("nan")))
    order = ["none (marked)", "mix6", "mix6 (every acc.)", "lufs14", "rs48k", "rs22k", "dither16", "mp3", "ogg", "crop10", "gain+10", "gain-10", "noise20"]
    print("\nattack                    files  detected   rate    min score  median score  payload decoded (wrong)")
    order += ["conv: " + a for a in order]
    for a in order + sorted(set(table) - set(order)):
        if a not in table:
            continue
        t = table[a]
        s = np.array(t["scores"])
        print(f"{a:24s} {t['n']:6d} {t['detected']:9d} {100 * t['detected'] / t['n']:6.1f}%  {np.nanmin(s):9.2f}  {np.nanmedian(s):12.2f}"
              f"  {t['payload_ok']:6d} ({t['payload_wrong']})" + (f"  missed: {','.join(t['missed'][:5])}" if t["missed"] else ""))
    snrs = [v["snr_db"] for v in per_voice] or [float("nan")]
    sims = [v["similarity"] for v in per_voice] or [float("nan")]
    print(f"\nimperceptibility over {len(per_voice)} voices: SNR min {min(snrs):.2f} / median {np.median(snrs):.2f} dB; "
          f"Resemblyzer similarity min {min(sims):.4f} / median {np.median(sims):.4f}")

    # False alarms: every unmarked audio file, then random 10 s excerpts (16-bit FLAC, native rate, mono mix kept
    # as is: excerpts keep the file's channels).
    fa = {}
    if args.excerpts > 0:
        fa = false_alarms(args, rng)
    print(f"bench time {time.time() - t0:.0f} s")
    for t in table.values():
        t["scores"] = [round(s, 2) for s in t["scores"]]
    json.dump({"attacks": table, "voices": per_voice, "false_alarms": fa}, open(os.path.join(args.work, "watermark_bench.json"), "w"), indent=1)


def false_alarms(args, rng):
    """Detection on every unmarked file of the shared data and on random 10 s excerpts; prints and returns the rates."""
    unmarked = sorted(f for f in glob.glob(os.path.join(args.data, "**", "*"), recursive=True) if f.endswith(AUDIO))
    whole = detect(args.vox, unmarked)
    long_files = [f for f in unmarked if sf.info(f).duration >= 10.5]
    ex_dir = os.path.join(args.work, "excerpts")
    os.makedirs(ex_dir, exist_ok=True)
    excerpt_results = {}
    for b in range(0, args.excerpts, 100):
        batch = []
        for j in range(b, min(args.excerpts, b + 100)):
            f = long_files[int(rng.integers(0, len(long_files)))]
            info = sf.info(f)
            start = int(rng.integers(0, int((info.duration - 10) * info.samplerate)))
            y, sr = sf.read(f, start=start, frames=int(10 * info.samplerate), dtype="float32", always_2d=True)
            p = os.path.join(ex_dir, f"ex{j:05d}.flac")
            sf.write(p, y, sr, subtype="PCM_16")
            batch.append(p)
        excerpt_results.update(detect(args.vox, batch))
        for p in batch:
            os.remove(p)
    fa = {}
    for label, res in (("whole files", whole), ("10 s excerpts", excerpt_results)):
        ok = [r for r in res.values() if "score" in r]
        scores = np.array([r["score"] for r in ok])
        alarms = sum(1 for r in ok if r["present"])
        fa[label] = {"files": len(res), "analysed": len(ok), "too_short_or_error": len(res) - len(ok),
                     "false_alarms": alarms, "score_mean": float(scores.mean()), "score_std": float(scores.std()),
                     "score_max": float(scores.max()), "threshold": ok[0]["threshold"]}
        print(f"false alarms, {label}: {alarms} of {len(ok)} analysed ({len(res) - len(ok)} too short); max-over-offsets "
              f"score mean {scores.mean():.2f}, std {scores.std():.2f}, max {scores.max():.2f} (threshold {ok[0]['threshold']:.2f})")
    total = sum(v["analysed"] for v in fa.values())
    alarms = sum(v["false_alarms"] for v in fa.values())
    print(f"false-alarm rate: {alarms}/{total} = {alarms / total:.2e} (rule of three: < {3 / total:.1e} at 95 % when 0)")
    return fa


if __name__ == "__main__":
    main()
