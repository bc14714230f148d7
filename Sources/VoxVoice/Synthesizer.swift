import Foundation
import VoxAudio
import VoxSpectral

/// Settings of the vocoder synthesiser.
public struct SynthesizerOptions: Sendable, Equatable {
    /// Seed of the noise (aperiodic) excitation: the same features and seed give the same samples on any machine.
    /// Default 1.
    public var seed: UInt64 = 1
    /// Pulse rate in unvoiced stretches (Hz): noise is shaped in chunks this long, as WORLD does. Default 500.
    public var unvoicedF0 = 500.0
    /// The voiced filter is zero-phase up to this harmonic of the frame's F0 and minimum-phase from
    /// `zeroPhaseHarmonics + phaseRampHarmonics` up, its phase scaled by a smoothstep in between; 0 = minimum-phase
    /// throughout (WORLD). Default 4.
    ///
    /// Why: a minimum-phase filter's phase at a harmonic changes whenever the envelope changes from frame to frame,
    /// and that change adds to the harmonic's instantaneous frequency. The F0 measured on the take already contains
    /// its own vocal tract's share, so a minimum-phase filter adds a second one: the resynthesised F0 wobbles by
    /// ±10–30 cents around the F0 rendered, at the rate of formant movement (Harvest on `vox resynth` of VCC2016
    /// SF1/SM1 100026–100027 vs the F0 rendered: median 10.0–15.8 cents minimum-phase throughout, 2.3–5.4 with 4,
    /// 2.3–5.3 with 6 or 8). The first harmonics are resolved by the ear, whose pitch they carry while their relative
    /// phases are not heard (resynthesis MCD and Resemblyzer similarity of `tools/eval/resynth_eval.py`, medians per
    /// set, unchanged within ±0.02 dB and ±0.004); the unresolved harmonics above keep the minimum phase of a
    /// natural glottal pulse.
    public var zeroPhaseHarmonics = 4.0
    /// Width (in harmonics) of the ramp from zero to minimum phase above `zeroPhaseHarmonics`. Default 4.
    public var phaseRampHarmonics = 4.0

    public init() {}
}

/// Waveform synthesis from F0, spectral envelope and aperiodicity (WORLD, Morise et al. 2016, IEICE Trans. E99-D).
///
/// Pulses are placed where the integrated F0 phase wraps (with their fractional position kept as a linear-phase
/// delay). Each pulse's response is a filter of the periodic power `envelope·(1 − ap²)` times `sqrt(period)`
/// (minimum-phase, except zero-phase at the first harmonics: `SynthesizerOptions.zeroPhaseHarmonics`), plus a noise burst one period long shaped by the minimum-phase filter of `envelope·ap²`;
/// responses are overlap-added. Each frame's two minimum-phase filters are computed once (not once per pulse,
/// as WORLD does) and interpolated between frames as complex spectra; the fractional delay is a phasor
/// recurrence, so a pulse costs two FFTs and a few multiplies per bin. The output has exactly `features.sampleCount` samples at the features' rate,
/// resampled when another rate is asked for.
///
/// `synthesize` runs the same engine as `StreamingSynthesizer` on one block, so streamed and whole-signal
/// output agree (up to the order of floating-point sums).
public struct Synthesizer: Sendable {
    public var options: SynthesizerOptions

    public init(options: SynthesizerOptions = SynthesizerOptions()) { self.options = options }

    /// Mono audio from `features`, at `sampleRate` (default: the features' own rate).
    public func synthesize(_ features: VoiceFeatures, sampleRate outputRate: Double? = nil) throws -> AudioBuffer {
        guard features.frameCount > 0, features.sampleCount >= 0, features.firstFrame == 0 else {
            throw AudioError(.invalidArgument, "no frames to synthesise")
        }
        let stream = try StreamingSynthesizer(options: options, sampleRate: features.sampleRate,
                                              framePeriod: features.framePeriod, outputRate: outputRate)
        var y = try stream.push(features)
        y += try stream.finish(sampleCount: features.sampleCount)
        return AudioBuffer(channels: [y], sampleRate: outputRate ?? features.sampleRate)
    }

