import CEbur128
import Foundation
import VoxAudio

/// Loudness and peak figures of a signal (ITU-R BS.1770-4 / EBU R128, as computed by libebur128).
public struct LoudnessMeasurement: Sendable, Equatable, Encodable {
    /// Gated integrated loudness (LUFS); −∞ when every 400 ms block is below the −70 LUFS absolute gate.
    public var integratedLUFS: Double
    /// Loudness range (LU, EBU Tech 3342); nil when it was not measured.
    public var loudnessRangeLU: Double?
    /// Highest absolute sample value over all channels (dBFS); −∞ for digital silence.
    public var samplePeakDBFS: Double
    /// Highest 4×-oversampled peak over all channels (dBTP, BS.1770-4 Annex 2 method with a 48-tap-per-phase
    /// interpolator; see `TruePeakMeter`); −∞ for digital silence.
    public var truePeakDBTP: Double
    /// Frames measured.
    public var frameCount: Int64
}

/// Streaming loudness meter: libebur128 for loudness, loudness range and sample peak, `TruePeakMeter` for the
/// true peak (libebur128's own 4× resampler is slower than all the rest of a mix together, and its 12-tap phases
/// read bright, heavily limited material about 0.1 dB higher than ffmpeg's 192 kHz resampler does; the 48-tap
/// interpolator agrees with ffmpeg).
///
/// Feed blocks of any length with `add(_:)`, then read `measurement`. Channels are weighted as BS.1770-4 says:
/// mono and stereo as L/R; six channels as 5.1 (L R C LFE Ls Rs, LFE excluded, surrounds +1.5 dB); a mono file is
/// counted once, as libebur128 and ffmpeg do. Memory is constant except for loudness-range (it keeps one value per
/// 100 ms of audio when `loudnessRange` is on: 36 000 doubles per hour).
public final class LoudnessMeter {
    public let channelCount: Int
    public let sampleRate: Double
    /// Whether the loudness range is measured (it costs a short-term loudness every 100 ms).
    public let measuresLoudnessRange: Bool
    private var state: UnsafeMutablePointer<ebur128_state>?
    private let peakMeter: TruePeakMeter?
    private var scratch: [Float] = []
    public private(set) var frameCount: Int64 = 0

    /// - Parameters:
    ///   - truePeak: measure the true peak (4× oversampling, the costliest part; without it the "true peak" is the
    ///     sample peak).
    ///   - loudnessRange: measure the loudness range.
    /// - Throws: `.invalidArgument` for rates or channel counts libebur128 refuses.
    public init(channelCount: Int, sampleRate: Double, truePeak: Bool = true, loudnessRange: Bool = true) throws {
        guard channelCount >= 1, channelCount <= 64, sampleRate >= 16, sampleRate <= 2_822_400,
              sampleRate == sampleRate.rounded() else {
            throw AudioError(.invalidArgument, "cannot measure loudness of \(channelCount) channels at \(sampleRate) Hz")
        }
        self.channelCount = channelCount
        self.sampleRate = sampleRate
        measuresLoudnessRange = loudnessRange
        var mode = Int32(EBUR128_MODE_I.rawValue) | Int32(EBUR128_MODE_SAMPLE_PEAK.rawValue)
        peakMeter = truePeak ? TruePeakMeter(channelCount: channelCount) : nil
        if loudnessRange { mode |= Int32(EBUR128_MODE_LRA.rawValue) }
        guard let s = ebur128_init(UInt32(channelCount), UInt(sampleRate), mode) else {
            throw AudioError(.invalidArgument, "libebur128 cannot measure \(channelCount) channels at \(sampleRate) Hz")
        }
        state = s
        if channelCount != 6 {
            // libebur128's default map is 5.1 ordering; for anything else all channels count as front L/R
            // (BS.1770 weights 1.0), except that a third or fourth channel must not be read as centre/LFE.
            for c in 0..<channelCount {
                ebur128_set_channel(s, UInt32(c), Int32(c % 2 == 0 ? EBUR128_LEFT.rawValue : EBUR128_RIGHT.rawValue))
            }
        }
    }

    deinit { ebur128_destroy(&state) }

    /// Adds a block (same channel count as the meter).
    public func add(_ buffer: AudioBuffer) {
        precondition(buffer.channelCount == channelCount, "channel count differs from the meter's")
        let n = buffer.frameCount * channelCount
        if n == 0 { return }
        if scratch.count < n { scratch = [Float](repeating: 0, count: n) }
        scratch.withUnsafeMutableBufferPointer { dst in
            buffer.interleave(into: dst)
            _ = ebur128_add_frames_float(state, dst.baseAddress, buffer.frameCount)
        }
        peakMeter?.add(buffer)
        frameCount += Int64(buffer.frameCount)
    }

    /// Gated integrated loudness so far (LUFS), −∞ below the absolute gate.
    public var integratedLUFS: Double {
        var v = -Double.infinity
        ebur128_loudness_global(state, &v)
        return v
    }

    /// The figures so far.
    public var measurement: LoudnessMeasurement {
        var samplePeak = 0.0, lra = 0.0
        for c in 0..<channelCount {
            var v = 0.0
            if ebur128_sample_peak(state, UInt32(c), &v) == Int32(EBUR128_SUCCESS.rawValue) { samplePeak = max(samplePeak, v) }
        }
        let truePeak = Double(peakMeter?.currentPeak ?? 0)
        let hasRange = measuresLoudnessRange && ebur128_loudness_range(state, &lra) == Int32(EBUR128_SUCCESS.rawValue)
        return LoudnessMeasurement(integratedLUFS: integratedLUFS, loudnessRangeLU: hasRange ? lra : nil,
                                   samplePeakDBFS: 20 * log10(samplePeak),
                                   truePeakDBTP: 20 * log10(max(truePeak, samplePeak)), frameCount: frameCount)
    }

    /// Measures a whole file, streaming. `progress` receives (frames read, frames expected).
    public static func measure(path: String, blockFrames: Int = 1 << 16,
                               progress: (Int64, Int64) -> Void = { _, _ in }) throws -> LoudnessMeasurement {
        try measure(reader: try AudioFileReader(path: path), blockFrames: blockFrames, progress: progress)
    }

    /// Measures what is left to read of an open file (all of it, for a new reader).
    public static func measure(reader: AudioFileReader, blockFrames: Int = 1 << 16,
                               progress: (Int64, Int64) -> Void = { _, _ in }) throws -> LoudnessMeasurement {
        let meter = try LoudnessMeter(channelCount: reader.info.channelCount, sampleRate: Double(reader.info.sampleRate))
        while let block = try reader.read(maxFrames: blockFrames) {
            meter.add(block)
            progress(reader.framesRead, reader.info.frameCount)
        }
        return meter.measurement
    }
}
