import Foundation

/// Settings of the voicing decision. Defaults follow Harvest's contour fixing (Morise 2017), with the frame counts
/// for WORLD's 5 ms grid.
public struct VoicingDecisionOptions: Sendable, Equatable {
    /// Largest frame-to-frame F0 change (relative, either neighbour) of a reliable frame. Default 0.08 (133 cents per
    /// 5 ms): F0 refined on noise jumps by more, while weak voice (onsets, creak, soft offsets) refines with a
    /// frame-to-frame jitter of 4–8 % that a tighter limit read as noise, breaking its cores. Harvest uses 0.008 on its
    /// own refined candidates; on ours 0.02 left more voice out (21 files, 80.4 % vs 82.0 % agreement). Agreement with
    /// Harvest (`tools/eval/voicing_eval.py --conversion-voicing`, its 22 speech files / VCC2016 SF1+SM1
    /// 100001–100009): 85.46 / 87.91 % with 0.04, 85.60 % (22 files) with 0.06, 85.66 / 88.16 % with 0.08 (0.1 the
    /// same); VCC2016 conversion voicing (six-run mean of `tools/eval/vc_runs.sh`) 91.10 % with 0.04, 91.37 % with 0.08.
    public var continuityTolerance = 0.08
    /// Lowest periodicity (1 − the difference function's dip) of a reliable frame. Default 0.4.
    public var minimumPeriodicity = 0.4
    /// Largest mean relative deviation of the first harmonics' instantaneous frequencies (each divided by its
    /// number) from the refined F0 in a reliable frame (Harvest's candidate score, whose reciprocal it is);
    /// ≥ 1 = off. Default 0.05: a narrow resonance of a fricative (a 1 kHz "F0" with periodicity 0.5 and a smooth
    /// contour) has one accurate peak and noise at the other harmonics (21 files: 83.1 % agreement off, 83.8 % with
    /// 0.05; 0.1 and 0.2: 83.2 %).
    public var maximumHarmonicDeviation = 0.05
    /// Fewest consecutive reliable frames that start a voiced section. Default 7 (Harvest's step 2: 35 ms).
    public var minimumCoreFrames = 7
    /// Largest relative F0 difference to the section's edge F0 of a candidate that extends the section frame by
    /// frame. Default 0.18 (Harvest's step 3).
    public var extensionTolerance = 0.18
    /// Lowest periodicity of a candidate that extends a section. Default 0.1: below it the dips of noise are dense
    /// enough that some dip always lies within `extensionTolerance` and sections walk into fricatives (21 files:
    /// 82.1 % agreement with 0.2, 83.8 % with 0, 84.1 % with 0.1).
    public var extensionMinimumPeriodicity = 0.1
    /// Extension stops after this many consecutive frames without a fitting candidate. Default 4 (Harvest).
    public var extensionMissFrames = 4
    /// Longest extension either side (frames). Default 100 (Harvest).
    public var extensionMaximumFrames = 100
    /// A section shorter than this many periods of its mean F0 after extension is unvoiced. Default 6 (Harvest
    /// drops sections of fewer than 2200 / F0 frames of 5 ms, 11 periods; its candidates extend weak onsets further
    /// than ours, so 11 left short syllables unvoiced: 21 files 80.5 % agreement with 11, 82.1 % with 6).
    public var minimumSectionPeriods = 6.0
    /// After extension, up to this many frames the decoding voiced next to a voiced section are voiced too, F0
    /// continuous with the section: onsets and offsets whose candidates are too weak or too far apart to extend
    /// along.
    /// 0 = none. Default 10 (50 ms; Harvest extends up to 100 frames): 21 files 84.1 % agreement with 0, 85.2 % with
    /// 5, 85.3 % with 10, 85.1 % with 20; VCC2016 SM1→SF1 conversion voicing 89.4 % with 5, 91.7 % with 10, SF1→SM1
    /// 91.9 / 91.6 %.
    public var decodedEdgeFrames = 10
    /// Unvoiced gaps of at most this many frames between voiced sections are voiced, F0 interpolated in log
    /// frequency. Default 12 (Harvest's step 4 fills gaps shorter than 9 frames; its sections reach further, and
    /// 12 frames measured 83.1 % agreement against 82.6 % with 8).
    public var gapFillFrames = 12

