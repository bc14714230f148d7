import Dispatch
import Foundation
import VoxAudio

/// How a mix is rendered.
public struct MixOptions: Sendable {
    /// Bus and output sample rate (Hz); nil takes the first track's.
    public var sampleRate: Int?
    /// Bus and output channels: 2 (default) or 1.
    public var channelCount = 2
    /// Integrated loudness target (LUFS, ITU-R BS.1770-4); nil mixes at unity (no loudness gain). Default −14
    /// (the level streaming services normalise to).
    public var loudnessLUFS: Double? = -14
    /// True-peak limiter; nil for none. Default: ceiling −1 dBTP.
    public var limiter: LimiterOptions? = LimiterOptions()
    /// Output container and encoding. Default 24-bit WAV.
    public var format: AudioFileFormat = try! AudioFileFormat(container: .wav, encoding: .pcm24)
    /// TPDF dither when quantising to integer PCM (default true). It is skipped when every sample already lies on
    /// the output grid (integer sources at the output depth, summed at unity without resampling or gain).
    public var dither = true
    /// How close to the target the final integrated loudness must be (LU); limiting lowers loudness, so the gain
    /// is re-solved until it is this close. Default 0.02 (pyloudnorm reads a few hundredths below libebur128).
    public var loudnessToleranceLU = 0.02
    /// Most rendering passes spent reaching the loudness target. Default 10 (pushing a dynamic song 10 dB
    /// louder takes 4 to 6).
    public var maximumPasses = 10
    /// Measure the output's loudness, range and true peak for the report (default true). Without a loudness target
    /// and limiter nothing depends on them, and skipping them saves about a quarter of a plain mix's work.
    public var measuresOutput = true
    /// Frames per processing block (memory is bounded by a few of these per track).
    public var blockFrames = 1 << 16
    /// Tags and fields stored in the output (e.g. a provenance record); nil for none.
    public var metadata: AudioMetadata? = nil
    /// Length of the output in bus frames; nil (default) ends the mix with its longest track. A cover keeps the
    /// song's length whatever the take's.
    public var frameCount: Int64? = nil

    public init() {}
}

/// Progress of a mix: the stage and the fraction of it done.
public struct MixProgress: Sendable {
    /// "mixing" (reading and summing the tracks), then "rendering" (gain, limiter, output), maybe repeated.
    public var stage: String
    /// 1-based rendering pass.
    public var pass: Int
    public var fraction: Double
}

/// What a mix did.
public struct MixReport: Sendable, Encodable {
    public struct Track: Sendable, Encodable {
        public var source: String
        public var sampleRate: Int
        public var channels: Int
        public var gainDB: Double
        public var pan: Double
        public var offsetMilliseconds: Double
        public var muted: Bool
        public var resampled: Bool
    }
    public var output: String
    public var sampleRate: Int
    public var channels: Int
    public var encoding: String
    public var container: String
    public var frames: Int64
    public var durationSeconds: Double
    public var tracks: [Track]
    /// Integrated loudness of the summed bus before any gain (LUFS); nil for a plain unity mix.
    public var busLoudnessLUFS: Double?
    public var targetLoudnessLUFS: Double?
    /// Gain applied to the bus (dB).
    public var gainDB: Double
    /// The output as written (before quantisation); nil when not measured (`measuresOutput` off).
    public var loudness: LoudnessMeasurement?
    public var truePeakCeilingDBTP: Double?
    /// Largest gain reduction of the limiter (dB, ≤ 0) and the share of frames it touched.
    public var limiterMaxReductionDB: Double
    public var limitedFraction: Double
    /// Rendering passes (one unless limiting moved the loudness).
    public var passes: Int
    public var dithered: Bool
    public var clippedSamples: Int
}

