import Foundation
import XCTest
import VoxAudio
import VoxVoice

/// The README's "Training a voice and converting a take through the API" example, on synthetic files.
final class READMEVoiceExampleTests: XCTestCase {
    func testReadmeTrainAndConvertExample() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vox-readme-voice-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/stems/song", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let rate = VoiceModelTests.rate
        let format = try AudioFileFormat(container: .wav, encoding: .pcm16)
        try AudioFileWriter.write(AudioBuffer(channels: [VoiceModelTests.voice(seconds: 12, baseHz: 220, f1: 800, f2: 1400)], sampleRate: rate),
                                  to: dir + "/stems/song/vocals.wav", format: format)
        try AudioFileWriter.write(AudioBuffer(channels: [VoiceModelTests.voice(seconds: 2, baseHz: 110, f1: 600, f2: 1100, seed: 0.3)], sampleRate: rate),
                                  to: dir + "/take.wav", format: format)

        // As in the README, with the paths under `dir`.
        let consent = try ConsentRecord(subject: "Ada", scope: "covers on Ada's channel", date: "2026-12-01",
                                        statement: "I, Ada, agree that Vox may model my voice for covers.")
        let vocals = try AudioFileReader.read(path: dir + "/stems/song/vocals.wav")
        let trainer = VoiceTrainer()
        let analysis = try trainer.analyze([TrainingInput(name: "vocals.wav", audio: vocals,
                                                          sha256: try SHA256.hex(fileAt: dir + "/stems/song/vocals.wav"))])
        XCTAssertGreaterThan(analysis.audit.voicedSeconds, 10)
        try VoiceModelFile.write(try trainer.train(analysis, name: "Ada", consent: consent), to: dir + "/ada.voxvoice")

        var converter = VoiceConverter(model: try VoiceModelFile.read(path: dir + "/ada.voxvoice"))
        converter.options.transposeAutomatically = true
        let (converted, report) = try converter.convert(try AudioFileReader.read(path: dir + "/take.wav"))
        XCTAssertEqual(report.transposeSemitones, 12)    // a take an octave below the voice goes up an octave
        XCTAssertEqual(converted.frameCount, Int(2 * rate))
    }
}