    public init() {}

    func validate() -> Bool {
        continuityTolerance > 0 && minimumCoreFrames >= 1 && extensionTolerance >= 0 && extensionMissFrames >= 1
            && extensionMaximumFrames >= 0 && minimumSectionPeriods >= 0 && gapFillFrames >= 0
    }
}

/// Voiced/unvoiced decision from the continuity of the F0 contour, after Harvest's contour fixing (Morise 2017,
/// "Harvest: a high-performance fundamental frequency estimator from speech signals"):
/// 1. **Reliable frames**: the decoded, refined contour is kept where it is periodic enough and changes little from
///    a neighbouring frame. The depth of one frame's dip does not separate weak voice from noise (both reach
///    periodicity 0.3–0.6), but a voice's F0 moves smoothly while F0 measured on noise jumps.
/// 2. **Cores**: runs of reliable frames shorter than `minimumCoreFrames` are dropped.
/// 3. **Extension**: each core grows frame by frame along the candidate nearest its edge F0 (within
///    `extensionTolerance`), until `extensionMissFrames` frames in a row have none; sections shorter than
///    `minimumSectionPeriods` periods are then dropped.
/// 4. **Gap filling**: short unvoiced gaps between sections are voiced, F0 interpolated.
public struct VoicingDecision: Sendable {
    public var options: VoicingDecisionOptions

    public init(options: VoicingDecisionOptions = VoicingDecisionOptions()) { self.options = options }

    /// One frame's F0 candidates with their periodicities.
    public struct Candidates: Sendable {
        public var f0: [Float]
        public var periodicity: [Float]
        public init(f0: [Float], periodicity: [Float]) { self.f0 = f0; self.periodicity = periodicity }
    }

