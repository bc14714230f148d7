import Foundation
import VoxAudio
import VoxSpectral

/// Parameters of the watermark. Embedder and detector must use the same ones; `standard` is what Vox uses.
///
/// The mark is a keyed ±1 pattern on STFT magnitudes ("patchwork" / spread spectrum in the log-magnitude domain,
/// Bender et al. 1996; Kirovski & Malvar, "Spread-spectrum watermarking of audio signals", IEEE TSP 2003). All
/// analysis runs at a fixed internal rate, so resampling the file changes nothing in seconds or hertz.
public struct WatermarkConfiguration: Equatable, Sendable {
    /// Internal analysis rate in Hz (default 16 000: keeps the band below 8 kHz, which every attack preserves).
    public var analysisRate: Double = 16_000
    /// FFT length at the analysis rate (default 512, 32 ms).
    public var fftSize = 512
    /// Detector frame advance (default 256, 16 ms).
    public var detectionHop = 256
    /// Embedder frame advance (default 128: 75 % overlap, so the modification is smooth).
    public var embeddingHop = 128
    /// Detector frames per pattern cell in time (default 2: 32 ms cells). Measured on the attack suite: 32 ms ×
    /// 62.5 Hz cells score 1.5–2× higher than 64 ms × 125 Hz ones (more independent cells for the same energy).
    public var framesPerCell = 2
    /// FFT bins per pattern cell in frequency (default 2: 62.5 Hz).
    public var binsPerCell = 2
    /// Marked band in Hz (default 500–7000 Hz: above the bass and the vocal's fundamental, below the analysis
    /// rate's filter edge; MP3 and Vorbis keep detail there). Measured on the attack suite (25 voices, vocal 6 dB
    /// under a song's accompaniment): detected in 60 % with 300–4000 Hz, 80 % with 500–5000, 88 % with 500–7000.
    public var lowFrequencyHz: Double = 500
    public var highFrequencyHz: Double = 7000
    /// Time cells per repeated block (default 32: a 1.024 s block, so any 10 s holds nine whole repeats).
    public var cellsPerBlock = 32
    /// Share of cells that carry the key-only sync pattern used for detection (default 0.75); the rest carry the
    /// coded payload. The detection score grows with the square root of the sync cells, the payload's margin with
    /// the payload cells. Measured on 200 mixes (vocal 6 dB under an accompaniment, the other defaults): detected in
    /// 97.5 % with 0.5, 98 % with 0.65, 99 % with 0.75; detection is what a provenance check needs first.
    public var syncFraction = 0.75
    /// Target ratio of host to watermark energy, per analysis frame below 8 kHz, in dB (default 27). It sits under
    /// `minimumSNRDB` on purpose: the caps and the synthesis leave the mark several dB weaker than this, and the
    /// guard below then scales each window to exactly `minimumSNRDB`, so the whole SNR budget is used (with 33 dB
    /// the median file SNR was 37.8 dB, a third of the allowed mark energy unused). Measured on 200 mixes of
    /// converted vocals (vocal 6 dB under an accompaniment, both caps 0.9; the bench's mixes re-made by a script,
    /// where the bench itself measured 97.5 % with 33 dB): detected in 96.5 % with 33 dB,
    /// 99 % with 31, 29 or 25, 99.5 % with 27 (the highest median score: lower targets saturate the caps, so the
    /// guard's scaling shifts the mark towards loud cells).
    public var targetSNRDB: Double = 27
    /// SNR the embedder guarantees in every `snrGuardSeconds` window of the output, in dB (default 35): where the
    /// mark would exceed it, it is scaled down, so a marked file's SNR is at least this by construction.
    public var minimumSNRDB: Double = 35
    /// Length of the SNR guard's windows, in seconds (default 0.25: local enough that a quiet passage after a
    /// loud one keeps its own SNR, long enough that a window holds several 32 ms cells).
    public var snrGuardSeconds: Double = 0.25
    /// How the mark's relative strength follows a cell's energy within a frame: `α ∝ (E/Ē)^−γ` (default 0.5:
    /// the same mark energy in every cell of a frame, a flat mark spectrum under the host's). Measured: twice the
    /// score of γ = 0 (the same relative change everywhere) at the same SNR; γ = 1 loses the mark under mixing.
    public var energyExponent: Double = 0.5
    /// Largest relative magnitude decrease of a cell, `1 − α ≥ 1 − this` (default 0.9: −20 dB; quiet cells between
    /// harmonics). The mark under an accompaniment lives mostly in these cells (a large change in log energy), so a
    /// tight cap wastes them: measured at the same file SNR, 0.7 detects 96 % of 200 mixes, 0.9 97.5 %, 0.97 97.5 %.
    public var maximumRelativeGain: Double = 0.9
    /// Largest relative magnitude increase of a cell, `1 + α ≤ 1 + this` (default 2: +9.5 dB). A decrease stops at
    /// `maximumRelativeGain`, an increase need not: the deep valleys between a synthetic voice's harmonics take more
    /// mark this way. But a boost fills those valleys with noise, which the speaker judge hears. Measured on 200 mixes
    /// of converted vocals (vocal 6 dB under an accompaniment, target 27 dB, windows at 35 dB SNR): min / median
    /// score, detection, and the lowest Resemblyzer similarity (marked vs unmarked) of 25 recordings and their 25
    /// conversions: 0.9: 4.45 / 13.0, 99.5 %, 0.9984 (6 of the voices); 1.5: 4.89 / 14.1, 99.5 %, 0.9956; 2: 5.15 /
    /// 14.5, 100 %, 0.9945 (recordings 0.9957); 3: 0.9909 (6 voices); 9 (+20 dB, the cut's mirror): 6.28 / 16.0,
    /// 100 %, 0.9851 (6 voices).
    public var maximumRelativeBoost: Double = 2
    /// Per-file false-alarm probability the default threshold guarantees (default 1e-4, a bound for any audio).
    public var falseAlarmProbability: Double = 1e-4
    /// Detector: half-width of the moving average removed along time, in frames (default 4, ±64 ms). Measured on
    /// 200 mixes (25 voices × 8 accompaniments, vocal RMS 6 dB under the accompaniment's), with each frame's band
    /// mean removed: ±2 frames detect 91 %, ±3 94 %, ±4 94.5 %, ±6 91.5 %, ±10 85.5 % (a short window follows the
    /// accompaniment's level changes; too short a one removes the 2-frame cells themselves).
    public var detrendFrames = 4
    /// Detector: half-width of the moving average removed along frequency, in cells (default 12, ±750 Hz). On the
    /// same mixes with ±4 frames: ±8 cells 95.5 %, ±12 96 %, ±16 95.5 %, the whole band's mean 94.5 %.
    public var detrendCells = 12

