#!/usr/bin/env python3
"""vc_table.py - the table of tools/eval/vc_runs.sh: one row per vc_eval JSON, then the issue-5 checks.

    python3 tools/eval/vc_table.py OUTDIR [OUTDIR2 ...]

Medians over each run's takes (as vc_eval prints them); "gap" = (sim c-t - s-t) / (t-t2 - s-t); "dMCD" = MCD c-t
minus MCD s-t. The last lines average the VCC runs (official + held-out splits) when more than one is there.
Targets (issue 5): gap >= 50 %, closer (centroid) >= 90 %, dMCD <= -1.5 dB, F0 error <= 15 cents, voicing >= 92 %.
"""
import glob
import json
import os
import sys


def fmt(v, p=3):
    return "-" if v is None else f"{v:.{p}f}"


def main():
    paths = sorted(p for d in sys.argv[1:] for p in glob.glob(os.path.join(d, "*.json")))
    if not paths:
        sys.exit("usage: vc_table.py OUTDIR...  (no *.json found)")
    print(f"{'run':<22}{'sim c-t':>8}{'s-t':>7}{'t-t2':>7}{'gap%':>6}{'closer id/C':>12}"
          f"{'MCD c-t':>9}{'s-t':>7}{'dMCD':>7}{'shift':>7}{'F0 err':>7}{'vuv%':>7}")
    vcc = []
    for p in paths:
        s = json.load(open(p))["summary"]
        name = os.path.splitext(os.path.basename(p))[0]
        g = s.get
        gap = None
        if None not in (g("sim_conv_tgt"), g("sim_src_tgt"), g("sim_tgt_tgt2")):
            gap = 100 * (g("sim_conv_tgt") - g("sim_src_tgt")) / (g("sim_tgt_tgt2") - g("sim_src_tgt"))
        d = g("mcd_conv_tgt") - g("mcd_src_tgt")
        closer = "-" if g("closer_id_pct") is None else f"{g('closer_id_pct'):.0f}/{g('closer_spk_pct'):.0f}"
        print(f"{name:<22}{fmt(g('sim_conv_tgt')):>8}{fmt(g('sim_src_tgt')):>7}{fmt(g('sim_tgt_tgt2')):>7}"
              f"{fmt(gap, 0):>6}{closer:>12}{fmt(g('mcd_conv_tgt'), 2):>9}{fmt(g('mcd_src_tgt'), 2):>7}"
              f"{fmt(d, 2):>7}{fmt(g('shift_c'), 0):>7}{fmt(g('f0_err_c'), 1):>7}{fmt(g('vuv_agree'), 1):>7}")
        if "SM1" in name and "SF1" in name:
            vcc.append((s, d))
    if len(vcc) > 1:
        n = len(vcc)
        mean = lambda k: sum(s[k] for s, _ in vcc if s.get(k) is not None) / max(1, sum(s.get(k) is not None for s, _ in vcc))
        print(f"VCC mean of {n} runs: sim {mean('sim_conv_tgt'):.3f}, dMCD {sum(d for _, d in vcc) / n:.3f} dB, "
              f"F0 err {mean('f0_err_c'):.1f} c, voicing {mean('vuv_agree'):.2f} %")


if __name__ == "__main__":
    main()