    /// The voiced contour: `f0` (0 = unvoiced) where it is a reliable section, extended along `candidates` and with
    /// short gaps filled. `periodicity` is that of `f0`'s frames.
    /// - Parameters:
    ///   - framePeriod: seconds between frames (for `minimumSectionPeriods`).
    ///   - audible: frames above the silence gate; no other frame is voiced.
    /// - Returns: the F0 per frame and, per frame, whether its F0 came from a candidate or interpolation (not `f0`).
    public func decide(f0: [Float], periodicity: [Float], harmonicDeviation: [Float]? = nil, candidates: [Candidates], audible: [Bool],
                       framePeriod: Double) -> (f0: [Float], added: [Bool]) {
        let n = f0.count
        precondition(periodicity.count == n && candidates.count == n && audible.count == n)
        let o = options
        var out = [Float](repeating: 0, count: n)
        var added = [Bool](repeating: false, count: n)
        guard n > 0 else { return (out, added) }
        // 1. Reliable frames.
        let tol = log1p(o.continuityTolerance)
        var reliable = [Bool](repeating: false, count: n)
        f0.withUnsafeBufferPointer { f in
            for i in 0..<n where f[i] > 0 && audible[i] && Double(periodicity[i]) >= o.minimumPeriodicity
                && Double(harmonicDeviation?[i] ?? 0) <= o.maximumHarmonicDeviation {
                let prev = i > 0 && f[i - 1] > 0 && abs(log(Double(f[i] / f[i - 1]))) <= tol
                let next = i + 1 < n && f[i + 1] > 0 && abs(log(Double(f[i + 1] / f[i]))) <= tol
                reliable[i] = prev || next
            }
        }
        // 2. Cores: runs of reliable frames long enough.
        var cores = [(start: Int, end: Int)]()   // inclusive
        var i = 0
        while i < n {
            guard reliable[i] else { i += 1; continue }
            var j = i
            while j + 1 < n && reliable[j + 1] { j += 1 }
            if j - i + 1 >= o.minimumCoreFrames { cores.append((i, j)) }
            i = j + 1
        }
        for c in cores { for k in c.start...c.end { out[k] = f0[k] } }
        // 3. Extension along candidates, then the length check per section.
        let extTol = o.extensionTolerance
        func bestCandidate(_ k: Int, near ref: Float) -> Float? {
            guard audible[k] else { return nil }
            var best: Float? = nil, bestError = extTol
            // The decoded contour is a candidate too (the refined value of the chosen dip).
            if f0[k] > 0 {
                let e = Double(abs(f0[k] - ref) / ref)
                if e <= bestError { best = f0[k]; bestError = e }
            }
            let c = candidates[k]
            for m in c.f0.indices where Double(c.periodicity[m]) >= o.extensionMinimumPeriodicity {
                let e = Double(abs(c.f0[m] - ref) / ref)
                if e < bestError { best = c.f0[m]; bestError = e }
            }
            return best
        }
        var sections = [(start: Int, end: Int)]()
        for (ci, c) in cores.enumerated() {
            // Forward, up to the next core.
            let forwardLimit = min(n - 1, c.end + o.extensionMaximumFrames, ci + 1 < cores.count ? cores[ci + 1].start - 1 : n - 1)
            var ref = out[c.end], misses = 0, end = c.end
            var k = c.end + 1
            while k <= forwardLimit {
                if let v = bestCandidate(k, near: ref) {
                    out[k] = v; added[k] = true; ref = v; end = k; misses = 0
                } else {
                    misses += 1
                    if misses >= o.extensionMissFrames { break }
                }
                k += 1
            }
            // Backward, down to the previous section's end.
            let backwardLimit = max(0, c.start - o.extensionMaximumFrames, sections.last.map { $0.end + 1 } ?? 0)
            ref = out[c.start]; misses = 0
            var start = c.start
            k = c.start - 1
            while k >= backwardLimit {
                if out[k] > 0 { break }
                if let v = bestCandidate(k, near: ref) {
                    out[k] = v; added[k] = true; ref = v; start = k; misses = 0
                } else {
                    misses += 1
                    if misses >= o.extensionMissFrames { break }
                }
                k -= 1
            }
            // Frames skipped inside the extension (misses) stay unvoiced here; gap filling may voice them.
            // Sections that meet are one section for the length check.
            if let last = sections.last, start <= last.end + o.extensionMissFrames {
                sections[sections.count - 1].end = end
            } else {
                sections.append((start, end))
            }
        }
        for s in sections {
            var sum = 0.0, count = 0
            for k in s.start...s.end where out[k] > 0 { sum += Double(out[k]); count += 1 }
            let meanF0 = sum / Double(max(1, count))
            if Double(s.end - s.start + 1) * framePeriod * meanF0 < o.minimumSectionPeriods {
                for k in s.start...s.end { out[k] = 0; added[k] = false }
            }
        }
        // Edges the decoding voiced next to a section, F0 kept continuous with the section (the decoded F0 where it is
        // within `extensionTolerance` of the previous frame's, else held): a contour that jumps is read as unvoiced.
        if o.decodedEdgeFrames > 0 {
            let section = out
            func walk(from edge: Int, step: Int) {
                var ref = section[edge], k = edge + step, count = 0
                while k >= 0, k < n, count < o.decodedEdgeFrames, section[k] == 0, f0[k] > 0, audible[k] {
                    let v = Double(abs(f0[k] - ref) / ref) <= extTol ? f0[k] : ref
                    out[k] = v; added[k] = true; ref = v
                    k += step; count += 1
                }
            }
            for k in 0..<n where section[k] > 0 {
                if k + 1 < n && section[k + 1] == 0 { walk(from: k, step: 1) }
                if k > 0 && section[k - 1] == 0 { walk(from: k, step: -1) }
            }
        }
        // 4. Short gaps.
        if o.gapFillFrames > 0 {
            var last = -1
            for k in 0..<n where out[k] > 0 {
                let gap = k - last - 1
                if last >= 0, gap > 0, gap <= o.gapFillFrames {
                    PitchTracker.interpolateLogF0(&out, from: last, to: k)
                    for j in (last + 1)..<k { added[j] = true }
                }
                last = k
            }
        }
        return (out, added)
    }
}