/// Mixes tracks into a finished file: resampling, panning, offsets, loudness normalisation, true-peak limiting,
/// dither, atomic write.
///
/// Streaming: tracks are read block by block (decoded in parallel), so memory does not grow with length. With a
/// loudness target or a limiter, the first pass sums the tracks into a temporary float file next to the output while measuring
/// the bus's integrated loudness; each rendering pass then reads it back through gain, limiter and writer while
/// measuring the result. When the limiter moved the loudness by more than the tolerance, the gain is re-solved
/// (secant steps on loudness(gain), which rises monotonically) and the output rendered again; the partial output
/// of a discarded pass never appears. With neither, one pass renders straight to the output.
///
/// `vox cover` and other callers use this directly, with `.buffer` sources for audio already in memory.
public enum Mixer {
    public static func mix(_ tracks: [MixTrack], to outputPath: String, options: MixOptions = MixOptions(),
                           progress: (MixProgress) -> Void = { _ in }) throws -> MixReport {
        guard !tracks.isEmpty else { throw AudioError(.invalidArgument, "nothing to mix: give at least one track") }
        guard options.channelCount == 1 || options.channelCount == 2 else {
            throw AudioError(.invalidArgument, "the mix bus has 1 or 2 channels, not \(options.channelCount)")
        }
        if let r = options.sampleRate, !(8000...384_000).contains(r) {
            throw AudioError(.invalidArgument, "sample rate \(r) Hz is out of range (8000 to 384000)")
        }
        if let l = options.loudnessLUFS, !(l >= -70 && l <= 0) {
            throw AudioError(.invalidArgument, "loudness target \(l) LUFS is out of range (-70 to 0)")
        }
        let inputs = tracks.compactMap { t -> String? in if case .file(let p) = t.source { p } else { nil } }
        try OutputPath.refuseInputs(output: outputPath, inputs: inputs)

        // Open everything first: a bad input fails before anything is written.
        let firstRate: Double
        switch tracks[0].source {
        case .file(let p): firstRate = Double(try AudioFileReader(path: p).info.sampleRate)
        case .buffer(let b, _): firstRate = b.sampleRate
        }
        let rate = Double(options.sampleRate ?? Int(firstRate))
        let streams = try tracks.map { try TrackStream(track: $0, busRate: rate, busChannels: options.channelCount) }
        let longest = streams.map(\.expectedBusFrames).max() ?? 0
        let expectedFrames = options.frameCount.map { min($0, longest) } ?? longest
        let mutedLength = streams.filter(\.track.muted).map(\.expectedBusFrames).max() ?? 0
        let outBits = options.format.encoding.integerBits
        let onGrid = options.loudnessLUFS == nil && options.limiter == nil && streams.allSatisfy {
            $0.track.muted || ($0.isBitTransparent && $0.source.integerBits.map { b in b <= (outBits ?? 0) } == true)
        }
        let dither = options.dither && outBits != nil && !onGrid
        let bus = BusMixer(streams: streams, channelCount: options.channelCount, sampleRate: rate,
                           minimumFrames: mutedLength, maximumFrames: options.frameCount, blockFrames: options.blockFrames)

        var busLoudness: Double?
        var temporaryBus: String?
        defer { if let t = temporaryBus { unlink(t) } }
        if options.loudnessLUFS != nil || options.limiter != nil {
            // Pass 1: sum into a temporary float file, measuring the bus (with a limiter there may be several
            // rendering passes, and the tracks are read only once).
            let path = try OutputPath.temporarySibling(of: outputPath) + ".bus"
            let writer = try AudioFileWriter(path: path, format: try AudioFileFormat(container: .wav, encoding: .float32),
                                             sampleRate: Int(rate), channelCount: options.channelCount,
                                             expectedFrames: expectedFrames)
            let meter = try LoudnessMeter(channelCount: options.channelCount, sampleRate: rate, truePeak: false, loudnessRange: false)
            do {
                try RenderPipeline(source: { try bus.next() }, meter: meter, writer: writer).run { _ in
                    progress(MixProgress(stage: "mixing", pass: 1, fraction: Double(bus.framesMixed) / Double(max(1, expectedFrames))))
                }
                try writer.finish()
            } catch {
                writer.cancel()
                throw error
            }
            temporaryBus = path
            busLoudness = meter.integratedLUFS
            guard busLoudness!.isFinite || options.loudnessLUFS == nil else {
                throw AudioError(.invalidArgument, path: outputPath, "the mix is silent (below the -70 LUFS gate): there is no loudness to normalise; use --loudness off")
            }
        }

        // Rendering passes.
        let target = options.loudnessLUFS
        var gainDB = target.map { $0 - busLoudness! } ?? 0
        var history: [(gain: Double, loudness: Double)] = []
        var limiterOptions = options.limiter
        var pass = 0
        while true {
            pass += 1
            let source: () throws -> AudioBuffer?
            let reader: AudioFileReader?
            if let t = temporaryBus {
                let r = try AudioFileReader(path: t)
                reader = r
                source = { try r.read(maxFrames: options.blockFrames) }
            } else {
                reader = nil
                source = { try bus.next() }
            }
            let total = Double(max(1, reader?.info.frameCount ?? expectedFrames))
            let measures = options.measuresOutput || target != nil || limiterOptions != nil
            let result = try render(source: source, to: outputPath, rate: rate, channelCount: options.channelCount,
                                    format: options.format, dither: dither, gainDB: gainDB, limiter: limiterOptions,
                                    expectedFrames: expectedFrames, inputs: inputs, measures: measures,
                                    metadata: options.metadata) { done in
                progress(MixProgress(stage: "rendering", pass: pass, fraction: Double(done) / total))
            }
            let achieved = result.measurement?.integratedLUFS ?? .nan
            let loudnessMet = target.map { abs(achieved - $0) <= options.loudnessToleranceLU } ?? true
            // The gain's own movement adds a few hundredths of a dB between samples: when the output's true peak is
            // over the ceiling, the next pass holds the detector lower by the excess.
            let excessDB = limiterOptions.map { (result.measurement?.truePeakDBTP ?? 0) - $0.ceilingDBTP } ?? 0
            let peakMet = excessDB <= 0
            // Without limiting the gain is linear: one pass always reaches the target.
            let limiterActed = (result.limiter?.limitedFrames ?? 0) > 0
            if (loudnessMet && peakMet) || !limiterActed || pass >= options.maximumPasses || !achieved.isFinite {
                // (Without a measurement, `achieved` is NaN: there is nothing to iterate on.)
                try result.writer.finish()
                // Provenance (VoxProvenance) is attached by the caller to the finished file; the report carries
                // everything it records about the mix (sources, gains, offsets, loudness).
                let lim = result.limiter
                return MixReport(
                    output: outputPath, sampleRate: Int(rate), channels: options.channelCount,
                    encoding: options.format.encoding.rawValue, container: options.format.container.rawValue,
                    frames: result.writer.framesWritten, durationSeconds: Double(result.writer.framesWritten) / rate,
                    tracks: streams.map { s in
                        MixReport.Track(source: s.track.source.name, sampleRate: Int(s.source.sampleRate),
                                        channels: s.source.channelCount, gainDB: s.track.gainDB, pan: s.track.pan,
                                        offsetMilliseconds: (s.track.offsetFrames.map { $0 / rate } ?? s.track.offsetSeconds) * 1000, muted: s.track.muted,
                                        resampled: s.source.sampleRate != rate)
                    },
                    busLoudnessLUFS: busLoudness, targetLoudnessLUFS: target, gainDB: gainDB,
                    loudness: result.measurement, truePeakCeilingDBTP: options.limiter?.ceilingDBTP,
                    limiterMaxReductionDB: 20 * log10(Double(lim?.minimumGain ?? 1)),
                    limitedFraction: Double(lim?.limitedFrames ?? 0) / Double(max(1, result.writer.framesWritten)),
                    passes: pass, dithered: dither, clippedSamples: result.writer.clippedSamples)
            }
            result.writer.cancel()
            if !peakMet { limiterOptions!.safetyMarginDB += excessDB + 0.02 }
            if let target, !loudnessMet {
                history.append((gainDB, achieved))
                gainDB = nextGain(history: history, target: target)
            }
        }
    }

