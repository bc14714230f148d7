import Foundation
import VoxAudio
import VoxSpectral

/// Embeds a keyed watermark carrying a 32-bit payload into audio of any rate and channel count.
///
/// How: the host is resampled to the analysis rate (16 kHz) and analysed with a 512-point STFT at 75 % overlap.
/// In the band (500–7000 Hz by default) every bin of a pattern cell (32 ms × 62.5 Hz) gets the watermark component
/// `α·m·X`, where `m = ±1` is the cell's keyed sign (sync cells) or sign × coded payload bit (payload cells) and
/// `X` the host's own coefficient: multiplying magnitudes by `1 ± α` hides the mark under the signal (no energy
/// where the host is silent) and keeps the phase. Within a frame `α ∝ E^−½` per cell (equal mark energy per cell),
/// scaled so that the frame's host-to-mark energy ratio is `targetSNRDB`, then capped: a cut (`m = −1`) at
/// `maximumRelativeGain` (−20 dB), a boost (`m = +1`) at `maximumRelativeBoost` (+9.5 dB). The mark, band-limited
/// below 8 kHz, is resampled back to the host's rate and added, scaled down so that every `snrGuardSeconds` window
/// keeps `minimumSNRDB` (the target lies under it, so most windows sit exactly there: the whole budget is used):
/// the host above the band and all its other detail are untouched. The pattern
/// repeats every block (1.024 s) on an absolute time grid, so any excerpt holds whole repeats.
///
/// Stream with `push(_:)` / `finish()` (bounded memory, any block sizes, the same result as `embed(_:)`).
public final class Watermarker {
    public let key: WatermarkKey
    public let payload: WatermarkPayload
    public let configuration: WatermarkConfiguration
    public let sampleRate: Double
    public let channelCount: Int

    private let modulation: [Float]
    private let toAnalysis: Resampler?
    private let fromAnalysis: Resampler?
    private let analysis: StreamingSTFT
    private let synthesis: StreamingISTFT
    /// Host samples waiting for their watermark samples.
    private var pending: [[Float]]
    /// Watermark samples waiting for a whole SNR-guard window of host samples.
    private var pendingMark: [[Float]]
    /// Samples per SNR-guard window at the file's rate.
    private let guardWindow: Int
    private var analysisFrames = 0
    private var finished = false

    /// - Throws: `.invalidArgument` for a bad configuration, rate or channel count.
    public init(key: WatermarkKey = .vox, payload: WatermarkPayload, configuration: WatermarkConfiguration = .standard,
                sampleRate: Double, channelCount: Int) throws {
        try configuration.validate(sampleRate: sampleRate, channelCount: channelCount, doing: "watermark")
        self.key = key
        self.payload = payload
        self.configuration = configuration
        self.sampleRate = sampleRate
        self.channelCount = channelCount
        let layout = WatermarkLayout(key: key, configuration: configuration)
        modulation = layout.modulation(codedBits: PayloadCode.encode(payload.value, crcSeed: key.crcSeed))
        let rate = configuration.analysisRate
        if sampleRate == rate {
            toAnalysis = nil
            fromAnalysis = nil
        } else {
            toAnalysis = try Resampler(inputRate: sampleRate, outputRate: rate, channelCount: channelCount)
            fromAnalysis = try Resampler(inputRate: rate, outputRate: sampleRate, channelCount: channelCount)
        }
        let stft = try configuration.embeddingSTFT()
        // Estimated FFTW plans: measuring the 512-point plans cost 0.2 s CPU per process, more than marking a
        // 30 s vocal; for a power of two the estimated plan runs about as fast.
        analysis = StreamingSTFT(configuration: stft, channelCount: channelCount, sampleRate: rate, measure: false)
        synthesis = StreamingISTFT(configuration: stft, channelCount: channelCount, sampleRate: rate, measure: false)
        pending = Array(repeating: [], count: channelCount)
        pendingMark = pending
        guardWindow = max(1, Int((configuration.snrGuardSeconds * sampleRate).rounded()))
    }

