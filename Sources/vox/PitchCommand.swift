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

    func validate() throws {
        guard !(csv && json) else { throw ValidationError("choose one of --csv and --json") }
        guard fmin >= 20, fmax <= 4000, fmax > 1.5 * fmin else { throw ValidationError("need 20 ≤ --fmin, --fmax ≤ 4000, --fmax > 1.5·--fmin") }
        guard frameMs >= 1, frameMs <= 100 else { throw ValidationError("--frame-ms must be 1…100") }
        guard (0...50).contains(smoothing) else { throw ValidationError("--smoothing must be 0…50 frames") }
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

    func run() throws {
        if let output { try OutputPath.refuseInputs(output: output, inputs: [input]) }
        let audio = try AudioFileReader.read(path: input)
        if let bad = audio.firstNonFinite() {
            throw AudioError(.nonFinite, path: input, "sample \(bad.frame) of channel \(bad.channel) is \(bad.value)")
        }
        var options = PitchTrackerOptions()
        options.minimumF0 = fmin
        options.maximumF0 = min(fmax, audio.sampleRate / 4)
        options.framePeriod = frameMs / 1000
        options.smoothingFrames = smoothing
        let track: PitchTrack
        do { track = try PitchTracker(options: options).track(audio) } catch let e as AudioError {
            throw AudioError(e.kind, path: input, e.message)
        }
        let text: String
        if json {
            let voicedF0 = track.f0.filter { $0 > 0 }.sorted()
            let report = Report(input: input, sampleRate: audio.sampleRate, framePeriodSeconds: track.framePeriod,
                                frames: track.frameCount, voicedFrames: voicedF0.count,
                                medianF0Hz: voicedF0.isEmpty ? nil : Double(voicedF0[voicedF0.count / 2]),
                                timeS: (0..<track.frameCount).map { (track.time(ofFrame: $0) * 1e6).rounded() / 1e6 },
                                f0Hz: track.f0.map { ($0 * 1000).rounded() / 1000 },
                                confidence: track.confidence.map { ($0 * 1000).rounded() / 1000 })
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            text = String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
        } else {
            var s = "time_s,f0_hz,voiced,confidence\n"
            s.reserveCapacity(track.frameCount * 32)
            for i in 0..<track.frameCount {
                s += String(format: "%.4f,%.3f,%d,%.3f\n", track.time(ofFrame: i), track.f0[i], track.f0[i] > 0 ? 1 : 0, track.confidence[i])
            }
            text = s
        }
        if let output {
            try OutputPath.writeAtomically(Data(text.utf8), to: output)
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}
