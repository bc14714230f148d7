import ArgumentParser
import Foundation
import VoxAudio
import VoxVoice

struct PitchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pitch",
        abstract: "Track the F0 (pitch) of a voice: one row per 5 ms frame.",
        discussion: """
        CSV columns: time_s, f0_hz (0 when unvoiced), voiced (0/1), confidence (periodicity 0…1). Multichannel \
        input is mixed to mono first.
        """)

    @Argument(help: "Input audio file (a solo voice or a vocal stem).")
    var input: String

    @Flag(help: "CSV output (default).")
    var csv = false

    @Flag(help: "JSON output.")
    var json = false

    @Option(name: .shortAndLong, help: "Write to this file instead of stdout.")
    var output: String?

    @Option(help: "Lowest F0 searched (Hz).")
    var fmin = 50.0

    @Option(help: "Highest F0 searched (Hz).")
    var fmax = 1100.0

    @Option(help: "Frame period (ms).")
    var frameMs = 5.0

    @Option(help: "Half-width (frames) of the log-F0 smoothing within voiced runs; 0: none.")
    var smoothing = PitchTrackerOptions().smoothingFrames

    @Option(help: ArgumentHelp("Frames per analysis block (tests: forces many small blocks).", visibility: .hidden))
    var blockFrames: Int?

    @Flag(help: ArgumentHelp("Voice as `vox resynth` analyses (more liberal voicing: weakly periodic frames voiced).",
                             visibility: .hidden))
    var resynthVoicing = false

    @Flag(help: ArgumentHelp("Voice as `vox convert` and `vox voice train` analyse (Harvest-style contour voicing).",
                             visibility: .hidden))
    var conversionVoicing = false

    func validate() throws {
        guard !(resynthVoicing && conversionVoicing) else { throw ValidationError("choose one of --resynth-voicing and --conversion-voicing") }
        guard !(csv && json) else { throw ValidationError("choose one of --csv and --json") }
        guard fmin >= 20, fmax <= 4000, fmax > 1.5 * fmin else { throw ValidationError("need 20 ≤ --fmin, --fmax ≤ 4000, --fmax > 1.5·--fmin") }
        guard frameMs >= 1, frameMs <= 100 else { throw ValidationError("--frame-ms must be 1…100") }
        guard (0...50).contains(smoothing) else { throw ValidationError("--smoothing must be 0…50 frames") }
        if let blockFrames { guard blockFrames >= 1 else { throw ValidationError("--block-frames must be at least 1") } }
    }

    struct Report: Encodable {
        var input: String
        var sampleRate: Double
        var framePeriodSeconds: Double
        var frames: Int
        var voicedFrames: Int
        var medianF0Hz: Double?
        var timeS: [Double]
        var f0Hz: [Float]
        var confidence: [Float]
    }

    /// Tracks the input block by block (bounded memory on any length). CSV rows are written as the blocks come
    /// (to a temporary file renamed at the end with `-o`); JSON needs the whole track and is written at the end.
    func run() throws {
        if let output { try OutputPath.refuseInputs(output: output, inputs: [input]) }
        let reader = try AudioFileReader(path: input)
        let fs = Double(reader.info.sampleRate)
        var options = conversionVoicing ? VoiceAnalysisOptions.voiceConversion.pitch : PitchTrackerOptions()
        options.minimumF0 = fmin
        options.maximumF0 = min(fmax, fs / 4)
        options.framePeriod = frameMs / 1000
        options.smoothingFrames = smoothing
        if resynthVoicing { options.voicedOdds = VoiceAnalysisOptions().pitch.voicedOdds }
        var streaming = StreamingAnalysisOptions()
        if let blockFrames { streaming.blockFrames = blockFrames }
        let tracker = try namingInput { try StreamingVoiceAnalyzer(tracker: PitchTracker(options: options), sampleRate: fs, options: streaming) }
        // A first pass for the silence gate (the whole file's loudest frame), as a whole-file analysis.
        try namingInput { try tracker.measureLoudestFrame(path: input) }
        let sink = try TextSink(path: output)
        var f0 = [Float](), confidence = [Float]()   // JSON only
        func take(_ blocks: [PitchBlock]) throws {
            for b in blocks {
                if json {
                    f0 += b.track.f0
                    confidence += b.track.confidence
                    continue
                }
                var s = ""
                s.reserveCapacity(b.track.frameCount * 32)
                for i in 0..<b.track.frameCount {
                    let v = b.track.f0[i]
                    s += String(format: "%.4f,%.3f,%d,%.3f\n", b.track.time(ofFrame: b.firstFrame + i), v, v > 0 ? 1 : 0, b.track.confidence[i])
                }
                try sink.write(s)
            }
        }
        if !json { try sink.write("time_s,f0_hz,voiced,confidence\n") }
        while let block = try reader.read(maxFrames: 1 << 15) { try take(namingInput { try tracker.pushPitch(block) }) }
        try take(namingInput { try tracker.finishPitch() })
        if json {
            let period = options.framePeriod
            let voicedF0 = f0.filter { $0 > 0 }.sorted()
            let report = Report(input: input, sampleRate: fs, framePeriodSeconds: period,
                                frames: f0.count, voicedFrames: voicedF0.count,
                                medianF0Hz: voicedF0.isEmpty ? nil : Double(voicedF0[voicedF0.count / 2]),
                                timeS: (0..<f0.count).map { (Double($0) * period * 1e6).rounded() / 1e6 },
                                f0Hz: f0.map { ($0 * 1000).rounded() / 1000 },
                                confidence: confidence.map { ($0 * 1000).rounded() / 1000 })
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try sink.write(String(decoding: try encoder.encode(report), as: UTF8.self) + "\n")
        }
        try sink.finish()
    }

    private func namingInput<T>(_ body: () throws -> T) throws -> T { try naming(input, body) }
}

/// Text written piece by piece to stdout, or to a hidden temporary file renamed onto `path` by `finish()` (so a
/// failed run leaves no partial file; an unfinished sink deletes its temporary file).
final class TextSink {
    private let path: String?
    private let temporary: String?
    private let handle: FileHandle
    private var done = false

    init(path: String?) throws {
        self.path = path
        guard let path else { temporary = nil; handle = FileHandle.standardOutput; return }
        let t = try OutputPath.temporarySibling(of: path)
        guard FileManager.default.createFile(atPath: t, contents: nil), let h = FileHandle(forWritingAtPath: t) else {
            throw AudioError(.unwritable, path: path, "cannot create the output")
        }
        temporary = t
        handle = h
    }

    deinit { if !done, let temporary { try? handle.close(); unlink(temporary) } }

    func write(_ text: String) throws {
        do { try handle.write(contentsOf: Data(text.utf8)) } catch {
            throw AudioError(.unwritable, path: path ?? "stdout", "cannot write output: \(error.localizedDescription)")
        }
    }

    func finish() throws {
        done = true
        guard let path, let temporary else { return }
        try? handle.close()
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw AudioError(.unwritable, path: path, "cannot move output into place: \(reason)")
        }
    }
}
