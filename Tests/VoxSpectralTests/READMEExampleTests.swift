import Foundation
import XCTest
import VoxAudio
import VoxSpectral

/// The README's Swift example, run on a file made here.
final class READMEExampleTests: XCTestCase {
    func testREADMEExampleRuns() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vox-readme-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let cwd = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(dir)
        defer { FileManager.default.changeCurrentDirectoryPath(cwd) }
        let tone = (0..<22050).map { Float(0.3 * sin(Double($0) * 0.07)) }
        try AudioFileWriter.write(AudioBuffer(channels: [tone, tone], sampleRate: 44100), to: "song.wav",
                                  format: try AudioFileFormat(container: .wav, encoding: .pcm16))
        try AudioFileWriter.write(AudioBuffer(channels: [tone], sampleRate: 44100), to: "long.flac",
                                  format: try AudioFileFormat(container: .flac, encoding: .pcm16))

        // --- README ---
        let song = try AudioFileReader.read(path: "song.wav")
        let mono48k = ChannelMixer.remix(try Resampler.resample(song, to: 48_000), to: 1)
        let stft = ShortTimeFourierTransform(configuration: try STFTConfiguration(fftSize: 4096, hopSize: 1024))
        let spectrum = stft.forward(mono48k)
        let back = stft.inverse(spectrum, length: mono48k.frameCount)
        try AudioFileWriter.write(back, to: "out.flac",
                                  format: try AudioFileFormat(container: .flac, encoding: .pcm24), dither: true)
        let reader = try AudioFileReader(path: "long.flac")
        let analysis = StreamingSTFT(configuration: stft.configuration, channelCount: reader.info.channelCount,
                                     sampleRate: Double(reader.info.sampleRate))
        var frames = 0
        while let block = try reader.read(maxFrames: 65_536) {
            frames += analysis.push(block).frameCount
        }
        // --- end ---
        frames += analysis.finish().frameCount
        XCTAssertEqual(frames, stft.configuration.frameCount(forSamples: 22050))
        let out = try AudioFileReader(path: "out.flac")
        XCTAssertEqual(out.info.sampleRate, 48000)
        XCTAssertEqual(out.info.frameCount, 24000)
    }
}