    struct Pulse { var time: Double; var voiced: Bool; var length: Int }

    /// Spectrum (interleaved complex) of a Hann bump over the whole transform `[0, n)`, centred on the pulse
    /// (index `n/2`), with unit sum: subtracting `dc` times it removes a response's DC (WORLD's DC remover).
    static func dcRemover(fftSize n: Int) -> [Float] {
        let fft = RealFFT(size: n, measure: false)
        let t = fft.timeSamples
        var sum: Float = 0
        for j in 0..<(n / 2) {
            let v = Float(0.5 - 0.5 * cos(2 * Double.pi * Double(j + 1) / Double(n + 1)))
            t[j] = v
            t[n - 1 - j] = v
            sum += 2 * v
        }
        for j in 0..<n { t[j] /= sum }
        fft.transformForward()
        return Array(fft.spectrumValues)
    }

    /// One pulse's response (periodic + aperiodic) into `fft.timeSamples`, time 0 at index `n/2 + delay`.
    /// `f` holds the frames around the pulse (a block of the stream: indices below are the block's).
    static func response(pulse: Pulse, fractionalDelay: Double, index: Int, seed: UInt64, features f: VoiceFeatures,
                         cache: FrameSpectra, fft: RealFFT, noiseFFT: RealFFT, dcRemover: [Float]) {
        let n = fft.size, half = n / 2
        let T = f.firstFrame + f.frameCount
        let pos = pulse.time / f.sampleRate / f.framePeriod
        let g0 = max(0, min(T - 1, Int(pos))), g1 = min(T - 1, g0 + 1)
        let w = Float(g0 == g1 ? 0 : max(0, min(1, pos - Double(g0))))
        let i0 = g0 - f.firstFrame, i1 = g1 - f.firstFrame
        // Noise burst one period long, zero mean.
        let length = min(pulse.length, half)
        var rng = GaussianNoise(seed: seed &+ UInt64(index) &* 0x2545_F491_4F6C_DD1D)
        let nt = noiseFFT.timeSamples
        var mean = 0.0
        for j in 0..<length { let v = rng.next(); nt[j] = Float(v); mean += v }
        let m = Float(mean / Double(length))
        for j in 0..<length { nt[j] -= m }
        for j in length..<n { nt[j] = 0 }
        noiseFFT.transformForward()
        let noise = noiseFFT.spectrumValues
        let a0 = cache.aperiodic(i0), a1 = cache.aperiodic(i1)
        let m0 = cache.aperiodicMagnitude(i0), m1 = cache.aperiodicMagnitude(i1)
        let s = fft.spectrumValues
        // Aperiodic part: the frames' filters interpolated, times the noise, delayed by n/2 (a factor (−1)^k).
        for k in 0...half {
            var hr = (1 - w) * a0[2 * k] + w * a1[2 * k]
            var hi = (1 - w) * a0[2 * k + 1] + w * a1[2 * k + 1]
            // Interpolating complex values shrinks them where the frames' phases differ: restore the interpolated
            // magnitude (otherwise noise comes out ~0.4 dB quiet).
            let m = (hr * hr + hi * hi).squareRoot()
            let g = m > 1e-30 ? ((1 - w) * m0[k] + w * m1[k]) / m : 0
            let sign: Float = k & 1 == 0 ? g : -g
            hr *= sign; hi *= sign
            let nr = noise[2 * k], ni = noise[2 * k + 1]
            s[2 * k] = hr * nr - hi * ni
            s[2 * k + 1] = hr * ni + hi * nr
        }
        if pulse.voiced {
            let v0 = f.f0[i0] > 0, v1 = f.f0[i1] > 0
            // Both frames voiced: interpolate; one voiced: its filter faded by the power weight it would get in a
            // linear interpolation with a zero periodic part.
            let (j0, j1, wp, gain): (Int, Int, Float, Float)
            if v0 && v1 { (j0, j1, wp, gain) = (i0, i1, w, 1) }
            else if v0 { (j0, j1, wp, gain) = (i0, i0, 0, (1 - w).squareRoot()) }
            else { (j0, j1, wp, gain) = (i1, i1, 0, w.squareRoot()) }
            let p0 = cache.periodic(j0), p1 = cache.periodic(j1)
            let pm0 = cache.periodicMagnitude(j0), pm1 = cache.periodicMagnitude(j1)
            let amp = Double(Float(pulse.length).squareRoot() * gain)
            // Delay by n/2 + the fractional position: a phasor rotating by −θ per bin (recurrence, no sin/cos per bin).
            let theta = 2 * Double.pi * (fractionalDelay + Double(half)) / Double(n)
            let stepR = cos(theta), stepI = -sin(theta)
            var zr = amp, zi = 0.0  // bin 0
            var dc: Float = 0
            for k in 0...half {
                var hr = (1 - wp) * p0[2 * k] + wp * p1[2 * k]
                var hi = (1 - wp) * p0[2 * k + 1] + wp * p1[2 * k + 1]
                let m = (hr * hr + hi * hi).squareRoot()
                let g = m > 1e-30 ? ((1 - wp) * pm0[k] + wp * pm1[k]) / m : 0
                hr *= g; hi *= g
                let fr = Float(zr), fi = Float(zi)
                let pr = hr * fr - hi * fi, pi = hr * fi + hi * fr
                if k == 0 { dc = pr }
                s[2 * k] += pr
                s[2 * k + 1] += pi
                let nr = zr * stepR - zi * stepI
                zi = zr * stepI + zi * stepR
                zr = nr
            }
            // Remove the pulse's DC with a smooth bump centred on the pulse and as long as the transform (WORLD's DC
            // remover). A bump only after the pulse (tried before) leaves the sub-20 Hz part of the DC in place: 11 dB
            // more 0–20 Hz energy than WORLD and Resemblyzer similarity 0.959 instead of 0.971 on VCTK.
            for k in 0...half {
                s[2 * k] -= dc * dcRemover[2 * k]
                s[2 * k + 1] -= dc * dcRemover[2 * k + 1]
            }
        }
        s[1] = 0
        s[2 * half + 1] = 0
        fft.transformInverse()
    }
}

