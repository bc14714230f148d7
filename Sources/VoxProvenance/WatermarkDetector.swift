import Foundation
import VoxAudio
import VoxSpectral

/// What the detector found in one file or buffer.
///
/// `score` is the normalised correlation `Σ pᵢZᵢ / √(Σ Zᵢ²)` of the keyed sync signs `pᵢ` with the detrended
/// log-energies `Zᵢ` of the cells, folded over all repeats, at the best of the block's grid offsets. For unmarked
/// audio the signs are independent fair coins whatever the audio is, so at one offset the score is a Rademacher
/// sum with unit weight norm, whose tail has proven bounds with no model of the audio (`FalseAlarmBound`:
/// Hoeffding's `exp(−t²/2)` and Bentkus–Dzindzalieta's `3.178·P(N(0,1) ≥ t)`); over the grid offsets the union
/// bound gives `falseAlarmProbability = min(1, offsets·min(both))`.
public struct WatermarkDetection: Equatable, Sendable, Encodable {
    /// True when `score ≥ threshold`.
    public var present: Bool
    public var score: Double
    public var threshold: Double
    /// The chance that unmarked audio scores at least this high (an upper bound; 1 when the score is low).
    public var falseAlarmProbability: Double
    /// The decoded payload, when a mark is present and its CRC checks.
    public var payload: UInt32?
    /// Seconds of audio analysed.
    public var analysedSeconds: Double
    /// Where the block grid starts in the analysed audio, in seconds (0…1.024).
    public var gridOffsetSeconds: Double
    /// The key's public identifier.
    public var keyID: String

    /// The payload as a value with the voice-model and day fields.
    public var decodedPayload: WatermarkPayload? { payload.map(WatermarkPayload.init) }
}

/// Finds the watermark of a key in audio of any rate and channel count, and decodes its payload.
///
/// The audio is resampled to the analysis rate; each 16 ms frame gives the energy of every frequency cell, summed
/// over channels. Log-energies minus their moving average over ±4 frames (the host's slow envelope) and then minus
/// their moving average over ±12 frequency cells (the host's spectral envelope: broadband events such as drum hits
/// and limiter gain, but also an accompaniment's notes) are summed per grid position modulo the block, for every
/// offset of the block grid, and correlated with the keyed signs. Gain, resampling, lossy codecs,
/// noise and mixing leave the sign pattern of the log-energies in place; crops only change the grid offset.
///
/// Stream with `push(_:)` and `finish()`; memory is 104 floats per 16 ms frame (about 26 KB per second of audio).
public final class WatermarkDetector {
    public let key: WatermarkKey
    public let configuration: WatermarkConfiguration
    public let sampleRate: Double
    public let channelCount: Int

    private let layout: WatermarkLayout
    private let resampler: Resampler?
    private let analysis: StreamingSTFT
    /// Cell energies, `frequencyCells` per frame.
    private var energies: [Float] = []
    private var frames = 0

    public init(key: WatermarkKey = .vox, configuration: WatermarkConfiguration = .standard,
                sampleRate: Double, channelCount: Int) throws {
        try configuration.validate(sampleRate: sampleRate, channelCount: channelCount, doing: "look for a watermark in")
        self.key = key
        self.configuration = configuration
        self.sampleRate = sampleRate
        self.channelCount = channelCount
        layout = WatermarkLayout(key: key, configuration: configuration)
        resampler = sampleRate == configuration.analysisRate ? nil
            : try Resampler(inputRate: sampleRate, outputRate: configuration.analysisRate, channelCount: channelCount)
        analysis = StreamingSTFT(configuration: try configuration.detectionSTFT(), channelCount: channelCount,
                                 sampleRate: configuration.analysisRate)
    }

    /// Seconds of audio the detector needs: two blocks.
    public var minimumSeconds: Double {
        Double(2 * configuration.framesPerBlock * configuration.detectionHop) / configuration.analysisRate
    }

