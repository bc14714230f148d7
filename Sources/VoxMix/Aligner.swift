import Foundation
import VoxAudio
import VoxSpectral

/// Settings of `Aligner`.
public struct AlignmentOptions: Sendable {
    /// Largest offset searched, either way (seconds). Default 30.
    public var maximumOffsetSeconds: Double = 30
    /// The waveform refinement is kept only when its normalised correlation reaches this (0…1); below it (e.g.
    /// a different singer or a converted voice, whose waveforms do not match) the envelope result stands.
    /// Default 0.25.
    public var minimumWaveformCorrelation: Double = 0.25

    public init() {}
}

/// Where a take sits relative to a reference.
public struct AlignmentResult: Sendable, Encodable, Equatable {
    /// How late the take is relative to the reference (ms; negative: early).
    public var lagMilliseconds: Double
    /// The offset to give the take in a mix so that it lines up: `-lagMilliseconds`.
    public var offsetMilliseconds: Double
    /// The envelope (coarse) estimate of the lag (ms).
    public var envelopeLagMilliseconds: Double
    /// Normalised correlation at the envelope peak (0…1).
    public var envelopeCorrelation: Double
    /// Normalised correlation at the waveform peak (0…1), nil when not refined.
    public var waveformCorrelation: Double?
    /// "waveform" (sub-sample) or "envelope" (about a millisecond).
    public var method: String
}

/// Finds the time offset between a take and a reference (e.g. a new vocal and the separated original vocal).
///
/// Two stages:
/// 1. Envelopes at ~5.8 ms hops (256 frames at 44.1 kHz): spectral flux of log-compressed magnitudes (onsets) and
///    log energy, each zero-mean and unit-norm, cross-correlated by FFT over ±`maximumOffsetSeconds`; the peak of
///    their average is refined by parabolic interpolation. Robust to timbre (another singer, a converted voice)
///    and noise.
/// 2. Waveforms: the 16 loudest 0.75 s stretches of the take are cross-correlated with the
///    reference around the envelope lag (±2 hops), their normalised correlations summed, and the peak
///    interpolated (parabola through the three highest points) to a fraction of a sample. Kept when the summed
///    correlation shows the two are the same performance.
public enum Aligner {
    public static func align(take: AudioBuffer, reference: AudioBuffer, options: AlignmentOptions = AlignmentOptions()) throws -> AlignmentResult {
        let rate = reference.sampleRate
        let ref = ChannelMixer.remix(reference, to: 1).channels[0]
        let tk = ChannelMixer.remix(try Resampler.resample(take, to: rate), to: 1).channels[0]
        let fftSize = 1 << Int((log2(rate * 0.023)).rounded())  // 1024 at 44.1/48 kHz
        let hop = fftSize / 4
        guard ref.count >= fftSize * 2, tk.count >= fftSize * 2 else {
            throw AudioError(.invalidArgument, "too short to align: take and reference need at least \(String(format: "%.2f", Double(fftSize * 2) / rate)) s each")
        }
        let (refFlux, refEnergy) = envelopes(ref, fftSize: fftSize, hop: hop)
        let (tkFlux, tkEnergy) = envelopes(tk, fftSize: fftSize, hop: hop)
        guard refEnergy.contains(where: { $0 != 0 }), tkEnergy.contains(where: { $0 != 0 }) else {
            throw AudioError(.invalidArgument, "cannot align silence: the take or the reference has no signal")
        }
        let maxLag = Int(options.maximumOffsetSeconds * rate / Double(hop)) + 1
        let fluxCorr = crossCorrelation(normalised(tkFlux), normalised(refFlux), maximumLag: maxLag)
        let energyCorr = crossCorrelation(normalised(tkEnergy), normalised(refEnergy), maximumLag: maxLag)
        let corr = zip(fluxCorr, energyCorr).map { ($0 + $1) / 2 }
        let (peakIndex, envelopeValue) = argmax(corr)
        let envelopeLag = (Double(peakIndex - maxLag) + parabolicOffset(corr, peakIndex)) * Double(hop)
        var result = AlignmentResult(lagMilliseconds: envelopeLag / rate * 1000, offsetMilliseconds: -envelopeLag / rate * 1000,
                                     envelopeLagMilliseconds: envelopeLag / rate * 1000, envelopeCorrelation: Double(envelopeValue),
                                     waveformCorrelation: nil, method: "envelope")
        if let (lag, value) = refine(take: tk, reference: ref, around: envelopeLag, window: 2 * hop) {
            result.waveformCorrelation = value
            if value >= options.minimumWaveformCorrelation {
                result.lagMilliseconds = lag / rate * 1000
                result.offsetMilliseconds = -lag / rate * 1000
                result.method = "waveform"
            }
        }
        return result
    }

    /// Aligns two files (read whole: a vocal of several minutes is tens of MB).
    public static func align(takePath: String, referencePath: String, options: AlignmentOptions = AlignmentOptions()) throws -> AlignmentResult {
        let take = try AudioFileReader.read(path: takePath)
        let reference = try AudioFileReader.read(path: referencePath)
        return try align(take: take, reference: reference, options: options)
    }