/// Minimum-phase filter spectra (complex, interleaved) of each frame's periodic and aperiodic parts, computed on
/// demand and kept for the few frames a run of pulses needs.
final class FrameSpectra {
    let f: VoiceFeatures
    let fft: RealFFT
    let bins: Int
    let zeroPhaseHarmonics: Float, phaseRampHarmonics: Float
    private var slots: [(frame: Int, periodic: UnsafeMutablePointer<Float>, aperiodic: UnsafeMutablePointer<Float>,
                         periodicMagnitude: UnsafeMutablePointer<Float>, aperiodicMagnitude: UnsafeMutablePointer<Float>)] = []
    private var next = 0
    private let ap: UnsafeMutablePointer<Float>
    private let logAmp: UnsafeMutablePointer<Float>

    init(features: VoiceFeatures, options: SynthesizerOptions) {
        f = features
        zeroPhaseHarmonics = Float(max(0, options.zeroPhaseHarmonics))
        phaseRampHarmonics = Float(max(0, options.phaseRampHarmonics))
        fft = RealFFT(size: features.fftSize, measure: false)
        bins = features.binCount
        ap = .allocate(capacity: bins)
        logAmp = .allocate(capacity: bins)
        for _ in 0..<4 {
            slots.append((-1, .allocate(capacity: 2 * bins), .allocate(capacity: 2 * bins), .allocate(capacity: bins),
                          .allocate(capacity: bins)))
        }
    }

    func deallocate() {
        for s in slots {
            s.periodic.deallocate(); s.aperiodic.deallocate(); s.periodicMagnitude.deallocate(); s.aperiodicMagnitude.deallocate()
        }
        ap.deallocate(); logAmp.deallocate()
    }

