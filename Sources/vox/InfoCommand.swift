import ArgumentParser
import Foundation
import VoxAudio
import VoxProvenance

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show format, codec, sample rate, channels, duration, peak and RMS level of audio files.",
        discussion: "Also shows the file's tags and its provenance record (tool, synthetic voice, voice model, consent hash, watermark) when it has them.")

    @Argument(help: "Audio files.")
    var files: [String]

    @Flag(help: "Print JSON (an array, one object per file) instead of text.")
    var json = false

    @OptionGroup var progress: ProgressOptions

    struct Report: Encodable {
        var path: String
        var container: String?
        var codec: String?
        var sampleRate: Int?
        var channels: Int?
        var frames: Int64?
        var durationSeconds: Double?
        var peakDBFS: Double?
        var rmsDBFS: Double?
        var tags: Tags?
        var provenance: ProvenanceRecord?
        var error: String?
    }

    /// The file's text tags and key/value fields, and where they were found.
    struct Tags: Encodable {
        var title: String?
        var artist: String?
        var software: String?
        var comment: String?
        var date: String?
        var copyright: String?
        var fields: [String: String]
        var foundIn: [String]

        init?(_ m: AudioMetadata) {
            if m.isEmpty { return nil }
            title = m.title; artist = m.artist; software = m.software; comment = m.comment
            date = m.date; copyright = m.copyright; fields = m.fields; foundIn = m.sources
        }
    }

    func run() throws {
        try reportEachFile(files, json: json, failed: { Report(path: $0, error: $1) }) { path in
            let reader = try AudioFileReader(path: path)
            let info = reader.info
            var meter = LevelMeter()
            let bar = ProgressBar(label: "measuring \(URL(fileURLWithPath: path).lastPathComponent)",
                                  total: Double(info.frameCount), quiet: progress.quiet || json)
            while let block = try reader.read(maxFrames: 1 << 16) {
                meter.add(block)
                bar.update(Double(reader.framesRead))
            }
            bar.finish()
            let frames = reader.framesRead
            let report = Report(path: path, container: info.container, codec: info.codec, sampleRate: info.sampleRate,
                                channels: info.channelCount, frames: frames,
                                durationSeconds: Double(frames) / Double(info.sampleRate),
                                peakDBFS: finiteOrNil(meter.peakDBFS), rmsDBFS: finiteOrNil(meter.rmsDBFS),
                                tags: Tags(reader.metadata), provenance: ProvenanceRecord(metadata: reader.metadata))
            if !json { printText(report) }
            return report
        }
    }

    private func printText(_ r: Report) {
        func db(_ v: Double?) -> String { v.map { String(format: "%.2f dBFS", $0) } ?? "-inf dBFS (silent)" }
        print("""
        \(r.path)
          format:      \(r.container!), \(r.codec!)
          sample rate: \(r.sampleRate!) Hz
          channels:    \(r.channels!)
          duration:    \(formatTime(r.durationSeconds!)) (\(r.frames!) frames)
          peak:        \(db(r.peakDBFS))
          RMS:         \(db(r.rmsDBFS))
        """)
        if let t = r.tags {
            for (label, value) in [("title", t.title), ("artist", t.artist), ("software", t.software), ("date", t.date),
                                   ("copyright", t.copyright), ("comment", t.comment)] {
                if let value { print("  \(label + ":")\(String(repeating: " ", count: max(1, 13 - label.count)))\(value.replacingOccurrences(of: "\n", with: " / "))") }
            }
        }
        if let p = r.provenance {
            print("  provenance:  \(p.tool) \(p.toolVersion)" + (r.tags.map { " (in \($0.foundIn.joined(separator: ", ")))" } ?? ""))
            print("    synthetic voice: \(p.containsSyntheticVoice ? "yes" : "no")")
            if let v = p.voiceModelID { print("    voice model:     \(v)") }
            if let c = p.consentSHA256 { print("    consent sha256:  \(c)") }
            print("    watermark:       " + (p.watermarked ? "on" : "off (turned off explicitly)")
                  + (p.watermarkKeyID.map { ", key \($0)" } ?? "") + (p.watermarkPayload.map { ", payload \($0)" } ?? ""))
            if let c = p.created { print("    created:         \(c)") }
        } else if let t = r.tags, !t.fields.isEmpty {
            for k in t.fields.keys.sorted() { print("  \(k): \(t.fields[k]!)") }
        }
    }
}
