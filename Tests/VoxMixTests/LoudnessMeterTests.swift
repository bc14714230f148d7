import Foundation
import XCTest
import VoxAudio
@testable import VoxMix

final class LoudnessMeterTests: XCTestCase {
    /// EBU Tech 3341 case 1: a 1 kHz sine at −23 dBFS in both channels reads −23.0 LUFS.
    func testEBUReferenceSine() throws {
        let amplitude = Float(pow(10, -23.0 / 20))
        let x = TestSignals.sine(1000, amplitude: amplitude, seconds: 5, rate: 48000)
        let m = try LoudnessMeter(channelCount: 2, sampleRate: 48000)
        // Blocks of odd sizes: the meter streams.
        var start = 0
        while start < x.frameCount {
            let end = min(x.frameCount, start + 12345)
            m.add(x.slice(start..<end))
            start = end
        }
        let r = m.measurement
        XCTAssertEqual(r.integratedLUFS, -23, accuracy: 0.05)
        XCTAssertEqual(r.samplePeakDBFS, -23, accuracy: 0.01)
        XCTAssertEqual(r.truePeakDBTP, -23, accuracy: 0.1)
        XCTAssertEqual(r.loudnessRangeLU ?? 99, 0, accuracy: 0.1)
        XCTAssertEqual(r.frameCount, Int64(x.frameCount))
    }

    func testMonoCountsOneChannel() throws {
        let x = TestSignals.sine(1000, amplitude: Float(pow(10, -20.0 / 20)), seconds: 3, channels: 1)
        let m = try LoudnessMeter(channelCount: 1, sampleRate: 44100)
        m.add(x)
        XCTAssertEqual(m.measurement.integratedLUFS, -23.01, accuracy: 0.06)
    }

    func testTruePeakSeesBetweenSamples() throws {
        let x = TestSignals.sine(11025, amplitude: 0.5, seconds: 1, phase: Double.pi / 4)
        let m = try LoudnessMeter(channelCount: 2, sampleRate: 44100)
        m.add(x)
        let r = m.measurement
        XCTAssertEqual(r.samplePeakDBFS, 20 * log10(0.5 * 0.7071), accuracy: 0.05)
        XCTAssertEqual(r.truePeakDBTP, 20 * log10(0.5), accuracy: 0.3)
    }

    func testSilenceIsBelowTheGate() throws {
        let m = try LoudnessMeter(channelCount: 2, sampleRate: 44100)
        m.add(AudioBuffer(frameCount: 44100, channelCount: 2, sampleRate: 44100))
        XCTAssertEqual(m.measurement.integratedLUFS, -.infinity)
        XCTAssertEqual(m.measurement.samplePeakDBFS, -.infinity)
    }

    func testFileMeasurementAndErrors() throws {
        let dir = try TestSignals.temporaryDirectory()
        let path = dir + "/tone.flac"
        try AudioFileWriter.write(TestSignals.sine(1000, amplitude: Float(pow(10, -23.0 / 20)), seconds: 2),
                                  to: path, format: try AudioFileFormat(container: .flac, encoding: .pcm24))
        XCTAssertEqual(try LoudnessMeter.measure(path: path, blockFrames: 1000).integratedLUFS, -23, accuracy: 0.05)
        XCTAssertThrowsError(try LoudnessMeter.measure(path: dir + "/missing.wav")) { e in
            XCTAssertEqual((e as? AudioError)?.kind, .fileNotFound)
        }
        XCTAssertThrowsError(try LoudnessMeter(channelCount: 0, sampleRate: 44100))
    }
}
