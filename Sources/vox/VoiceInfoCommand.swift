import ArgumentParser
import Foundation
import VoxAudio
import VoxVoice

struct VoiceInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show what a voice model holds: name, consent record, training fingerprint, range, bank size.",
        discussion: "The file's checksum is verified first: a modified or damaged model is refused.")

    @Argument(help: "Voice model (.voxvoice).")
    var model: String

    @Flag(help: "JSON output.")
    var json = false

    struct Summary: Encodable {
        var path: String
        var formatVersion: UInt32
        var name: String
        var createdAt: String
        var consent: ConsentRecord
        var consentIntact: Bool
        var fingerprint: TrainingFingerprint
        var sampleRate: Double
        var framePeriodMs: Double
        var cepstrumOrder: Int
        var voicedBankFrames: Int
        var unvoicedBankFrames: Int
        var pitchRange: PitchRange
        var audit: TrainingAudit
    }

    func run() throws {
        let m = try VoiceModelFile.read(path: model)
        if json {
            try printJSON(Summary(path: model, formatVersion: VoiceModelFile.version, name: m.name, createdAt: m.createdAt,
                                  consent: m.consent, consentIntact: m.consent.isIntact, fingerprint: m.fingerprint,
                                  sampleRate: m.sampleRate, framePeriodMs: m.framePeriod * 1000, cepstrumOrder: m.cepstrumOrder,
                                  voicedBankFrames: m.voicedFrameCount, unvoicedBankFrames: m.unvoicedFrameCount,
                                  pitchRange: m.pitchRange, audit: m.audit))
            return
        }
        print("voice model  \(model) (format \(VoiceModelFile.version), checksum OK)")
        print("name         \(m.name)")
        print("created      \(m.createdAt)")
        print("consent      \(m.consent.subject), \(m.consent.date): \(m.consent.scope)")
        print("statement    \"\(m.consent.statement)\"")
        print("  sha256     \(m.consent.statementSHA256)")
        print("training     \(m.fingerprint.files.count) files, " + String(format: "%.1f s (%.1f s voiced)", m.audit.seconds, m.audit.voicedSeconds))
        print("  sha256     \(m.fingerprint.combinedSHA256)")
        print(String(format: "pitch        %.0f-%.0f Hz (5th-95th percentile), median %.0f Hz", m.pitchRange.p5Hz, m.pitchRange.p95Hz, m.pitchRange.medianHz))
        print("bank         \(m.voicedFrameCount) voiced + \(m.unvoicedFrameCount) unvoiced frames, \(m.cepstrumOrder) mel-cepstral coefficients, "
              + String(format: "%.0f Hz, %.0f ms", m.sampleRate, m.framePeriod * 1000))
        for w in m.audit.warnings { print("warning      \(w)") }
    }
}