    /// Marks a whole buffer.
    /// - Throws: `.invalidArgument` (see `init`), `.empty` for digital silence (nothing can hide a mark).
    public static func embed(_ buffer: AudioBuffer, key: WatermarkKey = .vox, payload: WatermarkPayload,
                             configuration: WatermarkConfiguration = .standard) throws -> AudioBuffer {
        let w = try Watermarker(key: key, payload: payload, configuration: configuration,
                                sampleRate: buffer.sampleRate, channelCount: buffer.channelCount)
        var out = AudioBuffer(frameCount: 0, channelCount: buffer.channelCount, sampleRate: buffer.sampleRate)
        let block = 1 << 16
        var start = 0
        while start < buffer.frameCount {
            let end = min(buffer.frameCount, start + block)
            out.append(w.push(buffer.slice(start..<end)))
            start = end
        }
        out.append(w.finish())
        if w.markedFrames == 0 { throw AudioError(.empty, "the audio is silent: a watermark cannot hide in digital silence") }
        return out
    }

    /// Analysis frames that received a mark so far (0 for digital silence).
    public private(set) var markedFrames = 0

    /// Adds host samples; returns the marked samples that are ready (they lag the input by a few thousand frames).
    public func push(_ block: AudioBuffer) -> AudioBuffer {
        precondition(!finished, "push after finish")
        precondition(block.channelCount == channelCount, "channel count differs")
        for c in 0..<channelCount { pending[c].append(contentsOf: block.channels[c]) }
        let low = toAnalysis?.process(block) ?? block
        var spec = analysis.push(low)
        mark(&spec)
        let mark = synthesis.push(spec)
        return emit(fromAnalysis?.process(mark) ?? mark, final: false)
    }

    /// Flushes everything: the output then has exactly as many frames as the input.
    public func finish() -> AudioBuffer {
        precondition(!finished, "finish called twice")
        finished = true
        var spec = analysis.push(toAnalysis?.finish() ?? AudioBuffer(frameCount: 0, channelCount: channelCount,
                                                                       sampleRate: configuration.analysisRate))
        mark(&spec)
        var w = synthesis.push(spec)
        var tail = analysis.finish()
        mark(&tail)
        w.append(synthesis.push(tail))
        w.append(synthesis.finish(length: analysis.samplesReceived))
        var up = fromAnalysis?.process(w) ?? w
        if let r = fromAnalysis { up.append(r.finish()) }
        return emit(up, final: true)
    }

    /// Adds `mark` to the oldest pending host samples and returns them, a whole number of SNR-guard windows at a
    /// time (at the end: everything, the mark cut or padded with zeros to the host's length, since the round trip
    /// through two resamplers may differ by a frame).
    ///
    /// The guard: in each window of `snrGuardSeconds` on the file's absolute sample grid, the mark is scaled down
    /// where its energy exceeds the host's divided by `minimumSNRDB`, so every window, and hence the whole file,
    /// has at least that SNR whatever the host (a dense spectrum takes the full per-frame target; the cap and the
    /// synthesis leave most music 1–3 dB above it, and the guard then changes nothing).
    private func emit(_ mark: AudioBuffer, final: Bool) -> AudioBuffer {
        for c in 0..<channelCount { pendingMark[c].append(contentsOf: mark.channels[c]) }
        let ready = min(pendingMark[0].count, pending[0].count)
        let n = final ? pending[0].count : ready - ready % guardWindow
        // 0.01 dB above the minimum: the float rounding of `host + gain·mark` must not tip a window that the
        // guard fills exactly (the default target fills most windows) to 34.9999999 dB.
        let limit = pow(10, -(configuration.minimumSNRDB + 0.01) / 10)
        var out = (0..<channelCount).map { c in Array(pending[c][0..<n]) }
        var start = 0
        while start < n {
            let end = min(n, start + guardWindow)
            var hostEnergy = 0.0, markEnergy = 0.0
            for c in 0..<channelCount {
                for i in start..<end {
                    hostEnergy += Double(out[c][i]) * Double(out[c][i])
                    if i < pendingMark[c].count { markEnergy += Double(pendingMark[c][i]) * Double(pendingMark[c][i]) }
                }
            }
            let gain = markEnergy > limit * hostEnergy ? Float((limit * hostEnergy / markEnergy).squareRoot()) : 1
            for c in 0..<channelCount {
                for i in start..<min(end, pendingMark[c].count) { out[c][i] += gain * pendingMark[c][i] }
            }
            start = end
        }
        for c in 0..<channelCount {
            pending[c].removeFirst(n)
            pendingMark[c].removeFirst(min(n, pendingMark[c].count))
        }
        return AudioBuffer(channels: out, sampleRate: sampleRate)
    }