    /// Onset (spectral flux of log(1 + 10·|X|)) and log-energy envelopes, one value per hop.
    static func envelopes(_ x: [Float], fftSize: Int, hop: Int) -> (flux: [Float], energy: [Float]) {
        let fft = RealFFT(size: fftSize)
        let window = WindowFunction.hann.samples(size: fftSize)
        let frames = (x.count - fftSize) / hop + 1
        var flux = [Float](repeating: 0, count: frames)
        var energy = [Float](repeating: 0, count: frames)
        var previous = [Float](repeating: 0, count: fftSize / 2 + 1)
        var current = previous
        var frame = [Float](repeating: 0, count: fftSize)
        x.withUnsafeBufferPointer { xs in
            for t in 0..<frames {
                var e: Float = 0
                for i in 0..<fftSize {
                    let v = xs[t * hop + i]
                    e += v * v
                    frame[i] = v * window[i]
                }
                energy[t] = log10(e / Float(fftSize) + 1e-10)
                let spectrum = fft.forward(frame)
                var f: Float = 0
                for k in 0..<current.count {
                    let re = spectrum[2 * k], im = spectrum[2 * k + 1]
                    current[k] = log(1 + 10 * (re * re + im * im).squareRoot())
                    f += max(0, current[k] - previous[k])
                }
                flux[t] = t == 0 ? 0 : f
                swap(&previous, &current)
            }
        }
        // Digital silence would give the log-energy floor: flatten it to the quietest real level.
        let floor = energy.filter { $0 > -9.9 }.min() ?? 0
        energy = energy.map { max($0, floor) }
        return (flux, energy)
    }

    /// Zero mean, unit Euclidean norm (all zeros stays zeros).
    static func normalised(_ x: [Float]) -> [Float] {
        let mean = x.reduce(0, +) / Float(x.count)
        let centred = x.map { $0 - mean }
        let norm = centred.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? centred.map { $0 / norm } : centred
    }

    /// c[k] = Σ a[t]·b[t − τ] for τ = k − maximumLag, k in 0…2·maximumLag (FFT, zero-padded: no wrap-around).
    static func crossCorrelation(_ a: [Float], _ b: [Float], maximumLag: Int) -> [Float] {
        var size = oneOffFFTMinimumSize
        while size < a.count + b.count { size <<= 1 }
        let fft = RealFFT(size: size)
        func padded(_ v: [Float]) -> [Float] { v + [Float](repeating: 0, count: size - v.count) }
        let fa = fft.forward(padded(a)), fb = fft.forward(padded(b))
        var product = [Float](repeating: 0, count: fa.count)
        for k in 0..<(fa.count / 2) {
            let ar = fa[2 * k], ai = fa[2 * k + 1], br = fb[2 * k], bi = fb[2 * k + 1]
            product[2 * k] = ar * br + ai * bi       // a · conj(b)
            product[2 * k + 1] = ai * br - ar * bi
        }
        let c = fft.inverse(product)
        return (-maximumLag...maximumLag).map { tau in
            guard tau < a.count, -tau < b.count else { return -1 }
            return c[(tau + size) % size]
        }
    }

    /// RealFFT measures plans for sizes up to 2¹⁶ (seconds of planning, worth it for an STFT that runs thousands
    /// of times) and estimates larger ones (instant); the few transforms of an alignment use the latter.
    static let oneOffFFTMinimumSize = 1 << 17

    static func argmax(_ v: [Float]) -> (Int, Float) {
        var best = 0
        for i in 1..<v.count where v[i] > v[best] { best = i }
        return (best, v[best])
    }

    /// Where the parabola through v[i−1], v[i], v[i+1] peaks, relative to i (−0.5…0.5).
    static func parabolicOffset(_ v: [Float], _ i: Int) -> Double {
        guard i > 0, i + 1 < v.count else { return 0 }
        let a = Double(v[i - 1]), b = Double(v[i]), c = Double(v[i + 1])
        let denominator = a - 2 * b + c
        guard denominator < 0 else { return 0 }
        return max(-0.5, min(0.5, 0.5 * (a - c) / denominator))
    }

    /// Sample-level lag near `lag0` (frames) from the loudest stretches of the take, and its normalised correlation.
    static func refine(take: [Float], reference: [Float], around lag0: Double, window: Int) -> (Double, Double)? {
        let segment = 32768 * 3 / 4
        let center = Int(lag0.rounded())
        // Plain waveforms: pre-emphasis would sharpen the peak but lets broadband noise swamp a voice's harmonics.
        let a = take, b = reference
        // Candidate stretches: take[t ..< t + segment] with reference[t - center - window ..< t - center + segment + window].
        var candidates = [(start: Int, energy: Float)]()
        var t = 0
        while t + segment <= a.count {
            let r0 = t - center - window
            if r0 >= 0 && r0 + segment + 2 * window <= b.count {
                var e: Float = 0
                for i in t..<(t + segment) { e += a[i] * a[i] }
                candidates.append((t, e))
            }
            t += segment / 2
        }
        let chosen = candidates.filter { $0.energy > 0 }.sorted { $0.energy > $1.energy }.prefix(16)
        guard !chosen.isEmpty else { return nil }
        var sum = [Double](repeating: 0, count: 2 * window + 1)
        var weight = 0.0
        for (start, energy) in chosen {
            let x = Array(a[start..<(start + segment)])
            let r0 = start - center - window
            let y = Array(b[r0..<(r0 + segment + 2 * window)])
            let yEnergy = y.reduce(0) { $0 + $1 * $1 }
            guard yEnergy > 0 else { continue }
            // c[τ] = Σ y[t]·x[t − τ] = Σ x[i]·y[i + τ], τ in 0…2·window: lag center + window − τ.
            let c = Array(crossCorrelation(y, x, maximumLag: 2 * window)[(2 * window)...])
            // Normalise by the segment energies (the reference's over the stretch that lines up on average).
            let norm = Double((energy * yEnergy * Float(segment) / Float(y.count)).squareRoot())
            for k in 0...(2 * window) { sum[2 * window - k] += Double(c[k]) / norm }
            weight += 1
        }
        guard weight > 0 else { return nil }
        let values = sum.map { Float($0 / weight) }
        let (i, v) = argmax(values)
        // Index i ↔ lag center − window + i.
        let lag = Double(center - window + i) + parabolicOffset(values, i)
        return (lag, Double(v))
    }
}