    /// Adds audio.
    public func push(_ block: AudioBuffer) {
        precondition(block.channelCount == channelCount, "channel count differs")
        collect(analysis.push(resampler?.process(block) ?? block))
    }

    /// Runs the detector on everything pushed.
    /// - Throws: `.invalidArgument` when the audio is shorter than `minimumSeconds`.
    public func finish() throws -> WatermarkDetection {
        if let r = resampler { collect(analysis.push(r.finish())) }
        let seconds = Double(analysis.samplesReceived) / configuration.analysisRate
        guard seconds >= minimumSeconds else {
            throw AudioError(.invalidArgument, String(format: "too short to look for a watermark: %.2f s (the detector needs at least %.1f s)", seconds, minimumSeconds))
        }
        return decide(seconds: seconds)
    }

    /// Detects in a whole buffer.
    public static func detect(_ buffer: AudioBuffer, key: WatermarkKey = .vox,
                              configuration: WatermarkConfiguration = .standard) throws -> WatermarkDetection {
        let d = try WatermarkDetector(key: key, configuration: configuration, sampleRate: buffer.sampleRate,
                                      channelCount: buffer.channelCount)
        var start = 0
        while start < buffer.frameCount {
            let end = min(buffer.frameCount, start + (1 << 16))
            d.push(buffer.slice(start..<end))
            start = end
        }
        return try d.finish()
    }

    /// Detects in a file, streaming it.
    public static func detect(path: String, key: WatermarkKey = .vox,
                              configuration: WatermarkConfiguration = .standard) throws -> WatermarkDetection {
        let reader = try AudioFileReader(path: path)
        let d = try WatermarkDetector(key: key, configuration: configuration,
                                      sampleRate: Double(reader.info.sampleRate), channelCount: reader.info.channelCount)
        while let block = try reader.read(maxFrames: 1 << 16) { d.push(block) }
        do {
            return try d.finish()
        } catch let e as AudioError {
            throw AudioError(e.kind, path: path, e.message)
        }
    }

    private func collect(_ spec: ComplexSpectrogram) {
        let cfg = configuration
        let k = cfg.frequencyCells, width = cfg.binsPerCell, low = cfg.lowBin
        let start = energies.count
        energies.append(contentsOf: repeatElement(0, count: spec.frameCount * k))
        energies.withUnsafeMutableBufferPointer { e in
            spec.data.withUnsafeBufferPointer { d in
                for c in 0..<spec.channelCount {
                    for t in 0..<spec.frameCount {
                        let frame = d.baseAddress! + spec.offset(channel: c, frame: t)
                        let out = e.baseAddress! + start + t * k
                        for cell in 0..<k {
                            var acc: Float = 0
                            for b in (low + cell * width)..<(low + (cell + 1) * width) {
                                acc += frame[2 * b] * frame[2 * b] + frame[2 * b + 1] * frame[2 * b + 1]
                            }
                            out[cell] += acc
                        }
                    }
                }
            }
        }
        frames += spec.frameCount
    }

    /// Detrended log-energies, one row of `frequencyCells` per frame.
    private func detrended() -> [Float] {
        let cfg = configuration
        let k = cfg.frequencyCells, n = frames
        var z = [Float](repeating: 0, count: n * k)
        // A floor 40 dB under each cell's mean energy keeps digital silence and codec holes from dominating.
        var floor = [Float](repeating: 0, count: k)
        energies.withUnsafeBufferPointer { e in
            for t in 0..<n { for c in 0..<k { floor[c] += e[t * k + c] } }
            for c in 0..<k { floor[c] = floor[c] / Float(max(n, 1)) * 1e-4 + 1e-30 }
            z.withUnsafeMutableBufferPointer { zp in
                for i in 0..<(n * k) { zp[i] = log(e[i] + floor[i % k]) }
            }
        }
        // The host's slow envelope: each cell's moving average along time. Then its spectral envelope: each frame's
        // moving average along frequency (the whole band's mean only removes broadband events; the local one also
        // removes an accompaniment's notes and formants, which vary on a coarser scale than the 62.5 Hz cells).
        Self.removeMovingAverage(&z, lines: k, lineStride: 1, length: n, stride: k, halfWidth: cfg.detrendFrames)
        Self.removeMovingAverage(&z, lines: n, lineStride: k, length: k, stride: 1, halfWidth: cfg.detrendCells)
        return z
    }