    /// Replaces each frame of `spec` by its watermark component (zero outside the band).
    private func mark(_ spec: inout ComplexSpectrogram) {
        let cfg = configuration
        let bins = spec.binCount
        let low = cfg.lowBin, k = cfg.frequencyCells, width = cfg.binsPerCell
        let high = low + k * width
        let ratio = pow(10, -cfg.targetSNRDB / 10)
        let maxCut = cfg.maximumRelativeGain, maxBoost = cfg.maximumRelativeBoost, gamma = cfg.energyExponent
        var weights = [Double](repeating: 1, count: k)
        let hop = cfg.embeddingHop, cellSamples = cfg.samplesPerCell, blockCells = cfg.cellsPerBlock
        let first = analysisFrames
        let frameCount = spec.frameCount, channels = spec.channelCount
        var marked = 0
        spec.data.withUnsafeMutableBufferPointer { data in
            modulation.withUnsafeBufferPointer { mod in
                for c in 0..<channels {
                    for t in 0..<frameCount {
                        let frame = data.baseAddress! + 2 * ((c * frameCount + t) * bins)
                        var total = 0.0, band = 0.0
                        for b in 0..<bins {
                            let p = Double(frame[2 * b] * frame[2 * b] + frame[2 * b + 1] * frame[2 * b + 1])
                            total += p
                            if b >= low && b < high { band += p }
                        }
                        // Centred frames: frame i is centred on sample i·hop; its cell is the one holding its centre.
                        let cell = ((first + t) * hop / cellSamples) % blockCells
                        guard band > 0 else {
                            for i in 0..<(2 * bins) { frame[i] = 0 }
                            continue
                        }
                        marked += 1
                        // Relative gain per frequency cell, ∝ (E/Ē)^−γ, scaled so that the mark's energy in the
                        // frame is `ratio` times the frame's (then capped: a cut at −20 dB, a boost at +9.5 dB).
                        var markEnergy = 0.0
                        for j in 0..<k {
                            var e = 0.0
                            for b in (low + j * width)..<(low + (j + 1) * width) {
                                e += Double(frame[2 * b] * frame[2 * b] + frame[2 * b + 1] * frame[2 * b + 1])
                            }
                            let w = gamma == 0 ? 1 : pow(max(e, 1e-12 * band) / (band / Double(k)), -gamma)
                            weights[j] = w
                            markEnergy += w * w * e
                        }
                        let scale = (ratio * total / markEnergy).squareRoot()
                        for b in 0..<bins {
                            if b >= low && b < high {
                                let j = (b - low) / width
                                let m = mod[cell * k + j]
                                let g = Float(min(m > 0 ? maxBoost : maxCut, scale * weights[j])) * m
                                frame[2 * b] *= g
                                frame[2 * b + 1] *= g
                            } else {
                                frame[2 * b] = 0
                                frame[2 * b + 1] = 0
                            }
                        }
                    }
                }
            }
        }
        markedFrames += marked
        analysisFrames += spec.frameCount
    }
}