    func periodic(_ frame: Int) -> UnsafeMutablePointer<Float> { slots[load(frame)].periodic }
    func aperiodic(_ frame: Int) -> UnsafeMutablePointer<Float> { slots[load(frame)].aperiodic }
    func periodicMagnitude(_ frame: Int) -> UnsafeMutablePointer<Float> { slots[load(frame)].periodicMagnitude }
    func aperiodicMagnitude(_ frame: Int) -> UnsafeMutablePointer<Float> { slots[load(frame)].aperiodicMagnitude }

    private func load(_ frame: Int) -> Int {
        if let i = slots.firstIndex(where: { $0.frame == frame }) { return i }
        let slot = next
        next = (next + 1) % slots.count
        slots[slot].frame = frame
        let voiced = f.f0[frame] > 0
        f.bandAperiodicity.withUnsafeBufferPointer { b in
            VoiceFeatures.expandAperiodicity(bands: UnsafeBufferPointer(rebasing: b[(frame * f.bandCount)..<((frame + 1) * f.bandCount)]),
                                             frequencies: f.aperiodicityFrequencies, sampleRate: f.sampleRate, fftSize: f.fftSize, into: ap)
        }
        f.envelope.withUnsafeBufferPointer { e in
            let env = e.baseAddress! + frame * bins
            // Aperiodic: envelope·ap² (unvoiced: the whole envelope).
            for k in 0..<bins {
                let r = voiced ? max(0.001, min(1, ap[k])) : 1
                logAmp[k] = 0.5 * logf(max(1e-30, env[k] * r * r) + 1e-30)
            }
            minimumPhase(logAmp, into: slots[slot].aperiodic, magnitude: slots[slot].aperiodicMagnitude)
            if voiced {
                for k in 0..<bins {
                    let r = max(0.001, min(0.999999, ap[k]))
                    logAmp[k] = 0.5 * logf(env[k] * (1 - r * r) + 1e-30)
                }
                // Zero phase up to `zeroPhaseHarmonics`, then a smoothstep to minimum phase (see the option).
                let zeroPhaseBins: (full: Int, ramp: Float)
                if zeroPhaseHarmonics > 0 {
                    let harmonicBins = f.f0[frame] * Float(f.fftSize) / Float(f.sampleRate)
                    zeroPhaseBins = (Int(zeroPhaseHarmonics * harmonicBins), max(1e-6, phaseRampHarmonics * harmonicBins))
                } else {
                    zeroPhaseBins = (-1, 0)
                }
                minimumPhase(logAmp, into: slots[slot].periodic, magnitude: slots[slot].periodicMagnitude,
                             zeroPhaseBins: zeroPhaseBins)
            }
        }
        return slot
    }

    /// Spectrum of the minimum-phase filter with log amplitude `logAmp` (folded real cepstrum → complex log
    /// spectrum → exp). Bins `0...zeroPhaseBins.full` get zero phase, the next `zeroPhaseBins.ramp` bins the minimum
    /// phase scaled by a smoothstep from 0 to 1.
    private func minimumPhase(_ logAmp: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>,
                              magnitude: UnsafeMutablePointer<Float>, zeroPhaseBins: (full: Int, ramp: Float) = (-1, 0)) {
        let n = fft.size, half = n / 2
        let t = fft.timeSamples
        for k in 0...half { t[k] = logAmp[k] }
        for k in 1..<half { t[n - k] = logAmp[k] }
        fft.transformForward()
        let s = fft.spectrumValues
        let scale = 1 / Float(n)
        // Cepstrum c[q] = Re S[q] / n (even sequence); fold the negative quefrencies onto the positive ones.
        t[0] = s[0] * scale
        for q in 1..<half { t[q] = 2 * s[2 * q] * scale }
        t[half] = s[2 * half] * scale
        for q in (half + 1)..<n { t[q] = 0 }
        fft.transformForward()
        for k in 0...half {
            let mag = expf(logAmp[k])
            var phase = s[2 * k + 1]
            if k <= zeroPhaseBins.full {
                phase = 0
            } else if Float(k - zeroPhaseBins.full) < zeroPhaseBins.ramp {
                let x = Float(k - zeroPhaseBins.full) / zeroPhaseBins.ramp
                phase *= x * x * (3 - 2 * x)
            }
            magnitude[k] = mag
            out[2 * k] = mag * cosf(phase)
            out[2 * k + 1] = mag * sinf(phase)
        }
    }
}

