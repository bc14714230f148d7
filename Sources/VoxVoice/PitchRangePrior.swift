import Foundation

/// A voice's F0 range from its own loud, clearly periodic frames, as a soft prior on the F0 candidates.
///
/// A voice stays within about an octave of its typical pitch, and its loud, clearly periodic frames show where that
/// is. Weak frames (word edges, creak, noise between words) have difference-function dips that are not the voice's
/// F0 at all, or an octave off it: hum or room rumble at 50–100 Hz under a 190 Hz voice, the subharmonic of creaky
/// voice, the alias of a narrow resonance near 900 Hz. The Viterbi's continuity cost alone does not stop a run of
/// such frames. The prior charges each candidate outside the range, widened by a margin, in proportion to its
/// distance in octaves (as a pitch jump is charged), so that where a frame also has a candidate in the range, a run
/// of frames far from the voice's range needs evidence to win; within the range nothing changes.
struct PitchRangePrior {
    /// Lowest and highest F0 (Hz) that cost nothing.
    var lowHz: Double, highHz: Double

    /// The range from a first decoding: the energy-weighted `quantile` and 1 − `quantile` of log F0 over voiced
    /// frames with periodicity at least `minimumPeriodicity`, widened by `marginOctaves` on both sides. Weighting by
    /// energy keeps quiet hum-only stretches, which can be very periodic, out of the estimate. Nil when too few
    /// frames qualify (`minimumFrames`).
    static func estimate(f0: [Float], periodicity: [Float], energy: [Double], quantile: Double, minimumPeriodicity: Float,
                         marginOctaves: Double, minimumFrames: Int = 20) -> PitchRangePrior? {
        var points = [(logF0: Double, weight: Double)]()
        for t in f0.indices where f0[t] > 0 && periodicity[t] >= minimumPeriodicity && energy[t] > 0 {
            points.append((log2(Double(f0[t])), energy[t]))
        }
        guard points.count >= minimumFrames else { return nil }
        points.sort { $0.logF0 < $1.logF0 }
        let total = points.reduce(0) { $0 + $1.weight }
        func weighted(_ q: Double) -> Double {
            var sum = 0.0
            for p in points {
                sum += p.weight
                if sum >= q * total { return p.logF0 }
            }
            return points[points.count - 1].logF0
        }
        return PitchRangePrior(lowHz: pow(2, weighted(quantile) - marginOctaves),
                               highHz: pow(2, weighted(1 - quantile) + marginOctaves))
    }

    /// Distance (octaves) of `f0` outside the range; 0 inside.
    func octavesOutside(_ f0: Double) -> Double {
        f0 < lowHz ? log2(lowHz / f0) : (f0 > highHz ? log2(f0 / highHz) : 0)
    }

    /// `cands` with each candidate's probability multiplied by e^(−`natsPerOctave` · octaves outside the range),
    /// relative to the frame's least-charged candidate: the prior only chooses among a frame's candidates. The frame's
    /// voiced probability is kept, so the voicing decision is not the prior's (charging a frame whose every candidate
    /// lies outside made weak voice unvoiced: VCC2016 resynthesis MCD 2.38 → 2.55 dB, Resemblyzer 0.950 → 0.929).
    func applied(to cands: [[PitchTracker.Candidate]], natsPerOctave: Double) -> [[PitchTracker.Candidate]] {
        cands.map { frame in
            guard !frame.isEmpty else { return frame }
            let voiced = frame[0].frameVoiced ?? frame.reduce(0) { $0 + $1.probability }
            let cost = frame.map { natsPerOctave * octavesOutside(Double($0.f0)) }
            let least = cost.min()!
            return frame.indices.map { i in
                var c = frame[i]
                c.probability *= Float(exp(least - cost[i]))
                c.frameVoiced = voiced
                return c
            }
        }
    }
}
