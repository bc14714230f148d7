import ArgumentParser
import Foundation
import VoxAudio
import VoxProvenance

struct WatermarkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watermark",
        abstract: "Embed or detect Vox's inaudible, keyed watermark (a 32-bit payload).",
        discussion: """
        The mark survives mixing, loudness normalisation and limiting, resampling, MP3 and Vorbis, crops, gain and \
        noise (see tools/bench/watermark.sh). Detection reports a false-alarm probability that holds for any \
        unmarked audio. --key uses a private passphrase instead of Vox's public default key.
        """,
        subcommands: [WatermarkEmbedCommand.self, WatermarkDetectCommand.self])
}

/// The key options shared by embed and detect.
struct WatermarkKeyOptions: ParsableArguments {
    @Option(help: "Passphrase of a private watermark key (default: Vox's public key).")
    var key: String?

    var watermarkKey: WatermarkKey { key.map { WatermarkKey(passphrase: $0) } ?? .vox }
}

struct WatermarkEmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Mark an audio file (WAV or FLAC output, with provenance metadata).",
        discussion: """
        The payload is 32 bits: by convention a 16-bit voice-model number and a 16-bit day stamp (days since \
        2020-01-01). --voice-model ID sets both from a model identifier and today's date. The output keeps the \
        input's rate, channels and 16/24-bit depth (else 32-bit float WAV / 24-bit FLAC) and records the mark in \
        its metadata.
        """)

    @Argument(help: "Input audio file.")
    var input: String

    @Option(name: .shortAndLong, help: "Output file (.wav or .flac); never the input.")
    var output: String

    @Option(help: "Payload: a 32-bit number, decimal or 0x hex (default: --voice-model's number, else 0, and today's day stamp).")
    var payload: String?

    @Option(help: "Voice-model identifier to record (and to put in the payload's high 16 bits).")
    var voiceModel: String?

    @Flag(help: "Record that the audio contains a synthetic voice.")
    var syntheticVoice = false

    @Option(help: "Output container: wav or flac (default: from the output's extension).")
    var format: String?

    @OptionGroup var keyOptions: WatermarkKeyOptions

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    @OptionGroup var progress: ProgressOptions

    struct Summary: Encodable {
        var input: String
        var output: String
        var payload: String
        var keyID: String
        var frames: Int64
        var clippedSamples: Int
    }

    func run() throws {
        let container = try resolveContainer(output: output, format: format)
        let value: WatermarkPayload
        if let payload {
            guard let p = WatermarkPayload(parsing: payload) else {
                throw ValidationError("--payload must be a 32-bit number (decimal or 0x hex), not '\(payload)'")
            }
            value = p
        } else {
            value = WatermarkPayload(voiceModel: voiceModel.map(WatermarkPayload.voiceModelNumber(forID:)) ?? 0)
        }
        let reader = try AudioFileReader(path: input)
        let info = reader.info
        let marker = try Watermarker(key: keyOptions.watermarkKey, payload: value, sampleRate: Double(info.sampleRate),
                                     channelCount: info.channelCount)
        let record = ProvenanceRecord(containsSyntheticVoice: syntheticVoice, voiceModelID: voiceModel, watermarker: marker)
        let encoding = FileConversion.defaultEncoding(for: info, container: container)
        let writer = try AudioFileWriter(path: output, format: try AudioFileFormat(container: container, encoding: encoding),
                                         sampleRate: info.sampleRate, channelCount: info.channelCount,
                                         dither: encoding.integerBits != nil, inputs: [input],
                                         expectedFrames: info.frameCount, metadata: record.metadata())
        let bar = ProgressBar(label: "watermarking", total: Double(info.frameCount), quiet: progress.quiet || json)
        do {
            while let block = try reader.read(maxFrames: 1 << 16) {
                try writer.write(marker.push(block))
                bar.update(Double(reader.framesRead))
            }
            try writer.write(marker.finish())
            bar.finish()
            guard marker.markedFrames > 0 else {
                throw AudioError(.empty, path: input, "the audio is silent: a watermark cannot hide in digital silence")
            }
            try writer.finish()
        } catch {
            writer.cancel()
            throw error
        }
        let summary = Summary(input: input, output: output, payload: value.hex, keyID: marker.key.id,
                              frames: writer.framesWritten, clippedSamples: writer.clippedSamples)
        if json {
            try printJSON(summary)
        } else if !progress.quiet {
            var line = "\(output): watermarked, payload \(value), key \(marker.key.id)"
            if writer.clippedSamples > 0 { line += ", \(writer.clippedSamples) samples clipped" }
            FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
        }
    }
}

struct WatermarkDetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Say whether files carry the watermark, with a false-alarm probability, and decode the payload.",
        discussion: """
        "present" means the score passed the threshold, set so that unmarked audio passes it with probability \
        at most 1e-4 (a bound that holds for any audio). The payload is shown when its CRC checks (it needs more audio than detection: a few tens of \
        seconds after heavy processing). Exit status 0 when every file was analysed, 1 if any could not be.
        """)

    @Argument(help: "Audio files (at least 2.1 s each).")
    var files: [String]

    @OptionGroup var keyOptions: WatermarkKeyOptions

    @Flag(help: "Print JSON (an array, one object per file) instead of text.")
    var json = false

    struct Report: Encodable {
        var path: String
        var detection: WatermarkDetection?
        var voiceModel: UInt16?
        var day: String?
        var error: String?
    }

    func run() throws {
        try reportEachFile(files, json: json, failed: { Report(path: $0, error: $1) }) { path in
            let d = try WatermarkDetector.detect(path: path, key: keyOptions.watermarkKey)
            let p = d.decodedPayload
            if !json { print(text(path, d)) }
            return Report(path: path, detection: d, voiceModel: p?.voiceModel, day: p?.dayString)
        }
    }

    private func text(_ path: String, _ d: WatermarkDetection) -> String {
        let p = d.falseAlarmProbability
        let probability = p >= 0.01 ? String(format: "%.2f", p) : String(format: "%.1e", p)
        var line = "\(path): watermark " + (d.present ? "PRESENT" : "absent")
            + String(format: " (score %.2f, threshold %.2f, false-alarm probability ", d.score, d.threshold)
            + (d.present ? "≤ " : "") + probability + ")"
        if d.present {
            line += d.decodedPayload.map { ", payload \($0)" } ?? ", payload not decodable (too short or too degraded)"
        }
        return line
    }
}