/// Synthesis of a stream of feature blocks with bounded memory: the same samples as `Synthesizer.synthesize`
/// on the joined blocks (equal up to the order of floating-point sums), whatever the block sizes.
///
/// The state carried from block to block is what the whole-signal synthesis carries from sample to sample: the
/// F0 phase and the next sample to examine, the pulses found but not yet rendered (a pulse's noise burst is as
/// long as the distance to the next pulse, and its seed is its index in the whole signal), the overlap-add tail
/// of the rendered responses (up to one FFT long), the few frames those pulses still need, and the resampler to
/// the output rate. A sample is handed out once no later pulse can reach it.
public final class StreamingSynthesizer {
    public let options: SynthesizerOptions
    /// Rate of the features (Hz).
    public let sampleRate: Double
    /// Time between frames (s).
    public let framePeriod: Double
    /// Rate of the returned samples (Hz).
    public let outputRate: Double
    /// Samples (at the features' rate) handed out so far, before resampling.
    public private(set) var samplesDone = 0

    private var window: VoiceFeatures?     // frames still needed, up to the last one pushed
    private var framesPushed = 0
    private var nextSample = 0             // next sample whose F0 phase increment is still to be added
    private var phase = 0.0
    private var pending: [Synthesizer.Pulse] = []
    private var pendingIndex = 0           // index in the whole signal of pending[0]
    private var tail: [Float] = []         // overlap-add sums of samples samplesDone ..< samplesDone + tail.count
    private var dcRemover: [Float] = []
    private let resampler: Resampler?
    private var finished = false

    /// - Throws: `.invalidArgument` for a non-positive rate or frame period.
    public init(options: SynthesizerOptions = SynthesizerOptions(), sampleRate: Double, framePeriod: Double,
                outputRate: Double? = nil) throws {
        guard sampleRate > 0, framePeriod > 0, (outputRate ?? 1) > 0 else {
            throw AudioError(.invalidArgument, "synthesis needs positive rates and frame period")
        }
        self.options = options
        self.sampleRate = sampleRate
        self.framePeriod = framePeriod
        self.outputRate = outputRate ?? sampleRate
        resampler = self.outputRate == sampleRate ? nil
            : try Resampler(inputRate: sampleRate, outputRate: self.outputRate, channelCount: 1)
    }

    /// Adds the next block (`block.firstFrame` must be the number of frames pushed so far) and returns the samples
    /// (at `outputRate`) that are now final.
    public func push(_ block: VoiceFeatures) throws -> [Float] {
        guard !finished else { throw AudioError(.invalidArgument, "push after finish") }
        guard block.sampleRate == sampleRate, block.framePeriod == framePeriod else {
            throw AudioError(.invalidArgument, "a block's rate or frame period differs from the stream's")
        }
        guard block.firstFrame == framesPushed else {
            throw AudioError(.invalidArgument, "block starts at frame \(block.firstFrame), expected \(framesPushed)")
        }
        if block.frameCount == 0 { return [] }
        if var w = window {
            guard w.fftSize == block.fftSize, w.aperiodicityFrequencies == block.aperiodicityFrequencies else {
                throw AudioError(.invalidArgument, "a block's FFT size or aperiodicity bands differ from the stream's")
            }
            window = nil  // one reference: append in place
            w.append(block)
            window = w
        } else {
            window = block
            dcRemover = Synthesizer.dcRemover(fftSize: block.fftSize)
        }
        framesPushed += block.frameCount
        return advance(finalCount: nil)
    }