    /// The next gain to try: a secant step through the last two (gain, loudness) points, or a unit-slope step
    /// from the only one. Limiting only takes loudness away, so the slope is kept within (0, 1].
    static func nextGain(history: [(gain: Double, loudness: Double)], target: Double) -> Double {
        let last = history[history.count - 1]
        var slope = 1.0
        if history.count >= 2 {
            let prev = history[history.count - 2]
            if last.gain != prev.gain { slope = (last.loudness - prev.loudness) / (last.gain - prev.gain) }
        }
        slope = min(1, max(0.05, slope.isFinite ? slope : 1))
        let step = (target - last.loudness) / slope
        // Keep each step within ±12 dB: a near-flat slope (heavy limiting) must not send the gain flying.
        return last.gain + min(12, max(-12, step))
    }

    private struct RenderResult {
        var writer: AudioFileWriter
        var limiter: TruePeakLimiter?
        var measurement: LoudnessMeasurement?
    }

    /// One rendering pass: gain, limiter, loudness meter, writer (left unfinished for the caller to commit).
    private static func render(source: @escaping () throws -> AudioBuffer?, to path: String, rate: Double, channelCount: Int,
                               format: AudioFileFormat, dither: Bool, gainDB: Double, limiter options: LimiterOptions?,
                               expectedFrames: Int64, inputs: [String], measures: Bool, metadata: AudioMetadata?,
                               progress: (Int64) -> Void) throws -> RenderResult {
        let writer = try AudioFileWriter(path: path, format: format, sampleRate: Int(rate), channelCount: channelCount,
                                         dither: dither, inputs: inputs, expectedFrames: expectedFrames, metadata: metadata)
        do {
            let limiter = try options.map { try TruePeakLimiter(channelCount: channelCount, sampleRate: rate, gainDB: gainDB, options: $0) }
            let gain = Float(pow(10, gainDB / 20))
            let meter = measures ? try LoudnessMeter(channelCount: channelCount, sampleRate: rate) : nil
            let process: (AudioBuffer) -> AudioBuffer = { input in
                if let l = limiter { return l.process(input) }
                guard gain != 1 else { return input }
                var block = input
                for c in 0..<block.channelCount {
                    block.channels[c].withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] *= gain } }
                }
                return block
            }
            try RenderPipeline(source: source, process: process, flush: limiter.map { l in { l.finish() } },
                               meter: meter, writer: writer).run(progress: progress)
            return RenderResult(writer: writer, limiter: limiter, measurement: meter?.measurement)
        } catch {
            writer.cancel()
            throw error
        }
    }
}

