import ArgumentParser
import Foundation
import VoxAudio
import VoxVoice

struct ResynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resynth",
        abstract: "Analyse a voice and resynthesise it, optionally pitch-shifted (formants kept), formant-shifted or time-stretched.",
        discussion: """
        A WORLD-style vocoder: F0, spectral envelope (CheapTrick) and band aperiodicity (D4C), then pulse + noise \
        synthesis. --pitch-shift moves the notes and keeps the formants (the voice still sounds like itself); \
        --formant-shift scales the envelope's frequency axis (>1: smaller, brighter; <1: bigger, darker); \
        --time-stretch makes it R times as long with pitch kept. The output is mono (multichannel input is mixed \
        down), at the input's rate unless --sample-rate is given, and exactly R times the input's length.
        """)

    @Argument(help: "Input audio file (a solo voice or a vocal stem).")
    var input: String

    @Option(name: .shortAndLong, help: "Output file (.wav: 32-bit float, .flac: 24-bit).")
    var output: String

    @Option(parsing: .unconditional, help: "Pitch shift in semitones (−24…24; negative values need no `=`).")
    var pitchShift = 0.0

    @Option(help: "Formant shift as a frequency ratio (0.5…2).")
    var formantShift = 1.0

    @Option(help: "Time stretch ratio: output duration / input duration (0.25…4).")
    var timeStretch = 1.0

    @Option(help: "Output sample rate (Hz); default: the input's.")
    var sampleRate: Int?

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    @OptionGroup var progress: ProgressOptions

    func validate() throws {
        guard (-24...24).contains(pitchShift) else { throw ValidationError("--pitch-shift must be −24…24 semitones") }
        guard (0.5...2).contains(formantShift) else { throw ValidationError("--formant-shift must be 0.5…2") }
        guard (0.25...4).contains(timeStretch) else { throw ValidationError("--time-stretch must be 0.25…4") }
        if let sampleRate { guard (8000...384_000).contains(sampleRate) else { throw ValidationError("--sample-rate must be 8000…384000") } }
    }

    struct Summary: Encodable {
        var input: String
        var output: String
        var inputSeconds: Double
        var outputSeconds: Double
        var sampleRate: Int
        var voicedFraction: Double
        var medianF0Hz: Double?
        var analysisSeconds: Double
        var synthesisSeconds: Double
    }

    func run() throws {
        guard let container = AudioContainer(pathExtensionOf: output) else {
            throw AudioError(.unsupportedFormat, path: output, "name the output .wav or .flac")
        }
        try OutputPath.refuseInputs(output: output, inputs: [input])
        let format = try AudioFileFormat(container: container, encoding: container == .wav ? .float32 : .pcm24)
        let audio = try AudioFileReader.read(path: input)
        let bar = ProgressBar(label: "resynthesising", total: 2, quiet: progress.quiet || json)
        let t0 = Date()
        var features: VoiceFeatures
        do { features = try VoiceAnalyzer().analyze(audio) } catch let e as AudioError {
            throw AudioError(e.kind, path: input, e.message)
        }
        bar.update(1)
        let t1 = Date()
        if pitchShift != 0 { features = features.shiftingPitch(semitones: pitchShift) }
        if formantShift != 1 { features = features.warpingFormants(ratio: formantShift) }
        if timeStretch != 1 { features = features.stretchingTime(ratio: timeStretch) }
        let rate = Double(sampleRate ?? Int(audio.sampleRate))
        var y = try Synthesizer().synthesize(features, sampleRate: rate)
        let t2 = Date()
        bar.finish()
        if container == .flac { y = scaledBelowFullScale(y) }
        try AudioFileWriter.write(y, to: output, format: format, dither: container == .flac, inputs: [input])
        if json {
            let voiced = features.f0.filter { $0 > 0 }.sorted()
            try printJSON(Summary(input: input, output: output, inputSeconds: audio.duration, outputSeconds: y.duration,
                                  sampleRate: Int(rate), voicedFraction: Double(voiced.count) / Double(max(1, features.frameCount)),
                                  medianF0Hz: voiced.isEmpty ? nil : Double(voiced[voiced.count / 2]),
                                  analysisSeconds: t1.timeIntervalSince(t0), synthesisSeconds: t2.timeIntervalSince(t1)))
        }
    }
}

/// A vocoder can overshoot its input's peak slightly. Integer files (FLAC) would clip, so a buffer whose peak is
/// above full scale is scaled down to it as a whole (float WAV keeps such peaks and is written unchanged).
func scaledBelowFullScale(_ buffer: AudioBuffer) -> AudioBuffer {
    let peak = buffer.channels.reduce(Float(0)) { m, c in c.reduce(m) { max($0, abs($1)) } }
    guard peak > 1 else { return buffer }
    return AudioBuffer(channels: buffer.channels.map { $0.map { $0 / peak } }, sampleRate: buffer.sampleRate)
}