    /// Ends the stream: the signal is `sampleCount` samples long at the features' rate (the last block's
    /// `sampleCount` for analysed features). Returns the remaining samples; the total handed out is exactly
    /// `sampleCount` at the features' rate, or `round(sampleCount · outputRate / sampleRate)` at another rate.
    public func finish(sampleCount: Int) throws -> [Float] {
        guard !finished else { throw AudioError(.invalidArgument, "finish called twice") }
        guard framesPushed > 0, sampleCount >= samplesDone else {
            throw AudioError(.invalidArgument, "no frames to synthesise")
        }
        finished = true
        var out = advance(finalCount: sampleCount)
        if let r = resampler { out += r.finish().channels[0] }
        return out
    }

    /// Finds pulses, renders those whose length is known and hands out the samples no later pulse reaches. With
    /// `finalCount`, the stream has ended: everything up to `finalCount` samples is rendered and handed out.
    private func advance(finalCount: Int?) -> [Float] {
        guard let f = window else { return [] }
        let n = f.fftSize, half = n / 2
        findPulses(f, until: finalCount)
        // A pulse's length is the distance to the next one; the last pulse of the signal gets 5 ms.
        for p in pending.indices where pending[p].length == 0 {
            if p + 1 < pending.count {
                pending[p].length = max(1, Int(pending[p + 1].time) - Int(pending[p].time))
            } else if finalCount != nil {
                pending[p].length = max(1, Int(sampleRate / 200))
            }
        }
        let ready = pending.prefix { $0.length > 0 }.count
        if ready > 0 { render(count: ready, features: f) }
        pending.removeFirst(ready)
        pendingIndex += ready
        // Later pulses lie at or after the first pending one (or the next sample to examine); their responses
        // start half an FFT before.
        let end: Int
        if let count = finalCount {
            end = count
        } else {
            let earliest = pending.first.map { Int($0.time.rounded(.down)) } ?? (nextSample - 1)
            end = max(samplesDone, earliest - half)
        }
        var out = [Float](repeating: 0, count: end - samplesDone)
        let have = min(out.count, tail.count)
        out.withUnsafeMutableBufferPointer { o in tail.withUnsafeBufferPointer { t in for i in 0..<have { o[i] = t[i] } } }
        tail.removeFirst(have)
        samplesDone = end
        trimWindow()
        guard let r = resampler else { return out }
        return r.process(AudioBuffer(channels: [out], sampleRate: sampleRate)).channels[0]
    }

    /// Pulse times (in samples) from the F0 contour: a pulse wherever the integrated phase passes a multiple of 2π.
    /// Before the end of the stream, a sample is examined only once both frames around it have been pushed.
    private func findPulses(_ f: VoiceFeatures, until finalCount: Int?) {
        let fs = sampleRate, T = framesPushed, first = f.firstFrame
        let lowest = fs / Double(f.fftSize) + 1
        let limit = finalCount ?? Int.max
        // Locals in the per-sample loop (stored properties of a class cost an access check each time).
        var n = nextSample, phase = self.phase, found = [Synthesizer.Pulse]()
        defer { nextSample = n; self.phase = phase; pending += found }
        let period = framePeriod, unvoicedF0 = options.unvoicedF0
        f.f0.withUnsafeBufferPointer { f0 in
            while n < limit {
                let pos = Double(n) / fs / period
                if finalCount == nil && Int(pos) + 1 >= T { break }
                let i0 = min(T - 1, Int(pos)), i1 = min(T - 1, i0 + 1)
                let w = i0 == i1 ? 0 : pos - Double(i0)
                let a0 = Double(f0[i0 - first]), b0 = Double(f0[i1 - first])
                let a = a0 >= lowest ? a0 : 0, b = b0 >= lowest ? b0 : 0
                let voiced = (a > 0 ? 1 - w : 0) + (b > 0 ? w : 0) > 0.5
                // Inside a voiced stretch interpolate; at its edges hold the voiced neighbour (no droop towards 0).
                let freq = !voiced ? unvoicedF0 : (a > 0 && b > 0 ? a * (1 - w) + b * w : max(a, b))
                let inc = 2 * Double.pi * freq / fs
                phase += inc
                if phase >= 2 * .pi {
                    phase -= 2 * .pi
                    found.append(Synthesizer.Pulse(time: Double(n) - phase / inc, voiced: voiced, length: 0))
                }
                n += 1
            }
        }
    }