/// A two-stage software pipeline: while one thread reads and processes block k+1 (decoding, gain, limiter), the
/// other measures and writes block k. The stages share no state; each step joins both before the next.
final class RenderPipeline: @unchecked Sendable {
    private let source: () throws -> AudioBuffer?
    private let process: ((AudioBuffer) -> AudioBuffer)?
    private let flush: (() -> AudioBuffer)?
    private let meter: LoudnessMeter?
    private let writer: AudioFileWriter
    private var incoming: AudioBuffer?
    private var pending: AudioBuffer?
    private var sourceDone = false
    private var readError: Error?
    private var writeError: Error?
    private var framesRead: Int64 = 0

    init(source: @escaping () throws -> AudioBuffer?, process: ((AudioBuffer) -> AudioBuffer)? = nil,
         flush: (() -> AudioBuffer)? = nil, meter: LoudnessMeter?, writer: AudioFileWriter) {
        self.source = source
        self.process = process
        self.flush = flush
        self.meter = meter
        self.writer = writer
    }

    /// Runs to the end of the source; `progress` gets the frames read so far after each step (on this thread).
    func run(progress: (Int64) -> Void) throws {
        repeat {
            DispatchQueue.concurrentPerform(iterations: 2) { job in
                if job == 0 { produce() } else { consume() }
            }
            if let e = readError ?? writeError { throw e }
            pending = incoming
            incoming = nil
            progress(framesRead)
        } while !sourceDone
        consume()
        if let e = writeError { throw e }
    }

    private func produce() {
        do {
            if let block = try source() {
                framesRead += Int64(block.frameCount)
                incoming = process?(block) ?? block
            } else {
                sourceDone = true
                incoming = flush?()
            }
        } catch {
            readError = error
        }
    }

    private func consume() {
        guard let block = pending else { return }
        pending = nil
        meter?.add(block)
        do { try writer.write(block) } catch { writeError = error }
    }
}

/// Sums the track streams block by block; the tracks of a block are decoded and processed in parallel.
final class BusMixer {
    let streams: [TrackStream]
    let channelCount: Int
    let sampleRate: Double
    let minimumFrames: Int64
    /// The bus ends here even if tracks go on (nil: when the last track ends).
    let maximumFrames: Int64?
    let blockFrames: Int
    private(set) var framesMixed: Int64 = 0
    private var done = false

    init(streams: [TrackStream], channelCount: Int, sampleRate: Double, minimumFrames: Int64, maximumFrames: Int64? = nil,
         blockFrames: Int) {
        self.streams = streams
        self.channelCount = channelCount
        self.sampleRate = sampleRate
        self.minimumFrames = minimumFrames
        self.maximumFrames = maximumFrames
        self.blockFrames = blockFrames
    }

    /// The next bus block, or nil when every track has ended.
    func next() throws -> AudioBuffer? {
        if done { return nil }
        let active = streams.filter { !$0.track.muted && !$0.exhausted }
        let count = blockFrames
        // Each stream is touched by one worker only; it keeps its block and any error itself.
        DispatchQueue.concurrentPerform(iterations: active.count) { k in active[k].produce(count: count) }
        for s in active { if let e = s.error { throw e } }
        var length = active.map(\.producedFrames).max() ?? 0
        length = max(length, Int(min(Int64(count), max(0, minimumFrames - framesMixed))))
        if let maximumFrames { length = min(length, Int(max(0, maximumFrames - framesMixed))) }
        if length == 0 {
            done = true
            return nil
        }
        var out = [[Float]]()
        for c in 0..<channelCount {
            out.append([Float](unsafeUninitializedCapacity: length) { dst, n in
                for i in 0..<length { dst[i] = 0 }
                for s in active {
                    s.produced[c].withUnsafeBufferPointer { src in
                        for j in 0..<length { dst[j] += src[j] }
                    }
                }
                n = length
            })
        }
        framesMixed += Int64(length)
        return AudioBuffer(channels: out, sampleRate: sampleRate)
    }
}
