import ArgumentParser
import Foundation
import VoxAudio

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show format, codec, sample rate, channels, duration, peak and RMS level of audio files.")

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
        var error: String?
    }

    func run() throws {
        var reports = [Report]()
        var failures = 0
        for path in files {
            do {
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
                reports.append(Report(path: path, container: info.container, codec: info.codec, sampleRate: info.sampleRate,
                                      channels: info.channelCount, frames: frames,
                                      durationSeconds: Double(frames) / Double(info.sampleRate),
                                      peakDBFS: finiteOrNil(meter.peakDBFS), rmsDBFS: finiteOrNil(meter.rmsDBFS)))
                if !json { printText(reports.last!) }
            } catch let error as AudioError {
                failures += 1
                reports.append(Report(path: path, error: error.message))
                FileHandle.standardError.write("Error: \(error)\n".data(using: .utf8)!)
            }
        }
        if json { try printJSON(reports) }
        if failures > 0 { throw ExitCode(1) }
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
    }
}