    /// Renders `pending[0..<count]` into the overlap-add tail, in parallel: each job overlap-adds into its own
    /// span, and the spans are summed afterwards.
    private func render(count pulseCount: Int, features f: VoiceFeatures) {
        let n = f.fftSize
        let synthesisOptions = options
        let seed = options.seed, base0 = pendingIndex
        let jobs = max(1, min(2 * ProcessInfo.processInfo.activeProcessorCount, pulseCount / 64))
        let dcRemover = self.dcRemover
        var parts = [(start: Int, samples: [Float])](repeating: (0, []), count: jobs)
        parts.withUnsafeMutableBufferPointer { pb in
            let partOut = SharedPointer(pb.baseAddress!)
            pending.withUnsafeBufferPointer { ppb in
                let pp = SharedPointer(UnsafeMutablePointer(mutating: ppb.baseAddress!))
                DispatchQueue.concurrentPerform(iterations: jobs) { job in
                    let range = (pulseCount * job / jobs)..<(pulseCount * (job + 1) / jobs)
                    guard !range.isEmpty else { partOut.pointer[job] = (0, []); return }
                    let first = Int(pp.pointer[range.lowerBound].time) - n / 2
                    let last = Int(pp.pointer[range.upperBound - 1].time) + n
                    var local = [Float](repeating: 0, count: last - first + 1)
                    let cache = FrameSpectra(features: f, options: synthesisOptions)
                    let fft = RealFFT(size: n, measure: false), noiseFFT = RealFFT(size: n, measure: false)
                    let scale = 1 / Float(n)
                    local.withUnsafeMutableBufferPointer { lb in
                        for p in range {
                            let pulse = pp.pointer[p]
                            let base = Int(pulse.time.rounded(.down))
                            let frac = pulse.time - Double(base)
                            Synthesizer.response(pulse: pulse, fractionalDelay: frac, index: base0 + p, seed: seed,
                                                 features: f, cache: cache, fft: fft, noiseFFT: noiseFFT, dcRemover: dcRemover)
                            let t = fft.timeSamples
                            let offset = base - n / 2 - first
                            for j in 0..<n {
                                let k = offset + j
                                if k >= 0 && k < lb.count { lb[k] += t[j] * scale }
                            }
                        }
                    }
                    cache.deallocate()
                    partOut.pointer[job] = (first, local)
                }
            }
        }
        // Sum the spans into the tail (samples before the start of the signal are dropped; none lie before
        // `samplesDone`, which is why those samples could be handed out).
        for part in parts where !part.samples.isEmpty {
            let end = part.start + part.samples.count - samplesDone
            if end > tail.count { tail += [Float](repeating: 0, count: end - tail.count) }
            part.samples.withUnsafeBufferPointer { s in
                tail.withUnsafeMutableBufferPointer { t in
                    let lo = max(0, part.start - samplesDone)
                    for i in lo..<end { t[i] += s[i + samplesDone - part.start] }
                }
            }
        }
    }

    /// Drops the frames that no pending or future pulse needs (one before the earliest such pulse is kept).
    private func trimWindow() {
        guard let w = window else { return }
        let earliest = pending.first?.time ?? Double(nextSample - 1)
        let keep = max(w.firstFrame, min(framesPushed - 1, Int(max(0, earliest) / sampleRate / framePeriod) - 1))
        if keep > w.firstFrame { window = w.frames((keep - w.firstFrame)..<w.frameCount) }
    }
}