    public init() {}

    /// What Vox uses.
    public static let standard = WatermarkConfiguration()

    var binWidthHz: Double { analysisRate / Double(fftSize) }
    var lowBin: Int { Int((lowFrequencyHz / binWidthHz).rounded(.up)) }
    /// Frequency cells in the band.
    var frequencyCells: Int { max(1, (Int(highFrequencyHz / binWidthHz) - lowBin) / binsPerCell) }
    /// Detector frames per block: the number of grid offsets searched.
    var framesPerBlock: Int { framesPerCell * cellsPerBlock }
    /// Analysis samples per time cell.
    var samplesPerCell: Int { framesPerCell * detectionHop }

    /// The score above which a mark is reported: the smallest at which the proven bound over the block's grid
    /// offsets (`FalseAlarmBound`) is at most the configured false-alarm probability (4.90 at 1e-4 and 64 offsets).
    public var threshold: Double {
        FalseAlarmBound.threshold(falseAlarmProbability: falseAlarmProbability, offsets: framesPerBlock)
    }

    /// Checks the configuration and that audio at `sampleRate` can hold the band.
    func validate(sampleRate: Double, channelCount: Int, doing action: String) throws {
        try validate()
        guard sampleRate >= 2 * highFrequencyHz, channelCount > 0 else {
            throw AudioError(.invalidArgument, "cannot \(action) \(channelCount) channels at \(sampleRate) Hz: the mark needs a rate of at least \(Int(2 * highFrequencyHz)) Hz")
        }
    }

    func validate() throws {
        guard fftSize >= 64, detectionHop > 0, embeddingHop > 0, detectionHop % embeddingHop == 0,
              framesPerCell > 0, binsPerCell > 0, cellsPerBlock > 1, syncFraction > 0, syncFraction < 1,
              lowFrequencyHz > 0, highFrequencyHz < analysisRate / 2, lowFrequencyHz < highFrequencyHz,
              maximumRelativeGain > 0, maximumRelativeGain < 1, maximumRelativeBoost > 0,
              falseAlarmProbability > 0, falseAlarmProbability < 1,
              snrGuardSeconds > 0, minimumSNRDB.isFinite,
              detrendFrames > 0, detrendCells > 0
        else { throw AudioError(.invalidArgument, "invalid watermark configuration") }
        let payloadCells = Int(Double(cellsPerBlock * frequencyCells) * (1 - syncFraction))
        guard payloadCells >= PayloadCode.codedBits else {
            throw AudioError(.invalidArgument, "watermark block too small for the payload: \(payloadCells) cells for \(PayloadCode.codedBits) coded bits")
        }
    }
}

