import ArgumentParser
import Foundation
import VoxAudio
import VoxVoice

struct VoiceTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Learn a voice from recordings of it (isolated vocals), with the singer's consent.",
        discussion: """
        Refuses to train without a consent statement (--consent or --consent-file): the model stores who \
        consented (--consented-by, default the --name), to what (--consent-scope), when (--consent-date, default \
        today) and the statement with its SHA-256. The material is audited first (voiced duration, clipping, \
        silence, noise floor, leftover accompaniment, reverberation, pitch range per file and overall); less \
        than 10 s of voiced audio is refused, less than 3 minutes gets a warning. The model (.voxvoice) holds a \
        bank of the voice's frames (mel-cepstra, F0, aperiodicity), its statistics, the consent record and a \
        fingerprint (SHA-256) of every training file.
        """)

    @Argument(help: "Audio files or folders of them (a singer's isolated vocals).")
    var inputs: [String]

    @Option(name: .shortAndLong, help: "Output voice model (.voxvoice).")
    var output: String

    @Option(help: "The voice's name.")
    var name: String

    @Option(help: "Consent statement, verbatim.")
    var consent: String?

    @Option(help: "File holding the consent statement (UTF-8 text).")
    var consentFile: String?

    @Option(help: "Who consented (default: --name).")
    var consentedBy: String?

    @Option(help: "What was consented to.")
    var consentScope = "training a voice model of this voice and converting performances with it"

    @Option(help: "When consent was given (ISO 8601; default: today).")
    var consentDate: String?

    @Flag(help: "Print the audit and model summary as JSON on stdout.")
    var json = false

    @OptionGroup var progress: ProgressOptions

    func validate() throws {
        guard !(consent != nil && consentFile != nil) else { throw ValidationError("give --consent or --consent-file, not both") }
        guard URL(fileURLWithPath: output).pathExtension == "voxvoice" else { throw ValidationError("name the output .voxvoice") }
    }

    struct Summary: Encodable {
        var output: String
        var name: String
        var consent: ConsentRecord
        var audit: TrainingAudit
        var voicedBankFrames: Int
        var unvoicedBankFrames: Int
        var analysisSeconds: Double
        var trainingSeconds: Double
    }

    func run() throws {
        // Consent first: nothing is read or analysed without it.
        var statement = consent ?? ""
        if let consentFile {
            do { statement = try String(contentsOfFile: consentFile, encoding: .utf8) } catch {
                throw AudioError(.fileNotFound, path: consentFile, "cannot read the consent statement")
            }
        }
        let date = consentDate ?? String(ISO8601DateFormatter().string(from: Date()).prefix(10))
        let record = try ConsentRecord(subject: consentedBy ?? name, scope: consentScope, date: date, statement: statement)
        let files = try expandAudioInputs(inputs)
        try OutputPath.refuseInputs(output: output, inputs: files)
        let t0 = Date()
        let bar = ProgressBar(label: "reading", total: Double(files.count), quiet: progress.quiet || json)
        var loaded = [TrainingInput]()
        for (i, path) in files.enumerated() {
            let audio = try AudioFileReader.read(path: path)
            loaded.append(TrainingInput(name: URL(fileURLWithPath: path).lastPathComponent, audio: audio,
                                        sha256: try SHA256.hex(fileAt: path)))
            bar.update(Double(i + 1))
        }
        bar.finish()
        let trainer = VoiceTrainer()
        let analysis = try trainer.analyze(loaded)
        let t1 = Date()
        if !json { printAudit(analysis.audit) }
        let model = try trainer.train(analysis, name: name, consent: record)
        try VoiceModelFile.write(model, to: output)
        let t2 = Date()
        if json {
            try printJSON(Summary(output: output, name: name, consent: record, audit: analysis.audit,
                                  voicedBankFrames: model.voicedFrameCount, unvoicedBankFrames: model.unvoicedFrameCount,
                                  analysisSeconds: t1.timeIntervalSince(t0), trainingSeconds: t2.timeIntervalSince(t1)))
        } else {
            print("wrote \(output): \(model.voicedFrameCount) voiced + \(model.unvoicedFrameCount) unvoiced frames, "
                  + String(format: "%.1f s", t2.timeIntervalSince(t0)))
        }
    }
}

/// The audit as a readable table on stdout.
func printAudit(_ a: TrainingAudit) {
    let f1 = { (v: Double?) in v.map { String(format: "%.0f", $0) } ?? "-" }
    print("file                              length  voiced  clip%  silent%  floor dBFS  gaps dB  period.  decay dB  pitch p5-p95 Hz")
    for f in a.files {
        let nm = f.name.count > 32 ? String(f.name.prefix(31)) + "…" : f.name.padding(toLength: 32, withPad: " ", startingAt: 0)
        print(nm + String(format: "  %6.1f  %6.1f  %5.2f  %7.0f  ", f.seconds, f.voicedSeconds, 100 * f.clippedFraction, 100 * f.silentFraction)
              + f1(f.noiseFloorDBFS).leftPad(10) + "  " + f1(f.backgroundDB).leftPad(7) + "  "
              + (f.voicedPeriodicity.map { String(format: "%.2f", $0) } ?? "-").leftPad(7) + "  " + f1(f.offsetDecayDB).leftPad(8)
              + "  " + "\(f1(f.pitchP5Hz))-\(f1(f.pitchP95Hz))")
        for w in f.warnings { print("  warning: \(f.name): \(w)") }
    }
    print(String(format: "total: %.1f s, %.1f s voiced, pitch %@-%@ Hz", a.seconds, a.voicedSeconds, f1(a.pitchP5Hz), f1(a.pitchP95Hz)))
    for w in a.warnings { print("warning: \(w)") }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