    /// Subtracts from each of `lines` sequences (element `j` of line `l` at `l·lineStride + j·stride`) its centred
    /// moving average over ±`halfWidth` elements, the window truncated at the ends.
    static func removeMovingAverage(_ x: inout [Float], lines: Int, lineStride: Int, length: Int, stride: Int,
                                    halfWidth w: Int) {
        var line = [Float](repeating: 0, count: length)
        x.withUnsafeMutableBufferPointer { xp in
            for l in 0..<lines {
                let base = l * lineStride
                for j in 0..<length { line[j] = xp[base + j * stride] }
                var sum: Double = 0
                var lo = 0, hi = 0  // window [lo, hi)
                for j in 0..<length {
                    while hi < min(length, j + w + 1) { sum += Double(line[hi]); hi += 1 }
                    while lo < j - w { sum -= Double(line[lo]); lo += 1 }
                    xp[base + j * stride] = line[j] - Float(sum / Double(hi - lo))
                }
            }
        }
    }

    private func decide(seconds: Double) -> WatermarkDetection {
        let cfg = configuration
        let k = cfg.frequencyCells, period = cfg.framesPerBlock, fpc = cfg.framesPerCell, blockCells = cfg.cellsPerBlock
        let z = detrended()
        // Fold all repeats: g[φ·k + c] = Σ over frames t ≡ φ (mod period).
        var g = [Double](repeating: 0, count: period * k)
        for t in 0..<frames {
            let phi = t % period
            for c in 0..<k { g[phi * k + c] += Double(z[t * k + c]) }
        }
        var best = (score: -Double.infinity, offset: 0)
        var cells = [Double](repeating: 0, count: blockCells * k)
        func cellSums(offset o: Int) {
            for tau in 0..<blockCells {
                for c in 0..<k {
                    var s = 0.0
                    for j in 0..<fpc { s += g[((o + tau * fpc + j) % period) * k + c] }
                    cells[tau * k + c] = s
                }
            }
        }
        for o in 0..<period {
            cellSums(offset: o)
            var num = 0.0, den = 0.0
            for i in 0..<cells.count where layout.role[i] < 0 {
                num += Double(layout.sign[i]) * cells[i]
                den += cells[i] * cells[i]
            }
            let score = den > 0 ? num / den.squareRoot() : 0
            if score > best.score { best = (score, o) }
        }
        let threshold = cfg.threshold
        let present = best.score >= threshold
        var payload: UInt32?
        if present {
            cellSums(offset: best.offset)
            var soft = [Double](repeating: 0, count: PayloadCode.codedBits)
            var energy = 0.0, count = 0
            for i in 0..<cells.count where layout.role[i] >= 0 {
                soft[Int(layout.role[i])] += Double(layout.sign[i]) * cells[i]
                energy += cells[i] * cells[i]
                count += 1
            }
            let scale = 1 / max((energy / Double(max(count, 1))).squareRoot(), 1e-30)
            payload = PayloadCode.decode(soft.map { $0 * scale }, crcSeed: key.crcSeed)
        }
        // Frame t starts at t·hop; the block's first cell holds the centres of frames o+1 … (see Watermarker).
        let gridOffset = Double(((best.offset + 1) % period) * cfg.detectionHop) / cfg.analysisRate
        let bound = FalseAlarmBound.probability(score: best.score, offsets: period)
        return WatermarkDetection(present: present, score: best.score.isFinite ? best.score : 0, threshold: threshold,
                                  falseAlarmProbability: best.score.isFinite ? bound : 1, payload: payload,
                                  analysedSeconds: seconds, gridOffsetSeconds: gridOffset, keyID: key.id)
    }
}