/// The 32 bits a watermark carries: by Vox's convention a 16-bit voice-model identifier and a 16-bit day stamp.
public struct WatermarkPayload: Equatable, Sendable, CustomStringConvertible {
    public var value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// A voice-model identifier (e.g. from `voiceModelNumber(forID:)`) and the day of `date`.
    public init(voiceModel: UInt16, date: Date = Date()) {
        value = UInt32(voiceModel) << 16 | UInt32(WatermarkPayload.dayStamp(date))
    }

    /// The high 16 bits.
    public var voiceModel: UInt16 { UInt16(value >> 16) }
    /// The low 16 bits: days since 2020-01-01 (UTC), so the stamp lasts until 2199.
    public var day: UInt16 { UInt16(value & 0xFFFF) }
    /// The day stamp as a date (`yyyy-MM-dd`).
    public var dayString: String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: WatermarkPayload.epoch.addingTimeInterval(Double(day) * 86_400))
    }

    /// `0x` and 8 hex digits.
    public var hex: String {
        let s = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - s.count) + s
    }

    public var description: String { "\(hex) (voice model \(voiceModel), \(dayString))" }

    static let epoch = Date(timeIntervalSince1970: 1_577_836_800)  // 2020-01-01T00:00:00Z

    static func dayStamp(_ date: Date) -> UInt16 {
        UInt16(clamping: max(0, Int(date.timeIntervalSince(epoch) / 86_400)))
    }

    /// A 16-bit number for a voice-model identifier string (the first bits of its SHA-256).
    public static func voiceModelNumber(forID id: String) -> UInt16 {
        UInt16(SHA256.hex(Data(id.utf8)).prefix(4), radix: 16)!
    }

    /// Parses `0x…` hex or decimal.
    public init?(parsing text: String) {
        let t = text.lowercased()
        let v = t.hasPrefix("0x") ? UInt32(t.dropFirst(2), radix: 16) : UInt32(t)
        guard let v else { return nil }
        value = v
    }
}

/// The keyed pattern of one block: per cell (time cell τ, frequency cell k, index τ·K + k), a sign and a role.
struct WatermarkLayout: Sendable {
    let timeCells: Int
    let frequencyCells: Int
    /// ±1 per cell.
    let sign: [Float]
    /// −1: sync cell; else the index of the coded payload bit the cell carries.
    let role: [Int32]
    let syncCellCount: Int

    init(key: WatermarkKey, configuration cfg: WatermarkConfiguration) {
        timeCells = cfg.cellsPerBlock
        frequencyCells = cfg.frequencyCells
        let n = timeCells * frequencyCells
        var signs = key.generator(1)
        sign = (0..<n).map { _ in signs.next() & 1 == 0 ? 1 : -1 }
        // A keyed permutation spreads sync cells and each coded bit's cells over the whole block.
        var order = Array(0..<n)
        var shuffle = key.generator(2)
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, shuffle.below(i + 1)) }
        syncCellCount = Int((Double(n) * cfg.syncFraction).rounded())
        var r = [Int32](repeating: -1, count: n)
        for (rank, cell) in order.enumerated() where rank >= syncCellCount {
            r[cell] = Int32((rank - syncCellCount) % PayloadCode.codedBits)
        }
        role = r
    }

    /// The ±1 value each cell is modulated with for `codedBits`.
    func modulation(codedBits: [UInt8]) -> [Float] {
        (0..<sign.count).map { i in
            let r = role[i]
            return r < 0 ? sign[i] : (codedBits[Int(r)] == 1 ? sign[i] : -sign[i])
        }
    }
}

extension WatermarkConfiguration {
    func embeddingSTFT() throws -> STFTConfiguration {
        try STFTConfiguration(fftSize: fftSize, hopSize: embeddingHop, window: .hann, center: true)
    }

    func detectionSTFT() throws -> STFTConfiguration {
        try STFTConfiguration(fftSize: fftSize, hopSize: detectionHop, window: .hann, center: false)
    }
}
