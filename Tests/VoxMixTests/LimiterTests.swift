import Foundation
import XCTest
import VoxAudio
@testable import VoxMix

final class LimiterTests: XCTestCase {
    func limit(_ b: AudioBuffer, gainDB: Double = 0, options: LimiterOptions = LimiterOptions(), block: Int = 1000) throws -> (AudioBuffer, TruePeakLimiter) {
        let l = try TruePeakLimiter(channelCount: b.channelCount, sampleRate: b.sampleRate, gainDB: gainDB, options: options)
        var out = AudioBuffer(frameCount: 0, channelCount: b.channelCount, sampleRate: b.sampleRate)
        var start = 0
        while start < b.frameCount {
            let end = min(b.frameCount, start + block)
            out.append(l.process(b.slice(start..<end)))
            start = end
        }
        out.append(l.finish())
        return (out, l)
    }

    func truePeak(_ b: AudioBuffer) throws -> Double {
        let m = try LoudnessMeter(channelCount: b.channelCount, sampleRate: b.sampleRate, loudnessRange: false)
        m.add(b)
        return m.measurement.truePeakDBTP
    }

    func testQuietSignalPassesUntouchedAndAligned() throws {
        let x = TestSignals.sine(440, amplitude: 0.5, seconds: 0.5)
        let (y, l) = try limit(x, block: 777)
        XCTAssertEqual(y.frameCount, x.frameCount)
        XCTAssertEqual(y, x, "below the ceiling the limiter must be bit-transparent and sample-aligned")
        XCTAssertEqual(l.limitedFrames, 0)
        XCTAssertEqual(l.minimumGain, 1)
    }

    func testGainIsAppliedBeforeLimiting() throws {
        let x = TestSignals.sine(440, amplitude: 0.25, seconds: 0.2)
        let (y, _) = try limit(x, gainDB: 6.0206)
        for i in stride(from: 0, to: x.frameCount, by: 37) {
            XCTAssertEqual(y.channels[0][i], 2 * x.channels[0][i], accuracy: 1e-5)
        }
    }

    func testLoudSineIsHeldJustUnderTheCeiling() throws {
        let x = TestSignals.sine(997, amplitude: 2, seconds: 1)
        let (y, l) = try limit(x)
        let tp = try truePeak(y)
        XCTAssertLessThanOrEqual(tp, -1.0, "true peak \(tp)")
        XCTAssertGreaterThan(tp, -1.3, "a steady sine should sit just under the ceiling, not far below: \(tp)")
        XCTAssertLessThan(l.minimumGain, 0.5)
    }

    /// A sine near fs/4 sampled at ±45° has sample peaks 3 dB below its true peak: a sample-peak limiter misses it.
    func testInterSamplePeaksAreCaught() throws {
        let x = TestSignals.sine(11025, amplitude: 1.1, seconds: 0.5, phase: Double.pi / 4)
        let samplePeak = x.channels[0].map(abs).max()!
        XCTAssertLessThan(samplePeak, 0.8, "the test signal's samples must stay well under the ceiling")
        let (y, l) = try limit(x)
        XCTAssertGreaterThan(l.limitedFrames, 0)
        XCTAssertLessThanOrEqual(try truePeak(y), -1.0)
    }

    func testDrumsAreLimitedAndTheResultDoesNotDependOnBlockSize() throws {
        let x = TestSignals.drums(seconds: 2)
        let (a, l) = try limit(x, gainDB: 12, block: 4096)
        let (b, _) = try limit(x, gainDB: 12, block: 333)
        XCTAssertTrue(a == b, "the output must not depend on block sizes")
        XCTAssertEqual(a.frameCount, x.frameCount)
        // The true peak of the output stays under the ceiling (the safety margin covers the gain's own movement).
        XCTAssertLessThanOrEqual(20 * log10(Double(TruePeakLimiter.interpolatedPeak(of: a))), -1.0)
        XCTAssertLessThan(l.minimumGain, 0.5)
        // Transparent between hits: the quiet bed (gain 12 dB, well under the ceiling) comes through at nearly
        // full gain once the limiter has released (160 ms after the hit stops needing it).
        let i = Int(0.24 * 44100)
        XCTAssertEqual(a.channels[0][i] / (x.channels[0][i] * Float(pow(10, 12.0 / 20))), 1, accuracy: 0.01)
    }

    func testRejectsCeilingsAboveFullScale() {
        XCTAssertThrowsError(try TruePeakLimiter(channelCount: 2, sampleRate: 44100, options: LimiterOptions(ceilingDBTP: 1)))
    }
}
